"""The console in a real browser (Debian's chromium, headless, through Playwright).

What tests/test_console.py checks over plain HTTP, here as a person at a desk meets it: the
login form, the counter's buttons and keyboard shortcuts, live updates over the WebSocket,
the refusals (another's window, forged cross-site posts, a closed session), and screenshots
of the pages at a desktop and a phone width (QMS_SCREENSHOTS=1 writes them to
docs/screenshots). Every outcome is checked on the page and in the dispatcher's /state.
"""

from __future__ import annotations

import contextlib
import http.server
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from qms.config import load_config
from tests import browser as web
from tests.conftest import wait_until
from tests.helpers import ADMIN, HALL, KIOSK, small_config
from tests.live import LiveDispatcher

if (why := web.unavailable()) is not None:
    pytest.skip(f"browser tests skipped: {why}", allow_module_level=True)

from playwright.sync_api import Browser, BrowserContext, Locator, Page, Route, expect

expect.set_options(timeout=5000)
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


# -- fixtures and helpers ---------------------------------------------------------------------


EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "center.toml"


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with web.chromium() as browser:
        yield browser


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveDispatcher]:
    """A fresh dispatcher per test (demo logins on; fake clock at Monday 09:00)."""
    dispatcher = LiveDispatcher(small_config(), tmp_path / "qms.db", demo_accounts=True).start()
    yield dispatcher
    dispatcher.stop()


@pytest.fixture
def base(server: LiveDispatcher) -> str:
    return f"http://127.0.0.1:{server.port}"


def new_context(chromium: Browser, viewport: dict[str, int] = DESKTOP) -> BrowserContext:
    context = chromium.new_context(viewport=viewport, locale="zh-CN")  # type: ignore[arg-type]
    context.set_default_timeout(5000)
    context.add_init_script(web.PAGE_PROBE)
    return context


@pytest.fixture
def context(chromium: Browser, server: LiveDispatcher) -> Iterator[BrowserContext]:
    """One browser profile (cookies) per test, closed before the dispatcher stops."""
    ctx = new_context(chromium)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


def state(server: LiveDispatcher) -> dict[str, Any]:
    status, body = server.call("GET", "/state", token=ADMIN)
    assert status == 200, body
    return body  # type: ignore[no-any-return]


def window(server: LiveDispatcher, n: int) -> dict[str, Any]:
    found: dict[str, Any] = state(server)["windows"][n - 1]
    assert found["number"] == n
    return found


def current(server: LiveDispatcher, n: int) -> str | None:
    ticket = window(server, n)["current"]
    return None if ticket is None else str(ticket["number"])


def waiting(server: LiveDispatcher) -> list[str]:
    return [t["number"] for t in state(server)["waiting"]]


_requests = iter(range(1_000_000))  # request ids the test's devices never repeat


def issue(server: LiveDispatcher, count: int, service: str = "sb-card") -> list[str]:
    """Tickets from the kiosk (device token KIOSK); their numbers."""
    numbers = []
    for _ in range(count):
        status, body = server.call("POST", "/tickets",
                                   {"request_id": f"kiosk-{next(_requests)}",
                                    "service_id": service}, token=KIOSK)
        assert status == 201, body
        numbers.append(body["ticket"]["number"])
    return numbers


def hall(server: LiveDispatcher, verb: str, n: int) -> dict[str, Any]:
    """A hall caller's button press (device token HALL) for window n."""
    status, body = server.call("POST", f"/windows/{n}/{verb}",
                               {"request_id": f"hall-{next(_requests)}"}, token=HALL)
    assert status == 200, body
    return body  # type: ignore[no-any-return]


def first_calls(server: LiveDispatcher) -> list[str]:
    """The numbers called so far (recalls left out), oldest first."""
    calls = state(server)["recent_calls"]
    return [call["number"] for call in sorted(calls, key=lambda c: c["seq"])
            if not call["recall"]]


def on_login(url: str, base: str, then: str | None = None) -> bool:
    """Is `url` the login form, sending on to `then` after logging in (if given)?"""
    parts = urlsplit(url)
    if f"{parts.scheme}://{parts.netloc}{parts.path}" != f"{base}/console/login":
        return False
    return then is None or parse_qs(parts.query).get("next") == [then]


