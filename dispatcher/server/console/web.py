"""The console's pages and actions under /console/ (PROTOCOL.md, section Console).

Server-rendered HTML (Jinja2, assets shipped in the package), live updates over a WebSocket
that re-sends the page's live part whenever the queue changes. Sessions in an HttpOnly,
SameSite=Strict cookie; every POST carries the session's CSRF token (form field `csrf` or
header `X-CSRF-Token`) and, when the browser names one, a same-origin `Origin`. Every
mutating action is written to the audit log before it is answered.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import datetime as dt
import hmac
import json
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import jinja2
from aiohttp import web

from base.errors import ErrorCode, QmsError
from base.texts import DEFAULT_LANG
from dispatcher import __version__
from dispatcher.domain import commands as c
from dispatcher.domain.config import Config
from dispatcher.server.console import views
from dispatcher.server.console.accounts import Account, AccountError, AccountStore, Session
from dispatcher.server.console.texts import TEXTS
from dispatcher.server.console.throttle import LoginThrottle
from dispatcher.server.http import SOCKETS_KEY, run_socket
from dispatcher.server.presence import Presence
from dispatcher.server.service import DispatcherService, Unavailable

log = logging.getLogger(__name__)

ROOT = "/console"
COOKIE = "qms_console"
LANG_COOKIE = "qms_lang"
HERE = Path(__file__).parent
LIVE_REFRESH_S = 20.0  # a live page is re-sent at least this often (waits grow by the minute)
SIGNED_OUT = 4401  # the live socket's close code when its session ended: the page logs in again
LIVE_GAP_S = 0.25  # at most one push a page per this; the first change after a pause at once
MAX_FORM = 16 * 1024
CONSOLE_ID = re.compile(r"con-[0-9a-f]{24}")
# The posted form, read once per request (aiohttp ≥ 3.13 wants a typed key for this).
FORM_KEY: Any = web.RequestKey("form", dict) if hasattr(web, "RequestKey") else "qms_form"
T = TypeVar("T")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Refused(Exception):
    """An action the console refuses; `key` names the text shown, `status` the HTTP status."""

    def __init__(self, status: int, key: str, **values: object) -> None:
        super().__init__(key)
        self.status = status
        self.key = key
        self.values = values


@dataclass
class Console:
    """Everything the console's handlers use; built once by the dispatcher's composition
    root."""

    config: Config
    service: DispatcherService
    accounts: AccountStore
    presence: Presence
    throttle: LoginThrottle
    executor: concurrent.futures.ThreadPoolExecutor  # account store reads and writes
    hasher: concurrent.futures.ThreadPoolExecutor  # password checks (scrypt): never in line
    templates: jinja2.Environment
    live: LiveRenders

    async def blocking(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a blocking account-store call (scrypt, SQLite) off the event loop."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    def render(self, name: str, **context: Any) -> str:
        return self.templates.get_template(name).render(**context)


CONSOLE_KEY = web.AppKey("console", Console)


def make_templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )
    return env


def build_console(config: Config, service: DispatcherService, accounts: AccountStore,
                  presence: Presence) -> Console:
    return Console(
        config=config, service=service, accounts=accounts, presence=presence,
        throttle=LoginThrottle(time.monotonic),
        executor=concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="qms-console"),
        hasher=concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="qms-scrypt"),
        templates=make_templates(), live=LiveRenders(),
    )


# -- request helpers --------------------------------------------------------------------------


def lang_of(request: web.Request) -> str:
    lang = request.cookies.get(LANG_COOKIE, DEFAULT_LANG)
    return lang if lang in TEXTS.languages else DEFAULT_LANG


def address_of(request: web.Request) -> str:
    return request.remote or "?"


def wants_html(request: web.Request) -> bool:
    accept = request.headers.get("Accept", "")
    return "text/html" in accept or (request.method == "GET" and not accept)


def same_origin(request: web.Request) -> bool:
    """False when the browser says the request comes from another origin (Origin header,
    or Sec-Fetch-Site cross-site); requests that name no origin (old browsers, scripts) pass,
    the CSRF token still guards them."""
    if request.headers.get("Sec-Fetch-Site") == "cross-site":
        return False
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    parts = urlsplit(origin)
    return parts.netloc == request.host and parts.scheme == request.scheme


async def session_of(request: web.Request) -> Session | None:
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    console = request.app[CONSOLE_KEY]
    return console.accounts.cached_session(token) or await console.blocking(
        console.accounts.session, token)


def page_context(request: web.Request, session: Session | None, **extra: Any) -> dict[str, Any]:
    lang = lang_of(request)

    def t(key: str, **values: object) -> str:
        return TEXTS(lang, key, **values)

    console = request.app[CONSOLE_KEY]
    return {
        "t": t, "lang": lang, "session": session,
        "account": session.account if session else None,
        "csrf": session.csrf if session else "",
        "center": console.config.center,
        "path": request.path_qs,
        "request_id": new_request_id,
        "version": __version__,
        **extra,
    }


def new_request_id() -> str:
    return f"con-{secrets.token_hex(12)}"


def request_id_of(form: dict[str, str]) -> str:
    """The press's request id (the same one again for a repeated press), if it is one the
    console made; else a new one — a browser cannot pick another caller's ids."""
    rid = form.get("request_id", "")
    return rid if CONSOLE_ID.fullmatch(rid) else new_request_id()


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def html(text: str, status: int = 200) -> web.Response:
    response = web.Response(text=text, status=status, content_type="text/html", charset="utf-8")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def login_redirect(request: web.Request) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(f"{ROOT}/login?next={quote(request.path_qs, safe='')}")


