"""Neurons, layers and multi-layer perceptrons, fused by default.

A fused neuron records ``act(w . x + b)`` as ONE node of the op table entry
``neuron_<act>`` (see :mod:`nn.fused`): the forward value and the partials
for every input, weight and bias are computed with floats. ``fused=False``
builds micrograd's elementwise graph instead (``b + w0*x0 + w1*x1 ...`` then
the activation), which is what a teacher wants to draw. Both give the same
values and gradients.

Graph marks: every node a model call creates carries the scope
``"layer {i}/neuron {j}"`` (1-based), and every parameter leaf is labelled with
its dotted name (``layers.0.neurons.3.w.1``) and has its neuron's scope.
"""

from __future__ import annotations

import contextlib
import math
import numbers
import operator
import random
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Union

import autograd
from autograd import Op, Value
from autograd.engine import data_version
from autograd.formula_render import factored, float_expression, float_globals
from nn.fused import ACTIVATIONS, NEURON_OPS, NEURON_Z, activation_op
from nn.module import Module

__all__ = ["INITS", "MLP", "Layer", "Neuron", "Seed"]

#: Weight initialisations: ``"auto"`` picks He for relu/leaky_relu/gelu and
#: Xavier otherwise; ``"he"``/``"kaiming"``: normal with std sqrt(2 / nin);
#: ``"xavier"``/``"glorot"``: uniform in +-sqrt(6 / (nin + nout));
#: ``"uniform"``/``"micrograd"``: uniform in [-1, 1] (micrograd's). Biases start at 0.
INITS: tuple[str, ...] = ("auto", "he", "kaiming", "xavier", "glorot", "uniform", "micrograd")

#: A seed: an int, a ``random.Random`` to draw from, or None (Python's global
#: ``random`` generator, as micrograd does: ``random.seed(1337)`` reproduces a run).
Seed = Union[int, random.Random, None]

_data = operator.attrgetter("data")


class _GlobalRandom(random.Random):
    """A ``random.Random`` that draws from Python's global generator.

    ``uniform``, ``shuffle``, ``choice``... give exactly the numbers the
    module-level ``random.uniform``, ``random.shuffle``... would, so code
    seeded with ``random.seed(n)`` (micrograd's demo) is reproduced.
    """

    def random(self) -> float:
        return random.random()

    def getrandbits(self, k: int) -> int:
        return random.getrandbits(k)


def make_rng(seed: Seed, who: str) -> random.Random:
    """Return a ``random.Random`` for ``seed`` (int, Random or None).

    ``None`` draws from Python's global ``random`` generator (seed it with
    ``random.seed``), as micrograd does and as PyTorch uses its global one.

    Raises:
        TypeError: naming ``who``, if ``seed`` is none of those.
    """
    if isinstance(seed, random.Random):
        return seed
    if seed is None:
        return _GlobalRandom()
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(
            f"{who}: seed must be an int, a random.Random or None, got {type(seed).__name__}"
        )
    return random.Random(seed)