def button(page: Page, text: str) -> Locator:
    return page.get_by_role("button", name=text, exact=True)


def open_counter(page: Page, base: str, username: str = "s1", n: int = 1) -> None:
    """Visit window n's page signed out, log in on the form it redirects to, land there with
    the live connection open."""
    page.goto(f"{base}/console/counter/{n}")
    assert on_login(page.url, base, then=f"/console/counter/{n}")
    response = web.log_in(page, base, username, "demo-admin" if username == "admin" else "demo")
    assert response.status == 303
    assert page.url == f"{base}/console/counter/{n}"
    web.wait_live(page)


# -- 1. logging in ----------------------------------------------------------------------------


def test_a_visit_without_a_session_lands_on_the_login_form_and_staff_log_in_through_it(
        page: Page, base: str, server: LiveDispatcher) -> None:
    response = page.goto(f"{base}/console/counter/1")
    assert response is not None and response.status == 200
    first = response.request.redirected_from
    assert first is not None and first.url == f"{base}/console/counter/1"
    assert first.response() is not None and first.response().status == 303  # type: ignore[union-attr]
    assert on_login(page.url, base, then="/console/counter/1")
    expect(page.locator("form.login input[name=username]")).to_be_visible()
    expect(page.locator("form.login input[name=password]")).to_have_attribute("type", "password")

    posted = web.log_in(page, base, "s1", "demo")
    assert posted.status == 303 and posted.headers["location"] == "/console/counter/1"
    assert page.url == f"{base}/console/counter/1"
    web.wait_live(page)
    expect(page.locator("h1")).to_have_text("1 号窗口")
    expect(page.locator("header .who")).to_have_text("s1")
    expect(page.locator("#current-number")).to_have_text("—")
    for label in ("叫号", "重呼", "过号", "暂停", "恢复"):
        expect(button(page, label)).to_have_count(1)
    assert any(c["name"] == "qms_console" and c["httpOnly"] for c in page.context.cookies())


def test_the_manager_logs_in_through_the_form_and_lands_on_the_overview(
        chromium: Browser, base: str, server: LiveDispatcher) -> None:
    context = new_context(chromium)
    try:
        page = context.new_page()
        posted = web.log_in(page, base, "admin", "demo-admin")
        assert posted.status == 303 and posted.headers["location"] == "/console/"
        assert page.url == f"{base}/console/"
        web.wait_live(page)
        expect(page.locator("header .who")).to_have_text("admin · 管理员")
        expect(page.locator("#total-waiting")).to_have_text("0")
        expect(page.locator("header nav")).to_contain_text("操作日志")  # manager pages
        expect(page.locator(".window")).to_have_count(4)
    finally:
        context.close()


# -- 2. the counter ---------------------------------------------------------------------------


