"""The NumPy backend of the formula language: an op's formula as elementwise array code.

:mod:`autograd.formula_render` renders a :class:`~autograd.formula.Formula`
as float code, Value code and compile templates; this module renders the same
checked tree (:func:`autograd.formula_render.parse`) for NumPy arrays, for
:mod:`autograd.batched`:

* :func:`namespace`: the NumPy namespace rendered code runs in (each helper of
  :data:`autograd.formula.HELPERS` names its NumPy form, ``Helper.numpy``;
  the forms keep the float rules' IEEE-754 behaviour: C's ``pow``, exactly
  rounded sums);
* :func:`render`: one op for one operand count, from its formula
  (:class:`FormulaRendered`: ``where`` as a select, a group as a matrix, a
  partial of ``i`` as a matrix of partials) or, for ops without one and for
  formulas with single operands after groups or temporaries (a neuron), from
  its :class:`~autograd.ops.Codegen` templates (:class:`TemplateRendered`,
  themselves rendered from the formula); None
  when neither renders (the op's float functions then run per sample);
* :func:`kink_atoms`: the comparisons of a formula's ``where`` conditions,
  which the batched path watches (a value within rounding of one takes the
  dynamic engine's path), and whether its NumPy forward may differ from the
  float rule by rounding;
* :func:`bound`: the largest magnitude a rendered partial can take, when its
  source says (a select between constants).

NumPy is imported only when :func:`namespace` is first called.
"""

from __future__ import annotations

import ast
import builtins
import math
import operator
from collections.abc import Callable, Sequence
from functools import reduce
from typing import Any

from autograd import numerics as N
from autograd.trace import literal

__all__ = ["FormulaRendered", "Side", "TemplateRendered", "Unrenderable", "bound",
           "kink_atoms", "namespace", "render", "require_numpy", "write_into"]

_INF = float("inf")


def require_numpy(who: str = "autograd.compile(..., batch=True)") -> Any:
    """Import and return NumPy, or raise an ImportError saying what to install.

    Raises:
        ImportError: when NumPy is not installed.
    """
    try:
        import numpy
    except ImportError:
        raise ImportError(
            f"{who} runs the batch as NumPy arrays, and NumPy is not installed: "
            "pip install 'chainrule[fast]' (or pip install numpy), or call "
            "autograd.compile without batch=True"
        ) from None
    return numpy


# ---------------------------------------------------------------------------
# The NumPy namespace generated code runs in (built once, after NumPy loads).

_NS: dict[str, Any] = {}


np: Any = None  # NumPy, once namespace() has imported it
_ERF: Any = None  # math.erf over arrays


def where(c: Any, a: Any, b: Any) -> Any:
    return np.where(c, a, b)


_CONST: dict[tuple[float, Any], Any] = {}


def _filled(v: float, shape: Any) -> Any:
    """A read-only array of ``v`` (``0.0`` or ``1.0``) shaped ``shape``, kept per shape
    (at most 16 are kept: batch sizes come and go)."""
    key = (v, shape)
    o = _CONST.get(key)
    if o is None:
        if len(_CONST) >= 16:
            _CONST.clear()
        o = np.zeros(shape) if v == 0.0 else np.full(shape, v)
        o.flags.writeable = False
        _CONST[key] = o
    return o


def zeros_in(out: Any, *shape: int) -> Any:
    """``out`` (a work array) filled with zeros, or new zeros of ``shape`` if it is None."""
    if out is None:
        return np.zeros(shape)
    out.fill(0.0)
    return out


def colsum(m: Any) -> Any:
    """The column sums of a matrix as ``ones(rows) @ m``: one BLAS call, a few times
    faster than ``m.sum(0)``."""
    return _filled(1.0, m.shape[0]) @ m


def fmask(c: Any, out: Any = None) -> Any:
    """``where(c, 1.0, 0.0)``, bit for bit: the compare cast to float (into ``out``, an
    array of its shape, if given)."""
    if out is None:
        return np.asarray(c, dtype=np.float64)
    np.copyto(out, c)
    return out


def relu0(x: Any, out: Any = None) -> Any:
    """``where(x <= 0.0, 0.0, x)``, bit for bit (into ``out``, an array of its shape, if
    given): ``maximum`` keeps nan, ``+ 0.0`` makes its ``-0.0`` (from ``x = -0.0``) the
    select's ``0.0``. On a large ``x`` the zeros are an array of its shape: NumPy's
    ``maximum`` against a scalar runs twice as long."""
    big = getattr(x, "size", 0) >= 4096
    r = np.maximum(x, _filled(0.0, x.shape) if big else 0.0, out=out)
    r += 0.0
    return r


#: Helpers of the namespace (besides its ufuncs) that take ``out=``: see :func:`write_into`.
_OUT_HELPERS = frozenset({"_relu0", "_fmask"})


