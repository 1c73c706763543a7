"""Source generation from the op table: the derived rules and the engine's fast paths.

Two committed, generated texts come from the op table's formulas
(:mod:`autograd.ops`, :mod:`autograd.formula`); a test fails when either
drifts from what this module generates. Regenerate both with::

    python -m autograd.codegen

(which also rewrites the op table in docs/ops.md).

* :mod:`autograd._derived`: for every built-in op, the float rules, the
  Value rule for ``create_graph``, the compile templates and the README's
  texts, rendered from its one formula (so importing the table parses
  nothing).
* The end of ``autograd/engine.py``, between the ``BEGIN GENERATED`` and
  ``END GENERATED`` markers: the common operators and methods of ``Value``
  (``+ - * / **``, unary ``-``, ``exp log sqrt tanh sigmoid relu``)
  specialised for a float or a Value operand so that one node costs one
  Python call, built from the op's templates (the same ones
  :mod:`autograd.compile` emits) and installed on ``Value`` there; and the
  group ops' (``sum mean dot logsumexp``, ``_fast_group_<op>``) and softmax's
  (``_fast_softmax``: the logsumexp node and its outputs in one call) bodies,
  rendered from their float rules (for 2 to 5 Values, from the op's compiled
  form for that many operands, unrolled); and the group ops' public functions
  (``autograd.sum`` ...), with those unrolled lines inline for a list or tuple, so that
  ``sum([a, b])`` costs one Python call, as ``a + b`` does. It can be read,
  type-checked and stepped through like any other code.

Anything the fast paths do not cover (ints, NumPy scalars, non-numbers, ops
without templates) goes through the engine's general path, which also raises
the errors.
"""

from __future__ import annotations

import ast
import inspect
import pathlib
import re
import textwrap
from typing import Any

from autograd import formula as F
from autograd import formula_render as R
from autograd import numerics as N
from autograd.ops import OPS, Codegen, Op, iter_ops

__all__ = ["CACHED_LOCAL", "FAST_BINARY", "FAST_GROUP", "FAST_UNARY", "derived_source",
           "fast_paths_source", "write_all", "write_derived", "write_engine"]

#: op name -> (method for ``self op other``, method for ``other op self``)
FAST_BINARY = {
    "add": ("__add__", "__radd__"),
    "sub": ("__sub__", "__rsub__"),
    "mul": ("__mul__", "__rmul__"),
    "div": ("__truediv__", "__rtruediv__"),
    "pow": ("__pow__", "__rpow__"),
}
#: op name -> method
FAST_UNARY = {
    "neg": "__neg__",
    "exp": "exp",
    "log": "log",
    "sqrt": "sqrt",
    "tanh": "tanh",
    "sigmoid": "sigmoid",
    "relu": "relu",
}

#: the variadic ops given a fast path ``_fast_group_<name>(values)``: a list
#: of Values to one node, the float rules inlined (no ``*operands`` calls)
FAST_GROUP = ("sum", "mean", "dot", "logsumexp")

BEGIN = "# --- BEGIN GENERATED: fast paths from the op table (python -m autograd.codegen) ---\n"
INSTALL = "_install_fast_paths()\n"
END = "# --- END GENERATED ---\n"

def _made(ref: str) -> str:
    """The lines that finish ``node`` of the op ``ref`` (after its data and parents)."""
    return (f"    node.grad = 0.0\n    node._entry = {ref}\n    node._id = next(_ids)\n"
            "    if _special:\n        _record_special(node)\n")


def _tail(ref: str) -> str:
    """:func:`_made` for ``node``, then its return."""
    return _made(ref) + "    return node\n"


def _ref(name: str) -> str:
    return f"_FAST_{name.upper()}"


def _templates(op: Op) -> Codegen:
    if op.codegen is None:
        raise ValueError(f"codegen: op {op.name!r} has no Codegen templates in the table")
    return op.codegen


#: template name -> (the name of the math function it wraps, that function): the
#: fast paths compute with it and redo the lines with the helper if it raises
_RAW = {F.float_name(h): (f"_raw_{h}", R.HELPERS[h].float_fn) for h in R.HELPERS
        if R.HELPERS[h].float_fn in N.RAISING and h != "div"}
_RAW_CALL = re.compile(r"\b(" + "|".join(map(re.escape, _RAW)) + r")\(")


