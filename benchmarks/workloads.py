"""W-mlp, W-wide and digits training steps, one implementation per engine.

Every engine computes the same step from the same weights (shared/benchmarks.md):

* ``W-mlp``: ``MLP(2, [16, 16, 1])``, ReLU hidden layers, linear output; 64
  "moons" points with +-1 labels; ``mean(relu(1 - y s)) + 1e-4 sum(p^2)``.
* ``W-wide``: ``MLP(64, [32, 10])`` on 32 random 64-d samples; mean squared
  error against one-hot targets.
* ``digits``: one epoch of ``MLP(64, [32, 10])`` on the 1,797 8x8 digits
  (pixels / 16), minibatches of 32, the W-wide loss (so that micrograd, which
  has no ``exp``, runs it too).

One step is: zero grads, forward, backward, SGD ``p -= 0.05 * grad``.

Engines: chainrule through ``nn`` (fused neurons; dynamic and compiled),
chainrule through plain autograd ops (``dot``, ``relu``...; dynamic and
compiled), micrograd 0.1.0, the hand-written float floor (this module's own
backprop, checked against chainrule by tests/test_bench_workloads.py) and
NumPy batched. Each engine has ``loss_grads(X, Y)`` (loss and flat gradients,
no update; for the checks) and ``step(X, Y)`` (one SGD step; returns the loss).
"""

from __future__ import annotations

import gzip
import math
import operator
import os
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import autograd
from autograd import Value

LR = 0.05
ALPHA = 1e-4
_mul = operator.mul


@dataclass(frozen=True)
class Spec:
    """A workload: architecture, loss and data."""

    name: str
    nin: int
    sizes: tuple[int, ...]
    loss: str  # "hinge_l2" or "mse"
    X: list[list[float]]
    Y: list[Any]  # +-1 labels (hinge) or one-hot rows (mse)

    def shapes(self) -> list[tuple[int, int]]:
        """(nin, nout) of each layer."""
        dims = (self.nin, *self.sizes)
        return [(dims[i], dims[i + 1]) for i in range(len(self.sizes))]

    def init_weights(self, seed: int = 0) -> list[float]:
        """Flat parameters in nn/micrograd order (layer, neuron, w... then b): He-uniform."""
        rng = random.Random(seed)
        flat: list[float] = []
        for nin, nout in self.shapes():
            bound = math.sqrt(6.0 / nin)
            for _ in range(nout):
                flat += [rng.uniform(-bound, bound) for _ in range(nin)]
                flat.append(0.0)
        return flat


def make_moons(n: int, noise: float, seed: int) -> tuple[list[list[float]], list[float]]:
    """Two interleaved half circles, labels +-1 (scikit-learn's recipe, seeded)."""
    rng = random.Random(seed)
    n_out = n // 2
    n_in = n - n_out
    X, Y = [], []
    for i in range(n_out):
        t = math.pi * i / max(1, n_out - 1)
        X.append([math.cos(t), math.sin(t)])
        Y.append(-1.0)
    for i in range(n_in):
        t = math.pi * i / max(1, n_in - 1)
        X.append([1.0 - math.cos(t), 0.5 - math.sin(t)])
        Y.append(1.0)
    X = [[a + rng.gauss(0.0, noise), b + rng.gauss(0.0, noise)] for a, b in X]
    return X, Y


def one_hot(k: int, n: int = 10) -> list[float]:
    """The one-hot row for class ``k``."""
    row = [0.0] * n
    row[k] = 1.0
    return row


def w_mlp(n: int = 64) -> Spec:
    """The W-mlp workload (micrograd's demo step); ``n`` moons points (64: the suite's batch)."""
    X, Y = make_moons(n, 0.1, seed=1)
    return Spec("W-mlp" if n == 64 else f"W-mlp-{n}", 2, (16, 16, 1), "hinge_l2", X, Y)


def w_wide() -> Spec:
    """The W-wide workload."""
    rng = random.Random(2)
    X = [[rng.gauss(0.0, 1.0) for _ in range(64)] for _ in range(32)]
    Y = [one_hot(rng.randrange(10)) for _ in range(32)]
    return Spec("W-wide", 64, (32, 10), "mse", X, Y)


