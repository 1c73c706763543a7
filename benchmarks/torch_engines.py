"""PyTorch engines for the step workloads, used only when PyTorch is installed.

``pytorch scalar``: 0-dim float64 tensors, one op at a time (how a scalar
engine would use PyTorch); ``pytorch batched``: float64 matrices. Both compute
the workloads of :mod:`benchmarks.workloads` from the same weights. PyTorch is
not a dependency: without it :func:`engines` is empty and the suite says so.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from benchmarks.workloads import ALPHA, LR, Spec


def _torch() -> Any:
    try:
        import torch  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return None
    return torch


def skipped_reason() -> str:
    """Why the PyTorch rows are missing ("" when they are not)."""
    return "" if _torch() is not None else "not installed, skipped (the suite never installs it)"


class _TorchBase:
    def __init__(self, spec: Spec, flat: Sequence[float]) -> None:
        torch = _torch()
        self.torch = torch
        self.spec = spec
        self.layers: list[tuple[Any, Any]] = []
        i = 0
        for nin, nout in spec.shapes():
            block = torch.tensor(flat[i : i + nout * (nin + 1)], dtype=torch.float64)
            block = block.reshape(nout, nin + 1)
            w = block[:, :nin].clone().requires_grad_(True)
            b = block[:, nin].clone().requires_grad_(True)
            self.layers.append((w, b))
            i += nout * (nin + 1)
        self.params = [t for wb in self.layers for t in wb]

    def _loss(self, X: Any, Y: Any) -> Any:
        raise NotImplementedError

    def loss_grads(self, X: Any, Y: Any) -> tuple[float, list[float]]:
        for p in self.params:
            p.grad = None
        loss = self._loss(X, Y)
        loss.backward()
        flat: list[float] = []
        for w, b in self.layers:
            g = self.torch.cat([w.grad, b.grad[:, None]], dim=1)
            flat += [float(v) for v in g.reshape(-1)]
        return float(loss), flat

    def step(self, X: Any, Y: Any) -> float:
        for p in self.params:
            p.grad = None
        loss = self._loss(X, Y)
        loss.backward()
        with self.torch.no_grad():
            for p in self.params:
                p -= LR * p.grad
        return float(loss)


class TorchBatched(_TorchBase):
    """Float64 matrices."""

    name = "pytorch batched"

    def _loss(self, X: Any, Y: Any) -> Any:
        torch = self.torch
        a = torch.tensor(X, dtype=torch.float64)
        y = torch.tensor(Y, dtype=torch.float64)
        last = len(self.layers) - 1
        for li, (w, b) in enumerate(self.layers):
            a = a @ w.T + b
            if li != last:
                a = torch.relu(a)
        if self.spec.loss == "hinge_l2":
            data = torch.relu(1.0 - y * a[:, 0]).mean()
            return data + ALPHA * sum((p * p).sum() for p in self.params)
        return ((a - y) ** 2).mean()


class TorchScalar(_TorchBase):
    """0-dim tensors, one scalar op at a time."""

    name = "pytorch scalar"

    def _loss(self, X: Any, Y: Any) -> Any:
        torch = self.torch
        last = len(self.layers) - 1
        ws = [([[w[j, k] for k in range(w.shape[1])] for j in range(w.shape[0])],
               [b[j] for j in range(b.shape[0])]) for w, b in self.layers]
        terms = []
        for x, y in zip(X, Y):
            a: list[Any] = [torch.tensor(v, dtype=torch.float64) for v in x]
            for li, (wr, br) in enumerate(ws):
                zs = []
                for row, bj in zip(wr, br):
                    z = bj
                    for wjk, ak in zip(row, a):
                        z = z + wjk * ak
                    zs.append(z if li == last else torch.relu(z))
                a = zs
            if self.spec.loss == "hinge_l2":
                terms.append(torch.relu(1.0 - y * a[0]))
            else:
                terms += [(s - t) ** 2 for s, t in zip(a, y)]
        loss = sum(terms) * (1.0 / len(terms))
        if self.spec.loss == "hinge_l2":
            loss = loss + ALPHA * sum((p * p).sum() for p in self.params)
        return loss


def engines() -> list[tuple[str, Callable[[Spec, Sequence[float]], Any]]]:
    """The PyTorch engines, or none when PyTorch is not installed."""
    if _torch() is None:
        return []
    return [("pytorch scalar", TorchScalar), ("pytorch batched", TorchBatched)]
