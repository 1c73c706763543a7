"""The float code :mod:`autograd.compile` emits for one trace: its passes 2-6.

Each pass is a function (or a small class keeping a pass's state) with the
trace's nodes in creation order as input: :func:`names` (each Value's name in
the code), :func:`analyse` (each node's emission shape, which nodes a wanted
gradient flows through, which can be inlined), :class:`Forward` (the forward
lines, from each op's templates or calls of its functions), :func:`emit_guards`
and :class:`Backward` (the backward lines, in ``Value.backward``'s order and
accumulation order). :class:`Forward` and :class:`Backward` also note which
lines the *lean* code (:func:`lean_body`) leaves out for ``raise _Rare``: the
sides of a finiteness or infinity test that only IEEE edges take. No derivative
formula lives here: every line comes from an op-table entry (:mod:`autograd.ops`).
"""

from __future__ import annotations

import ast
import functools
import re
import string
from collections.abc import Callable
from typing import Any, NamedTuple

from autograd.engine import Value
from autograd.trace import TraceError, literal

__all__ = ["Backward", "Forward", "RareBranch", "analyse", "emit_guards", "lean_body", "names",
           "rare"]


class RareBranch(Exception):
    """Raised by a trace's lean code where the data takes a branch only its full code
    has (a logsumexp's partials at an infinite output): the full code runs instead."""


def rare() -> Any:
    """The lean code's side of a finiteness test that only a non-finite value takes
    (``_rare()``, see ``_lean_forward``): raise :class:`RareBranch`."""
    raise RareBranch

_MAX_INLINE = 6  # deepest nesting of inlined expressions (keeps lines short)
# A call of a helper on names and literals only (``_exp(v4 - v5)``): a forward
# line of that form is reused where a partial computes the same call (the
# partials of logsumexp are the softmax outputs over it), the same value.
_FLAT_CALL = re.compile(r"_\w+\([^()]*\)")
_TEMP_REF = re.compile(r"\{t\d+\}")  # a template's read of a temporary
_CALL_IN = re.compile(r"_\w+\(")  # a template's call of a helper


def _gated(local: tuple[str, ...], n_after: int) -> list[int] | None:
    """If every partial template is ``{u0}`` or ``{u0} * {i}``, the operands i they read.

    ``None`` otherwise (or when the op computes other than one value after
    its output).
    """
    if n_after != 1:
        return None
    refs: list[int] = []
    for t in local:
        if t == "{u0}":
            continue
        head, _, tail = t.partition(" * ")
        if head != "{u0}" or not (tail[:1] == "{" and tail[-1:] == "}" and tail[1:-1].isdigit()):
            return None
        refs.append(int(tail[1:-1]))
    return refs


def names(rec: Any, targs: list[Value], traced: list[Value], leaves: dict[Value, None],
           order: list[Value]) -> tuple[dict[Value, str], list[Value], list[Value]]:
    """Pass 2: each Value's name in the code (``a<i>`` arguments, ``p<j>`` captured
    leaves, ``v<m>`` nodes), the captured leaves, and the leaves whose gradients
    the code returns (Value arguments, not numbers, then the captured ones)."""
    name: dict[Value, str] = {}
    for i, v in enumerate(targs):
        name.setdefault(v, f"a{i}")
    for copy, source in rec.copies.items():  # Value(x) of a number argument x is x
        name[copy] = name[source]
    captured = [v for v in leaves if v not in name]
    for j, v in enumerate(captured):
        name[v] = f"p{j}"
    for m, node in enumerate(order):
        name[node] = f"v{m}"
    grad_leaves: list[Value] = []
    seen_leaf = dict.fromkeys(traced)
    for v in [*targs, *captured]:
        if v not in seen_leaf:
            seen_leaf[v] = None
            grad_leaves.append(v)
    return name, captured, grad_leaves


_RENDERED: dict[Any, tuple[tuple[Any, ...], dict[str, Any]]] = {}
_BY_SIZE: dict[tuple[Any, int], tuple[Any, ...]] = {}  # (rule, n) -> its templates
_MAX_SIZES = 512  # (rule, n) pairs kept: a long sum's templates are long strings


