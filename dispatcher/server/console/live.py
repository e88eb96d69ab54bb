"""Live parts: rendered once per change and shared by every open page, pushed over a
WebSocket that ends with its session."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import random
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from dispatcher.server.console.accounts import Session
from dispatcher.server.console.site import (
    CONSOLE_KEY,
    COOKIE,
    Console,
    Refused,
    check_window,
    counter_builder,
    dumps,
    lang_of,
    overview_builder,
    read_view,
    same_origin,
    session_of,
)
from dispatcher.server.console.texts import TEXTS
from dispatcher.server.http import SOCKETS_KEY, run_socket

LIVE_REFRESH_S = 20.0  # a live page is re-sent at least this often (waits grow by the minute)


SIGNED_OUT = 4401  # the live socket's close code when its session ended: the page logs in again


# At most one push a page per gap (the first change after a quiet spell at once), each page at
# its own random phase within the spread: 30 open overviews never send in one burst that a
# caller's press would wait behind. A counter page answers its own presses directly, so its
# pushes only carry what others did (the hall buttons, the kiosk).
LIVE_GAP_S = {"overview_live.html": 1.0, "counter_live.html": 0.25}
LIVE_SPREAD_S = {"overview_live.html": 0.3, "counter_live.html": 0.05}


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
    devices: int  # the device presence's version (the overview's alarms)


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
        devices = console.presence.version if template == "overview_live.html" else 0
        key = LiveKey(template, n, lang, manager, console.service.seq,
                      int(now.timestamp() // 60), devices)
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
    return {"t": functools.partial(TEXTS, lang), "lang": lang, "account": Viewer(manager),
            "csrf": "", "request_id": lambda: "", "view": view, "n": n}


async def live(request: web.Request, session: Session) -> web.StreamResponse:
    """WebSocket: the page's live part, sent on connect and again after every change —
    at most one push per LIVE_GAP_S (a burst is coalesced into its last state), spread over
    LIVE_SPREAD_S, and at least every LIVE_REFRESH_S as waits grow. Closed when it stops, so
    the page reconnects."""
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
    # No per-message deflate: 30 pages × 14 KB compressed per push costs the loop more than
    # the LAN is spared.
    ws = web.WebSocketResponse(heartbeat=20.0, max_msg_size=1024, compress=False)
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

    gap = LIVE_GAP_S[template]
    phase = random.uniform(0.0, LIVE_SPREAD_S[template])  # a spread, not a secret

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
                await asyncio.sleep(max(phase, sent + gap - loop.time()))
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