def test_the_counter_calls_recalls_skips_and_transfers_and_follows_a_hall_button_live(
        page: Page, base: str, server: LiveDispatcher) -> None:
    issue(server, 6)  # B001…B006
    open_counter(page, base)
    number = page.locator("#current-number")
    result = page.locator("#result")

    button(page, "叫号").click()
    expect(result).to_have_text("已叫 B001")
    expect(number).to_have_text("B001")
    assert current(server, 1) == "B001" and window(server, 1)["current"]["calls"] == 1

    server.clock.advance(10)
    button(page, "重呼").click()
    expect(result).to_have_text("已重呼 B001")
    expect(page.locator(".serving")).to_contain_text("呼叫次数 2")
    expect(number).to_have_text("B001")
    assert current(server, 1) == "B001" and window(server, 1)["current"]["calls"] == 2

    server.clock.advance(10)
    button(page, "过号").click()
    expect(result).to_have_text("B001 已过号")
    expect(number).to_have_text("—")
    assert current(server, 1) is None
    server.clock.advance(10)
    button(page, "叫号").click()
    expect(number).to_have_text("B002")
    assert current(server, 1) == "B002"

    # Transfer to another business (at window 3, whose staff prefers it): it leaves window 1
    # and waits for window 3 only, so window 1 never calls it again.
    server.clock.advance(10)
    page.locator("#transfer summary").click()
    page.select_option("#transfer select[name=service_id]", "zf-lianzu")
    page.select_option("#transfer select[name=window]", "3")
    page.locator("#transfer button[type=submit]").click()
    expect(result).to_have_text("B002 已转移")
    expect(number).to_have_text("—")
    assert current(server, 1) is None
    moved = next(t for t in state(server)["waiting"] if t["number"] == "B002")
    assert moved["service_id"] == "zf-lianzu" and moved["target_window"] == 3
    assert moved["transfers"] == 1

    # A hall button for the same window: the page follows it live, no reload.
    server.clock.advance(10)
    assert hall(server, "call-next", 1)["ticket"]["number"] == "B003"
    expect(number).to_have_text("B003")

    server.clock.advance(10)
    button(page, "叫号").click()
    expect(number).to_have_text("B004")

    # The console and the hall button pressed at the same moment: one call, not two.
    server.clock.advance(10)
    button(page, "叫号").click()  # returns once clicked, before the answer
    hall(server, "call-next", 1)
    expect(button(page, "叫号")).to_be_enabled()  # the console's answer is in
    wait_until(lambda: page.locator("#current-number").inner_text() == current(server, 1),
               what="the page showing what window 1 serves")
    assert current(server, 1) == "B005"
    assert waiting(server) == ["B002", "B006"]

    # Pause and resume: the buttons follow the window's state.
    button(page, "暂停").click()
    expect(result).to_have_text("窗口已暂停")
    expect(button(page, "暂停")).to_be_disabled()
    expect(page.locator(".status .badge.paused")).to_have_text("暂停中")
    assert window(server, 1)["status"] == "paused" and current(server, 1) is None
    button(page, "恢复").click()
    expect(result).to_have_text("窗口已恢复")
    expect(button(page, "恢复")).to_be_disabled()
    assert window(server, 1)["status"] == "open"

    called = first_calls(server)
    assert called == ["B001", "B002", "B003", "B004", "B005"]  # each number called once
    shown = [n for n in web.shown_numbers(page) if n != "—"]
    assert shown == called, shown  # and shown as current once, in the order called


def test_a_slow_answer_to_a_press_never_replaces_a_newer_live_update(
        page: Page, base: str, server: LiveDispatcher) -> None:
    issue(server, 3)
    open_counter(page, base)
    held: list[tuple[Route, Any]] = []

    def hold(route: Route) -> None:  # the press reaches the dispatcher; its answer is slow
        held.append((route, route.fetch()))

    page.route("**/console/counter/1/call-next", hold)
    button(page, "叫号").click()
    for _ in range(250):  # let Playwright run the route handler
        if held:
            break
        page.wait_for_timeout(20)
    assert held, "the console's press never reached the route"
    assert current(server, 1) == "B001"
    server.clock.advance(10)
    hall(server, "call-next", 1)  # the hall button calls the next one meanwhile
    expect(page.locator("#current-number")).to_have_text("B002")
    route, response = held[0]
    route.fulfill(response=response)  # the older answer (B001) arrives last
    expect(page.locator("#result")).to_have_text("已叫 B001")  # the answer is handled
    assert current(server, 1) == "B002"
    expect(page.locator("#current-number")).to_have_text("B002", timeout=500)


def test_ticked_materials_stay_ticked_when_the_page_updates_live(
        page: Page, base: str, server: LiveDispatcher) -> None:
    issue(server, 2)
    open_counter(page, base)
    button(page, "叫号").click()
    expect(page.locator("#current-number")).to_have_text("B001")
    page.get_by_label("身份证").check()
    issue(server, 1, "zf-lianzu")  # a resident takes a ticket for another business
    expect(page.locator("#waiting-here")).to_have_text("2")  # the live update is in
    expect(page.get_by_label("身份证")).to_be_checked(timeout=500)


def test_the_english_counter_falls_back_to_the_chinese_names_the_config_has(
        page: Page, base: str, server: LiveDispatcher) -> None:
    issue(server, 2)  # small_config has no English names
    open_counter(page, base)
    page.goto(f"{base}/console/lang?to=en&next=/console/counter/1")
    web.wait_live(page)
    button(page, "Call next").click()
    expect(page.locator("#current-number")).to_have_text("B001")
    expect(page.locator(".serving .svc")).to_contain_text("社保卡申领", timeout=500)
    options = page.locator("#transfer select[name=service_id] option").all_text_contents()
    assert all(text.strip() for text in options), options