def _compile_templates(op: Any) -> tuple[tuple[Any, ...], dict[str, Any]] | None:
    """A variadic formula op's templates in the compiled path's form, and the names
    they read (:func:`autograd.formula_render.templates` with ``compiled``: a
    ``sumprod`` as one ``fsum`` of its products...); None for other ops (their
    :class:`~autograd.ops.Codegen` as it is)."""
    rule = op.rule
    if rule is None or not rule.variadic or not callable(op.codegen.forward):
        return None
    got = _RENDERED.get(rule)
    if got is None:
        from autograd import formula_render

        got = _RENDERED[rule] = (formula_render.templates(rule, compiled=True),
                                 formula_render.compile_names(rule))
    return got


_Fill = Callable[[list[str], dict[str, str]], str]  # see _filler


@functools.lru_cache(maxsize=4096)
def _filler(template: str) -> _Fill:
    """``template`` as a function of the operands' texts and the other fields' (``{out}``,
    ``{t0}``...): ``template.format(*args, **kw)``, compiled once to an f-string (a
    few times faster: W-tape fills some 50,000 templates)."""
    env: dict[str, str] = {}
    parts = []
    for k, (text, field, spec, conversion) in enumerate(string.Formatter().parse(template)):
        if text:
            env[f"_s{k}"] = text
            parts.append(f"{{_s{k}}}")
        if field is not None:
            if spec or conversion or not (field.isdigit() or field.isidentifier()):
                return lambda args, kw: template.format(*args, **kw)
            parts.append(f"{{a[{int(field)}]}}" if field.isdigit() else f"{{k[{field!r}]}}")
    # our own text, no input's; compiled first: CPython's eval of a string marks a
    # KeyboardInterrupt that passes through it as unhandled, and the process, however
    # it handles the interrupt, then ends killed by SIGINT (Ctrl-C while compiling)
    src = compile(f"lambda a, k: f{''.join(parts)!r}", "<template>", "eval")
    fill: _Fill = eval(src, env)
    return fill


class _Fillers(NamedTuple):
    """A templated shape's templates as functions (:func:`_filler`)."""

    temps: tuple[_Fill, ...]
    fwd: _Fill
    after: tuple[_Fill, ...]
    factors: tuple[_Fill, ...]
    tests: tuple[_Fill | None, ...]  # the guard tests'
    rare: _Fill | None  # the lean forward's side (see _lean_forward)


class _Shape(NamedTuple):
    """How to emit one op with one operand count (:func:`_shape`)."""

    templated: bool  # from templates (else calls of the op's functions)
    temps: tuple[str, ...]  # the temporaries' templates
    fwd: str  # the output's template (for calls: the forward function's name)
    after: tuple[str, ...]  # the after-values' templates
    local: tuple[str, ...] | str  # the partials' (for calls: the local function's name)
    npar: int  # operands that get a gradient (the op's parameters come last)
    fwd_uses: tuple[int, ...]  # per operand, how often the forward lines read it
    bwd_refs: frozenset[int]  # the operands the backward reads
    out_ref: bool  # whether the backward reads the output
    shared: bool  # temporaries only its own forward lines read (names shared: Forward.node)
    factors: tuple[str, ...]  # each partial as g * <partial> needs it
    guard_tests: tuple[str | None, ...]  # per after-value, see _guard_test
    gated: list[int] | None  # see _gated
    calls: bool  # partials calling helpers (see _reuse)
    tied: bool  # each partial one of two sides on an after-value (see _tied)
    lean_fwd: tuple[str, str] | None  # see _lean_forward
    flat: bool  # the forward a call on its fields only (see _FLAT_CALL)
    fill: _Fillers | None  # the templates as functions (None for calls)


