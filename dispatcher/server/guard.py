"""Keeps idle or half-open connections from taking the dispatcher off the air.

- A connection must complete a request within `header_timeout_s` of opening (or of its last
  answer), else it is closed: aiohttp's keep-alive timer, which also runs before the first
  request, does exactly this.
- At most `max_connections` are open; a new one beyond that first closes the oldest idle one
  (no request in progress — an event stream is never idle), and is refused only when every
  connection is busy. The guard counts connections itself from the moment they are accepted
  (aiohttp learns of them a loop iteration later, so a burst would all pass its count) until
  they are lost; one already closing does not count, and one accepted in the same burst is
  idle (closed as soon as it is made).
- The process's file-descriptor limit is raised to its hard limit at start, so the cap, not
  `accept()` failing, is what bounds connections.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConnectionLimits:
    max_connections: int = 512
    header_timeout_s: float = 15.0  # open → a complete request, and idle between requests
    body_timeout_s: float = 10.0  # a request's body must arrive within this


class _Refuse(asyncio.Protocol):
    """Closes the connection at once (every connection is busy)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.close()


class _Counted(asyncio.Protocol):
    """aiohttp's handler of one connection, counted by the guard until the connection is lost."""

    def __init__(self, guard: ConnectionGuard, handler: asyncio.Protocol) -> None:
        self.guard = guard
        self.handler = handler
        self.transport: asyncio.BaseTransport | None = None  # None until connection_made
        self.dropped = False

    @property
    def closing(self) -> bool:
        return self.dropped or (self.transport is not None and self.transport.is_closing())

    def close(self) -> None:
        """Close the connection; one accepted but not yet made is closed once it is."""
        self.dropped = True
        if self.transport is not None:
            self.transport.close()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.handler.connection_made(transport)
        if self.dropped:
            transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.guard.open.pop(self, None)
        self.handler.connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self.handler.data_received(data)

    def eof_received(self) -> bool | None:
        return self.handler.eof_received()

    def pause_writing(self) -> None:
        self.handler.pause_writing()

    def resume_writing(self) -> None:
        self.handler.resume_writing()


class ConnectionGuard:
    """A protocol factory around aiohttp's server that enforces the connection cap."""

    def __init__(self, limits: ConnectionLimits) -> None:
        self.server: web.Server | None = None  # set once the runner is set up
        self.limits = limits
        self.open: dict[_Counted, None] = {}  # accepted and not yet lost, oldest first
        self.busy: set[Any] = set()  # handlers inside a request (removed when it ends)
        self.dropped = 0
        self.refused = 0

    def __call__(self) -> asyncio.Protocol:
        assert self.server is not None, "set the server first"
        open_now = [c for c in self.open if not c.closing]  # oldest first
        if len(open_now) >= self.limits.max_connections:
            idle = next((c for c in open_now if c.handler not in self.busy), None)
            if idle is None:
                self.refused += 1
                log.warning("%d connections, all busy: refusing a new one", len(open_now))
                return _Refuse()
            self.dropped += 1
            log.warning("%d connections: closing the oldest idle one", len(open_now))
            idle.close()
        counted = _Counted(self, self.server())
        self.open[counted] = None
        return counted

    @web.middleware
    async def middleware(self, request: web.Request,
                         handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                         ) -> web.StreamResponse:
        """Marks the connection busy while a request (or an event stream) runs."""
        protocol = request.protocol
        self.busy.add(protocol)
        try:
            return await handler(request)
        finally:
            self.busy.discard(protocol)


def raise_fd_limit() -> int:
    """Raise the soft limit on open files to the hard limit; the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft
