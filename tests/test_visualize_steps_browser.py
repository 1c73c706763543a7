"""The backward step-through page in a real browser (headless Chromium).

Drives the page written by ``render_backward`` and the inline stepper that
``backward_dots(...)`` shows in Jupyter: keys (one step per press whatever has
focus), buttons, slider, autoplay, zoom, tooltips; fails on any JavaScript error.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

import visualize
from autograd import Value
from tests.browser import Browser, requires_chromium
from visualize.graph import find_dot

pytestmark = [requires_chromium,
              pytest.mark.skipif(find_dot() is None, reason="Graphviz's dot is not installed")]


def _neuron() -> Value:
    """The lecture's neuron: o = tanh(x1*w1 + x2*w2 + b)."""
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    x1w1 = x1 * w1
    x1w1.label = "x1*w1"
    x2w2 = x2 * w2
    x2w2.label = "x2*w2"
    s = x1w1 + x2w2
    s.label = "s"
    n = s + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return o


@pytest.fixture(scope="module")
def browser():
    with Browser() as b:
        yield b


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("steps")
    return visualize.render_backward(_neuron(), out, title="the neuron").html


def _step(b: Browser, css: str = "#crstep") -> int:
    return int(b.js(f"return document.querySelector('{css}').dataset.step;"))


def _wait(b: Browser, cond: str, limit: float = 20.0) -> bool:
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if b.js(f"return Boolean({cond});"):
            return True
        time.sleep(0.05)
    return False


def test_one_key_press_is_one_step_whatever_has_focus(browser: Browser, page: Path) -> None:
    browser.open(page)
    last = browser.count(".cr-frame") - 1
    assert last == 6  # seed, 5 interior nodes, the summary
    assert _step(browser) == 0
    assert browser.text(".cr-count") == "step 0 of 5"
    browser.press("ArrowRight")
    assert _step(browser) == 1
    browser.focus(".cr-slider")  # the slider moved two steps per press before
    browser.press("ArrowRight")
    assert _step(browser) == 2
    assert browser.js("return document.querySelector('.cr-slider').value;") == "2"
    browser.press("ArrowLeft")
    assert _step(browser) == 1
    browser.focus(".cr-next")
    browser.press("ArrowRight", times=2)
    assert _step(browser) == 3
    browser.press("End")
    assert _step(browser) == last
    assert browser.text(".cr-count").startswith("summary")
    browser.press("ArrowRight")
    assert _step(browser) == last  # clamped
    browser.press("Home")
    assert _step(browser) == 0
    browser.assert_no_errors()


def test_buttons_slider_and_captions_with_arithmetic(browser: Browser, page: Path) -> None:
    browser.open(page)
    assert browser.text(".cr-caption").startswith("step 0: o receives the seed gradient 1")
    browser.click(".cr-next")
    browser.click(".cr-next")
    assert _step(browser) == 2
    # step 1: o -> n through tanh: 1 × (1 - o²) = 0.5; step 2: n -> s and b
    assert "1 × 0.5 = 0.5 → n.grad" not in browser.text(".cr-caption")
    assert "0.5 × 1 = 0.5 → b.grad" in browser.text(".cr-caption")
    browser.click(".cr-prev")
    assert "1 × 0.5 = 0.5 → n.grad" in browser.text(".cr-caption")
    browser.click(".cr-last")
    summary = browser.text(".cr-caption")
    assert summary.startswith("done:")
    for part in ("x1.grad = -1.5", "w1.grad = 1", "x2.grad = 0.5", "w2.grad = 0", "b.grad = 0.5"):
        assert part in summary
    browser.click(".cr-first")
    assert _step(browser) == 0
    browser.js("const s = document.querySelector('.cr-slider'); s.value = '4';"
               "s.dispatchEvent(new Event('input'));")
    assert _step(browser) == 4
    # buttons are plain text: no icon font needed
    labels = [browser.js(f"return document.querySelector('{c}').textContent;")
              for c in (".cr-first", ".cr-prev", ".cr-play", ".cr-next", ".cr-last")]
    assert labels == ["|< First", "< Back", "Play", "Next >", "Last >|"]
    browser.assert_no_errors()