def _guard(indent: str, text: str) -> str:
    """``text`` (lines at ``indent``) with the math functions, the helpers on an exception."""
    raw = _RAW_CALL.sub(lambda m: _RAW[m.group(1)][0] + "(", text)
    if raw == text:
        return text
    inner = indent + "    "

    def block(src: str) -> str:
        lines = [inner + ln[len(indent):] for ln in src.splitlines()]
        return "".join(ln + ("  # noqa: E501" if len(ln) > 100 else "") + "\n"
                       for ln in lines)

    return (f"{indent}try:  # the math function; the IEEE helper where it raises\n"
            + block(raw) + f"{indent}except (ArithmeticError, ValueError):\n" + block(text))


def _store(indent: str, fwd: str, locs: list[str]) -> str:
    return _guard(indent, _store_lines(indent, fwd, locs))


def _store_lines(indent: str, fwd: str, locs: list[str]) -> str:
    """Lines computing ``node._data`` and ``node._local`` (``out`` only if a partial uses it)."""
    uses_out = any("{out}" in t for t in locs)
    lines = [f"node._data = out = {fwd}" if uses_out else f"node._data = {fwd}"]
    partials = [t.format(out="out") for t in locs]
    inline = f"node._local = ({', '.join(partials)})"
    if len(partials) == 1 and len(indent) + len(partials[0]) <= 86:
        lines.append(f"node._local = {partials[0]}")  # one parent: stored bare
    elif len(partials) == 1:
        lines += [f"d0 = {partials[0]}", "node._local = d0"]
    elif len(indent) + len(inline) <= 100:
        lines.append(inline)
    else:
        lines += [f"d{i} = {p}" for i, p in enumerate(partials)]
        lines.append(f"node._local = ({', '.join(f'd{i}' for i in range(len(partials)))})")
    return "".join(f"{indent}{line}\n" for line in lines)


def _unary(name: str, op: Op) -> str:
    cg = _templates(op)
    fwd = cg.forward_template(1).format("x")
    loc = cg.local_templates(1)[0].format("x", out="{out}")
    return (
        f"def _fast_{name}(self: Value) -> Value:\n"
        f'    """``{op.formula}``: op table entry ``{name}``."""\n'
        f"    x = self._data\n"
        f"    node: Value = _new(Value)\n"
        + _store("    ", fwd, [loc])
        + "    node._p = self\n"
        "    node._ctx = None\n" + _tail(_ref(name))
    )


def _left(name: str, op: Op) -> str:
    cg = _templates(op)
    fwd = cg.forward_template(2)
    l0, l1 = cg.local_templates(2)
    return (
        f"def _fast_{name}(self: Value, other: Any) -> Value:\n"
        f'    """``self {op.symbol} other``: op table entry ``{name}``."""\n'
        "    if type(other) is float:\n"
        "        x = self._data\n"
        "        node: Value = _new(Value)\n"
        + _store("        ", fwd.format("x", "other"), [l0.format("x", "other", out="{out}")])
        + "        node._p = self\n"
        "        node._ctx = other\n"
        "    elif type(other) is Value:\n"
        "        x = self._data\n"
        "        y = other._data\n"
        "        node = _new(Value)\n"
        + _store("        ", fwd.format("x", "y"),
                 [t.format("x", "y", out="{out}") for t in (l0, l1)])
        + "        node._p = (self, other)\n"
        "        node._ctx = None\n"
        "    else:\n"
        f"        return _binary({_ref(name)}, self, other)\n" + _tail(_ref(name))
    )


def _right(name: str, op: Op) -> str:
    cg = _templates(op)
    fwd = cg.forward_template(2)
    l1 = cg.local_templates(2)[1]
    return (
        f"def _fast_r{name}(self: Value, other: Any) -> Value:\n"
        f'    """``other {op.symbol} self``: op table entry ``{name}``."""\n'
        "    if type(other) is not float:\n"
        f"        return _binary({_ref(name)}, other, self)\n"
        "    y = self._data\n"
        "    node: Value = _new(Value)\n"
        + _store("    ", fwd.format("other", "y"), [l1.format("other", "y", out="{out}")])
        + "    node._p = self\n"
        "    node._ctx = (other, self)\n" + _tail(_ref(name))
    )


def _body(src: str) -> list[str]:
    """The lines of a rendered ``def`` after its signature, ``return X`` last."""
    return src.splitlines()[1:]