def write_into(src: str, into: Callable[[], str]) -> str | None:
    """``src``, a rendered expression, writing its result into a work array.

    When ``src`` is one call of a float ufunc of :func:`namespace` (``_nx_tanh``,
    ``_nx_exp``...; not a comparison or a logical one) or of a helper taking
    ``out`` (``_relu0``, ``_fmask``),
    returns that call with ``out=into()`` (``into`` names an array of the
    result's shape, reserved only then); else None. The values are the
    call's own: only where they are stored changes.
    """
    try:
        tree = ast.parse(src, mode="eval").body
    except SyntaxError:
        return None
    if not (isinstance(tree, ast.Call) and isinstance(tree.func, ast.Name)
            and not tree.keywords and not any(isinstance(a, ast.Starred) for a in tree.args)):
        return None
    fn = _NS.get(tree.func.id)
    if tree.func.id not in _OUT_HELPERS and not (  # a ufunc giving floats for floats
            isinstance(fn, np.ufunc) and fn.nout == 1 and len(tree.args) == fn.nin
            and "d" * fn.nin + "->d" in fn.types):
        return None
    tree.keywords.append(ast.keyword("out", ast.parse(into(), mode="eval").body))
    return ast.unparse(tree)


def _const(t: ast.AST, v: float) -> bool:
    return (isinstance(t, ast.Constant) and isinstance(t.value, (int, float))
            and not isinstance(t.value, bool)
            and t.value == v and math.copysign(1.0, t.value) == 1.0)


def _select(t: ast.expr, a: ast.expr, b: ast.expr) -> tuple[str, list[ast.expr]]:
    """The helper and operands for ``where(t, a, b)``: a 0/1 mask as ``_fmask(t)``,
    relu's ``where(x <= 0.0, 0.0, x)`` as ``_relu0(x)`` (same bits, fewer passes)."""
    if _const(a, 1.0) and _const(b, 0.0):
        return "_fmask", [t]
    if (_const(a, 0.0) and isinstance(t, ast.Compare) and len(t.ops) == 1
            and isinstance(t.ops[0], ast.LtE) and _const(t.comparators[0], 0.0)
            and ast.dump(t.left) == ast.dump(b)):
        return "_relu0", [b]
    return "_where", [t, a, b]


def sigmoid(x: Any) -> Any:
    e = np.exp(-np.abs(x))
    return np.where(x >= 0.0, 1.0 / (1.0 + e), e / (1.0 + e))


