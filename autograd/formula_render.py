"""Renderers of the formula language: every form of an op, derived from its one formula.

The language itself (names, helpers, constants) is :mod:`autograd.formula`.
From a :class:`~autograd.formula.Formula` this module renders:

* :func:`float_source`: Python source of the float rules (``forward`` and
  ``local``, evaluated at forward time and stored in the node);
* :func:`value_source`: Python source of the Value rule used by
  ``autograd.grad(..., create_graph=True)`` (the same expression on Values:
  helpers dispatch on float/Value, conditions read ``.data``);
* :func:`templates`: :class:`~autograd.ops.Codegen` ``str.format`` templates,
  from which :mod:`autograd.compile` emits straight-line code and
  :mod:`autograd.codegen` the engine's fast paths;
* :func:`docs`: the human-readable forms in the README's op table;
* :func:`derive`: all of them at run time, as callables (ops defined by
  users); the built-in ops get the same forms from the committed, generated
  :mod:`autograd._derived` (``python -m autograd.codegen``).

A renderer for another namespace (NumPy arrays, say) walks the same tree:
:func:`parse` returns the checked ``ast`` expression of one formula string
(with ``a / b`` already read as ``div(a, b)`` where ``b`` may be zero); map
each :data:`~autograd.formula.HELPERS` name to the namespace's function,
:data:`~autograd.formula.CONSTANTS` to numbers, and render ``where(c, a, b)``
as a select (both branches are total) and ``and``/``or``/``not`` in its
condition as elementwise logic.
"""

from __future__ import annotations

import ast
import builtins
import keyword
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from autograd.formula import (
    CONSTANTS,
    HELPERS,
    VALUE_HELPERS,
    Formula,
    FormulaError,
    _d,
    float_name,
)

__all__ = [
    "Derived",
    "check",
    "compile_names",
    "derive",
    "direct_forward",
    "doc_text",
    "docs",
    "edge_label",
    "factored",
    "float_expression",
    "float_globals",
    "float_source",
    "helpers_used",
    "inline",
    "parse",
    "per_element_sums",
    "temp_function",
    "templates",
    "value_globals",
    "value_names",
    "value_source",
]


_PLAIN = frozenset({*CONSTANTS, "i", "n"})  # never Values: no .data read in conditions
_ARITH = (ast.Add, ast.Sub, ast.Mult, ast.Div)
_INDEX = (ast.Add, ast.Sub, ast.Mult, ast.FloorDiv, ast.Mod)


# ---------------------------------------------------------------------------
# Parsing and checking.


class _Checker:
    """The checks of :func:`parse`: one method per construct of the language."""

    def __init__(self, src: str, formula: Formula, names: set[str], what: str) -> None:
        self.src, self.formula, self.names, self.what = src, formula, names, what
        self.groups = set(formula.groups)

    def bad(self, node: ast.AST, why: str) -> FormulaError:
        return FormulaError(f"{self.what}: {why} in {self.src!r} ({ast.unparse(node)})")

    def check(self, node: ast.AST, cond: bool = False) -> None:
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
                raise self.bad(node, "only numbers may be literals")
        elif isinstance(node, ast.Name):
            if node.id not in self.names and node.id not in CONSTANTS:
                raise self.bad(node, f"unknown name {node.id!r}; use the operands "
                                f"({', '.join(self.formula.names)}), out, or "
                                f"{', '.join(CONSTANTS)}")
            if node.id in self.groups:
                raise self.bad(node, f"a group ({node.id}) is used whole only as a helper's "
                                f"argument; index it as {node.id}[i]")
        elif isinstance(node, ast.BinOp):
            if not isinstance(node.op, _ARITH):
                raise self.bad(node, "only + - * / are allowed (pow(a, b) for powers)")
            self.check(node.left, cond)
            self.check(node.right, cond)
        elif isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Not):
                if not cond:
                    raise self.bad(node, "'not' is allowed only in where's condition")
            elif not isinstance(node.op, (ast.USub, ast.UAdd)):
                raise self.bad(node, "only unary - is allowed")
            self.check(node.operand, cond)
        elif isinstance(node, (ast.Compare, ast.BoolOp)):
            if not cond:
                raise self.bad(node, "comparisons and and/or are allowed only in where's "
                                "condition: where(c, a, b)")
            for sub in ([node.left, *node.comparators] if isinstance(node, ast.Compare)
                        else node.values):
                self.check(sub, cond)
        elif isinstance(node, ast.Subscript):
            if not (isinstance(node.value, ast.Name) and node.value.id in self.groups):
                raise self.bad(node, "only an operand group may be indexed")
            _check_index(node.slice, lambda n, w: self.bad(n, w))
        elif isinstance(node, ast.Call):
            self.call(node, cond)
        elif isinstance(node, (ast.Set, ast.Dict, ast.JoinedStr)):
            raise self.bad(node, "braces are not part of the formula language (a formula is not "
                            "a template): write the operand's name itself, e.g. "
                            f"{self.formula.names[0] if self.formula.names else 'x'}")
        else:
            raise self.bad(node, f"{type(node).__name__} is not part of the formula language")

    def call(self, node: ast.Call, cond: bool) -> None:
        """Check a helper call: its name, arguments and their kinds."""
        if not isinstance(node.func, ast.Name) or node.func.id not in HELPERS:
            raise self.bad(node, f"unknown helper; the helpers are {', '.join(HELPERS)}")
        if node.keywords:
            raise self.bad(node, "helpers take positional arguments only")
        h = HELPERS[node.func.id]
        if node.func.id == "where" and len(node.args) != 3:
            raise self.bad(node, "where takes (condition, a, b)")
        if len(node.args) != h.arity or any(isinstance(a, ast.Starred) for a in node.args):
            raise self.bad(node, f"{node.func.id} takes {h.arity} argument(s), got "
                            f"{len(node.args)}: {HELPERS[node.func.id].doc}")
        if node.func.id == "where":
            self.check(node.args[0], True)
            self.check(node.args[1], cond)
            self.check(node.args[2], cond)
            return
        args = node.args
        if node.func.id == "fsum" and not _is_group(args[0], self.formula):
            self.per_element(node, args[0])
            return
        if h.group:
            for a in args:
                if isinstance(a, ast.Name) and a.id in self.groups:
                    continue
                if node.func.id == "tie_share" and a is args[-1]:
                    _check_index(a, lambda n, w: self.bad(n, w))
                    continue
                raise self.bad(node, f"{node.func.id} takes whole operand groups")
            return
        for a in args:
            self.check(a, cond)

    def per_element(self, node: ast.Call, term: ast.expr) -> None:
        # fsum(term of i): the sum over i = 0..n-1 of a per-element term
        if not self.formula.variadic:
            raise self.bad(node, "fsum takes an operand group; a fixed-arity op adds its "
                            "operands with +")
        if "i" in self.names:
            raise self.bad(node, "a per-element sum fsum(term of i) is allowed only in the "
                            "forward, not in a partial or another per-element sum; "
                            "write the partial of one element, of i")
        if not _uses(term, "i"):
            raise self.bad(node, "fsum takes a whole group (fsum(xs)) or a per-element term "
                            "of i (fsum(xs[i] * ys[i]))")
        self.names.add("i")
        try:
            self.check(term)
        finally:
            self.names.discard("i")


