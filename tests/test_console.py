"""The console over HTTP (no browser): accounts, sessions, CSRF, throttling, roles, audit."""

from __future__ import annotations

import http.client
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from dispatcher.server.console.accounts import AccountError, AccountStore
from dispatcher.server.console.passwords import hash_password, verify_password
from dispatcher.server.console.throttle import LoginThrottle

from .helpers import ADMIN, HALL, KIOSK, small_config
from .live import LiveDispatcher

STAFF = frozenset({"s1", "s2", "s3", "s4"})


# -- the pure parts ---------------------------------------------------------------------------


def test_passwords_are_stored_as_salted_scrypt_hashes() -> None:
    one, two = hash_password("correct horse"), hash_password("correct horse")
    assert one != two and one.startswith("scrypt$16384$8$1$")
    assert "correct horse" not in one
    assert verify_password("correct horse", one)
    assert not verify_password("correct hors", one)
    assert not verify_password("x", "not a hash") and not verify_password("x", "md5$a$b$c$d$e")


def test_throttle_refuses_the_sixth_attempt_for_a_name_until_the_window_passes() -> None:
    now = [0.0]
    throttle = LoginThrottle(lambda: now[0], per_user=5, per_address=20, window_s=900)
    for _ in range(5):
        assert throttle.wait_s("s1", "10.0.0.9") == 0
        throttle.failed("s1", "10.0.0.9")
    assert throttle.wait_s("s1", "10.0.0.9") == 900
    assert throttle.wait_s("S1", "10.0.0.7") == 900  # the name, from any address, any case
    assert throttle.wait_s("s2", "10.0.0.9") == 0  # another name from that address: not yet
    now[0] = 600.0
    assert throttle.wait_s("s1", "10.0.0.9") == 300
    now[0] = 900.0
    assert throttle.wait_s("s1", "10.0.0.9") == 0


def test_throttle_limits_one_address_guessing_many_names() -> None:
    throttle = LoginThrottle(lambda: 0.0, per_user=5, per_address=20, window_s=900)
    for i in range(20):
        throttle.failed(f"user{i}", "10.0.0.66")
    assert throttle.wait_s("anyone", "10.0.0.66") == 900
    assert throttle.wait_s("anyone", "10.0.0.67") == 0


def test_throttle_memory_is_bounded() -> None:
    throttle = LoginThrottle(lambda: 0.0, max_keys=100)
    for i in range(1000):
        throttle.failed(f"u{i}", f"10.0.{i // 256}.{i % 256}")
    assert len(throttle._failures) <= 100


# -- the account store ------------------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> Iterator[AccountStore]:
    s = AccountStore(tmp_path / "qms.db", STAFF)
    yield s
    s.close()


def test_accounts_authenticate_and_wrong_or_disabled_do_not(store: AccountStore) -> None:
    store.add("boss", "long enough", "manager")
    store.add("s1", "staff pass 1", "staff")
    assert store.authenticate("boss", "long enough").is_manager  # type: ignore[union-attr]
    staff = store.authenticate("s1", "staff pass 1")
    assert staff is not None and staff.staff_id == "s1" and not staff.is_manager
    assert store.authenticate("boss", "wrong") is None
    assert store.authenticate("nobody", "long enough") is None
    store.set_disabled("s1", True)
    assert store.authenticate("s1", "staff pass 1") is None


def test_bad_account_changes_are_refused_and_change_nothing(store: AccountStore) -> None:
    store.add("boss", "long enough", "manager")
    for args, why in ((("boss", "long enough", "manager"), "exists"),
                      (("s9", "long enough", "staff"), "no staff member"),
                      (("x y", "long enough", "manager"), "user name"),
                      (("ok", "short", "manager"), "8 characters"),
                      (("ok", "long enough", "root"), "role")):
        with pytest.raises(AccountError, match=why):
            store.add(*args)
    with pytest.raises(AccountError, match="no account"):
        store.set_password("ghost", "long enough")
    assert [a.username for a in store.accounts()] == ["boss"]