def softplus(x: Any) -> Any:
    return np.where(x > 0.0, x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def erf(x: Any) -> Any:
    return np.asarray(_ERF(x), dtype=np.float64)


def npow(a: Any, b: Any) -> Any:
    # C's pow, as the op's float rule; NumPy computes ``x ** 0.5`` as sqrt(x), which
    # gives -0.0 at -0.0 and nan at -inf where pow gives 0.0 and inf
    r = np.power(a, b)
    if np.ndim(b) == 0 and b != 0.5:
        return r
    half = b == 0.5
    return np.where(half & (a == 0.0), 0.0, np.where(half & (a == -_INF), _INF, r))


def nsum(xs: Any) -> Any:  # the builtin sum: 0.0 + x0 + x1 + ... left to right
    total: Any = 0.0
    for x in xs:
        total = total + x
    return total


def nfsum(xs: Any) -> Any:  # math.fsum of one value per sample each
    cols = list(xs)
    if not cols:
        return 0.0
    shape = np.broadcast_shapes(*(np.shape(c) for c in cols))
    if not shape:
        return N.fsum([float(c) for c in cols])
    return g_fsum(np.stack([np.broadcast_to(c, shape) for c in cols], axis=-1))


def nsumprod(xs: Any, ys: Any) -> Any:  # the builtin sum of the products, left to right
    return nsum(x * y for x, y in zip(xs, ys))


def pmax(a: Any, b: Any) -> Any:  # Python's max(a, b): the first unless b is larger
    return np.where(b > a, b, a)


def pmin(a: Any, b: Any) -> Any:
    return np.where(b < a, b, a)


def stack(n_rows: int, *cols: Any) -> Any:
    out = np.empty((n_rows, len(cols)))
    for j, c in enumerate(cols):
        out[:, j] = c
    return out


def outer_sum(g: Any, d: Any) -> Any:
    # sum_i g_i * d_j over the samples i, for a shared node's many parameters
    if np.isfinite(d).all():
        return g.sum() * d
    return (g[:, None] * d[None, :]).sum(0)


def g_fsum(m: Any) -> Any:
    """``math.fsum`` along the last axis, exactly rounded as the op's float rule.

    A cascaded sum with error-free transformations (TwoSum) carries each
    rounding error; where the result with its carried error is provably the
    exactly rounded sum it is kept, the other rows (cancellation, specials,
    overflow) are summed by ``numerics.fsum`` one by one.
    """
    m = np.asarray(m, dtype=np.float64)
    k = m.shape[-1]
    if k == 0:
        return np.zeros(m.shape[:-1])
    if m.ndim == 1:
        return N.fsum(m.tolist())
    rows_n = m.size // k
    if rows_n * (0.4 + 0.015 * k) < k * 8.0 * (1.0 + 0.002 * rows_n):  # µs: rows cheaper
        fs = N.fsum
        return np.array([fs(r) for r in m.reshape(-1, k).tolist()],
                        dtype=np.float64).reshape(m.shape[:-1])
    s = 0.0 + m[..., 0]  # fsum([-0.0]) is 0.0
    c = np.zeros_like(s)
    ca = np.zeros_like(s)
    for j in range(1, k):
        x = m[..., j]
        t = s + x
        bp = t - s
        e = (s - (t - bp)) + (x - bp)
        c = c + e
        ca = ca + np.abs(e)
        s = t
    r = s + c
    bp = r - s
    t2 = (s - (r - bp)) + (c - bp)
    # r is the exactly rounded sum when the sum, r + t2 + (the error of c), lies strictly
    # inside r's rounding interval: half the gap to its neighbours, the smaller one (the
    # gap below a power of two is half the one above)
    ar = np.abs(r)
    gap = np.minimum(np.spacing(ar), ar - np.nextafter(ar, 0.0))
    ok = np.abs(t2) + k * 2.3e-16 * ca < 0.5 * gap
    ok &= np.isfinite(r) & np.isfinite(ca)
    if not ok.all():
        r = np.array(r, dtype=np.float64)
        flat_r = r.reshape(-1)
        rows = m.reshape(-1, k)
        for i in np.flatnonzero(~ok.reshape(-1)).tolist():
            flat_r[i] = N.fsum(rows[i].tolist())
    return r


def g_sumprod(a: Any, b: Any) -> Any:
    return g_fsum(a * b)


def g_max_of(m: Any) -> Any:
    # Python's max: the first element if it is nan (nothing compares above it), else the
    # largest of the others, passing nans over
    return np.where(np.isnan(m[..., 0]), np.nan, np.fmax.reduce(m, axis=-1))


def g_logsumexp(m: Any) -> Any:
    mx = np.max(m, axis=-1)
    fin = np.isfinite(mx)
    base = np.where(fin, mx, 0.0)
    r = base + np.log(g_fsum(np.exp(m - base[..., None])))
    return np.where(fin, r, np.where(np.isnan(m).any(axis=-1), np.nan, mx))


def g_tie_share(m: Any) -> Any:
    tops = (m == np.max(m, axis=-1, keepdims=True)).astype(np.float64)
    return tops / np.sum(tops, axis=-1, keepdims=True)


def amax(x: Any, scr: Any = None) -> float:
    """The largest finite magnitude in ``x`` (0 for none); ``scr``, if given, is a float64
    work array of at least ``x.size`` elements (C order) for ``|x|``."""
    if type(x) is float:
        v = abs(x)
        return v if v - v == 0.0 else 0.0
    a = np.abs(x) if scr is None else np.abs(x, out=_part(scr, x.shape))
    if not a.size:
        return 0.0
    m = float(a.max())
    if m - m == 0.0:  # finite
        return m
    a = a[np.isfinite(a)]
    return float(a.max()) if a.size else 0.0


def _part(scr: Any, shape: tuple[int, ...]) -> Any:
    """The first elements of the work array ``scr``, as an array of ``shape``."""
    return scr.reshape(-1)[:math.prod(shape)].reshape(shape)


def fix_affine(Z: Any, X: Any, W: Any, b: Any, exact: Any, ein: float,
               nr: Any, pm: float, scr: Any = None) -> float:
    """Make ``Z = X @ W (+ b)`` take the op's side of 0; return its error bounds.

    A matrix product sums in another order (and with FMA) than the op's own
    forward, so an entry may differ from it by up to ``(n + 2) u`` of its
    terms' magnitude, plus what the inputs' own error ``ein`` (a bound on
    how far ``X`` may be from the dynamic engine's values) moves it. With
    exact inputs, the entries within that bound of 0 (a kink; a zero's
    sign) are recomputed as the op computes them; with inexact inputs
    their samples are marked in ``nr`` (the dynamic engine's own path takes
    them), so that afterwards every entry's side of 0 is the dynamic
    engine's. ``pm`` bounds every parameter's magnitude; ``scr``, if given, is a
    float64 work array (C order) as large as ``X`` and as ``Z``. Returns the bound on
    ``|Z - Z_dynamic|``.
    """
    if not Z.size:
        return 0.0
    n = X.shape[1]
    gam = (n + 2) * 2.3e-16
    colw = n * pm  # bounds each column's sum of |w|
    ez = gam * (amax(X, scr) * colw + pm) + ein * colw
    az = np.abs(Z) if scr is None else np.abs(Z, out=_part(scr, Z.shape))
    if float(az.min()) > ez:  # nothing within reach of 0 (nan compares False)
        return ez
    aw = np.abs(W)
    colw = amax(aw.sum(0))
    T = np.abs(X) @ aw
    if b is not None:
        T = T + np.abs(b)
    bad = ~(np.abs(Z) > gam * T + ein * colw)  # near 0, zeros, and non-finite terms
    if not bad.any():
        return ez
    if ein or exact is None:
        nr |= bad.any(axis=1)
        return ez
    memo: dict[Any, float] = {}
    for r, c in zip(*np.nonzero(bad)):
        key = (X[r].tobytes(), int(c)) if T[r, c] == 0.0 else None
        if key is not None and key in memo:
            Z[r, c] = memo[key]
            continue
        z = exact(X[r].tolist(), W[:, c].tolist(), None if b is None else float(b[c]))
        Z[r, c] = z
        if key is not None:
            memo[key] = z
    return ez


def eprop(out: Any, own: float, *pairs: Any) -> float:
    """A bound on ``|out - out_dynamic|`` from its operands' bounds (first order)."""
    e = own * amax(out) if own else 0.0
    for k in range(0, len(pairs), 2):
        eo = pairs[k + 1]
        if eo:
            d = pairs[k]
            e += (abs(d) if type(d) is float else amax(d)) * eo
    return e if e == e else _INF


def near(nr: Any, L: Any, R: Any, e: float) -> None:
    """Mark the samples whose ``L`` and ``R`` are within ``e``: a comparison there
    may fall on another side than in the dynamic engine."""
    if not e:
        return
    d = np.abs(L if type(R) is float and R == 0.0 else np.subtract(L, R))
    if np.ndim(d) and d.size and float(d.min()) > e:  # nan compares False: go on
        return
    m = ~(d > e)
    if np.ndim(m) == 2:
        m = m.any(axis=1)
    if np.ndim(m) == 0:
        if m:
            nr[:] = True
        return
    nr |= m


def cols(n_rows: int, n_cols: int, x: Any) -> Any:
    return np.broadcast_to(x, (n_rows, n_cols))


def logic_and(*xs: Any) -> Any:
    return reduce(np.logical_and, xs)


def logic_or(*xs: Any) -> Any:
    return reduce(np.logical_or, xs)


def namespace() -> dict[str, Any]:
    """The names rendered NumPy code reads (built once, when NumPy is first needed)."""
    global np, _ERF
    if _NS:
        return _NS
    np = require_numpy()
    _ERF = np.frompyfunc(math.erf, 1, 1)
    _NS.update({
        "_np": np, "_where": where, "_fmask": fmask, "_relu0": relu0, "_colsum": colsum,
        "_zeros_in": zeros_in,
        "_and": logic_and, "_or": logic_or,
        "_not": np.logical_not, "_nan": float("nan"), "_inf": _INF,
        "_stack": stack, "_outer_sum": outer_sum, "_zeros": np.zeros, "_full": np.full,
        "_add_at": np.add.at,
        "_nx_div": np.divide, "_nx_pow": npow, "_nx_exp": np.exp, "_nx_log": np.log,
        "_nx_sqrt": np.sqrt, "_nx_tanh": np.tanh, "_nx_sigmoid": sigmoid,
        "_nx_softplus": softplus, "_nx_sin": np.sin, "_nx_cos": np.cos, "_nx_erf": erf,
        "_nx_abs": np.abs, "_nx_sum": nsum, "_nx_sumprod_builtin": nsumprod, "_nx_fsum": nfsum,
        "_nx_max": pmax, "_nx_min": pmin,
        "_gx_fsum": g_fsum,
        "_gx_sumprod": g_sumprod, "_gx_logsumexp": g_logsumexp, "_gx_max_of": g_max_of,
        "_gx_tie_share": g_tie_share,
        "_cols": cols, "_fix_affine": fix_affine, "_eprop": eprop, "_near": near,
        "_amax": amax, "_fin": lambda e: e if e == e else _INF,
        "_emax": max,
    })
    return _NS


# The float helpers the op table's templates call, and their NumPy names.
def _float_to_numpy() -> dict[int, str]:
    """The NumPy form of each float function a Codegen template may call, by identity:
    the helpers' own (``Helper.numpy``), and the sums and selects of templates."""
    from autograd.formula import HELPERS

    out = {id(h.float_fn): h.numpy for h in HELPERS.values() if not h.group}
    out[id(HELPERS["sumprod_builtin"].float_fn)] = "_nx_sumprod_builtin"  # on column tuples
    out.update({id(N.fsum): "_nx_fsum", id(math.fsum): "_nx_fsum",
                id(builtins.sum): "_nx_sum", id(builtins.max): "_nx_max",
                id(builtins.min): "_nx_min", id(abs): "_nx_abs"})
    return out


_FLOAT_TO_NUMPY = _float_to_numpy()


_NP_INEXACT = frozenset({"_nx_pow", "_nx_exp", "_nx_log", "_nx_tanh", "_nx_sigmoid",
                         "_nx_softplus", "_nx_sin", "_nx_cos"})


class Unrenderable(Exception):
    """An op's definition uses something with no NumPy form: use its float functions."""


class _ToNumpy(ast.NodeTransformer):
    """Rewrite a scalar Python expression into branchless elementwise NumPy code."""

    def __init__(self, rename: dict[str, str]) -> None:
        self.rename = {"abs": "_nx_abs", "max": "_nx_max", "min": "_nx_min", **rename}

    def visit_Name(self, node: ast.Name) -> ast.AST:
        new = self.rename.get(node.id)
        return ast.copy_location(ast.Name(new, ast.Load()), node) if new else node

    def _call(self, name: str, args: list[ast.expr], like: ast.AST) -> ast.AST:
        return ast.copy_location(ast.Call(ast.Name(name, ast.Load()), args, []), like)

    def visit_IfExp(self, node: ast.IfExp) -> ast.AST:
        self.generic_visit(node)
        name, args = _select(node.test, node.body, node.orelse)
        return self._call(name, args, node)

    def visit_BoolOp(self, node: ast.BoolOp) -> ast.AST:
        self.generic_visit(node)
        return self._call("_and" if isinstance(node.op, ast.And) else "_or", node.values, node)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.op, ast.Not):
            return self._call("_not", [node.operand], node)
        return node

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        self.generic_visit(node)
        if len(node.ops) == 1:
            return node
        parts: list[ast.expr] = []
        left = node.left
        for op, right in zip(node.ops, node.comparators):
            parts.append(ast.Compare(left, [op], [right]))
            left = right
        return self._call("_and", parts, node)

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        if (not isinstance(node.func, ast.Name) or node.keywords
                or not node.func.id.startswith("_nx_")):
            raise Unrenderable("call")
        return node