def test_frames_show_only_what_is_computed_by_then(browser: Browser, page: Path) -> None:
    browser.open(page)

    def frame_text(k: int) -> list[str]:
        return browser.js(
            "return Array.from(document.querySelectorAll("
            f"'.cr-frame[data-frame=\"{k}\"] g.edge text')).map(t => t.textContent);")

    def grads(k: int) -> list[str]:
        return browser.js(
            "return Array.from(document.querySelectorAll("
            f"'.cr-frame[data-frame=\"{k}\"] g.node text')).map(t => t.textContent)"
            ".filter(t => t.startsWith('grad'));")

    assert frame_text(0) == []  # the seed: no edge carries a number yet
    assert grads(0).count("grad ?") == 9 and "grad 1" in grads(0)
    assert frame_text(1) == ["1 × 0.5 = 0.5"]  # only the edge being traversed
    assert grads(1).count("grad ?") == 8
    # frame 2: the current edges carry the arithmetic, the earlier one what it passed
    assert sorted(frame_text(2)) == ["0.5 × 1 = 0.5", "0.5 × 1 = 0.5", "passed 0.5"]
    assert all(g != "grad ?" for g in grads(6))


def test_autoplay_and_zoom(browser: Browser, page: Path) -> None:
    browser.open(page)
    browser.press(" ")
    assert browser.text(".cr-play") == "Pause"
    assert _wait(browser, "document.querySelector('#crstep').dataset.step >= 2")
    browser.press(" ")
    assert browser.text(".cr-play") == "Play"
    stopped = _step(browser)
    time.sleep(1.5)
    assert _step(browser) == stopped  # paused: it stays
    zoom0 = float(browser.js("return document.querySelector('#crstep').dataset.zoom;"))
    browser.click(".cr-zin")
    zoom1 = float(browser.js("return document.querySelector('#crstep').dataset.zoom;"))
    assert zoom1 == pytest.approx(zoom0 * 1.25, rel=1e-2)
    browser.press("-")
    zoom2 = float(browser.js("return document.querySelector('#crstep').dataset.zoom;"))
    assert zoom2 == pytest.approx(zoom1 * 0.8, rel=1e-2)
    browser.press("0")  # fit again (the view may have lost its scroll bar meanwhile)
    assert float(browser.js("return document.querySelector('#crstep').dataset.zoom;")) == \
        pytest.approx(zoom0, rel=5e-2)
    transform = browser.js("return document.querySelector('.cr-stage').style.transform;")
    assert "scale(" in transform
    browser.assert_no_errors()


def test_tooltips_name_nodes_and_formulas_not_ids(browser: Browser, page: Path) -> None:
    browser.open(page)
    titles = browser.js("return Array.from(document.querySelectorAll('.cr-frame svg title'))"
                        ".map(t => t.textContent);")
    assert titles
    assert not [t for t in titles if re.fullmatch(r"[vos]\d+|[vos]\d+->[vos]\d+|G", t)]
    assert any(t.startswith("o = tanh(n); data 0.7071") for t in titles)
    import autograd

    tanh = autograd.get_op("tanh")
    assert any(t.startswith(f"tanh: {tanh.formula}; local derivative {tanh.derivative}")
               for t in titles)


def test_inline_stepper_for_jupyter(browser: Browser, tmp_path: Path) -> None:
    dots = visualize.backward_dots(_neuron())
    html = dots._repr_html_()
    host = tmp_path / "notebook.html"
    # two steppers on one page (two notebook outputs) must not interfere
    other = visualize.backward_dots(Value(2.0, label="a") * Value(3.0, label="b"))._repr_html_()
    host.write_text(f"<!DOCTYPE html><html><body><input id='cell'>{html}{other}</body></html>",
                    encoding="utf-8")
    browser.open(host)
    ids = browser.js("return Array.from(document.querySelectorAll('.crstep')).map(e => e.id);")
    assert len(ids) == 2 and ids[0] != ids[1]
    first, second = (f"#{i}" for i in ids)
    browser.focus("#cell")
    browser.press("ArrowRight")  # typing in another cell does not move the stepper
    assert _step(browser, first) == 0
    browser.focus(f"{first} .cr-slider")
    browser.press("ArrowRight")
    assert _step(browser, first) == 1
    assert _step(browser, second) == 0
    browser.click(f"{second} .cr-next")
    assert _step(browser, second) == 1 and _step(browser, first) == 1
    browser.assert_no_errors()