def parse(src: str, formula: Formula, *, partial: bool = False, what: str = "",
          temps: int | None = None) -> ast.expr:
    """Parse and check one expression of ``formula``; return its ``ast`` tree.

    Args:
        src: the expression (``formula.forward`` or one of ``formula.partials``).
        formula: the formula it belongs to (for the operand names).
        partial: whether it is a partial (``out`` and, for groups, ``i`` allowed).
        what: names the op in error messages.
        temps: how many of the formula's temporaries ``src`` may read (all by
            default; a temporary reads only those before it).

    Raises:
        FormulaError: for a syntax error or a construct outside the language.
    """
    try:
        tree = ast.parse(src, mode="eval").body
    except SyntaxError as e:
        raise FormulaError(f"{what}: cannot parse {src!r}: {e.msg}") from None
    names = set(formula.names) | {t for t, _ in formula.temps[:temps]}
    if partial:
        names.add("out")
    if formula.variadic:
        names.add("n")
        if partial:
            names.add("i")

    _Checker(src, formula, names, what).check(tree)
    return _SafeDivision().visit(tree)


def _is_group(node: ast.AST, formula: Formula) -> bool:
    return isinstance(node, ast.Name) and node.id in formula.groups


def per_element_sums(tree: ast.AST) -> list[ast.Call]:
    """The per-element sums ``fsum(term of i)`` in a checked forward."""
    return [c for c in ast.walk(tree) if isinstance(c, ast.Call) and isinstance(c.func, ast.Name)
            and c.func.id == "fsum" and len(c.args) == 1 and _uses(c.args[0], "i")]


class _SafeDivision(ast.NodeTransformer):
    """``a / b`` becomes ``div(a, b)`` unless ``b`` is ``n`` or a nonzero number.

    So every rendered float rule is total (``1/0 = inf``, never
    ``ZeroDivisionError``); where ``b`` is nonzero the values are the same.
    """

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        if not isinstance(node.op, ast.Div):
            return node
        r = node.right
        if (isinstance(r, ast.Name) and r.id == "n") or (
                isinstance(r, ast.Constant) and r.value != 0):
            return node
        return ast.Call(func=ast.Name("div"), args=[node.left, node.right], keywords=[])


def _check_index(node: ast.AST, bad: Callable[[ast.AST, str], FormulaError]) -> None:
    if isinstance(node, ast.Name) and node.id in ("i", "n"):
        return
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return
    if isinstance(node, ast.BinOp) and isinstance(node.op, _INDEX):
        _check_index(node.left, bad)
        _check_index(node.right, bad)
        return
    raise bad(node, "an index is an integer expression of i and n")


def check(formula: Formula, what: str) -> None:
    """Check every expression of ``formula`` and the operand list.

    Raises:
        FormulaError: naming the op and the problem.
    """
    ops = formula.operands
    if formula.variadic:
        if any(o.startswith("*") for o in ops[len(formula.groups):]):
            raise FormulaError(f"{what}: groups (*xs) come first, then single operands "
                               f"(*xs, *ws, b), got {ops}")
        if formula.params > len(formula.singles):
            raise FormulaError(f"{what}: the {formula.params} parameter(s) must be trailing "
                               f"single operands (*xs, b, slope), got {ops}")
    elif any(o.startswith("*") for o in ops):
        raise FormulaError(f"{what}: groups (*xs) cannot follow single operands")
    bare = formula.names + tuple(t for t, _ in formula.temps)
    if len(set(bare)) != len(bare) or not all(b.isidentifier() for b in bare):
        raise FormulaError(f"{what}: operand names must be distinct identifiers, got {ops}")
    for b in bare:
        if b in ("out", "i", "n") or b in HELPERS or b in CONSTANTS:
            raise FormulaError(f"{what}: the operand name {b!r} is reserved")
        if b.startswith("_") or keyword.iskeyword(b):
            raise FormulaError(
                f"{what}: the operand name {b!r} is reserved (names starting with '_' "
                f"are the rendered code's helpers, such as _div and _exp, and keywords "
                f"are Python's); rename it, e.g. {b.strip('_') + '_' if b.strip('_') else 'x'!r}")
    want = len(ops) - formula.params
    if len(formula.partials) != want:
        raise FormulaError(
            f"{what}: {len(formula.partials)} partial(s) for {want} "
            f"{'group or operand' if formula.variadic else 'non-parameter operand'}(s); "
            "give one each"
        )
    for k, (t, src) in enumerate(formula.temps):
        tree = parse(src, formula, what=what, temps=k)
        if _uses(tree, "i") or per_element_sums(tree):
            raise FormulaError(f"{what}: the temporary {t} = {src!r} is computed once per "
                               "node; it may not read i (write the per-element term where "
                               "it is used)")
    parse(formula.forward, formula, what=what)
    for p in formula.partials:
        parse(p, formula, partial=True, what=what)


def inline(formula: Formula, args: Mapping[str, str], *, what: str = "",
           out: str | None = None) -> tuple[str, ...]:
    """An op's formula used inside another's: its forward and partials, composed.

    Each operand of ``formula`` is replaced by the expression ``args`` gives for
    it (``{"x": "ps[i] - ts[i]"}``) and ``out`` by the forward so replaced, so that
    an op written in terms of another (``l1_loss`` of ``abs``) reads that op's
    derivative from its one formula instead of restating it. With ``out``
    given, ``out`` is replaced by that text instead (``"out"``: the composing
    op's result is the inlined op's, as a neuron's ``act(z)``).

    Returns:
        ``(forward, *partials)`` as source text of the composing formula.

    Raises:
        FormulaError: if ``args`` does not give exactly the operands of
            ``formula``, or an expression does not parse.
    """
    if formula.variadic or set(args) != set(formula.names):
        raise FormulaError(
            f"{what}: inline takes one expression for each operand of a fixed-arity "
            f"formula ({', '.join(formula.names) or 'none'}), got {', '.join(args) or 'none'}")
    try:
        trees = {k: ast.parse(v, mode="eval").body for k, v in args.items()}
    except SyntaxError as e:
        raise FormulaError(f"{what}: cannot parse an inlined operand: {e.msg}") from None

    def sub(src: str, out: ast.expr | None) -> ast.expr:
        class Sub(ast.NodeTransformer):
            def visit_Name(self, node: ast.Name) -> ast.AST:
                if node.id in trees:
                    return _copy(trees[node.id])
                if node.id == "out" and out is not None:
                    return _copy(out)
                return node

        return Sub().visit(ast.parse(src, mode="eval").body)

    fwd = sub(formula.forward, None)
    res = fwd if out is None else ast.parse(out, mode="eval").body
    return (ast.unparse(fwd), *(ast.unparse(sub(p, res)) for p in formula.partials))


# ---------------------------------------------------------------------------
# Rendering: a transform of the tree, then ast.unparse.