#: the largest operand count whose constant partials are cached (one tuple shared
#: by every node of that size; larger groups make their own)
CACHED_LOCAL = 64


def _constant_partials(rule: F.Formula) -> bool:
    """Whether every partial of a one-group formula reads nothing but ``n`` and constants
    (``1.0``, ``1.0 / n``): then the partials tuple depends on the operand count only."""
    if len(rule.groups) != 1 or rule.singles or rule.temps:
        return False
    allowed = {"n", *F.CONSTANTS}
    for src in rule.partials:
        tree = R.parse(src, rule, partial=True)
        if not {nd.id for nd in ast.walk(tree) if isinstance(nd, ast.Name)} <= allowed:
            return False
    return True


def _group_body(name: str, op: Op) -> tuple[str, str, list[str]]:
    """A group op's ``node`` from ``ops``, its operands' data: (a cache declaration or "",
    the expression of ``ops`` from ``vs``, the lines setting ``node._data``/``node._local``).

    A partials tuple that depends only on the operand count (``sum``, ``mean``) is
    made once per count (up to :data:`CACHED_LOCAL`) and shared by the nodes.
    """
    if op.rule is None or not op.rule.variadic:
        raise ValueError(f"codegen: op {name!r} in FAST_GROUP is not a variadic formula")
    fwd, loc = (_body(src) for src in R.float_source(name, op.rule))
    store = "    node._data = out = " if re.search(r"\bout\b", loc[-1]) else "    node._data = "
    lines = [*fwd[:-1], fwd[-1].replace("    return ", store, 1)]
    lines += [ln for ln in loc[:-1] if ln not in fwd]  # the groups are split once
    ret = loc[-1].replace("    return ", "", 1)
    cached = _constant_partials(op.rule)
    if not cached:
        lines.append(f"    node._local = {ret}")
    body = _guard("    ", "".join(f"{ln}\n" for ln in lines))
    lines = [ln if len(ln) <= 100 or ln.endswith("# noqa: E501") else f"{ln}  # noqa: E501"
             for ln in body.splitlines()]
    # the operands' data as a list, unless the partials are made from its slices
    # (dot's ``ys + xs``): then a tuple, the node's partials as they are
    data = ("[v._data for v in vs]" if cached or ret.startswith(("(", "tuple("))
            else "tuple([v._data for v in vs])")
    decl = ""
    if cached:  # after the guard: its lines only read n
        cache = f"_LOCAL_{name.upper()}"
        decl = f"{cache}: dict[int, tuple[float, ...]] = {{}}\n\n\n"
        lines += [f"    local = {cache}.get(n)",
                  "    if local is None:",
                  f"        local = {ret}",
                  f"        if n <= {CACHED_LOCAL}:",
                  f"            {cache}[n] = local",
                  "    node._local = local"]
    return decl, data, lines


def _doc(text: str) -> str:
    """A generated function's docstring of ``text``, wrapped to the line limit."""
    if len(text) <= 90:
        return f'    """{text}"""\n'
    lines = textwrap.wrap(text, 92, break_long_words=False, break_on_hyphens=False)
    return '    """' + "\n    ".join(lines) + '\n    """\n'


#: the operand counts whose group nodes take unrolled lines (see :func:`_unrolled`)
UNROLLED = (2, 3, 4, 5)


def _unrolled(name: str, op: Op) -> str:
    """The branches of a group op's public function for a few Values (:data:`UNROLLED`;
    dot's pairs: even counts): the op's compiled form for that many operands
    (:func:`autograd.formula_render.templates`; the same floats, which the compile
    tests hold to the dynamic engine's), unrolled: no list, no ``fsum`` of two terms,
    over the function's list or tuple arguments (``values``; dot's ``xs, ys``)."""
    tpl = R.templates(op.rule, compiled=True)  # type: ignore[arg-type]
    sizes = [n for n in UNROLLED if n % len(op.rule.groups) == 0]  # type: ignore[union-attr]
    return textwrap.indent("".join(_unrolled_size(name, tpl, n, "if" if k == 0 else "elif")
                                   for k, n in enumerate(sizes)), "    ")


