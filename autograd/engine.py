"""The engine: ``Value``, a scalar node of a computation graph, and ``backward``.

A ``Value`` holds a float (``data``), the gradient the last backward pass left
in it (``grad``), the op that made it (``op``), its ``parents`` in operand order
and, for each parent, the local derivative d self / d parent (``partials``),
evaluated from the op table (:mod:`autograd.ops`) at forward time.

Design (see shared/benchmarks.md for the measurements behind it):

* One object per node, ``__slots__``, no closures: a node refers only to its
  parents, so a graph has no reference cycles and is freed by reference
  counting the moment it is dropped. A node with one parent (the commonest)
  stores that parent and its partial bare, without tuples: fewer allocations
  and fewer objects for the cyclic garbage collector to track.
* Python numbers are folded into the node as constants (``x * 2`` has one
  parent); the full operand list is kept for ``create_graph``.
* Every node gets a decreasing creation number. A node is always created after
  its parents, so visiting nodes in creation order, newest first, is a valid
  reverse topological order: ``backward`` collects the reachable nodes with
  a breadth-first sweep (no recursion), sorts them by that number (in C) and
  applies the chain rule in one pass.
* No derivative is written here: every op's forward and partials come from its
  one formula in the op table. The general path (``_unary``, ``_binary``,
  ``_nary``) calls the table's float rules; the operators and the commonest
  methods are fast paths generated from the same formulas by
  :mod:`autograd.codegen`, committed at the end of this module between the
  ``BEGIN GENERATED``/``END GENERATED`` markers and installed on ``Value``
  there (one Python call per node).

Reading order: the class ``Value`` (with ``backward``), ``_interior`` (the
chain rule's order), the recording state (``no_grad``, ``scope``), how a node
is made (``_node``, ``_record_special``, the general path, ``apply``,
``make_node``), the functions over several values; the generated fast paths
last.

Gradient semantics (as in PyTorch): leaves (nodes without parents) accumulate
into ``.grad`` across backward calls until reset; every interior node's
``.grad`` holds the gradient of the latest backward pass through it.
``backward`` skips a node whose partials are all zero (a relu neuron that is
off) when its gradient is finite: it would add only zeros. The results are
the same bits as adding them, except for the sign of a zero: a leaf whose
``.grad`` was set to ``-0.0`` by hand keeps it (interior gradients start at
``+0.0`` and can never become ``-0.0``).
"""

from __future__ import annotations

import decimal
import itertools
import numbers
import operator
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Union

from autograd import numerics as N
from autograd.ops import OPS, Op, _watch, get_op

__all__ = [
    "Number",
    "Value",
    "addcmul",
    "apply",
    "backward_order",
    "data_version",
    "dot",
    "is_grad_enabled",
    "logsumexp",
    "make_node",
    "maximum",
    "mean",
    "minimum",
    "no_grad",
    "scope",
    "softmax",
    "sum",
]

Number = Union[int, float]

_new = object.__new__
_ids = itertools.count(-1, -1)  # the creation numbers (next(_ids)): newer nodes get smaller keys

# Moved to a new value after every assignment of an existing Value's data (see data_version).
_data_version = 0
_next_version = itertools.count(1).__next__


def data_version() -> int:
    """Return a number that changes whenever any Value's ``data`` is assigned.

    Every assignment ``v.data = ...`` (``p.data -= lr * p.grad``, an
    optimizer's step, ``Module.load_state_dict``) moves it to a value it never
    had before; creating Values does not. Code that keeps floats read from
    Values (``nn``'s layers keep their weights' floats between calls) compares
    it with the number it read *before* reading them: equal means no data
    changed since. (Writing a Value's private ``_data`` bypasses it.)

    Returns:
        An int; compare for equality only.
    """
    return _data_version


# ---------------------------------------------------------------------------
# The node: Value.