# -- 3. the overview --------------------------------------------------------------------------


def test_the_overview_follows_tickets_and_calls_live_without_a_reload(
        page: Page, base: str, server: LiveDispatcher) -> None:
    web.log_in(page, base, "admin", "demo-admin")
    assert page.url == f"{base}/console/"
    web.wait_live(page)
    page.evaluate("window.__sameDocument = true")
    total = page.locator("#total-waiting")
    expect(total).to_have_text("0")
    expect(page.locator("#window-1 .current")).to_have_text("当前无号")

    issue(server, 3)
    issue(server, 1, "zf-lianzu")
    expect(total).to_have_text("4")
    expect(page.locator("table.waits")).to_contain_text("社保卡申领")

    server.clock.advance(120)
    hall(server, "call-next", 1)
    expect(page.locator("#window-1 .current .number")).to_have_text("B001")
    expect(total).to_have_text("3")

    hall(server, "pause", 2)
    expect(page.locator("#window-2")).to_have_class(re.compile(r"\bpaused\b"))
    expect(page.locator("#window-2 .badge.paused")).to_have_text("暂停中")
    assert window(server, 2)["status"] == "paused"
    assert int(total.inner_text()) == len(waiting(server)) == 3
    assert page.evaluate("window.__sameDocument === true")  # never reloaded
    assert page.evaluate("window.__qms.opened") == 1  # one live connection throughout


# -- 4. login throttling ----------------------------------------------------------------------


def test_six_wrong_passwords_throttle_the_name_even_with_the_right_password(
        page: Page, base: str, server: LiveDispatcher) -> None:
    error = page.locator("form.login .error")
    for _ in range(5):
        assert web.log_in(page, base, "s2", "wrong").status == 401
        expect(error).to_have_text("用户名或密码错误")
    sixth = web.log_in(page, base, "s2", "wrong")
    assert sixth.status == 429 and 0 < int(sixth.headers["retry-after"]) <= 900
    expect(error).to_have_text(re.compile(r"^尝试次数过多，请 \d+ 秒后再试$"))
    wait_s = int(re.findall(r"\d+", error.inner_text())[0])
    assert 0 < wait_s <= 900

    right = web.log_in(page, base, "s2", "demo")
    assert right.status == 429
    expect(error).to_contain_text("尝试次数过多")
    assert page.url.startswith(f"{base}/console/login")
    assert not any(c["name"] == "qms_console" for c in page.context.cookies())

    assert web.log_in(page, base, "s1", "demo").status == 303  # another name is not locked
    assert page.url == f"{base}/console/"
    web.wait_live(page)


# -- 5. another's window ----------------------------------------------------------------------


def test_staff_get_a_refusal_for_another_window_and_cannot_post_to_it(
        page: Page, base: str, server: LiveDispatcher) -> None:
    issue(server, 2)
    open_counter(page, base)
    csrf = web.csrf_of(page)
    before = state(server)

    response = page.goto(f"{base}/console/counter/2")
    assert response is not None and response.status == 403
    expect(page.locator(".message")).to_contain_text("只能操作自己签到的窗口")
    expect(page.locator(".message")).to_contain_text("乙")  # who is signed in there
    expect(button(page, "叫号")).to_have_count(0)

    posted = page.request.post(f"{base}/console/counter/2/call-next",
                               form={"csrf": csrf}, headers={"Accept": "application/json"})
    assert posted.status == 403 and posted.json()["error"]["code"] == "not_your_window"
    fetched = page.evaluate(
        """async ([url, csrf]) => {
             const r = await fetch(url, {method: "POST", body: new URLSearchParams({csrf}),
               headers: {"Accept": "application/json", "X-CSRF-Token": csrf}});
             return [r.status, await r.json()];
           }""", [f"{base}/console/counter/2/pause", csrf])
    assert fetched[0] == 403 and fetched[1]["error"]["code"] == "not_your_window"

    after = state(server)
    assert after["windows"] == before["windows"] and after["waiting"] == before["waiting"]
    assert after["seq"] == before["seq"]  # nothing at all happened


# -- 6. forged posts --------------------------------------------------------------------------


