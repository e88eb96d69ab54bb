"""What every console page and action shares: the Console (its parts), sessions and CSRF,
answers and refusals, reading views of committed state, who may operate which window."""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import hmac
import json
import logging
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar
from urllib.parse import quote, urlsplit

import jinja2
from aiohttp import web

from base.texts import DEFAULT_LANG
from dispatcher import __version__
from dispatcher.domain.config import Config
from dispatcher.server.bookings import BookingStore
from dispatcher.server.console import views
from dispatcher.server.console.accounts import Account, AccountStore, Session
from dispatcher.server.console.texts import TEXTS
from dispatcher.server.console.throttle import LoginThrottle
from dispatcher.server.history import HistoryStore
from dispatcher.server.presence import Presence
from dispatcher.server.report_files import Charts
from dispatcher.server.service import DispatcherService

log = logging.getLogger(__name__)


ROOT = "/console"


COOKIE = "qms_console"


LANG_COOKIE = "qms_lang"


HERE = Path(__file__).parent


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


class LiveParts(Protocol):
    """The shared live parts (live.LiveRenders), as the pages use them."""

    async def get(self, console: Console, template: str, n: int, lang: str,
                  manager: bool) -> Any: ...


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
    live: LiveParts  # live.LiveRenders
    bookings: BookingStore  # 预约: the 预约回访 page reads and writes them
    history: HistoryStore  # the reports' reads (their own connection)
    charts: Charts  # the reports' charts and PDF (matplotlib)
    reports: concurrent.futures.ThreadPoolExecutor  # report building, off the event loop
    # Finished months' report views by month: (the data's fingerprint, the view).
    report_cache: dict[str, tuple[tuple[object, ...], dict[str, Any]]] = field(
        default_factory=dict)
    # Seating suggestions (half a minute each) on a thread of their own, so report pages do
    # not wait behind one; the jobs by what they are computed from (planning.seating_page).
    seating: concurrent.futures.ThreadPoolExecutor = field(
        default_factory=lambda: concurrent.futures.ThreadPoolExecutor(
            1, thread_name_prefix="qms-seating"))
    seating_jobs: dict[tuple[object, ...], concurrent.futures.Future[dict[str, Any]]] = field(
        default_factory=dict)

    async def blocking(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a blocking account-store call (scrypt, SQLite) off the event loop."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    def render(self, name: str, **context: Any) -> str:
        return self.templates.get_template(name).render(**context)


CONSOLE_KEY = web.AppKey("console", Console)


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
    console = request.app[CONSOLE_KEY]
    return {
        "t": functools.partial(TEXTS, lang), "lang": lang, "session": session,
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
            if request.method == "POST":  # refused attempts are what the audit log is for
                console = request.app[CONSOLE_KEY]
                await console.blocking(console.accounts.audit, session.account.username,
                                       address_of(request), request.path, "",
                                       f"refused: {refused.key}")
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
        except (ValueError, RecursionError):
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


async def read_view(console: Console, build: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """A view of committed state (in order with the commands before it)."""
    result: dict[str, Any] = await console.service.read(build)
    return result


def overview_builder(console: Console) -> Callable[[], dict[str, Any]]:
    def build() -> dict[str, Any]:  # runs in the service's reader: the store may be read
        now = console.service.clock()
        return views.overview(console.config, console.service.core.state, now,
                              console.presence.devices(console.config),
                              console.presence.bus_devices(now),
                              console.service.store.rating_tasks(open_only=True))
    return build


def counter_builder(console: Console, n: int) -> Callable[[], dict[str, Any]]:
    def build() -> dict[str, Any]:
        return views.counter(console.config, console.service.core.state, n,
                             console.service.clock())
    return build


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