class Value:
    """A scalar node of a computation graph.

    Args:
        data: a real number (int, float, bool, ``Fraction``, ``Decimal``,
            NumPy scalar...), stored as a Python float. ``bool`` counts as 0/1
            as in Python's arithmetic.
        label: an optional name, shown by graph renderers.

    Raises:
        TypeError: naming the received type, if ``data`` is not a real number.

    Attributes:
        data: the value (float).
        grad: the gradient left by backward passes (float, 0.0 at creation).
        label: a name for display ("" if none).
        op: the op that produced the node ("" for a leaf).
        parents: the Value operands in operand order (``a + a`` has ``(a, a)``).
        partials: the local derivative d self / d parent for each parent.

    ``==`` and ``hash`` are identity-based, so nodes can live in sets and dicts
    (the engine and the renderers rely on it); ``< <= > >=`` compare ``data``.
    """

    # ``data`` is a property over the ``_data`` slot (its setter checks the
    # type); the engine itself reads and writes ``_data`` directly.
    __slots__ = ("_ctx", "_data", "_entry", "_id", "_local", "_meta", "_p", "grad")

    # NumPy scalars defer to our reflected operators instead of broadcasting.
    __array_ufunc__ = None

    _data: float
    grad: float
    # The parents: None for a leaf, the Value itself for one parent, a tuple for
    # several (the commonest nodes then allocate no tuple); read ``parents``.
    _p: Any  # None | Value | tuple[Value, ...]: typed loosely for the hot loops
    _entry: Op | None  # the op table entry (None for a leaf); read ``op``
    _local: Any  # float (one parent) | tuple[float, ...]
    _ctx: tuple[Any, ...] | float | None  # operands when some are constants (see operands)
    _id: int
    # Rarely set, so one slot (unset until needed) holds it all: the scope path
    # alone as a str (one shared string per scope block, no dict per node), or
    # a dict ("scope", "site", "label": what open modes and ``label`` recorded).
    _meta: str | dict[str, Any]

    def __init__(self, data: Any, label: str = "") -> None:
        if type(data) is float:  # the commonest leaf: no checks
            self._data = data
        elif isinstance(data, Value):
            self._data = data._data
            self.grad = 0.0
            self._entry = None
            self._p = None
            self._local = ()
            self._ctx = None
            self._id = 0
            # autograd.compile is tracing and ``data`` stands for one of the
            # function's number arguments: ``Value(x)`` is that argument (the
            # trace raises its own error for any other Value)
            if _observer is not None and _observer(self, "copy", data, None):
                if label:
                    self.label = label
                return
            raise TypeError(
                "Value: data must be a real number, got a Value; a Value is a node "
                "already: use it as it is, or value.detach() for a new leaf with the "
                "same data"
            )
        else:
            self._data = _to_float(data, "Value")
        self.grad = 0.0
        self._entry = None
        self._p = None
        self._local = ()
        self._ctx = None
        self._id = 0
        if label:
            self.label = label
        if _observer is not None:  # autograd.compile is tracing: this leaf is a constant
            _observer(self, "new", None, None)

    # -- data ---------------------------------------------------------------

    def _set_data(self, value: Any) -> None:
        global _data_version
        if type(value) is float:
            self._data = value
            _data_version = _next_version()  # after the write (see data_version)
            return
        if isinstance(value, (numbers.Real, decimal.Decimal)) and not isinstance(value, Value):
            self._data = _to_float(value, "Value.data")
            _data_version = _next_version()
            return
        hint = (
            "assign its number instead (v.data = other.data)"
            if isinstance(value, Value)
            else "a Value holds one scalar: convert it with float(...), or make one Value "
            "per element"
        )
        raise TypeError(
            f"Value.data: expected a real number (int, float, Fraction, Decimal, "
            f"NumPy scalar), got {type(value).__name__} {_short(value)}; {hint}"
        )

    # Read through a C-level getter (no Python frame per read: nn and users'
    # loops read ``.data`` of every weight for every sample); assignments are
    # checked by ``_set_data``.
    if TYPE_CHECKING:
        @property
        def data(self) -> float:
            """The value, a float."""

        @data.setter
        def data(self, value: Any) -> None: ...
    else:
        data = property(
            operator.attrgetter("_data"), _set_data,
            doc="The value, a float; assigning anything but a real number raises TypeError.",
        )

    # -- metadata -------------------------------------------------------

    @property
    def label(self) -> str:
        """A name for display; "" if none was given."""
        try:
            meta = self._meta
        except AttributeError:
            return ""
        return "" if type(meta) is str else meta.get("label", "")  # type: ignore[union-attr]

    @label.setter
    def label(self, name: str) -> None:
        if not isinstance(name, str):
            raise TypeError(f"Value.label: expected a str, got {type(name).__name__}")
        _set_meta(self, "label", name)

    @property
    def op(self) -> str:
        """The name of the op that produced this node; "" for a leaf."""
        op = self._entry
        return "" if op is None else op.name

    # -- micrograd's names, for the lecture's code (the engine never reads them)

    @property
    def _op(self) -> str:
        """micrograd's ``_op``: the op's symbol ("+", "*", "**", "tanh"...); "" for a leaf."""
        entry = self._entry
        return "" if entry is None else entry.symbol

    @property
    def _prev(self) -> set[Value]:
        """micrograd's ``_prev``: the set of parents (``parents`` keeps order and repeats)."""
        return set(self.parents)

    def _backward(self) -> None:
        """micrograd's ``_backward``: apply this node's chain rule once.

        Adds ``self.grad * partial`` to each parent's ``grad``, from the
        partials stored at forward time; a leaf has nothing to do. Calling it
        on every node newest first is what :meth:`backward` does (except that
        ``backward`` also resets interior grads first).
        """
        p = self._p
        if p is None:
            return
        g = self.grad
        if type(p) is tuple:
            for q, d in zip(p, self._local):
                q.grad += g * d
        else:
            p.grad += g * self._local

    @property
    def parents(self) -> tuple[Value, ...]:
        """The Value operands in operand order (``a + a`` has ``(a, a)``); () for a leaf."""
        p = self._p
        if p is None:
            return ()
        return p if type(p) is tuple else (p,)

    @property
    def partials(self) -> tuple[float, ...]:
        """d self / d parent for each parent, evaluated at forward time."""
        local = self._local
        return local if isinstance(local, tuple) else (local,)

    @property
    def operands(self) -> tuple[Value | float, ...]:
        """All operands in call order, constants included (``x * 2`` -> ``(x, 2.0)``)."""
        ctx = self._ctx
        if ctx is None:
            return self.parents
        if isinstance(ctx, tuple):
            return ctx
        return (self._p, ctx)  # ``x op c``: the commonest constant, stored bare

    @property
    def scope(self) -> str:
        """The scope path the node was created in (see :func:`scope`); "" if none."""
        return str(_get_meta(self, "scope") or "")

    @scope.setter
    def scope(self, path: str) -> None:
        if not isinstance(path, str):
            raise TypeError(f"Value.scope: expected a str, got {type(path).__name__}")
        _set_meta(self, "scope", path)

    @property
    def is_leaf(self) -> bool:
        """True for a node without parents (an input, a parameter, a constant)."""
        return self._p is None

    def item(self) -> float:
        """Return ``data`` (PyTorch's name for it)."""
        if _observer is not None:  # autograd.compile is tracing
            _observer(self, "float", None, None)
        return self._data

    def detach(self) -> Value:
        """Return a new leaf with the same data and no history."""
        return Value(self._data)

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        return f"Value(data={self._data!r}, grad={self.grad!r}{label})"

    def __float__(self) -> float:
        if _observer is not None:  # autograd.compile is tracing
            _observer(self, "float", None, None)
        return self._data

    def __bool__(self) -> bool:
        r = self._data != 0.0
        if _observer is not None:
            _observer(self, "!=", 0.0, r)
        return r

    # -- comparisons: by data; equality stays identity -------------------

    def __lt__(self, other: Any) -> bool:
        r = self._data < _cmp(other, "<")
        if _observer is not None:
            _observer(self, "<", other, r)
        return r

    def __le__(self, other: Any) -> bool:
        r = self._data <= _cmp(other, "<=")
        if _observer is not None:
            _observer(self, "<=", other, r)
        return r

    def __gt__(self, other: Any) -> bool:
        r = self._data > _cmp(other, ">")
        if _observer is not None:
            _observer(self, ">", other, r)
        return r

    def __ge__(self, other: Any) -> bool:
        r = self._data >= _cmp(other, ">=")
        if _observer is not None:
            _observer(self, ">=", other, r)
        return r

    __hash__ = object.__hash__

    # -- arithmetic -------------------------------------------------------

    # The operators and the commonest methods are generated from the op table's
    # formulas and installed by the block at the end of this module (see
    # autograd.codegen); these declarations are for type checkers.
    if TYPE_CHECKING:
        def __add__(self, other: Any) -> Value: ...
        def __radd__(self, other: Any) -> Value: ...
        def __sub__(self, other: Any) -> Value: ...
        def __rsub__(self, other: Any) -> Value: ...
        def __mul__(self, other: Any) -> Value: ...
        def __rmul__(self, other: Any) -> Value: ...
        def __truediv__(self, other: Any) -> Value: ...
        def __rtruediv__(self, other: Any) -> Value: ...
        def __pow__(self, other: Any) -> Value: ...
        def __rpow__(self, other: Any) -> Value: ...
        def __neg__(self) -> Value: ...
        def exp(self) -> Value: ...
        def log(self) -> Value: ...
        def sqrt(self) -> Value: ...
        def tanh(self) -> Value: ...
        def sigmoid(self) -> Value: ...
        def relu(self) -> Value: ...

    def __pos__(self) -> Value:
        return self

    def __abs__(self) -> Value:
        return _unary(_ABS, self)

    # -- elementwise functions (see the op table for each rule) -------------

    # exp, log, sqrt, tanh, sigmoid, relu: generated (see above).

    def leaky_relu(self, negative_slope: float = 0.01) -> Value:
        """Return ``x if x > 0 else negative_slope * x``.

        Args:
            negative_slope: the slope for ``x <= 0``; also the derivative at 0.

        Raises:
            TypeError: if ``negative_slope`` is not a real number.
        """
        slope = _to_float(negative_slope, "leaky_relu: negative_slope")
        return _with_params(_LEAKY_RELU, self, (slope,))

    def gelu(self) -> Value:
        """Return the exact GELU ``x * Phi(x)`` (erf form, PyTorch's default)."""
        return _unary(_GELU, self)

    def softplus(self) -> Value:
        """Return ``log(1 + e**x)``, exact and finite for any finite x."""
        return _unary(_SOFTPLUS, self)

    def sin(self) -> Value:
        """Return the sine."""
        return _unary(_SIN, self)

    def cos(self) -> Value:
        """Return the cosine."""
        return _unary(_COS, self)

    def erf(self) -> Value:
        """Return the Gauss error function."""
        return _unary(_ERF, self)

    def abs(self) -> Value:
        """Return ``|x|``; the derivative at 0 is 0 (as in PyTorch)."""
        return _unary(_ABS, self)

    def clamp(self, min: Number | None = None, max: Number | None = None) -> Value:  # noqa: A002
        """Clamp into ``[min, max]``; a bound left as None is unbounded.

        The gradient is 1 inside the interval and at either bound, 0 outside
        (as in PyTorch).

        Raises:
            TypeError: if a bound is neither None nor a real number.
        """
        lo = -N.INF if min is None else _to_float(min, "clamp: min")
        hi = N.INF if max is None else _to_float(max, "clamp: max")
        return _with_params(_CLAMP, self, (lo, hi))

    # -- backward -----------------------------------------------------------

    def backward(self, gradient: Number = 1.0) -> None:
        """Accumulate d self / d leaf into every leaf's ``.grad``.

        Applies the chain rule over the graph in reverse topological order,
        iteratively (no recursion: a million-node chain is fine). Interior
        nodes' ``.grad`` are overwritten with this pass's gradient; leaves
        accumulate until you reset them.

        Args:
            gradient: d loss / d self, the seed (1.0 for a scalar loss).

        Raises:
            TypeError: if ``gradient`` is not a real number.
        """
        seed = _to_float(gradient, "backward: gradient")
        if _special and _tls.checked_backward is not None:  # anomaly mode
            _tls.checked_backward(self, seed)
            return
        if self._p is None:
            self.grad += seed
            return
        order = _interior_reset(self)  # interior grads hold this pass's only
        self.grad = seed
        # Newest first: every consumer of a node is newer than the node, so a
        # node's gradient is complete before it is passed on to its parents.
        for node in order:
            g = node.grad
            p = node._p
            if type(p) is tuple:
                local = node._local
                # A node whose partials are all zero (a dead relu neuron) passes
                # on zeros only, when g is finite: skip it (see the module notes).
                if local[0] == 0.0 and g - g == 0.0 and local.count(0.0) == len(local):
                    continue
                if len(p) == 2:  # the commonest tuple (a product, a softmax output)
                    a, b = p
                    da, db = local
                    a.grad += g * da
                    b.grad += g * db
                else:
                    for q, d in zip(p, local):
                        q.grad += g * d
            else:  # one parent, stored bare with its partial (see _node)
                p.grad += g * node._local


def _get_meta(node: Value, key: str) -> Any:
    """What an open mode recorded on ``node`` under ``key`` (None if nothing)."""
    try:
        meta = node._meta
    except AttributeError:
        return None
    if type(meta) is str:
        return meta if key == "scope" else None
    return meta.get(key)  # type: ignore[union-attr]


def _set_meta(node: Value, key: str, value: Any) -> None:
    """Record ``value`` under ``key`` on ``node`` (keeping what is there)."""
    try:
        meta = node._meta
    except AttributeError:
        node._meta = value if key == "scope" else {key: value}
        return
    if type(meta) is str:
        if key == "scope":
            node._meta = value
            return
        node._meta = meta = {"scope": meta}
    meta[key] = value  # type: ignore[index]


# Value has no ``__getattr__`` hook, on purpose: CPython 3.11 specialises no
# attribute read on instances of a class that defines one, which made every
# ``node._p`` and ``node.grad`` of the engine's loops about 20 ns slower (W-chain
# backward 285 -> 180 ns a node without it). So a user op registered with
# ``api="method"`` becomes a real method of Value when it is registered, and
# goes when it is removed (:func:`_sync_method`, watching the op table).


def _sync_method(name: str, op: Op | None) -> None:
    """Make ``x.name(*params)`` call a user op registered with ``api="method"``.

    Called by the op table when ``op`` is registered, and with ``op=None`` when
    the op named ``name`` is removed. Built-in ops have their own methods; a
    name Value already has (``data``, ``tanh``...) keeps its meaning.
    """
    have = Value.__dict__.get(name)
    ours = getattr(have, "_user_op", None) is not None
    if op is None:
        if ours:
            delattr(Value, name)
        return
    if op.builtin or op.api != "method" or (hasattr(Value, name) and not ours):
        return

    def method(self: Value, *params: Any) -> Value:
        return apply(op, self, *params)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = op.doc or f"The registered op {name!r} of this value and ``params``."
    method._user_op = op  # type: ignore[attr-defined]
    setattr(Value, name, method)


_watch(_sync_method)


