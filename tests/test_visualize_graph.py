"""Tests of visualize.graph: DOT text, budget, clusters, colours, rendering, layout, missing
Graphviz."""

from __future__ import annotations

import itertools
import math
import os
import random
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd
import visualize
from autograd import Value
from autograd.expr import evaluate
from visualize import GraphvizNotFoundError, draw_dot, fmt, render, to_dot
from visualize.graph import find_dot

needs_dot = pytest.mark.skipif(find_dot() is None, reason="Graphviz's dot is not installed")

_NODE = re.compile(r"^\s*([vos]\d+) \[", re.MULTILINE)
_EDGE = re.compile(r"^\s*([vos]\d+) -> ([vos]\d+)", re.MULTILINE)


def _node_line(text: str, node_id: str) -> str:
    for line in text.splitlines():
        if line.strip().startswith(f"{node_id} ["):
            return line
    raise AssertionError(f"no node {node_id} in:\n{text}")


def _scoped_mlp(sizes: list[int], seed: int) -> tuple[Value, list[Value]]:
    """A small tanh MLP built with autograd directly, nodes scoped 'layer i/neuron j'."""
    rng = random.Random(seed)
    x: list[Value] = [Value(rng.uniform(-1, 1), label=f"x{k}") for k in range(sizes[0])]
    leaves = list(x)
    for li, (nin, nout) in enumerate(itertools.pairwise(sizes), 1):
        outs = []
        for j in range(1, nout + 1):
            ws = [Value(rng.uniform(-1, 1), label=f"l{li}.n{j}.w{k}") for k in range(nin)]
            b = Value(rng.uniform(-0.1, 0.1), label=f"l{li}.n{j}.b")
            leaves += [*ws, b]
            with autograd.scope(f"layer {li}"), autograd.scope(f"neuron {j}"):
                s = autograd.sum([w * xi for w, xi in zip(ws, x, strict=True)]) + b
                outs.append(s.tanh())
        x = outs
    loss = (x[0] - 1.0) ** 2
    loss.label = "loss"
    loss.backward()
    return loss, leaves


def _count_nodes(root: Value) -> int:
    seen = {root}
    stack = [root]
    while stack:
        for p in stack.pop().parents:
            if p not in seen:
                seen.add(p)
                stack.append(p)
    return len(seen)


# ---------------------------------------------------------------------------
# Labels and values


def test_fmt_never_hides_small_numbers() -> None:
    assert fmt(1.234567e-7) == "1.235e-07"
    assert fmt(0.00012346) == "0.0001235"
    assert fmt(123456.0) == "1.235e+05"
    assert fmt(-2.5) == "-2.5"
    assert fmt(float("nan")) == "nan"
    assert fmt(float("inf")) == "inf"
    assert fmt(float("-inf")) == "-inf"


def test_value_nodes_show_label_data_and_grad() -> None:
    root, leaves = evaluate("tanh(w*x + b)", {"x": 0.5, "w": -3.0, "b": 2.0})
    root.backward()
    text = to_dot(root)
    for name, leaf in leaves.items():
        assert f"<b>{name}</b>" in text
        assert f"data {fmt(leaf.data)}" in text
        assert f"grad {fmt(leaf.grad)}" in text
    line = _node_line(text, "v0")  # the root comes first
    assert f"data {fmt(root.data)}" in line and "grad 1<" in line


def test_tiny_gradients_are_shown() -> None:
    x = Value(1.0, label="x")
    y = x * 1.234e-9
    y.backward()
    assert "grad 1.234e-09" in to_dot(y)


def test_op_nodes_show_symbols_and_folded_constants() -> None:
    x = Value(0.3, label="x")
    y = Value(0.7, label="y")
    cases = {
        "* 2": x * 2,
        "2 -": 2 - x,
        "/ 4": x / 4,
        "** 3": x ** 3,
        "+": x + y,
        "tanh": x.tanh(),
        "clamp(·, -1, 1)": x.clamp(-1, 1),
        "leaky_relu(·, 0.1)": x.leaky_relu(0.1),
        "max": autograd.maximum(x, y),
        "sum(·, ·, 3)": autograd.sum([x, y, 3]),
    }
    for symbol, node in cases.items():
        line = _node_line(to_dot(node), "o0")
        assert f'label="{symbol}"' in line, (symbol, line)


