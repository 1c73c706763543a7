"""Safe arithmetic expressions: parse text such as ``"tanh(w*x + b)"`` into a graph.

This module owns the expression language of the command line (``chainrule
graph`` and ``chainrule check``) and of anyone who wants to build a graph from
text. The text is parsed with :mod:`ast` and checked against a whitelist; it is
never given to ``eval``. Allowed:

* variable names (any Python identifier that is not a dunder and not one of
  the function names below). Names are read as Python reads identifiers:
  NFKC-normalised, so look-alikes such as full-width ``ｘ`` and ``x``, or the
  ligature ``ﬁ`` and ``fi``, are one variable, in the expression and in the
  bindings alike (and are shown normalised);
* ``int`` and ``float`` literals (finite, within float range);
* the binary operators ``+ - * / **`` and the unary ``-`` and ``+``;
* calls of the op table's built-in functions (every built-in op whose ``api``
  is not ``"operator"``, read from :func:`autograd.iter_ops`; ops registered
  later, such as nn's fused neurons, have operand layouts of their own and are
  not callable): ``tanh(x)``, ``abs(x)``,
  ``leaky_relu(x, 0.1)``, ``clamp(x, -1, 1)``, ``maximum(a, b)``,
  ``sum(a, b, c)``, ``mean(...)``, ``logsumexp(...)``, ``dot(x1, x2, y1, y2)``.

Anything else (attribute access, subscripts, lambdas, comprehensions,
comparisons, keyword arguments, strings...) raises :class:`ExpressionError`,
whose message quotes the source with a caret under the offending part and says
what is allowed. Inputs are bounded (source length, nesting depth, node count,
literal size) so that a hostile string cannot exhaust time or memory.

Standard library only, like the rest of :mod:`autograd`.
"""

from __future__ import annotations

import ast
import math
import re
import unicodedata
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Union

from autograd.engine import Value, apply
from autograd.ops import Op, iter_ops

__all__ = [
    "MAX_DEPTH",
    "MAX_LABEL",
    "MAX_NODES",
    "MAX_SOURCE_LENGTH",
    "Expression",
    "ExpressionError",
    "compile_expression",
    "evaluate",
    "parse_bindings",
]

#: Longest accepted source text, in characters.
MAX_SOURCE_LENGTH = 10_000
#: Deepest accepted nesting of the syntax tree (``a + b + c`` nests 2 deep;
#: use ``sum(...)`` for long sums).
MAX_DEPTH = 100
#: Most syntax-tree nodes accepted in one expression.
MAX_NODES = 3_000
#: Longest label given to an interior node (its source text, shortened with "…").
MAX_LABEL = 40
#: Largest magnitude of a numeric literal (beyond it a float is inf).
MAX_LITERAL = 1.7976931348623157e308

_Operand = Union[Value, float]


class ExpressionError(ValueError):
    """A rejected expression or binding list.

    The message quotes the source with a caret under the offending part and
    says what is allowed.

    Attributes:
        source: the text that was rejected.
        reason: the one-line reason, without the quoted source.
        start: the 0-based character offset of the offending part in ``source``
            (``-1`` if the problem is not at one place).
        end: the offset just past it.
    """

    def __init__(self, reason: str, source: str, start: int = -1, end: int = -1,
                 hint: str = "") -> None:
        self.source = source
        self.reason = reason
        self.start = start
        self.end = end
        super().__init__(_format(reason, source, start, end, hint))


def _format(reason: str, source: str, start: int, end: int, hint: str) -> str:
    lines = [reason]
    if source:
        if start < 0:
            shown = source if len(source) <= 200 else source[:197] + "..."
            lines.append("  " + shown.replace("\n", " "))
        else:
            # show the line holding `start`, clipped to a window around it
            line_start = source.rfind("\n", 0, start) + 1
            line_end = source.find("\n", start)
            if line_end < 0:
                line_end = len(source)
            end = max(start + 1, min(end, line_end))
            lo = max(line_start, start - 60)
            hi = min(line_end, max(end, start + 1) + 60, lo + 160)
            prefix = "..." if lo > line_start else ""
            suffix = "..." if hi < line_end else ""
            lines.append("  " + prefix + source[lo:hi] + suffix)
            pad = _pad(source[lo:start])
            caret_len = max(1, len(_pad(source[start:min(end, hi)])))
            lines.append("  " + " " * len(prefix) + pad + "^" * caret_len)
    if hint:
        lines.append(hint)
    return "\n".join(lines)