def _to_numpy(src: str, rename: dict[str, str]) -> str:
    tree = ast.parse(src, mode="eval")
    new = _ToNumpy(rename).visit(tree)
    ast.fix_missing_locations(new)
    return ast.unparse(new)


def _into(src: str, into: Callable[[], str] | None) -> str:
    """``src`` writing into a work array where it can (:func:`write_into`), else itself."""
    return (into and write_into(src, into)) or src


class TemplateRendered:
    """One op, rendered for NumPy for one operand count."""

    def __init__(self, op: Any, n: int) -> None:
        cg = op.codegen
        if cg is None:
            raise Unrenderable(op.name)
        rename: dict[str, str] = {}
        for key, val in cg.names.items():
            if type(val) is float:  # a constant of the formula (gelu's SQRT1_2)
                rename[key] = literal(val)
                continue
            target = _FLOAT_TO_NUMPY.get(id(val))
            if target is None:
                raise Unrenderable(f"{op.name}: {key}")
            rename[key] = target
        self.rename = rename
        self.temps = cg.temp_templates(n)
        self.fwd = cg.forward_template(n)
        self.after = cg.after_templates(n)
        self.local = cg.local_templates(n)
        self.npar = n - op.params
        self.atoms: list[Any] = []  # its comparisons are not known: not watched
        self.inexact = any(target in _NP_INEXACT for target in rename.values())
        # check that every template is an expression we can rewrite
        for t in (*self.temps, self.fwd, *self.after, *self.local):
            probe = t.format(*[f"o{i}" for i in range(n)],
                             **{f"t{k}": f"t{k}" for k in range(len(self.temps))},
                             **{f"u{k}": f"u{k}" for k in range(len(self.after))}, out="out")
            _to_numpy(probe, rename)

    def np(self, template: str, args: Sequence[str], kw: dict[str, str]) -> str:
        return _to_numpy(template.format(*args, **kw), self.rename)

    def emit(self, m: str, args: Sequence[str], out: str, need: bool,
             emit: Callable[[str], None], glob: dict[str, Any],
             into: Callable[[], str] | None = None) -> list[str]:
        """Emit the forward (``out = ...``, into a work array named by ``into()`` where
        :func:`write_into` can); return each non-parameter operand's partial."""
        kw: dict[str, str] = {}
        for k, t in enumerate(self.temps):
            emit(f"    t{m}_{k} = {self.np(t, args, kw)}")
            kw[f"t{k}"] = f"t{m}_{k}"
        emit(f"    {out} = {_into(self.np(self.fwd, args, kw), into)}")
        kw["out"] = out
        if not need:
            return []
        for k, t in enumerate(self.after):
            emit(f"    u{m}_{k} = {self.np(t, args, kw)}")
            kw[f"u{k}"] = f"u{m}_{k}"
        return [self.np(t, args, kw) for t in self.local[:self.npar]]