def signed_in(handler: Callable[[web.Request, Session], Awaitable[web.StreamResponse]],
              manager: bool = False) -> Handler:
    """A page or action that needs a live session (and for `manager`, a manager's)."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        session = await session_of(request)
        if session is None:
            if request.method == "GET" and wants_html(request):
                raise login_redirect(request)
            return refusal(request, None, Refused(401, "session_expired"))
        try:
            if request.method == "POST":
                await check_csrf(request, session)
            if manager and not session.account.is_manager:
                raise Refused(403, "managers_only")
            return await handler(request, session)
        except Refused as refused:
            return refusal(request, session, refused)

    return wrapped


async def check_csrf(request: web.Request, session: Session) -> None:
    if not same_origin(request):
        raise Refused(403, "csrf")
    given = request.headers.get("X-CSRF-Token")
    if given is None:
        form = await read_form(request)
        given = form.get("csrf", "")
    if not hmac.compare_digest(given.encode(), session.csrf.encode()):
        raise Refused(403, "csrf")


async def read_form(request: web.Request) -> dict[str, str]:
    """The posted form (urlencoded or JSON), read once per request."""
    cached = request.get(FORM_KEY)
    if cached is not None:
        return dict(cached)
    if request.content_length is not None and request.content_length > MAX_FORM:
        raise Refused(413, "forbidden")
    if request.content_type == "application/json":
        try:
            data = json.loads(await request.text() or "{}")
        except ValueError:
            data = {}
        form = {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
    else:
        posted = await request.post()
        form = {k: v for k, v in posted.items() if isinstance(v, str)}
    request[FORM_KEY] = form
    return form


def refusal(request: web.Request, session: Session | None, refused: Refused) -> web.Response:
    text = TEXTS(lang_of(request), refused.key, **refused.values)
    if wants_html(request):
        console = request.app[CONSOLE_KEY]
        body = console.render("message.html", **page_context(request, session, message=text,
                                                             status=refused.status))
        return html(body, refused.status)
    return web.json_response({"ok": False, "error": {"code": refused.key, "message": text}},
                             status=refused.status, dumps=dumps)


def answer(request: web.Request, back: str, ok: bool, message: str,
           extra: dict[str, Any] | None = None, status: int = 200) -> web.Response:
    """JSON for the page's script; for a plain form post, back to the page."""
    if wants_html(request):
        raise web.HTTPSeeOther(back)
    return web.json_response({"ok": ok, "message": message, **(extra or {})},
                             status=status, dumps=dumps)


# -- login and logout -------------------------------------------------------------------------


async def login_page(request: web.Request) -> web.Response:
    console = request.app[CONSOLE_KEY]
    return html(console.render("login.html", **page_context(
        request, None, error=None, username="", next=safe_next(request.query.get("next")))))


def safe_next(target: str | None) -> str:
    """Only a console path: never an open redirect to another site."""
    if target and target.startswith(f"{ROOT}/") and not target.startswith("//"):
        return target
    return f"{ROOT}/"


async def login(request: web.Request) -> web.Response:
    console = request.app[CONSOLE_KEY]
    form = await read_form(request)
    username = form.get("username", "").strip()[:64]
    password = form.get("password", "")[:1024]
    target = safe_next(form.get("next"))
    address = address_of(request)

    def again(key: str, status: int, **values: object) -> web.Response:
        body = console.render("login.html", **page_context(
            request, None, error=TEXTS(lang_of(request), key, **values), username=username,
            next=target))
        return html(body, status)

    if not same_origin(request):
        return again("csrf", 403)
    wait = console.throttle.wait_s(username, address)
    shown = username if await console.blocking(console.accounts.known, username) \
        else "(unknown)"
    if wait:
        await console.blocking(console.accounts.audit, shown, address, "login", "",
                               "throttled")
        response = again("throttled", 429, s=wait)
        response.headers["Retry-After"] = str(wait)
        return response
    account = await asyncio.get_running_loop().run_in_executor(
        console.hasher, console.accounts.authenticate, username, password)
    if account is None:
        console.throttle.failed(username, address)
        await console.blocking(console.accounts.audit, shown, address, "login", "",
                               "refused")
        log.info("console login refused for a user name from %s", address)
        return again("wrong_login", 401)
    console.throttle.succeeded(username)
    token, session = await console.blocking(console.accounts.open_session, account, address)
    await console.blocking(console.accounts.audit, account.username, address, "login", "", "ok")
    response = web.HTTPSeeOther(target)
    set_session_cookie(response, token, int(session.expires_at - time.time()))
    raise response


def set_session_cookie(response: web.StreamResponse, token: str, max_age: int) -> None:
    response.set_cookie(COOKIE, token, path=f"{ROOT}/", httponly=True, samesite="Strict",
                        max_age=max_age)


async def logout(request: web.Request, session: Session) -> web.Response:
    console = request.app[CONSOLE_KEY]
    token = request.cookies.get(COOKIE, "")
    await console.blocking(console.accounts.close_session, token)
    await console.blocking(console.accounts.audit, session.account.username,
                           address_of(request), "logout", "", "ok")
    response = web.HTTPSeeOther(f"{ROOT}/login")
    response.del_cookie(COOKIE, path=f"{ROOT}/")
    raise response


async def switch_lang(request: web.Request) -> web.Response:
    lang = request.query.get("to", DEFAULT_LANG)
    response = web.HTTPSeeOther(safe_next(request.query.get("next")))
    if lang in TEXTS.languages:
        response.set_cookie(LANG_COOKIE, lang, path=f"{ROOT}/", samesite="Strict",
                            max_age=365 * 86400)
    raise response


# -- pages ------------------------------------------------------------------------------------