def test_op_symbols_come_from_the_table() -> None:
    x = Value(0.3)
    for op in autograd.iter_ops():
        if not op.builtin or op.params or op.arity not in (1, -1):
            continue
        node = autograd.apply(op, x) if op.arity == 1 else autograd.apply(op, x, x)
        assert f'label="{op.symbol}"' in _node_line(to_dot(node), "o0")


def test_rankdir_and_title() -> None:
    root, _ = evaluate("x * y", {"x": 1.0, "y": 2.0})
    assert "rankdir=LR;" in to_dot(root)
    tb = to_dot(root, rankdir="TB", title='f "quoted"')
    assert "rankdir=TB;" in tb
    assert "<b>f &quot;quoted&quot;</b>" in tb  # the title heads the caption
    assert '  graph [fontname="Helvetica"' in tb  # one font: the caption's too


def test_bad_options_are_named() -> None:
    root, _ = evaluate("x * y", {"x": 1.0, "y": 2.0})
    with pytest.raises(ValueError, match="rankdir must be 'LR' or 'TB', got 'RL'"):
        to_dot(root, rankdir="RL")
    with pytest.raises(ValueError, match="max_nodes must be an int >= 3, got 2"):
        to_dot(root, max_nodes=2)
    with pytest.raises(TypeError, match=r"root must be an autograd\.Value, got float"):
        to_dot(1.0)  # type: ignore[arg-type]


def test_edges_reference_defined_nodes_and_follow_operands() -> None:
    root, _ = evaluate("x * x + sin(x)", {"x": 0.4})
    root.backward()
    text = to_dot(root)
    defined = set(_NODE.findall(text))
    edges = _EDGE.findall(text)
    assert edges and all(a in defined and b in defined for a, b in edges)
    # x feeds the product twice (a * a has parents (a, a)) and sin once
    xid = next(n for n in defined if "<b>x</b>" in _node_line(text, n))
    assert sum(1 for a, _ in edges if a == xid) == 3


def test_partials_label_edges_with_local_derivative_and_contribution() -> None:
    root, _ = evaluate("tanh(w*x + b)", {"x": 0.5, "w": -3.0, "b": 2.0})
    root.backward()
    text = to_dot(root, partials=True)
    mul = root.parents[0].parents[0]
    assert mul.grad == pytest.approx(1 - math.tanh(0.5) ** 2)
    g = fmt(mul.grad)
    # each edge names its derivative, gives the op table's formula and the numbers
    assert f'label="∂(w*x)/∂w = x = 0.5\\ngrad·∂ = {g} × 0.5 = {fmt(mul.grad * 0.5)}"' in text
    assert f'label="∂(w*x)/∂x = w = -3\\ngrad·∂ = {g} × -3 = {fmt(mul.grad * -3)}"' in text
    assert "∂" not in to_dot(root)


def test_partials_tell_the_operand_slots_of_a_reused_variable_apart() -> None:
    x = Value(3.0, label="x")
    y = x * x
    y.label = "y"
    y.backward()
    text = to_dot(y, partials=True)
    assert 'label="∂y/∂x (operand 1) = x = 3\\ngrad·∂ = 1 × 3 = 3"' in text
    assert 'label="∂y/∂x (operand 2) = x = 3\\ngrad·∂ = 1 × 3 = 3"' in text


def test_no_minus_zero_anywhere() -> None:
    assert fmt(-0.0) == "0"
    assert fmt(0.0) == "0"
    assert fmt(-1e-300) == "-1e-300"
    x = Value(-0.0, label="x")
    y = x * -1.0
    y.backward()
    assert "-0 " not in to_dot(y, partials=True).replace("-0.", "")
    assert "data 0<" in to_dot(y)


# ---------------------------------------------------------------------------
# Colours


def _fill(line: str) -> tuple[int, int, int]:
    m = re.search(r'<td bgcolor="#([0-9a-f]{6})">', line)
    assert m, line
    h = m.group(1)
    return int(h[:2], 16), int(h[2:4], 16), int(h[4:], 16)


