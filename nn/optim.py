"""Optimizers, learning-rate schedulers and gradient clipping, with PyTorch's formulas.

Optimizers update ``p.data`` of ``Value`` parameters from their ``p.grad``:
:class:`SGD` (momentum, dampening, Nesterov, weight decay), :class:`Adam`,
:class:`AdamW` (decoupled weight decay) and :class:`RMSprop` (momentum,
centered). Schedulers change ``optimizer.lr`` once per ``scheduler.step()``:
:class:`StepLR`, :class:`ExponentialLR`, :class:`CosineAnnealingLR` and
:class:`LinearLR` (micrograd's demo decay ``1.0 - 0.9 * k / 100`` is
``LinearLR(opt, 1.0, 0.1, 100)``). :func:`clip_grad_norm_` rescales gradients.

Each update formula is written once, as a function of plain numbers
(``_sgd_update``, ``_adam_update``, ``_rmsprop_update``) that uses only
arithmetic and the ``sqrt``/``maximum`` it is given. ``step()`` applies it to
every parameter's floats; ``step_array(data, grad)`` applies the same function
once to NumPy arrays holding all parameters (``fit``'s batched path keeps the
parameters in one array while it trains). Elementwise float64 arithmetic and
square roots round the same way in both, so the two give the same numbers.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable
from typing import Any

from autograd import Value

__all__ = [
    "SGD",
    "Adam",
    "AdamW",
    "CosineAnnealingLR",
    "ExponentialLR",
    "LRScheduler",
    "LinearLR",
    "Optimizer",
    "RMSprop",
    "StepLR",
    "clip_grad_norm_",
    "clip_grad_norm_array",
]


def _int(value: Any, who: str, what: str, low: int) -> int:
    """``value`` if it is an integer (not a bool) >= ``low``, else ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{who}: {what} must be an integer >= {low}, got {value!r}")
    return value