# Set by autograd.compile while a trace is open (None otherwise): called with
# (value, comparison, other operand, result) when Python control flow reads a
# Value's data through a comparison, bool() or float(), so that the compiled
# code can guard on it (or refuse it); with (new leaf, "new", None, None) for a
# leaf made from a number; and with (new leaf, "copy", source, None) for
# ``Value(source)``, returning True if the trace accepts it as a copy.
_observer: Callable[[Value, str, Any, Any], Any] | None = None


def _cmp(other: Any, what: str) -> float:
    if isinstance(other, Value):
        return other._data
    return _to_float(other, f"comparison {what}: right operand")


# ---------------------------------------------------------------------------
# The chain rule's order.


def backward_order(root: Value) -> list[Value]:
    """Return the interior nodes reachable from ``root``, in the order backward visits them.

    The order is newest first, a reverse topological order: every node comes
    after all of its consumers (a node is always created after its parents).
    Leaves are not included. Found without recursion: a breadth-first sweep
    collects the nodes, then a sort by creation number orders them.
    """
    if root._p is None:
        return []
    return _interior(root)


def _interior(root: Value) -> list[Value]:
    """The interior nodes reachable from ``root`` (included), newest first."""
    order = [root]
    seen = {root}  # every node met, leaves included (a set lookup is cheaper than ._p)
    add = seen.add
    met = seen.issuperset
    append = order.append
    for node in order:  # the loop also visits the nodes appended during it
        p = node._p
        if type(p) is tuple:
            if len(p) == 2:  # the commonest tuple (see backward): no iterator, no met()
                a, b = p
                if a not in seen:
                    add(a)
                    if a._p is not None:
                        append(a)
                if b not in seen:
                    add(b)
                    if b._p is not None:
                        append(b)
                continue
            if met(p):  # commonly so: the neurons of a layer share inputs and weights
                continue
            for q in p:
                if q not in seen:
                    add(q)
                    if q._p is not None:
                        append(q)
        elif p not in seen:
            add(p)
            if p._p is not None:
                append(p)
    order.sort(key=_creation)
    return order


_MARKS = float("0") is not float("0")  # two floats made apart are two objects (CPython)


def _interior_reset(root: Value) -> list[Value]:
    """:func:`_interior` for ``backward``, every node's ``grad`` then 0.0.

    Why not a set of the nodes met: backward resets the interior grads anyway,
    so a node's ``grad`` can say whether this pass has met it, and be reset at
    once: each node met gets this pass's own float 0.0, a new object (two
    floats of one value are two objects unless one is a copy), told apart by
    ``is``. A mark left by an earlier pass is another object, and is a 0.0 like
    any. Two attribute reads per edge (one for a leaf) are cheaper than a set
    lookup and insertion: the sweep of W-tape's graph -28%, of W-chain -30%,
    of W-mlp -6% (nn) and -13% (ops). Leaves are never marked: their grads
    accumulate.
    """
    if not _MARKS:  # floats without identity (PyPy's ``is`` compares their values)
        order = _interior(root)
        for node in order:
            node.grad = 0.0
        return order
    mark = float("0")  # (not the literal 0.0: the compiler shares that one object)
    order = [root]
    append = order.append
    root.grad = mark
    for node in order:  # the loop also visits the nodes appended during it
        p = node._p
        if type(p) is tuple:
            for q in p:  # (a leaf first: a wide node's operands are mostly weights)
                if q._p is not None and q.grad is not mark:
                    q.grad = mark
                    append(q)
        elif p._p is not None and p.grad is not mark:
            p.grad = mark
            append(p)
    order.sort(key=_creation)
    return order


_creation = operator.attrgetter("_id")


# ---------------------------------------------------------------------------
# Per-thread recording state (no_grad, scopes). Checking it costs one global
# read per node while no thread uses it.


class _ThreadState(threading.local):
    def __init__(self) -> None:
        self.no_grad = 0
        self.scopes: list[str] = []
        self.path = ""  # "/".join(scopes), kept as scopes open and close
        # Set by autograd.anomaly.detect_anomaly (None outside it): a hook
        # called on every new node, and a checked replacement for backward.
        self.on_node: Callable[[Value], None] | None = None
        self.checked_backward: Callable[[Value, float], None] | None = None


_tls = _ThreadState()
_special_lock = threading.Lock()
_special = 0  # how many no_grad/scope blocks are open, in any thread


def _enter_special() -> None:
    global _special
    with _special_lock:
        _special += 1


def _exit_special() -> None:
    global _special
    with _special_lock:
        _special -= 1


@contextmanager
def no_grad() -> Iterator[None]:
    """Record nothing inside the block: results are leaves without parents.

    Safe with threads: the setting belongs to the calling thread only.

    Example:
        >>> with no_grad():
        ...     y = Value(2.0) * 3
        >>> y.parents
        ()
    """
    _enter_special()
    _tls.no_grad += 1
    try:
        yield
    finally:
        _tls.no_grad -= 1
        _exit_special()


def is_grad_enabled() -> bool:
    """Return whether ops in this thread record the graph (not in ``no_grad``)."""
    return _tls.no_grad == 0


@contextmanager
def scope(name: str) -> Iterator[None]:
    """Tag every node created inside the block with a scope path.

    Scopes nest: ``scope("layer 1")`` around ``scope("neuron 3")`` tags nodes
    with ``"layer 1/neuron 3"`` (read it as ``Value.scope``). Graph renderers
    group nodes by it. Costs a little time per node while open.

    Args:
        name: a non-empty name without ``/``.

    Raises:
        ValueError: if the name is empty or contains ``/``.
    """
    if not isinstance(name, str) or not name or "/" in name:
        raise ValueError(
            f"scope: the name must be a non-empty string without '/', got {name!r}"
        )
    _enter_special()
    state = _tls
    state.scopes.append(name)
    outer, state.path = state.path, "/".join(state.scopes)
    try:
        yield
    finally:
        state.scopes.pop()
        state.path = outer
        _exit_special()


# ---------------------------------------------------------------------------
# Operand conversion.


def _to_float(x: object, what: str, where: str = "") -> float:
    """Convert a real number to float, or raise a TypeError naming ``what`` (and ``where``)."""
    if type(x) is float:
        return x
    if isinstance(x, (numbers.Real, decimal.Decimal)) and not isinstance(x, Value):
        try:
            return float(x)
        except OverflowError:  # an int beyond float range
            return N.INF if x > 0 else -N.INF  # type: ignore[operator]
    if where:
        what = f"{what}: {where}"
    raise TypeError(
        f"{what}: expected a real number (int, float, Fraction, Decimal, NumPy "
        f"scalar) or a Value, got {type(x).__name__} {_short(x)}; convert it "
        "with float(...) or wrap it in Value(...)"
    )


def _short(x: object) -> str:
    r = repr(x)
    return r if len(r) <= 40 else r[:37] + "..."


# ---------------------------------------------------------------------------
# Node construction: the one place a non-leaf node is built.


def _node(
    data: float,
    op: Op,
    parents: tuple[Value, ...],
    local: tuple[float, ...],
    operands: tuple[Any, ...] | None,
) -> Value:
    node: Value = _new(Value)
    node._data = data
    node.grad = 0.0
    node._entry = op
    n = len(parents)
    if n == 1:  # one parent: it and its partial are stored bare (no tuples)
        node._p = parents[0]
        node._local = local[0]
    elif n:
        node._p = parents
        node._local = local
    else:  # no Value operand: a constant, i.e. a leaf
        node._p = None
        node._local = ()
    node._ctx = operands
    node._id = next(_ids)
    if _special:
        _record_special(node)
    return node


def _record_special(node: Value) -> None:
    state = _tls
    hook = state.on_node  # anomaly mode (None outside it)
    if state.no_grad:
        if hook is not None:  # sees the node before no_grad strips it
            hook(node)
        node._entry = None
        node._p = None
        node._local = ()
        node._ctx = None
        node._id = 0
    else:
        if state.path:
            node._meta = state.path  # one string per scope block, shared by its nodes
        if hook is not None:
            hook(node)


def _unary(op: Op, x: Value) -> Value:
    a = x._data
    out = op.forward(a)
    node: Value = _new(Value)  # the body of _node, inlined on this hot path
    node._data = out
    node.grad = 0.0
    node._entry = op
    node._p = x
    node._local = op.local(out, a)[0]
    node._ctx = None
    node._id = next(_ids)
    if _special:
        _record_special(node)
    return node


def _binary(op: Op, a: Any, b: Any) -> Value:
    """Apply a two-operand op; at least one of ``a``, ``b`` is a Value."""
    node: Value = _new(Value)  # the body of _node, inlined on this hot path
    if type(a) is Value or isinstance(a, Value):
        x = a._data
        if type(b) is Value or isinstance(b, Value):
            y = b._data
            node._data = out = op.forward(x, y)
            node._p = (a, b)
            node._local = op.local(out, x, y)
            node._ctx = None
        else:
            y = b if type(b) is float else _to_float(b, op.name, "right operand")
            node._data = out = op.forward(x, y)
            node._p = a
            node._local = op.local(out, x, y)[0]
            node._ctx = y  # a right-hand constant is stored bare (see Value.operands)
    else:
        x = a if type(a) is float else _to_float(a, op.name, "left operand")
        y = b._data
        node._data = out = op.forward(x, y)
        node._p = b
        node._local = op.local(out, x, y)[1]
        node._ctx = (x, b)
    node.grad = 0.0
    node._entry = op
    node._id = next(_ids)
    if _special:
        _record_special(node)
    return node


def _with_params(op: Op, x: Value, params: tuple[float, ...]) -> Value:
    a = x._data
    out = op.forward(a, *params)
    return _node(out, op, (x,), op.local(out, a, *params), (x, *params))