_WHOLE_GRAPH_IN_VIEW = (
    "const svg = document.querySelector('.cr-frame:not([hidden]) svg');"
    "const r = svg.getBoundingClientRect();"
    "const v = document.querySelector('.cr-view').getBoundingClientRect();"
    "return r.width > 50 && r.left >= v.left - 1 && r.right <= v.right + 1 && "
    "r.top >= v.top - 1 && r.bottom <= v.bottom + 1;")


def _focus_in_view(browser: Browser) -> bool:
    return bool(browser.js(
        "const k = document.querySelector('.crstep').dataset.step;"
        "const el = document.querySelector(`.cr-frame[data-frame=\"${k}\"] .cr-focus`);"
        "const r = el.getBoundingClientRect();"
        "const v = document.querySelector('.cr-view').getBoundingClientRect();"
        "return r.left >= v.left && r.right <= v.right && r.top >= v.top && "
        "r.bottom <= v.bottom;"))


def test_a_big_graph_is_framed_whole_on_every_frame(browser: Browser, tmp_path: Path) -> None:
    from autograd.expr import evaluate

    root, _ = evaluate("tanh(w1*x1 + w2*x2 + w3*x3 + b) * sigmoid(x1 - x2) + exp(-x3*x3)",
                       {"x1": 0.5, "x2": -1.0, "x3": 2.0, "w1": 0.3, "w2": -0.7, "w3": 0.1,
                        "b": 0.2})
    page = visualize.render_backward(root, tmp_path / "big").html
    browser.open(page)
    last = browser.count(".cr-frame") - 1
    for k in range(last + 1):      # every step and the summary: the whole graph, inputs too
        assert browser.js(_WHOLE_GRAPH_IN_VIEW), f"frame {k}: part of the graph is off view"
        assert browser.text(".cr-count") == ("summary" if k == last else f"step {k} of "
                                             f"{last - 1}")
        browser.press("ArrowRight")
    # zoomed in by the user, the steps follow the node passing its gradient
    browser.press("Home")
    browser.click(".cr-zin")
    browser.click(".cr-zin")
    for _ in range(last - 1):
        browser.press("ArrowRight")
        assert _focus_in_view(browser), f"step {_step(browser)}: the focus node is off view"
    browser.click(".cr-fit")       # Fit frames the whole graph again
    assert browser.js(_WHOLE_GRAPH_IN_VIEW)
    browser.assert_no_errors()


def test_space_toggles_play_after_a_click(browser: Browser, page: Path) -> None:
    playing = "return document.querySelector('.crstep').dataset.playing"
    for target in (".cr-next", ".cr-play", ".cr-view", ".cr-slider"):
        browser.open(page)
        browser.click(target)
        first = browser.js(playing) == "true"
        browser.press(" ")
        assert (browser.js(playing) == "true") is not first, target
        browser.press(" ")
        assert (browser.js(playing) == "true") is first, target
    browser.assert_no_errors()


def test_inline_stepper_is_not_shrunk_twice_by_jupyter_css(browser: Browser,
                                                           tmp_path: Path) -> None:
    # JupyterLab styles every output SVG `max-width: 100%; height: auto`: the stepper's frames
    # must keep their own size (the stepper scales them), or a wide graph starts unreadable
    html = visualize.backward_dots(_neuron())._repr_html_()
    host = tmp_path / "lab.html"
    host.write_text(
        "<!DOCTYPE html><html><head><style>.jp-RenderedHTMLCommon svg { max-width: 100%; "
        "height: auto; }</style></head><body><div class='jp-RenderedHTMLCommon' "
        f"style='width: 600px'>{html}</div></body></html>", encoding="utf-8")
    browser.open(host)
    drawn, own, zoom = browser.js(
        "const svg = document.querySelector('.cr-frame:not([hidden]) svg');"
        "const w = svg.getAttribute('width');"
        "return [svg.getBoundingClientRect().width, parseFloat(w) * (w.endsWith('pt') ? 4 / 3 "
        ": 1), parseFloat(document.querySelector('.crstep').dataset.zoom)];")
    assert own > 600  # the graph is wider than the cell
    assert drawn == pytest.approx(own * zoom, rel=0.02)  # scaled once, by the stepper
    assert browser.js(_WHOLE_GRAPH_IN_VIEW)             # and not cut off at the start
    browser.assert_no_errors()
