"""Vanishing gradients, seen: a deep sigmoid MLP against the same MLP with relu.

Trains two 7-layer MLPs on the moons data set with plain SGD, records the mean
absolute gradient of every layer's parameters per epoch (``History.grad_flow``)
and draws both side by side. With sigmoid, each layer multiplies the gradient by
at most 0.25, so the layers near the input barely learn; relu passes it on.

Run: ``.venv/bin/python examples/vanishing_gradients.py [--epochs 10] [--out DIR]``
(needs the ``plot`` extra for the picture).
"""

from __future__ import annotations

import argparse
import pathlib

import nn
import visualize


def run(epochs: int = 10, depth: int = 6, seed: int = 0) -> dict[str, dict[str, list[float]]]:
    """Train sigmoid and relu MLPs of ``depth`` hidden layers; return their grad flows."""
    X, y = nn.data.make_moons(100, noise=0.1, seed=seed)
    flows = {}
    for activation in ("sigmoid", "relu"):
        model = nn.MLP(2, [16] * depth + [1], activation=activation, seed=seed)
        history = nn.fit(model, X, y, epochs=epochs, batch_size=20, optimizer="sgd", lr=0.1,
                         progress=False, seed=seed)
        flows[activation] = history.grad_flow
    return flows


def main(argv: list[str] | None = None) -> int:
    """Print first/last-layer gradient sizes and write ``vanishing_gradients.svg``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--out", default="chainrule-out")
    args = ap.parse_args(argv)
    flows = run(args.epochs)
    for activation, flow in flows.items():
        layers = list(flow)
        first, last = flow[layers[0]][-1], flow[layers[-1]][-1]
        print(f"{activation:>7}: mean |grad| {layers[0]} {first:.2e}, {layers[-1]} {last:.2e} "
              f"({last / first:,.0f}x)")
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    try:
        path = visualize.plot_grad_flow(flows, out / "vanishing_gradients.svg",
                                        title="sigmoid vs relu, mean |grad| per layer")
    except ImportError as e:  # no matplotlib: the numbers above still tell the story
        print(e)
        return 0
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
