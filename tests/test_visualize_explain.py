"""Tests of visualize.explain (the chain rule written out) and visualize.steps (backward frames)."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd
from autograd import Value
from autograd.expr import evaluate
from visualize import (
    GraphvizNotFoundError,
    backward_dots,
    backward_steps,
    explain,
    fmt,
    render_backward,
)
from visualize.graph import find_dot

needs_dot = pytest.mark.skipif(find_dot() is None, reason="Graphviz's dot is not installed")

_UNARY = ("tanh", "sigmoid", "sin", "cos", "softplus", "erf")
_BINARY = ("add", "sub", "mul")


@st.composite
def _graphs(draw: st.DrawFn) -> tuple[list[Value], list[Value]]:
    """A random DAG with shared subexpressions; returns (leaves, all nodes)."""
    n_in = draw(st.integers(1, 3))
    leaves = [Value(draw(st.floats(-1.5, 1.5)), label=f"x{i}") for i in range(n_in)]
    nodes = list(leaves)
    for _ in range(draw(st.integers(1, 10))):
        pick = st.integers(0, len(nodes) - 1)
        kind = draw(st.sampled_from(("unary", "binary", "binary", "sum")))
        if kind == "unary":
            nodes.append(autograd.apply(draw(st.sampled_from(_UNARY)), nodes[draw(pick)]))
        elif kind == "binary":
            nodes.append(autograd.apply(draw(st.sampled_from(_BINARY)),
                                        nodes[draw(pick)], nodes[draw(pick)]))
        else:
            k = draw(st.integers(1, 4))
            nodes.append(autograd.sum([nodes[draw(pick)] for _ in range(k)]))
    return leaves, nodes


def _depends(root: Value, x: Value) -> bool:
    stack, seen = [root], {root}
    while stack:
        v = stack.pop()
        if v is x:
            return True
        for p in v.parents:
            if p not in seen:
                seen.add(p)
                stack.append(p)
    return False


@given(_graphs())
def test_path_products_sum_to_grad_on_random_graphs(graph: tuple[list[Value], list[Value]]
                                                     ) -> None:
    leaves, nodes = graph
    root = nodes[-1]
    if not root.parents:
        return
    root.backward()
    for x in [*leaves, *nodes[len(leaves):-1]]:
        if not _depends(root, x):
            with pytest.raises(ValueError, match="root does not depend on x"):
                explain(x, root)
            continue
        e = explain(x, root, max_paths=10_000)
        assert e.total == pytest.approx(x.grad, rel=1e-9, abs=1e-12)
        assert e.grad == x.grad
        assert not e.truncated
        assert len(e.paths) == e.n_paths
        assert math.fsum(p.product for p in e.paths) == pytest.approx(e.total, rel=1e-9,
                                                                      abs=1e-12)
        for p in e.paths:
            assert p.nodes[0] is root and p.nodes[-1] is x
            assert len(p.partials) == len(p.nodes) - 1
            assert p.product == pytest.approx(math.prod(p.partials), rel=1e-12)
            for child, parent, d in zip(p.nodes, p.nodes[1:], p.partials, strict=False):
                positions = [k for k, q in enumerate(child.parents) if q is parent]
                assert d in [child.partials[k] for k in positions]


def test_shared_operand_gives_two_paths_and_text() -> None:
    root, leaves = evaluate("x * x * y + sin(x)", {"x": 0.5, "y": 2.0})
    root.backward()
    e = explain(leaves["x"], root)
    assert e.n_paths == 3
    products = sorted(p.product for p in e.paths)
    assert products == pytest.approx(sorted([2.0 * 0.5, 2.0 * 0.5, math.cos(0.5)]))
    text = str(e)
    assert text.startswith("d root (add) / d x: the sum over 3 paths")
    assert "path 3: root (add) <- (sin) <- x" in text
    assert f"= 1 × {fmt(math.cos(0.5))} = {fmt(math.cos(0.5))}" in text
    assert f"sum = {fmt(e.total)}   (x.grad = {fmt(leaves['x'].grad)})" in text


def test_interior_node_and_root() -> None:
    root, _ = evaluate("tanh(w*x + b)", {"x": 0.5, "w": -3.0, "b": 2.0})
    root.backward()
    mid = root.parents[0]
    assert explain(mid, root).total == pytest.approx(mid.grad)
    e = explain(root, root)
    assert e.total == 1.0 and e.n_paths == 1 and "x is the root" in str(e)


def test_many_paths_are_counted_not_listed() -> None:
    x = Value(0.3, label="x")
    y = x
    for _ in range(20):  # 2**20 paths
        y = y * 0.5 + y * 0.5
    y.backward()
    e = explain(x, y, max_paths=5)
    assert e.n_paths == 2 ** 20
    assert len(e.paths) == 5 and e.truncated
    assert e.total == pytest.approx(x.grad)
    assert f"... and {2 ** 20 - 5} more paths" in str(e)


def test_deep_chain_needs_no_recursion() -> None:
    x = Value(0.1, label="x")
    y = x
    for _ in range(5000):
        y = y * 1.0001
    y.backward()
    e = explain(x, y)
    assert e.n_paths == 1
    assert e.total == pytest.approx(x.grad, rel=1e-9)


def test_explain_errors() -> None:
    x = Value(1.0, label="lonely")
    y = Value(2.0) * 3
    with pytest.raises(ValueError, match=r"root does not depend on x \('lonely'\)"):
        explain(x, y)
    with pytest.raises(TypeError, match=r"x must be an autograd\.Value, got float"):
        explain(1.0, y)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_paths must be an int >= 0"):
        explain(y, y, max_paths=-1)


# ---------------------------------------------------------------------------
# Backward step by step


def test_backward_steps_replay_backward() -> None:
    root, leaves = evaluate("tanh(w*x + b) * x", {"x": 0.5, "w": -3.0, "b": 2.0})
    steps = backward_steps(root)
    order = autograd.backward_order(root)
    assert [s.node for s in steps] == [root, *order]
    assert steps[0].grads == {root: 1.0} and steps[0].passes == ()
    for s in steps[1:]:
        g = s.grads[s.node]
        assert [c for _, c in s.passes] == [g * d for d in s.node.partials]
        assert s.caption.startswith(f"step {s.index}: ")
    for v in leaves.values():
        assert v.grad == 0.0  # untouched
    root.backward()
    final = steps[-1].grads
    for v in [*leaves.values(), *order]:
        assert final[v] == pytest.approx(v.grad)


def test_backward_dots_one_frame_per_step() -> None:
    root, _ = evaluate("tanh(w*x + b)", {"x": 0.5, "w": -3.0, "b": 2.0})
    dots = backward_dots(root)
    steps = backward_steps(root)
    assert len(dots) == len(steps) + 1 == 5  # one per step, then the summary
    assert dots[0].count("grad ?") == 6  # the legend's line + the 5 nodes not reached yet
    assert dots[-1].count("grad ?") == 0 and dots[-2].count("grad ?") == 0
    assert dots.captions[:-1] == [s.caption for s in steps]
    assert dots.captions[-1].startswith("done:")
    for text, step in zip(dots, steps):
        assert text.startswith("digraph G {")
        assert step.caption.split(":")[0] in text
    # the node passing its gradient is orange, the receivers green, the edges say what they carry
    assert dots[1].count('fillcolor="#fdd0a2"') == 2  # value node and its op
    assert dots[1].count('fillcolor="#c7e9c0"') == 1
    add = root.parents[0]
    g = steps[1].grads[root]
    d = root.partials[0]
    assert f'label="{fmt(g)} × {fmt(d)} = {fmt(g * d)}"' in dots[1]
    assert dots[2].count('fillcolor="#c7e9c0"') == len(add.parents)
    # no future numbers: the seed frame labels no edge, later frames only traversed ones
    assert "label=\"" not in "".join(line for line in dots[0].splitlines() if "->" in line)
    assert f'label="passed {fmt(g * d)}"' in dots[2]


def test_captions_show_the_arithmetic_and_running_sums() -> None:
    x = Value(3.0, label="x")
    y = x * x
    y.label = "y"
    steps = backward_steps(y)
    assert steps[1].caption == ("step 1: y passes its grad 1 back, times each local "
                                "derivative: 1 × 3 = 3 → x.grad; 1 × 3 = 3 → x.grad, "
                                "now 3 + 3 = 6")
    assert steps[1].grads[x] == 6.0


def test_backward_dots_refuses_big_graphs() -> None:
    x = Value(0.5)
    y = x
    for _ in range(70):
        y = y.tanh()
    with pytest.raises(ValueError, match=r"70 interior nodes, more than max_steps=60"):
        backward_dots(y)
    assert len(backward_dots(y, max_steps=70)) == 72


def test_render_backward_without_dot_writes_nothing(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    root, _ = evaluate("x * y", {"x": 1.0, "y": 2.0})
    with pytest.raises(GraphvizNotFoundError, match="backward step 0"):
        render_backward(root, tmp_path / "frames")
    assert not (tmp_path / "frames").exists()


@needs_dot
def test_render_backward_frames_and_page(tmp_path: Path) -> None:
    root, _ = evaluate("tanh(w*x + b)", {"x": 0.5, "w": -3.0, "b": 2.0})
    out = render_backward(root, tmp_path / "frames")
    assert [p.name for p in out.frames] == [f"step_{k:03d}.svg" for k in range(5)]
    for p in out.frames:
        assert ET.parse(p).getroot().tag.endswith("svg")
    page = out.html.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert page.count("<svg") == 5  # the frames are inlined: the page stands alone
    assert "<?xml" not in page and "<script src" not in page and "<link" not in page
    for s in backward_steps(root):
        assert s.caption.split(":")[0] in page
    assert sorted(p.name for p in (tmp_path / "frames").iterdir()) == [
        "backward.html", "step_000.svg", "step_001.svg", "step_002.svg", "step_003.svg",
        "step_004.svg"]


# ---------------------------------------------------------------------------
# Jupyter displays and highlighted paths


def test_explanation_displays_as_a_table_and_str_is_unchanged() -> None:
    x = Value(3.0, label="x")
    y = x * x + x.sin()
    y.label = "y"
    y.backward()
    e = explain(x, y)
    text = str(e)
    assert text.startswith("d y / d x: the sum over 3 paths of the product of local "
                           "derivatives along each")
    # the two operand slots of x * x are told apart
    assert "path 1: y <- (mul) <- x (operand 1)" in text
    assert "path 2: y <- (mul) <- x (operand 2)" in text
    assert "path 3: y <- (sin) <- x\n" in text
    assert [p.slots for p in e.paths] == [(0, 0), (0, 1), (1, 0)]
    html = e._repr_html_()
    assert html.startswith("<table>") and html.count("<tr>") == 1 + 3 + 1
    assert "<td>1 × 3</td>" not in html  # cells are left-aligned text cells
    assert "y ← (mul) ← x (operand 2)" in html and f"sum = {fmt(e.total)}" in html
    md = e._repr_markdown_()
    rows = [line for line in md.splitlines() if line.startswith("| ")]
    assert rows[0] == "| path | nodes (root first) | local derivatives | product |"
    assert rows[1] == "| ---: | :--- | :--- | ---: |"
    assert rows[2:] == ["| 1 | y ← (mul) ← x (operand 1) | 1 × 3 | 3 |",
                        "| 2 | y ← (mul) ← x (operand 2) | 1 × 3 | 3 |",
                        f"| 3 | y ← (sin) ← x | 1 × {fmt(math.cos(3.0))} | "
                        f"{fmt(math.cos(3.0))} |"]


def test_highlight_draws_the_explained_paths_slot_by_slot() -> None:
    from visualize import to_dot

    x = Value(3.0, label="x")
    w = Value(0.5, label="w")
    y = x * x * w + x.sin()
    y.label = "y"
    y.backward()
    text = to_dot(y, highlight=explain(x, y))
    orange = [line for line in text.splitlines() if "->" in line and "#e6550d" in line]
    # x -> (*) twice (both slots), x -> sin, and on up to y, each edge once
    x_edges = [line for line in orange if line.strip().startswith("v") and "tooltip=\"x →" in line]
    assert len(x_edges) == 3
    assert "orange: the 3 paths along which d(root)/dx flows" in text
    assert "sum to 2.01" in text
    w_edges = [line for line in text.splitlines() if "tooltip=\"w →" in line]
    assert w_edges and "#e6550d" not in w_edges[0]  # w's edge is not on x's paths
    with pytest.raises(TypeError, match=r"highlight must be the result of visualize\.explain"):
        to_dot(y, highlight=[1, 2])
    other = Value(1.0, label="o") * 2.0
    with pytest.raises(ValueError, match="highlight explains another graph"):
        to_dot(y, highlight=explain(other, other))
