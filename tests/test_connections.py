"""Idle and half-open connections cannot take the dispatcher off the air."""

from __future__ import annotations

import os
import resource
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from dispatcher.server.guard import ConnectionLimits

from .conftest import wait_until
from .helpers import KIOSK, SCREEN, small_config
from .live import LiveDispatcher, http_call

ROOT = Path(__file__).resolve().parent.parent


def half_requests(port: int, count: int) -> list[socket.socket]:
    """Connections that each sent half a request line, then nothing."""
    socks = []
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(b"POST /api/v1/tick")
        socks.append(s)
    return socks


def closed_by_server(s: socket.socket, wait: float) -> bool:
    s.settimeout(wait)
    try:
        return s.recv(1) == b""
    except (TimeoutError, BlockingIOError):
        return False
    except OSError:
        return True


def issue(port: int, rid: str) -> tuple[int, float]:
    started = time.monotonic()
    status = http_call(port, "POST", "/tickets", {"request_id": rid, "service_id": "sb-card"},
                       KIOSK, timeout=5)[0]
    return status, time.monotonic() - started


def default_file_limit() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))


@pytest.fixture
def many_files() -> Iterator[None]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_half_open_connections_are_closed_after_the_header_timeout(tmp_path: Path) -> None:
    live = LiveDispatcher(small_config(), tmp_path / "q.db",
                          limits=ConnectionLimits(max_connections=100,
                                                  header_timeout_s=1.0)).start()
    try:
        socks = half_requests(live.port, 20)
        assert issue(live.port, "k1")[0] == 201  # served meanwhile
        time.sleep(1.5)
        assert all(closed_by_server(s, 1.0) for s in socks)
    finally:
        for s in locals().get("socks", []):
            s.close()
        live.stop()


def test_over_the_cap_the_oldest_idle_connection_is_dropped_first(tmp_path: Path) -> None:
    live = LiveDispatcher(small_config(), tmp_path / "q.db",
                          limits=ConnectionLimits(max_connections=30,
                                                  header_timeout_s=60)).start()
    socks: list[socket.socket] = []
    try:
        socks = half_requests(live.port, 30)
        time.sleep(0.2)
        status, took = issue(live.port, "k1")  # the 31st connection
        assert status == 201 and took < 2
        assert closed_by_server(socks[0], 2.0)  # the oldest went first
        assert not closed_by_server(socks[-1], 0.2)  # the newest stays
    finally:
        for s in socks:
            s.close()
        live.stop()


def test_an_event_stream_is_never_dropped_as_idle(tmp_path: Path) -> None:
    live = LiveDispatcher(small_config(), tmp_path / "q.db",
                          limits=ConnectionLimits(max_connections=10,
                                                  header_timeout_s=60)).start()
    got: list[str] = []
    closed = threading.Event()

    def listen() -> None:
        async def run() -> None:
            async with aiohttp.ClientSession() as session, session.ws_connect(
                    f"{live.url}/api/v1/events",
                    headers={"Authorization": f"Bearer {SCREEN}"}) as ws:
                async for msg in ws:
                    got.append(msg.data)
            closed.set()

        import asyncio
        asyncio.run(run())

    threading.Thread(target=listen, daemon=True).start()
    socks: list[socket.socket] = []
    try:
        wait_until(lambda: got, what="a snapshot")
        socks = half_requests(live.port, 15)  # over the cap: idle ones go, the stream stays
        assert issue(live.port, "k1")[0] == 201
        time.sleep(0.5)
        assert not closed.is_set()
        wait_until(lambda: any('"ticket_issued"' in m for m in got), what="the event")
    finally:
        for s in socks:
            s.close()
        live.stop()


def test_1030_half_open_connections_leave_the_kiosks_served(tmp_path: Path,
                                                            many_files: None) -> None:
    """The probe's attack on a real `qms dispatcher` process with its default limits."""
    from .helpers import SMALL_TOML

    config = tmp_path / "center.toml"
    config.write_text(SMALL_TOML.replace("POLICY", ""), encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-m", "qms", "dispatcher", "--config", str(config), "--db",
         str(tmp_path / "q.db"), "--listen", "127.0.0.1:0"], cwd=ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
        preexec_fn=default_file_limit)  # started as systemd or a shell would: 1,024 files
    socks: list[socket.socket] = []
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        port = int(line.split("127.0.0.1:")[1].split("/")[0])
        socks = half_requests(port, 1030)
        results = [issue(port, f"k{i}") for i in range(5)]
        assert [s for s, _ in results] == [201] * 5
        assert max(t for _, t in results) < 2.0, results
    finally:
        for s in socks:
            s.close()
        proc.terminate()
        out = proc.communicate(timeout=15)[0]
    assert out.count("Traceback") == 0
    assert len(out) < 20_000  # warnings are few and short, never a flood


def test_a_body_that_does_not_arrive_is_answered_408_and_a_deep_one_400(
        live: LiveDispatcher, monkeypatch: pytest.MonkeyPatch) -> None:
    import dispatcher.server.http as http

    monkeypatch.setattr(http, "BODY_TIMEOUT_S", 1.0)  # the server runs in this process

    s = socket.create_connection(("127.0.0.1", live.port), timeout=30)
    try:
        s.sendall(b"POST /api/v1/tickets HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                  + KIOSK.encode() + b"\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 100\r\n\r\n{\"request_id\"")  # and then nothing
        started = time.monotonic()
        answer = s.recv(4096)
        assert answer.startswith(b"HTTP/1.1 408"), answer[:80]
        assert b"request_timeout" in answer
        assert http.BODY_TIMEOUT_S - 0.5 < time.monotonic() - started < http.BODY_TIMEOUT_S + 5
    finally:
        s.close()
    for depth in (33, 990, 30_000):
        raw = b'{"request_id": "d", "service_id": "sb-card", "x": ' + b"[" * depth + \
            b"]" * depth + b"}"
        status, body = live.call("POST", "/tickets", raw=raw, token=KIOSK)
        assert (status, body["error"]["code"]) == (400, "bad_json"), depth
    ok = b'{"request_id": "d2", "service_id": "sb-card", "x": "[[[[" , "y": [[1]]}'
    assert live.call("POST", "/tickets", raw=ok, token=KIOSK)[0] == 201
