"""Source generation from the op table: the engine's fast paths.

The common operators and methods of ``Value`` (``+ - * / **``, unary ``-``,
``exp log sqrt tanh sigmoid relu``) are specialised for a float or a Value
operand so that one node costs one Python call. Their bodies are generated
from the op table's source templates (:class:`autograd.ops.Codegen`, the same
templates :mod:`autograd.compile` emits), so the formulas live only in the
table. The generated text is committed in ``autograd/engine.py`` between the
``BEGIN GENERATED`` and ``END GENERATED`` markers, where it can be read,
type-checked and stepped through like any other code; nothing is generated or
attached at import. A test fails when the committed text drifts from what this
module generates. Regenerate it with::

    python -m autograd.codegen

Anything the fast paths do not cover (ints, NumPy scalars, non-numbers, ops
without templates) goes through the engine's general path, which also raises
the errors.
"""

from __future__ import annotations

import pathlib
import re

from autograd.ops import OPS, Codegen, Op

__all__ = ["FAST_BINARY", "FAST_UNARY", "fast_paths_source", "write_engine"]

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

BEGIN = "# --- BEGIN GENERATED: fast paths from the op table (python -m autograd.codegen) ---\n"
END = "# --- END GENERATED ---\n"

_TAIL = """    node.grad = 0.0
    node._entry = {ref}
    node._id = _count()
    if _special:
        _record_special(node)
    return node
"""


def _ref(name: str) -> str:
    return f"_FAST_{name.upper()}"


def _templates(op: Op) -> Codegen:
    if op.codegen is None:
        raise ValueError(f"codegen: op {op.name!r} has no Codegen templates in the table")
    return op.codegen


def _store(indent: str, fwd: str, locs: list[str]) -> str:
    """Lines computing ``node._data`` and ``node._local`` (``out`` only if a partial uses it)."""
    uses_out = any("{out}" in t for t in locs)
    lines = [f"node._data = out = {fwd}" if uses_out else f"node._data = {fwd}"]
    partials = [t.format(out="out") for t in locs]
    inline = f"node._local = ({', '.join(partials)})"
    if len(partials) == 1:
        lines.append(f"node._local = {partials[0]}")  # one parent: stored bare
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
        "    node._ctx = None\n" + _TAIL.format(ref=_ref(name))
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
        f"        return _binary({_ref(name)}, self, other)\n" + _TAIL.format(ref=_ref(name))
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
        "    node._ctx = (other, self)\n" + _TAIL.format(ref=_ref(name))
    )


def _usable(op: Op) -> bool:
    cg = op.codegen
    if cg is None:
        return False
    n = 1 if op.arity == 1 else 2
    return not cg.temp_templates(n) and not cg.after_templates(n)


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
        else:
            parts.append(_unary(name, op))
    stdlib: list[str] = []
    ours: list[str] = []
    for key, obj in sorted(names.items()):
        module = getattr(obj, "__module__", None) or "builtins"
        line = f"from {module} import {obj.__name__} as {key}\n"  # type: ignore[attr-defined]
        (ours if module.split(".")[0] == "autograd" else stdlib).append(line)
    imports = "".join(sorted(stdlib)) + ("\n" if stdlib and ours else "") + "".join(sorted(ours))
    body = imports + "\n" + "".join(refs) + "\n\n" + "\n\n".join(parts)
    return BEGIN + body + END


_ENGINE = pathlib.Path(__file__).with_name("engine.py")
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


if __name__ == "__main__":
    print("engine.py updated" if write_engine() else "engine.py already up to date")
