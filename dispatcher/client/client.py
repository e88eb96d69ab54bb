"""The client devices use to talk to the dispatcher (kiosk, hall display, scripts).

`DispatcherClient` is asyncio: commands are retried under the same `request_id` until the
dispatcher answers (so a retry never issues a second ticket), and `events()` yields a
gap-free, duplicate-free event stream across reconnects. `DispatcherLink` runs it on a
background thread for a pygame loop: commands return `concurrent.futures.Future`s and events
arrive on a `queue.Queue` that the loop drains once per frame.

Event stream items: `{"type": "link", "up": bool}` when the link changes, the dispatcher's
`snapshot` (a full state; after a restart of the dispatcher or a long outage) and its events
(`seq` rising by exactly 1). Heartbeats are consumed here: silence for `dead_after` seconds
counts as a dead link, and reconnection backs off exponentially with jitter, capped.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from base.backoff import backoff_delays

log = logging.getLogger(__name__)

RETRY_STATUSES = {500, 502, 503, 504}
# A snapshot holds every waiting ticket (≈ 450 bytes each): 20,000 waiting ≈ 9 MB of JSON.
MAX_MESSAGE = 64 * 1024 * 1024


class ApiError(Exception):
    """The dispatcher answered with an error: a definite answer, not retried."""

    def __init__(self, status: int, code: str, message: str,
                 detail: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.detail = detail or {}  # the error's other fields (a late check-in's service_id)


class LinkDown(Exception):
    """The dispatcher could not be reached within the retry time."""


class DispatcherClient:
    """asyncio client of the LAN API v1."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        device: str = "qms",
        timeout: float = 3.0,
        retry_for: float = 30.0,
        backoff_cap: float = 10.0,
        dead_after: float = 4.5,  # silence this long (heartbeats come every 2 s): dead link
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.device = device
        self.timeout = timeout
        self.retry_for = retry_for
        self.backoff_cap = backoff_cap
        self.dead_after = dead_after
        self._session: aiohttp.ClientSession | None = None
        self._counter = itertools.count(1)
        self._prefix = f"{device}-{uuid.uuid4().hex[:12]}"
        self.epoch: str | None = None
        self.last_seq: int | None = None

    async def __aenter__(self) -> DispatcherClient:
        return self

    async def __aexit__(self, *_: Any) -> None:
        await self.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                headers={"Authorization": f"Bearer {self.token}"},
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    def new_request_id(self) -> str:
        return f"{self._prefix}-{next(self._counter)}"

    # -- requests -----------------------------------------------------------------------------

    async def request(self, method: str, path: str, body: dict[str, Any] | None = None,
                      *, params: dict[str, str] | None = None) -> Any:
        """One API call. A POST gets a request_id (kept for every retry) if it has none.

        Retries connection failures, time-outs, 5xx and a success whose body is not JSON until
        `retry_for` seconds have passed (then LinkDown); raises ApiError for the dispatcher's
        4xx answers, and for a 4xx whose body is not JSON (a proxy's error page).
        """
        if method == "POST":
            body = dict(body or {})
            body.setdefault("request_id", self.new_request_id())
        url = f"{self.base_url}/api/v1{path}"
        deadline = time.monotonic() + self.retry_for
        delay = backoff_delays(cap=min(self.backoff_cap, 2.0))
        while True:
            try:
                async with self.session.request(method, url, json=body, params=params) as resp:
                    if resp.status in RETRY_STATUSES:
                        raise aiohttp.ServerConnectionError(f"status {resp.status}")
                    try:
                        data = await resp.json(content_type=None)
                    except ValueError:  # not JSON, or not UTF-8: a proxy's page, or garbage
                        if resp.status >= 400:
                            raise ApiError(resp.status, "bad_response",
                                           f"HTTP {resp.status}, not a JSON answer") from None
                        # The request may have been done: ask again under the same request_id.
                        raise aiohttp.ServerConnectionError(
                            f"status {resp.status}: the answer is not JSON") from None
                    if resp.status >= 400:
                        err = (data or {}).get("error", {}) if isinstance(data, dict) else {}
                        err = err if isinstance(err, dict) else {}
                        raise ApiError(resp.status, str(err.get("code", "error")),
                                       str(err.get("message", "")),
                                       {str(k): str(v) for k, v in err.items()
                                        if k not in ("code", "message")
                                        and isinstance(v, str)})
                    return data
            except (aiohttp.ClientError, TimeoutError) as exc:
                wait = delay()
                if time.monotonic() + wait > deadline:
                    raise LinkDown(f"{method} {path}: {exc or type(exc).__name__}") from None
                log.debug("retrying %s %s in %.2fs: %s", method, path, wait, exc)
                await asyncio.sleep(wait)

    async def post(self, path: str, **fields: Any) -> Any:
        return await self.request("POST", path, fields)

    async def get(self, path: str, **params: str) -> Any:
        return await self.request("GET", path, params=params or None)

    # Shorthands for the documented endpoints.
    async def health(self) -> Any:
        return await self.get("/health")

    async def catalog(self) -> Any:
        return await self.get("/catalog")

    async def state(self) -> Any:
        return await self.get("/state")

    async def issue_ticket(self, service_id: str, sign_language: bool = False,
                           appointment_code: str | None = None, **extra: Any) -> Any:
        return await self.post("/tickets", service_id=service_id, sign_language=sign_language,
                               appointment_code=appointment_code, **extra)

    async def report_print(self, ticket_id: str, printed: bool, error: str | None = None) -> Any:
        return await self.post(f"/tickets/{ticket_id}/print-report", printed=printed,
                               error=error)

    async def window(self, n: int, verb: str, **fields: Any) -> Any:
        """A caller verb: call-next, recall, no-show, pause, resume, transfer, sign-in."""
        return await self.post(f"/windows/{n}/{verb}", **fields)

    # -- events -------------------------------------------------------------------------------

    async def events(self) -> AsyncIterator[dict[str, Any]]:
        """Endless stream of link changes, snapshots and events, without gaps or repeats."""
        delay = backoff_delays(cap=self.backoff_cap)
        up = False
        while True:
            params = {}
            if self.last_seq is not None and self.epoch is not None:
                params = {"since": str(self.last_seq), "epoch": self.epoch}
            try:
                async with self.session.ws_connect(
                    f"{self.base_url}/api/v1/events", params=params, heartbeat=None,
                    timeout=aiohttp.ClientWSTimeout(ws_close=2.0), max_msg_size=MAX_MESSAGE,
                ) as ws:
                    delay = backoff_delays(cap=self.backoff_cap)
                    while True:
                        msg = await ws.receive(timeout=self.dead_after)
                        if msg.type != aiohttp.WSMsgType.TEXT:
                            break  # closed by the server (shutdown, or "resync")
                        data = msg.json()
                        kind = data.get("type")
                        if kind == "heartbeat":
                            if not up:
                                up = True
                                yield {"type": "link", "up": True}
                            continue
                        if kind in ("snapshot", "resume"):
                            self.epoch = data["epoch"]
                            self.last_seq = data["seq"]
                            if not up:
                                up = True
                                yield {"type": "link", "up": True}
                            if kind == "snapshot":
                                yield data
                            continue
                        seq = data.get("seq")
                        if not isinstance(seq, int) or self.last_seq is None:
                            continue
                        if seq <= self.last_seq:
                            continue  # already seen
                        if seq != self.last_seq + 1:
                            log.warning("event gap %s → %s: resnapshot", self.last_seq, seq)
                            self.last_seq = None
                            break
                        self.last_seq = seq
                        yield data
            except (aiohttp.ClientError, TimeoutError, ConnectionError) as exc:
                log.debug("event link: %s", exc or type(exc).__name__)
            if up:
                up = False
                yield {"type": "link", "up": False}
            await asyncio.sleep(delay())