def test_the_database_holds_no_password_and_no_session_token(store: AccountStore) -> None:
    account = store.add("boss", "long enough", "manager")
    token, _ = store.open_session(account, "127.0.0.1")
    raw = store.path.read_bytes() + Path(f"{store.path}-wal").read_bytes()
    assert b"long enough" not in raw and token.encode() not in raw


def test_a_new_password_or_disabling_ends_the_sessions(store: AccountStore) -> None:
    account = store.add("boss", "long enough", "manager")
    token, _ = store.open_session(account, "127.0.0.1")
    assert store.session(token) is not None
    store.set_password("boss", "another one")
    assert store.session(token) is None
    token, _ = store.open_session(account, "127.0.0.1")
    store.set_disabled("boss", True)
    assert store.session(token) is None


def test_an_expired_session_is_not_valid(store: AccountStore) -> None:
    account = store.add("boss", "long enough", "manager")
    token, _ = store.open_session(account, "127.0.0.1")
    with sqlite3.connect(store.path) as conn:
        conn.execute("UPDATE console_sessions SET expires_at = 0")
    assert store.session(token) is None


def test_demo_accounts_exist_only_when_turned_on(tmp_path: Path) -> None:
    off = AccountStore(tmp_path / "a.db", STAFF)
    on = AccountStore(tmp_path / "b.db", STAFF, demo=True)
    try:
        assert off.authenticate("admin", "demo-admin") is None
        assert off.authenticate("s1", "demo") is None
        assert on.authenticate("admin", "demo-admin").is_manager  # type: ignore[union-attr]
        assert on.authenticate("s1", "demo").staff_id == "s1"  # type: ignore[union-attr]
        assert on.authenticate("s9", "demo") is None  # not a staff member of the config
        token, _ = on.open_session(on.authenticate("admin", "demo-admin"), "::1")  # type: ignore[arg-type]
        assert on.session(token) is not None
        on.demo = False  # the same database served off loopback: the demo session is dead
        assert on.session(token) is None
    finally:
        off.close()
        on.close()


# -- over HTTP --------------------------------------------------------------------------------


