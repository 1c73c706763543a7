"""chainrule's benchmark suite: speed against peers, as ratios measured in one process.

Workloads are defined in shared/benchmarks.md (W-chain, W-mlp, W-wide) plus one
epoch of digits training. Run everything with ``python -m benchmarks`` (see
``python -m benchmarks --help``); each module can also be run on its own, e.g.
``python -m benchmarks.chain``. Nothing here is imported by the library.
"""