def digits() -> Spec:
    """The digits data (all 1,797 images) as a Spec; batches are cut by the caller."""
    path = os.path.join(os.path.dirname(__file__), os.pardir, "nn", "datasets", "digits.csv.gz")
    try:
        import nn.data

        X, labels = nn.data.load_digits()
    except ImportError:
        with gzip.open(path, "rt") as fh:
            rows = [[int(v) for v in line.split(",")] for line in fh if line.strip()]
        X = [[float(v) for v in r[:64]] for r in rows]
        labels = [r[64] for r in rows]
    X = [[v / 16.0 for v in x] for x in X]
    return Spec("digits", 64, (32, 10), "mse", X, [one_hot(k) for k in labels])


def batches(spec: Spec, size: int = 32) -> list[tuple[list[list[float]], list[Any]]]:
    """Cut a Spec's data into minibatches, in order."""
    return [(spec.X[i : i + size], spec.Y[i : i + size]) for i in range(0, len(spec.X), size)]


# ---------------------------------------------------------------------------
# The float floor: plain floats and lists, backprop by hand.


class Floor:
    """The hand-written float implementation (what pure Python can do)."""

    name = "float floor"

    def __init__(self, spec: Spec, flat: Sequence[float]) -> None:
        self.spec = spec
        self.W: list[list[list[float]]] = []
        self.B: list[list[float]] = []
        it = iter(flat)
        for nin, nout in spec.shapes():
            ws, bs = [], []
            for _ in range(nout):
                ws.append([next(it) for _ in range(nin)])
                bs.append(next(it))
            self.W.append(ws)
            self.B.append(bs)

    def params(self) -> list[float]:
        """Flat parameters in the shared order."""
        out: list[float] = []
        for ws, bs in zip(self.W, self.B):
            for w, b in zip(ws, bs):
                out += w
                out.append(b)
        return out

    def _loss_grads(self, X: list[list[float]], Y: list[Any]) -> tuple[float, list, list]:
        W, B = self.W, self.B
        last = len(W) - 1
        gW = [[[0.0] * len(w) for w in ws] for ws in W]
        gB = [[0.0] * len(bs) for bs in B]
        n = len(X)
        hinge = self.spec.loss == "hinge_l2"
        k = len(B[-1])
        total = 0.0
        for x, y in zip(X, Y):
            ins, zs = [], []
            a = x
            for li, (ws, bs) in enumerate(zip(W, B)):
                z = [sum(map(_mul, w, a)) + b for w, b in zip(ws, bs)]
                ins.append(a)
                zs.append(z)
                a = z if li == last else [v if v > 0.0 else 0.0 for v in z]
            if hinge:
                m = 1.0 - y * a[0]
                if m > 0.0:
                    total += m
                    d = [-y / n]
                else:
                    d = [0.0]
            else:
                diffs = [s - t for s, t in zip(a, y)]
                total += sum(e * e for e in diffs)
                c = 2.0 / (n * k)
                d = [c * e for e in diffs]
            for li in range(last, -1, -1):
                if li != last:
                    d = [g if z > 0.0 else 0.0 for g, z in zip(d, zs[li])]
                xin = ins[li]
                ws, gws, gbs = W[li], gW[li], gB[li]
                dx = [0.0] * len(xin) if li else None
                for j, dj in enumerate(d):
                    gws[j] = [g + dj * v for g, v in zip(gws[j], xin)]
                    gbs[j] += dj
                    if dx is not None:
                        dx = [e + dj * w for e, w in zip(dx, ws[j])]
                if dx is not None:
                    d = dx
        if hinge:
            loss = total / n
            sq = 0.0
            for ws, bs, gws, gbs in zip(W, B, gW, gB):
                for j, w in enumerate(ws):
                    sq += sum(v * v for v in w) + bs[j] * bs[j]
                    gws[j] = [g + 2.0 * ALPHA * v for g, v in zip(gws[j], w)]
                    gbs[j] += 2.0 * ALPHA * bs[j]
            loss += ALPHA * sq
        else:
            loss = total / (n * k)
        return loss, gW, gB

    def loss_grads(self, X: list[list[float]], Y: list[Any]) -> tuple[float, list[float]]:
        """Loss and flat gradients, no update."""
        loss, gW, gB = self._loss_grads(X, Y)
        flat: list[float] = []
        for gws, gbs in zip(gW, gB):
            for g, gb in zip(gws, gbs):
                flat += g
                flat.append(gb)
        return loss, flat

    def step(self, X: list[list[float]], Y: list[Any]) -> float:
        """One SGD step; returns the loss."""
        loss, gW, gB = self._loss_grads(X, Y)
        for ws, bs, gws, gbs in zip(self.W, self.B, gW, gB):
            for j in range(len(ws)):
                ws[j] = [w - LR * g for w, g in zip(ws[j], gws[j])]
                bs[j] -= LR * gbs[j]
        return loss