# -- from the op's formula (autograd.formula): the one written form of its
# forward and partials, rendered here as NumPy.


def _helper_numpy() -> dict[str, str]:
    from autograd.formula import HELPERS

    return {name: h.numpy for name, h in HELPERS.items()}


_HELPER_NP = _helper_numpy()  # each helper's NumPy form (Helper.numpy)


_INDEX_OPS: dict[type, Callable[[int, int], int]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
}


def _index(node: ast.AST, i: int, n: int) -> int:
    """Evaluate a formula's index expression (integers, ``i``, ``n``, + - * // %)."""
    if isinstance(node, ast.Name) and node.id in ("i", "n"):
        return i if node.id == "i" else n
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _INDEX_OPS:
        return _INDEX_OPS[type(node.op)](_index(node.left, i, n), _index(node.right, i, n))
    raise Unrenderable("index")


class _FormulaToNumpy(_ToNumpy):
    """A checked formula tree (``autograd.formula.parse``) to NumPy source.

    ``subst`` maps operand (or group) names, ``out``, ``n`` and ``i`` to
    source text; the constants become literals; the helpers their NumPy
    forms; ``g[index]`` of a group whose index is ``i`` becomes the whole
    group matrix (one column per element), another index a column selection.
    The names of ``rows`` (temporaries: one value per row) are read as a column
    inside a group helper's arguments (``m`` in ``fsum(exp(xs[i] - m))``).
    """

    def __init__(self, subst: dict[str, str], groups: dict[str, int],
                 constants: dict[str, float], glob: dict[str, Any], col: bool = False,
                 rows: frozenset[str] = frozenset()) -> None:
        super().__init__({})
        self.col = col  # a group's reduction as a column (beside a matrix of partials)
        self.rows = rows
        self.in_group = 0  # how deep inside a group helper's arguments
        self.subst = subst
        self.groups = groups
        self.constants = constants
        self.glob = glob
        self.uses_i = False
        self.reindexed = False  # a group indexed other than by i (xs[n - 1 - i])

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id == "i":
            self.uses_i = True
        if node.id in self.rows and self.in_group:
            return ast.parse(f"({self.subst[node.id]})[:, None]", mode="eval").body
        if node.id in self.subst:
            return ast.parse(self.subst[node.id], mode="eval").body
        if node.id in self.constants:
            return ast.parse(literal(self.constants[node.id]), mode="eval").body
        raise Unrenderable(node.id)

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        if not isinstance(node.value, ast.Name) or node.value.id not in self.groups:
            raise Unrenderable("subscript")
        self.uses_i = True
        g = node.value.id
        size = self.groups[g]
        idx = [_index(node.slice, k, size) for k in range(size)]
        base = ast.parse(self.subst[g], mode="eval").body
        if idx == list(range(size)):
            return base
        self.reindexed = True
        key = f"_ix{len(self.glob)}"
        self.glob[key] = idx
        return ast.parse(f"({ast.unparse(base)})[..., {key}]", mode="eval").body

    def visit_Call(self, node: ast.Call) -> ast.AST:
        if not isinstance(node.func, ast.Name) or node.func.id not in _HELPER_NP:
            raise Unrenderable("call")
        name = node.func.id
        from autograd.formula import HELPERS

        group = HELPERS[name].group
        self.in_group += group
        if name == "tie_share":
            self.uses_i = True
            node.args = [self.visit(node.args[0])]  # the index is i: the whole matrix
        else:
            node.args = [self.visit(a) for a in node.args]
        self.in_group -= group
        node.func = ast.Name(_HELPER_NP[name], ast.Load())
        if _HELPER_NP[name] == "_where" and len(node.args) == 3:
            sel, sargs = _select(*node.args)
            node.func, node.args = ast.Name(sel, ast.Load()), sargs

        if self.col and HELPERS[name].group and name != "tie_share":
            return ast.Subscript(node, ast.Tuple([ast.Constant(...), ast.Constant(None)],
                                                 ast.Load()), ast.Load())
        return node


