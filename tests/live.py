"""A real dispatcher on a loopback port, in a thread, for API tests; and a tiny HTTP helper."""

from __future__ import annotations

import asyncio
import datetime as dt
import http.client
import json
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dispatcher.domain.config import Config
from dispatcher.server.guard import ConnectionLimits
from dispatcher.server.main import serve

from .helpers import MONDAY_9


class FakeClock:
    """A clock the tests move by hand (the dispatcher's injected clock)."""

    def __init__(self, now: dt.datetime = MONDAY_9) -> None:
        self.now = now
        self._lock = threading.Lock()

    def __call__(self) -> dt.datetime:
        with self._lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += dt.timedelta(seconds=seconds)


class LiveDispatcher:
    """`serve()` on 127.0.0.1 with an ephemeral port, run on a background thread."""

    def __init__(self, config: Config, db: Path, clock: Any = None,
                 limits: ConnectionLimits | None = None, demo_accounts: bool = False) -> None:
        self.config = config
        self.demo_accounts = demo_accounts  # the console's demo logins (admin, s01…)
        self.limits = limits
        self.db = db
        self.clock = clock or FakeClock()
        self.url = ""
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            await serve(self.config, self.db, "127.0.0.1", 0, self.clock,
                        ready=self._on_ready, stop=self._stop, limits=self.limits,
                        demo_accounts=self.demo_accounts)

        try:
            asyncio.run(main())
        except BaseException as exc:  # surfaced by start()
            self._error = exc
            self._ready.set()

    def _on_ready(self, url: str) -> None:
        self.url = url
        self._ready.set()

    def start(self) -> LiveDispatcher:
        self._thread.start()
        if not self._ready.wait(10) or self._error is not None:
            raise RuntimeError(f"dispatcher did not start: {self._error!r}")
        return self

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)
        assert not self._thread.is_alive(), "dispatcher thread did not stop"

    @property
    def port(self) -> int:
        return int(urlsplit(self.url).port or 0)

    def call(self, method: str, path: str, body: Any = None, token: str | None = None,
             raw: bytes | None = None, headers: dict[str, str] | None = None
             ) -> tuple[int, Any]:
        return http_call(self.port, method, path, body, token, raw, headers)


def http_call(port: int, method: str, path: str, body: Any = None, token: str | None = None,
              raw: bytes | None = None, headers: dict[str, str] | None = None,
              timeout: float = 10.0) -> tuple[int, Any]:
    """One HTTP request to /api/v1 + path; (status, parsed JSON or text)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        all_headers = dict(headers or {})
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        payload = raw if raw is not None else (
            None if body is None else json.dumps(body).encode()
        )
        if payload is not None:
            all_headers.setdefault("Content-Type", "application/json")
        conn.request(method, "/api/v1" + path, body=payload, headers=all_headers)
        resp = conn.getresponse()
        text = resp.read().decode("utf-8", "replace")
        try:
            return resp.status, json.loads(text)
        except ValueError:
            return resp.status, text
    finally:
        conn.close()
