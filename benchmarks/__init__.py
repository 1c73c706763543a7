"""chainrule's benchmark suite: speed against peers, as ratios measured in one process.

The suite leads with W-user (:mod:`benchmarks.userstep`): micrograd's demo step
as users write it against our API, dynamic and compiled, beside micrograd and
the float floor. The other workloads are defined in shared/benchmarks.md
(W-chain, W-mlp, W-wide), plus one epoch of digits training. Run everything
with ``python -m benchmarks`` (see ``python -m benchmarks --help``); each module
can also be run on its own, e.g. ``python -m benchmarks.userstep --profile``.
Nothing here is imported by the library.
"""