async def read_view(console: Console, build: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """A view of committed state (in order with the commands before it)."""
    result: dict[str, Any] = await console.service.read(build)
    return result


def overview_builder(console: Console) -> Callable[[], dict[str, Any]]:
    def build() -> dict[str, Any]:
        return views.overview(console.config, console.service.core.state,
                              console.service.clock(), console.presence.devices(console.config))
    return build


def counter_builder(console: Console, n: int) -> Callable[[], dict[str, Any]]:
    def build() -> dict[str, Any]:
        return views.counter(console.config, console.service.core.state, n,
                             console.service.clock())
    return build


async def overview_page(request: web.Request, session: Session) -> web.Response:
    console = request.app[CONSOLE_KEY]
    view = await read_view(console, overview_builder(console))
    return html(console.render("overview.html", **page_context(request, session, view=view)))


def window_of(request: web.Request) -> int:
    console = request.app[CONSOLE_KEY]
    text = request.match_info["n"]
    if not text.isascii() or not text.isdigit() or len(text) > 6:
        raise web.HTTPNotFound()
    n = int(text)
    if n not in console.service.core.state.windows:
        raise web.HTTPNotFound()
    return n


def may_operate(console: Console, account: Account, n: int) -> bool:
    """A manager: every window. Staff: the window they are signed in at."""
    if account.is_manager:
        return True
    return console.service.core.state.windows[n].staff_id == account.staff_id


def check_window(console: Console, account: Account, n: int, signing_in: bool = False) -> None:
    if may_operate(console, account, n):
        return
    window = console.service.core.state.windows[n]
    if signing_in and window.staff_id is None:
        return
    who = views.staff_name(console.config, window.staff_id) or "—"
    raise Refused(403, "not_your_window", n=n, who=who)


async def counter_page(request: web.Request, session: Session) -> web.Response:
    console = request.app[CONSOLE_KEY]
    n = window_of(request)
    try:
        check_window(console, session.account, n, signing_in=True)
    except Refused as refused:
        return refusal(request, session, refused)
    view = await read_view(console, counter_builder(console, n))
    return html(console.render("counter.html", **page_context(
        request, session, view=view, n=n, targets=views.transfer_targets(console.config, n))))


# -- actions ----------------------------------------------------------------------------------


async def execute(request: web.Request, session: Session, command: c.Command, action: str,
                  target: str) -> tuple[bool, dict[str, Any] | None, str]:
    """Run a command for a console user; audit it (who, what, when, from where) before the
    answer leaves. (ok, reply, error code)."""
    console = request.app[CONSOLE_KEY]
    device = f"console:{session.account.username}"
    try:
        outcome = await console.service.execute(command, device)
    except QmsError as err:
        ok, reply, outcome_text = False, None, err.code.value
    except Unavailable as err:
        ok, reply, outcome_text = False, None, f"unavailable: {err}"
    else:
        ok, reply, outcome_text = True, outcome.reply, "ok"
    await console.blocking(console.accounts.audit, session.account.username,
                           address_of(request), action, target, outcome_text)
    return ok, reply, outcome_text


COUNTER_VERBS = ("call-next", "recall", "no-show", "pause", "resume", "transfer", "sign-in",
                 "sign-out")


async def counter_action(request: web.Request, session: Session) -> web.Response:
    console = request.app[CONSOLE_KEY]
    n = window_of(request)
    verb = request.match_info["verb"]
    if verb not in COUNTER_VERBS:
        raise web.HTTPNotFound()
    form = await read_form(request)
    account = session.account
    check_window(console, account, n, signing_in=verb == "sign-in")
    rid = request_id_of(form)
    command: c.Command
    if verb == "call-next":
        command = c.CallNext(request_id=rid, window=n)
    elif verb == "recall":
        command = c.Recall(request_id=rid, window=n)
    elif verb == "no-show":
        command = c.NoShow(request_id=rid, window=n)
    elif verb == "pause":
        command = c.Pause(request_id=rid, window=n)
    elif verb == "resume":
        command = c.Resume(request_id=rid, window=n)
    elif verb == "transfer":
        service_id = form.get("service_id") or None
        to_window = int(form["window"]) if form.get("window", "").isdigit() else None
        command = c.Transfer(request_id=rid, window=n, service_id=service_id,
                             to_window=to_window)
    elif verb == "sign-in":
        staff_id = account.staff_id or form.get("staff_id") or None
        if staff_id is None:
            raise Refused(400, "forbidden")
        command = c.SignIn(request_id=rid, window=n, staff_id=staff_id)
    else:  # sign-out
        command = c.SignIn(request_id=rid, window=n, staff_id=None)
    target = f"window {n}"
    ok, reply, code = await execute(request, session, command, verb, target)
    lang = lang_of(request)
    message = result_text(lang, verb, ok, reply, code)
    part = await console.live.get(console, "counter_live.html", n, lang, account.is_manager)
    return answer(request, f"{ROOT}/counter/{n}", ok, message,
                  {"code": code, "reply": reply, "html": part.html, "seq": part.seq},
                  status=status_of(ok, code))


def status_of(ok: bool, code: str) -> int:
    """The HTTP status of an action's answer: the error code's own, as in the API."""
    if ok:
        return 200
    try:
        return ErrorCode(code).status
    except ValueError:
        return 503  # unavailable: the dispatcher is stopping or its database failed


def result_text(lang: str, verb: str, ok: bool, reply: dict[str, Any] | None,
                code: str) -> str:
    if not ok:
        return f"{TEXTS(lang, 'error')}: {code}"
    ticket = (reply or {}).get("ticket")
    number = ticket["number"] if isinstance(ticket, dict) else ""
    keys = {"call-next": "called" if ticket else "nobody_waiting", "recall": "recalled",
            "no-show": "marked_no_show", "pause": "window_paused", "resume": "window_resumed",
            "transfer": "transferred", "sign-in": "signed_in", "sign-out": "signed_out"}
    return TEXTS(lang, keys.get(verb, "done"), number=number)


async def manager_action(request: web.Request, session: Session) -> web.Response:
    """Manager actions from the overview: green channel, cancel a ticket, sign someone out,
    pause/resume (via the window's verbs), reprint, close the day."""
    action = request.match_info["action"]
    form = await read_form(request)
    rid = request_id_of(form)
    command: c.Command
    if action == "green-channel":
        mode = form.get("mode", "")
        if mode not in ("auto", "on", "off"):
            raise Refused(400, "forbidden")
        command, target = c.SetGreenChannel(request_id=rid, mode=mode), mode  # type: ignore[arg-type]
    elif action == "cancel-ticket":
        tid = form.get("ticket_id", "") or ticket_id_of(request, form.get("number", ""))
        command, target = c.CancelTicket(request_id=rid, ticket_id=tid, reason="manager"), tid
    else:
        extra = ACTIONS.get(action)
        if extra is None:
            raise web.HTTPNotFound()
        command, target = extra(rid, form)
    ok, _, code = await execute(request, session, command, action, target)
    lang = lang_of(request)
    return answer(request, f"{ROOT}/", ok, TEXTS(lang, "done") if ok else
                  f"{TEXTS(lang, 'error')}: {code}", {"code": code}, status=status_of(ok, code))


def ticket_id_of(request: web.Request, number: str) -> str:
    """Today's ticket of a number as people say it ("a12" → A012)."""
    state = request.app[CONSOLE_KEY].service.core.state
    text = number.strip().upper()
    prefix = text.rstrip("0123456789")
    digits = text[len(prefix):]
    if not prefix or not digits or state.business_day is None:
        return text
    return f"{state.business_day.isoformat()}-{prefix}{int(digits):03d}"


def _reprint(rid: str, form: dict[str, str]) -> tuple[c.Command, str]:
    tid = form.get("ticket_id", "")
    kiosk = form.get("kiosk", "")
    return c.RequestReprint(request_id=rid, ticket_id=tid, kiosk=kiosk), f"{tid} at {kiosk}"


# Manager actions that map a form to a command: name → (request id, form) → (command, audit
# target).
ACTIONS: dict[str, Callable[[str, dict[str, str]], tuple[c.Command, str]]] = {
    "close-day": lambda rid, form: (c.SetIssuing(request_id=rid, open=False), "issuing"),
    "reopen-day": lambda rid, form: (c.SetIssuing(request_id=rid, open=True), "issuing"),
    "reprint": _reprint,
}


# -- accounts and audit (managers) ------------------------------------------------------------


async def accounts_page(request: web.Request, session: Session) -> web.Response:
    console = request.app[CONSOLE_KEY]
    accounts = await console.blocking(console.accounts.accounts)
    return html(console.render("accounts.html", **page_context(
        request, session, accounts=accounts, error=request.query.get("error"),
        staff=console.config.staff)))


async def accounts_action(request: web.Request, session: Session) -> web.Response:
    console = request.app[CONSOLE_KEY]
    form = await read_form(request)
    action = request.match_info["action"]
    username = form.get("username", "").strip()
    store = console.accounts
    try:
        if action == "add":
            await console.blocking(store.add, username, form.get("password", ""),
                                   form.get("role", "staff"), form.get("staff_id") or None)
        elif action == "passwd":
            await console.blocking(store.set_password, username, form.get("password", ""))
        elif action in ("disable", "enable"):
            await console.blocking(store.set_disabled, username, action == "disable")
        else:
            raise web.HTTPNotFound()
    except AccountError as err:
        await console.blocking(store.audit, session.account.username, address_of(request),
                               f"account-{action}", username, f"refused: {err}")
        if wants_html(request):
            raise web.HTTPSeeOther(f"{ROOT}/accounts?error={quote(str(err))}") from None
        return web.json_response({"ok": False, "error": {"code": "account",
                                                          "message": str(err)}}, status=400)
    await console.blocking(store.audit, session.account.username, address_of(request),
                           f"account-{action}", username, "ok")
    return answer(request, f"{ROOT}/accounts", True, TEXTS(lang_of(request), "done"))


async def audit_page(request: web.Request, session: Session) -> web.Response:
    console = request.app[CONSOLE_KEY]
    entries = await console.blocking(console.accounts.audit_entries)
    return html(console.render("audit.html", **page_context(request, session, entries=entries)))


async def audit_csv(request: web.Request, session: Session) -> web.Response:
    console = request.app[CONSOLE_KEY]
    text = await console.blocking(console.accounts.audit_csv)
    day = dt.date.today().isoformat()
    return web.Response(
        body=("\ufeff" + text).encode("utf-8"),  # the BOM: Excel opens it as UTF-8
        content_type="text/csv", charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="qms-audit-{day}.csv"'})


# -- live updates -----------------------------------------------------------------------------


@dataclass(frozen=True)
class LiveKey:
    """What a live part depends on: the same key, the same HTML for every session (the CSRF
    token is not in it: the page's script fills it in from the page it swaps into)."""

    template: str
    n: int
    lang: str
    manager: bool
    seq: int
    minute: int


@dataclass(frozen=True)
class LivePart:
    """A rendered live part: its seq, its HTML, and the WebSocket message carrying them
    (encoded once, sent to every page that shows it)."""

    seq: int
    html: str
    message: str


class LiveRenders:
    """Live parts rendered once per change and shared by every open page that shows them,
    so 30 open consoles cost one render and one encoding per change, not 30."""

    SIZE = 64

    def __init__(self) -> None:
        self._done: dict[LiveKey, LivePart] = {}
        self._rendering: dict[LiveKey, asyncio.Task[LivePart]] = {}

    async def get(self, console: Console, template: str, n: int, lang: str,
                  manager: bool) -> LivePart:
        """The live part as of the last committed change."""
        now = console.service.clock()
        key = LiveKey(template, n, lang, manager, console.service.seq,
                      int(now.timestamp() // 60))
        done = self._done.get(key)
        if done is not None:
            return done
        task = self._rendering.get(key)
        if task is None:
            # Its own task: a page that goes away while waiting cancels only its wait,
            # never the render the other pages wait for.
            task = asyncio.ensure_future(self._render(console, key))
            self._rendering[key] = task
        return await asyncio.shield(task)

    async def _render(self, console: Console, key: LiveKey) -> LivePart:
        try:
            build = (counter_builder(console, key.n) if key.template == "counter_live.html"
                     else overview_builder(console))
            view = await read_view(console, build)
            context = live_context(key.lang, key.manager, view, key.n)
            text = console.render(key.template, **context)
            part = LivePart(int(view["seq"]), text, dumps({"seq": view["seq"], "html": text}))
        finally:
            del self._rendering[key]
        self._done[key] = part
        while len(self._done) > self.SIZE:
            del self._done[next(iter(self._done))]
        return part


@dataclass(frozen=True)
class Viewer:
    """Who a shared live part is for: only whether manager actions are shown."""

    is_manager: bool


def live_context(lang: str, manager: bool, view: dict[str, Any], n: int) -> dict[str, Any]:
    """The template context of a shared live part: no session in it."""

    def t(key: str, **values: object) -> str:
        return TEXTS(lang, key, **values)

    return {"t": t, "lang": lang, "account": Viewer(manager), "csrf": "",
            "request_id": lambda: "", "view": view, "n": n}


async def live(request: web.Request, session: Session) -> web.StreamResponse:
    """WebSocket: the page's live part, sent on connect and again after every change —
    at most one push per LIVE_GAP_S (a burst is coalesced into its last state), and at
    least every LIVE_REFRESH_S as waits grow. Closed when it stops, so the page reconnects."""
    console = request.app[CONSOLE_KEY]
    if not same_origin(request):
        raise Refused(403, "csrf")
    n = 0
    if request.query.get("view") == "counter":
        text = request.query.get("n", "")
        n = int(text) if text.isascii() and text.isdigit() and len(text) < 7 else 0
        if n not in console.service.core.state.windows:
            raise web.HTTPNotFound()
        check_window(console, session.account, n, signing_in=True)
        template = "counter_live.html"
    else:
        template = "overview_live.html"
    lang, manager = lang_of(request), session.account.is_manager
    ws = web.WebSocketResponse(heartbeat=20.0, max_msg_size=1024)
    service = console.service
    # The stream only wakes the pump: subscribe from now on (no snapshot to build).
    sub = await service.subscribe(service.seq, service.epoch)
    try:
        await ws.prepare(request)
    except BaseException:
        service.unsubscribe(sub)
        raise
    request.app[SOCKETS_KEY].add(ws)  # closed with the devices' streams when the server stops
    token = request.cookies.get(COOKIE, "")

    async def still_signed_in() -> bool:
        """Logged out (here or on another page), expired or disabled: the stream ends."""
        return await session_of(request) is not None if token else False

    async def pump() -> None:
        last_html = ""
        loop = asyncio.get_running_loop()
        try:
            while True:
                if not await still_signed_in():
                    await ws.close(code=SIGNED_OUT, message=b"signed out")
                    return
                part = await console.live.get(console, template, n, lang, manager)
                if part.html != last_html:
                    await ws.send_str(part.message)
                    last_html = part.html
                sent = loop.time()
                # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel that
                # meets a message arriving, and the pump would outlive its page.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(LIVE_REFRESH_S):
                        if await sub.queue.get() is None:
                            return
                await asyncio.sleep(max(0.0, sent + LIVE_GAP_S - loop.time()))
                while not sub.queue.empty():  # coalesce a burst into one update
                    if sub.queue.get_nowait() is None:
                        return
        finally:
            if not ws.closed:
                await ws.close(code=1001, message=b"resync")

    try:
        await run_socket(ws, pump())
    finally:
        service.unsubscribe(sub)
    return ws


async def root_redirect(request: web.Request) -> web.Response:
    raise web.HTTPSeeOther(f"{ROOT}/")


def add_console(app: web.Application, console: Console) -> None:
    """Mount the console's routes on the dispatcher's application."""
    app[CONSOLE_KEY] = console
    r = app.router
    r.add_get(ROOT, root_redirect)
    r.add_get(f"{ROOT}/login", login_page)
    r.add_post(f"{ROOT}/login", login)
    r.add_post(f"{ROOT}/logout", signed_in(logout))
    r.add_get(f"{ROOT}/lang", switch_lang)
    r.add_get(f"{ROOT}/", signed_in(overview_page))
    r.add_get(f"{ROOT}/live", signed_in(live))
    r.add_get(f"{ROOT}/counter/{{n}}", signed_in(counter_page))
    r.add_post(f"{ROOT}/counter/{{n}}/{{verb}}", signed_in(counter_action))
    r.add_post(f"{ROOT}/actions/{{action}}", signed_in(manager_action, manager=True))
    r.add_get(f"{ROOT}/accounts", signed_in(accounts_page, manager=True))
    r.add_post(f"{ROOT}/accounts/{{action}}", signed_in(accounts_action, manager=True))
    r.add_get(f"{ROOT}/audit", signed_in(audit_page, manager=True))
    r.add_get(f"{ROOT}/audit.csv", signed_in(audit_csv, manager=True))
    r.add_static(f"{ROOT}/static", HERE / "static", append_version=True)

    async def stop_executor(app: web.Application) -> None:
        console.hasher.shutdown(wait=True)
        console.executor.shutdown(wait=True)

    app.on_cleanup.append(stop_executor)
