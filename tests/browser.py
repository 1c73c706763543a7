"""Drive a local HTML page in headless Chromium, for the tests of our pages.

Uses Debian's ``chromium`` and ``chromium-driver`` (``/usr/bin/chromium``,
``/usr/bin/chromedriver``; override with the ``CHROMIUM`` / ``CHROMEDRIVER``
environment variables) through Selenium, with the driver given explicitly, so
nothing is ever downloaded. Where either program or Selenium is missing, tests
marked :data:`requires_chromium` are skipped with a reason naming what is
missing and how to install it (``pytest -ra`` prints it).

API (all of it)::

    from tests.browser import Browser, requires_chromium

    pytestmark = requires_chromium          # skip the module without Chromium

    def test_page(tmp_path):
        with Browser() as b:                # one headless Chromium
            b.open(tmp_path / "page.html")  # a path or a URL
            b.press("ArrowRight", times=2)  # to whatever has focus
            b.click("#play")                # CSS selector
            b.focus("input[type=range]")
            assert b.text("#caption").startswith("step 2")
            assert b.js("return window.frame") == 2   # JS body; args as arguments[i]
            b.assert_no_errors()            # console errors + uncaught exceptions

* :meth:`Browser.errors` lists every JavaScript error seen since the page was
  opened: ``console.error`` calls, uncaught exceptions and unhandled promise
  rejections (recorded by a hook installed before any page script runs), plus
  the browser log's SEVERE entries (failed loads, for example).
* :meth:`Browser.press` takes DOM key names (``"ArrowRight"``, ``"ArrowLeft"``,
  ``"Home"``, ``"End"``, ``" "``, ``"Enter"``, ``"Escape"``, or one character).
* :meth:`Browser.screenshot` writes a PNG of the window, to look at a page.

For one browser shared by a module's tests, use a module-scoped fixture::

    @pytest.fixture(scope="module")
    def browser():
        with Browser() as b:
            yield b
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest

__all__ = ["Browser", "chromium_missing", "requires_chromium"]

_HOOK = r"""
(() => {
  if (window.__testErrors) return;
  const errs = [];
  Object.defineProperty(window, "__testErrors", {value: errs});
  window.addEventListener("error", (e) => {
    const where = e.filename ? ` (${e.filename}:${e.lineno}:${e.colno})` : "";
    errs.push("uncaught: " + ((e.error && e.error.stack) || e.message) + where);
  });
  window.addEventListener("unhandledrejection", (e) => {
    errs.push("unhandled rejection: " + String(e.reason && (e.reason.stack || e.reason)));
  });
  const orig = console.error;
  console.error = function (...args) {
    errs.push("console.error: " + args.map(String).join(" "));
    return orig.apply(this, args);
  };
})();
"""

_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)


def _program(env: str, name: str) -> str | None:
    given = os.environ.get(env)
    if given:  # an explicit choice: used only if it is really there
        return given if os.path.isfile(given) and os.access(given, os.X_OK) else None
    found = shutil.which(name)
    if found:
        return found
    default = f"/usr/bin/{name}"
    return default if os.path.exists(default) else None


def _programs() -> tuple[str | None, str | None]:
    return _program("CHROMIUM", "chromium"), _program("CHROMEDRIVER", "chromedriver")


def chromium_missing() -> str | None:
    """Why browser tests cannot run here, or ``None`` when they can."""
    chromium, driver = _programs()
    found = (("chromium", chromium), ("chromedriver", driver))
    missing = [name for name, path in found if not path]
    if missing:
        return (
            f"browser test skipped: {' and '.join(missing)} not found "
            "(Debian: apt-get install chromium chromium-driver; .ci/run installs them)"
        )
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "browser test skipped: selenium is not installed (pip install -e '.[dev]')"
    return None


#: Marks a test (or, as ``pytestmark``, a module) that needs headless Chromium.
requires_chromium = pytest.mark.skipif(
    chromium_missing() is not None, reason=chromium_missing() or "chromium present"
)

_KEYS = {
    "ArrowRight": "ARROW_RIGHT",
    "ArrowLeft": "ARROW_LEFT",
    "ArrowUp": "ARROW_UP",
    "ArrowDown": "ARROW_DOWN",
    "Home": "HOME",
    "End": "END",
    "PageUp": "PAGE_UP",
    "PageDown": "PAGE_DOWN",
    "Enter": "ENTER",
    "Escape": "ESCAPE",
    "Tab": "TAB",
    "Backspace": "BACKSPACE",
    " ": "SPACE",
    "Space": "SPACE",
}


class Browser:
    """One headless Chromium window, driven through chromedriver.

    Args:
        width, height: the window size in CSS pixels.

    Raises:
        RuntimeError: chromium, chromedriver or selenium is missing (mark the
            test with :data:`requires_chromium` to skip instead).
    """

    def __init__(self, width: int = 1280, height: int = 900) -> None:
        reason = chromium_missing()
        if reason is not None:
            raise RuntimeError(reason)
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        chromium, driver = _programs()
        assert chromium and driver  # checked by chromium_missing()
        self._profile = tempfile.mkdtemp(prefix="chainrule-chromium-")
        options = webdriver.ChromeOptions()
        options.binary_location = chromium
        for flag in _FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={self._profile}")
        options.add_argument(f"--window-size={width},{height}")
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        try:
            self.driver = webdriver.Chrome(service=Service(driver), options=options)
        except Exception:
            shutil.rmtree(self._profile, ignore_errors=True)
            raise
        self.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": _HOOK})
        self._log: list[str] = []

    # -- lifetime ----------------------------------------------------------
    def close(self) -> None:
        """Quit Chromium and remove its temporary profile."""
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self) -> Browser:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- driving -------------------------------------------------------------
    def open(self, page: str | os.PathLike[str]) -> Browser:
        """Load a local file (path) or a URL and wait until it has loaded."""
        text = os.fspath(page)
        url = text if "://" in text else Path(text).resolve().as_uri()
        self._log.clear()
        self.driver.get(url)
        return self

    def js(self, script: str, *args: Any) -> Any:
        """Run ``script`` as a function body (use ``return``); args are ``arguments[i]``."""
        return self.driver.execute_script(script, *args)

    def press(self, key: str, times: int = 1) -> None:
        """Press ``key`` ``times`` times, sent to whatever element has focus."""
        from selenium.webdriver.common.action_chains import ActionChains
        from selenium.webdriver.common.keys import Keys

        name = _KEYS.get(key)
        if name is None and len(key) != 1:
            raise ValueError(
                f"press: unknown key {key!r}; use one of {sorted(_KEYS)} or a character"
            )
        sent = getattr(Keys, name) if name else key
        for _ in range(times):
            ActionChains(self.driver).send_keys(sent).perform()

    def _find(self, css: str) -> Any:
        from selenium.webdriver.common.by import By

        found = self.driver.find_elements(By.CSS_SELECTOR, css)
        if not found:
            raise LookupError(f"no element matches {css!r} on {self.driver.current_url}")
        return found[0]

    def click(self, css: str) -> None:
        """Click the first element matching the CSS selector."""
        self._find(css).click()

    def focus(self, css: str) -> None:
        """Give keyboard focus to the first element matching the CSS selector."""
        self.js("arguments[0].focus();", self._find(css))

    def text(self, css: str) -> str:
        """The visible text of the first element matching the CSS selector."""
        return str(self._find(css).text)

    def count(self, css: str) -> int:
        """How many elements match the CSS selector."""
        from selenium.webdriver.common.by import By

        return len(self.driver.find_elements(By.CSS_SELECTOR, css))

    def screenshot(self, path: str | os.PathLike[str]) -> Path:
        """Write a PNG of the window to ``path`` and return the path."""
        out = Path(path)
        self.driver.save_screenshot(str(out))
        return out

    # -- errors --------------------------------------------------------------
    def errors(self) -> list[str]:
        """Every JavaScript error since :meth:`open`: hook records + SEVERE log lines."""
        for entry in self.driver.get_log("browser"):
            if entry.get("level") == "SEVERE":
                self._log.append(f"log: {entry.get('message')}")
        hooked = self.js("return window.__testErrors ? Array.from(window.__testErrors) : [];")
        return [str(e) for e in hooked] + list(self._log)

    def assert_no_errors(self) -> None:
        """Fail the test, listing the errors, if the page raised any JavaScript error."""
        errs = self.errors()
        if errs:
            pytest.fail("JavaScript errors on the page:\n" + "\n".join(errs), pytrace=False)