def test_colour_darkens_with_grad_magnitude() -> None:
    small = Value(1.0, label="small")
    big = Value(1.0, label="big")
    mid = Value(1.0, label="mid")
    y = small * 1e-4 + big * 10.0 + mid * 0.03
    y.backward()
    text = to_dot(y)
    lines = {n: _node_line(text, i) for i in _NODE.findall(text)
             for n in ("small", "big", "mid") if f"<b>{n}</b>" in _node_line(text, i)}
    darkness = {n: -sum(_fill(line)) for n, line in lines.items()}
    assert darkness["small"] < darkness["mid"] < darkness["big"]
    # the smallest gradient is still clearly tinted, not white
    assert sum(_fill(lines["small"])) < 3 * 255 - 60
    assert "|grad| from 0.0001 to 10 (log scale)" in text  # the legend states the scale
    assert 'bgcolor="' not in to_dot(y, color=False)


def test_colour_is_sign_aware_and_the_legend_lists_what_is_present() -> None:
    pos = Value(1.0, label="pos")
    neg = Value(1.0, label="neg")
    y = pos * 2.0 + neg * -2.0
    y.label = "y"
    y.backward()
    text = to_dot(y)
    lines = {n: _node_line(text, i) for i in _NODE.findall(text)
             for n in ("pos", "neg") if f"<b>{n}</b>" in _node_line(text, i)}
    r, _, b = _fill(lines["pos"])
    assert r > b  # red for a positive gradient
    r, _, b = _fill(lines["neg"])
    assert b > r  # blue for a negative one
    assert "grad &gt; 0" in text and "grad &lt; 0" in text
    assert "nan" not in text and "inf" not in text  # absent kinds are not in the legend
    only_pos = Value(2.0, label="p") * 3.0
    only_pos.backward()
    t2 = to_dot(only_pos)
    assert "grad &gt; 0" in t2 and "grad &lt; 0" not in t2


def test_nan_and_inf_are_marked() -> None:
    x = Value(0.0, label="x")
    y = x.log()  # data -inf, d/dx = inf
    y.backward()
    text = to_dot(y)
    xline = next(_node_line(text, i) for i in _NODE.findall(text)
                 if "<b>x</b>" in _node_line(text, i))
    assert "grad inf ⚠" in xline and 'color="#d7301f"' in xline and 'border="3"' in xline
    assert 'bgcolor="#000000"' in xline  # inf stands out: a black box
    assert "grad ±inf ⚠ (infinite)" in text and "not a number" not in text
    z = Value(-1.0, label="z")
    w = z.sqrt()  # nan
    w.backward()
    zline = next(_node_line(to_dot(w), i) for i in _NODE.findall(to_dot(w))
                 if "<b>z</b>" in _node_line(to_dot(w), i))
    assert "grad nan ⚠" in zline and 'color="#7b3294"' in zline
    assert 'bgcolor="#ffe135"' in zline  # nan stands out: a yellow box
    assert "grad nan ⚠ (not a number)" in to_dot(w)


# ---------------------------------------------------------------------------
# Clusters


def test_clusters_follow_scopes_and_nest() -> None:
    loss, _ = _scoped_mlp([2, 3, 1], seed=1)
    text = to_dot(loss)
    assert text.count("subgraph cluster_") == 2 + 3 + 1  # 2 layers, 4 neurons
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if 'label="layer 1"' in line)
    # the neurons of layer 1 nest inside it, and each neuron holds its weights
    depth = 1
    inner = []
    for line in lines[start + 1:]:
        depth += line.count("{") - line.count("}")
        if depth == 0:
            break
        inner.append(line)
    block = "\n".join(inner)
    for j in (1, 2, 3):
        assert f'label="neuron {j}"' in block
        assert f"l1.n{j}.w0" in block  # the full name stays in the tooltip
    assert "<b>w0</b>" in block and "<b>b</b>" in block  # labels are short in their cluster
    assert "l2.n1.w0" not in block
    assert "<b>x0</b>" not in block  # shared inputs stay outside
    assert "subgraph" not in to_dot(loss, clusters=False)


# ---------------------------------------------------------------------------
# The budget


def _summaries(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"<br/>(\d+) nodes?: ", text)]