def _shape(op: Any, n: int, glob: dict[str, Any]) -> _Shape:
    """How to emit ``op`` with ``n`` operands: its templates, or its functions' names."""
    npar = n - op.params
    cg = op.codegen
    if cg is None:
        base = f"_op{sum(1 for k in glob if k.endswith('_f') and k.startswith('_op'))}"
        for k, v in glob.items():  # one pair of names per op
            if v is op.forward and k.startswith("_op") and k.endswith("_f"):
                base = k[:-2]
        glob[base + "_f"] = op.forward
        glob[base + "_l"] = op.local
        every = frozenset(range(n))
        return _Shape(False, (), base + "_f", (), base + "_l", npar, (1,) * n, every, True, True,
                      (), (), None, False, False, None, False, None)
    rendered = _compile_templates(op)
    for key, val in (cg.names if rendered is None else rendered[1]).items():
        if glob.get(key, val) is not val:
            raise TraceError(
                f"compile: op {op.name!r} binds template name {key!r} to another "
                "object than an earlier op; rename it in its Codegen.names"
            )
        glob[key] = val
    if rendered is None:
        temps, fwd = cg.temp_templates(n), cg.forward_template(n)
        after, local = cg.after_templates(n), cg.local_templates(n)
    else:  # rendered once per operand count, for every later trace too
        got = _BY_SIZE.get((op.rule, n))
        if got is None:
            if len(_BY_SIZE) >= _MAX_SIZES:
                _BY_SIZE.clear()
            t_fwd, t_local, t_after, t_temps = rendered[0]
            got = _BY_SIZE[(op.rule, n)] = (t_temps(n), t_fwd(n), t_after(n), t_local(n))
        temps, fwd, after, local = got
    temps, fwd = tuple(map(_bare, temps)), _bare(fwd)
    fwd_text = "".join(temps) + fwd
    fwd_uses = tuple(fwd_text.count(f"{{{i}}}") for i in range(n))
    bwd_text = "".join(after) + "".join(local)
    bwd_refs = frozenset(i for i in range(n) if f"{{{i}}}" in bwd_text)
    # temporaries only the node's own forward lines read (not its partials, which the
    # backward reads later) take names every such node shares (see Forward.node)
    shared = not _TEMP_REF.search("".join(local))
    # each partial as the backward's g * <partial> needs it: in parentheses unless an atom
    factors = tuple(t if _atom(t) else f"({t})" for t in local)
    # whether the partials call helpers (a call the forward made may be reused: see
    # _reuse), and whether each is one of two sides on an after-value (see _tied)
    calls = any(_CALL_IN.search(t) for t in local)
    tied = bool(factors) and all(f.startswith("(") and " if {u" in f for f in factors)
    tests = tuple(map(_guard_test, after))
    lean = _lean_forward(fwd)
    fill = _Fillers(tuple(map(_filler, temps)), _filler(fwd), tuple(map(_filler, after)),
                    tuple(map(_filler, factors)),
                    tuple(None if t is None else _filler(t) for t in tests),
                    None if lean is None else _filler(lean[0]))
    return _Shape(True, temps, fwd, after, local, npar, fwd_uses, bwd_refs, "{out}" in bwd_text,
                  shared, factors, tests, _gated(local, len(after)), calls, tied, lean,
                  bool(_FLAT_CALL.fullmatch(fwd)), fill)


_FIELD = re.compile(r"\{\w+\}")  # a template's field: {0}, {t1}, {out}
_OWN_FIELD = re.compile(r"\{(?:\d+|out)\}")  # a field of an operand or of the output


@functools.lru_cache(maxsize=1024)
def _guard_test(template: str) -> str | None:
    """The condition ``c`` of an after-template ``(<tuple> if c else ())`` (a group's
    tuple built only where a partial reads it: logsumexp's at an infinite output),
    when ``c`` reads the output and operands only (names holding their value all
    through the backward, unlike a temporary's shared name); None otherwise."""
    tree = _offsets_probe(template)
    if not (isinstance(tree, ast.IfExp) and isinstance(tree.body, ast.Tuple)
            and isinstance(tree.orelse, ast.Tuple) and not tree.orelse.elts):
        return None
    test = _text(template, tree.test)
    if not all(_OWN_FIELD.fullmatch(f) for f in _FIELD.findall(test)):
        return None
    return test