def _pad(text: str) -> str:
    """Blanks as wide on a terminal as ``text``: a tab stays a tab, a wide (CJK) character
    takes two columns, a combining mark or a zero-width character none."""
    out = []
    for ch in text:
        if ch == "\t":
            out.append("\t")
        elif unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
            continue
        elif unicodedata.east_asian_width(ch) in ("W", "F"):
            out.append("  ")
        else:
            out.append(" ")
    return "".join(out)


def _functions() -> dict[str, Op]:
    """The callable functions: every built-in op of the table reached by name."""
    return {op.name: op for op in iter_ops() if op.api != "operator" and op.builtin}


def _operator_op(symbol: str, arity: int) -> Op:
    for op in iter_ops():
        if op.api == "operator" and op.symbol == symbol and op.arity == arity:
            return op
    raise LookupError(f"expr: the op table has no operator {symbol!r} of arity {arity}")


def _allowed() -> str:
    names = ", ".join(sorted(_functions()))
    return (
        "allowed: variable names, int and float literals, + - * / **, unary - and +, "
        f"parentheses, and calls of: {names}"
    )


_BINOPS: dict[type[ast.operator], str] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.Pow: "**",
}

_FORBIDDEN: dict[type[ast.AST], str] = {
    ast.Attribute: "attribute access",
    ast.Subscript: "subscripts (indexing)",
    ast.Lambda: "lambda",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "comprehensions (generator expressions)",
    ast.Compare: "comparisons",
    ast.BoolOp: "boolean operators (and, or)",
    ast.IfExp: "conditional expressions (x if c else y)",
    ast.NamedExpr: "assignment expressions (:=)",
    ast.List: "lists",
    ast.Tuple: "tuples",
    ast.Set: "sets",
    ast.Dict: "dicts",
    ast.JoinedStr: "f-strings",
    ast.Starred: "starred arguments",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
    ast.Slice: "slices",
}


def _balanced(text: str) -> bool:
    """True if the parentheses of ``text`` pair up without closing below level 0."""
    depth = 0
    for ch in text:
        depth += (ch == "(") - (ch == ")")
        if depth < 0:
            return False
    return depth == 0


def _is_dunder(name: str) -> bool:
    return name.startswith("__") or name.endswith("__")