@given(st.integers(3, 120), st.integers(0, 3))
def test_budget_is_respected_and_nothing_is_lost(max_nodes: int, seed: int) -> None:
    loss, _ = _scoped_mlp([2, 3, 3, 1], seed=seed)
    text = to_dot(loss, max_nodes=max_nodes)
    drawn = _NODE.findall(text)
    assert len(drawn) <= max_nodes
    # every graph node is drawn as itself or counted in exactly one summary
    values = [n for n in drawn if n.startswith("v")]
    assert len(values) + sum(_summaries(text)) == _count_nodes(loss)
    defined = set(drawn)
    assert all(a in defined and b in defined for a, b in _EDGE.findall(text))
    assert "<b>loss</b>" in text  # the root is always drawn


def test_collapse_prefers_whole_scopes() -> None:
    loss, _ = _scoped_mlp([2, 4, 4, 1], seed=0)
    text = to_dot(loss, max_nodes=40)
    assert "<b>layer 2/neuron 3</b>" in text
    assert "12 nodes: 4 × *, 1 × +, 1 × sum, 1 × tanh, 5 leaves" in text
    assert re.search(r"out: data \S+, grad \S+", text)


def test_long_chain_collapses_within_budget() -> None:
    x = Value(0.5, label="x")
    y = x
    for _ in range(3000):
        y = (y * 1.0001 + 0.001).tanh()
    y.backward()
    text = to_dot(y, max_nodes=50)
    assert len(_NODE.findall(text)) <= 50
    assert "collapsed" in text
    values = [n for n in _NODE.findall(text) if n.startswith("v")]
    assert len(values) + sum(_summaries(text)) == _count_nodes(y) == 9001


# ---------------------------------------------------------------------------
# Determinism


def test_same_graph_same_bytes() -> None:
    loss, _ = _scoped_mlp([2, 3, 1], seed=5)
    again, _ = _scoped_mlp([2, 3, 1], seed=5)
    assert to_dot(loss, partials=True) == to_dot(loss, partials=True)
    assert to_dot(loss, partials=True) == to_dot(again, partials=True)
    assert to_dot(loss, max_nodes=12) == to_dot(again, max_nodes=12)


def test_same_bytes_across_processes() -> None:
    code = (
        "from autograd.expr import evaluate; import visualize;"
        "r, _ = evaluate('tanh(sum(a*b, b*c, c*a, a))', {'a': 0.1, 'b': -2, 'c': 3});"
        "r.backward(); print(visualize.to_dot(r, partials=True, max_nodes=9), end='')"
    )
    outs = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed,
               "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
        outs.append(subprocess.run([sys.executable, "-c", code], env=env, check=True,
                                   capture_output=True).stdout)
    assert outs[0] == outs[1]
    assert outs[0].startswith(b"digraph G {")


# ---------------------------------------------------------------------------
# draw_dot, render, missing Graphviz


def test_draw_dot_returns_a_digraph_with_the_same_text() -> None:
    import graphviz

    root, _ = evaluate("x * y + 1", {"x": 1.0, "y": 2.0})
    g = draw_dot(root, rankdir="TB")
    assert isinstance(g, graphviz.Digraph)
    body = to_dot(root, rankdir="TB").splitlines()[1:-1]
    assert [line.rstrip("\n") for line in g.body] == body


