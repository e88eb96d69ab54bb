"""Shared Playwright helpers: Debian's chromium (never a downloaded browser), driven headless.

Import this module freely: it needs Playwright only when a browser is launched. `unavailable()`
says why browser tests cannot run here (a module skips itself with that reason).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Response

CHROMIUM = Path("/usr/bin/chromium")
# Offline machine: no QUIC, no background fetches, no component updates, no sync, no first run.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "docs" / "screenshots"

# Instrumentation injected before any page script (init scripts are not bound by the page's
# CSP): counts the page's WebSocket opens/closes and records every value `#current-number`
# shows (kept in the tab's sessionStorage, so across page loads), so a test can wait for the
# live connection and check the numbers a tab displayed.
PAGE_PROBE = """
(() => {
  const Native = window.WebSocket;
  const kept = JSON.parse(sessionStorage.getItem("qms-test-shown") || "[]");
  window.__qms = { opened: 0, closed: 0, shown: kept };
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener("open", () => { window.__qms.opened += 1; });
      this.addEventListener("close", () => { window.__qms.closed += 1; });
    }
  };
  const record = () => {
    const el = document.getElementById("current-number");
    const text = el ? el.textContent.trim() : null;
    const shown = window.__qms.shown;
    if (text !== null && shown[shown.length - 1] !== text) {
      shown.push(text);
      sessionStorage.setItem("qms-test-shown", JSON.stringify(shown));
    }
  };
  document.addEventListener("DOMContentLoaded", () => {
    record();
    const live = document.getElementById("live");
    if (live) new MutationObserver(record).observe(live, { childList: true, subtree: true,
                                                         characterData: true });
  });
})();
"""


def unavailable() -> str | None:
    """Why a browser test cannot run here, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        return (f"playwright cannot be imported ({exc}): "
                "install the test extras (.venv/bin/pip install -e '.[test]')")
    if not CHROMIUM.exists():
        return (f"{CHROMIUM} does not exist: install Debian's chromium as root "
                "(apt-get install -y chromium; ./bootstrap.sh test does it)")
    return None


@contextmanager
def chromium() -> Iterator[Browser]:
    """One headless chromium for a module (launching takes a second or two)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def screenshot_dir(fallback: Path) -> Path:
    """docs/screenshots when QMS_SCREENSHOTS=1 (regenerating the docs), else `fallback`."""
    target = SCREENSHOTS if os.environ.get("QMS_SCREENSHOTS") == "1" else fallback
    target.mkdir(parents=True, exist_ok=True)
    return target


VIEWPORTS = ({"width": 1280, "height": 800}, {"width": 390, "height": 844})  # desk, phone


def signed_in_pages(browser: Browser, base: str, username: str, password: str
                    ) -> Iterator[tuple[Page, str]]:
    """A page signed in to the console at each of VIEWPORTS (zh-CN), with its size
    ("1280x800"); its context is closed when the next one is asked for."""
    for viewport in VIEWPORTS:
        context = browser.new_context(viewport=viewport, locale="zh-CN")  # type: ignore[arg-type]
        try:
            page = context.new_page()
            log_in(page, base, username, password)
            yield page, f"{viewport['width']}x{viewport['height']}"
        finally:
            context.close()


def scrolls_sideways(page: Page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth > "
                              "document.documentElement.clientWidth"))


def log_in(page: Page, base: str, username: str, password: str) -> Response:
    """Fill the console's login form (opening it unless the page shows it) and submit it;
    the POST's own response (a 303 on success: the browser then follows it)."""
    if not page.url.startswith(base + "/console/login"):
        page.goto(base + "/console/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_response(lambda r: r.request.method == "POST"
                              and r.url.startswith(base + "/console/login")) as posted:
        page.click("form.login button[type=submit]")
    page.wait_for_load_state()
    return posted.value


def wait_live(page: Page, opened: int = 1, timeout_s: float = 5.0) -> None:
    """Wait until the page's live WebSocket is open (needs PAGE_PROBE as an init script).

    Do this before leaving a console page: a page that leaves in the very moment its socket
    opens can leave the dispatcher's handler running (see the xfail test
    test_pages_that_leave_as_soon_as_they_connect_leave_nothing_running), and the dispatcher
    then cannot stop. Polls with page.evaluate: wait_for_function would evaluate its string
    inside the page, which the console's CSP (no 'unsafe-eval') refuses."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(f"!!window.__qms && window.__qms.opened >= {opened}"):
        assert time.monotonic() < deadline, f"the live connection did not open in {timeout_s} s"
        page.wait_for_timeout(20)


def shown_numbers(page: Page) -> list[str]:
    """Every value `#current-number` showed in this tab, in order, repeats collapsed."""
    values = page.evaluate("window.__qms ? window.__qms.shown : []")
    return [str(v) for v in values]


def csrf_of(page: Page) -> str:
    """The session's CSRF token as the page carries it (hidden input `csrf`)."""
    return str(page.locator("input[name=csrf]").first.input_value())