@functools.lru_cache(maxsize=1024)
def _bare(template: str) -> str:
    """``template`` without parentheses around the whole of it where the line
    ``x = <template>`` means the same without them (``(a if a > b else b)``, a
    logsumexp's conditional): fewer tokens for CPython's parser, which takes
    most of a compile (W-tape of 10,000 ops: 5,663 lines, its compile ~5% less)."""
    if not (template.startswith("(") and template.endswith(")")):
        return template
    probe = _FIELD.sub("_f", template).replace("{{", "{").replace("}}", "}")
    try:
        same = ast.dump(ast.parse(f"_x = {probe[1:-1]}")) == ast.dump(ast.parse(f"_x = {probe}"))
    except SyntaxError:  # (a generator expression, a walrus...)
        same = False
    return template[1:-1] if same else template


def _offsets_probe(template: str) -> ast.expr | None:
    """``template`` parsed as an expression, each field a name of its own length (the
    nodes' offsets are the template's); None if it is no one-line expression."""
    if "{{" in template or "\n" in template:
        return None
    try:
        return ast.parse(_FIELD.sub(lambda m: "_" * len(m.group(0)), template), mode="eval").body
    except SyntaxError:
        return None


def _text(template: str, node: ast.expr) -> str:
    """The text of ``node``, a part of :func:`_offsets_probe`'s tree, in ``template``."""
    return template[node.col_offset:node.end_col_offset]


@functools.lru_cache(maxsize=1024)
def _lean_forward(template: str) -> tuple[str, str] | None:
    """For a forward template ``a if x - x == 0.0 else b`` (a finiteness test: only
    an infinite or nan ``x`` takes ``b``, logsumexp's helper where its largest entry
    is not finite), ``b`` and what follows it: the lean line has ``_rare()``
    (raising :class:`RareBranch`) in place of ``b``. None for any other template."""
    tree = _offsets_probe(template)
    if not isinstance(tree, ast.IfExp):
        return None
    test = tree.test
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1
            and isinstance(test.ops[0], ast.Eq) and isinstance(test.comparators[0], ast.Constant)
            and test.comparators[0].value == 0.0 and isinstance(test.left, ast.BinOp)
            and isinstance(test.left.op, ast.Sub)
            and isinstance(test.left.left, ast.Name)  # a field or a name
            and _text(template, test.left.left) == _text(template, test.left.right)):
        return None
    return _text(template, tree.orelse), template[tree.orelse.end_col_offset:]


@functools.lru_cache(maxsize=1024)
def _atom(template: str) -> bool:
    """Whether ``g * <template>`` means ``g * (<template>)`` (a name, a call, a
    unary minus, an expression in parentheses: the partial needs no more of them).
    Its fields are filled with names, literals (negative ones in parentheses) and
    parenthesized expressions: atoms, which keep it one."""
    probe = _FIELD.sub("_f", template).replace("{{", "{").replace("}}", "}")
    try:
        bare, grouped = ast.parse(f"_x = _g * {probe}"), ast.parse(f"_x = _g * ({probe})")
    except SyntaxError:
        return False
    return ast.dump(bare) == ast.dump(grouped)