class _Rename(ast.NodeTransformer):
    """Rename names and calls; render ``where`` as a conditional expression."""

    def __init__(self, names: Mapping[str, str], calls: Mapping[str, str],
                 cond_name: Callable[[str], str] | None = None) -> None:
        self.names = names
        self.calls = calls
        self.cond_name = cond_name
        self.in_cond = 0

    def visit_Name(self, node: ast.Name) -> ast.AST:
        new = self.names.get(node.id, node.id)
        if self.in_cond and self.cond_name is not None and node.id not in _PLAIN:
            new = self.cond_name(new)
        if new.isidentifier():  # a name (an operand's slot): no parse needed
            return ast.copy_location(ast.Name(new, ast.Load()), node)
        return ast.copy_location(ast.parse(new, mode="eval").body, node)

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        if self.in_cond and self.cond_name is not None:
            return ast.parse(self.cond_name(ast.unparse(node)), mode="eval").body
        return node

    def visit_Call(self, node: ast.Call) -> ast.AST:
        fname = node.func.id  # type: ignore[attr-defined]
        if fname == "where":
            self.in_cond += 1
            c = self.visit(node.args[0])
            self.in_cond -= 1
            a, b = self.visit(node.args[1]), self.visit(node.args[2])
            return ast.IfExp(test=c, body=a, orelse=b)
        if self.in_cond and self.cond_name is not None:
            # a helper called in a condition (logsumexp(zs) == INF): its arguments are
            # what the helper takes (a group of Values); its result is compared as data
            saved, self.in_cond = self.in_cond, 0
            call = self.visit_Call(node)
            self.in_cond = saved
            return ast.parse(self.cond_name(ast.unparse(call)), mode="eval").body
        args = [self.visit(a) for a in node.args]
        return ast.Call(func=ast.Name(self.calls.get(fname, fname)), args=args, keywords=[])


def _render(tree: ast.expr, names: Mapping[str, str], calls: Mapping[str, str],
            cond_name: Callable[[str], str] | None = None) -> str:
    new = _Rename(names, calls, cond_name).visit(_copy(tree))
    text = ast.unparse(new)
    if isinstance(new, ast.IfExp):
        text = f"({text})"
    return text


def _copy(tree: ast.expr) -> ast.expr:
    return ast.parse(ast.unparse(tree), mode="eval").body


def _float_calls() -> dict[str, str]:
    return {h: float_name(h) for h in HELPERS}


def _float_consts() -> dict[str, str]:
    return {c: float_name(c) for c in CONSTANTS}


def float_source(name: str, formula: Formula) -> tuple[str, str]:
    """Return the source of ``def _<name>_forward`` and ``def _<name>_local`` on floats.

    ``_<name>_local(out, *operands)`` returns the tuple of partials, one per
    non-parameter operand. The sources use the globals of :func:`float_globals`.
    """
    calls = _float_calls()
    consts = _float_consts()
    if formula.variadic:
        k = len(formula.groups)
        fwd_tree = _ElementLoops().visit(parse(formula.forward, formula))
        fwd = _render(fwd_tree, consts, calls)
        bound, fused = _temp_lines(formula, [fwd_tree], consts, calls)
        forward = (f"def _{name}_forward(*ops: float) -> float:\n"
                   f"{_group_split(formula, 'ops', _names_in(fwd_tree) | fused)}{bound}"
                   f"    return {fwd}\n")
        trees = [parse(src, formula, partial=True) for src in formula.partials]
        hoist = _Hoist()
        trees = [hoist.visit(t) for t in trees]
        parts = [_group_partials(t, consts, calls) if j < k else f"({_render(t, consts, calls)},)"
                 for j, t in enumerate(trees)]
        bound, fused = _temp_lines(formula, [*trees, *hoist.calls], consts, calls)
        used = _names_in(*trees, *hoist.calls) | fused | {"n"}  # (x,) * n needs n
        temps = "".join(f"    _h{k} = {_render(c, consts, calls)}\n"
                        for k, c in enumerate(hoist.calls))
        local = (f"def _{name}_local(out: float, *ops: float) -> tuple[float, ...]:\n"
                 f"{_group_split(formula, 'ops', used)}{bound}{temps}"
                 f"    return {' + '.join(parts)}\n")
        return forward, local
    args = ", ".join(f"{o}: float" for o in formula.names)
    fwd = _render(parse(formula.forward, formula), consts, calls)
    forward = f"def _{name}_forward({args}) -> float:\n    return {fwd}\n"
    parts = [_render(parse(p, formula, partial=True), consts, calls) for p in formula.partials]
    k = len(parts)
    tup = f"({parts[0]},)" if k == 1 else f"({', '.join(parts)})"
    ret = f"tuple[{', '.join(['float'] * k)}]"
    local = f"def _{name}_local(out: float, {args}) -> {ret}:\n    return {tup}\n"
    return forward, local


class _Hoist(ast.NodeTransformer):
    """Name each call of a group helper that does not read ``i`` (``fsum(ts)``,
    ``logsumexp(zs)``) once, so that per-element partials compute it once, not n times.

    With ``conditions`` (the compiled form), also the condition of a per-element
    ``where(c, a, b)`` that does not read ``i`` (logsumexp's ``out == INF or
    out == -INF``): tested once per node, each partial reads the boolean.
    """

    def __init__(self, conditions: bool = False) -> None:
        self.calls: list[ast.expr] = []
        self._keys: dict[str, int] = {}
        self.conditions = conditions

    def _name(self, node: ast.expr) -> ast.expr:
        key = ast.dump(node)
        if key not in self._keys:
            self._keys[key] = len(self.calls)
            self.calls.append(node)
        return ast.copy_location(ast.Name(f"_h{self._keys[key]}", ast.Load()), node)

    def visit(self, node: ast.AST) -> Any:
        if (isinstance(node, ast.expr) and not isinstance(node, (ast.Name, ast.Constant))
                and ast.dump(node) in self._keys):
            return self._name(node)  # already named: a single operand's partial A of A * xs[i]
        return super().visit(node)

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        # A * xs[i] with A not reading i (a neuron's act'(z)): A computed once
        if isinstance(node.op, ast.Mult):
            li, ri = _uses(node.left, "i"), _uses(node.right, "i")
            for side, other in (("left", ri and not li), ("right", li and not ri)):
                sub = getattr(node, side)
                if other and not isinstance(sub, (ast.Name, ast.Constant, ast.UnaryOp)):
                    setattr(node, side, self._name(sub))
        self.generic_visit(node)
        return node

    def visit_Call(self, node: ast.Call) -> ast.AST:
        fname = node.func.id if isinstance(node.func, ast.Name) else ""
        if fname in HELPERS and HELPERS[fname].group and not _uses(node, "i"):
            return self._name(node)
        self.generic_visit(node)  # (a condition's own group calls named first)
        if (fname == "where" and self.conditions and _uses(node, "i")
                and not _uses(node.args[0], "i")
                and not isinstance(node.args[0], (ast.Name, ast.Constant))):
            node.args[0] = self._name(node.args[0])
        return node


def _temp_lines(formula: Formula, trees: Sequence[ast.AST], consts: Mapping[str, str],
                calls: Mapping[str, str], cond: Callable[[str], str] | None = None,
                ) -> tuple[str, set[str]]:
    """The lines binding the temporaries ``trees`` read (``    z = ...``), in order, and
    the names those lines read (groups, operands)."""
    needed = _names_in(*trees)
    parsed = [(t, parse(src, formula, temps=k)) for k, (t, src) in enumerate(formula.temps)]
    for t, tree in reversed(parsed):
        if t in needed:
            needed |= _names_in(tree)
    lines = "".join(f"    {t} = {_render(tree, consts, calls, cond)}\n"
                    for t, tree in parsed if t in needed)
    reads = set().union(*(_names_in(tree) for t, tree in parsed if t in needed))
    return lines, reads