def _nary(op: Op, operands: Sequence[Any]) -> Value:
    floats: list[float] = []
    parents: list[Value] = []
    where: list[int] = []
    for i, o in enumerate(operands):
        if isinstance(o, Value):
            floats.append(o._data)
            parents.append(o)
            where.append(i)
        else:
            floats.append(_to_float(o, f"{op.name}: operand {i}"))
    out = op.forward(*floats)
    local = op.local(out, *floats)
    if len(parents) == len(floats):
        return _node(out, op, tuple(parents), local, None)
    return _node(
        out,
        op,
        tuple(parents),
        tuple(local[i] for i in where),
        tuple(o if isinstance(o, Value) else f for o, f in zip(operands, floats)),
    )


def apply(op: Op | str, *operands: Any) -> Value:
    """Apply any op of the table (built-in or registered) to its operands.

    Args:
        op: an :class:`~autograd.ops.Op` or the name of one in the table.
        *operands: Values or real numbers, in the op's operand order
            (parameters such as ``leaky_relu``'s slope included). At least one
            non-parameter operand must be a Value... or all may be numbers, in
            which case the result is a constant leaf.

    Returns:
        The new node.

    Raises:
        UnknownOpError: if ``op`` names no entry of the table.
        TypeError: if the number of operands does not match the op's arity,
            or an operand is not a real number or a Value.
    """
    entry = get_op(op) if isinstance(op, str) else op
    if not isinstance(entry, Op):
        raise TypeError(f"apply: expected an Op or an op name, got {type(op).__name__}")
    if entry.arity >= 0 and len(operands) != entry.arity:
        raise TypeError(
            f"{entry.name}: takes {entry.arity} operand(s), got {len(operands)}"
        )
    if not any(isinstance(o, Value) for o in operands):
        floats = [_to_float(o, f"{entry.name}: operand {i}") for i, o in enumerate(operands)]
        return Value(entry.forward(*floats))
    return _nary(entry, operands)


def make_node(
    data: float,
    op: Op,
    parents: Sequence[Value],
    partials: Sequence[float],
    operands: Sequence[Any] | None = None,
    scope: str = "",
) -> Value:
    """Build a node from a forward value and local derivatives you computed.

    For fused ops (for example a neuron's ``act(w . x + b)`` as one node):
    compute the output and d output / d parent with floats, then record them.
    ``op`` must be in the table so that ``create_graph`` and the renderers
    know it.

    Args:
        data: the forward value.
        op: the table entry the node belongs to.
        parents: the Value operands, in operand order.
        partials: d data / d parent, one float per parent.
        operands: the full operand list when some operands are constants
            (needed by ``create_graph``); ``None`` when it equals ``parents``.
        scope: a scope path for the node (as :func:`scope` would give it;
            cheaper than setting ``Value.scope`` afterwards).

    Returns:
        The new node.

    Raises:
        ValueError: if ``parents`` and ``partials`` differ in length.
    """
    ps = parents if type(parents) is tuple else tuple(parents)
    ds = partials if type(partials) is tuple else tuple(partials)
    n = len(ps)
    if n != len(ds):
        raise ValueError(
            f"make_node({op.name}): {n} parents but {len(ds)} partials; "
            "give one partial per parent"
        )
    node: Value = _new(Value)  # the body of _node, inlined: nn makes one per neuron call
    node._data = data
    node.grad = 0.0
    node._entry = op
    if n == 1:  # one parent: it and its partial are stored bare (no tuples)
        node._p = ps[0]
        node._local = ds[0]
    elif n:
        node._p = ps
        node._local = ds
    else:  # no Value operand: a constant, i.e. a leaf
        node._p = None
        node._local = ()
    node._ctx = None if operands is None else tuple(operands)
    node._id = next(_ids)
    if _special:
        _record_special(node)
        if scope:  # keep what the open modes recorded (anomaly mode's call site)
            node.scope = scope
    elif scope:
        node._meta = scope
    return node


_LEAKY_RELU = OPS["leaky_relu"]
_GELU = OPS["gelu"]
_SOFTPLUS = OPS["softplus"]
_SIN = OPS["sin"]
_COS = OPS["cos"]
_ERF = OPS["erf"]
_ABS = OPS["abs"]
_CLAMP = OPS["clamp"]
_ADDCMUL = OPS["addcmul"]
_MAXIMUM = OPS["maximum"]
_MINIMUM = OPS["minimum"]
_SOFTMAX_OUT = OPS["softmax_out"]


# ---------------------------------------------------------------------------
# Functions over several values (each one node).


def _values(values: Iterable[Any], what: str, least: int = 0) -> Sequence[Any]:
    """``values`` as a list or tuple (as it is, if it is one) for the op ``what``.

    Raises:
        TypeError: if ``values`` is not an iterable (or is a Value or a string).
        ValueError: if it has fewer than ``least`` elements.
    """
    t = type(values)
    if t is not list and t is not tuple:  # (the common case: no abc check, no copy)
        if isinstance(values, (Value, str, bytes)) or not isinstance(values, Iterable):
            raise TypeError(
                f"{what}: expected an iterable of Values or numbers, got "
                f"{type(values).__name__}; pass a list such as [a, b, c]"
            )
        values = list(values)
    if len(values) < least:  # type: ignore[arg-type]
        raise ValueError(f"{what}: got an empty sequence; pass at least one value")
    return values  # type: ignore[return-value]


def _pairs(xs: Sequence[Any], ys: Sequence[Any]) -> tuple[Any, ...]:
    """``dot``'s operands, ``xs`` then ``ys``, as one tuple (the node's parents as they are).

    Raises:
        TypeError: if either is not an iterable.
        ValueError: if they differ in length.
    """
    a, b = _values(xs, "dot: xs"), _values(ys, "dot: ys")  # (dot's own lines take lists)
    if len(a) != len(b):
        raise ValueError(
            f"dot: xs has {len(a)} elements but ys has {len(b)}; pass sequences "
            "of equal length"
        )
    return (*a, *b)


def addcmul(a: Value | Number, b: Value | Number, c: Value | Number) -> Value:
    """``a + b * c`` as one node, rounded as the two ops (PyTorch's ``addcmul``).

    ``grad(create_graph=True)`` adds a gradient and its next term ``g * d`` with it.

    Args:
        a: the term added.
        b, c: the factors of the product.

    Returns:
        The node (a constant leaf if no operand is a Value).

    Raises:
        TypeError: if an operand is not a Value or a real number.
    """
    return apply(_ADDCMUL, a, b, c)


def maximum(a: Value | Number, b: Value | Number) -> Value:
    """Larger of two operands; at a tie each gets half the gradient.

    Raises:
        TypeError: if an operand is not a Value or a real number.
    """
    return apply(_MAXIMUM, a, b)


def minimum(a: Value | Number, b: Value | Number) -> Value:
    """Smaller of two operands; at a tie each gets half the gradient.

    Raises:
        TypeError: if an operand is not a Value or a real number.
    """
    return apply(_MINIMUM, a, b)


def softmax(values: Iterable[Value | Number]) -> list[Value]:
    """Softmax as a list of Values: ``exp(x_i - logsumexp(x))``.

    One ``logsumexp`` node and one ``softmax_out`` node per output (parents
    ``x_i`` and the shared logsumexp), so the backward is the closed form
    ``dx_j = y_j * (g_j - sum_i g_i * y_i)`` in about 3k multiply-adds.

    Raises:
        ValueError: if ``values`` is empty.
        TypeError: if an element is not a Value or a real number.
    """
    vs = _values(values, "softmax", least=1)
    if not _special:  # (an open mode may strip the nodes as they are made)
        outs = _fast_softmax(vs)
        if outs is not None:
            return outs
    # an open mode, a number among them or only one: the general path
    lse = logsumexp(vs)
    return [_binary(_SOFTMAX_OUT, v, lse) for v in vs]


# --- BEGIN GENERATED: fast paths from the op table (python -m autograd.codegen) ---
from builtins import max as _max_of
from math import exp as _raw_exp
from math import fsum as _raw_fsum
from math import log as _raw_log
from math import pow as _raw_pow
from math import sqrt as _raw_sqrt
from math import tanh as _tanh

from autograd.numerics import div as _div
from autograd.numerics import exp as _exp
from autograd.numerics import fsum as _fsum
from autograd.numerics import log as _log
from autograd.numerics import logsumexp as _logsumexp
from autograd.numerics import pow as _pow
from autograd.numerics import sigmoid as _sigmoid
from autograd.numerics import sqrt as _sqrt
from autograd.numerics import sumprod as _sumprod
from autograd.numerics import tie_share as _tie_share

_INF = float('inf')

_FAST_ADD = OPS["add"]
_FAST_SUB = OPS["sub"]
_FAST_MUL = OPS["mul"]
_FAST_DIV = OPS["div"]
_FAST_POW = OPS["pow"]
_FAST_NEG = OPS["neg"]
_FAST_EXP = OPS["exp"]
_FAST_LOG = OPS["log"]
_FAST_SQRT = OPS["sqrt"]
_FAST_TANH = OPS["tanh"]
_FAST_SIGMOID = OPS["sigmoid"]
_FAST_RELU = OPS["relu"]
_FAST_SUM = OPS["sum"]
_FAST_MEAN = OPS["mean"]
_FAST_DOT = OPS["dot"]
_FAST_LOGSUMEXP = OPS["logsumexp"]
_FAST_SOFTMAX_OUT = OPS["softmax_out"]