# ---------------------------------------------------------------------------
# NumPy batched.


class NumpyBatched:
    """The same step on whole batches as matrices, as a NumPy user writes it by hand.

    The parameters live in one float64 vector in the shared order (each
    layer's ``W`` and ``b`` are views of it), and so does the gradient, so
    that the L2 penalty is one dot product, its gradient one vector
    operation and SGD one in-place update. The forward keeps each layer's
    input and pre-activation; the backward is the textbook one
    (``dW = dZ^T X``, ``db = sum(dZ)``, ``dX = dZ W``, ReLU's mask).
    ``X`` and ``Y`` may be lists (converted on each call) or arrays.
    """

    name = "numpy batched"

    def __init__(self, spec: Spec, flat: Sequence[float]) -> None:
        import numpy as np

        self.np = np
        self.spec = spec
        self.theta = np.array(flat, dtype=np.float64)
        self.grad = np.zeros_like(self.theta)
        self.W: list[Any] = []
        self.B: list[Any] = []
        self.gW: list[Any] = []
        self.gB: list[Any] = []
        i = 0
        for nin, nout in spec.shapes():
            n = nout * (nin + 1)
            block = self.theta[i : i + n].reshape(nout, nin + 1)
            gblock = self.grad[i : i + n].reshape(nout, nin + 1)
            self.W.append(block[:, :nin])
            self.B.append(block[:, nin])
            self.gW.append(gblock[:, :nin])
            self.gB.append(gblock[:, nin])
            i += n

    def _loss_grad(self, X: Any, Y: Any) -> float:
        """The loss; its gradient written into ``self.grad``."""
        np = self.np
        X = np.asarray(X, dtype=np.float64)
        Y = np.asarray(Y, dtype=np.float64)
        ins, zs = [], []
        a = X
        last = len(self.W) - 1
        for li, (w, b) in enumerate(zip(self.W, self.B)):
            z = a @ w.T + b
            ins.append(a)
            zs.append(z)
            a = z if li == last else np.maximum(z, 0.0)
        n = X.shape[0]
        theta = self.theta
        if self.spec.loss == "hinge_l2":
            m = 1.0 - Y * a[:, 0]
            hit = m > 0.0
            loss = float(m[hit].sum()) / n + ALPHA * float(theta @ theta)
            d = (hit * (-Y / n))[:, None]
            np.multiply(theta, 2.0 * ALPHA, out=self.grad)
        else:
            diff = a - Y
            loss = float(np.vdot(diff, diff)) / diff.size
            d = diff * (2.0 / diff.size)
            self.grad.fill(0.0)
        for li in range(last, -1, -1):
            if li != last:
                d = d * (zs[li] > 0.0)
            self.gW[li] += d.T @ ins[li]
            self.gB[li] += d.sum(axis=0)
            if li:
                d = d @ self.W[li]
        return loss

    def loss_grads(self, X: Any, Y: Any) -> tuple[float, list[float]]:
        """Loss and flat gradients, no update."""
        loss = self._loss_grad(X, Y)
        return loss, self.grad.tolist()

    def step(self, X: Any, Y: Any) -> float:
        """One SGD step; returns the loss."""
        loss = self._loss_grad(X, Y)
        self.theta -= LR * self.grad
        return loss