def _group_split(formula: Formula, src: str, used: set[str]) -> str:
    """Lines binding each used group, single operand (and ``n``) from the flat operand
    tuple ``src``."""
    groups, singles = formula.groups, formula.singles
    if singles:
        s, k = len(singles), len(groups)
        lines = [f"    n = len({src}) - {s}\n" if k == 1 else
                 f"    n = (len({src}) - {s}) // {k}\n"]
        for j, g in enumerate(groups):
            if g in used:
                lo = "" if j == 0 else f"{j} * n" if j > 1 else "n"
                hi = f"{j + 1} * n" if j + 1 > 1 else "n"
                lines.append(f"    {g} = {src}[{lo}:{hi}]\n")
        lines += [f"    {nm} = {src}[{j - s}]\n" for j, nm in enumerate(singles) if nm in used]
        if not ("n" in used or set(groups) & used):
            del lines[0]
        return "".join(lines)
    if len(groups) == 1:
        lines = [f"    {groups[0]} = {src}\n"] if groups[0] in used else []
        return "".join(lines) + (f"    n = len({src})\n" if "n" in used else "")
    k = len(groups)
    lines = [f"    n = len({src}) // {k}\n"]
    for j, g in enumerate(groups):
        if g not in used:
            continue
        lo = "" if j == 0 else f"{j} * n" if j > 1 else "n"
        hi = "" if j == k - 1 else f"{j + 1} * n" if j + 1 > 1 else "n"
        lines.append(f"    {g} = {src}[{lo}:{hi}]\n")
    return "".join(lines)


def _names_in(*trees: ast.AST) -> set[str]:
    return {n.id for t in trees for n in ast.walk(t) if isinstance(n, ast.Name)}


def _uses(tree: ast.AST, name: str) -> bool:
    return any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(tree))


def _group_partials(tree: ast.expr, consts: Mapping[str, str], calls: Mapping[str, str]) -> str:
    """The float expression of a group's partials as a tuple of length n."""
    if not _uses(tree, "i"):
        return f"({_render(tree, consts, calls)},) * n"
    if (isinstance(tree, ast.Subscript) and isinstance(tree.value, ast.Name)
            and isinstance(tree.slice, ast.Name) and tree.slice.id == "i"):
        return tree.value.id  # the partials are another group, element by element
    if (isinstance(tree, ast.Call) and isinstance(tree.func, ast.Name)
            and tree.func.id == "where" and not _uses(tree.args[0], "i")):
        cond = _render(tree.args[0], consts, calls)
        a = _group_partials(tree.args[1], consts, calls)
        b = _group_partials(tree.args[2], consts, calls)
        return f"({a} if {cond} else {b})"
    return f"tuple({_render(_element_loop(tree), consts, calls)})"


def _element_loop(term: ast.expr) -> ast.expr:
    """``[term for i in range(n)]`` as a list comprehension over the groups themselves
    where ``i`` is read only as ``g[i]`` (``[_e * 2.0 for _e in xs]``, ``zip`` for two)."""
    term = _copy(term)  # rewritten below; the caller's tree is left as it is
    subs = [s for s in ast.walk(term) if isinstance(s, ast.Subscript)
            and isinstance(s.value, ast.Name) and isinstance(s.slice, ast.Name)
            and s.slice.id == "i"]
    groups = list(dict.fromkeys(s.value.id for s in subs if isinstance(s.value, ast.Name)))
    bare = sum(isinstance(n, ast.Name) and n.id == "i" for n in ast.walk(term))
    if not groups or bare != len(subs):
        return ast.parse(f"[{ast.unparse(term)} for i in range(n)]", mode="eval").body
    elt = {g: "_e" if len(groups) == 1 else f"_e{k}" for k, g in enumerate(groups)}

    class _Element(ast.NodeTransformer):
        def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
            if any(node is s for s in subs):
                return ast.copy_location(ast.Name(elt[node.value.id],  # type: ignore[attr-defined]
                                                  ast.Load()), node)
            self.generic_visit(node)
            return node

    body = ast.unparse(_Element().visit(term))
    loop = groups[0] if len(groups) == 1 else f"zip({', '.join(groups)})"
    return ast.parse(f"[{body} for {', '.join(elt.values())} in {loop}]", mode="eval").body


class _ElementLoops(ast.NodeTransformer):
    """Each per-element sum ``fsum(term of i)`` as ``fsum([term for ...])`` (float code)."""

    def visit_Call(self, node: ast.Call) -> ast.AST:
        if any(node is c for c in per_element_sums(node)):
            node.args = [_element_loop(node.args[0])]
            return node
        self.generic_visit(node)
        return node


#: The Value-rule helpers: float/Value dispatch (see _derived.py's header).
def value_calls() -> dict[str, str]:
    """Helper name -> the name a Value rule calls (``_v_tanh``...)."""
    return {h: f"_v_{h}" for h in HELPERS}


def value_source(name: str, formula: Formula) -> str:
    """Return the source of ``def _<name>_value(o, out, wrt)``: partial ``wrt`` as a graph.

    Operands ``o`` are Values or constant floats; helpers dispatch on that
    (``_v_tanh(x)`` is ``x.tanh()`` on a Value, the float function on a
    float); conditions of ``where`` read the data (``_d(x)``).
    """
    calls = value_calls()
    consts = _float_consts()
    cond = "_d({})".format
    head = f"def _{name}_value(o: tuple[Any, ...], out: Any, wrt: int) -> Any:\n"
    if formula.variadic:
        k = len(formula.groups)
        trees = [parse(src, formula, partial=True) for src in formula.partials]
        bound, fused = _temp_lines(formula, trees, consts, calls, cond)
        used = _names_in(*trees) | fused
        if len(trees) > 1:
            used.add("n")
        body = _group_split(formula, "o", used) + bound
        for j, tree in enumerate(trees):
            expr = _render(tree, consts, calls, cond)
            index = f"        i = wrt - {j} * n\n" if "i" in _names_in(tree) else ""
            if j == len(trees) - 1:
                body += f"{index[4:]}    return {expr}\n"
            elif j < k:
                body += f"    if wrt < {j + 1} * n:\n{index}        return {expr}\n"
            else:  # a single operand after the groups
                at = f"{k} * n" + (f" + {j - k}" if j > k else "")
                body += f"    if wrt == {at}:\n        return {expr}\n"
        return head + body.replace("wrt - 0 * n", "wrt").replace("1 * n", "n")
    names = formula.names
    core = len(names) - formula.params
    body = ""
    if names:
        read = [n if any(_uses(ast.parse(p, mode="eval"), n) for p in formula.partials)
                else f"_{n}" for n in names]  # (a name no partial reads: _a)
        body = f"    {', '.join(read)}{',' if len(names) == 1 else ''} = o\n"
    exprs = [_render(parse(p, formula, partial=True), consts, calls, cond)
             for p in formula.partials]
    for j, e in enumerate(exprs):
        if j < core - 1:
            body += f"    if wrt == {j}:\n        return {e}\n"
        else:
            body += f"    return {e}\n"
    if not any(_uses(ast.parse(p, mode="eval"), n) for p in formula.partials for n in names):
        body = body.split("\n", 1)[1] if names else body  # no operand read: no unpacking
    return head + body


# ---------------------------------------------------------------------------
# Templates for the compiled path and the engine's fast paths.