class FormulaRendered:
    """One op rendered for NumPy from its formula (``op.rule``), for one operand count."""

    def __init__(self, op: Any, n: int) -> None:
        from autograd.formula import CONSTANTS
        from autograd.formula_render import parse

        rule = op.rule
        self.op = op
        self.rule = rule
        self.parse = parse
        self.constants = dict(CONSTANTS)
        self.variadic = bool(rule.variadic)
        if (rule.singles and self.variadic) or (rule.temps and not self.variadic):
            # a neuron's x..., w..., b with z: rendered from its templates (TemplateRendered)
            raise Unrenderable(f"{op.name}: single operands, or temporaries of no group")
        names = rule.names
        if self.variadic:
            if n % len(names):
                raise Unrenderable(op.name)
            self.size = n // len(names)
        elif len(names) != n:
            raise Unrenderable(op.name)
        self.npar = n - op.params
        self.reindexed = False
        self.atoms, self.inexact = kink_atoms(rule, op.name)
        fwd_tree = parse(rule.forward, rule, what=op.name)
        # a select among its operands and constants (relu, maximum, clamp): no rounding
        self.select = (_helpers_of(fwd_tree) <= {"where", "min", "max", "abs"}
                       and not any(isinstance(t, ast.BinOp) for t in ast.walk(fwd_tree)))
        if self.variadic:  # its comparisons are of whole groups (ties): not watched
            self.atoms = []
        self.templates: tuple[str, list[str]] | None = None
        if not self.variadic:
            # render once with placeholder names into str.format templates, so that a
            # node costs a format, not a parse: {0}, {1}... the operands, {out} the output
            subst = {nm: f"__Q{k}__" for k, nm in enumerate(names)}
            fwd, _ = self._np(rule.forward, subst, {}, False)
            subst["out"] = "__OUT__"
            locs = [self._np(p, subst, {}, True)[0] for p in rule.partials]

            def fmt(t: str) -> str:
                if "{" in t or "}" in t:
                    raise Unrenderable("braces")
                t = t.replace("__OUT__", "{out}")
                for k in range(n):
                    t = t.replace(f"__Q{k}__", f"{{{k}}}")
                return t

            self.templates = (fmt(fwd), [fmt(t) for t in locs])
        else:
            # render once with placeholder names, to refuse what cannot be rendered now
            self.emit("P", [f"o{k}" for k in range(n)], "out", True, lambda line: None, {})

    def _np(self, src: str, subst: dict[str, str], glob: dict[str, Any],
            partial: bool, col: bool = False, temp: int | None = None,
            rows: frozenset[str] = frozenset()) -> tuple[str, bool]:
        if temp is None:
            tree = self.parse(src, self.rule, partial=partial, what=self.op.name)
        else:  # the source of temporary ``temp`` (it may read the ones before it)
            tree = self.parse(src, self.rule, what=self.op.name, temps=temp)
        groups = dict.fromkeys(self.rule.names, self.size) if self.variadic else {}
        tr = _FormulaToNumpy(subst, groups, self.constants, glob, col, rows)
        new = ast.fix_missing_locations(tr.visit(tree))
        self.reindexed = self.reindexed or tr.reindexed
        return ast.unparse(new), tr.uses_i

    def _temps(self, subst: dict[str, str], glob: dict[str, Any],
               emit: Callable[[str], None], prefix: str, rows: bool) -> dict[str, str]:
        """Emit the formula's temporaries (``T<k> = ...``, in order) and name each in
        ``subst``; return ``{temporary: variable}``. With ``rows``, a group is a matrix
        (one row per sample) and a temporary one value per row."""
        out: dict[str, str] = {}
        for k, (t, src) in enumerate(self.rule.temps):
            val, _ = self._np(src, subst, glob, False, temp=k,
                              rows=frozenset(out) if rows else frozenset())
            emit(f"    {prefix}{k} = {val}")
            subst[t] = out[t] = f"{prefix}{k}"
        return out

    def emit(self, m: str, args: Sequence[str], out: str, need: bool,
             emit: Callable[[str], None], glob: dict[str, Any],
             into: Callable[[], str] | None = None) -> list[str]:
        """Emit the forward (``out = ...``, into a work array named by ``into()`` where
        :func:`write_into` can); return each non-parameter operand's partial."""
        rule = self.rule
        if self.templates is not None:
            fwd_t, loc_t = self.templates
            emit(f"    {out} = {_into(fwd_t.format(*args, out=out), into)}")
            if not need:
                return []
            return [t.format(*args, out=out) for t in loc_t][:self.npar]
        size = self.size
        subst = {"n": repr(size)}
        for k, g in enumerate(rule.names):
            cols = args[k * size:(k + 1) * size]
            emit(f"    M{m}_{k} = _stack(_B, {', '.join(cols)})")
            subst[g] = f"M{m}_{k}"
        temps = self._temps(subst, glob, emit, f"T{m}_", True)  # one value per row
        fwd, _ = self._np(rule.forward, subst, glob, False, rows=frozenset(temps))
        emit(f"    {out} = {_into(fwd, into)}")
        if not need:
            return []
        subst["out"] = f"{out}[:, None]"
        subst.update({t: f"{v}[:, None]" for t, v in temps.items()})  # beside the columns
        subst["i"] = f"_ar{size}"
        if glob:
            glob[f"_ar{size}"] = glob["_np"].arange(size, dtype=float)
        locs: list[str] = []
        for k, p in enumerate(rule.partials):
            src, by_i = self._np(p, subst, glob, True, col=True)
            if by_i:
                emit(f"    Q{m}_{k} = _cols(_B, {size}, {src})")
                locs += [f"Q{m}_{k}[:, {j}]" for j in range(size)]
            else:
                sub2 = dict(subst, out=out, **temps)
                src, _ = self._np(p, sub2, glob, True)
                locs += [src] * size
        return locs


    def shared_vector(self, groups_src: Sequence[str], out: str, need: bool,
                      emit: Callable[[str], None],
                      glob: dict[str, Any]) -> list[tuple[str, bool]]:
        """Emit a shared variadic node on vectors of parameters; return its partials.

        Each group is one 1-D array (``_pa[index]``); the result is a float.
        Returns, per group, the partial's source and whether it varies with ``i``
        (a vector) or not (one number for the whole group).
        """
        size = self.size
        subst = {"n": repr(size), **dict(zip(self.rule.names, groups_src))}
        self._temps(subst, glob, emit, f"{out}_t", False)
        fwd, _ = self._np(self.rule.forward, subst, glob, False)
        emit(f"    {out} = float({fwd})")
        if not need:
            return []
        subst["out"] = out
        subst["i"] = f"_ar{size}"
        glob[f"_ar{size}"] = glob["_np"].arange(size, dtype=float)
        return [self._np(p, subst, glob, True) for p in self.rule.partials]