def _fast_add(self: Value, other: Any) -> Value:
    """``self + other``: op table entry ``add``."""
    if type(other) is float:
        x = self._data
        node: Value = _new(Value)
        node._data = x + other
        node._local = 1.0
        node._p = self
        node._ctx = other
    elif type(other) is Value:
        x = self._data
        y = other._data
        node = _new(Value)
        node._data = x + y
        node._local = (1.0, 1.0)
        node._p = (self, other)
        node._ctx = None
    else:
        return _binary(_FAST_ADD, self, other)
    node.grad = 0.0
    node._entry = _FAST_ADD
    node._id = next(_ids)
    if _special:
        _record_special(node)
    return node


def _fast_radd(self: Value, other: Any) -> Value:
    """``other + self``: op table entry ``add``."""
    if type(other) is not float:
        return _binary(_FAST_ADD, other, self)
    y = self._data
    node: Value = _new(Value)
    node._data = other + y
    node._local = 1.0
    node._p = self
    node._ctx = (other, self)
    node.grad = 0.0
    node._entry = _FAST_ADD
    node._id = next(_ids)
    if _special:
        _record_special(node)
    return node


def _fast_sub(self: Value, other: Any) -> Value:
    """``self - other``: op table entry ``sub``."""
    if type(other) is float:
        x = self._data
        node: Value = _new(Value)
        node._data = x - other
        node._local = 1.0
        node._p = self
        node._ctx = other
    elif type(other) is Value:
        x = self._data
        y = other._data
        node = _new(Value)
        node._data = x - y
        node._local = (1.0, -1.0)
        node._p = (self, other)
        node._ctx = None
    else:
        return _binary(_FAST_SUB, self, other)
    node.grad = 0.0
    node._entry = _FAST_SUB
    node._id = next(_ids)
    if _special:
        _record_special(node)
    return node


def _fast_rsub(self: Value, other: Any) -> Value:
    """``other - self``: op table entry ``sub``."""
    if type(other) is not float:
        return _binary(_FAST_SUB, other, self)
    y = self._data
    node: Value = _new(Value)
    node._data = other - y
    node._local = -1.0
    node._p = self
    node._ctx = (other, self)
    node.grad = 0.0
    node._entry = _FAST_SUB
    node._id = next(_ids)
    if _special:
        _record_special(node)
    return node


def _fast_mul(self: Value, other: Any) -> Value:
    """``self * other``: op table entry ``mul``."""
    if type(other) is float:
        x = self._data
        node: Value = _new(Value)
        node._data = x * other
        node._local = other
        node._p = self
        node._ctx = other
    elif type(other) is Value:
        x = self._data
        y = other._data
        node = _new(Value)
        node._data = x * y
        node._local = (y, x)
        node._p = (self, other)
        node._ctx = None
    else:
        return _binary(_FAST_MUL, self, other)
    node.grad = 0.0
    node._entry = _FAST_MUL
    node._id = next(_ids)
    if _special:
        _record_special(node)
    return node


def _fast_rmul(self: Value, other: Any) -> Value:
    """``other * self``: op table entry ``mul``."""
    if type(other) is not float:
        return _binary(_FAST_MUL, other, self)
    y = self._data
    node: Value = _new(Value)
    node._data = other * y
    node._local = other
    node._p = self
    node._ctx = (other, self)
    node.grad = 0.0
    node._entry = _FAST_MUL
    node._id = next(_ids)
    if _special:
        _record_special(node)
    return node


def _fast_div(self: Value, other: Any) -> Value:
    """``self / other``: op table entry ``div``."""
    if type(other) is float:
        x = self._data
        node: Value = _new(Value)
        node._data = _div(x, other)
        node._local = _div(1.0, other)
        node._p = self
        node._ctx = other
    elif type(other) is Value:
        x = self._data
        y = other._data
        node = _new(Value)
        node._data = _div(x, y)
        node._local = (_div(1.0, y), -_div(x, y * y))
        node._p = (self, other)
        node._ctx = None
    else:
        return _binary(_FAST_DIV, self, other)
    node.grad = 0.0
    node._entry = _FAST_DIV
    node._id = next(_ids)
    if _special:
        _record_special(node)
    return node


def _fast_rdiv(self: Value, other: Any) -> Value:
    """``other / self``: op table entry ``div``."""
    if type(other) is not float:
        return _binary(_FAST_DIV, other, self)
    y = self._data
    node: Value = _new(Value)
    node._data = _div(other, y)
    node._local = -_div(other, y * y)
    node._p = self
    node._ctx = (other, self)
    node.grad = 0.0
    node._entry = _FAST_DIV
    node._id = next(_ids)
    if _special:
        _record_special(node)
    return node


def _fast_pow(self: Value, other: Any) -> Value:
    """``self ** other``: op table entry ``pow``."""
    if type(other) is float:
        x = self._data
        node: Value = _new(Value)
        try:  # the math function; the IEEE helper where it raises
            node._data = _raw_pow(x, other)
            d0 = (0.0 if other == 0.0 and (x == 0.0 or x != x) else other * _raw_pow(x, other - 1.0))  # noqa: E501
            node._local = d0
        except (ArithmeticError, ValueError):
            node._data = _pow(x, other)
            d0 = (0.0 if other == 0.0 and (x == 0.0 or x != x) else other * _pow(x, other - 1.0))
            node._local = d0
        node._p = self
        node._ctx = other
    elif type(other) is Value:
        x = self._data
        y = other._data
        node = _new(Value)
        try:  # the math function; the IEEE helper where it raises
            node._data = out = _raw_pow(x, y)
            d0 = (0.0 if y == 0.0 and (x == 0.0 or x != x) else y * _raw_pow(x, y - 1.0))
            d1 = (0.0 if x == 0.0 and y >= 0.0 else out * _raw_log(x))
            node._local = (d0, d1)
        except (ArithmeticError, ValueError):
            node._data = out = _pow(x, y)
            d0 = (0.0 if y == 0.0 and (x == 0.0 or x != x) else y * _pow(x, y - 1.0))
            d1 = (0.0 if x == 0.0 and y >= 0.0 else out * _log(x))
            node._local = (d0, d1)
        node._p = (self, other)
        node._ctx = None
    else:
        return _binary(_FAST_POW, self, other)
    node.grad = 0.0
    node._entry = _FAST_POW
    node._id = next(_ids)
    if _special:
        _record_special(node)
    return node


def _fast_rpow(self: Value, other: Any) -> Value:
    """``other ** self``: op table entry ``pow``."""
    if type(other) is not float:
        return _binary(_FAST_POW, other, self)
    y = self._data
    node: Value = _new(Value)
    try:  # the math function; the IEEE helper where it raises
        node._data = out = _raw_pow(other, y)
        node._local = (0.0 if other == 0.0 and y >= 0.0 else out * _raw_log(other))
    except (ArithmeticError, ValueError):
        node._data = out = _pow(other, y)
        node._local = (0.0 if other == 0.0 and y >= 0.0 else out * _log(other))
    node._p = self
    node._ctx = (other, self)
    node.grad = 0.0
    node._entry = _FAST_POW
    node._id = next(_ids)
    if _special:
        _record_special(node)
    return node


def _fast_neg(self: Value) -> Value:
    """``-x``: op table entry ``neg``."""
    x = self._data
    node: Value = _new(Value)
    node._data = -x
    node._local = -1.0
    node._p = self
    node._ctx = None
    node.grad = 0.0
    node._entry = _FAST_NEG
    node._id = next(_ids)
    if _special:
        _record_special(node)
    return node


def _fast_exp(self: Value) -> Value:
    """``exp(x)``: op table entry ``exp``."""
    x = self._data
    node: Value = _new(Value)
    try:  # the math function; the IEEE helper where it raises
        node._data = out = _raw_exp(x)
        node._local = out
    except (ArithmeticError, ValueError):
        node._data = out = _exp(x)
        node._local = out
    node._p = self
    node._ctx = None
    node.grad = 0.0
    node._entry = _FAST_EXP
    node._id = next(_ids)
    if _special:
        _record_special(node)
    return node


def _fast_log(self: Value) -> Value:
    """``log(x)``: op table entry ``log``."""
    x = self._data
    node: Value = _new(Value)
    try:  # the math function; the IEEE helper where it raises
        node._data = _raw_log(x)
        node._local = _div(1.0, x)
    except (ArithmeticError, ValueError):
        node._data = _log(x)
        node._local = _div(1.0, x)
    node._p = self
    node._ctx = None
    node.grad = 0.0
    node._entry = _FAST_LOG
    node._id = next(_ids)
    if _special:
        _record_special(node)
    return node


def _fast_sqrt(self: Value) -> Value:
    """``sqrt(x)``: op table entry ``sqrt``."""
    x = self._data
    node: Value = _new(Value)
    try:  # the math function; the IEEE helper where it raises
        node._data = out = _raw_sqrt(x)
        node._local = _div(0.5, out)
    except (ArithmeticError, ValueError):
        node._data = out = _sqrt(x)
        node._local = _div(0.5, out)
    node._p = self
    node._ctx = None
    node.grad = 0.0
    node._entry = _FAST_SQRT
    node._id = next(_ids)
    if _special:
        _record_special(node)
    return node


def _fast_tanh(self: Value) -> Value:
    """``tanh(x)``: op table entry ``tanh``."""
    x = self._data
    node: Value = _new(Value)
    node._data = out = _tanh(x)
    node._local = 1.0 - out * out
    node._p = self
    node._ctx = None
    node.grad = 0.0
    node._entry = _FAST_TANH
    node._id = next(_ids)
    if _special:
        _record_special(node)
    return node