class _Expand(ast.NodeTransformer):
    """A variadic formula's tree for ``size`` elements per group: group names become
    tuples of operand slots, ``xs[i]`` the slot of element ``env["i"]``, a
    per-element ``fsum(term of i)`` the tuple of its terms. With ``pairs`` (the
    compiled form), an ``fsum`` of one or two terms is their sum (:func:`_pair_sum`)."""

    def __init__(self, group_of: dict[str, list[str]], env: dict[str, int], size: int,
                 pairs: bool = False) -> None:
        self.group_of, self.env, self.size, self.pairs = group_of, env, size, pairs

    def visit_Call(self, node: ast.Call) -> ast.AST:
        out = self._visit_call(node)
        if (self.pairs and isinstance(out, ast.Call) and _call_name(out) == "fsum"
                and len(out.args) == 1 and isinstance(out.args[0], ast.Tuple)
                and 1 <= len(out.args[0].elts) <= 2):
            return _pair_sum(out.args[0].elts)
        return out

    def _visit_call(self, node: ast.Call) -> ast.AST:
        if (isinstance(node.func, ast.Name) and node.func.id == "sumprod_builtin"
                and all(isinstance(a, ast.Name) for a in node.args)):
            # the builtin sum of the products themselves: one C call
            pairs = zip(*(self.group_of[a.id] for a in node.args))  # type: ignore[attr-defined]
            prods: list[ast.expr] = [ast.BinOp(ast.Name(x), ast.Mult(), ast.Name(y))
                                     for x, y in pairs]
            return ast.Call(ast.Name("_sum"), [ast.Tuple(prods, ast.Load())], [])
        if not any(node is c for c in per_element_sums(node)):
            self.generic_visit(node)
            return node
        terms = []  # fsum(term of i): the tuple of its n terms
        for m in range(self.size):
            self.env["i"] = m
            terms.append(self.visit(_copy(node.args[0])))
        self.env["i"] = 0
        node.args = [ast.Tuple(terms, ast.Load())]
        return node

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        idx = eval(compile(ast.Expression(node.slice), "<index>", "eval"), {}, self.env)
        return ast.Name(self.group_of[node.value.id][idx])  # type: ignore[attr-defined]

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id in self.group_of:
            elts = self.group_of[node.id]
            return ast.parse(f"({', '.join(elts)},)" if elts else "()",
                             mode="eval").body
        if node.id in self.env:
            return ast.Constant(self.env[node.id])
        return node


def _pair_sum(terms: Sequence[ast.expr]) -> ast.expr:
    """``fsum`` of one or two terms as float addition: ``x + y + 0.0``, the same float.

    One addition is exactly rounded, as fsum is; an overflow gives ``inf`` and
    ``inf + -inf`` gives nan, as :func:`autograd.numerics.fsum` does; a nan passes
    through both alike; the ``+ 0.0`` turns the one other case, ``-0.0 + -0.0``
    (and a lone ``-0.0``), into fsum's ``0.0``. It is left out when a term is an
    ``exp``, never ``-0.0`` (x + y is -0.0 only when both are). Proved bit for bit
    against numerics.fsum in tests/test_compile.py.
    """
    total: ast.expr = terms[0]
    for t in terms[1:]:
        total = ast.BinOp(total, ast.Add(), t)
    if not any(isinstance(t, ast.Call) and _call_name(t) == "exp" for t in terms):
        total = ast.BinOp(total, ast.Add(), ast.Constant(0.0))
    return total


def _fixed_templates(formula: Formula, calls: dict[str, str], consts: dict[str, str],
                     ) -> tuple[str, tuple[str, ...]]:
    """:func:`templates` of a fixed-arity op: ``(forward, local)``."""
    slots = {o: f"__op{k}__" for k, o in enumerate(formula.names)}
    slots["out"] = "__out__"

    def fix(text: str) -> str:
        for k in range(len(formula.names)):
            text = text.replace(f"__op{k}__", f"{{{k}}}")
        return text.replace("__out__", "{out}")

    fwd = fix(_render(parse(formula.forward, formula), {**consts, **slots}, calls))
    loc = tuple(fix(_render(parse(p, formula, partial=True), {**consts, **slots}, calls))
                for p in formula.partials)
    return fwd, loc


class _ProductSums(ast.NodeTransformer):
    """``sumprod(xs, ys)`` of two groups as the per-element sum ``fsum(xs[i] * ys[i])``:
    the same float (sumprod is the exactly rounded sum of the products), which a
    template expands to one ``fsum`` of the n products instead of a helper call
    that builds them."""

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        if (isinstance(node.func, ast.Name) and node.func.id == "sumprod" and len(node.args) == 2
                and all(isinstance(a, ast.Name) for a in node.args)):
            x, y = (a.id for a in node.args)  # type: ignore[attr-defined]
            return ast.parse(f"fsum({x}[i] * {y}[i])", mode="eval").body
        return node


class _WholeGroups(ast.NodeTransformer):
    """Each group that a partial passes whole to a helper (``tie_share(xs, i)``)
    as one temporary tuple (``_all_xs``), read by the forward's and partials'
    helper calls: one tuple per node instead of the group spelled out again in
    each of its n partials (which made a node's code quadratic in n)."""

    def __init__(self, formula: Formula, partials: Sequence[ast.expr]) -> None:
        groups = set(formula.groups)
        self.temps = {a.id: f"_all_{a.id}" for t in partials for c in ast.walk(t)
                      if isinstance(c, ast.Call) and _call_name(c) != "sumprod_builtin"
                      for a in c.args if isinstance(a, ast.Name) and a.id in groups}

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        if _call_name(node) != "sumprod_builtin":  # expanded from the groups themselves
            node.args = [ast.Name(self.temps[a.id], ast.Load())
                         if isinstance(a, ast.Name) and a.id in self.temps else a
                         for a in node.args]
        return node


def _group_max(tree: ast.expr, groups: Sequence[str]) -> bool:
    """Whether a temporary is ``max_of`` of one whole group (``m = max_of(xs)``)."""
    return (isinstance(tree, ast.Call) and _call_name(tree) == "max_of" and len(tree.args) == 1
            and isinstance(tree.args[0], ast.Name) and tree.args[0].id in groups)


def _max_chain(elts: Sequence[str], first: int) -> list[str]:
    """``max_of`` of the fields ``elts`` as the comparisons builtin ``max`` makes, one
    temporary each (``{t<first>}`` on): ``x if x > m else m`` from the left keeps the
    same element (first of ties, nan as max passes it over), without a call or a tuple."""
    out = [elts[0]] if len(elts) == 1 else []
    prev = elts[0]
    for x in elts[1:]:
        out.append(f"({x} if {x} > {prev} else {prev})")
        prev = f"{{t{first + len(out) - 1}}}"
    return out


def _guard_of(name: str, trees: Sequence[ast.expr]) -> str | None:
    """The hoisted condition (``_h<k>``) under which every read of ``name`` in ``trees``
    lies (in ``a`` of ``where(_h<k>, a, b)``: tie_share(xs, i) at logsumexp's
    infinities), or None."""
    guards: set[str | None] = set()

    def walk(node: ast.AST, guard: str | None) -> None:
        if isinstance(node, ast.Name) and node.id == name:
            guards.add(guard)
        elif (isinstance(node, ast.Call) and _call_name(node) == "where"
              and isinstance(node.args[0], ast.Name) and node.args[0].id.startswith("_h")):
            walk(node.args[1], node.args[0].id)
            walk(node.args[2], guard)
        else:
            for child in ast.iter_child_nodes(node):
                walk(child, guard)

    for t in trees:
        walk(t, None)
    return next(iter(guards)) if len(guards) == 1 else None