# ---------------------------------------------------------------------------
# chainrule: through nn (fused neurons) or through plain autograd ops.


def have_nn() -> bool:
    """Return whether the nn package (MLP, losses, SGD) is importable."""
    try:
        from nn import MLP  # noqa: F401
        from nn.losses import hinge_loss, l2_penalty, mse_loss  # noqa: F401
        from nn.optim import SGD  # noqa: F401
    except ImportError:
        return False
    return True


class _OpsMLP:
    """An MLP built from autograd ops only: ``dot(w, x) + b``, then ``relu``."""

    def __init__(self, spec: Spec, flat: Sequence[float]) -> None:
        it = iter(flat)
        self.layers: list[list[tuple[list[Value], Value]]] = []
        for nin, nout in spec.shapes():
            self.layers.append(
                [([Value(next(it)) for _ in range(nin)], Value(next(it))) for _ in range(nout)]
            )
        self.params = [p for layer in self.layers for w, b in layer for p in (*w, b)]

    def __call__(self, x: Sequence[Any]) -> list[Value]:
        last = len(self.layers) - 1
        a: Sequence[Any] = x
        for li, layer in enumerate(self.layers):
            zs = [autograd.dot(w, a) + b for w, b in layer]
            a = zs if li == last else [z.relu() for z in zs]
        return list(a)


class Chainrule:
    """chainrule, through nn (``via="nn"``) or plain autograd ops (``via="ops"``).

    With ``compiled=True`` the loss function goes through ``autograd.compile``.
    """

    def __init__(self, spec: Spec, flat: Sequence[float], *, via: str = "nn",
                 compiled: bool = False) -> None:
        self.spec = spec
        self.via = via
        self.name = f"chainrule {via}" + (" compiled" if compiled else "")
        if via == "nn":
            from nn import MLP
            from nn.losses import hinge_loss, l2_penalty, mse_loss
            from nn.optim import SGD

            self.model: Any = MLP(spec.nin, list(spec.sizes), activation="relu",
                                  output_activation=None, seed=0)
            self.params = self.model.parameters()
            for p, v in zip(self.params, flat):
                p.data = v
            self.opt: Any = SGD(self.params, lr=LR)

            batch = getattr(self.model, "forward_batch", None)  # nn's batch path, if any

            def outputs(X: Any) -> list[Any]:
                return batch(X) if batch is not None else [self.model(x) for x in X]

            def loss_fn(X: Any, Y: Any) -> Value:
                outs = outputs(X)
                if spec.loss == "hinge_l2":
                    return hinge_loss(outs, Y) + l2_penalty(self.params, ALPHA)
                preds = [v for o in outs for v in ([o] if isinstance(o, Value) else o)]
                return mse_loss(preds, [t for y in Y for t in y])

        else:
            self.model = _OpsMLP(spec, flat)
            self.params = self.model.params
            self.opt = None
            ps = self.params

            def loss_fn(X: Any, Y: Any) -> Value:
                if spec.loss == "hinge_l2":
                    terms = [(1.0 - y * self.model(x)[0]).relu() for x, y in zip(X, Y)]
                    return autograd.mean(terms) + ALPHA * autograd.dot(ps, ps)
                diffs = [s - t for x, y in zip(X, Y) for s, t in zip(self.model(x), y)]
                return autograd.dot(diffs, diffs) * (1.0 / len(diffs))

        self.loss_fn = loss_fn
        self.run: Callable[[Any, Any], float]
        if compiled:
            self.run = autograd.compile(loss_fn)
        else:

            def run(X: Any, Y: Any) -> float:
                loss = loss_fn(X, Y)
                loss.backward()
                return loss.data

            self.run = run

    def loss_grads(self, X: Any, Y: Any) -> tuple[float, list[float]]:
        """Loss and flat gradients, no update."""
        return value_loss_grads(self.params, self.run, X, Y)

    def step(self, X: Any, Y: Any) -> float:
        """One SGD step; returns the loss."""
        return value_step(self.opt, self.params, self.run, X, Y)