def _unrolled_size(name: str, tpl: tuple[Any, ...], n: int, kw: str) -> str:
    """One branch of :func:`_unrolled`: ``n`` operands, the templates ``tpl``."""
    forward, local, after, temps = tpl
    xs = [f"x{k}" for k in range(n)]
    vs = [f"v{k}" for k in range(n)]
    env = {"out": "out", **{f"t{k}": f"t{k}" for k in range(len(temps(n)))},
           **{f"u{k}": f"u{k}_{n}" for k in range(len(after(n)))}}  # (a tuple of n: a name each n)
    locs = [t.format(*xs, **env) for t in local(n)]
    lines = [f"t{k} = {t.format(*xs, **env)}" for k, t in enumerate(temps(n))]
    uses_out = bool(after(n)) or any(re.search(r"\bout\b", t) for t in locs)
    lines.append(f"node._data = {'out = ' if uses_out else ''}{forward(n).format(*xs, **env)}")
    lines += [f"u{k}_{n} = {t.format(*xs, **env)}" for k, t in enumerate(after(n))]
    lines.append(f"node._local = ({', '.join(locs)})")
    body = _guard("            ", "".join(f"            {ln}\n" for ln in lines))
    checks = "\n                and ".join(f"type({v}) is Value" for v in vs)
    names = ", ".join(vs)
    head = f"    {kw} n == {n}:  # the compiled form for {n} operands, unrolled\n" \
           f"        {names} = values\n"
    if name == "dot":  # xs then ys, the node's parents; n counts pairs, ys may be longer
        h, one = n // 2, "," * (n == 2)  # ((v0,), (v1,): a 1-tuple's comma)
        unpack = f"({', '.join(vs[:h])}{one}), ({', '.join(vs[h:])}{one}) = xs, ys"
        head = (f"    {kw} n == {n // 2}:  # the compiled form for {n} operands, unrolled\n"
                f"        try:\n            {unpack}\n        except ValueError:  # ys of another "
                "length: the general path's error\n"
                "            return _fast_group_dot(_pairs(xs, ys))\n")
    return (
        head
        + f"        if ({checks}):\n"
        + "".join(f"            {x} = {v}._data\n" for x, v in zip(xs, vs))
        + ("            node: Value = _new(Value)\n" if kw == "if" else
           "            node = _new(Value)\n")
        + body
        + f"            node._p = ({names})\n"
        "            node._ctx = None\n"
        + "".join(f"        {ln}\n" for ln in _tail(_ref(name)).splitlines())
    )


#: the group ops' public functions: name -> (signature, docstring, the fewest values it
#: takes); each is generated with :func:`_unrolled`'s lines for a list or tuple of a few
#: Values inline, one Python call as an operator's (``sum`` of two at one ``+``'s cost)
PUBLIC: dict[str, tuple[str, str, int]] = {
    "sum": (
        "values: Iterable[Value | Number]) -> Value:  # noqa: A001 - as torch.sum",
        """Sum values as one node with n parents (numbers are folded in).

        Args:
            values: Values or real numbers; an empty iterable sums to 0.

        Returns:
            The sum, a Value.

        Raises:
            TypeError: if ``values`` is not an iterable, or holds a non-number.
        """,
        0),
    "mean": (
        "values: Iterable[Value | Number]) -> Value:",
        """Mean of values as one node with n parents.

        Args:
            values: Values or real numbers, at least one.

        Returns:
            The mean, a Value.

        Raises:
            ValueError: if ``values`` is empty.
            TypeError: if ``values`` is not an iterable, or holds a non-number.
        """,
        1),
    "dot": (
        "xs: Sequence[Value | Number], ys: Sequence[Value | Number]) -> Value:",
        """Dot product ``sum(x * y)`` as one node.

        The node's parents are the Values of ``xs`` then those of ``ys``.

        Args:
            xs, ys: Values or real numbers, as many in each.

        Returns:
            The dot product, a Value.

        Raises:
            ValueError: if the sequences differ in length.
            TypeError: if an element is not a Value or a real number.
        """,
        0),
    "logsumexp": (
        "values: Iterable[Value | Number]) -> Value:",
        """``log(sum(exp(x)))``, stable for large inputs, as one node.

        Args:
            values: Values or real numbers, at least one.

        Returns:
            The log-sum-exp, a Value.

        Raises:
            ValueError: if ``values`` is empty.
            TypeError: if an element is not a Value or a real number.
        """,
        1),
}