def _guarded(tree: ast.expr, guard: ast.expr) -> ast.expr:
    """``tree`` (a group's tuple), or ``()`` where the condition ``guard`` is false
    (nothing reads it then). As a condition itself, true exactly where ``guard`` is (a
    group read under a condition has an element)."""
    return ast.IfExp(test=guard, body=tree, orelse=ast.Tuple([], ast.Load()))


def _only_tested(name: str, trees: Sequence[ast.expr]) -> bool:
    """Whether every read of ``name`` in ``trees`` is the condition of a ``where``: its
    truth alone matters there."""
    tests = reads = 0
    for t in trees:
        for node in ast.walk(t):
            if isinstance(node, ast.Name) and node.id == name:
                reads += 1
            elif (isinstance(node, ast.Call) and _call_name(node) == "where"
                  and isinstance(node.args[0], ast.Name) and node.args[0].id == name):
                tests += 1
    return tests == reads


def _call_name(node: ast.Call) -> str:
    return node.func.id if isinstance(node.func, ast.Name) else ""


_SLOT = re.compile(r"__op(\d+)__|__out__")


def _slot_field(m: re.Match[str]) -> str:
    """An operand slot's placeholder as its ``str.format`` field (``{3}``, ``{out}``)."""
    return "{out}" if m.group(1) is None else f"{{{m.group(1)}}}"


def templates(formula: Formula, *, compiled: bool = False) -> tuple[Any, ...]:
    """Return ``str.format`` templates for :class:`~autograd.ops.Codegen`.

    For a fixed-arity op: ``(forward, local)``, a string and a tuple of
    strings, with ``{0}``, ``{1}``... for the operands and ``{out}`` for the
    output. For a variadic op: ``(forward, local, after)``, functions of the
    operand count returning them; ``after`` holds what the partials compute
    without ``i`` (``fsum(ts)``; a neuron's ``act'(z)`` in ``act'(z) * ws[i]``),
    computed once and read as ``{u0}``, ``{u1}``...; ``temps`` the formula's
    temporaries, computed before the forward and read as ``{t0}``, ``{t1}``...

    With ``compiled``, a variadic op's templates take the compiled path's form
    (:mod:`autograd.compile`; :func:`compile_names` gives the names they read):
    ``sumprod(xs, ys)`` in the forward and temporaries as ``fsum`` of the n
    products (the same float, one call), and a group the partials pass whole
    to a helper as one temporary tuple (the node's code linear in n).
    """
    calls = _float_calls()
    consts = _float_consts()
    if not formula.variadic:
        return _fixed_templates(formula, calls, consts)
    if compiled:  # a literal, folded by Python's compiler: -INF is no negation at run time
        consts["INF"] = "1e999"
    groups = formula.groups
    singles = formula.singles
    fwd_tree = parse(formula.forward, formula)
    part_trees = [parse(p, formula, partial=True) for p in formula.partials]
    temp_names = [t for t, _ in formula.temps]
    temp_trees = [parse(src, formula, temps=k) for k, (_, src) in enumerate(formula.temps)]
    if compiled:
        fwd_tree = _ProductSums().visit(fwd_tree)
        temp_trees = [_ProductSums().visit(t) for t in temp_trees]
        whole = _WholeGroups(formula, part_trees)  # a group a partial takes whole: one tuple
        part_trees = [whole.visit(t) for t in part_trees]  # (the forward spells it, once)
    hoist = _Hoist(compiled)  # what the partials compute without i: once, after the output
    part_trees = [hoist.visit(t) for t in part_trees]
    after_trees = list(hoist.calls)
    hoisted = {f"_h{k}": f"{{u{k}}}" for k in range(len(hoist.calls))}
    if compiled:  # a group's tuple: a temporary the forward reads too, or, when every read
        # is under a hoisted condition, after the output and built only where it holds
        # (where nothing but where() tests the condition: the tuple is its value, one line)
        shared = {}
        merged: set[str] = set()
        for g, tup in whole.temps.items():
            guard = _guard_of(tup, [*part_trees, *hoist.calls])
            if guard is None:
                shared[g] = tup
            elif guard not in merged and _only_tested(guard, [*part_trees, *hoist.calls]):
                k = int(guard[2:])
                merged.add(guard)
                hoisted[tup] = hoisted[guard]
                after_trees[k] = _guarded(ast.Name(g, ast.Load()), after_trees[k])
            else:
                hoisted[tup] = f"{{u{len(after_trees)}}}"
                after_trees.append(_guarded(ast.Name(g, ast.Load()), ast.Name(guard, ast.Load())))
        whole.temps = shared
        fwd_tree = whole.visit(fwd_tree)
        temp_names += list(shared.values())
        temp_trees += [ast.Name(g, ast.Load()) for g in shared]
    hoisted.update({t: f"__{t}__" for t in temp_names})  # their fields: per size (plan)
    chained = [compiled and _group_max(t, groups) for t in temp_trees]

    sizes: dict[int, tuple[int, dict[str, list[str]], dict[str, str]]] = {}

    def context(n: int) -> tuple[int, dict[str, list[str]], dict[str, str]]:
        # per operand count, once: the group size, each group's slots, the names
        got = sizes.get(n)
        if got is None:
            k = len(groups)
            size = (n - len(singles)) // k
            group_of = {g: [f"__op{j * size + m}__" for m in range(size)]
                        for j, g in enumerate(groups)}
            ones = {nm: f"__op{k * size + j}__" for j, nm in enumerate(singles)}
            if len(sizes) >= 64:
                sizes.clear()
            got = sizes[n] = (size, group_of, {**consts, "out": "__out__", **ones,
                                               **{h: f"__{h}__" for h in hoisted}})
        return got

    def expand(tree: ast.expr, n: int, i: int | None, fields: dict[str, str] | None = None,
               ) -> str:
        size, group_of, names = context(n)
        env = {"i": i if i is not None else 0, "n": size}
        text = _render(_Expand(group_of, env, size, compiled).visit(_copy(tree)), names, calls)
        for h, u in hoisted.items():
            text = text.replace(f"__{h}__", u)
        for t, u in (plan(n)[1] if fields is None else fields).items():
            text = text.replace(f"__{t}__", u)
        return _SLOT.sub(_slot_field, text)  # one pass: linear in the operand count

    plans: dict[int, tuple[tuple[str, ...], dict[str, str]]] = {}

    def plan(n: int) -> tuple[tuple[str, ...], dict[str, str]]:
        # per operand count, once: the temporaries' templates and each one's field
        got = plans.get(n)
        if got is None:
            group_of = context(n)[1]
            texts: list[str] = []
            fields: dict[str, str] = {}
            for t, tree, chain in zip(temp_names, temp_trees, chained, strict=True):
                elts = group_of[tree.args[0].id] if chain else []  # type: ignore[attr-defined]
                if elts:
                    texts += _max_chain([_SLOT.sub(_slot_field, e) for e in elts], len(texts))
                else:
                    texts.append(expand(tree, n, None, fields))
                fields[t] = f"{{t{len(texts) - 1}}}"
            if len(plans) >= 64:
                plans.clear()
            got = plans[n] = (tuple(texts), fields)
        return got

    def forward(n: int) -> str:
        return expand(fwd_tree, n, None)

    def local(n: int) -> tuple[str, ...]:
        size = context(n)[0]
        out: list[str] = []
        for j, t in enumerate(part_trees):
            if j >= len(groups):
                out.append(expand(t, n, None))
            elif _uses(t, "i"):
                out += [expand(t, n, m) for m in range(size)]
            else:  # the same partial for every element (sum's 1.0): rendered once
                out += [expand(t, n, 0)] * size
        return tuple(out)

    def after(n: int) -> tuple[str, ...]:
        return tuple(expand(c, n, None) for c in after_trees)

    def temps(n: int) -> tuple[str, ...]:
        return plan(n)[0]

    return forward, local, after, temps


