"""The playground page in headless Chromium: every control a learner uses, no JavaScript error."""

from __future__ import annotations

import json
import time

import pytest

from tests.browser import Browser, requires_chromium

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

from tests.playground_server import running
from visualize.app.playground.session import Session
from visualize.app.playground.state import PlaygroundState, to_fragment

pytestmark = requires_chromium


def wait(b: Browser, condition: str, timeout: float = 15.0):
    """Poll a JS expression over ``app`` (the page's playground) until it is truthy."""
    deadline = time.monotonic() + timeout
    while True:
        got = b.js(f"const app = window.chainrulePlayground; return app && ({condition});")
        if got:
            return got
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {condition}; errors: {b.errors()}")
        time.sleep(0.05)


def choose(b: Browser, css: str, value: str) -> None:
    from selenium.webdriver.support.ui import Select

    Select(b._find(css)).select_by_value(value)


def click_at(b: Browser, x1: float, x2: float) -> None:
    """Click the output map at the point (x1, x2) of the plane."""
    from selenium.webdriver.common.action_chains import ActionChains

    canvas = b._find(".crpg-output")
    w, h = canvas.size["width"], canvas.size["height"]
    dx = (x1 + 6) / 12 * w - w / 2
    dy = (6 - x2) / 12 * h - h / 2
    ActionChains(b.driver).move_to_element_with_offset(canvas, round(dx), round(dy)).click() \
        .perform()


@pytest.fixture(scope="module")
def browser():
    with Browser(1300, 1000) as b:
        yield b


def test_a_learner_uses_every_control(browser, tmp_path):
    b = browser
    with running(Session(PlaygroundState(n_points=100))) as (base, _):
        b.open(f"http://{base}/")
        wait(b, "app.S && app.framesDrawn > 0")
        # play, pause
        b.click(".crpg-play")
        wait(b, "app.F && app.F.epoch >= 5")
        b.click(".crpg-play")
        wait(b, "!app.playing")
        assert b.text(".crpg-epoch").startswith("epoch ")
        # learning rate, activation, a layer
        choose(b, ".crpg-lr", "0.1")
        wait(b, "app.S.lr === 0.1")
        choose(b, ".crpg-activation", "relu")
        wait(b, "app.S.activation === 'relu' && app.F.epoch === 0")
        b.click(".crpg-addlayer")
        wait(b, "app.S.hidden.length === 3 && app.F.weights.length === 4")
        assert b.count(".crpg-neuron") == 4 + 2 + 2 + 1
        b.click(".crpg-addneuron")
        wait(b, "app.S.hidden[0] === 5")
        # hover and edit a weight
        tip = b.js("return document.querySelector('.crpg-edge title').textContent")
        assert "weight" in tip and "gradient" in tip
        b.js("document.querySelector('.crpg-edge').dispatchEvent(new MouseEvent('click'))")
        editor = b._find(".crpg-editor input")
        editor.clear()
        editor.send_keys("1.25")
        b.click(".crpg-editset")
        wait(b, "app.F.weights[0][0][0] === 1.25")
        # add a point of each class, then delete one
        n = b.js("return window.chainrulePlayground.S.train.length")
        b.click("[data-mode=add1]")
        click_at(b, 4.0, 4.0)
        wait(b, f"app.S.train.length === {n + 1}")
        b.click("[data-mode=add0]")
        click_at(b, -4.0, 4.0)
        wait(b, f"app.S.train.length === {n + 2}")
        assert b.js("return window.chainrulePlayground.S.train.slice(-2).map(p => p[2])") == \
            [1, 0]
        b.click("[data-mode=delete]")
        click_at(b, -4.0, 4.0)
        wait(b, f"app.S.train.length === {n + 1}")
        # a point's forward values and backward pass
        b.click("[data-mode=inspect]")
        click_at(b, 4.0, 4.0)
        wait(b, "app.inspected && app.inspected.frames.length > 0")
        assert b.text(".crpg-caption").startswith("step 0 of ")
        b.click(".crpg-next")
        assert b.text(".crpg-caption").startswith("step 1 of ")
        assert b.count(".crpg-table tr") == 1 + 5 + 2 + 2 + 1
        assert b.js("return document.querySelector('.crpg-frame').naturalWidth") > 0
        b.click(".crpg-pointgrads")
        # export the state, change it, load the file back
        b.click(".crpg-export-state")
        text = wait(b, "app.lastExport && app.lastExport.what === 'state' && app.lastExport.text")
        saved = json.loads(text)
        path = tmp_path / "state.json"
        path.write_text(text, encoding="utf-8")
        choose(b, ".crpg-lr", "0.001")
        wait(b, "app.S.lr === 0.001")
        b._find(".crpg-loadfile").send_keys(str(path))
        wait(b, "app.S.lr === 0.1")
        assert b.js("return window.chainrulePlayground.S") == saved
        # classroom mode hides the chosen controls
        b.js("document.querySelector('.crpg-classroom').open = true")
        b.click("[data-hide=lr]")
        wait(b, "app.S.hidden_controls.includes('lr')")
        assert not b._find(".crpg-lr").is_displayed()
        # the URL fragment follows the state
        frag = b.js("return location.hash")
        assert frag.startswith("#state=") and len(frag) > 100
        # a bad request from the page gets a message, the page keeps working
        b.js("window.chainrulePlayground.send({type: 'set', changes: {lr: 99}})")
        wait(b, "app.errors.some(e => e.includes('lr must be a number in (0, 10]'))")
        assert b._find(".crpg-error").is_displayed()
        b.assert_no_errors()


def test_a_shared_link_opens_its_state_and_survives_a_server_restart(browser):
    b = browser
    st = Session(PlaygroundState(dataset="xor", hidden=[2], lr=0.3, n_points=40)).state
    with running() as (base, _):
        b.open(f"http://{base}/#state={to_fragment(st)}")
        wait(b, "app.S && app.S.dataset === 'xor' && app.S.lr === 0.3")
        b.click(".crpg-step")
        wait(b, "app.F.epoch === 1")
        port = base.rsplit(":", 1)[1]
    # the server is gone: the page says so and keeps its state in the URL
    wait(b, "app.errors.some(e => e.includes('connection to the playground server was lost'))")
    with running() as (base2, _):
        b.open(f"http://{base2}/{b.js('return location.hash')}")
        wait(b, "app.S && app.S.dataset === 'xor' && app.S.epoch === 1")
    del port
    b.assert_no_errors()
