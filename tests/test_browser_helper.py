"""tests.browser, the headless-Chromium helper: keys, clicks, text and JS errors are seen."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser import Browser, chromium_missing, requires_chromium

pytestmark = requires_chromium

_PAGE = """<!doctype html><html><body>
<p id="out">0</p><button id="inc">+1</button><button id="boom">boom</button>
<input id="box">
<script>
let n = 0;
const out = document.getElementById("out");
document.getElementById("inc").onclick = () => { n += 1; out.textContent = String(n); };
document.getElementById("boom").onclick = () => { null.x; };
document.addEventListener("keydown", (e) => {
  if (e.key === "ArrowRight") { n += 10; out.textContent = String(n); }
});
</script></body></html>
"""


@pytest.fixture(scope="module")
def browser():
    with Browser() as b:
        yield b


def _page(tmp_path: Path, body: str = _PAGE) -> Path:
    p = tmp_path / "page.html"
    p.write_text(body, encoding="utf-8")
    return p


def test_clicks_keys_text_and_js(browser: Browser, tmp_path: Path) -> None:
    browser.open(_page(tmp_path))
    assert browser.text("#out") == "0"
    browser.click("#inc")
    browser.press("ArrowRight", times=2)
    assert browser.text("#out") == "21"
    assert browser.js("return n * arguments[0];", 2) == 42
    browser.focus("#box")
    browser.press("a")
    assert browser.js("return document.activeElement.id;") == "box"
    assert browser.js("return document.getElementById('box').value;") == "a"
    assert browser.count("button") == 2
    browser.assert_no_errors()


def test_uncaught_exception_is_collected(browser: Browser, tmp_path: Path) -> None:
    browser.open(_page(tmp_path))
    browser.click("#boom")
    errs = browser.errors()
    assert any("uncaught" in e and "null" in e for e in errs), errs
    with pytest.raises(pytest.fail.Exception, match="JavaScript errors"):
        browser.assert_no_errors()


def test_console_error_and_load_time_error_are_collected(browser: Browser, tmp_path: Path) -> None:
    page = "<html><body><script>console.error('bad thing'); undefinedFn();</script></body></html>"
    browser.open(_page(tmp_path, page))
    errs = browser.errors()
    assert any("console.error: bad thing" in e for e in errs), errs
    assert any("undefinedFn" in e for e in errs), errs
    # opening another page starts a fresh error list
    browser.open(_page(tmp_path))
    assert browser.errors() == []


def test_unknown_key_and_missing_element_say_so(browser: Browser, tmp_path: Path) -> None:
    browser.open(_page(tmp_path))
    with pytest.raises(ValueError, match="unknown key 'Nope'"):
        browser.press("Nope")
    with pytest.raises(LookupError, match="#absent"):
        browser.click("#absent")


def test_missing_programs_give_a_visible_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHROMEDRIVER", "/nonexistent/chromedriver")
    assert chromium_missing() is not None
    assert "chromedriver not found" in (chromium_missing() or "")
    monkeypatch.delenv("CHROMEDRIVER")
    monkeypatch.setenv("CHROMIUM", "")
    monkeypatch.setattr("shutil.which", lambda name: None)
    monkeypatch.setattr("os.path.exists", lambda p: False)
    reason = chromium_missing()
    assert reason is not None
    assert "chromium and chromedriver not found" in reason
    assert "apt-get install chromium chromium-driver" in reason