def _fast_sigmoid(self: Value) -> Value:
    """``sigmoid(x)``: op table entry ``sigmoid``."""
    x = self._data
    node: Value = _new(Value)
    node._data = out = _sigmoid(x)
    node._local = out * (1.0 - out)
    node._p = self
    node._ctx = None
    node.grad = 0.0
    node._entry = _FAST_SIGMOID
    node._id = next(_ids)
    if _special:
        _record_special(node)
    return node


def _fast_relu(self: Value) -> Value:
    """``0 if x <= 0 else x``: op table entry ``relu``."""
    x = self._data
    node: Value = _new(Value)
    node._data = out = (0.0 if x <= 0.0 else x)
    node._local = (1.0 if out > 0.0 else 0.0)
    node._p = self
    node._ctx = None
    node.grad = 0.0
    node._entry = _FAST_RELU
    node._id = next(_ids)
    if _special:
        _record_special(node)
    return node


_LOCAL_SUM: dict[int, tuple[float, ...]] = {}


def _fast_group_sum(vs: Sequence[Any]) -> Value:
    """``fsum(xs)`` of a list or tuple of operands: op table entry ``sum``."""
    try:
        ops = [v._data for v in vs]
    except AttributeError:  # a number among them: the general path
        return apply(_FAST_SUM, *vs)
    if len(ops) < 2:  # a constant, or one parent stored bare: the general path
        return apply(_FAST_SUM, *vs)
    node: Value = _new(Value)
    try:  # the math function; the IEEE helper where it raises
        xs = ops
        node._data = _raw_fsum(xs)
        n = len(ops)
    except (ArithmeticError, ValueError):
        xs = ops
        node._data = _fsum(xs)
        n = len(ops)
    local = _LOCAL_SUM.get(n)
    if local is None:
        local = (1.0,) * n
        if n <= 64:
            _LOCAL_SUM[n] = local
    node._local = local
    node._p = vs if type(vs) is tuple else tuple(vs)
    node._ctx = None
    node.grad = 0.0
    node._entry = _FAST_SUM
    node._id = next(_ids)
    if _special:
        _record_special(node)
    return node


def sum(values: Iterable[Value | Number]) -> Value:  # noqa: A001 - as torch.sum
    """Sum values as one node with n parents (numbers are folded in).

    Args:
        values: Values or real numbers; an empty iterable sums to 0.

    Returns:
        The sum, a Value.

    Raises:
        TypeError: if ``values`` is not an iterable, or holds a non-number.
    """
    t = type(values)
    if t is list or t is tuple:  # a few Values: here
        n = len(values)  # type: ignore[arg-type]  # (no narrowing on type(x))
        if n == 2:  # the compiled form for 2 operands, unrolled
            v0, v1 = values
            if (type(v0) is Value
                    and type(v1) is Value):
                x0 = v0._data
                x1 = v1._data
                node: Value = _new(Value)
                node._data = x0 + x1 + 0.0
                node._local = (1.0, 1.0)
                node._p = (v0, v1)
                node._ctx = None
                node.grad = 0.0
                node._entry = _FAST_SUM
                node._id = next(_ids)
                if _special:
                    _record_special(node)
                return node
        elif n == 3:  # the compiled form for 3 operands, unrolled
            v0, v1, v2 = values
            if (type(v0) is Value
                    and type(v1) is Value
                    and type(v2) is Value):
                x0 = v0._data
                x1 = v1._data
                x2 = v2._data
                node = _new(Value)
                try:  # the math function; the IEEE helper where it raises
                    node._data = _raw_fsum((x0, x1, x2))
                    node._local = (1.0, 1.0, 1.0)
                except (ArithmeticError, ValueError):
                    node._data = _fsum((x0, x1, x2))
                    node._local = (1.0, 1.0, 1.0)
                node._p = (v0, v1, v2)
                node._ctx = None
                node.grad = 0.0
                node._entry = _FAST_SUM
                node._id = next(_ids)
                if _special:
                    _record_special(node)
                return node
        elif n == 4:  # the compiled form for 4 operands, unrolled
            v0, v1, v2, v3 = values
            if (type(v0) is Value
                    and type(v1) is Value
                    and type(v2) is Value
                    and type(v3) is Value):
                x0 = v0._data
                x1 = v1._data
                x2 = v2._data
                x3 = v3._data
                node = _new(Value)
                try:  # the math function; the IEEE helper where it raises
                    node._data = _raw_fsum((x0, x1, x2, x3))
                    node._local = (1.0, 1.0, 1.0, 1.0)
                except (ArithmeticError, ValueError):
                    node._data = _fsum((x0, x1, x2, x3))
                    node._local = (1.0, 1.0, 1.0, 1.0)
                node._p = (v0, v1, v2, v3)
                node._ctx = None
                node.grad = 0.0
                node._entry = _FAST_SUM
                node._id = next(_ids)
                if _special:
                    _record_special(node)
                return node
        elif n == 5:  # the compiled form for 5 operands, unrolled
            v0, v1, v2, v3, v4 = values
            if (type(v0) is Value
                    and type(v1) is Value
                    and type(v2) is Value
                    and type(v3) is Value
                    and type(v4) is Value):
                x0 = v0._data
                x1 = v1._data
                x2 = v2._data
                x3 = v3._data
                x4 = v4._data
                node = _new(Value)
                try:  # the math function; the IEEE helper where it raises
                    node._data = _raw_fsum((x0, x1, x2, x3, x4))
                    node._local = (1.0, 1.0, 1.0, 1.0, 1.0)
                except (ArithmeticError, ValueError):
                    node._data = _fsum((x0, x1, x2, x3, x4))
                    node._local = (1.0, 1.0, 1.0, 1.0, 1.0)
                node._p = (v0, v1, v2, v3, v4)
                node._ctx = None
                node.grad = 0.0
                node._entry = _FAST_SUM
                node._id = next(_ids)
                if _special:
                    _record_special(node)
                return node
        return _fast_group_sum(values)  # type: ignore[arg-type]  # any other
    return _fast_group_sum(_values(values, "sum"))


_LOCAL_MEAN: dict[int, tuple[float, ...]] = {}


def _fast_group_mean(vs: Sequence[Any]) -> Value:
    """``fsum(xs) / n`` of a list or tuple of operands: op table entry ``mean``."""
    try:
        ops = [v._data for v in vs]
    except AttributeError:  # a number among them: the general path
        return apply(_FAST_MEAN, *vs)
    if len(ops) < 2:  # a constant, or one parent stored bare: the general path
        return apply(_FAST_MEAN, *vs)
    node: Value = _new(Value)
    try:  # the math function; the IEEE helper where it raises
        xs = ops
        n = len(ops)
        node._data = _raw_fsum(xs) / n
    except (ArithmeticError, ValueError):
        xs = ops
        n = len(ops)
        node._data = _fsum(xs) / n
    local = _LOCAL_MEAN.get(n)
    if local is None:
        local = (1.0 / n,) * n
        if n <= 64:
            _LOCAL_MEAN[n] = local
    node._local = local
    node._p = vs if type(vs) is tuple else tuple(vs)
    node._ctx = None
    node.grad = 0.0
    node._entry = _FAST_MEAN
    node._id = next(_ids)
    if _special:
        _record_special(node)
    return node


def mean(values: Iterable[Value | Number]) -> Value:
    """Mean of values as one node with n parents.

    Args:
        values: Values or real numbers, at least one.

    Returns:
        The mean, a Value.

    Raises:
        ValueError: if ``values`` is empty.
        TypeError: if ``values`` is not an iterable, or holds a non-number.
    """
    t = type(values)
    if t is list or t is tuple:  # a few Values: here
        n = len(values)  # type: ignore[arg-type]  # (no narrowing on type(x))
        if n == 2:  # the compiled form for 2 operands, unrolled
            v0, v1 = values
            if (type(v0) is Value
                    and type(v1) is Value):
                x0 = v0._data
                x1 = v1._data
                node: Value = _new(Value)
                node._data = (x0 + x1 + 0.0) / 2
                node._local = (1.0 / 2, 1.0 / 2)
                node._p = (v0, v1)
                node._ctx = None
                node.grad = 0.0
                node._entry = _FAST_MEAN
                node._id = next(_ids)
                if _special:
                    _record_special(node)
                return node
        elif n == 3:  # the compiled form for 3 operands, unrolled
            v0, v1, v2 = values
            if (type(v0) is Value
                    and type(v1) is Value
                    and type(v2) is Value):
                x0 = v0._data
                x1 = v1._data
                x2 = v2._data
                node = _new(Value)
                try:  # the math function; the IEEE helper where it raises
                    node._data = _raw_fsum((x0, x1, x2)) / 3
                    node._local = (1.0 / 3, 1.0 / 3, 1.0 / 3)
                except (ArithmeticError, ValueError):
                    node._data = _fsum((x0, x1, x2)) / 3
                    node._local = (1.0 / 3, 1.0 / 3, 1.0 / 3)
                node._p = (v0, v1, v2)
                node._ctx = None
                node.grad = 0.0
                node._entry = _FAST_MEAN
                node._id = next(_ids)
                if _special:
                    _record_special(node)
                return node
        elif n == 4:  # the compiled form for 4 operands, unrolled
            v0, v1, v2, v3 = values
            if (type(v0) is Value
                    and type(v1) is Value
                    and type(v2) is Value
                    and type(v3) is Value):
                x0 = v0._data
                x1 = v1._data
                x2 = v2._data
                x3 = v3._data
                node = _new(Value)
                try:  # the math function; the IEEE helper where it raises
                    node._data = _raw_fsum((x0, x1, x2, x3)) / 4
                    node._local = (1.0 / 4, 1.0 / 4, 1.0 / 4, 1.0 / 4)
                except (ArithmeticError, ValueError):
                    node._data = _fsum((x0, x1, x2, x3)) / 4
                    node._local = (1.0 / 4, 1.0 / 4, 1.0 / 4, 1.0 / 4)
                node._p = (v0, v1, v2, v3)
                node._ctx = None
                node.grad = 0.0
                node._entry = _FAST_MEAN
                node._id = next(_ids)
                if _special:
                    _record_special(node)
                return node
        elif n == 5:  # the compiled form for 5 operands, unrolled
            v0, v1, v2, v3, v4 = values
            if (type(v0) is Value
                    and type(v1) is Value
                    and type(v2) is Value
                    and type(v3) is Value
                    and type(v4) is Value):
                x0 = v0._data
                x1 = v1._data
                x2 = v2._data
                x3 = v3._data
                x4 = v4._data
                node = _new(Value)
                try:  # the math function; the IEEE helper where it raises
                    node._data = _raw_fsum((x0, x1, x2, x3, x4)) / 5
                    node._local = (1.0 / 5, 1.0 / 5, 1.0 / 5, 1.0 / 5, 1.0 / 5)
                except (ArithmeticError, ValueError):
                    node._data = _fsum((x0, x1, x2, x3, x4)) / 5
                    node._local = (1.0 / 5, 1.0 / 5, 1.0 / 5, 1.0 / 5, 1.0 / 5)
                node._p = (v0, v1, v2, v3, v4)
                node._ctx = None
                node.grad = 0.0
                node._entry = _FAST_MEAN
                node._id = next(_ids)
                if _special:
                    _record_special(node)
                return node
        if n:
            return _fast_group_mean(values)  # type: ignore[arg-type]  # any other nonempty
    return _fast_group_mean(_values(values, "mean", least=1))