def _public(name: str, op: Op) -> str:
    """The public function of a group op (:data:`PUBLIC`): a list of a few Values is
    made into its node here, anything else by ``_fast_group_<name>`` (the general path)."""
    signature, doc, least = PUBLIC[name]
    if name == "dot":
        general = "_fast_group_dot(_pairs(xs, ys))"
        head = ("    t = type(xs)\n    if (t is list or t is tuple) and type(ys) is t:"
                "  # a few pairs: here\n        n = len(xs)\n")
        tail = ("        if n == len(ys):  # any others of one length\n"
                "            return _fast_group_dot((*xs, *ys))\n")
    else:
        general = f'_fast_group_{name}(_values(values, "{name}"{", least=1" * least}))'
        head = ("    t = type(values)\n    if t is list or t is tuple:  # a few Values: here\n"
                "        n = len(values)  # type: ignore[arg-type]  # (no narrowing on type(x))\n")
        tail = f"        return _fast_group_{name}(values)  # type: ignore[arg-type]  # any other\n"
        if least:  # (an empty list: the general path's error)
            tail = "        if n:\n    " + tail.replace("  # any other", "  # any other nonempty")
    text = "\n".join(f"    {ln}" if ln else "" for ln in inspect.cleandoc(doc).splitlines())
    return (f"def {name}({signature}\n" + f'    """{text[4:]}\n    """\n'
            + head + _unrolled(name, op) + tail + f"    return {general}\n")


def _group(name: str, op: Op) -> str:
    """``_fast_group_<name>(vs)``: the op's rendered float rules over ``vs``'s data (a
    few Values take the public function's unrolled lines first: :func:`_public`)."""
    decl, data, lines = _group_body(name, op)
    ref = _ref(name)
    return (
        decl + f"def _fast_group_{name}(vs: Sequence[Any]) -> Value:\n"
        + _doc(f"``{op.formula}`` of a list or tuple of operands: op table entry ``{name}``.")
        + "    try:\n"
        f"        ops = {data}\n"
        "    except AttributeError:  # a number among them: the general path\n"
        f"        return apply({ref}, *vs)\n"
        "    if len(ops) < 2:  # a constant, or one parent stored bare: the general path\n"
        f"        return apply({ref}, *vs)\n"
        "    node: Value = _new(Value)\n"
        + "".join(f"{ln}\n" for ln in lines)
        + "    node._p = vs if type(vs) is tuple else tuple(vs)\n"
        "    node._ctx = None\n" + _tail(ref)
    )