def _real(value: Any, who: str, what: str, low: float = 0.0, high: float = math.inf,
          low_open: bool = False, high_open: bool = False, allow_inf: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{who}: {what} must be a real number, got {type(value).__name__}")
    try:
        v = float(value)
    except OverflowError:  # an int too large for a float
        raise ValueError(f"{who}: {what} must be a finite number, got {value!r}") from None
    if math.isinf(v) and not allow_inf:
        raise ValueError(f"{who}: {what} must be a finite number, got {value!r}")
    bad_low = v <= low if low_open else v < low
    bad_high = v >= high if high_open else v > high
    if v != v or bad_low or bad_high:
        lo = "(" if low_open else "["
        hi = ")" if high_open else "]"
        raise ValueError(f"{who}: {what} must be in {lo}{low:g}, {high:g}{hi}, got {value!r}")
    return v


def _finite(value: Any, who: str, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not math.isfinite(value):
        raise ValueError(f"{who}: {what} must hold finite numbers, got {value!r}")
    return float(value)


def _params(params: Iterable[Value], who: str) -> list[Value]:
    if isinstance(params, Value) or not isinstance(params, Iterable):
        raise TypeError(
            f"{who}: params must be an iterable of Values such as model.parameters(), "
            f"got {type(params).__name__}"
        )
    ps = list(params)
    if not ps:
        raise ValueError(f"{who}: params is empty; pass model.parameters()")
    for i, p in enumerate(ps):
        if not isinstance(p, Value):
            raise TypeError(f"{who}: params[{i}] must be a Value, got {type(p).__name__}")
    return ps


# ---------------------------------------------------------------------------
# The update formulas, once: each works on floats (one parameter) and on NumPy
# arrays (all parameters); ``sqrt`` and ``maximum`` are math's or NumPy's.


def _sgd_update(p: Any, g: Any, lr: float, wd: float) -> Any:
    """SGD without momentum: return the new parameter."""
    return p - lr * g if wd == 0.0 else p - lr * (g + wd * p)


def _sgd_momentum_update(p: Any, g: Any, buf: Any, first: bool, lr: float, mu: float,
                         damp: float, wd: float, nesterov: bool) -> tuple[Any, Any]:
    """SGD with momentum: return the new parameter and buffer (``damp = 1 - dampening``)."""
    g = g + wd * p
    buf = g if first else mu * buf + damp * g
    return (p - lr * (g + mu * buf) if nesterov else p - lr * buf), buf


def _adam_update(p: Any, g: Any, m: Any, v: Any, lr: float, b1: float, b2: float, eps: float,
                 wd: float, decoupled: bool, step_size: float, bc2: float,
                 sqrt: Callable[[Any], Any]) -> tuple[Any, Any, Any]:
    """Adam/AdamW: return the new parameter and first and second moments."""
    if decoupled:
        p = p * (1.0 - lr * wd)
    elif wd:
        g = g + wd * p
    m = b1 * m + (1.0 - b1) * g
    v = b2 * v + (1.0 - b2) * g * g
    return p - step_size * m / (sqrt(v) / bc2 + eps), m, v


def _rmsprop_update(p: Any, g: Any, v: Any, ga: Any, buf: Any, a: float, lr: float, eps: float,
                    wd: float, mu: float, centered: bool, sqrt: Callable[[Any], Any],
                    maximum: Callable[[Any, float], Any]) -> tuple[Any, Any, Any, Any]:
    """RMSprop: return the new parameter, square average, gradient average and buffer."""
    if wd:
        g = g + wd * p
    v = a * v + (1.0 - a) * g * g
    if centered:
        ga = a * ga + (1.0 - a) * g
        avg = sqrt(maximum(v - ga * ga, 0.0)) + eps
    else:
        avg = sqrt(v) + eps
    if mu > 0.0:
        buf = mu * buf + g / avg
        return p - lr * buf, v, ga, buf
    return p - lr * g / avg, v, ga, buf


def _numpy(who: str) -> Any:
    try:
        import numpy
    except ImportError:
        raise ImportError(f"{who}: step_array works on NumPy arrays and NumPy is not "
                          "installed: pip install 'chainrule[fast]', or use step()") from None
    return numpy


def _check_arrays(opt: Optimizer, data: Any, grad: Any) -> Any:
    who = f"{type(opt).__name__}.step_array"
    np = _numpy(who)
    n = len(opt.params)
    for what, a in (("data", data), ("grad", grad)):
        if not isinstance(a, np.ndarray) or a.dtype != np.float64 or a.shape != (n,):
            shape = getattr(a, "shape", None)
            raise TypeError(f"{who}: {what} must be a float64 NumPy array of shape ({n},), one "
                            f"entry per parameter in optimizer order, got "
                            f"{type(a).__name__}{'' if shape is None else f' {shape}'}")
    if not data.flags.writeable:
        raise ValueError(f"{who}: data is read-only; pass a writable array (it is updated "
                         "in place)")
    return np


def _array(buf: Any, np: Any) -> Any:
    return buf if isinstance(buf, np.ndarray) else np.array(buf, dtype=np.float64)


def _as_list(buf: Any) -> Any:
    """A buffer that step_array left as an array, back as a list of floats."""
    tolist = getattr(buf, "tolist", None)
    return tolist() if callable(tolist) else buf



class Optimizer:
    """Base class: holds the parameters and the learning rate ``lr``.

    Args:
        params: the parameters to update (e.g. ``model.parameters()``).
        lr: the learning rate (>= 0); schedulers change it.

    Raises:
        TypeError: if ``params`` is not an iterable of Values.
        ValueError: if ``params`` is empty or ``lr`` is negative.
    """

    def __init__(self, params: Iterable[Value], lr: float) -> None:
        who = type(self).__name__
        self.params = _params(params, who)
        self.lr = lr
        self.initial_lr = self.lr
        self.steps = 0

    @property
    def lr(self) -> float:
        """The learning rate: a finite number >= 0 (checked on every assignment)."""
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        self._lr = _real(value, type(self).__name__, "lr")

    #: the per-parameter buffers (attribute names) that state_dict() saves
    _buffers: tuple[str, ...] = ()

    def state_dict(self) -> dict[str, Any]:
        """Return the optimizer's state as a JSON-serialisable dict.

        Holds the type, ``lr``, ``initial_lr``, the step count and every
        per-parameter buffer (momentum, Adam's moments), so that a training
        run continued with :meth:`load_state_dict` takes the same steps.
        """
        buffers = {}
        for name in self._buffers:
            buf = _as_list(getattr(self, name))
            buffers[name.lstrip("_")] = None if buf is None else list(buf)
        return {"type": type(self).__name__, "lr": self.lr, "initial_lr": self.initial_lr,
                "steps": self.steps, "buffers": buffers}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a state saved by :meth:`state_dict` (checked whole before anything changes).

        Raises:
            ValueError: if ``state`` is for another optimizer type or another
                number of parameters, or holds a value that is not a finite number.
        """
        who = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state, dict) or state.get("type") != type(self).__name__:
            kind = state.get("type") if isinstance(state, dict) else type(state).__name__
            raise ValueError(f"{who}: the state is for {kind!r}, not {type(self).__name__}; "
                             "resume with the optimizer the run was started with")
        lr = _real(state.get("lr"), who, "lr")
        initial_lr = _real(state.get("initial_lr"), who, "initial_lr")
        steps = _int(state.get("steps"), who, "steps", 0)
        raw = state.get("buffers")
        if not isinstance(raw, dict) or set(raw) != {n.lstrip("_") for n in self._buffers}:
            raise ValueError(f"{who}: the buffers do not match {type(self).__name__}'s")
        loaded: dict[str, list[float] | None] = {}
        for name in self._buffers:
            buf = raw[name.lstrip("_")]
            if buf is None and getattr(self, name) is None:
                loaded[name] = None
                continue
            if not isinstance(buf, list) or len(buf) != len(self.params):
                raise ValueError(f"{who}: buffer {name.lstrip('_')!r} must list one number per "
                                 f"parameter ({len(self.params)})")
            loaded[name] = [_finite(v, who, name.lstrip("_")) for v in buf]
        self.lr, self.initial_lr, self.steps = lr, initial_lr, steps
        for name, buf in loaded.items():
            setattr(self, name, buf)

    def zero_grad(self) -> None:
        """Set every parameter's ``.grad`` to 0.0."""
        for p in self.params:
            p.grad = 0.0

    def step(self) -> None:
        """Update every parameter once from its ``.grad``."""
        raise NotImplementedError

    def step_array(self, data: Any, grad: Any) -> None:
        """Update parameters held in an array: ``data`` in place from ``grad``.

        The array form of :meth:`step` (the same formula, applied once to
        whole arrays): ``data[i]`` and ``grad[i]`` are ``self.params[i]``'s
        value and gradient. The Values themselves are not read or written;
        the optimizer's buffers and step count advance as in :meth:`step`, so
        the two can be mixed (write ``data`` back to the Values first).

        Args:
            data: a writable float64 NumPy array with one entry per parameter.
            grad: a float64 NumPy array of the same shape.

        Raises:
            TypeError: if ``data`` or ``grad`` is not such an array.
            ImportError: if NumPy is not installed.
        """
        raise NotImplementedError(f"{type(self).__name__} has no step_array; use step()")

    def _lists(self) -> None:
        """Buffers left as arrays by step_array, back as lists (for step())."""
        for name in self._buffers:
            buf = getattr(self, name)
            if buf is not None and not isinstance(buf, list):
                setattr(self, name, _as_list(buf))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(lr={self.lr:g}, {len(self.params)} parameters)"


class SGD(Optimizer):
    """Stochastic gradient descent, ``torch.optim.SGD``'s update.

    With ``g = grad + weight_decay * p``: if ``momentum`` is non-zero,
    ``buf = g`` on the first step and ``buf = momentum * buf + (1 - dampening) * g``
    after; ``g = g + momentum * buf`` (Nesterov) or ``g = buf``. Then
    ``p -= lr * g``.

    Args:
        params: the parameters; lr: the learning rate.
        momentum, dampening, weight_decay: >= 0; nesterov: Nesterov momentum.

    Raises:
        ValueError: for a negative hyper-parameter, or Nesterov without
            momentum or with dampening (as in PyTorch).
    """

    def __init__(self, params: Iterable[Value], lr: float = 0.01, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0,
                 nesterov: bool = False) -> None:
        super().__init__(params, lr)
        self.momentum = _real(momentum, "SGD", "momentum")
        self.dampening = _real(dampening, "SGD", "dampening")
        self.weight_decay = _real(weight_decay, "SGD", "weight_decay")
        self.nesterov = bool(nesterov)
        if self.nesterov and (self.momentum <= 0.0 or self.dampening != 0.0):
            raise ValueError("SGD: nesterov=True needs momentum > 0 and dampening = 0")
        self._buf: list[float] | None = None

    _buffers = ("_buf",)

    def step(self) -> None:
        """Update every parameter once (see the class docstring for the formula)."""
        self._lists()
        lr, mu, wd = self.lr, self.momentum, self.weight_decay
        ps = self.params
        if mu == 0.0:
            for p in ps:
                p.data = _sgd_update(p.data, p.grad, lr, wd)
        else:
            buf = self._buf
            first = buf is None
            damp, nesterov = 1.0 - self.dampening, self.nesterov
            new = [0.0] * len(ps)
            for i, p in enumerate(ps):
                p.data, new[i] = _sgd_momentum_update(p.data, p.grad,
                                                      0.0 if buf is None else buf[i], first,
                                                      lr, mu, damp, wd, nesterov)
            self._buf = new
        self.steps += 1

    def step_array(self, data: Any, grad: Any) -> None:
        np = _check_arrays(self, data, grad)
        if self.momentum == 0.0:
            data[:] = _sgd_update(data, grad, self.lr, self.weight_decay)
        else:
            buf = None if self._buf is None else _array(self._buf, np)
            data[:], self._buf = _sgd_momentum_update(
                data, grad, buf, buf is None, self.lr, self.momentum, 1.0 - self.dampening,
                self.weight_decay, self.nesterov)
        self.steps += 1

    step_array.__doc__ = Optimizer.step_array.__doc__


class Adam(Optimizer):
    """Adam, ``torch.optim.Adam``'s update (L2 ``weight_decay`` added to the gradient).

    With ``g = grad + weight_decay * p`` and step count ``t``:
    ``m = b1 m + (1 - b1) g``, ``v = b2 v + (1 - b2) g^2``,
    ``p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)``.

    Args:
        params, lr: as for every optimizer (default lr 1e-3).
        betas: ``(b1, b2)``, each in [0, 1).
        eps: added to the denominator (> 0, so that it never divides by zero).
        weight_decay: L2 penalty strength (>= 0).

    Raises:
        ValueError: for a hyper-parameter out of range.
    """

    _decoupled = False

    def __init__(self, params: Iterable[Value], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr)
        who = type(self).__name__
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise TypeError(f"{who}: betas must be a pair (beta1, beta2), got {betas!r}")
        self.betas = (_real(betas[0], who, "betas[0]", 0.0, 1.0, high_open=True),
                      _real(betas[1], who, "betas[1]", 0.0, 1.0, high_open=True))
        self.eps = _real(eps, who, "eps", low_open=True)
        self.weight_decay = _real(weight_decay, who, "weight_decay")
        n = len(self.params)
        self._m = [0.0] * n
        self._v = [0.0] * n

    _buffers = ("_m", "_v")

    def _constants(self) -> tuple[float, ...]:
        self.steps += 1
        t = self.steps
        b1, b2 = self.betas
        bc1 = 1.0 - b1 ** t
        bc2 = math.sqrt(1.0 - b2 ** t)
        return self.lr, b1, b2, self.eps, self.weight_decay, self.lr / bc1, bc2

    def step(self) -> None:
        """Update every parameter once (see the class docstring for the formula)."""
        self._lists()
        lr, b1, b2, eps, wd, step_size, bc2 = self._constants()
        m, v = self._m, self._v
        decoupled, sqrt = self._decoupled, math.sqrt
        for i, p in enumerate(self.params):
            p.data, m[i], v[i] = _adam_update(p.data, p.grad, m[i], v[i], lr, b1, b2, eps, wd,
                                              decoupled, step_size, bc2, sqrt)

    def step_array(self, data: Any, grad: Any) -> None:
        np = _check_arrays(self, data, grad)
        m, v = _array(self._m, np), _array(self._v, np)
        lr, b1, b2, eps, wd, step_size, bc2 = self._constants()
        p, self._m, self._v = _adam_update(data, grad, m, v, lr, b1, b2, eps, wd,
                                           self._decoupled, step_size, bc2, np.sqrt)
        data[:] = p

    step_array.__doc__ = Optimizer.step_array.__doc__


class AdamW(Adam):
    """AdamW, ``torch.optim.AdamW``: Adam with decoupled weight decay.

    Each step first shrinks ``p *= 1 - lr * weight_decay``, then applies
    Adam's update with the plain gradient. Default ``weight_decay`` 0.01.
    """

    _decoupled = True

    def __init__(self, params: Iterable[Value], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.01) -> None:
        super().__init__(params, lr, betas, eps, weight_decay)


class RMSprop(Optimizer):
    """RMSprop, ``torch.optim.RMSprop``'s update.

    With ``g = grad + weight_decay * p``: ``v = alpha v + (1 - alpha) g^2``;
    centered: ``ga = alpha ga + (1 - alpha) g`` and ``avg = sqrt(v - ga^2) + eps``,
    else ``avg = sqrt(v) + eps``. With momentum: ``buf = momentum buf + g / avg``
    and ``p -= lr buf``; without: ``p -= lr g / avg``.

    Args:
        params, lr: as for every optimizer (default lr 0.01).
        alpha: the smoothing constant in [0, 1]; eps: added to the denominator.
        weight_decay, momentum: >= 0; centered: normalise by the variance.

    Raises:
        ValueError: for a hyper-parameter out of range.
    """

    def __init__(self, params: Iterable[Value], lr: float = 0.01, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum: float = 0.0,
                 centered: bool = False) -> None:
        super().__init__(params, lr)
        self.alpha = _real(alpha, "RMSprop", "alpha", 0.0, 1.0)
        self.eps = _real(eps, "RMSprop", "eps", low_open=True)
        self.weight_decay = _real(weight_decay, "RMSprop", "weight_decay")
        self.momentum = _real(momentum, "RMSprop", "momentum")
        self.centered = bool(centered)
        n = len(self.params)
        self._v = [0.0] * n
        self._g = [0.0] * n
        self._buf = [0.0] * n

    _buffers = ("_v", "_g", "_buf")

    def _hyper(self) -> tuple[float, float, float, float, float, bool]:
        self.steps += 1
        return (self.alpha, self.lr, self.eps, self.weight_decay, self.momentum,
                self.centered)

    def step(self) -> None:
        """Update every parameter once (see the class docstring for the formula)."""
        self._lists()
        hyper = self._hyper()
        v, ga, buf = self._v, self._g, self._buf
        sqrt = math.sqrt
        for i, p in enumerate(self.params):
            p.data, v[i], ga[i], buf[i] = _rmsprop_update(p.data, p.grad, v[i], ga[i], buf[i],
                                                          *hyper, sqrt, max)

    def step_array(self, data: Any, grad: Any) -> None:
        np = _check_arrays(self, data, grad)
        v, ga, buf = (_array(b, np) for b in (self._v, self._g, self._buf))
        p, self._v, self._g, self._buf = _rmsprop_update(data, grad, v, ga, buf,
                                                         *self._hyper(), np.sqrt, np.maximum)
        data[:] = p

    step_array.__doc__ = Optimizer.step_array.__doc__


#: the step() methods whose step_array applies the same formula (fit's batched path
#: keeps the parameters in an array only for these)
_ARRAY_STEPS = (SGD.step, Adam.step, RMSprop.step)


# ---------------------------------------------------------------------------
# Schedulers


class LRScheduler:
    """Base class: sets ``optimizer.lr = lr_at(epoch)`` on every ``step()``.

    ``last_epoch`` counts the ``step()`` calls; the learning rate at count 0
    is the optimizer's initial one.

    Raises:
        TypeError: if ``optimizer`` is not an :class:`Optimizer`.
    """

    def __init__(self, optimizer: Optimizer) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(
                f"{type(self).__name__}: expected an nn.optim optimizer, "
                f"got {type(optimizer).__name__}"
            )
        self.optimizer = optimizer
        self.base_lr = optimizer.lr
        self.last_epoch = 0

    def lr_at(self, epoch: int) -> float:
        """Return the learning rate after ``epoch`` steps."""
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        """Return ``{"type", "base_lr", "last_epoch"}``, the scheduler's state."""
        return {"type": type(self).__name__, "base_lr": self.base_lr,
                "last_epoch": self.last_epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a state saved by :meth:`state_dict`.

        Raises:
            ValueError: if ``state`` is for another scheduler type or malformed.
        """
        who = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state, dict) or state.get("type") != type(self).__name__:
            raise ValueError(f"{who}: the state is not a {type(self).__name__}'s; resume with "
                             "the scheduler the run was started with")
        base_lr = _real(state.get("base_lr"), who, "base_lr")
        last = _int(state.get("last_epoch"), who, "last_epoch", 0)
        self.base_lr, self.last_epoch = base_lr, last

    def step(self) -> None:
        """Advance one step and set the optimizer's learning rate."""
        self.last_epoch += 1
        self.optimizer.lr = self.lr_at(self.last_epoch)

    def get_last_lr(self) -> list[float]:
        """Return ``[lr]``, the current learning rate (PyTorch's shape)."""
        return [self.optimizer.lr]


class StepLR(LRScheduler):
    """``lr = base_lr * gamma ** (epoch // step_size)``.

    Raises:
        ValueError: if ``step_size < 1`` or ``gamma`` is negative.
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        super().__init__(optimizer)
        self.step_size = _int(step_size, "StepLR", "step_size", 1)
        self.gamma = _real(gamma, "StepLR", "gamma")

    def lr_at(self, epoch: int) -> float:
        """Return the learning rate after ``epoch`` steps."""
        return self.base_lr * self.gamma ** (epoch // self.step_size)


class ExponentialLR(LRScheduler):
    """``lr = base_lr * gamma ** epoch``.

    Raises:
        ValueError: if ``gamma`` is negative.
    """

    def __init__(self, optimizer: Optimizer, gamma: float) -> None:
        super().__init__(optimizer)
        self.gamma = _real(gamma, "ExponentialLR", "gamma")

    def lr_at(self, epoch: int) -> float:
        """Return the learning rate after ``epoch`` steps."""
        return self.base_lr * self.gamma ** epoch


class CosineAnnealingLR(LRScheduler):
    """``lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2``.

    The closed form of ``torch.optim.lr_scheduler.CosineAnnealingLR``; after
    ``T_max`` steps the cosine continues (as PyTorch's closed form does).

    Raises:
        ValueError: if ``T_max < 1`` or ``eta_min`` is negative.
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0) -> None:
        super().__init__(optimizer)
        self.T_max = _int(T_max, "CosineAnnealingLR", "T_max", 1)
        self.eta_min = _real(eta_min, "CosineAnnealingLR", "eta_min")

    def lr_at(self, epoch: int) -> float:
        """Return the learning rate after ``epoch`` steps."""
        cos = (1.0 + math.cos(math.pi * epoch / self.T_max)) / 2.0
        return self.eta_min + (self.base_lr - self.eta_min) * cos


class LinearLR(LRScheduler):
    """Linear decay of the factor from ``start_factor`` to ``end_factor`` over ``total_iters``.

    ``lr = base_lr * (start + (end - start) * min(epoch, total_iters) / total_iters)``;
    micrograd's demo schedule ``1.0 - 0.9 * k / 100`` is
    ``LinearLR(opt, start_factor=1.0, end_factor=0.1, total_iters=100)`` with
    ``SGD(lr=1.0)``. Like PyTorch's, it sets ``lr = base_lr * start_factor`` at once.

    Raises:
        ValueError: if a factor is not in [0, 1] or ``total_iters < 1``.
    """

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3.0,
                 end_factor: float = 1.0, total_iters: int = 5) -> None:
        super().__init__(optimizer)
        self.start_factor = _real(start_factor, "LinearLR", "start_factor", 0.0, 1.0)
        self.end_factor = _real(end_factor, "LinearLR", "end_factor", 0.0, 1.0)
        self.total_iters = _int(total_iters, "LinearLR", "total_iters", 1)
        optimizer.lr = self.lr_at(0)

    def lr_at(self, epoch: int) -> float:
        """Return the learning rate after ``epoch`` steps."""
        frac = min(epoch, self.total_iters) / self.total_iters
        return self.base_lr * (self.start_factor + (self.end_factor - self.start_factor) * frac)


def clip_grad_norm_(parameters: Iterable[Value], max_norm: float,
                    norm_type: float = 2.0) -> float:
    """Rescale gradients in place so that their total norm is at most ``max_norm``.

    As ``torch.nn.utils.clip_grad_norm_``: the norm is taken over all
    gradients together; if it exceeds ``max_norm`` every gradient is multiplied
    by ``max_norm / (norm + 1e-6)``.

    Args:
        parameters: the Values whose ``.grad`` to clip.
        max_norm: the largest allowed norm (>= 0).
        norm_type: the p of the p-norm (> 0), or ``math.inf`` for the largest
            absolute value.

    Returns:
        The total norm before clipping.

    Raises:
        TypeError: if ``parameters`` is not an iterable of Values.
        ValueError: if ``max_norm`` is negative or ``norm_type`` not positive.
    """
    ps = _params(parameters, "clip_grad_norm_")
    total, coef = _clip_coef([p.grad for p in ps], max_norm, norm_type)
    if coef < 1.0:
        for p in ps:
            p.grad *= coef
    return total


def _clip_coef(grads: list[float], max_norm: float, norm_type: float) -> tuple[float, float]:
    """The total norm of ``grads`` and the factor clipping applies (when below 1)."""
    max_norm = _real(max_norm, "clip_grad_norm_", "max_norm")
    norm_type = _real(norm_type, "clip_grad_norm_", "norm_type", low_open=True, allow_inf=True)
    if norm_type == math.inf:
        total = max(abs(g) for g in grads)
    else:
        total = _p_norm(grads, norm_type)
    return total, max_norm / (total + 1e-6)


def _p_norm(grads: list[float], p: float) -> float:
    """``(sum |g|^p)^(1/p)``, exactly summed; huge finite gradients give their finite norm.

    Where ``|g|^p`` or the sum overflows a float, the norm is computed scaled by
    the largest ``|g|`` (``inf`` only when the norm itself is beyond a float).
    """
    try:
        return float(math.fsum(abs(g) ** p for g in grads) ** (1.0 / p))
    except OverflowError:
        top = max(abs(g) for g in grads)
        if not math.isfinite(top):
            return top
        try:
            return top * math.fsum((abs(g) / top) ** p for g in grads) ** (1.0 / p)
        except OverflowError:
            return math.inf


def clip_grad_norm_array(grad: Any, max_norm: float, norm_type: float = 2.0) -> float:
    """:func:`clip_grad_norm_` for gradients held in a NumPy array (rescaled in place).

    The same formula: the norm over all entries; if it exceeds ``max_norm``
    every entry is multiplied by ``max_norm / (norm + 1e-6)``.

    Returns:
        The total norm before clipping.

    Raises:
        ValueError: if ``max_norm`` is negative or ``norm_type`` not positive.
    """
    total, coef = _clip_coef(grad.tolist(), max_norm, norm_type)
    if coef < 1.0:
        grad *= coef
    return total