# NumPy forms that may differ from the float rule by a few units in the last place
# (NumPy's own exp, log, tanh...); the others (+ - * /, sqrt, abs, min, max, where,
# erf through math.erf, the exact sums) give the float rule's value bit for bit.
_INEXACT = frozenset({"exp", "log", "tanh", "sigmoid", "softplus", "sin", "cos", "pow",
                      "logsumexp"})


def _helpers_of(tree: ast.AST) -> set[str]:
    return {n.func.id for n in ast.walk(tree)
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}


Side = tuple[str, Any]  # ("x", operand index) or ("c", a number)


def kink_atoms(rule: Any, what: str) -> tuple[list[tuple[Side, Side]], bool]:
    """The comparisons in ``rule``'s ``where`` conditions, and whether its forward is inexact.

    Each comparison ``L op R`` between operands and constants is returned as
    its two sides (a comparison of an operand with itself, the nan test
    ``x != x``, is left out: rounding cannot change it; so are those of
    ``out``, ``i`` and ``n``, which follow from the operands'). Where ``L``
    and ``R`` are within their values' error of each other, the comparison
    may fall otherwise than in the dynamic engine.
    """
    from autograd.formula import CONSTANTS
    from autograd.formula_render import parse

    names = {nm: k for k, nm in enumerate(rule.names)}
    atoms: list[tuple[Side, Side]] = []
    fwd = parse(rule.forward, rule, what=what)
    inexact = bool(_helpers_of(fwd) & _INEXACT)

    def side(node: ast.AST) -> Side | None:
        if isinstance(node, ast.Name) and node.id in names:
            return ("x", names[node.id])
        if isinstance(node, ast.Name) and node.id in CONSTANTS:
            return ("c", CONSTANTS[node.id])
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return ("c", float(node.value))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            inner = side(node.operand)
            if inner is not None and inner[0] == "c":
                return ("c", -inner[1])
        return None

    trees = [fwd] + [parse(p, rule, partial=True, what=what) for p in rule.partials]
    for tree in trees:
        for node in ast.walk(tree):
            if not isinstance(node, ast.Compare):
                continue
            left = node.left
            for right in node.comparators:
                a, b = side(left), side(right)
                if a is None or b is None:
                    used = {n.id for n in (*ast.walk(left), *ast.walk(right))
                            if isinstance(n, ast.Name)}
                    if used & set(names) and not used & {"out", "i", "n"}:
                        atoms.append((("?", None), ("?", None)))  # an expression: unbounded
                elif a != b and (a[0] == "x" or b[0] == "x") and (a, b) not in atoms:
                    atoms.append((a, b))
                left = right
    return atoms, inexact


