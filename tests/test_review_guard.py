"""The connection cap after review: connections accepted together, in one turn of the loop,
are counted as they are accepted, so a burst cannot pass the cap (the oldest idle ones go,
even those not yet made); one already being closed is not counted (so each newcomer closes
another idle one)."""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dispatcher.server.guard import ConnectionLimits

from .conftest import wait_until
from .helpers import small_config
from .live import LiveDispatcher

CAP = 20


@pytest.fixture
def capped(tmp_path: Path) -> Iterator[LiveDispatcher]:
    live = LiveDispatcher(small_config(), tmp_path / "q.db",
                          limits=ConnectionLimits(max_connections=CAP,
                                                  header_timeout_s=60)).start()
    yield live
    live.stop()


def connect(live: LiveDispatcher, count: int) -> list[socket.socket]:
    return [socket.create_connection(("127.0.0.1", live.port), timeout=5) for _ in range(count)]


def in_one_turn(live: LiveDispatcher, count: int) -> list[socket.socket]:
    """`count` connections the dispatcher accepts together: its loop is busy meanwhile, so
    they wait in the listen backlog."""
    assert live._loop is not None
    live._loop.call_soon_threadsafe(time.sleep, 1.0)
    time.sleep(0.2)
    socks = connect(live, count)
    time.sleep(1.0)
    return socks


def closed(socks: list[socket.socket]) -> list[int]:
    """The indexes of the connections the server has closed."""
    readable, _, _ = select.select(socks, [], [], 0.05)
    out = []
    for i, s in enumerate(socks):
        if s in readable:
            try:
                if s.recv(1, socket.MSG_PEEK) == b"":
                    out.append(i)
            except OSError:
                out.append(i)
    return out


def test_a_burst_of_connections_cannot_pass_the_cap(capped: LiveDispatcher) -> None:
    socks = in_one_turn(capped, CAP + 10)
    try:
        wait_until(lambda: len(closed(socks)) >= 10, what="ten closed")
        time.sleep(0.3)
        assert closed(socks) == list(range(10))  # the oldest idle ones, as one by one
    finally:
        for s in socks:
            s.close()


def test_a_burst_over_the_cap_closes_as_many_idle_connections(capped: LiveDispatcher) -> None:
    idle = connect(capped, CAP)
    time.sleep(0.5)
    socks: list[socket.socket] = []
    try:
        socks = idle + in_one_turn(capped, 5)
        wait_until(lambda: len(closed(socks)) >= 5, what="five idle ones closed")
        time.sleep(0.3)
        assert closed(socks) == [0, 1, 2, 3, 4]  # the oldest five; the newcomers stay
    finally:
        for s in socks or idle:
            s.close()
