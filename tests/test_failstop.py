"""Fail-stop: a dispatcher whose database fails or vanishes stops serving and says why; it
never hangs looking alive, and never acknowledges into a file nobody will read again."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dispatcher.server.store import Store

from .helpers import KIOSK, small_config
from .live import LiveDispatcher, http_call

ROOT = Path(__file__).resolve().parent.parent
SMALL = small_config()


class Dispatcher:
    """`qms dispatcher` as a process, with its output collected."""

    def __init__(self, tmp: Path, db: Path) -> None:
        config = tmp / "center.toml"
        from .helpers import SMALL_TOML

        config.write_text(SMALL_TOML.replace("POLICY", ""), encoding="utf-8")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "qms", "dispatcher", "--config", str(config), "--db", str(db),
             "--listen", "127.0.0.1:0"], cwd=ROOT, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
        self.lines: list[str] = []
        self._ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        assert self._ready.wait(20), "".join(self.lines)
        url = next(ln for ln in self.lines if "serving http://" in ln)
        self.port = int(url.split("127.0.0.1:")[1].split("/")[0])

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)
            if "serving http://" in line:
                self._ready.set()

    def issue(self, rid: str) -> int:
        """The answer's status; 0 when the dispatcher no longer takes connections."""
        try:
            return http_call(self.port, "POST", "/tickets",
                             {"request_id": rid, "service_id": "sb-card"}, KIOSK, timeout=5)[0]
        except ConnectionError:
            return 0


@pytest.fixture
def tmp_db(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "db" / "q.db"


@pytest.mark.parametrize("how", ["deleted", "replaced"])
def test_a_database_deleted_or_replaced_while_running_stops_the_dispatcher(
        tmp_path: Path, tmp_db: Path, how: str) -> None:
    d = Dispatcher(tmp_path, tmp_db)
    try:
        assert [d.issue(f"before-{i}") for i in range(3)] == [201, 201, 201]
        if how == "deleted":
            for f in tmp_db.parent.glob("q.db*"):
                f.unlink()
        else:  # an old copy put back over the live file
            copy = tmp_path / "copy.db"
            shutil.copy(tmp_db, copy)
            os.replace(copy, tmp_db)
        statuses = [d.issue(f"after-{i}") for i in range(5)]
        assert 201 not in statuses, statuses  # nothing acknowledged into the lost file
        assert d.proc.wait(15) != 0  # exits so that systemd restarts it on a sound file
        out = "".join(d.lines)
        assert "deleted or replaced" in out and "Traceback" not in out
    finally:
        if d.proc.poll() is None:
            d.proc.kill()


def test_a_database_that_cannot_be_read_back_fail_stops(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failed batch whose reload fails too: answers 503, /health says unavailable, and the
    server stops by itself instead of hanging with every request."""
    live = LiveDispatcher(SMALL, tmp_path / "q.db").start()
    assert live.call("POST", "/tickets", {"request_id": "ok", "service_id": "sb-card"},
                     token=KIOSK)[0] == 201

    def broken(*_: object, **__: object) -> None:
        raise sqlite3.DatabaseError("database disk image is malformed")

    monkeypatch.setattr(Store, "append", broken)
    monkeypatch.setattr(Store, "load_core", broken)
    status, body = live.call("POST", "/tickets", {"request_id": "bad", "service_id": "sb-card"},
                             token=KIOSK)
    assert status == 503 and body["error"]["code"] == "unavailable"
    started = time.monotonic()
    live._thread.join(10)  # serve() returns on its own: the process would exit non-zero
    assert not live._thread.is_alive() and time.monotonic() - started < 10
    assert "cannot be read back" in str(live._error)


def test_a_database_folder_that_cannot_be_created_is_named(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    config = ROOT / "examples" / "center.toml"
    result = subprocess.run(
        [sys.executable, "-m", "qms", "dispatcher", "--config", str(config), "--db",
         str(blocker / "state" / "q.db"), "--listen", "127.0.0.1:0"], cwd=ROOT,
        capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert f"cannot create the database folder {blocker / 'state'}" in result.stderr
    assert "listen" not in result.stderr


def test_health_says_unavailable_with_the_reason_once_serving_stopped(tmp_path: Path) -> None:
    import asyncio

    from aiohttp.test_utils import make_mocked_request

    from dispatcher.server.http import ApiError, build_app, health
    from dispatcher.server.service import DispatcherService

    store = Store(tmp_path / "q.db")
    service = DispatcherService(SMALL, store)
    app = build_app(SMALL, service)
    request = make_mocked_request("GET", "/api/v1/health", app=app)
    ok = asyncio.run(health(request))
    assert ok.status == 200
    service.failure = "the database file was deleted or replaced"
    with pytest.raises(ApiError) as err:
        asyncio.run(health(request))
    assert err.value.code == "unavailable" and "deleted" in err.value.message
    store.close()