class _Locator:
    """Turns ast positions (line, UTF-8 byte column) into character offsets."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.line_starts = [0]
        for m in re.finditer("\n", source):
            self.line_starts.append(m.end())

    def offset(self, lineno: int | None, col: int | None) -> int:
        if lineno is None or col is None or not 1 <= lineno <= len(self.line_starts):
            return -1
        start = self.line_starts[lineno - 1]
        end = self.source.find("\n", start)
        line = self.source[start:] if end < 0 else self.source[start:end]
        chars = len(line.encode("utf-8")[:col].decode("utf-8", errors="ignore"))
        return start + chars

    def span(self, node: ast.AST) -> tuple[int, int]:
        start = self.offset(getattr(node, "lineno", None), getattr(node, "col_offset", None))
        end = self.offset(getattr(node, "end_lineno", None), getattr(node, "end_col_offset", None))
        if start >= 0 and end <= start:
            end = start + 1
        return start, end


@dataclass(frozen=True)
class Expression:
    """A validated expression, ready to build graphs.

    Create it with :func:`compile_expression`; call it with one value per
    variable to build the graph.

    Attributes:
        source: the text it was compiled from.
        variables: the variable names, in order of first appearance.
    """

    source: str
    variables: tuple[str, ...]
    _tree: ast.expr = field(repr=False, compare=False)

    def __call__(self, **values: Value | float) -> Value:
        """Build the expression's graph from the given variable values.

        The same as ``build(values)``; see :meth:`build`.
        """
        return self.build(values)

    def build(self, values: Mapping[str, Value | float], *, label_nodes: bool = False) -> Value:
        """Build the expression's graph from the given variable values.

        Args:
            values: one entry per variable: a ``Value`` (used as it is, so
                that you can differentiate with respect to it) or a real
                number (wrapped in a leaf ``Value`` labelled with its name).
            label_nodes: label every interior node with the source text it
                computes (``w*x``, ``w*x + b``; at most :data:`MAX_LABEL`
                characters), as ``chainrule graph`` draws them. The root is
                the whole expression and stays unlabelled.

        Returns:
            The root of the new graph (a constant leaf if the expression has
            no variables).

        Raises:
            ExpressionError: if a variable has no value, a value names no
                variable, a value is not a real number, or a function is
                called with the wrong number of arguments.
        """
        missing = [v for v in self.variables if v not in values]
        if missing:
            raise ExpressionError(
                f"expression: no value for variable(s) {', '.join(missing)}",
                self.source,
                hint=f"give one value per variable: {', '.join(self.variables) or '(none)'}",
            )
        extra = [k for k in values if k not in self.variables]
        if extra:
            raise ExpressionError(
                f"expression: value(s) given for {', '.join(extra)}, which the "
                "expression does not use",
                self.source,
                hint=f"its variables are: {', '.join(self.variables) or '(none)'}",
            )
        env: dict[str, Value] = {}
        for name in self.variables:
            v = values[name]
            if isinstance(v, Value):
                env[name] = v
                continue
            try:
                env[name] = Value(v, label=name)
            except TypeError:
                raise ExpressionError(
                    f"expression: the value of {name} must be a real number or a Value, "
                    f"got {type(v).__name__}",
                    self.source,
                ) from None
        builder = _Builder(self.source, env, label_nodes)
        out = builder.build(self._tree)
        if not isinstance(out, Value):
            return Value(out)
        if label_nodes and all(out is not v for v in env.values()) \
                and out.label == builder.text(self._tree):
            out.label = ""  # the root is the expression itself: only interior nodes get text
        return out


class _Builder:
    """Evaluates a validated tree into a graph (constants folded to floats)."""

    def __init__(self, source: str, env: Mapping[str, Value], label_nodes: bool = False) -> None:
        self.source = source
        self.env = env
        self.label_nodes = label_nodes
        self.loc = _Locator(source)
        self.funcs = _functions()

    def error(self, reason: str, node: ast.AST, hint: str = "") -> ExpressionError:
        start, end = self.loc.span(node)
        return ExpressionError(reason, self.source, start, end, hint)

    def build(self, node: ast.expr) -> _Operand:
        if isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, (int, float)):  # the validator allowed nothing else
                return float(value)
        if isinstance(node, ast.Name):
            return self.env[node.id]
        if isinstance(node, ast.UnaryOp):
            x = self.build(node.operand)
            if isinstance(node.op, ast.UAdd):
                return x
            return self.combine(_operator_op("-", 1), [x], node)
        if isinstance(node, ast.BinOp):
            a = self.build(node.left)
            b = self.build(node.right)
            return self.combine(_operator_op(_BINOPS[type(node.op)], 2), [a, b], node)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            op = self.funcs[node.func.id]
            args = [self.build(a) for a in node.args]
            return self.call(op, args, node)
        raise self.error("expression: unexpected syntax", node)  # pragma: no cover

    def combine(self, op: Op, args: list[_Operand], node: ast.AST) -> _Operand:
        if all(isinstance(a, float) for a in args):
            return float(op.forward(*args))  # constant folding; never raises
        out = apply(op, *args)
        if self.label_nodes and not out.label:  # named by the text it computes: "w*x + b"
            out.label = self.text(node)
        return out

    def text(self, node: ast.AST) -> str:
        """The source text of ``node``, on one line and at most :data:`MAX_LABEL` characters."""
        start, end = self.loc.span(node)
        text = " ".join(self.source[start:end].split())
        if text.startswith("(") and text.endswith(")") and _balanced(text[1:-1]):
            text = text[1:-1].strip()
        if len(text) > MAX_LABEL:
            text = text[: MAX_LABEL - 1] + "…"
        return text

    def call(self, op: Op, args: list[_Operand], node: ast.Call) -> _Operand:
        return self.combine(op, args, node)


class _Validator:
    """Checks a parsed tree against the whitelist and the size limits."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.loc = _Locator(source)
        self.funcs = _functions()
        self.variables: list[str] = []

    def error(self, reason: str, node: ast.AST, hint: str = "") -> ExpressionError:
        start, end = self.loc.span(node)
        return ExpressionError(reason, self.source, start, end, hint or _allowed())

    def check_size(self, tree: ast.AST) -> None:
        # iterative, so that a deep tree cannot exhaust the Python stack
        count = 0
        stack: list[tuple[ast.AST, int]] = [(tree, 0)]
        while stack:
            node, depth = stack.pop()
            count += 1
            if count > MAX_NODES:
                raise ExpressionError(
                    f"expression: too large (more than {MAX_NODES} syntax nodes)",
                    self.source, hint="split it into smaller expressions",
                )
            if depth > MAX_DEPTH:
                raise self.error(
                    f"expression: nested too deeply (more than {MAX_DEPTH} levels)",
                    node,
                    hint="use sum(a, b, c, ...) for long sums, or split the expression",
                )
            for child in ast.iter_child_nodes(node):
                if isinstance(child, (ast.expr_context, ast.operator, ast.unaryop)):
                    continue
                stack.append((child, depth + 1))

    def visit(self, node: ast.AST) -> None:
        if isinstance(node, ast.Constant):
            self.constant(node)
        elif isinstance(node, ast.Name):
            self.name(node)
        elif isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, (ast.USub, ast.UAdd)):
                what = "'not'" if isinstance(node.op, ast.Not) else "'~'"
                raise self.error(f"expression: the unary operator {what} is not allowed", node)
            self.visit(node.operand)
        elif isinstance(node, ast.BinOp):
            if type(node.op) not in _BINOPS:
                raise self.error(
                    f"expression: the operator {_op_text(node.op)} is not allowed", node
                )
            self.visit(node.left)
            self.visit(node.right)
        elif isinstance(node, ast.Call):
            self.call(node)
        else:
            what = _FORBIDDEN.get(type(node), f"{type(node).__name__} expressions")
            raise self.error(f"expression: {what} not allowed", node)

    def constant(self, node: ast.Constant) -> None:
        v = node.value
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            kind = "complex numbers" if isinstance(v, complex) else (
                f"{type(v).__name__} literals" if v is not None else "None")
            raise self.error(f"expression: {kind} not allowed, only int and float literals",
                             node)
        if isinstance(v, int):
            too_big = abs(v) > MAX_LITERAL
        else:
            too_big = not math.isfinite(v)
        if too_big:
            raise self.error(
                "expression: the literal is beyond the float range "
                f"(largest magnitude {MAX_LITERAL:.6g})", node,
                hint="write a number within float range",
            )

    def name(self, node: ast.Name) -> None:
        name = node.id
        if _is_dunder(name):
            raise self.error(f"expression: dunder names such as {name} are not allowed", node)
        if name in self.funcs:
            raise self.error(
                f"expression: {name} is a function; call it, as in {name}(x)", node
            )
        if name not in self.variables:
            self.variables.append(name)

    def call(self, node: ast.Call) -> None:
        func = node.func
        if not isinstance(func, ast.Name):
            if isinstance(func, ast.Attribute):
                raise self.error("expression: attribute access not allowed", func)
            raise self.error("expression: only named functions can be called", func)
        name = func.id
        if _is_dunder(name):
            raise self.error(f"expression: dunder names such as {name} are not allowed", func)
        if name not in self.funcs:
            raise self.error(f"expression: unknown function {name}()", func)
        if node.keywords:
            raise self.error(
                f"expression: keyword arguments are not allowed in {name}()",
                node.keywords[0],
                hint="pass arguments by position",
            )
        for arg in node.args:
            self.visit(arg)
        self.check_arguments(self.funcs[name], node)

    def check_arguments(self, op: Op, node: ast.Call) -> None:
        name = op.name
        n = len(node.args)
        hint = f"{name}(...) computes {op.formula}"
        if op.arity >= 0 and n != op.arity:
            params = (
                f", the last {op.params} of them constant number(s)" if op.params else ""
            )
            raise self.error(
                f"expression: {name}() takes {op.arity} argument(s){params}, got {n}",
                node, hint,
            )
        if op.arity < 0:
            # n-ary ops: every one but sum needs an operand; dot pairs xs with ys
            if n == 0 and not _accepts_no_operands(op):
                raise self.error(
                    f"expression: {name}() needs at least one argument", node, hint
                )
            if name == "dot" and n % 2:
                raise self.error(
                    f"expression: dot() takes an even number of arguments "
                    f"(x1, ..., xn, y1, ..., yn), got {n}", node, hint,
                )
        for i in range(n - op.params, n):
            if _uses_variables(node.args[i]):
                raise self.error(
                    f"expression: argument {i + 1} of {name}() is a constant parameter "
                    "and must be a number, not an expression of variables",
                    node.args[i], hint,
                )