class Browser:
    """A cookie-keeping HTTP client for the console (what a browser does, minus the page)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict[str, str] | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            all_headers = {"Accept": "text/html", **(headers or {})}
            if self.cookies:
                all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            body = None
            if form is not None:
                body = urlencode(form)
                all_headers["Content-Type"] = "application/x-www-form-urlencoded"
            conn.request(method, path, body=body, headers=all_headers)
            resp = conn.getresponse()
            text = resp.read().decode()
            for key, value in resp.getheaders():
                if key.lower() == "set-cookie":
                    name, _, rest = value.partition("=")
                    cookie_value = rest.split(";")[0]
                    if cookie_value in ('""', "") or "Max-Age=0" in value:
                        self.cookies.pop(name, None)
                    else:
                        self.cookies[name] = cookie_value
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, text
        finally:
            conn.close()

    def login(self, username: str, password: str) -> tuple[int, dict[str, str], str]:
        return self.request("POST", "/console/login",
                            {"username": username, "password": password, "next": "/console/"})

    def csrf(self, path: str = "/console/") -> str:
        status, _, text = self.request("GET", path)
        assert status == 200, text
        found = re.search(r'name="csrf" value="([^"]+)"', text)
        assert found, text
        return found.group(1)

    def act(self, path: str, csrf: str | None, **fields: str) -> tuple[int, Any]:
        form = dict(fields)
        if csrf is not None:
            form["csrf"] = csrf
        status, _, text = self.request("POST", path, form, {"Accept": "application/json"})
        import json
        return status, json.loads(text)


@pytest.fixture
def console(tmp_path: Path) -> Iterator[LiveDispatcher]:
    server = LiveDispatcher(small_config(), tmp_path / "qms.db", demo_accounts=True).start()
    yield server
    server.stop()


def state(server: LiveDispatcher) -> dict[str, Any]:
    status, body = server.call("GET", "/state", token=ADMIN)
    assert status == 200
    return body  # type: ignore[no-any-return]


def issue(server: LiveDispatcher, n: int, service: str = "sb-card") -> None:
    for i in range(n):
        status, body = server.call("POST", "/tickets",
                                   {"request_id": f"k-{service}-{i}", "service_id": service},
                                   KIOSK)
        assert status == 201, body


def test_pages_without_a_session_send_a_browser_to_login_and_a_script_gets_401(
        console: LiveDispatcher) -> None:
    b = Browser(console.port)
    for path in ("/console/", "/console/counter/1", "/console/audit"):
        status, headers, _ = b.request("GET", path)
        assert status == 303 and headers["location"].startswith("/console/login?next=")
        status, _, body = b.request("GET", path, headers={"Accept": "application/json"})
        assert status == 401 and "session_expired" in body


def test_login_sets_a_strict_httponly_cookie_and_logout_ends_the_session(
        console: LiveDispatcher) -> None:
    b = Browser(console.port)
    status, headers, _ = b.login("admin", "demo-admin")
    assert status == 303 and headers["location"] == "/console/"
    cookie = headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/console/" in cookie
    token = b.cookies["qms_console"]
    csrf = b.csrf()
    status, headers, _ = b.request("POST", "/console/logout", {"csrf": csrf})
    assert status == 303 and headers["location"] == "/console/login"
    b.cookies["qms_console"] = token  # the old cookie, replayed
    assert b.request("GET", "/console/")[0] == 303


def test_a_wrong_password_is_refused_then_throttled_even_with_the_right_one(
        console: LiveDispatcher) -> None:
    b = Browser(console.port)
    for _ in range(5):
        status, _, text = b.login("s2", "wrong")
        assert status == 401 and "用户名或密码错误" in text
    status, headers, text = b.login("s2", "demo")
    assert status == 429 and "尝试次数过多" in text and int(headers["retry-after"]) > 0
    assert "qms_console" not in b.cookies
    assert b.login("s1", "demo")[0] == 303  # another person at the same desk is not locked out


def test_a_post_without_the_csrf_token_or_from_another_origin_changes_nothing(
        console: LiveDispatcher) -> None:
    issue(console, 2)
    b = Browser(console.port)
    b.login("admin", "demo-admin")
    csrf = b.csrf()
    assert b.act("/console/counter/1/call-next", None)[0] == 403
    assert b.act("/console/counter/1/call-next", "forged-token")[0] == 403
    status, _, _ = b.request("POST", "/console/counter/1/call-next", {"csrf": csrf},
                             {"Origin": "http://evil.example", "Accept": "application/json"})
    assert status == 403
    assert state(console)["windows"][0]["current"] is None
    assert len(state(console)["waiting"]) == 2
    status, body = b.act("/console/counter/1/call-next", csrf)
    assert status == 200 and body["ok"] and body["message"] == "已叫 B001"


def test_staff_operate_only_the_window_they_are_signed_in_at(console: LiveDispatcher) -> None:
    issue(console, 2)
    b = Browser(console.port)
    b.login("s1", "demo")
    csrf = b.csrf("/console/counter/1")
    status, _, text = b.request("GET", "/console/counter/2")
    assert status == 403 and "只能操作自己签到的窗口" in text
    assert b.act("/console/counter/2/call-next", csrf)[0] == 403
    assert b.act("/console/counter/2/pause", csrf)[0] == 403
    assert state(console)["windows"][1]["current"] is None
    assert b.act("/console/actions/green-channel", csrf, mode="on")[0] == 403  # managers only
    assert b.request("GET", "/console/audit")[0] == 403
    status, body = b.act("/console/counter/1/call-next", csrf)
    assert status == 200 and body["reply"]["ticket"]["number"] == "B001"


def test_a_repeated_press_with_the_same_request_id_calls_once(console: LiveDispatcher) -> None:
    issue(console, 3)
    b = Browser(console.port)
    b.login("s1", "demo")
    csrf = b.csrf("/console/counter/1")
    rid = "con-" + "ab" * 12
    first = b.act("/console/counter/1/call-next", csrf, request_id=rid)[1]
    again = b.act("/console/counter/1/call-next", csrf, request_id=rid)[1]
    assert first["reply"]["ticket"]["number"] == again["reply"]["ticket"]["number"] == "B001"
    assert len(state(console)["waiting"]) == 2
    # A browser may not choose another caller's request ids: a foreign one is replaced.
    status, body = b.act("/console/counter/1/recall", csrf, request_id="day-2026-01-05")
    assert status == 200 and body["ok"]


def test_the_console_and_a_hall_button_at_one_window_never_call_a_ticket_twice(
        console: LiveDispatcher) -> None:
    issue(console, 6)
    b = Browser(console.port)
    b.login("s1", "demo")
    csrf = b.csrf("/console/counter/1")
    called = []
    for i in range(3):
        console.clock.advance(10)  # past the double-press guard
        status, body = b.act("/console/counter/1/call-next", csrf)
        assert status == 200
        called.append(body["reply"]["ticket"]["number"])
        console.clock.advance(10)
        status, body = console.call("POST", "/windows/1/call-next", {"request_id": f"hb{i}"},
                                    HALL)
        assert status == 200
        called.append(body["ticket"]["number"])
    assert called == ["B001", "B002", "B003", "B004", "B005", "B006"]


def test_manager_actions_work_and_land_in_the_audit_log(console: LiveDispatcher) -> None:
    issue(console, 2)
    b = Browser(console.port)
    b.login("admin", "demo-admin")
    csrf = b.csrf()
    assert b.act("/console/actions/green-channel", csrf, mode="on")[1]["ok"]
    assert b.act("/console/counter/3/pause", csrf)[1]["ok"]
    assert b.act("/console/counter/4/sign-out", csrf)[1]["ok"]
    tid = state(console)["waiting"][0]["id"]
    assert b.act("/console/actions/reprint", csrf, ticket_id=tid, kiosk="kiosk-1")[1]["ok"]
    assert b.act("/console/actions/cancel-ticket", csrf, ticket_id=tid)[1]["ok"]
    assert b.act("/console/actions/close-day", csrf)[1]["ok"]
    now = state(console)
    assert now["green_channel_mode"] == "on" and now["issuing_open"] is False
    assert now["windows"][2]["status"] == "paused" and now["windows"][3]["staff_id"] is None
    assert [t["number"] for t in now["waiting"]] == ["B002"]
    status, body = console.call("POST", "/tickets", {"request_id": "late", "service_id": "sb-card"},
                                KIOSK)
    assert (status, body["error"]["code"]) == (409, "issuing_closed")
    status, _, page = b.request("GET", "/console/audit")
    assert status == 200
    for action in ("green-channel", "pause", "sign-out", "reprint", "cancel-ticket", "close-day",
                   "login"):
        assert f"<td>{action}</td>" in page, action
    status, headers, csv_text = b.request("GET", "/console/audit.csv")
    assert status == 200 and headers["content-type"].startswith("text/csv")
    lines = csv_text.lstrip("\ufeff").splitlines()
    assert lines[0] == "at,username,address,action,target,outcome"
    assert any(",admin,127.0.0.1,close-day,issuing,ok" in line for line in lines)


def test_a_refused_action_is_audited_with_its_error(console: LiveDispatcher) -> None:
    b = Browser(console.port)
    b.login("admin", "demo-admin")
    csrf = b.csrf()
    status, body = b.act("/console/counter/2/recall", csrf)
    assert status == 409 and not body["ok"] and body["code"] == "no_current_ticket"
    _, _, page = b.request("GET", "/console/audit")
    assert "<td>recall</td><td>window 2</td><td>no_current_ticket</td>" in page


def test_accounts_page_adds_and_disables_accounts(console: LiveDispatcher) -> None:
    b = Browser(console.port)
    b.login("admin", "demo-admin")
    csrf = b.csrf("/console/accounts")
    status, _, _ = b.request("POST", "/console/accounts/add",
                             {"csrf": csrf, "username": "s3", "role": "staff",
                              "staff_id": "", "password": "s3-long-pass"})
    assert status == 303
    other = Browser(console.port)
    assert other.login("s3", "s3-long-pass")[0] == 303
    status, _, _ = b.request("POST", "/console/accounts/disable",
                             {"csrf": csrf, "username": "s3"})
    assert status == 303
    assert other.request("GET", "/console/counter/3")[0] == 303  # the session ended
    status, headers, _ = b.request("POST", "/console/accounts/add",
                                   {"csrf": csrf, "username": "bad name", "role": "staff",
                                    "password": "long enough"})
    assert status == 303 and "error=" in headers["location"]


def test_demo_logins_do_not_exist_without_the_demo_setup(tmp_path: Path) -> None:
    server = LiveDispatcher(small_config(), tmp_path / "qms.db").start()
    try:
        b = Browser(server.port)
        assert b.login("admin", "demo-admin")[0] == 401
    finally:
        server.stop()


def test_overview_and_counter_render_with_300_waiting(console: LiveDispatcher) -> None:
    issue(console, 300, "yb-baoxiao")
    b = Browser(console.port)
    b.login("admin", "demo-admin")
    status, _, page = b.request("GET", "/console/")
    assert status == 200 and 'id="total-waiting">300<' in page
    status, _, page = b.request("GET", "/console/counter/1")
    assert status == 200 and 'id="waiting-here">300<' in page


def test_a_manager_cancels_a_waiting_ticket_by_its_number(console: LiveDispatcher) -> None:
    issue(console, 3)
    b = Browser(console.port)
    b.login("admin", "demo-admin")
    csrf = b.csrf()
    status, body = b.act("/console/actions/cancel-ticket", csrf, number="b2")
    assert status == 200 and body["ok"]
    assert [t["number"] for t in state(console)["waiting"]] == ["B001", "B003"]
    status, body = b.act("/console/actions/cancel-ticket", csrf, number="B9")
    assert status == 404 and body["code"] == "unknown_ticket"


def test_the_live_socket_sends_the_page_part_at_once_and_after_each_change(
        console: LiveDispatcher) -> None:
    import asyncio

    import aiohttp

    b = Browser(console.port)
    b.login("admin", "demo-admin")
    base = f"http://127.0.0.1:{console.port}"

    async def watch() -> list[str]:
        seen = []
        async with aiohttp.ClientSession(cookies=b.cookies) as http_session:
            async with http_session.ws_connect(f"{base}/console/live?view=overview",
                                               headers={"Origin": base}) as ws:
                seen.append((await ws.receive_json(timeout=5))["html"])
                await asyncio.to_thread(issue, console, 2)
                while 'id="total-waiting">2<' not in seen[-1]:
                    seen.append((await ws.receive_json(timeout=5))["html"])
            # Another origin may not open it (cross-site WebSocket hijacking).
            try:
                async with http_session.ws_connect(f"{base}/console/live?view=overview",
                                                   headers={"Origin": "http://evil.example"}):
                    raise AssertionError("a foreign origin opened the live socket")
            except aiohttp.WSServerHandshakeError as err:
                assert err.status == 403
        return seen

    seen = asyncio.run(watch())
    assert 'id="total-waiting">0<' in seen[0]
    assert 'name="csrf" value=""' in seen[-1]  # shared by sessions: no token inside


def test_a_failed_login_is_audited_without_writing_down_an_unknown_name(
        console: LiveDispatcher) -> None:
    b = Browser(console.port)
    b.login("s1", "wrong")
    b.login("my-Secret-pw", "x")  # a password typed into the name field
    b.login("admin", "demo-admin")
    _, _, page = b.request("GET", "/console/audit")
    assert "my-Secret-pw" not in page
    assert "<td>(unknown)</td><td>127.0.0.1</td><td>login</td><td></td><td>refused</td>" in page
    assert "<td>s1</td><td>127.0.0.1</td><td>login</td><td></td><td>refused</td>" in page


def test_a_page_leaving_mid_render_does_not_cancel_the_render_other_pages_wait_for() -> None:
    import asyncio
    import datetime as dt
    from types import SimpleNamespace

    from dispatcher.server.console.live import LiveRenders

    renders = []

    async def read(build: object) -> dict[str, Any]:
        await asyncio.sleep(0.05)  # the writer is busy
        return {"seq": 7}

    def render(template: str, **context: Any) -> str:
        renders.append(template)
        return "<p>live</p>"

    service = SimpleNamespace(clock=lambda: dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC), seq=7,
                              read=read)
    console = SimpleNamespace(service=service, render=render,
                              presence=SimpleNamespace(version=0))
    live = LiveRenders()

    async def two_pages() -> tuple[Any, Any]:
        leaving = asyncio.create_task(live.get(console, "overview_live.html", 0, "zh", True))  # type: ignore[arg-type]
        staying = asyncio.create_task(live.get(console, "overview_live.html", 0, "zh", True))  # type: ignore[arg-type]
        await asyncio.sleep(0.01)
        leaving.cancel()
        part = await staying
        again = await live.get(console, "overview_live.html", 0, "zh", True)  # type: ignore[arg-type]
        return part, again

    part, again = asyncio.run(two_pages())
    assert part.html == "<p>live</p>" and part.seq == 7 and again is part
    assert renders == ["overview_live.html"]  # one render for both pages and the repeat


def test_a_staff_member_signs_in_only_at_a_free_window_and_only_at_one(
        console: LiveDispatcher) -> None:
    b = Browser(console.port)
    b.login("admin", "demo-admin")
    csrf = b.csrf()
    assert b.act("/console/counter/2/sign-out", csrf)[1]["ok"]
    s1 = Browser(console.port)
    s1.login("s1", "demo")
    token = s1.csrf("/console/counter/1")
    status, body = s1.act("/console/counter/2/sign-in", token)  # s1 is at window 1 already
    assert status == 403 and body["code"] == "forbidden"
    assert state(console)["windows"][1]["staff_id"] is None
    assert s1.act("/console/counter/1/sign-out", token)[1]["ok"]
    assert s1.act("/console/counter/2/sign-in", token)[1]["ok"]
    s3 = Browser(console.port)
    s3.login("s3", "demo")
    status, _ = s3.act("/console/counter/2/sign-in", s3.csrf("/console/counter/3"))
    assert status == 403 and state(console)["windows"][1]["staff_id"] == "s1"
    _, _, page = b.request("GET", "/console/audit")
    assert "refused: not_your_window" in page  # the refused attempt is audited


def test_logins_sent_at_once_cannot_pass_the_throttle(console: LiveDispatcher) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def attempt(i: int) -> int:
        return Browser(console.port).login("s3", f"wrong-{i}")[0]

    with ThreadPoolExecutor(15) as pool:
        statuses = list(pool.map(attempt, range(15)))
    assert statuses.count(401) <= 5 and statuses.count(429) >= 10, statuses


def test_bad_form_input_is_refused_not_a_server_error(console: LiveDispatcher) -> None:
    b = Browser(console.port)
    status, _, _ = b.request("POST", "/console/login", {"username": "x" * 20_000, "password": "y"})
    assert status == 413
    b.login("admin", "demo-admin")
    csrf = b.csrf()
    for fields in ({"window": "²"}, {"window": "9" * 5000}):
        status, _ = b.act("/console/counter/1/transfer", csrf, **fields)
        assert status < 500
    status, body = b.act("/console/actions/cancel-ticket", csrf, number="A" + "1" * 5000)
    assert status == 404 and body["code"] == "unknown_ticket"
    status, _, _ = b.request("POST", "/console/counter/1/call-next", None,
                             {"Content-Type": "application/json", "X-CSRF-Token": csrf,
                              "Accept": "application/json"})
    assert status == 200


def test_the_audit_export_never_hands_a_spreadsheet_a_formula(store: AccountStore) -> None:
    store.audit("boss", "10.0.0.5", "reprint", "=HYPERLINK(\"http://x\")", "ok")
    store.audit("boss", "10.0.0.5", "cancel-ticket", "-1+1", "@SUM(A1)")
    rows = store.audit_csv().splitlines()
    assert rows[1].endswith(',reprint,"\'=HYPERLINK(""http://x"")",ok')
    assert rows[2].endswith(",cancel-ticket,'-1+1,'@SUM(A1)")