def evil_page(target: str) -> str:
    """Another site's page that posts to the console as soon as it opens (no csrf field)."""
    return (f'<!doctype html><form id="f" method="post" action="{target}">'
            '<input type="hidden" name="request_id" value="evil"></form>'
            '<script>document.getElementById("f").submit()</script>')


class EvilSite:
    """A real second origin on loopback (same site as 127.0.0.1, another port)."""

    def __init__(self, body: str) -> None:
        page = body.encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


def test_a_forged_cross_site_post_is_refused_and_calls_nobody(
        page: Page, base: str, server: LiveDispatcher, context: BrowserContext) -> None:
    issue(server, 2)
    open_counter(page, base)  # the victim is logged in, in this very browser profile
    target = f"{base}/console/counter/1/call-next"
    before = state(server)

    # Another site altogether: the SameSite=Strict cookie stays home, no session at all.
    context.route("http://evil.test/**", lambda route: route.fulfill(
        status=200, content_type="text/html", body=evil_page(target)))
    attack = context.new_page()
    with attack.expect_response(target) as answered:
        attack.goto("http://evil.test/")
    assert "qms_console=" not in answered.value.request.all_headers().get("cookie", "")
    assert answered.value.status == 401
    expect(attack.locator(".message")).to_contain_text("登录已过期")

    # Another origin of the same site (another port): the cookie goes along, the Origin
    # check refuses it.
    site = EvilSite(evil_page(target))
    try:
        with attack.expect_response(target) as answered:
            attack.goto(site.url)
        request_headers = answered.value.request.all_headers()
        assert "qms_console=" in request_headers.get("cookie", "")
        assert request_headers["origin"] == site.url.rstrip("/")
        assert answered.value.status == 403
        expect(attack.locator(".message")).to_contain_text("请求来源无效")
    finally:
        site.close()

    # Same origin without the token (a script on no page of ours): refused too.
    posted = page.request.post(target, form={"request_id": "con-" + "0" * 24},
                               headers={"Accept": "application/json"})
    assert posted.status == 403 and posted.json()["error"]["code"] == "csrf"
    posted = page.request.post(target, form={"csrf": "guessed"},
                               headers={"Accept": "application/json"})
    assert posted.status == 403 and posted.json()["error"]["code"] == "csrf"

    after = state(server)
    assert after["seq"] == before["seq"] and after["windows"] == before["windows"]
    assert current(server, 1) is None and waiting(server) == ["B001", "B002"]
    expect(page.locator("#current-number")).to_have_text("—")
    button(page, "叫号").click()  # the victim's own session still works
    expect(page.locator("#current-number")).to_have_text("B001")


# -- 7. logging out ---------------------------------------------------------------------------


def test_logout_returns_to_login_and_the_old_page_can_do_nothing_more(
        page: Page, base: str, server: LiveDispatcher, context: BrowserContext) -> None:
    issue(server, 2)
    open_counter(page, base)
    # The console re-checks a page's session right after its first push (within LIVE_GAP_S,
    # 0.25 s): past that, this tab stays as it is until it acts or the queue changes.
    page.wait_for_timeout(400)
    old_cookies = context.cookies()
    other = context.new_page()  # a second tab of the same person
    other.goto(f"{base}/console/")
    web.wait_live(other)
    expect(other.locator("header .who")).to_have_text("s1")

    with other.expect_response(f"{base}/console/logout") as answered:
        button(other, "退出").click()
    assert answered.value.status == 303
    # (the tab's own live stream may end first and send it to the form with a `next`)
    other.wait_for_url(lambda url: on_login(url, base))
    expect(other.locator("form.login")).to_be_visible()
    assert not any(c["name"] == "qms_console" for c in context.cookies())

    # The first tab still shows the counter; its next press is refused, then it goes to login.
    with page.expect_response(f"{base}/console/counter/1/call-next") as refused:
        button(page, "叫号").click()
    assert refused.value.status == 401
    page.wait_for_url(lambda url: on_login(url, base, "/console/counter/1"))
    assert current(server, 1) is None and waiting(server) == ["B001", "B002"]

    # The old cookie replayed: the session is over on the server, not just in the browser.
    context.add_cookies(old_cookies)  # type: ignore[arg-type]
    page.goto(f"{base}/console/counter/1")
    assert on_login(page.url, base, then="/console/counter/1")
    posted = page.request.post(f"{base}/console/counter/1/call-next",
                               form={"csrf": "x"}, headers={"Accept": "application/json"})
    assert posted.status == 401
    assert current(server, 1) is None