def _accepts_no_operands(op: Op) -> bool:
    """Whether an n-ary op is defined on zero operands (``sum`` is, ``mean`` is not)."""
    try:
        op.forward()
    except (ArithmeticError, ValueError, TypeError, IndexError):
        return False
    return True


def _uses_variables(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Name) for n in ast.walk(node))


def _check_nesting(source: str) -> None:
    """Refuse runs of signs and parentheses deeper than :data:`MAX_DEPTH` before parsing."""
    run = run_start = best = best_start = depth = deepest = deep_at = 0
    for i, ch in enumerate(source):
        if ch in "+-":
            if run == 0:
                run_start = i
            run += 1
            if run > best:
                best, best_start = run, run_start
        elif not ch.isspace():
            run = 0
        if ch == "(":
            depth += 1
            if depth > deepest:
                deepest, deep_at = depth, i
        elif ch == ")":
            depth -= 1
    if best > MAX_DEPTH:
        raise ExpressionError(
            f"expression: {best} signs in a row nest deeper than the limit of {MAX_DEPTH}",
            source, best_start, best_start + best,
            "work the sign out: an even number of minus signs is +, an odd number is -")
    if deepest > MAX_DEPTH:
        raise ExpressionError(
            f"expression: nested too deeply (parentheses {deepest} deep, more than "
            f"{MAX_DEPTH} levels)",
            source, deep_at, deep_at + 1, "remove the parentheses that group nothing")