def _shared_softmax(lse: Op, smo: Op) -> str:
    """The condition under which logsumexp's partial ``i`` is softmax_out's forward of
    ``xs[i]`` (the same expression, so the same float), rendered over ``m``.

    logsumexp's partial is ``where(C, A, exp(xs[i] - out))`` and softmax_out's forward
    ``exp(x - lse)``: where ``C`` is false, the outputs are the logsumexp node's partials.

    Raises:
        ValueError: if the two formulas do not have that shape.
    """
    if lse.rule is None or smo.rule is None:
        raise ValueError("codegen: logsumexp and softmax_out must be formulas of the op "
                         "table: update _shared_softmax")
    part = R.parse(lse.rule.partials[0], lse.rule, partial=True)
    fwd = R.parse(smo.rule.forward, smo.rule)
    x, m = smo.rule.operands
    (group,) = lse.rule.groups

    class Sub(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> ast.AST:
            if node.id == x:
                return ast.Subscript(ast.Name(group, ast.Load()), ast.Name("i", ast.Load()),
                                     ast.Load())
            return ast.Name("out", ast.Load()) if node.id == m else node

    want = ast.dump(Sub().visit(fwd))
    if not (isinstance(part, ast.Call) and isinstance(part.func, ast.Name)
            and part.func.id == "where" and len(part.args) == 3
            and ast.dump(part.args[2]) == want):
        raise ValueError("codegen: logsumexp's partial is no longer where(C, A, <softmax_out's "
                         "forward>): update _shared_softmax")
    # a condition renders only inside a where: render where(C, 1.0, 0.0) and take C
    text = R.float_expression(f"where({ast.unparse(part.args[0])}, 1.0, 0.0)", lse.rule,
                              {"out": "m"})
    cond = re.fullmatch(r"\(1\.0 if (.+) else 0\.0\)", text)
    if cond is None:
        raise ValueError(f"codegen: unexpected rendering of a where: {text!r}")
    return cond.group(1)


def _softmax(op: Op) -> str:
    """``_fast_softmax(vs)``: a list of Values to its logsumexp node and one
    ``softmax_out`` node per Value, in one call (None: take the general path)."""
    cg = _templates(op)
    fwd = cg.forward_template(2).format("x", "m")
    l0, l1 = (t.format("x", "m", out="{out}") for t in cg.local_templates(2))
    tail = "".join(f"    {ln}\n" for ln in _made(_ref(op.name)).splitlines())
    lse = OPS["logsumexp"]
    cond = _shared_softmax(lse, op)
    return (
        "def _fast_softmax(vs: Sequence[Any]) -> list[Value] | None:\n"
        f'    """``{op.formula}`` for each x of ``vs``: op table entries ``{lse.name}`` '
        f'and ``{op.name}``.\n\n'
        f"    Unless ``{cond}``, the outputs are the partials of ``lse``\n"
        "    (logsumexp's partial i is the same expression): the nodes take those floats.\n"
        "    None for a number among ``vs`` or fewer than two: the general path.\n"
        '    """\n'
        "    try:\n"
        "        ops = [v._data for v in vs]\n"
        "    except AttributeError:\n"
        "        return None\n"
        "    if len(ops) < 2:\n"
        "        return None\n"
        f"    lse = {lse.name}(vs)  # (the unrolled lines of a few)\n"
        + "    m = lse._data\n"
        "    outs: list[Value] = []\n"
        "    push = outs.append\n"
        f"    if not ({cond}):\n"
        "        for v, out in zip(vs, lse._local):\n"
        "            node: Value = _new(Value)\n"
        "            node._data = out\n"
        f"            node._local = ({l0.format(out='out')}, {l1.format(out='out')})\n"
        "            node._p = (v, lse)\n"
        "            node._ctx = None\n"
        + "".join(f"    {ln}\n" for ln in tail.splitlines())
        + "            push(node)\n"
        "        return outs\n"
        "    for v in vs:\n"
        "        x = v._data\n"
        "        node = _new(Value)\n"
        + _store("        ", fwd, [l0, l1])
        + "        node._p = (v, lse)\n"
        "        node._ctx = None\n"
        + tail
        + "        push(node)\n"
        "    return outs\n"
    )


def _usable(op: Op) -> bool:
    cg = op.codegen
    if cg is None:
        return False
    n = 1 if op.arity == 1 else 2
    return not cg.temp_templates(n) and not cg.after_templates(n)


def _import_lines(names: dict[str, object]) -> str:
    """Import (or define) each template name: functions by module, floats as literals."""
    stdlib: list[str] = []
    ours: list[str] = []
    consts: list[str] = []
    for key, obj in sorted(names.items()):
        if isinstance(obj, float):
            consts.append(f"{key} = float({str(obj)!r})\n" if obj != obj or obj in (
                float("inf"), -float("inf")) else f"{key} = {obj!r}\n")
            continue
        module = getattr(obj, "__module__", None) or "builtins"
        line = f"from {module} import {obj.__name__} as {key}\n"  # type: ignore[attr-defined]
        (ours if module.split(".")[0] == "autograd" else stdlib).append(line)
    text = "".join(sorted(stdlib)) + ("\n" if stdlib and ours else "") + "".join(sorted(ours))
    return text + ("\n" + "".join(consts) if consts else "")


def fast_paths_source() -> str:
    """Return the generated block of ``autograd/engine.py``, markers included.

    Raises:
        ValueError: if an op listed in ``FAST_BINARY``/``FAST_UNARY`` has no
            usable templates in the table, or two templates bind one name to
            different functions.
    """
    names: dict[str, object] = {}
    parts: list[str] = []
    refs: list[str] = []
    methods: list[str] = []
    for name in (*FAST_BINARY, *FAST_UNARY):
        op = OPS[name]
        if not _usable(op):
            raise ValueError(
                f"codegen: op {name!r} has no simple Codegen templates in the table; "
                "add them or remove it from FAST_BINARY/FAST_UNARY"
            )
        for key, obj in _templates(op).names.items():
            if names.setdefault(key, obj) is not obj:
                raise ValueError(f"codegen: template name {key!r} means two functions")
        refs.append(f'{_ref(name)} = OPS["{name}"]\n')
        if name in FAST_BINARY:
            parts += [_left(name, op), _right(name, op)]
            left, right = FAST_BINARY[name]
            methods += [f'        "{left}": _fast_{name},\n',
                        f'        "{right}": _fast_r{name},\n']
        else:
            parts.append(_unary(name, op))
            methods.append(f'        "{FAST_UNARY[name]}": _fast_{name},\n')
    for name in FAST_GROUP:
        op = OPS[name]
        if op.rule is None:
            raise ValueError(f"codegen: op {name!r} in FAST_GROUP is not a formula")
        for key, obj in R.float_globals(op.rule).items():
            if names.setdefault(key, obj) is not obj:
                raise ValueError(f"codegen: float name {key!r} means two functions")
        for key, obj in R.compile_names(op.rule).items():  # (what _pair's lines call)
            if names.setdefault(key, obj) is not obj:
                raise ValueError(f"codegen: compiled name {key!r} means two functions")
        refs.append(f'{_ref(name)} = OPS["{name}"]\n')
        parts += [_group(name, op), _public(name, op)]
    softmax = OPS["softmax_out"]
    if not _usable(softmax):
        raise ValueError("codegen: op 'softmax_out' has no simple Codegen templates")
    for key, obj in _templates(softmax).names.items():
        if names.setdefault(key, obj) is not obj:
            raise ValueError(f"codegen: template name {key!r} means two functions")
    refs.append(f'{_ref(softmax.name)} = OPS["{softmax.name}"]\n')
    parts.append(_softmax(softmax))
    for key, (raw_name, fn) in _RAW.items():
        if key in names:
            names[raw_name] = N.RAISING[fn]
    install = (
        "def _install_fast_paths() -> None:\n"
        '    """Make the functions above the operators and methods of Value."""\n'
        "    for attr, fn in {\n" + "".join(methods) + "    }.items():\n"
        "        setattr(Value, attr, fn)\n\n\n" + INSTALL
    )
    body = (_import_lines(names) + "\n" + "".join(refs) + "\n\n" + "\n\n".join(parts)
            + "\n\n" + install)
    return BEGIN + body + END


_ENGINE = pathlib.Path(__file__).with_name("engine.py")
_DERIVED = pathlib.Path(__file__).with_name("_derived.py")
_BLOCK = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.S)