def test_logging_out_ends_the_live_updates_of_the_sessions_other_pages(
        page: Page, base: str, server: LiveDispatcher, context: BrowserContext) -> None:
    issue(server, 2)
    open_counter(page, base)
    other = context.new_page()
    other.goto(f"{base}/console/")
    web.wait_live(other)
    button(other, "退出").click()
    other.wait_for_url(lambda url: on_login(url, base))

    hall(server, "call-next", 1)  # the queue changes after the session has ended
    assert current(server, 1) == "B001"
    # The first tab's stream ends instead of showing it, and the tab goes to the login form.
    page.wait_for_url(lambda url: on_login(url, base, "/console/counter/1"))
    shown = web.shown_numbers(page)
    assert shown[0] == "—" and "B001" not in shown, shown


# -- 8. the keyboard --------------------------------------------------------------------------


def focused(page: Page) -> str:
    return str(page.evaluate(
        "document.activeElement ? (document.activeElement.tagName + ':' +"
        " document.activeElement.textContent.trim()) : ''"))


def test_the_counter_works_from_the_keyboard_alone(
        page: Page, base: str, server: LiveDispatcher) -> None:
    issue(server, 3)
    open_counter(page, base)
    number = page.locator("#current-number")

    page.keyboard.press("n")  # shortcut N: call next
    expect(number).to_have_text("B001")
    assert current(server, 1) == "B001"

    reached = []
    for _ in range(25):  # Tab from the top of the page reaches every usable button, in order
        page.keyboard.press("Tab")
        reached.append(focused(page))
        if reached[-1] == "BUTTON:暂停":
            break
    order = [f"BUTTON:{label}" for label in ("叫号", "重呼", "过号", "暂停")]
    assert [r for r in reached if r in order] == order, reached
    assert "BUTTON:恢复" not in reached  # disabled while the window is open

    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    assert focused(page) == "BUTTON:重呼"
    server.clock.advance(10)
    page.keyboard.press("Enter")  # a focused button works like a click
    expect(page.locator("#result")).to_have_text("已重呼 B001")
    assert window(server, 1)["current"]["calls"] == 2

    page.keyboard.press("p")  # P: pause, then P again: resume
    expect(page.locator("#result")).to_have_text("窗口已暂停")
    assert window(server, 1)["status"] == "paused"
    expect(button(page, "恢复")).to_be_enabled()
    page.keyboard.press("p")
    expect(page.locator("#result")).to_have_text("窗口已恢复")
    assert window(server, 1)["status"] == "open"

    server.clock.advance(10)
    page.keyboard.press("n")
    expect(number).to_have_text("B002")

    page.keyboard.press("t")  # T opens the transfer, the business list takes the keys
    expect(page.locator("#transfer")).to_have_attribute("open", "")
    assert page.evaluate("document.activeElement.name") == "service_id"
    server.clock.advance(10)
    page.keyboard.press("n")  # typed into the list: no call
    page.wait_for_timeout(200)
    assert current(server, 1) == "B002" and waiting(server) == ["B003"]


# -- stopping --------------------------------------------------------------------------------


def stops_within(server: LiveDispatcher, seconds: float) -> bool:
    """Stop the dispatcher; did it stop within `seconds`? (If not, it goes on stopping on a
    daemon thread: aiohttp gives up on the stuck handlers after its shutdown timeout.)"""
    stopped = threading.Event()

    def stop() -> None:
        with contextlib.suppress(AssertionError):
            server.stop()
        stopped.set()

    threading.Thread(target=stop, daemon=True).start()
    return stopped.wait(seconds)


# A page that leaves just as its live socket opens (a click right after the page loaded, a
# closed tab): here ten at once, each closing its socket the moment it opens.
OPEN_AND_LEAVE = """async (n) => {
  let closed = 0;
  await new Promise((resolve) => {
    for (let i = 0; i < n; i++) {
      const ws = new WebSocket(`ws://${location.host}/console/live?view=overview`);
      ws.onopen = () => ws.close();
      ws.onclose = () => { closed += 1; if (closed === n) resolve(); };
    }
  });
  return closed;
}"""