def _op_text(op: ast.operator) -> str:
    return {
        ast.FloorDiv: "'//'", ast.Mod: "'%'", ast.MatMult: "'@'", ast.LShift: "'<<'",
        ast.RShift: "'>>'", ast.BitOr: "'|'", ast.BitAnd: "'&'", ast.BitXor: "'^'",
    }.get(type(op), type(op).__name__)


def compile_expression(source: str) -> Expression:
    """Parse and validate an expression.

    Args:
        source: the expression, e.g. ``"tanh(w*x + b)"``.

    Returns:
        An :class:`Expression`; call it with the variables' values to build a
        graph.

    Raises:
        ExpressionError: if the text is not a valid expression, uses anything
            outside the whitelist (see the module docstring), or is too large.
        TypeError: if ``source`` is not a str.
    """
    if not isinstance(source, str):
        raise TypeError(f"compile_expression: source must be a str, got {type(source).__name__}")
    if len(source) > MAX_SOURCE_LENGTH:
        raise ExpressionError(
            f"expression: too long ({len(source)} characters, at most {MAX_SOURCE_LENGTH})",
            source[:60] + "...", hint="split it into smaller expressions",
        )
    if not source.strip():
        raise ExpressionError("expression: empty; write one such as tanh(w*x + b)", source)
    _check_nesting(source)
    try:
        with warnings.catch_warnings():  # e.g. "invalid decimal literal" in 1if
            warnings.simplefilter("ignore", SyntaxWarning)
            tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as e:
        text = source.strip()
        loc = _Locator(text)
        start = -1
        if e.lineno and e.lineno <= len(loc.line_starts):
            # 1-based character columns; 0 means "at the end of the input"
            col = (e.offset or 0) - 1
            start = len(text) if col < 0 else min(loc.line_starts[e.lineno - 1] + col, len(text))
        raise ExpressionError(
            f"expression: invalid syntax ({e.msg})", text, start, start + 1, _allowed()
        ) from None
    except (ValueError, RecursionError, MemoryError) as e:
        why = str(e) or f"{type(e).__name__}: nested too deeply"
        raise ExpressionError(f"expression: cannot parse ({why})", source,
                              hint=_allowed()) from None
    text = source.strip()
    validator = _Validator(text)
    validator.check_size(tree)
    validator.visit(tree.body)
    return Expression(text, tuple(validator.variables), tree.body)


