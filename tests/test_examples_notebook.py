"""examples/lecture.ipynb, the learner's first notebook, executed in a real Jupyter kernel.

The notebook is run once per module (nbclient, kernel ``python3``, in a fresh
folder) and its outputs are checked against what its text promises: the
lecture's neuron gives o = 0.7071 with the gradients by hand equal to
``backward()``'s, ``draw_dot`` shows SVG, ``explain`` an HTML table,
``backward_dots`` the stepper, gradcheck passes, and the training cells' loss
falls. The stored file itself must be clean (no outputs, no execution counts).
"""

from __future__ import annotations

import html
import itertools
import re
from pathlib import Path
from typing import Any

import pytest

from visualize.graph import find_dot

nbformat = pytest.importorskip("nbformat", reason="nbformat (dev extra) is not installed")
nbclient = pytest.importorskip("nbclient", reason="nbclient (dev extra) is not installed")
pytest.importorskip("ipykernel", reason="ipykernel (dev extra) is not installed")
pytest.importorskip("matplotlib", reason="matplotlib (plot extra) is not installed")

pytestmark = pytest.mark.skipif(find_dot() is None, reason="Graphviz's dot is not installed")

NOTEBOOK = Path(__file__).resolve().parent.parent / "examples" / "lecture.ipynb"


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The notebook after a run, its code cells by id."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    cwd = tmp_path_factory.mktemp("lecture")
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                                     allow_errors=False,
                                     resources={"metadata": {"path": str(cwd)}})
    client.execute()  # raises CellExecutionError, naming the cell, on any error
    return {c["id"]: c for c in nb.cells if c["cell_type"] == "code"}


def _text(cell: Any) -> str:
    """Everything a cell printed."""
    return "".join(o["text"] for o in cell["outputs"] if o["output_type"] == "stream")


def _data(cell: Any, mime: str) -> list[str]:
    """Every displayed or returned output of one MIME type, in order."""
    return [o["data"][mime] for o in cell["outputs"]
            if o["output_type"] in ("execute_result", "display_data") and mime in o["data"]]


def _svg_text(svg: str) -> list[str]:
    """The text of every ``<text>`` element of a Graphviz SVG, unescaped (``&#45;`` is ``-``)."""
    return [html.unescape(t).strip() for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]


def _losses(text: str, word: str) -> list[float]:
    return [float(m) for m in re.findall(rf"^{word} +\d+ +loss ([-\d.e+]+)$", text, re.M)]


def test_the_stored_notebook_is_clean_and_has_stable_cell_ids() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c["cell_type"] == "code"]
    assert len(code) >= 25
    for c in code:
        assert c["outputs"] == [], f"cell {c['id']} was stored with outputs"
        assert c["execution_count"] is None, f"cell {c['id']} was stored with a count"
    ids = [c["id"] for c in nb.cells]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[a-z0-9-]+", i) for i in ids), ids
    assert nb.metadata["kernelspec"]["name"] == "python3"


def test_every_code_cell_ran(executed: dict[str, Any]) -> None:
    counts = [c["execution_count"] for c in executed.values()]
    assert counts == list(range(1, len(counts) + 1))
    errors = [o for c in executed.values() for o in c["outputs"] if o["output_type"] == "error"]
    assert errors == []


def test_measured_slopes_match_calculus(executed: dict[str, Any]) -> None:
    text = _text(executed["derivative-slope"])
    assert "x =  3.0000   measured slope  14.00000   calculus 6x - 4 =  14.00000" in text
    assert "x =  0.6667   measured slope   0.00000" in text
    assert _text(executed["partials"]).split() == [
        "dd/da", "≈", "-3.0000", "dd/db", "≈", "2.0000", "dd/dc", "≈", "1.0000"]
    (png,) = _data(executed["derivative-plot"], "image/png")
    assert len(png) > 1000


def test_the_expression_backward_by_hand_equals_backward(executed: dict[str, Any]) -> None:
    assert _text(executed["value"]).startswith("Value(data=-8.0, grad=0.0, label='L')")
    rows = re.findall(r"^(\w+): by hand +(\S+) +L\.backward\(\) +(\S+)$",
                      _text(executed["backward"]), re.M)
    got = {name: (float(hand), float(auto)) for name, hand, auto in rows}
    want = {"a": 6.0, "b": -4.0, "c": -2.0, "e": -2.0, "d": -2.0, "f": 4.0, "L": 1.0}
    assert got == {k: (v, v) for k, v in want.items()}
    assert "L after one step along the gradient: -7.286496" in _text(executed["nudge"])


def test_draw_dot_shows_svg_before_and_after_backward(executed: dict[str, Any]) -> None:
    (before,) = _data(executed["value-draw"], "image/svg+xml")
    (after,) = _data(executed["backward-draw"], "image/svg+xml")
    assert before.lstrip().startswith(("<?xml", "<svg", "<!--"))
    assert "</svg>" in after
    shown = _svg_text(before)
    assert {"a", "b", "c", "d", "e", "f", "L", "data -8"} <= set(shown)
    assert "grad 6" not in shown  # nothing has run backward yet
    shown = _svg_text(after)
    for text in ("grad 6", "grad -4", "grad 4", "grad -2", "grad 1", "grad > 0", "grad < 0"):
        assert text in shown, text