def analyse(order: list[Value], outs: list[Value], guards: list[Any], wants: set[Value],
             glob: dict[str, Any],
             ) -> tuple[list[tuple[Any, ...]], set[Value], dict[Value, int], set[Value]]:
    """Pass 3: per node its operands, emission shape and whether a wanted gradient
    flows through it; the set of such nodes (``needs``); how often forward code
    uses each node; and the nodes that must keep a name (``pinned``: outputs,
    guards and values backward reads). The others may be inlined into their
    one consumer's expression."""
    shapes: dict[tuple[int, int], _Shape] = {}
    needs = set(wants)
    uses: dict[Value, int] = {}
    pinned: set[Value] = set(outs)
    for g in guards:
        pinned.add(g[0])
        if isinstance(g[2], Value):
            pinned.add(g[2])
    info = []
    for node in order:
        op = node._entry
        operands = node.operands
        n = len(operands)
        shape = shapes.get((id(op), n))  # Op hashes all its fields: key by identity
        if shape is None:
            shape = shapes[(id(op), n)] = _shape(op, n, glob)
        p = node._p  # the Value operands (one bare, or a tuple)
        if type(p) is tuple:
            need = False
            for q in p:
                if q in needs:
                    need = True
                    break
        else:
            need = p in needs
        if need:
            needs.add(node)
        fwd_uses, bwd_refs, out_ref = shape.fwd_uses, shape.bwd_refs, shape.out_ref
        for i, o in enumerate(operands):
            if isinstance(o, Value):
                uses[o] = uses.get(o, 0) + fwd_uses[i]
                if need and i in bwd_refs:
                    pinned.add(o)
        if need and out_ref:
            pinned.add(node)
        info.append((operands, shape, need))
    return info, needs, uses, pinned


class Forward:
    """Pass 4: emit the forward, from each op's templates (or calls of its functions).

    Keeps what the backward reads: each node's partials as expressions
    (``local_expr``), the gated nodes (``gate``: every partial is one value u
    times an operand, or u itself, as a fused neuron's act'(z) * w_i: when u is
    0 and the gradient and those operands are finite, the node passes on
    zeros only and its backward lines are skipped, as ``Value.backward`` skips
    a node whose partials are all zero), the forward calls emitted
    (``computed``, see ``_FLAT_CALL``), and the guarded tuples (``guarded``: name
    -> its line's index in ``body`` and its condition, see ``_guard_test``).
    """

    def __init__(self, body: list[str], name: dict[Value, str], uses: dict[Value, int],
                 pinned: set[Value], needs: set[Value]) -> None:
        self.body, self.name, self.uses, self.pinned, self.needs = body, name, uses, pinned, needs
        self.emit = body.append
        self.guarded: dict[str, tuple[int, str]] = {}
        self.lean: list[tuple[int, int, list[str]]] = []  # patches for lean_body
        self.inline: dict[Value, str] = {}
        self.depth: dict[Value, int] = {}
        self.lits: dict[float, str] = {}
        # per node its (operand, partial) for each operand a wanted gradient flows to,
        # whether they call helpers and whether they are tied (see _shape)
        self.local_expr: dict[Value, tuple[list[tuple[Value, str]], bool, bool]] = {}
        self.gate: dict[Value, tuple[str, list[str]]] = {}
        self.computed: dict[str, str] = {}
        self.calls = 0  # nodes emitted as calls of their op's Python functions

    def operands(self, operands: tuple[Any, ...]) -> tuple[list[str], int]:
        """Each operand's text (name, inlined expression or literal), and the
        deepest nesting among them."""
        args_s = []
        dep = 0
        for o in operands:
            if isinstance(o, Value):
                e = self.inline.get(o)
                if e is None:
                    args_s.append(self.name[o])
                else:
                    args_s.append(e)
                    d_ = self.depth[o]
                    if d_ > dep:
                        dep = d_
            else:
                lit = self.lits.get(o) if o else None
                if lit is None:
                    lit = literal(o)
                    if o:
                        self.lits[o] = lit
                args_s.append(lit)
        return args_s, dep

    def node(self, m: int, node: Value, operands: tuple[Any, ...], shape: _Shape,
             need: bool) -> None:
        """Emit node ``m`` (or keep it as an expression for its one consumer)."""
        emit = self.emit
        kind, t_temps, t_fwd, t_after, t_local, npar = shape[:6]
        args_s, dep = self.operands(operands)
        out = f"v{m}"
        can_inline = (node not in self.pinned and self.uses.get(node, 0) == 1
                      and dep < _MAX_INLINE and not t_temps)
        if not kind:  # calls of the op's forward and local functions
            self.calls += 1
            joined = ", ".join(args_s)
            if can_inline:
                self.inline[node] = f"{t_fwd}({joined})"
                self.depth[node] = dep + 1
                return
            emit(f"    {out} = {t_fwd}({joined})")
            if need:
                emit(f"    d{m} = {t_local}({out}, {joined})")
                needs = self.needs
                self.local_expr[node] = ([(o, f"d{m}[{i}]") for i, o in enumerate(operands[:npar])
                                          if isinstance(o, Value) and o in needs], False, False)
            return
        kw: dict[str, str] = {}
        fill: _Fillers = shape.fill  # type: ignore[assignment]
        # temporaries the partials do not read are dead after this node's lines: the
        # same few names for every node (fewer slots in the frame)
        shared = shape.shared
        for k, f in enumerate(fill.temps):
            tn = f"t{k}" if shared else f"t{m}_{k}"
            emit(f"    {tn} = {f(args_s, kw)}")
            kw[f"t{k}"] = tn
        expr = fill.fwd(args_s, kw)
        if can_inline and not (need and t_after):
            self.inline[node] = f"({expr})"
            self.depth[node] = dep + 1
        else:
            if fill.rare is not None:  # the lean line raises where the full one is rare
                tail = shape.lean_fwd[1]  # type: ignore[index]
                cut = len(expr) - len(tail) - len(fill.rare(args_s, kw))
                at = len(self.body)
                self.lean.append((at, at + 1, [f"    {out} = {expr[:cut]}_rare(){tail}"]))
            emit(f"    {out} = {expr}")
            kw["out"] = out
            if shape.flat and _FLAT_CALL.fullmatch(expr) and not (t_temps and shared):
                # (a shared name changes)
                self.computed.setdefault(expr, out)
        if need:
            for k, (f, test) in enumerate(zip(fill.after, fill.tests)):
                un = f"u{m}_{k}"
                if test is not None:
                    self.guarded[un] = (len(self.body), test(args_s, kw))
                emit(f"    {un} = {f(args_s, kw)}")
                kw[f"u{k}"] = un
            needs = self.needs
            self.local_expr[node] = ([(o, f(args_s, kw))
                                      for f, o in zip(fill.factors, operands[:npar])
                                      if isinstance(o, Value) and o in needs],
                                     shape.calls, shape.tied)
            gated = shape.gated
            if gated is not None:
                self.gate[node] = (kw["u0"], [args_s[i] for i in gated])