def bound(src: str, name: str | None = None) -> str:
    """``src`` (a partial), or the largest magnitude it can take when that is known
    from its source alone: a select between constants (relu's ``where(out > 0.0,
    1.0, 0.0)``: 1.0), whose nan branches the nan test itself keeps."""
    try:
        tree = ast.parse(src, mode="eval").body
    except SyntaxError:
        return name or src
    leaves: list[float] = []

    def walk(t: ast.AST) -> bool:
        if isinstance(t, ast.Call) and isinstance(t.func, ast.Name) and t.func.id == "_where":
            return walk(t.args[1]) and walk(t.args[2])
        if isinstance(t, ast.Call) and isinstance(t.func, ast.Name) and t.func.id == "_fmask":
            leaves.append(1.0)
            return True
        if isinstance(t, ast.UnaryOp) and isinstance(t.op, ast.USub):
            return walk(t.operand)
        if isinstance(t, ast.Constant) and isinstance(t.value, (int, float)):
            leaves.append(abs(float(t.value)))
            return True
        return isinstance(t, ast.Name) and t.id == "_nan"

    if walk(tree) and leaves:
        return repr(max(leaves))
    return name or src


_RENDER_CACHE: dict[tuple[int, int], Any] = {}


def render(op: Any, n: int) -> Any:
    """The op rendered for NumPy (from its formula, else its templates), or None."""
    key = (id(op), n)
    if key not in _RENDER_CACHE:
        r: Any = None
        try:
            try:
                if getattr(op, "rule", None) is None:
                    raise Unrenderable(op.name)
                r = FormulaRendered(op, n)
            except Unrenderable:
                r = TemplateRendered(op, n)  # from its templates (rendered from the formula)
        except (Unrenderable, SyntaxError, KeyError, IndexError, ValueError, TypeError,
                ImportError, AttributeError):
            r = None
        _RENDER_CACHE[key] = r
    return _RENDER_CACHE[key]