def _fast_group_dot(vs: Sequence[Any]) -> Value:
    """``sumprod(xs, ys)`` of a list or tuple of operands: op table entry ``dot``."""
    try:
        ops = tuple([v._data for v in vs])
    except AttributeError:  # a number among them: the general path
        return apply(_FAST_DOT, *vs)
    if len(ops) < 2:  # a constant, or one parent stored bare: the general path
        return apply(_FAST_DOT, *vs)
    node: Value = _new(Value)
    n = len(ops) // 2
    xs = ops[:n]
    ys = ops[n:]
    node._data = _sumprod(xs, ys)
    node._local = ys + xs
    node._p = vs if type(vs) is tuple else tuple(vs)
    node._ctx = None
    node.grad = 0.0
    node._entry = _FAST_DOT
    node._id = next(_ids)
    if _special:
        _record_special(node)
    return node


def dot(xs: Sequence[Value | Number], ys: Sequence[Value | Number]) -> Value:
    """Dot product ``sum(x * y)`` as one node.

    The node's parents are the Values of ``xs`` then those of ``ys``.

    Args:
        xs, ys: Values or real numbers, as many in each.

    Returns:
        The dot product, a Value.

    Raises:
        ValueError: if the sequences differ in length.
        TypeError: if an element is not a Value or a real number.
    """
    t = type(xs)
    if (t is list or t is tuple) and type(ys) is t:  # a few pairs: here
        n = len(xs)
        if n == 1:  # the compiled form for 2 operands, unrolled
            try:
                (v0,), (v1,) = xs, ys
            except ValueError:  # ys of another length: the general path's error
                return _fast_group_dot(_pairs(xs, ys))
            if (type(v0) is Value
                    and type(v1) is Value):
                x0 = v0._data
                x1 = v1._data
                node: Value = _new(Value)
                node._data = x0 * x1 + 0.0
                node._local = (x1, x0)
                node._p = (v0, v1)
                node._ctx = None
                node.grad = 0.0
                node._entry = _FAST_DOT
                node._id = next(_ids)
                if _special:
                    _record_special(node)
                return node
        elif n == 2:  # the compiled form for 4 operands, unrolled
            try:
                (v0, v1), (v2, v3) = xs, ys
            except ValueError:  # ys of another length: the general path's error
                return _fast_group_dot(_pairs(xs, ys))
            if (type(v0) is Value
                    and type(v1) is Value
                    and type(v2) is Value
                    and type(v3) is Value):
                x0 = v0._data
                x1 = v1._data
                x2 = v2._data
                x3 = v3._data
                node = _new(Value)
                node._data = x0 * x2 + x1 * x3 + 0.0
                node._local = (x2, x3, x0, x1)
                node._p = (v0, v1, v2, v3)
                node._ctx = None
                node.grad = 0.0
                node._entry = _FAST_DOT
                node._id = next(_ids)
                if _special:
                    _record_special(node)
                return node
        if n == len(ys):  # any others of one length
            return _fast_group_dot((*xs, *ys))
    return _fast_group_dot(_pairs(xs, ys))


def _fast_group_logsumexp(vs: Sequence[Any]) -> Value:
    """``m + log(fsum(exp(xs[i] - m))) if m - m == 0 else logsumexp(xs), m = max_of(xs)`` of a list
    or tuple of operands: op table entry ``logsumexp``.
    """
    try:
        ops = [v._data for v in vs]
    except AttributeError:  # a number among them: the general path
        return apply(_FAST_LOGSUMEXP, *vs)
    if len(ops) < 2:  # a constant, or one parent stored bare: the general path
        return apply(_FAST_LOGSUMEXP, *vs)
    node: Value = _new(Value)
    try:  # the math function; the IEEE helper where it raises
        xs = ops
        m = _max_of(xs)
        node._data = out = (m + _raw_log(_raw_fsum([_raw_exp(_e - m) for _e in xs])) if m - m == 0.0 else _logsumexp(xs))  # noqa: E501
        n = len(ops)
        node._local = (tuple([_tie_share(xs, i) for i in range(n)]) if out == _INF or out == -_INF else tuple([_raw_exp(_e - out) for _e in xs]))  # noqa: E501
    except (ArithmeticError, ValueError):
        xs = ops
        m = _max_of(xs)
        node._data = out = (m + _log(_fsum([_exp(_e - m) for _e in xs])) if m - m == 0.0 else _logsumexp(xs))  # noqa: E501
        n = len(ops)
        node._local = (tuple([_tie_share(xs, i) for i in range(n)]) if out == _INF or out == -_INF else tuple([_exp(_e - out) for _e in xs]))  # noqa: E501
    node._p = vs if type(vs) is tuple else tuple(vs)
    node._ctx = None
    node.grad = 0.0
    node._entry = _FAST_LOGSUMEXP
    node._id = next(_ids)
    if _special:
        _record_special(node)
    return node