def lean_body(body: list[str], patches: list[tuple[int, int, list[str]]]) -> list[str]:
    """``body`` with each patch ``(start, end, lines)`` applied: its lines ``start`` to
    ``end`` (exclusive) replaced by ``lines`` (the patches do not overlap)."""
    out: list[str] = []
    at = 0
    for start, end, lines in sorted(patches, key=lambda p: p[0]):
        out += body[at:start]
        out += lines
        at = end
    out += body[at:]
    return out


def emit_guards(emit: Callable[[str], None], guards: list[Any], name: dict[Value, str]) -> None:
    """Pass 5: one check per guard (after the forward; before any gradient is returned)."""
    for value, what, other, res in guards:
        rhs = name[other] if isinstance(other, Value) else literal(other)
        cond = f"{name[value]} {what} {rhs}"
        emit(f"    if {'not ' if res else ''}({cond}): raise _GuardFailed")


class Backward:
    """Pass 6: emit the backward, in ``Value.backward``'s order and accumulation order.

    Interior gradients live in a pool of names reused once a node is done; a
    node whose gradient receives one contribution keeps it as an expression,
    substituted where it is used. A contribution that is a name itself (a sum's
    gradient passed on with partial 1.0) is that name, shared, not a copy: a
    shared name is never accumulated into, and returns to the pool when its
    last holder is done.

    A node whose lines are written for either side of a guarded tuple (a
    logsumexp's, empty unless its output is infinite) also gets lean lines
    (``lean``: patches for :func:`lean_body`): its tuple's forward line goes,
    and its lines become the common side's, after ``if <condition>: raise
    _Rare`` (``Forward`` adds those of the forward, see ``_lean_forward``); the
    lean code is what CPython compiles first, the full code only if it raises.
    """

    def __init__(self, body: list[str], gname: dict[Value, str],
                 wants: set[Value], needs: set[Value], fw: Forward) -> None:
        self.body, self.gname, self.wants, self.needs, self.fw = body, gname, wants, needs, fw
        self.emit = body.append
        self.lean = fw.lean
        self.free: list[str] = []
        self.fresh = 1
        self.gexpr: dict[Value, tuple[str, int]] = {}  # pending gradient expressions, depth
        self.incoming: dict[Value, int] = {}  # contributions each node's gradient receives
        self.holders: dict[str, int] = {}  # nodes holding a gradient name, when not 1

    def new_name(self) -> str:
        """A gradient name from the pool, or a new one."""
        if self.free:
            return self.free.pop()
        self.fresh += 1
        return f"g{self.fresh - 1}"

    def run(self, loss: Value, order: list[Value]) -> None:
        """Emit every node's backward lines, from the loss down."""
        needs, incoming = self.needs, self.incoming
        for pairs, _, _ in self.fw.local_expr.values():
            for o, _ in pairs:
                incoming[o] = incoming.get(o, 0) + 1
        self.gname[loss] = "g0"
        self.emit("    g0 = 1.0")
        for node in reversed(order):
            gn = self.gname.get(node)
            depth_g = 0
            if gn is None:
                pend = self.gexpr.pop(node, None)
                if pend is None or node not in needs:
                    continue  # not on the loss's graph (a guard's), or no gradient wanted
                gn, depth_g = pend
            self.node(node, gn, depth_g)

    def node(self, node: Value, gn: str, depth_g: int) -> None:
        """Emit the lines passing ``node``'s gradient ``gn`` (an expression of
        nesting ``depth_g`` when pending) on to its operands."""
        emit, gname, incoming, wants = self.emit, self.gname, self.incoming, self.wants
        pairs, calls, tied = self.fw.local_expr[node]
        if calls and self.fw.computed:
            computed = self.fw.computed
            pairs = [(o, _reuse(d, computed)) for o, d in pairs]
        if depth_g and (len(pairs) != 1 or depth_g >= _MAX_INLINE):
            tmp = self.new_name()
            emit(f"    {tmp} = {gn}")
            gn, depth_g = tmp, 0
        holders = self.holders.get(gn, 1) if not depth_g else 0
        gating = self.fw.gate.get(node) if len(pairs) > 1 and not depth_g else None
        if (gating is None and len(pairs) > 1 and pairs[0][1] == pairs[1][1]
                and pairs[0][1] not in ("1.0", "-1.0")
                and all(d == pairs[0][1] for _, d in pairs)):  # mean's 1.0 / n: one product
            tmp = self.new_name()
            emit(f"    {tmp} = {_times(gn, pairs[0][1], depth_g > 0)}")
            if not depth_g:
                self.release(gn, holders)
            gn, depth_g, holders = tmp, 0, 1
            pairs = [(o, "1.0") for o, _ in pairs]
        if len(pairs) == 1 and pairs[0][1] == "1.0" and pairs[0][0] not in gname:
            o = pairs[0][0]  # the gradient passes through unchanged
            if not depth_g and holders == 1:
                gname[o] = gn
                return
            if incoming.get(o) == 1 and o not in wants:
                self.gexpr[o] = (gn, depth_g)
                return
        pending = depth_g > 0
        kept = False  # a pending expression reads gn: keep its name out of the pool
        ind = "    "
        fresh_names: set[str] = set()
        split = _tied(pairs) if tied and gating is None and len(pairs) > 1 else None
        lines: list[str] = []
        if split is not None:  # a line per partial, ending with it: completed below
            emit = lines.append
            pairs = [(o, "") for o, _ in pairs]
        elif gating is not None:
            for o, _ in pairs:  # names first given here start at 0.0 (what they hold if skipped)
                if o not in gname:
                    new = gname[o] = self.new_name()
                    fresh_names.add(new)
                    emit(f"    {new} = 0.0")
            u_name, refs = gating
            emit(f"    if {u_name} != 0.0 or ({' + '.join([gn, *refs])}) * 0.0 != 0.0:")
            ind = "        "
        last = len(pairs) - 1
        for k, (o, d) in enumerate(pairs):
            term = f"{gn} * {d}" if d != "1.0" and d != "-1.0" else _times(gn, d, pending)
            go = gname.get(o)
            if go is not None:
                if go in fresh_names:
                    fresh_names.discard(go)
                    emit(f"{ind}{go} = {term}")
                else:
                    emit(f"{ind}{go} += {term}")
            elif incoming.get(o) == 1 and o not in wants and split is None:
                if term == gn:  # the gradient itself: o holds the name too
                    self.gexpr[o] = (gn, 0)
                    self.holders[gn] = holders = holders + 1
                else:
                    self.gexpr[o] = (term, depth_g + 1)
                    kept = True
            elif term == gn and k == last and holders == 1 and not kept:
                gname[o] = gn  # node's last use of its name: o's from now on
                return
            else:
                go = gname[o] = self.new_name()
                emit(f"    {go} = {term}")
        if split is not None:
            cond, (side_a, side_b) = split
            body = self.body
            start = len(body)
            common = [line + d for line, d in zip(lines, side_b)]
            body.append(f"    if {cond}:")
            body += ["    " + line + d for line, d in zip(lines, side_a)]
            body.append("    else:")
            body += ["    " + line for line in common]
            guard = self.fw.guarded.get(cond)
            if guard is not None:  # the lean lines: the tuple's line goes (its only reader)
                at, test = guard
                self.lean.append((at, at + 1, []))
                self.lean.append((start, len(body), [f"    if {test}: raise _Rare", *common]))
        if not depth_g and not kept:
            self.release(gn, holders)

    def release(self, gn: str, holders: int) -> None:
        """A node is done with its gradient name ``gn`` (held by ``holders`` nodes)."""
        if holders > 1:  # another node still holds the name
            self.holders[gn] = holders - 1
        else:
            self.holders.pop(gn, None)
            self.free.append(gn)  # every consumer of node is done: reuse its name