def check_int(value: Any, what: str, low: int = 1) -> int:
    """Return ``value`` as an int.

    Raises:
        ValueError: saying ``what`` must be an integer >= ``low``.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{what} must be an integer >= {low}, got {value!r}")
    return int(value)


def _init_weights(init: str, activation: str, nin: int, fan_out: int,
                  rng: random.Random, who: str) -> list[float]:
    if init not in INITS:
        raise ValueError(f"{who}: unknown init {init!r}; choose one of {', '.join(INITS)}")
    if init == "auto":
        init = "he" if activation in ("relu", "leaky_relu", "gelu") else "xavier"
    if init in ("he", "kaiming"):
        std = math.sqrt(2.0 / nin)
        return [rng.gauss(0.0, std) for _ in range(nin)]
    if init in ("xavier", "glorot"):
        a = math.sqrt(6.0 / (nin + fan_out))
        return [rng.uniform(-a, a) for _ in range(nin)]
    return [rng.uniform(-1.0, 1.0) for _ in range(nin)]


def _who(who: Any) -> str:
    """The name an error message starts with: ``who`` itself, or the repr of a module.

    Callers pass the module rather than its repr, so the (long) repr is only
    built when an error is raised.
    """
    return who if isinstance(who, str) else repr(who)


def _as_float(x: Any, who: Any, i: int) -> float:
    if type(x) is float:
        return x
    if isinstance(x, numbers.Real):
        return float(x)
    raise TypeError(
        f"{_who(who)}: input {i} must be a real number or a Value, got {type(x).__name__}; "
        "pass a list with one number or Value per input"
    )


def _inputs(x: Any, nin: int, who: Any) -> list[Any]:
    if type(x) is list and len(x) == nin:  # the common case, checked first
        return x
    if isinstance(x, (Value, numbers.Real)) and nin == 1:
        return [x]
    if isinstance(x, (str, bytes)) or not isinstance(x, Sequence):
        raise TypeError(
            f"{_who(who)}: expected a list of {nin} numbers or Values, got {type(x).__name__}"
        )
    if len(x) != nin:
        raise ValueError(
            f"{_who(who)}: expected {nin} inputs, got {len(x)}; pass one number or Value "
            "per input"
        )
    return list(x)


class Neuron(Module):
    """One neuron: ``act(w . x + b)``.

    Args:
        nin: the number of inputs (>= 1).
        activation: one of ``relu``, ``tanh``, ``sigmoid``, ``leaky_relu``,
            ``gelu``, ``linear``.
        init: a weight initialisation from :data:`INITS`.
        seed: an int, a ``random.Random`` or None (Python's global ``random``).
        fused: record one node per call (default) or micrograd's elementwise graph.
        negative_slope: ``leaky_relu``'s slope for negative inputs.
        fan_out: the layer width, used by the Xavier initialisation.
        nonlin: micrograd's flag: True means ``relu``, False ``linear``
            (overrides ``activation`` when given).

    Attributes:
        w: the weights (``Value`` leaves), ``b``: the bias.

    Raises:
        ValueError: for a bad ``nin``, activation or init.
        TypeError: for a bad seed.
    """

    w: list[Value]
    b: Value
    activation: str
    fused: bool
    negative_slope: float
    _act: Op | None
    _op: Op
    _extra: tuple[float, ...]
    _scope: str
    _prep: _Prep | None = None

    def __init__(
        self,
        nin: int,
        activation: str = "relu",
        *,
        init: str = "auto",
        seed: Seed = None,
        fused: bool = True,
        negative_slope: float = 0.01,
        fan_out: int = 1,
        nonlin: bool | None = None,
    ) -> None:
        who = f"{type(self).__name__}"
        nin = check_int(nin, f"{who}: nin")
        fan_out = check_int(fan_out, f"{who}: fan_out")
        if nonlin is not None:
            activation = "relu" if nonlin else "linear"
        self._act = activation_op(activation)
        if isinstance(negative_slope, bool) or not isinstance(negative_slope, numbers.Real):
            raise TypeError(
                f"{who}: negative_slope must be a real number, got {type(negative_slope).__name__}"
            )
        rng = make_rng(seed, who)
        self.w = [Value(v) for v in _init_weights(init, activation, nin, fan_out, rng, who)]
        self.b = Value(0.0)
        self.activation = activation
        self.fused = bool(fused)
        self.negative_slope = float(negative_slope)
        self._op = NEURON_OPS[activation]
        self._extra = (self.negative_slope,) if activation == "leaky_relu" else ()
        self._scope = "neuron 1"
        self._mark("", "neuron 1")

    def _mark(self, prefix: str, scope: str) -> None:
        self._scope = scope
        self._prep = None  # the scope is part of what a call prepares
        for name, p in self.named_parameters(prefix):
            p.label = name
            p.scope = scope

    @property
    def nin(self) -> int:
        """The number of inputs."""
        return len(self.w)

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Value]]:
        """Yield ``(name, Value)``: ``w.0 ... w.{nin-1}`` then ``b`` (prefixed)."""
        pre = f"{prefix}." if prefix else ""
        for i, w in enumerate(self.w):
            yield f"{pre}w.{i}", w
        yield f"{pre}b", self.b

    def parameters(self) -> list[Value]:
        """Return the weights then the bias."""
        return [*self.w, self.b]

    def __call__(self, x: Any) -> Value:
        """Apply the neuron to ``x`` (a list of ``nin`` numbers or Values).

        Raises:
            ValueError: if ``x`` has the wrong length.
            TypeError: if an input is not a number or a Value.
        """
        xs = _inputs(x, len(self.w), self)
        if not self.fused:
            return _unfused(self, xs)
        prep = _prepared(self, [self])
        return _apply(prep, _row(xs, self), autograd.is_grad_enabled())[1][0]

    def config(self) -> dict[str, Any]:
        """Return the constructor arguments that rebuild this architecture."""
        return {"type": "Neuron", "nin": self.nin, "activation": self.activation,
                "negative_slope": self.negative_slope, "fused": self.fused}

    def extra_repr(self) -> str:
        fused = "" if self.fused else ", fused=False"
        return f"{self.nin}, activation={self.activation!r}{fused}"

    def __getstate__(self) -> dict[str, Any]:
        return _without_cache(self)


# ---------------------------------------------------------------------------
# The fused forward pass.
#
# A layer's weights are read once into a ``_Prep`` and reused by every call
# until something they hold may have changed: any Value's data being assigned
# (``autograd.engine.data_version()`` moves: optimizers, ``load_state_dict``,
# ``p.data -= ...``), or a neuron, weight or bias being replaced (checked by
# identity on every call: ``layer.neurons[j] = ...``, ``n.w[i] = Value(...)``,
# ``n.b = ...``). Inputs travel between layers as rows ``(floats, values,
# items)``: their floats are read once, and a layer's outputs hand theirs on.


_W = operator.attrgetter("w")
_B = operator.attrgetter("b")
_ONE = (1.0,)
_mul = operator.mul

# One sample's inputs: (floats, the Value inputs, the items if some are plain numbers, else None).
_RowT = tuple[tuple[float, ...], tuple[Value, ...], Union[list[Any], None]]
# What a neuron needs per call: weights as a list and a tuple, bias, parameters
# (w..., b), op, activation, its parameters, scope, all-zero partials.
_Entry = tuple[list[float], tuple[float, ...], float, tuple[Value, ...], Op, Union[Op, None],
               tuple[float, ...], str, tuple[float, ...]]


# A layer's kernels (a row of Values, a row of plain numbers, floats without a graph),
# rendered from the neuron op's formula (nn.fused): {z}, {out} and
# {slope} are its temporary z, forward and shared factor act'(z) as float code, and
# the partials lines follow the formula's partials (factored: A * ws[i], A * xs[i], A).
# When A is 1 the partials are the operands themselves; when A is 0 with z finite
# (so every operand is), they are the shared exact zeros.
_KERNEL_SOURCE = """
def {name}(entries, xdt, xvals, record, make):
    outs = []
    floats = []
{row}
    for wd, wt, bd, params, op, _, ex, scope, zeros in entries:
        z = {z}
        out = {out}
        a = {slope}
        if a == 1.0:
            partials = {ones}
        elif a == 0.0 and z - z == 0.0:
            partials = {zeros}
        else:
            partials = {general}
        outs.append(make(out, op, {parents}, partials, {operands},
                         scope if record else ""))
        floats.append(out)
    return (tuple(floats), tuple(outs), None), outs
"""

_FLOAT_KERNEL_SOURCE = """
def float_kernel(entries, xdt):
    res = []
    for wd, _, bd, _, _, _, ex, _, _ in entries:
        z = {z}
        res.append({out})
    return res
"""

# (Values row kernel, plain-numbers row kernel, float kernel)
_Kernel = Callable[[list[Any], tuple[float, ...], tuple[Value, ...], bool, Callable[..., Value]],
                   tuple[_RowT, list[Value]]]
_FloatKernel = Callable[[list[Any], Sequence[float]], list[float]]
_Kernels = tuple[_Kernel, _Kernel, _FloatKernel]
_kernels: dict[tuple[Op | None, int], _Kernels | None] = {}
# the kernel's names for the neuron formula's operands, and each group as a tuple
_NAMES = {"xs": "xdt", "ws": "wd", "b": "bd"}
_TUPLES = {"xs": "xdt", "ws": "wt"}


def _partials_source(reads: Sequence[str | None], names: dict[str, str],
                     skip: int) -> dict[str, str]:
    """The partials lines of a kernel, from the formula's factored partials ``reads``
    (the group each partial multiplies by A, None for A itself); the first ``skip``
    partials (a plain-numbers row's inputs) are not parents."""
    reads = list(reads[skip:])
    ones = [_TUPLES[g] if g else "_ONE" for g in reads]
    row = ["    nx = len(xdt)"] if skip else []
    tail = 0  # the partials' trailing row-only part (xs, then A) is joined once per row
    while tail < len(reads) and reads[len(reads) - 1 - tail] in ("xs", None):
        tail += 1
    if tail > 1:
        row.append(f"    xone = {' + '.join(ones[-tail:])}")
        ones = [*ones[:-tail], "xone"]
    general = ", ".join(f"*[a * _e for _e in {names[g]}]" if g else "a" for g in reads)
    return {"row": "\n".join(row), "ones": " + ".join(ones), "general": f"({general},)",
            "zeros": "zeros[nx:]" if skip else "zeros"}


def _kernel_source(op: Op, nparams: int) -> str | None:
    """The kernels' source for a neuron op, rendered from its formula (None if the
    formula is not of a neuron's form)."""
    rule = op.rule
    fac = factored(rule) if rule is not None else None
    if (rule is None or fac is None or rule.groups != ("xs", "ws")
            or rule.singles[:1] != ("b",) or dict(rule.temps).get("z") != NEURON_Z):
        return None
    slope_src, reads = fac
    names = {**_NAMES, **{p: f"ex[{k}]" for k, p in enumerate(rule.singles[1:])}}
    common = {"z": float_expression(NEURON_Z, rule, names, partial=False),
              "out": float_expression(rule.forward, rule, names, partial=False),
              "slope": float_expression(slope_src, rule, names)}
    values = _KERNEL_SOURCE.format(
        name="kernel", parents="xvals + params", **common, **_partials_source(reads, names, 0),
        operands="(*xvals, *params, *ex)" if nparams else "None")
    # a row of plain numbers: only the parameters are parents (the partials wrt w, b)
    numbers = _KERNEL_SOURCE.format(
        name="number_kernel", parents="params", **common,
        **_partials_source(reads, names, 1), operands="(*xdt, *params, *ex)")
    return values + numbers + _FLOAT_KERNEL_SOURCE.format(**common)


def _kernel(act: Op | None, nparams: int) -> _Kernels | None:
    """A layer's forward on one row of Values, of numbers, and of floats (no graph),
    rendered from the neuron's formula.

    The same floats and nodes as :func:`_apply`'s general path (the op's own
    forward and local), without the Python calls per neuron. ``None`` for a
    neuron op whose formula is not of a neuron's form.
    """
    key = (act, nparams)
    if key in _kernels:
        return _kernels[key]
    op = NEURON_OPS[act.name if act is not None else "linear"]
    src = _kernel_source(op, nparams)
    fns: _Kernels | None = None
    if src is not None and op.rule is not None:
        env: dict[str, Any] = {"_ONE": _ONE, "_sum": sum, "_map": map, "_mul": _mul,
                               **float_globals(op.rule)}
        exec(compile(src, f"<nn kernel: {op.name}>", "exec"), env)
        fns = (env["kernel"], env["number_kernel"], env["float_kernel"])
    _kernels[key] = fns
    return fns


class _Prep:
    """The floats and parameters of some neurons, read once (see above)."""

    __slots__ = ("biases", "entries", "float_kernel", "kernel", "neurons", "number_kernel",
                 "version", "weights")

    def __init__(self, neurons: Sequence[Neuron]) -> None:
        self.version = data_version()  # read first: a later assignment invalidates
        self.neurons = list(neurons)
        self.weights = [list(n.w) for n in neurons]
        self.biases = [n.b for n in neurons]
        entries: list[_Entry] = []
        for n, ws in zip(neurons, self.weights):
            wd = list(map(_data, ws))
            params = (*ws, n.b)
            entries.append((wd, tuple(wd), n.b.data, params, n._op, n._act, n._extra,
                            n._scope, (0.0,) * (2 * len(wd) + 1)))
        self.entries = entries
        acts = {(n._act, len(n._extra)) for n in neurons}
        fns = _kernel(*acts.pop()) if len(acts) == 1 else None
        self.kernel: _Kernel | None = fns[0] if fns is not None else None
        self.number_kernel: _Kernel | None = fns[1] if fns is not None else None
        self.float_kernel: _FloatKernel | None = fns[2] if fns is not None else None


def _prepared(owner: Any, neurons: list[Neuron]) -> _Prep:
    """``owner``'s prepared neurons, rebuilt if a parameter's data or identity may have changed."""
    p: _Prep | None = owner.__dict__.get("_prep")
    if (p is not None and p.version == data_version() and p.neurons == neurons
            and list(map(_W, neurons)) == p.weights and list(map(_B, neurons)) == p.biases):
        return p
    p = _Prep(neurons)
    owner._prep = p
    return p


def _without_cache(module: Module) -> dict[str, Any]:
    """``module``'s state for pickle and copy: everything but the prepared floats."""
    state = dict(vars(module))
    state.pop("_prep", None)
    return state


def _row(xs: list[Any], who: Any) -> _RowT:
    """Split one sample's inputs (validated length) into floats and Values."""
    for x in xs:
        if type(x) is not Value:
            break
    else:  # every input a Value (the common case)
        vals = tuple(xs)
        return tuple(map(_data, vals)), vals, None
    floats: list[float] = []
    values: list[Value] = []
    for i, x in enumerate(xs):
        if isinstance(x, Value):
            floats.append(x.data)
            values.append(x)
        else:
            floats.append(_as_float(x, who, i))
    if len(values) == len(xs):
        return tuple(floats), tuple(values), None
    return tuple(floats), tuple(values), xs


def _apply(prep: _Prep, row: _RowT, record: bool) -> tuple[_RowT, list[Value]]:
    """Apply prepared neurons to one row; return the output row and the output nodes.

    ``record``: tag the nodes with their neuron's scope.
    """
    xdt, xvals, items = row
    make = autograd.make_node
    if prep.kernel is not None:
        if items is None:
            return prep.kernel(prep.entries, xdt, xvals, record, make)
        if not xvals and prep.number_kernel is not None:
            return prep.number_kernel(prep.entries, xdt, xvals, record, make)
    entries = prep.entries
    outs: list[Value] = []
    floats: list[float] = []
    for wd, _, bd, params, op, _, extra, scope, _ in entries:
        flat = (*xdt, *wd, bd, *extra)  # the neuron op's own float rules
        out = op.forward(*flat)
        partials = op.local(out, *flat)
        if items is None:
            operands = (*xvals, *params, *extra) if extra else None
            node = make(out, op, xvals + params, partials, operands, scope if record else "")
        elif not xvals:  # plain numbers in: only the parameters are parents
            node = make(out, op, params, partials[len(xdt):], (*xdt, *params, *extra),
                        scope if record else "")
        else:
            keep = [d for x, d in zip(items, partials) if isinstance(x, Value)]
            operands = (*[x if isinstance(x, Value) else f for x, f in zip(items, xdt)],
                        *params, *extra)
            node = make(out, op, xvals + params, (*keep, *partials[len(xdt):]), operands,
                        scope if record else "")
        outs.append(node)
        floats.append(out)
    vals = tuple(outs)
    return (tuple(floats), vals, None), outs


def _forward(owner: Any, neurons: list[Neuron], rows: list[list[Any]], who: Any,
             scopes: bool = True) -> list[list[Value]]:
    """Apply neurons (same nin and mode) to validated input rows; one output list per row.

    ``owner`` keeps the prepared weights; with ``scopes``, every node is
    tagged with its neuron's scope.
    """
    if not neurons[0].fused:
        return [[_unfused(n, xs) for n in neurons] for xs in rows]
    prep = _prepared(owner, neurons)
    record = scopes and autograd.is_grad_enabled()
    return [_apply(prep, _row(xs, who), record)[1] for xs in rows]


@contextlib.contextmanager
def _scoped(path: str) -> Iterator[None]:
    with contextlib.ExitStack() as stack:
        for part in path.split("/"):
            stack.enter_context(autograd.scope(part))
        yield


def _unfused(n: Neuron, xs: list[Any]) -> Value:
    with _scoped(n._scope):
        z: Value = sum((wi * xi for wi, xi in zip(n.w, xs)), start=n.b)
        act = n.activation
        if act == "linear":
            return z
        if act == "leaky_relu":
            return z.leaky_relu(n.negative_slope)
        return getattr(z, act)()


def _float_forward(owner: Any, neurons: list[Neuron], xd: Sequence[float]) -> list[float]:
    prep = _prepared(owner, neurons)
    if prep.float_kernel is not None:
        return prep.float_kernel(prep.entries, xd)
    return [op.forward(*xd, *wd, bd, *extra)
            for wd, _, bd, _, op, _, extra, _, _ in prep.entries]


class Layer(Module):
    """A layer of ``nout`` neurons, each seeing all ``nin`` inputs.

    Args:
        nin: inputs per neuron; nout: the number of neurons.
        activation, init, fused, negative_slope, nonlin: as for :class:`Neuron`.
        seed: an int, a ``random.Random`` or None; the neurons draw from it in order.

    Calling a layer returns a list of Values, or a single Value when
    ``nout == 1`` (as in micrograd).

    Raises:
        ValueError: for a bad size, activation or init.
    """

    def __init__(
        self,
        nin: int,
        nout: int,
        activation: str = "relu",
        *,
        init: str = "auto",
        seed: Seed = None,
        fused: bool = True,
        negative_slope: float = 0.01,
        nonlin: bool | None = None,
    ) -> None:
        nin = check_int(nin, "Layer: nin")
        nout = check_int(nout, "Layer: nout")
        if nonlin is not None:
            activation = "relu" if nonlin else "linear"
        rng = make_rng(seed, "Layer")
        self.neurons = [
            Neuron(nin, activation, init=init, seed=rng, fused=fused,
                   negative_slope=negative_slope, fan_out=nout)
            for _ in range(nout)
        ]
        self.activation = activation
        self._index = 1
        self._mark("", 1)

    _prep: _Prep | None = None

    def _mark(self, prefix: str, index: int) -> None:
        self._index = index
        self._prep = None  # the neurons' scopes are part of what a call prepares
        pre = f"{prefix}." if prefix else ""
        for j, n in enumerate(self.neurons):
            n._mark(f"{pre}neurons.{j}", f"layer {index}/neuron {j + 1}")

    @property
    def nin(self) -> int:
        """Inputs per neuron."""
        return self.neurons[0].nin

    @property
    def nout(self) -> int:
        """The number of neurons."""
        return len(self.neurons)

    def _call(self, x: Any, who: Any) -> list[Value]:
        return _forward(self, self.neurons, [_inputs(x, self.nin, who)], who)[0]

    def __call__(self, x: Any) -> Value | list[Value]:
        """Apply every neuron to ``x``; a Value if ``nout == 1`` else a list.

        Raises:
            ValueError: if ``x`` has the wrong length.
            TypeError: if an input is not a number or a Value.
        """
        out = self._call(x, self)
        return out[0] if len(out) == 1 else out

    def parameters(self) -> list[Value]:
        """Return every neuron's weights and bias, neuron by neuron."""
        return [p for n in self.neurons for p in (*n.w, n.b)]

    def config(self) -> dict[str, Any]:
        """Return the constructor arguments that rebuild this architecture."""
        n = self.neurons[0]
        return {"type": "Layer", "nin": self.nin, "nout": self.nout,
                "activation": self.activation, "negative_slope": n.negative_slope,
                "fused": n.fused}

    def extra_repr(self) -> str:
        fused = "" if self.neurons[0].fused else ", fused=False"
        return f"{self.nin}, {self.nout}, activation={self.activation!r}{fused}"

    def __repr__(self) -> str:
        return f"Layer({self.extra_repr()})"

    def __getstate__(self) -> dict[str, Any]:
        return _without_cache(self)


class MLP(Module):
    """A multi-layer perceptron, as in micrograd: ``MLP(2, [16, 16, 1])``.

    Args:
        nin: the number of inputs.
        nouts: the width of each layer; the last one is the output size.
        activation: the hidden layers' activation (see :data:`nn.fused.ACTIVATIONS`).
        output_activation: the last layer's activation; None means ``linear``
            (micrograd's last layer).
        init: a weight initialisation from :data:`INITS` (``"micrograd"`` for
            micrograd's uniform(-1, 1)).
        seed: an int, a ``random.Random`` or None (Python's global ``random``).
        fused: one node per neuron (default) or the elementwise graph.
        negative_slope: ``leaky_relu``'s slope.

    Calling the model on one sample (a list of ``nin`` numbers or Values)
    returns a Value when the last layer has one output, else a list of Values.

    Raises:
        ValueError: for a bad size, activation or init.
        TypeError: for a bad seed or ``nouts`` that is not a list of ints.
    """

    def __init__(
        self,
        nin: int,
        nouts: Sequence[int],
        activation: str = "relu",
        output_activation: str | None = None,
        *,
        init: str = "auto",
        seed: Seed = None,
        fused: bool = True,
        negative_slope: float = 0.01,
    ) -> None:
        nin = check_int(nin, "MLP: nin")
        if isinstance(nouts, (str, bytes)) or not isinstance(nouts, Sequence) or not nouts:
            raise TypeError(
                f"MLP: nouts must be a non-empty list of layer widths such as [16, 16, 1], "
                f"got {nouts!r}"
            )
        sizes = [nin] + [check_int(k, f"MLP: nouts[{i}]") for i, k in enumerate(nouts)]
        out_act = "linear" if output_activation is None else output_activation
        for name, act in (("activation", activation), ("output_activation", out_act)):
            if act not in ACTIVATIONS:
                raise ValueError(
                    f"MLP: unknown {name} {act!r}; choose one of {', '.join(ACTIVATIONS)}"
                )
        rng = make_rng(seed, "MLP")
        last = len(sizes) - 2
        self.layers = [
            Layer(sizes[i], sizes[i + 1], out_act if i == last else activation, init=init,
                  seed=rng, fused=fused, negative_slope=negative_slope)
            for i in range(len(sizes) - 1)
        ]
        self.activation = activation
        self.output_activation = output_activation
        for i, layer in enumerate(self.layers):
            layer._mark(f"layers.{i}", i + 1)

    @property
    def nin(self) -> int:
        """The number of inputs."""
        return self.layers[0].nin

    @property
    def nouts(self) -> list[int]:
        """The width of each layer."""
        return [layer.nout for layer in self.layers]

    def __call__(self, x: Any) -> Value | list[Value]:
        """Apply the model to one sample.

        Args:
            x: a list of ``nin`` numbers or Values (a single one if ``nin == 1``).

        Returns:
            A Value when the last layer has one output, else a list of Values.

        Raises:
            ValueError: if ``x`` has the wrong length.
            TypeError: if an input is not a number or a Value.
        """
        layers = self.layers
        xs = _inputs(x, self.layers[0].nin, "MLP")
        if not layers[0].neurons[0].fused:
            return self.forward_batch([xs])[0]
        record = autograd.is_grad_enabled()
        row = _row(xs, "MLP")
        out: list[Value] = []
        for layer in layers:
            neurons = layer.neurons
            row, out = _apply(_prepared(layer, neurons), row, record)
        return out[0] if len(out) == 1 else out

    def forward_batch(self, xs: Sequence[Any], *, scopes: bool = True) -> list[Any]:
        """Apply the model to a batch of samples, recording the graph.

        The same nodes, values and gradients as ``[model(x) for x in xs]``
        (created in the same order), built layer by layer.

        Args:
            xs: samples, each a list of ``nin`` numbers or Values.
            scopes: tag every node with its ``"layer i/neuron j"`` scope (for
                graph pictures). ``fit`` passes False: nobody draws a
                training step (tagging costs little: one string per node).

        Returns:
            One output per sample: a Value when the last layer has one output,
            else a list of Values.

        Raises:
            ValueError: if a sample has the wrong length.
            TypeError: if an input is not a number or a Value.
        """
        rows = [_inputs(x, self.nin, f"MLP: sample {k}" if len(xs) > 1 else "MLP")
                for k, x in enumerate(xs)]
        if not self.layers[0].neurons[0].fused:
            for layer in self.layers:
                rows = _forward(layer, layer.neurons, rows, "MLP", scopes)
            return [r[0] if len(r) == 1 else r for r in rows]
        record = scopes and autograd.is_grad_enabled()
        prepped = [_row(x, "MLP") for x in rows]
        outs: list[list[Value]] = [[] for _ in rows]
        for layer in self.layers:
            prep = _prepared(layer, layer.neurons)
            stepped = [_apply(prep, r, record) for r in prepped]
            prepped = [r for r, _ in stepped]
            outs = [o for _, o in stepped]
        return [r[0] if len(r) == 1 else r for r in outs]

    def predict(self, xs: Sequence[Sequence[float]]) -> list[Any]:
        """Return the model's outputs for a batch as floats, recording no graph.

        Args:
            xs: samples, each a list of ``nin`` real numbers.

        Returns:
            One float per sample when the last layer has one output, else one
            list of floats per sample.

        Raises:
            ValueError: if a sample has the wrong length.
            TypeError: if an input is not a real number.
        """
        res: list[Any] = []
        single = self.layers[-1].nout == 1
        for k, x in enumerate(xs):
            row = _inputs(x, self.nin, f"MLP.predict: sample {k}")
            h = [_as_float(v.data if isinstance(v, Value) else v, "MLP.predict", i)
                 for i, v in enumerate(row)]
            for layer in self.layers:
                h = _float_forward(layer, layer.neurons, h)
            res.append(h[0] if single else h)
        return res

    def parameters(self) -> list[Value]:
        """Return every parameter, layer by layer, neuron by neuron (weights, then bias)."""
        return [p for layer in self.layers for n in layer.neurons for p in (*n.w, n.b)]

    def config(self) -> dict[str, Any]:
        """Return the constructor arguments that rebuild this architecture."""
        n = self.layers[0].neurons[0]
        return {"type": "MLP", "nin": self.nin, "nouts": self.nouts,
                "activation": self.activation, "output_activation": self.output_activation,
                "negative_slope": n.negative_slope, "fused": n.fused}

    def extra_repr(self) -> str:
        oa = self.output_activation
        out = "" if oa is None else f", output_activation={oa!r}"
        fused = "" if self.layers[0].neurons[0].fused else ", fused=False"
        return (f"{self.nin}, {self.nouts}, activation={self.activation!r}{out}{fused}; "
                f"{self.num_parameters()} parameters")