def write_engine(path: pathlib.Path = _ENGINE) -> bool:
    """Rewrite the generated block of ``engine.py``; return whether it changed.

    Raises:
        ValueError: if the file has no generated block to replace.
    """
    text = path.read_text()
    if not _BLOCK.search(text):
        raise ValueError(f"codegen: {path} has no '{BEGIN.strip()}' block to replace")
    new = _BLOCK.sub(lambda _m: fast_paths_source(), text, count=1)
    if new != text:
        path.write_text(new)
    return new != text


# ---------------------------------------------------------------------------
# autograd/_derived.py


_DERIVED_DOC = '''"""The op table's derived forms, generated from its formulas: do not edit.

Written by ``python -m autograd.codegen`` from the ``define_op`` entries of
:mod:`autograd.ops` (a test fails when this file drifts from them). For each
built-in op: the float rules ``_<op>_forward`` (unless the forward is a
helper itself) and ``_<op>_local``, the Value rule ``_<op>_value`` used by
``create_graph``, and in :data:`RULES` the formula they were rendered from,
the compile templates (``None`` for variadic ops: rendered when compiled),
the helper names the templates call and the README's texts.
:func:`autograd.ops.define_op` uses an entry only while its formula is the
one recorded here.
"""
# ruff: noqa: E501

from __future__ import annotations

'''