def logsumexp(values: Iterable[Value | Number]) -> Value:
    """``log(sum(exp(x)))``, stable for large inputs, as one node.

    Args:
        values: Values or real numbers, at least one.

    Returns:
        The log-sum-exp, a Value.

    Raises:
        ValueError: if ``values`` is empty.
        TypeError: if an element is not a Value or a real number.
    """
    t = type(values)
    if t is list or t is tuple:  # a few Values: here
        n = len(values)  # type: ignore[arg-type]  # (no narrowing on type(x))
        if n == 2:  # the compiled form for 2 operands, unrolled
            v0, v1 = values
            if (type(v0) is Value
                    and type(v1) is Value):
                x0 = v0._data
                x1 = v1._data
                node: Value = _new(Value)
                try:  # the math function; the IEEE helper where it raises
                    t0 = (x1 if x1 > x0 else x0)
                    node._data = out = (t0 + _raw_log(_raw_exp(x0 - t0) + _raw_exp(x1 - t0)) if t0 - t0 == 0.0 else _logsumexp((x0, x1)))  # noqa: E501
                    u0_2 = ((x0, x1) if out == 1e309 or out == -1e309 else ())
                    node._local = ((_tie_share(u0_2, 0) if u0_2 else _raw_exp(x0 - out)), (_tie_share(u0_2, 1) if u0_2 else _raw_exp(x1 - out)))  # noqa: E501
                except (ArithmeticError, ValueError):
                    t0 = (x1 if x1 > x0 else x0)
                    node._data = out = (t0 + _log(_exp(x0 - t0) + _exp(x1 - t0)) if t0 - t0 == 0.0 else _logsumexp((x0, x1)))  # noqa: E501
                    u0_2 = ((x0, x1) if out == 1e309 or out == -1e309 else ())
                    node._local = ((_tie_share(u0_2, 0) if u0_2 else _exp(x0 - out)), (_tie_share(u0_2, 1) if u0_2 else _exp(x1 - out)))  # noqa: E501
                node._p = (v0, v1)
                node._ctx = None
                node.grad = 0.0
                node._entry = _FAST_LOGSUMEXP
                node._id = next(_ids)
                if _special:
                    _record_special(node)
                return node
        elif n == 3:  # the compiled form for 3 operands, unrolled
            v0, v1, v2 = values
            if (type(v0) is Value
                    and type(v1) is Value
                    and type(v2) is Value):
                x0 = v0._data
                x1 = v1._data
                x2 = v2._data
                node = _new(Value)
                try:  # the math function; the IEEE helper where it raises
                    t0 = (x1 if x1 > x0 else x0)
                    t1 = (x2 if x2 > t0 else t0)
                    node._data = out = (t1 + _raw_log(_raw_fsum((_raw_exp(x0 - t1), _raw_exp(x1 - t1), _raw_exp(x2 - t1)))) if t1 - t1 == 0.0 else _logsumexp((x0, x1, x2)))  # noqa: E501
                    u0_3 = ((x0, x1, x2) if out == 1e309 or out == -1e309 else ())
                    node._local = ((_tie_share(u0_3, 0) if u0_3 else _raw_exp(x0 - out)), (_tie_share(u0_3, 1) if u0_3 else _raw_exp(x1 - out)), (_tie_share(u0_3, 2) if u0_3 else _raw_exp(x2 - out)))  # noqa: E501
                except (ArithmeticError, ValueError):
                    t0 = (x1 if x1 > x0 else x0)
                    t1 = (x2 if x2 > t0 else t0)
                    node._data = out = (t1 + _log(_fsum((_exp(x0 - t1), _exp(x1 - t1), _exp(x2 - t1)))) if t1 - t1 == 0.0 else _logsumexp((x0, x1, x2)))  # noqa: E501
                    u0_3 = ((x0, x1, x2) if out == 1e309 or out == -1e309 else ())
                    node._local = ((_tie_share(u0_3, 0) if u0_3 else _exp(x0 - out)), (_tie_share(u0_3, 1) if u0_3 else _exp(x1 - out)), (_tie_share(u0_3, 2) if u0_3 else _exp(x2 - out)))  # noqa: E501
                node._p = (v0, v1, v2)
                node._ctx = None
                node.grad = 0.0
                node._entry = _FAST_LOGSUMEXP
                node._id = next(_ids)
                if _special:
                    _record_special(node)
                return node
        elif n == 4:  # the compiled form for 4 operands, unrolled
            v0, v1, v2, v3 = values
            if (type(v0) is Value
                    and type(v1) is Value
                    and type(v2) is Value
                    and type(v3) is Value):
                x0 = v0._data
                x1 = v1._data
                x2 = v2._data
                x3 = v3._data
                node = _new(Value)
                try:  # the math function; the IEEE helper where it raises
                    t0 = (x1 if x1 > x0 else x0)
                    t1 = (x2 if x2 > t0 else t0)
                    t2 = (x3 if x3 > t1 else t1)
                    node._data = out = (t2 + _raw_log(_raw_fsum((_raw_exp(x0 - t2), _raw_exp(x1 - t2), _raw_exp(x2 - t2), _raw_exp(x3 - t2)))) if t2 - t2 == 0.0 else _logsumexp((x0, x1, x2, x3)))  # noqa: E501
                    u0_4 = ((x0, x1, x2, x3) if out == 1e309 or out == -1e309 else ())
                    node._local = ((_tie_share(u0_4, 0) if u0_4 else _raw_exp(x0 - out)), (_tie_share(u0_4, 1) if u0_4 else _raw_exp(x1 - out)), (_tie_share(u0_4, 2) if u0_4 else _raw_exp(x2 - out)), (_tie_share(u0_4, 3) if u0_4 else _raw_exp(x3 - out)))  # noqa: E501
                except (ArithmeticError, ValueError):
                    t0 = (x1 if x1 > x0 else x0)
                    t1 = (x2 if x2 > t0 else t0)
                    t2 = (x3 if x3 > t1 else t1)
                    node._data = out = (t2 + _log(_fsum((_exp(x0 - t2), _exp(x1 - t2), _exp(x2 - t2), _exp(x3 - t2)))) if t2 - t2 == 0.0 else _logsumexp((x0, x1, x2, x3)))  # noqa: E501
                    u0_4 = ((x0, x1, x2, x3) if out == 1e309 or out == -1e309 else ())
                    node._local = ((_tie_share(u0_4, 0) if u0_4 else _exp(x0 - out)), (_tie_share(u0_4, 1) if u0_4 else _exp(x1 - out)), (_tie_share(u0_4, 2) if u0_4 else _exp(x2 - out)), (_tie_share(u0_4, 3) if u0_4 else _exp(x3 - out)))  # noqa: E501
                node._p = (v0, v1, v2, v3)
                node._ctx = None
                node.grad = 0.0
                node._entry = _FAST_LOGSUMEXP
                node._id = next(_ids)
                if _special:
                    _record_special(node)
                return node
        elif n == 5:  # the compiled form for 5 operands, unrolled
            v0, v1, v2, v3, v4 = values
            if (type(v0) is Value
                    and type(v1) is Value
                    and type(v2) is Value
                    and type(v3) is Value
                    and type(v4) is Value):
                x0 = v0._data
                x1 = v1._data
                x2 = v2._data
                x3 = v3._data
                x4 = v4._data
                node = _new(Value)
                try:  # the math function; the IEEE helper where it raises
                    t0 = (x1 if x1 > x0 else x0)
                    t1 = (x2 if x2 > t0 else t0)
                    t2 = (x3 if x3 > t1 else t1)
                    t3 = (x4 if x4 > t2 else t2)
                    node._data = out = (t3 + _raw_log(_raw_fsum((_raw_exp(x0 - t3), _raw_exp(x1 - t3), _raw_exp(x2 - t3), _raw_exp(x3 - t3), _raw_exp(x4 - t3)))) if t3 - t3 == 0.0 else _logsumexp((x0, x1, x2, x3, x4)))  # noqa: E501
                    u0_5 = ((x0, x1, x2, x3, x4) if out == 1e309 or out == -1e309 else ())
                    node._local = ((_tie_share(u0_5, 0) if u0_5 else _raw_exp(x0 - out)), (_tie_share(u0_5, 1) if u0_5 else _raw_exp(x1 - out)), (_tie_share(u0_5, 2) if u0_5 else _raw_exp(x2 - out)), (_tie_share(u0_5, 3) if u0_5 else _raw_exp(x3 - out)), (_tie_share(u0_5, 4) if u0_5 else _raw_exp(x4 - out)))  # noqa: E501
                except (ArithmeticError, ValueError):
                    t0 = (x1 if x1 > x0 else x0)
                    t1 = (x2 if x2 > t0 else t0)
                    t2 = (x3 if x3 > t1 else t1)
                    t3 = (x4 if x4 > t2 else t2)
                    node._data = out = (t3 + _log(_fsum((_exp(x0 - t3), _exp(x1 - t3), _exp(x2 - t3), _exp(x3 - t3), _exp(x4 - t3)))) if t3 - t3 == 0.0 else _logsumexp((x0, x1, x2, x3, x4)))  # noqa: E501
                    u0_5 = ((x0, x1, x2, x3, x4) if out == 1e309 or out == -1e309 else ())
                    node._local = ((_tie_share(u0_5, 0) if u0_5 else _exp(x0 - out)), (_tie_share(u0_5, 1) if u0_5 else _exp(x1 - out)), (_tie_share(u0_5, 2) if u0_5 else _exp(x2 - out)), (_tie_share(u0_5, 3) if u0_5 else _exp(x3 - out)), (_tie_share(u0_5, 4) if u0_5 else _exp(x4 - out)))  # noqa: E501
                node._p = (v0, v1, v2, v3, v4)
                node._ctx = None
                node.grad = 0.0
                node._entry = _FAST_LOGSUMEXP
                node._id = next(_ids)
                if _special:
                    _record_special(node)
                return node
        if n:
            return _fast_group_logsumexp(values)  # type: ignore[arg-type]  # any other nonempty
    return _fast_group_logsumexp(_values(values, "logsumexp", least=1))


def _fast_softmax(vs: Sequence[Any]) -> list[Value] | None:
    """``exp(x - lse)`` for each x of ``vs``: op table entries ``logsumexp`` and ``softmax_out``.

    Unless ``m == _INF or m == -_INF``, the outputs are the partials of ``lse``
    (logsumexp's partial i is the same expression): the nodes take those floats.
    None for a number among ``vs`` or fewer than two: the general path.
    """
    try:
        ops = [v._data for v in vs]
    except AttributeError:
        return None
    if len(ops) < 2:
        return None
    lse = logsumexp(vs)  # (the unrolled lines of a few)
    m = lse._data
    outs: list[Value] = []
    push = outs.append
    if not (m == _INF or m == -_INF):
        for v, out in zip(vs, lse._local):
            node: Value = _new(Value)
            node._data = out
            node._local = (out, -out)
            node._p = (v, lse)
            node._ctx = None
            node.grad = 0.0
            node._entry = _FAST_SOFTMAX_OUT
            node._id = next(_ids)
            if _special:
                _record_special(node)
            push(node)
        return outs
    for v in vs:
        x = v._data
        node = _new(Value)
        try:  # the math function; the IEEE helper where it raises
            node._data = out = _raw_exp(x - m)
            node._local = (out, -out)
        except (ArithmeticError, ValueError):
            node._data = out = _exp(x - m)
            node._local = (out, -out)
        node._p = (v, lse)
        node._ctx = None
        node.grad = 0.0
        node._entry = _FAST_SOFTMAX_OUT
        node._id = next(_ids)
        if _special:
            _record_special(node)
        push(node)
    return outs


def _install_fast_paths() -> None:
    """Make the functions above the operators and methods of Value."""
    for attr, fn in {
        "__add__": _fast_add,
        "__radd__": _fast_radd,
        "__sub__": _fast_sub,
        "__rsub__": _fast_rsub,
        "__mul__": _fast_mul,
        "__rmul__": _fast_rmul,
        "__truediv__": _fast_div,
        "__rtruediv__": _fast_rdiv,
        "__pow__": _fast_pow,
        "__rpow__": _fast_rpow,
        "__neg__": _fast_neg,
        "exp": _fast_exp,
        "log": _fast_log,
        "sqrt": _fast_sqrt,
        "tanh": _fast_tanh,
        "sigmoid": _fast_sigmoid,
        "relu": _fast_relu,
    }.items():
        setattr(Value, attr, fn)


_install_fast_paths()
# --- END GENERATED ---