# ---------------------------------------------------------------------------
# Human-readable text (the README's op table).


class _Doc(ast.NodeTransformer):
    def __init__(self, out: str, squares: bool) -> None:
        self.out = out
        self.squares = squares

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        v = node.value
        if isinstance(v, float) and v.is_integer() and abs(v) < 1e6:
            return ast.Constant(int(v))
        return node

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id == "out" and self.out:
            return ast.parse(self.out, mode="eval").body
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        if (self.squares and isinstance(node.op, ast.Mult)
                and ast.dump(node.left) == ast.dump(node.right)):
            return ast.BinOp(node.left, ast.Pow(), ast.Constant(2))  # x * x reads x ** 2
        return node

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        fid = node.func.id  # type: ignore[attr-defined]
        if fid == "where":
            return ast.IfExp(test=node.args[0], body=node.args[1], orelse=node.args[2])
        if fid == "div":
            return ast.BinOp(node.args[0], ast.Div(), node.args[1])
        if fid == "pow":
            return ast.BinOp(node.args[0], ast.Pow(), node.args[1])
        return node


def doc_text(src: str, formula: Formula, *, out: str = "", power: str = "**") -> str:
    """Return ``src`` as readable text: ``div(a, b)`` as ``a / b``, ``1.0`` as ``1``.

    Args:
        src: an expression of ``formula``.
        formula: the formula it belongs to.
        out: text substituted for ``out`` (the forward's own text), or ""
            to keep the name.
        power: how powers are written: ``"**"`` (Python) or ``"^"``
            (``a^b`` as in math, and ``x * x`` as ``x^2``).
    """
    tree = ast.parse(src, mode="eval").body
    text = ast.unparse(_Doc(out, squares=power != "**").visit(tree))
    return text.replace(" ** ", power) if power != "**" else text


# ---------------------------------------------------------------------------
# Everything derived from one formula.

_OPERATORS = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul"}


def direct_forward(formula: Formula) -> str:
    """The name of an existing function the forward *is*, or "" (then it is generated).

    ``tanh(x)`` is the helper ``tanh``; ``a + b`` is ``operator.add``
    (``"operator.add"``); ``-x`` is ``operator.neg``. Using the function
    itself saves a Python call per node.
    """
    if formula.variadic:
        return ""
    tree = ast.parse(formula.forward, mode="eval").body
    names = list(formula.names)
    if (isinstance(tree, ast.Call) and isinstance(tree.func, ast.Name)
            and tree.func.id in HELPERS and tree.func.id != "where"
            and [getattr(a, "id", None) for a in tree.args] == names):
        return tree.func.id
    if (isinstance(tree, ast.BinOp) and type(tree.op) in _OPERATORS
            and [getattr(tree.left, "id", None), getattr(tree.right, "id", None)] == names):
        return "operator." + _OPERATORS[type(tree.op)]
    if (isinstance(tree, ast.UnaryOp) and isinstance(tree.op, ast.USub)
            and [getattr(tree.operand, "id", None)] == names):
        return "operator.neg"
    return ""


def helpers_used(formula: Formula) -> tuple[str, ...]:
    """The helper and constant names the formula uses, sorted."""
    used = set()
    trees = [parse(formula.forward, formula),
             *(parse(p, formula, partial=True) for p in formula.partials),
             *(parse(src, formula, temps=k) for k, (_, src) in enumerate(formula.temps))]
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                if node.func.id != "where":
                    used.add(node.func.id)
            elif isinstance(node, ast.Name) and node.id in CONSTANTS:
                used.add(node.id)
    return tuple(sorted(used))


def docs(formula: Formula) -> tuple[str, str]:
    """The forward and derivative as readable text (the README's op table).

    The forward reads as Python (it is also the call text of an operator);
    the derivative writes powers as ``a^b`` and lists the partials in
    operand order, separated by ``", "``
    (``1, -1``; graph labels split it there), or one ``d/dxs[i] = ...`` per
    group; ``out`` reads as the forward's text where that is a plain
    expression.
    """
    fwd = doc_text(formula.forward, formula)
    out = "" if formula.variadic or " if " in fwd else fwd
    parts = [doc_text(p, formula, out=out, power="^") for p in formula.partials]
    if formula.variadic:
        wrt = [f"{g}[i]" for g in formula.groups] + list(formula.singles)
        temps = "".join(f", {t} = {doc_text(src, formula)}" for t, src in formula.temps)
        return fwd + temps, "; ".join(f"d/d{g} = {p}" for g, p in zip(wrt, parts))
    return fwd, ", ".join(parts)  # one per operand, in order (visualize splits on ", ")