def test_dot_file_needs_no_graphviz(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert find_dot() is None
    root, _ = evaluate("x * y", {"x": 1.0, "y": 2.0})
    out = render(root, tmp_path / "sub" / "g.dot")
    assert out.read_text(encoding="utf-8") == to_dot(root)


def test_missing_dot_raises_a_helpful_error(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    root, _ = evaluate("x * y", {"x": 1.0, "y": 2.0})
    with pytest.raises(GraphvizNotFoundError) as info:
        render(root, tmp_path / "g.svg")
    msg = str(info.value)
    assert "`dot` program was not found" in msg
    assert "apt-get install graphviz" in msg
    assert "brew install graphviz" in msg
    assert "winget install graphviz" in msg
    assert "to_dot" in msg
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_unknown_suffix_writes_nothing(tmp_path: Path) -> None:
    root, _ = evaluate("x", {"x": 1.0})
    with pytest.raises(ValueError, match=r"cannot tell the format of .*g\.jpg.*\.svg, \.png"):
        render(root, tmp_path / "g.jpg")
    assert list(tmp_path.iterdir()) == []


@needs_dot
def test_render_svg_parses_as_xml(tmp_path: Path) -> None:
    root, leaves = evaluate("tanh(w*x + b)", {"x": 0.5, "w": -3.0, "b": 2.0})
    root.backward()
    out = render(root, tmp_path / "g.svg", partials=True)
    tree = ET.parse(out)
    assert tree.getroot().tag.endswith("svg")
    texts = [t.text for t in tree.iter() if t.tag.endswith("text") and t.text]
    assert f"grad {fmt(leaves['x'].grad)}" in texts
    assert "tanh" in texts
    assert [p.name for p in tmp_path.iterdir()] == ["g.svg"]  # no temporary files left


@needs_dot
def test_render_png_and_pdf(tmp_path: Path) -> None:
    root, _ = evaluate("x * y", {"x": 1.0, "y": 2.0})
    assert render(root, tmp_path / "g.png").read_bytes().startswith(b"\x89PNG")
    assert render(root, tmp_path / "g.pdf").read_bytes().startswith(b"%PDF")


@needs_dot
def test_render_a_collapsed_graph(tmp_path: Path) -> None:
    loss, _ = _scoped_mlp([2, 4, 4, 1], seed=3)
    out = render(loss, tmp_path / "mlp.svg", max_nodes=30)
    assert ET.parse(out).getroot().tag.endswith("svg")
    text = out.read_text(encoding="utf-8")
    assert "layer 1" in text and "32 nodes" in text  # the first layer drawn as one box


def test_public_names() -> None:
    for name in ("to_dot", "draw_dot", "render", "explain", "GraphvizNotFoundError",
                 "render_backward", "plot_history", "plot_decision_boundary",
                 "plot_grad_flow"):
        assert hasattr(visualize, name)


def test_layering_public_autograd_only_and_no_nn() -> None:
    """visualize, the library (not its app, visualize/app/), uses autograd's public names
    only and never imports nn or the app."""
    import ast

    root = Path(__file__).resolve().parents[1] / "visualize"
    public = set(autograd.__all__)

    def forbidden(module: str) -> bool:
        return module.split(".")[0] == "nn" or module.startswith("visualize.app")

    for path in sorted(root.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                assert not any(forbidden(a.name) for a in node.names), path.name
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not forbidden(node.module), path.name
                assert not (node.level and node.module.split(".")[0] == "app"), path.name
                if node.module == "visualize":
                    assert "app" not in {a.name for a in node.names}, path.name
                if node.module == "autograd":
                    assert {a.name for a in node.names} <= public, path.name
            if isinstance(node, ast.Attribute):
                if isinstance(node.value, ast.Name) and node.value.id == "autograd":
                    assert node.attr in public, (path.name, node.attr)
                assert not node.attr.startswith("_") or node.attr.startswith("__"), (
                    path.name, node.attr)
    code = "import sys, visualize; print('nn' in sys.modules)"
    env = {**os.environ, "PYTHONPATH": str(root.parent)}
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True,
                         capture_output=True, text=True).stdout
    assert out.strip() == "False"


def test_budget_is_spent_greedily_nearest_the_output_first() -> None:
    loss, _ = _scoped_mlp([2, 4, 4, 1], seed=0)
    full = len(_NODE.findall(to_dot(loss, max_nodes=10_000)))
    text = to_dot(loss, max_nodes=full - 1)  # one node short of everything
    # not all-or-nothing: only part of the graph collapses, the output side stays open
    titles = re.findall(r"<b>(layer [^<]+)</b>", text)
    assert titles, "something must collapse"
    assert all(t.startswith("layer 1") for t in titles)  # farthest from the output
    assert len(_NODE.findall(text)) <= full - 1
    assert len(_NODE.findall(text)) >= full - 12  # most of the budget is used
    assert "<b>l3.n1.w0</b>" not in text and "<b>w0</b>" in text  # layer 3 drawn in full
    # summary boxes are coloured by their gradient
    boxes = [line for line in text.splitlines() if "shape=note" in line]
    assert boxes and all('fillcolor="#eeeeee"' not in line for line in boxes)


def test_draw_dot_takes_micrographs_trace_graph_signature() -> None:
    pytest.importorskip("graphviz")
    x = Value(1.0)
    y = (x * 2 + 1).relu()
    y.backward()
    dot = draw_dot(y, format="png", rankdir="TB")
    assert dot.format == "png" and "rankdir=TB;" in dot.source
    assert draw_dot(y, "svg", "LR").format == "svg"
    with pytest.raises(ValueError, match="rankdir must be 'LR' or 'TB'"):
        draw_dot(y, "svg", "RL")
    with pytest.raises(ValueError, match="format must be a Graphviz output format"):
        draw_dot(y, format="")


# ---------------------------------------------------------------------------
# layout: Graphviz keeps neurons in their numeric order inside a layer (needs dot)


def _layer_of_neurons(n: int) -> Value:
    xs = [Value(0.5), Value(-0.3)]
    outs = []
    for j in range(1, n + 1):
        with autograd.scope("layer 1"), autograd.scope(f"neuron {j}"):
            outs.append((xs[0] * (0.1 * j) + xs[1] * (0.2 - 0.01 * j)).tanh())
    with autograd.scope("layer 2"), autograd.scope("neuron 1"):
        y = autograd.sum(outs)
    y.backward()
    return y


@needs_dot
@pytest.mark.parametrize("n", [4, 12, 16, 24])
def test_neuron_clusters_are_laid_out_in_numeric_order(n: int) -> None:
    root = _layer_of_neurons(n)
    text = visualize.to_dot(root, max_nodes=n + 8)  # one summary node per neuron
    names = dict(re.findall(r"(s\d+) \[.*?<b>layer 1/neuron (\d+)</b>", text))
    assert len(names) == n
    dot = find_dot()
    assert dot is not None
    plain = subprocess.run([dot, "-Tplain"], input=text, capture_output=True, text=True,
                           check=True).stdout
    ys = {}
    for line in plain.splitlines():
        parts = line.split()
        if parts[:1] == ["node"] and parts[1] in names:
            ys[int(names[parts[1]])] = float(parts[3])
    order = sorted(ys, key=lambda j: -ys[j])  # top to bottom in an LR layout
    assert order == sorted(order) or order == sorted(order, reverse=True)


def _cluster_tops(text: str) -> dict[str, float]:
    """Graphviz's layout: each cluster's label -> its top edge (larger y is higher)."""
    dot = find_dot()
    assert dot is not None
    laid = subprocess.run([dot, "-Tdot"], input=text, capture_output=True, text=True,
                          check=True).stdout
    tops = {}
    for m in re.finditer(r'subgraph cluster_\d+ \{\s*(?:graph \[)?bb="([\d.,]+)",'
                         r'(?:(?!bb=).)*?label="?(neuron \d+)"?', laid, re.DOTALL):
        y1 = float(m.group(1).split(",")[3])
        tops.setdefault(m.group(2), y1)
    return tops


@needs_dot
@pytest.mark.parametrize("width", [4, 12])
def test_unfused_mlp_neurons_stay_in_numeric_order(width: int) -> None:
    import nn

    model = nn.MLP(2, [width, 1], fused=False, init="micrograd", seed=1)
    y = model([0.5, -1.0])
    y.backward()
    text = visualize.to_dot(y, max_nodes=10_000)
    tops = _cluster_tops(text)
    layer1 = [tops[f"neuron {j}"] for j in range(1, width + 1)]
    assert layer1 == sorted(layer1, reverse=True)  # neuron 1 on top, then 2, 3...


def test_parameter_labels_are_short_and_one_based_inside_neuron_clusters() -> None:
    import nn

    model = nn.MLP(2, [3, 1], seed=0)
    y = model([0.5, -1.0])
    y.backward()
    p = model.layers[0].neurons[2].w[1]
    assert p.label == "layers.0.neurons.2.w.1"  # nn's name stays the full dotted one
    text = visualize.to_dot(y)
    line = next(line for line in text.splitlines() if "layers.0.neurons.2.w.1" in line)
    assert "<b>w2</b>" in line  # drawn as w2 in "layer 1/neuron 3"
    assert "<b>b</b>" in text and "<b>layers." not in text
    flat = visualize.to_dot(y, clusters=False)
    assert "<b>layers.0.neurons.2.w.1</b>" in flat  # outside clusters the full name
