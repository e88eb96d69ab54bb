"""Keeps idle or half-open connections from taking the dispatcher off the air.

- A connection must complete a request within `header_timeout_s` of opening (or of its last
  answer), else it is closed: aiohttp's keep-alive timer, which also runs before the first
  request, does exactly this.
- At most `max_connections` are open; a new one beyond that first closes the oldest idle one
  (no request in progress — an event stream is never idle), and is refused only when every
  connection is busy.
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


class ConnectionGuard:
    """A protocol factory around aiohttp's server that enforces the connection cap."""

    def __init__(self, limits: ConnectionLimits) -> None:
        self.server: web.Server | None = None  # set once the runner is set up
        self.limits = limits
        self.busy: set[Any] = set()  # handlers inside a request (removed when it ends)
        self.dropped = 0
        self.refused = 0

    def __call__(self) -> asyncio.Protocol:
        assert self.server is not None, "set the server first"
        open_now = self.server.connections  # oldest first
        if len(open_now) >= self.limits.max_connections:
            idle = next((h for h in open_now if h not in self.busy and h.transport), None)
            if idle is None:
                self.refused += 1
                log.warning("%d connections, all busy: refusing a new one",
                            len(open_now))
                return _Refuse()
            self.dropped += 1
            log.warning("%d connections: closing the oldest idle one", len(open_now))
            assert idle.transport is not None
            idle.transport.close()
        return self.server()

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