def test_pages_that_leave_as_soon_as_they_connect_leave_nothing_running(
        chromium: Browser, tmp_path: Path) -> None:
    server = LiveDispatcher(small_config(), tmp_path / "qms.db", demo_accounts=True).start()
    base = f"http://127.0.0.1:{server.port}"
    context = new_context(chromium)
    try:
        page = context.new_page()
        web.log_in(page, base, "admin", "demo-admin")
        web.wait_live(page)
        for _ in range(3):
            assert page.evaluate(OPEN_AND_LEAVE, 10) == 10
    finally:
        context.close()  # every page gone: nothing should be left to wait for
    assert stops_within(server, 3.0), "the dispatcher did not stop within 3 s"


def test_the_dispatcher_stops_promptly_while_a_console_page_is_open(
        page: Page, base: str, server: LiveDispatcher) -> None:
    open_counter(page, base)
    assert stops_within(server, 3.0), "the dispatcher did not stop within 3 s"
    expect(page.locator("#banner")).to_be_visible()  # the page says it lost the connection


# -- 9. screenshots ---------------------------------------------------------------------------


def overflow(page: Page) -> list[str]:
    """Elements reaching past the viewport's right edge (a page that scrolls sideways)."""
    found: list[str] = page.evaluate("""() => {
      const width = document.documentElement.clientWidth;
      const out = [];
      for (const el of document.querySelectorAll("body *")) {
        const r = el.getBoundingClientRect();
        if (r.width && r.right > width + 1) out.push(
          el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
          (el.className && typeof el.className === "string" ? "." + el.className.trim()
             .replace(/\\s+/g, ".") : "") + " right=" + Math.round(r.right));
      }
      return out;
    }""")
    return found


def test_screenshots_of_login_overview_and_counter_at_desktop_and_phone_width(
        chromium: Browser, tmp_path: Path) -> None:
    """The shipped example center (its names, its staff) as the README shows it."""
    center = load_config(EXAMPLE)
    server = LiveDispatcher(center, tmp_path / "qms.db", demo_accounts=True).start()
    base = f"http://127.0.0.1:{server.port}"
    try:
        for i, service in enumerate(["yibao-dabing"] * 3 + ["yibao-ka-buban"] * 2
                                    + ["yibao-jumin-jiaofei", "yibao-shaoer-huzhu"] * 2):
            status, _ = server.call("POST", "/tickets", {"request_id": f"shot-{i}",
                                                         "service_id": service,
                                                         "sign_language": i == 1},
                                    token="demo-kiosk-token")
            assert status == 201
        server.clock.advance(7 * 60)
        called = {}
        for n in (1, 3):
            status, body = server.call("POST", f"/windows/{n}/call-next",
                                       {"request_id": f"shot-call-{n}"}, "demo-hall-token")
            called[n] = body["ticket"]["number"]
        server.call("POST", "/windows/2/pause", {"request_id": "shot-pause"}, "demo-hall-token")
        server.clock.advance(3 * 60)
        out = web.screenshot_dir(tmp_path / "shots")
        problems: dict[str, list[str]] = {}

        for viewport in (DESKTOP, PHONE):
            size = f"{viewport['width']}x{viewport['height']}"
            context = new_context(chromium, viewport)
            try:
                page = context.new_page()
                page.goto(f"{base}/console/login")
                page.screenshot(path=out / f"console-login-{size}.png")
                problems[f"login-{size}"] = overflow(page)

                web.log_in(page, base, "admin", "demo-admin")
                web.wait_live(page)
                expect(page.locator("#window-1 .current .number")).to_have_text(called[1])
                expect(page.locator("#window-2 .badge.paused")).to_be_visible()
                page.screenshot(path=out / f"console-overview-{size}.png")
                page.screenshot(path=tmp_path / f"full-overview-{size}.png", full_page=True)
                problems[f"overview-{size}"] = overflow(page)

                button(page, "退出").click()  # the counter as its staff member sees it
                page.wait_for_url(lambda url: on_login(url, base))
                open_counter(page, base, "s01")
                expect(page.locator("#current-number")).to_have_text(called[1])
                expect(page.locator("header .who")).to_have_text("s01")
                page.screenshot(path=out / f"console-counter-{size}.png")
                page.screenshot(path=tmp_path / f"full-counter-{size}.png", full_page=True)
                problems[f"counter-{size}"] = overflow(page)
            finally:
                context.close()
    finally:
        server.stop()

    for name in ("login", "overview", "counter"):
        for size in ("1280x800", "390x844"):
            assert (out / f"console-{name}-{size}.png").stat().st_size > 5000
    assert {k: v for k, v in problems.items() if v} == {}


def test_the_manager_records_a_bad_ratings_follow_up_and_sees_bus_devices(
        chromium: Browser, tmp_path: Path) -> None:
    """The example center: three residents rated, one badly; a keypad silent on the bus. The
    manager sees the alarm on the overview, follows the link, records the follow-up with the
    form, and the page shows it. Screenshots: console-ratings-*.png."""
    center = load_config(EXAMPLE)
    server = LiveDispatcher(center, tmp_path / "qms.db", demo_accounts=True).start()
    base = f"http://127.0.0.1:{server.port}"
    hall_token = "demo-hall-token"
    bad_number = ""
    try:
        for i, (n, score) in enumerate([(1, 1), (2, 2), (3, 5), (4, 1)]):
            status, body = server.call("POST", "/tickets", {"request_id": f"r-{i}",
                                                            "service_id": "yibao-dabing"},
                                       token="demo-kiosk-token")
            assert status == 201, body
            _, called = server.call("POST", f"/windows/{n}/call-next",
                                    {"request_id": f"rc-{i}"}, hall_token)
            if score == 5:
                bad_number = str(called["ticket"]["number"])
            server.clock.advance(4 * 60)
            status, body = server.call("POST", f"/windows/{n}/rating",
                                       {"request_id": f"rr-{i}", "score": score}, hall_token)
            assert status == 200 and body["attached"], body
        status, _ = server.call("PUT", "/bus/health", {"cycle_ms": 236.9, "devices": [
            {"address": 3 * n - 2 + k, "kind": kind, "window": n,
             "state": "no_answer" if (n, kind) == (5, "keypad") else "ok",
             "errors": 3 if (n, kind) == (5, "keypad") else 0, "since": None}
            for n in range(1, 9)
            for k, kind in enumerate(("window_display", "keypad", "rating_pad"))]},
            hall_token)
        assert status == 204
        out = web.screenshot_dir(tmp_path / "shots")
        problems: dict[str, list[str]] = {}
        for viewport in (DESKTOP, PHONE):
            size = f"{viewport['width']}x{viewport['height']}"
            context = new_context(chromium, viewport)
            try:
                page = context.new_page()
                web.log_in(page, base, "admin", "demo-admin")
                web.wait_live(page)
                expect(page.locator(".alarm-bus")).to_contain_text("呼叫器 #14（5 号窗口）：无应答")
                expect(page.locator("#bus-14")).to_contain_text("无应答")
                if viewport is DESKTOP:
                    page.locator("section:has(#bus-1)").screenshot(
                        path=out / "console-bus-devices-1280x800.png")
                page.get_by_role("link", name="待回访差评 1 条").click()
                page.wait_for_url(f"{base}/console/ratings")
                expect(page.locator("#satisfaction")).to_have_text("75.0%")
                row = page.locator("tr[id^=task-]")
                expect(row).to_have_count(1)
                expect(row).to_contain_text(bad_number)
                expect(row).to_contain_text("非常不满意")
                page.screenshot(path=out / f"console-ratings-{size}.png")
                problems[f"ratings-{size}"] = overflow(page)
                if viewport is PHONE:  # (after both screenshots show the open task)
                    row.locator("select[name=outcome]").select_option("explained")
                    row.locator("input[name=note]").fill("已电话回访，解释办理要求")
                    row.get_by_role("button", name="完成回访").click()
                    expect(row).to_contain_text("已解释说明")
                    expect(row).to_contain_text("已电话回访")
            finally:
                context.close()
    finally:
        server.stop()
    assert {k: v for k, v in problems.items() if v} == {}
