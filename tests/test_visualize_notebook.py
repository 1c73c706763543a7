"""A small notebook executed in a real Jupyter kernel (nbclient): what Jupyter displays.

``visualize.explain(...)`` shows as a table (HTML and Markdown, with the text
kept as text/plain), ``visualize.backward_dots(...)`` as the interactive
stepper, ``visualize.draw_dot(...)`` as SVG.
"""

from __future__ import annotations

import pytest

from visualize.graph import find_dot

nbformat = pytest.importorskip("nbformat", reason="nbformat (dev extra) is not installed")
nbclient = pytest.importorskip("nbclient", reason="nbclient (dev extra) is not installed")
pytest.importorskip("ipykernel", reason="ipykernel (dev extra) is not installed")

pytestmark = pytest.mark.skipif(find_dot() is None, reason="Graphviz's dot is not installed")

_CELLS = [
    "from autograd import Value\n"
    "import visualize\n"
    "x = Value(3.0, label='x')\n"
    "y = x * x + x.sin()\n"
    "y.label = 'y'\n"
    "y.backward()\n"
    "e = visualize.explain(x, y)\n"
    "e",
    "print(e)",
    "visualize.backward_dots(y)",
    "visualize.draw_dot(y)",
]


@pytest.fixture(scope="module")
def executed() -> list[dict]:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in _CELLS]
    client = nbclient.NotebookClient(nb, timeout=240, kernel_name="python3",
                                     allow_errors=False)
    client.execute()
    return [c["outputs"] for c in nb.cells]


def test_explain_displays_as_a_table_and_prints_as_text(executed: list[dict]) -> None:
    (result,) = executed[0]
    assert result["output_type"] == "execute_result"
    data = result["data"]
    assert {"text/html", "text/markdown", "text/plain"} <= set(data)
    assert data["text/html"].startswith("<table>")
    assert "y ← (mul) ← x (operand 2)" in data["text/html"]
    assert "| path | nodes (root first) | local derivatives | product |" in data["text/markdown"]
    (printed,) = executed[1]
    assert printed["output_type"] == "stream"
    assert printed["text"].startswith("d y / d x: the sum over 3 paths")
    assert "path 2: y <- (mul) <- x (operand 2)" in printed["text"]


def test_backward_dots_displays_the_stepper(executed: list[dict]) -> None:
    (result,) = executed[2]
    html = result["data"]["text/html"]
    assert 'class="crstep"' in html and "<script>" in html
    assert html.count('class="cr-frame"') == 5  # seed, 3 steps (*, sin, +), summary
    assert "<svg" in html and "cr-slider" in html


def test_draw_dot_displays_as_svg(executed: list[dict]) -> None:
    (result,) = executed[3]
    assert "image/svg+xml" in result["data"]
