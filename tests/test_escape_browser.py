"""No label, title or name runs script in any page or repr we write (headless Chromium).

Every page and notebook repr is rendered with hostile text — ``</script>``
breakouts, event-handler markup, ``<!--``, ``]]>``, quotes, U+2028/U+2029,
JavaScript template syntax and our own template slot words — in its labels,
titles and names. Each payload would set ``window.__pwned`` or the document's
title if it ran; the test opens every page and checks that it did not, that
the page ran without a script error, and that the text is shown literally.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import autograd
import nn
import visualize
from autograd import Value
from tests.browser import Browser, requires_chromium
from visualize import palette
from visualize.app.lessons import _base, _player, write_index
from visualize.app.lessons import playground as _playground
from visualize.graph import find_dot

pytestmark = [requires_chromium,
              pytest.mark.skipif(find_dot() is None, reason="Graphviz's dot is not installed")]

PIECES = [
    "</script><script>window.__pwned=1;document.title='PWNED'</script>",
    "<img src=x onerror=window.__pwned=1>",
    "<svg onload=window.__pwned=1>",
    "\"'><script>window.__pwned=1</script>",
    "<!--", "-->", "]]>", "<![CDATA[", "&lt;b&gt;", "&amp;",
    "\u2028", "\u2029", "`${window.__pwned=1}`", "\\", "\\n", "'", '"',
    "__TITLE__", "__INTRO__", "__AXES__", "__DATA__", "CAPTIONS", "DELAY", "UID", "READABLE",
    "STANDALONE", "x", "w1", " ",
]
hostile = st.lists(st.sampled_from(PIECES), min_size=1, max_size=4).map("".join)


@pytest.fixture(scope="module")
def browser():
    with Browser() as b:
        yield b


def _graph(a: str, b: str, c: str) -> Value:
    x, w = Value(2.0, label=a), Value(-3.0, label=b)
    with autograd.scope(c.replace("/", "∕") or "s"):  # a cluster named with hostile text
        y = (x * w).tanh()
    y.label = c
    return y


def _check(b: Browser, page: Path, shown: dict[str, str]) -> None:
    """Open ``page``; nothing injected ran, no script error, each selector shows its text."""
    b.open(page)
    time.sleep(0.05)  # let a failed <img> fire its onerror
    assert b.js("return window.__pwned === undefined"), f"injected script ran in {page.name}"
    assert b.js("return document.title") != "PWNED", page.name
    assert b.errors() == [], page.name
    for css, text in shown.items():
        got = b.js("const e = document.querySelector(arguments[0]); "
                   "return e ? e.textContent : null;", css)
        assert got == text, (page.name, css)


def _wrap(tmp: Path, name: str, fragment: str) -> Path:
    path = tmp / name
    path.write_text(f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>repr</title>"
                    f"</head><body>{fragment}</body></html>", encoding="utf-8")
    return path


@settings(max_examples=6, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(a=hostile, b=hostile, c=hostile, title=hostile)
@example(a=PIECES[0], b="CAPTIONS DELAY", c="__TITLE__\u2028", title=PIECES[3])
def test_no_page_or_repr_runs_injected_script(browser: Browser, tmp_path_factory, a: str,
                                              b: str, c: str, title: str) -> None:
    tmp = tmp_path_factory.mktemp("hostile")
    y = _graph(a, b, c)
    first_caption = visualize.backward_steps(y)[0].caption

    frames = visualize.render_backward(y, tmp / "steps", title=title)
    _check(browser, frames.html, {"h1": title, ".cr-caption": first_caption})

    dots = visualize.backward_dots(y, title=title)
    _check(browser, _wrap(tmp, "dots.html", dots._repr_html_()),
           {".crstep > b": title, ".cr-caption": first_caption})

    leaf = y.parents[0].parents[0]
    ex = visualize.explain(leaf, y)
    _check(browser, _wrap(tmp, "explain.html", ex._repr_html_()), {"caption": ex.heading()})

    svg = visualize.render(y, tmp / "graph.svg", title=title)
    _check(browser, svg, {})
    texts = browser.js("return Array.from(document.querySelectorAll('text'), t => t.textContent)")
    shown = title.replace("\u2028", " ").replace("\u2029", " ")  # Graphviz: a space
    assert " ".join(shown.split()) in [" ".join(t.split()) for t in texts]

    player = _player.write_player(
        tmp / "player.html", title=title, intro=a, axes=(b, c),
        surface=lambda p, q: p * p + q * q, bounds=(-1.0, 1.0, -1.0, 1.0),
        runs={a: (palette.SERIES[0], [(0.5, 0.5), (0.1, 0.1)], [0.5, 0.02])},
        value_name=c, resolution=4)
    _check(browser, player, {"h1": title})
    # a page's title reads with its ASCII white space collapsed, as the browser shows it
    assert browser.js("return document.title") == re.sub(r"[ \t\n\f\r]+", " ", title).strip(" ")

    rec, _ = _playground.record(nn.MLP(2, [2, 1], seed=0), [[0.0, 1.0], [1.0, 0.0]], [0, 1],
                                title=title, epochs=1)
    _check(browser, _playground.write_page(rec, tmp / "replay.html"), {"h1": title})

    def run(ctx: _base.Context) -> None:
        ctx.claim(a)
        ctx.note(b)

    lesson = _base.Lesson(name="hostile", title=title, summary=c, idea=c, run=run)
    result = _base.run_lesson(lesson, tmp / "lessons" / "hostile", echo=lambda s: None)
    _check(browser, result.index, {"h1": title, ".claims li": a})
    _check(browser, write_index(tmp / "lessons", [result]), {"h2 a": title})