def edge_label(formula: Formula, slot: int, names: Sequence[str], *, longest: int = 32) -> str:
    """The partial for operand ``slot`` as readable text, in the operands' own names.

    ``names`` gives each operand's text (``"w"``, ``"(x + 1)"``); ``out`` reads
    as the forward's text where that is plain. This is the text graphs put on
    an edge (``∂(w*x)/∂w = x``).

    Returns:
        The text, or "" when there is none to show: a variadic op or one with
        parameters, a slot without a partial, or a partial longer than
        ``longest`` characters (before the names go in).
    """
    if (formula.variadic or formula.params or len(names) != len(formula.names)
            or not 0 <= slot < len(formula.partials)):
        return ""
    fwd, derivative = docs(formula)
    part = derivative.split(", ")[slot] if len(formula.partials) > 1 else derivative
    if len(part) > longest:
        return ""
    slots = {nm: f"__q{k}__" for k, nm in enumerate(formula.names)}

    class Sub(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> ast.AST:
            return ast.Name(slots.get(node.id, node.id), ast.Load())

    def placed(src: str) -> str:
        return ast.unparse(Sub().visit(ast.parse(src, mode="eval")))

    out = "" if " if " in fwd else doc_text(placed(formula.forward), formula)
    text = doc_text(placed(formula.partials[slot]), formula, out=out, power="^")
    for k, nm in enumerate(names):
        text = text.replace(f"__q{k}__", nm)
    return text


def float_globals(formula: Formula) -> dict[str, Any]:
    """The globals rendered float code of ``formula`` reads (``_tanh`` -> math.tanh...)."""
    out: dict[str, Any] = {}
    for h in helpers_used(formula):
        out[float_name(h)] = HELPERS[h].float_fn if h in HELPERS else CONSTANTS[h]
        if h == "sumprod_builtin":  # templates add its products with the builtin sum
            out["_sum"] = builtins.sum
    return out


def compile_names(formula: Formula) -> dict[str, Any]:
    """The globals ``templates(formula, compiled=True)`` reads: :func:`float_globals`,
    and ``fsum`` where ``sumprod`` became a sum of products."""
    out = float_globals(formula)
    if "sumprod" in helpers_used(formula):
        out[float_name("fsum")] = HELPERS["fsum"].float_fn
    return out


def value_globals() -> dict[str, Any]:
    """The globals rendered Value rules read."""
    g: dict[str, Any] = {"Any": Any, "_d": _d}
    g.update({f"_v_{h}": fn for h, fn in VALUE_HELPERS.items()})
    g.update({float_name(c): v for c, v in CONSTANTS.items()})
    return g


class Derived:
    """The callables and texts derived from one formula (see :func:`derive`).

    Attributes:
        forward: the float forward.
        local: the float rule ``local(out, *operands) -> partials``.
        value: the Value rule ``value(operands, out, wrt) -> partial``.
        forward_template: the compile template of the forward (or a function
            of the operand count, for a variadic op).
        local_templates: the partials' templates (or a function of the count).
        names: the globals the templates call.
        formula_text: the forward as readable text.
        derivative_text: the partials as readable text.
    """

    __slots__ = ("derivative_text", "formula_text", "forward", "forward_template", "local",
                 "local_templates", "names", "value")

    def __init__(self, forward: Callable[..., float], local: Callable[..., tuple[float, ...]],
                 value: Callable[[tuple[Any, ...], Any, int], Any], forward_template: Any,
                 local_templates: Any, names: dict[str, Any], formula_text: str,
                 derivative_text: str) -> None:
        self.forward = forward
        self.local = local
        self.value = value
        self.forward_template = forward_template
        self.local_templates = local_templates
        self.names = names
        self.formula_text = formula_text
        self.derivative_text = derivative_text


def derive(name: str, formula: Formula) -> Derived:
    """Check ``formula`` and build every form of it at run time (for ops defined by users).

    The built-in ops get the same forms from the committed module
    :mod:`autograd._derived` (no parsing at import).

    Raises:
        FormulaError: if the formula is outside the language.
    """
    check(formula, name)
    fsrc, lsrc = float_source(name, formula)
    glob: dict[str, Any] = {"Any": Any, **float_globals(formula)}
    exec(compile(fsrc + "\n" + lsrc, f"<formula {name}>", "exec"), glob)
    vglob = value_globals()
    exec(compile(value_source(name, formula), f"<formula {name}>", "exec"), vglob)
    direct = direct_forward(formula)
    if direct.startswith("operator."):
        import operator

        fwd = getattr(operator, direct.split(".", 1)[1])
    elif direct:
        fwd = HELPERS[direct].float_fn
    else:
        fwd = glob[f"_{name}_forward"]
    ft, lt = templates(formula)[:2]  # a variadic op's are rendered lazily by define_op
    ftext, dtext = docs(formula)
    return Derived(fwd, glob[f"_{name}_local"], vglob[f"_{name}_value"], ft, lt,
                   float_globals(formula), ftext, dtext)


def factored(formula: Formula) -> tuple[str, tuple[str | None, ...]] | None:
    """The shared factor of a variadic formula whose partials are ``A * g[i]`` and ``A``.

    A neuron's partials are ``act'(z) * ws[i]``, ``act'(z) * xs[i]`` and
    ``act'(z)``: one factor ``A``, computed once, times an element of a group
    (or ``A`` itself for a single operand). Code that specializes on ``A``
    (``A == 1``: the partials are the groups themselves) reads the structure
    from here instead of restating it.

    Returns:
        ``(A, reads)``: ``A`` as formula text (``"1.0"`` where the partials are
        the groups themselves), and per partial the group it multiplies (None
        for ``A`` itself); None if the partials have another form.
    """
    if not formula.variadic:
        return None
    hoist = _Hoist()
    trees = [hoist.visit(parse(p, formula, partial=True)) for p in formula.partials]
    factor: str | None = None
    reads: list[str | None] = []
    for j, t in enumerate(trees):
        single = j >= len(formula.groups)
        if isinstance(t, ast.BinOp) and isinstance(t.op, ast.Mult) and not single:
            a, g = t.left, t.right
        else:
            a, g = t, None
        if g is None and not single:  # g[i] alone: A is 1.0
            a, g = ast.Constant(1.0), t
        if g is not None and not (isinstance(g, ast.Subscript) and isinstance(g.value, ast.Name)
                                  and isinstance(g.slice, ast.Name) and g.slice.id == "i"):
            return None
        if isinstance(a, ast.Name) and a.id.startswith("_h"):
            a = hoist.calls[int(a.id[2:])]
        if _uses(a, "i"):
            return None
        text = ast.unparse(a)
        if factor is None:
            factor = text
        elif text != factor:
            return None
        reads.append(g.value.id if g is not None else None)  # type: ignore[attr-defined]
    return (factor or "1.0"), tuple(reads)


def float_expression(src: str, formula: Formula, names: Mapping[str, str],
                     *, partial: bool = True) -> str:
    """``src`` (an expression of ``formula``, or of its temporaries) as float code, each
    name renamed by ``names`` (``{"xs": "xdt"}``); its globals are :func:`float_globals`'s.

    For code that inlines a formula's pieces (``nn.layers``' per-layer kernels);
    ``sumprod_builtin(a, b)`` is written ``_sum(_map(_mul, a, b))`` (the builtins
    ``sum``, ``map`` and ``operator.mul``: no Python call).
    """
    tree = _ElementLoops().visit(parse(src, formula, partial=partial))

    class Inline(ast.NodeTransformer):  # sumprod_builtin(a, b) as sum(map(mul, a, b)): C calls
        def visit_Call(self, node: ast.Call) -> ast.AST:
            self.generic_visit(node)
            if isinstance(node.func, ast.Name) and node.func.id == "sumprod_builtin":
                return ast.Call(ast.Name("_sum"), [ast.Call(ast.Name("_map"), [
                    ast.Name("_mul"), *node.args], [])], [])
            return node

    return _render(Inline().visit(tree), {**_float_consts(), **names}, _float_calls())


def temp_function(formula: Formula, name: str) -> Callable[..., float]:
    """The float function ``f(*operands)`` computing the formula's temporary ``name``
    as its float rules do (a neuron's ``z = w . x + b``, for code that recomputes
    one pre-activation exactly).

    Raises:
        FormulaError: if the formula has no temporary of that name.
    """
    if name not in dict(formula.temps):
        raise FormulaError(f"temp_function: the formula has no temporary {name!r}; its "
                           f"temporaries are {', '.join(dict(formula.temps)) or 'none'}")
    bound, reads = _temp_lines(formula, [ast.Name(name, ast.Load())], _float_consts(),
                               _float_calls())
    src = (f"def _temp(*ops: float) -> float:\n{_group_split(formula, 'ops', reads)}"
           f"{bound}    return {name}\n")
    glob: dict[str, Any] = {**float_globals(formula)}
    exec(compile(src, f"<temporary {name}>", "exec"), glob)
    fn: Callable[..., float] = glob["_temp"]
    return fn


def value_names(src: str, formula: Formula) -> frozenset[str]:
    """The operand names and ``out`` that ``src`` reads as values, not in a condition.

    A partial whose value-names are all constants in a node evaluates to a
    float (``b`` in ``a * b`` with a constant ``b``; ``where(out > 0.0, 1.0,
    0.0)``, whose ``out`` is only tested).
    """
    tree = parse(src, formula, partial=True)
    names = {*formula.names, "out"}
    found: set[str] = set()

    def walk(node: ast.AST) -> None:
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id == "where":
            walk(node.args[1])
            walk(node.args[2])
            return
        if isinstance(node, ast.Name) and node.id in names:
            found.add(node.id)
        for child in ast.iter_child_nodes(node):
            walk(child)

    walk(tree)
    return frozenset(found)