# a partial taking one of two values on a name computed once per node (logsumexp's
# tie_share(xs, i) where its output is infinite, else exp(xs[i] - out)): each side a
# name or a call on names
_TIED = re.compile(r"\((\w+|_\w+\([^()]*\)) if (u\d+_\d+) else (\w+|_\w+\([^()]*\))\)")


def _tied(pairs: list[tuple[Any, str]]) -> tuple[str, tuple[list[str], list[str]]] | None:
    """If every partial of ``pairs`` is ``(a if u else b)`` with one name ``u``: ``u`` and
    the partials on either side (the node's lines are then written once for each,
    testing ``u`` once per node instead of once per partial). None otherwise."""
    found = [_TIED.fullmatch(d) for _, d in pairs]
    if not all(found) or len({m.group(2) for m in found if m}) != 1:
        return None
    sides = [[m.group(1) for m in found if m], [m.group(3) for m in found if m]]
    return found[0].group(2), (sides[0], sides[1])  # type: ignore[union-attr]


def _times(g: str, d: str, pending: bool = False) -> str:
    """The text of gradient ``g`` times partial ``d`` (an atom or in parentheses:
    see ``_atom``); a ``pending`` gradient is a product or a negation, left of the
    ``*`` as it is, and in parentheses alone or under a minus."""
    if d == "1.0":
        return f"({g})" if pending else g
    if d == "-1.0":
        return f"-({g})" if pending else f"-{g}"
    return f"{g} * {d}"


def _reuse(partial: str, computed: dict[str, str]) -> str:
    """``partial`` with each call the forward already computed replaced by its name."""
    if not computed or "(" not in partial:
        return partial
    return _FLAT_CALL.sub(lambda m: computed.get(m.group(0), m.group(0)), partial)