def test_the_neuron_gives_the_lectures_numbers(executed: dict[str, Any]) -> None:
    assert _text(executed["neuron-forward"]).splitlines() == ["n = 0.8814", "o = 0.7071"]
    rows = re.findall(r"^ *(\w+): by hand ([-+]\S+) +o\.backward\(\) ([-+]\S+)$",
                      _text(executed["neuron-hand"]), re.M)
    got = {name: (float(hand), float(auto)) for name, hand, auto in rows}
    want = {"x1": -1.5, "w1": 1.0, "x2": 0.5, "w2": 0.0, "b": 0.5, "n": 0.5, "o": 1.0}
    assert got == {k: (v, v) for k, v in want.items()}
    (svg,) = _data(executed["neuron-draw"], "image/svg+xml")  # drawn before o.backward()
    shown = _svg_text(svg)
    for text in ("data 0.7071", "data 0.8814", "data 6.881", "x1*w1 + x2*w2", "tanh"):
        assert text in shown, text
    (partials,) = _data(executed["neuron-partials"], "image/svg+xml")
    shown = _svg_text(partials)
    for text in ("grad -1.5", "grad·∂ = 0.5 × -3 = -1.5", "∂o/∂n = 1 - tanh(n)^2 = 0.5"):
        assert text in shown, text


def test_the_stepper_and_explain_display(executed: dict[str, Any]) -> None:
    (page,) = _data(executed["neuron-steps"], "text/html")
    assert 'class="crstep"' in page and "<script>" in page and "<svg" in page
    # the seed, one frame per op node (tanh, +, +, *, *), the summary
    assert page.count('class="cr-frame"') == 7
    (table,) = _data(executed["neuron-explain"], "text/html")
    assert table.startswith("<table>")
    assert "o ← n ← x1*w1 + x2*w2 ← x1*w1 ← x1" in table and "-1.5" in table
    printed = _text(executed["neuron-explain-draw"])
    assert printed.startswith("d o / d x1: the sum over 1 path")
    assert "= 0.5 × 1 × 1 × -3 = -1.5" in printed
    (highlighted,) = _data(executed["neuron-explain-draw"], "image/svg+xml")
    assert "orange: the 1 path along which d(root)/dx1 flows; the products along them sum to -1.5" \
        in _svg_text(highlighted)
    assert _text(executed["twice"]) == "a.grad = 2.0\n"
    (twice,) = _data(executed["twice"], "text/html")
    assert "a (operand 1)" in twice and "a (operand 2)" in twice


def test_tanh_from_exp_gives_the_same_gradients(executed: dict[str, Any]) -> None:
    assert _text(executed["exp"]).strip() == (
        "o = 0.7071 {'x1': -1.5, 'w1': 1.0, 'x2': 0.5, 'w2': 0.0, 'b': 0.5}")
    (svg,) = _data(executed["exp"], "image/svg+xml")
    assert {"exp", "/", "data 0.7071", "grad -1.5"} <= set(_svg_text(svg))


def test_gradcheck_and_finite_differences_agree(executed: dict[str, Any]) -> None:
    text = _text(executed["gradcheck"])
    assert text.startswith("gradcheck of neuron() (f = 0.707107): passed")
    rows = re.findall(r"^  (x1|x2|w1|w2|b) .* (\S+)$", text, re.M)
    assert rows == [(name, "ok") for name in ("x1", "x2", "w1", "w2", "b")]
    fd, auto = re.findall(r"-?\d+\.\d+", _text(executed["gradcheck-hand"]))
    assert auto == "-1.500000" and abs(float(fd) + 1.5) < 1e-4


def test_the_micrograd_style_loop_lowers_the_loss(executed: dict[str, Any]) -> None:
    assert "41 parameters" in _text(executed["mlp"])
    losses = _losses(_text(executed["mlp-train"]), "step")
    assert len(losses) == 20
    assert all(b < a for a, b in itertools.pairwise(losses)), losses
    assert losses[-1] < losses[0] / 100
    (preds,) = _data(executed["mlp-pred"], "text/plain")
    values = [float(v) for v in preds.strip("[]").split(",")]
    assert [round(v) for v in values] == [1, -1, -1, 1]
    relu = _losses(_text(executed["mlp-relu"]), "step")
    assert len(relu) == 8 and abs(relu[-1] - 4.0) < 1e-6


def test_nn_fit_lowers_the_loss_and_solves_moons(executed: dict[str, Any]) -> None:
    losses = _losses(_text(executed["fit"]), "epoch")
    assert len(losses) == 20
    assert all(b < a for a, b in itertools.pairwise(losses)), losses
    assert losses[-1] < losses[0] / 10
    text = _text(executed["moons"])
    falls = re.search(r"^loss (\S+) -> (\S+)$", text, re.M)
    accuracy = re.search(r"^test accuracy (\S+)$", text, re.M)
    assert falls is not None and accuracy is not None, text
    assert float(falls.group(2)) < float(falls.group(1)) / 10
    assert float(accuracy.group(1)) >= 0.95
    boundary, curves = _data(executed["moons-pictures"], "image/svg+xml")
    assert "decision boundary" in boundary and "test, label 1" in boundary
    assert "binary cross entropy" in curves
