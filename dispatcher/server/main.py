"""`qms dispatcher`: the composition root of the LAN service.

Start order: config → database → queue service → HTTP site; stop in reverse on SIGTERM or
SIGINT: stop listening, answer what was already queued, close WebSockets, close the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from aiohttp import web

from base import sdnotify
from base.logs import setup_logging
from base.paths import state_dir
from dispatcher.domain.config import Config
from dispatcher.server.appointments_api import add_appointments
from dispatcher.server.bookings import BookingStore
from dispatcher.server.console.accounts import AccountStore
from dispatcher.server.console.web import add_console, build_console
from dispatcher.server.guard import ConnectionGuard, ConnectionLimits, raise_fd_limit
from dispatcher.server.history import HistoryStore
from dispatcher.server.http import build_app, demo_tokens_in_use, is_loopback, parse_listen
from dispatcher.server.presence import Presence
from dispatcher.server.service import Clock, DispatcherService, system_clock
from dispatcher.server.store import Store, StoreError

log = logging.getLogger("qms.dispatcher")
DEFAULT_LISTEN = "127.0.0.1:8470"
EXIT_CONFIG = 2


def default_db_path(config_path: Path) -> Path:
    """qms.db in the state folder ($STATE_DIRECTORY under systemd, else state/ beside the
    config)."""
    return state_dir(config_path) / "qms.db"


def refuse_reason(config: Config, host: str, shipped_tokens: frozenset[str] = frozenset()
                  ) -> str | None:
    """Why the dispatcher must not start on this address, if it must not (a demo token: the
    shipped example's, or any `demo-*`)."""
    if is_loopback(host):
        return None
    demo = demo_tokens_in_use(config, shipped_tokens)
    if demo:
        return (f"refusing to listen on {host}: device(s) {', '.join(demo)} still use a demo "
                "token from the example config; give every device a secret token "
                "(e.g. `python3 -c 'import secrets; print(secrets.token_urlsafe(24))'`) "
                "or listen on 127.0.0.1")
    return None


async def serve(config: Config, db_path: Path, host: str, port: int,
                clock: Clock = system_clock, ready: Callable[[str], None] | None = None,
                stop: asyncio.Event | None = None,
                limits: ConnectionLimits | None = None, demo_accounts: bool = False) -> None:
    """Run until `stop` is set (or SIGTERM/SIGINT); `ready` gets the base URL once serving.
    `demo_accounts`: the console's demo logins work (the caller allows them on loopback only).
    """
    stop = stop or asyncio.Event()
    limits = limits or ConnectionLimits()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):  # only possible in the main thread
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
    store = Store(db_path)
    accounts = AccountStore(db_path, frozenset(st.id for st in config.staff),
                            demo=demo_accounts)
    try:
        service = DispatcherService(config, store, clock)
        await service.start()
        try:
            presence = Presence(clock)
            app = build_app(config, service, presence)
            bookings = BookingStore(db_path)
            add_console(app, build_console(config, service, accounts, presence, bookings,
                                           HistoryStore(db_path)))
            add_appointments(app, bookings)
            guard = ConnectionGuard(limits)
            app.middlewares.insert(0, guard.middleware)
            runner = web.AppRunner(app, access_log=None, handle_signals=False,
                                   keepalive_timeout=limits.header_timeout_s)
            await runner.setup()
            guard.server = runner.server
            listener: asyncio.Server | None = None
            try:
                listener = await loop.create_server(guard, host, port, reuse_address=True,
                                                    backlog=128)
                bound = listener.sockets[0].getsockname()[:2]
                shown = f"[{bound[0]}]" if ":" in str(bound[0]) else bound[0]
                url = f"http://{shown}:{bound[1]}"
                print(f"qms dispatcher serving {url}/api/v1 "
                      f"(database {db_path}, seq {service.seq})", flush=True)
                print(f"console: {url}/console/"
                      + (" (demo logins: admin / demo-admin; staff s01… / demo)"
                         if demo_accounts else
                         "" if accounts.count() else
                         " (no accounts yet: qms account add NAME --role manager)"),
                      flush=True)
                sdnotify.ready(f"serving {url}/api/v1")
                heartbeat = asyncio.create_task(_heartbeat(service))
                if ready is not None:
                    ready(url)
                await _first(stop.wait(), service.failed.wait())
                log.info("stopping")
                sdnotify.stopping()
                heartbeat.cancel()
            finally:
                if listener is not None:
                    listener.close()
                await runner.cleanup()
        finally:
            await service.stop()
        if service.failure is not None:
            raise StoreError(service.failure)
    finally:
        accounts.close()
        store.close()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(sig)


async def _first(*waits: Coroutine[Any, Any, Any]) -> None:
    """Wait until the first of these finishes; cancel the rest."""
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()


async def _heartbeat(service: DispatcherService) -> None:
    """WATCHDOG=1 only while the writer answers: a hung loop or writer gets restarted."""
    watchdog = sdnotify.Watchdog()
    if not watchdog.enabled:
        return
    while True:
        try:
            await asyncio.wait_for(service.read(lambda: None), timeout=watchdog.interval)
        except TimeoutError:
            log.error("the queue writer did not answer within %.1f s", watchdog.interval)
            return
        sdnotify.notify("WATCHDOG=1")
        await asyncio.sleep(watchdog.interval)


def run_dispatcher(config: Config, db_path: Path, listen: str | None,
                   shipped_tokens: frozenset[str] = frozenset()) -> int:
    """Composition root: config → database → queue service → HTTP site; reverse on stop."""
    setup_logging()
    try:
        host, port = parse_listen(listen or DEFAULT_LISTEN)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONFIG
    reason = refuse_reason(config, host, shipped_tokens)
    if reason:
        print(reason, file=sys.stderr)
        return EXIT_CONFIG
    files = raise_fd_limit()
    limits = ConnectionLimits(max_connections=max(64, min(512, files // 2)))
    # The demo's console logins, like its device tokens: only for the demo setup on loopback
    # (off loopback, refuse_reason has stopped a config with demo tokens already).
    demo = is_loopback(host) and bool(demo_tokens_in_use(config, shipped_tokens))
    try:
        asyncio.run(serve(config, db_path, host, port, limits=limits, demo_accounts=demo))
    except StoreError as exc:
        print(f"database: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"cannot listen on {host}:{port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0