def derived_source() -> str:
    """Return the text of ``autograd/_derived.py`` for the built-in ops of the table.

    Raises:
        ValueError: if a built-in op has no formula.
    """
    helpers: set[str] = set()
    vhelpers: set[str] = set()
    funcs: list[str] = []
    rows: list[str] = []
    uses_operator = False
    for op in iter_ops():
        if not op.builtin:
            continue
        rule = op.rule
        if rule is None:
            raise ValueError(f"codegen: built-in op {op.name!r} has no formula")
        R.check(rule, op.name)
        used = R.helpers_used(rule)
        helpers.update(used)
        fsrc, lsrc = R.float_source(op.name, rule)
        vsrc = R.value_source(op.name, rule)
        vhelpers.update(re.findall(r"\b(_v_\w+|_d)\(", vsrc))
        direct = R.direct_forward(rule)
        if direct.startswith("operator."):
            uses_operator = True
            fwd = direct
        elif direct:
            fwd = F.float_name(direct)
        else:
            funcs.append(fsrc)
            fwd = f"_{op.name}_forward"
        funcs += [lsrc, vsrc]
        if rule.variadic:
            ft: object = None
            lt: object = None
        else:
            ft, lt = R.templates(rule)
        ftext, dtext = R.docs(rule)
        rows.append(
            f"    {op.name!r}: (\n"
            f"        {rule.sources!r},\n"
            f"        {fwd}, _{op.name}_local, _{op.name}_value,\n"
            f"        {ft!r}, {lt!r},\n"
            f"        {used!r},\n"
            f"        {ftext!r}, {dtext!r},\n"
            "    ),\n"
        )
    names: dict[str, object] = {}
    for h in sorted(helpers):
        names[F.float_name(h)] = F.HELPERS[h].float_fn if h in F.HELPERS else F.CONSTANTS[h]
    for c in F.CONSTANTS:  # the Value rules may read any constant
        names.setdefault(F.float_name(c), F.CONSTANTS[c])
    std = ["from typing import Any\n"] + (["import operator\n"] if uses_operator else [])
    ours = ["from autograd.formula import (\n"
            + "".join(f"    {v},\n" for v in sorted(vhelpers)) + ")\n"]
    consts = []
    for key, obj in sorted(names.items()):
        if isinstance(obj, float):
            lit = repr(obj) if obj == obj and abs(obj) != float("inf") else f"float({str(obj)!r})"
            consts.append(f"{key} = {lit}\n")
            continue
        module = getattr(obj, "__module__", None) or "builtins"
        line = f"from {module} import {obj.__name__} as {key}\n"  # type: ignore[attr-defined]
        (ours if module.split(".")[0] == "autograd" else std).append(line)
    std.sort(key=lambda line: (line.startswith("from "), line))
    return (
        _DERIVED_DOC + "".join(std) + "\n" + "".join(sorted(ours)) + "\n" + "".join(consts)
        + "\n\n" + "\n\n".join(funcs)
        + "\n\n#: op name -> (formula sources, forward, local, value, forward template,\n"
        "#: local templates, helpers used, forward text, derivative text)\n"
        "RULES: dict[str, tuple[Any, ...]] = {\n" + "".join(rows) + "}\n"
    )


def write_derived(path: pathlib.Path = _DERIVED) -> bool:
    """Rewrite ``autograd/_derived.py``; return whether it changed."""
    new = derived_source()
    old = path.read_text() if path.exists() else ""
    if new != old:
        path.write_text(new)
    return new != old


_OPS_PAGE = pathlib.Path(__file__).parent.parent / "docs" / "ops.md"
_TABLE = re.compile(r"(<!-- op-table:start -->\n).*?(<!-- op-table:end -->)", re.S)


def write_docs_table(path: pathlib.Path = _OPS_PAGE) -> bool:
    """Rewrite the op table in ``docs/ops.md`` from the op table; return whether it changed.

    Raises:
        ValueError: if the page has no ``op-table`` markers.
    """
    from autograd.ops import op_table_markdown

    text = path.read_text()
    if not _TABLE.search(text):
        raise ValueError(f"codegen: {path} has no <!-- op-table:start/end --> markers")
    new = _TABLE.sub(lambda m: m.group(1) + op_table_markdown() + m.group(2), text, count=1)
    if new != text:
        path.write_text(new)
    return new != text


def write_all() -> list[str]:
    """Regenerate every generated text; return the names of the files that changed.

    The derived rules first; the engine's fast paths and docs/ops.md's table
    are rendered from the table, which reads them at import, so when the
    derived rules changed they are rendered in a fresh interpreter.
    """
    changed = []
    if write_derived():
        changed.append("autograd/_derived.py")
        import subprocess
        import sys

        code = "from autograd.codegen import _write_rest; print(','.join(_write_rest()))"
        run = subprocess.run([sys.executable, "-c", code], check=True,
                             capture_output=True, text=True)
        return changed + [n for n in run.stdout.strip().split(",") if n]
    return changed + _write_rest()


def _write_rest() -> list[str]:
    changed = []
    if write_engine():
        changed.append("autograd/engine.py")
    if _OPS_PAGE.exists() and write_docs_table():
        changed.append("docs/ops.md")
    return changed


if __name__ == "__main__":
    done = write_all()
    print("updated: " + ", ".join(done) if done else "already up to date")