def value_loss_grads(params: Sequence[Value], run: Callable[[Any, Any], float], X: Any,
                     Y: Any) -> tuple[float, list[float]]:
    """Zero the parameters' grads, ``run(X, Y)`` (forward and backward); loss and grads."""
    for p in params:
        p.grad = 0.0
    loss = run(X, Y)
    return loss, [p.grad for p in params]


def value_step(opt: Any, params: Sequence[Value], run: Callable[[Any, Any], float], X: Any,
               Y: Any) -> float:
    """One step on Values: zero grads, ``run(X, Y)``, SGD (by ``opt`` if any, else by hand)."""
    if opt is not None:
        opt.zero_grad()
        loss = run(X, Y)
        opt.step()
        return loss
    for p in params:
        p.grad = 0.0
    loss = run(X, Y)
    for p in params:
        p.data -= LR * p.grad
    return loss


# ---------------------------------------------------------------------------
# micrograd 0.1.0.


def have_micrograd() -> bool:
    """Return whether micrograd (the ``dev`` extra) is importable."""
    try:
        import micrograd.nn  # noqa: F401
    except ImportError:
        return False
    return True


class Micrograd:
    """micrograd's own MLP, loss as in its demo notebook, manual SGD."""

    name = "micrograd"

    def __init__(self, spec: Spec, flat: Sequence[float]) -> None:
        from micrograd.nn import MLP

        random.seed(0)
        self.spec = spec
        self.model = MLP(spec.nin, list(spec.sizes))
        self.params = self.model.parameters()
        for p, v in zip(self.params, flat):
            p.data = v

    def _loss(self, X: Any, Y: Any) -> Any:
        model = self.model
        if self.spec.loss == "hinge_l2":
            scores = [model(x) for x in X]
            losses = [(1 + -y * s).relu() for y, s in zip(Y, scores)]
            data_loss = sum(losses) * (1.0 / len(losses))
            reg = ALPHA * sum(p * p for p in self.params)
            return data_loss + reg
        terms = []
        for x, y in zip(X, Y):
            out = model(x)
            out = out if isinstance(out, list) else [out]
            terms += [(s - t) ** 2 for s, t in zip(out, y)]
        return sum(terms) * (1.0 / len(terms))

    def loss_grads(self, X: Any, Y: Any) -> tuple[float, list[float]]:
        """Loss and flat gradients, no update."""
        for p in self.params:
            p.grad = 0.0
        loss = self._loss(X, Y)
        loss.backward()
        return float(loss.data), [float(p.grad) for p in self.params]

    def step(self, X: Any, Y: Any) -> float:
        """One SGD step; returns the loss."""
        self.model.zero_grad()
        loss = self._loss(X, Y)
        loss.backward()
        for p in self.params:
            p.data -= LR * p.grad
        return float(loss.data)


def engines(have_numpy: bool = True) -> list[tuple[str, Callable[[Spec, Sequence[float]], Any]]]:
    """The engines available here, as (name, factory) pairs."""
    out: list[tuple[str, Callable[[Spec, Sequence[float]], Any]]] = []
    if have_nn():
        out.append(("chainrule nn", lambda s, f: Chainrule(s, f, via="nn")))
        out.append(("chainrule nn compiled", lambda s, f: Chainrule(s, f, via="nn", compiled=True)))
    out.append(("chainrule ops", lambda s, f: Chainrule(s, f, via="ops")))
    out.append(("chainrule ops compiled", lambda s, f: Chainrule(s, f, via="ops", compiled=True)))
    if have_micrograd():
        out.append(("micrograd", Micrograd))
    out.append(("float floor", Floor))
    if have_numpy:
        try:
            import numpy  # noqa: F401

            out.append(("numpy batched", NumpyBatched))
        except ImportError:
            pass
    return out


def ratio_cells(ms: float, floor_ms: float, numpy_ms: float | None,
                micrograd_ms: float | None) -> list[str]:
    """A step table's ratio cells: x the float floor, x NumPy by hand, micrograd / this."""
    return [f"{ms / floor_ms:.3f}x" if floor_ms else "-",
            f"{ms / numpy_ms:.2f}x" if numpy_ms else "-",
            f"{micrograd_ms / ms:.0f}x" if micrograd_ms and ms else "-"]