def evaluate(source: str, bindings: Mapping[str, float], *,
             label_nodes: bool = False) -> tuple[Value, dict[str, Value]]:
    """Compile an expression and build its graph at the given point.

    Args:
        source: the expression, e.g. ``"tanh(w*x + b)"``.
        bindings: one real number per variable, e.g. ``{"x": 0.5, "w": -3, "b": 2}``.
        label_nodes: label interior nodes with their source text (see
            :meth:`Expression.__call__`).

    Returns:
        ``(root, leaves)``: the root of the graph and, per variable name, the
        leaf Value made for it (labelled with its name), in the order the
        variables first appear.

    Raises:
        ExpressionError: if the expression is rejected, a variable has no
            binding, or a binding names no variable.
    """
    expr = compile_expression(source)
    leaves: dict[str, Value] = {}
    for name in expr.variables:
        if name in bindings:
            try:
                leaves[name] = Value(bindings[name], label=name)
            except TypeError:
                raise ExpressionError(
                    f"expression: the value of {name} must be a real number, got "
                    f"{type(bindings[name]).__name__}", expr.source,
                ) from None
    values: dict[str, Value | float] = dict(leaves)
    for name in bindings:
        if name not in leaves:
            values[name] = 0.0  # reported as an extra name by Expression.__call__
    root = expr.build(values, label_nodes=label_nodes)
    return root, leaves


_BINDING_NAME = re.compile(r"[^\W\d]\w*\Z")


def parse_bindings(text: str) -> dict[str, float]:
    """Parse variable bindings such as ``"x=0.5,w=-3,b=2"``.

    Whitespace around names and numbers is ignored; numbers are anything
    ``float()`` accepts (``nan`` and ``inf`` included, to see how they flow).
    An empty text gives no bindings.

    Args:
        text: comma-separated ``name=number`` pairs.

    Returns:
        The bindings, in the order given.

    Raises:
        ExpressionError: naming the bad pair (quoted with a caret) if a pair
            has no ``=``, a name is not an identifier or is a dunder, a name is
            repeated, or a number does not parse.
    """
    if not isinstance(text, str):
        raise TypeError(f"parse_bindings: text must be a str, got {type(text).__name__}")
    if len(text) > MAX_SOURCE_LENGTH:
        raise ExpressionError(
            f"bindings: too long ({len(text)} characters, at most {MAX_SOURCE_LENGTH})",
            text[:60] + "...",
        )
    out: dict[str, float] = {}
    if not text.strip():
        return out
    hint = "write name=number pairs separated by commas, e.g. x=0.5,w=-3,b=2"
    pos = 0
    for part in text.split(","):
        start, end = pos, pos + len(part)
        pos = end + 1
        if "=" not in part:
            raise ExpressionError(
                f"bindings: expected name=number, got {part.strip()!r}", text, start, end, hint
            )
        name_raw, _, num_raw = part.partition("=")
        name = unicodedata.normalize("NFKC", name_raw.strip())  # as Python reads identifiers
        name_at = start + (len(name_raw) - len(name_raw.lstrip()))
        num_at = start + len(name_raw) + 1
        if not _BINDING_NAME.match(name) or _is_dunder(name):
            raise ExpressionError(
                f"bindings: {name!r} is not a variable name", text, name_at,
                name_at + max(1, len(name)), hint,
            )
        if name in out:
            raise ExpressionError(
                f"bindings: {name} is given twice", text, name_at, name_at + len(name), hint
            )
        try:
            value = float(num_raw)
        except ValueError:
            raise ExpressionError(
                f"bindings: the value of {name}, {num_raw.strip()!r}, is not a number",
                text, num_at, num_at + max(1, len(num_raw)), hint,
            ) from None
        out[name] = value
    return out
