"""The store after review: a transaction whose identity check or COMMIT fails is rolled back,
so the next batch commits; one that cannot be rolled back stops the service (fail-stop)
instead of leaving it answering 503 for ever while /health says ok."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pytest

from dispatcher.domain import commands as c
from dispatcher.domain.core import QueueCore
from dispatcher.server.service import DispatcherService, Unavailable
from dispatcher.server.store import Cursor, Record, Store, set_pragmas

from .helpers import MONDAY_9, small_config
from .live import FakeClock

SMALL = small_config()


class Flaky:
    """A sqlite3 connection whose statements named in `fail` raise (once, unless `stuck`),
    as COMMIT does on a busy or failing disk."""

    def __init__(self, path: Path) -> None:
        self.conn = set_pragmas(sqlite3.connect(path, isolation_level=None,
                                                check_same_thread=False), path)
        self.fail: set[str] = set()
        self.stuck = False

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Cursor:
        if sql in self.fail:
            if not self.stuck:
                self.fail.discard(sql)
            raise sqlite3.OperationalError(f"{sql}: disk I/O error")
        return self.conn.execute(sql, parameters)

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Any:
        return self.conn.executemany(sql, parameters)

    def close(self) -> None:
        self.conn.close()

    @property
    def in_transaction(self) -> bool:
        return self.conn.in_transaction


def flaky_store(path: Path) -> tuple[Store, Flaky]:
    """A store whose writing connection (the first it opens) is a Flaky one."""
    opened: list[Flaky] = []

    def connect(p: Path) -> Flaky:
        opened.append(Flaky(p))
        return opened[-1]

    return Store(path, connect=connect), opened[0]


def records(core: QueueCore, *rids: str) -> list[Record]:
    out = []
    for rid in rids:
        command = c.IssueTicket(request_id=rid, service_id="sb-card")
        out.append(Record(command, core.handle(command, MONDAY_9), core.state.seq))
    return out


def test_a_failed_identity_check_rolls_back_and_the_next_commit_works(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store(tmp_path / "q.db")
    core = QueueCore(SMALL)
    real = store._file_identity
    calls = iter([PermissionError(13, "Permission denied")])

    def identity() -> tuple[int, int] | None:
        error = next(calls, None)
        if error is not None:
            raise error
        return real()

    monkeypatch.setattr(store, "_file_identity", identity)
    first = records(core, "a")
    with pytest.raises(PermissionError):
        store.append(first)
    assert store.last_seq() == 0  # nothing kept
    store.append(first)  # the same batch again: the connection is not stuck in a transaction
    store.append(records(core, "b"))
    assert [t["number"] for t in store.tickets()] == ["B001", "B002"]
    store.close()


def test_a_failed_commit_rolls_back_and_the_next_commit_works(tmp_path: Path) -> None:
    store, conn = flaky_store(tmp_path / "q.db")
    core = QueueCore(SMALL)
    first = records(core, "a")
    conn.fail = {"COMMIT"}
    with pytest.raises(sqlite3.OperationalError, match="COMMIT"):
        store.append(first)
    assert not conn.in_transaction and store.last_seq() == 0
    store.append(first)
    assert [t["number"] for t in store.tickets()] == ["B001"]
    store.close()


def test_a_transaction_that_cannot_be_ended_stops_the_service(tmp_path: Path) -> None:
    store, conn = flaky_store(tmp_path / "q.db")

    async def scenario() -> None:
        service = DispatcherService(SMALL, store, FakeClock())
        await service.start()
        try:
            await service.execute(c.IssueTicket(request_id="ok", service_id="sb-card"))
            conn.fail, conn.stuck = {"COMMIT", "ROLLBACK"}, True
            with pytest.raises(Unavailable):
                await service.execute(c.IssueTicket(request_id="bad", service_id="sb-card"))
            await asyncio.wait_for(service.failed.wait(), 5)
            assert service.failure is not None and "rolled back" in service.failure
            with pytest.raises(Unavailable):  # fail-stop: /health says so, the process exits
                await service.execute(c.IssueTicket(request_id="later", service_id="sb-card"))
        finally:
            await service.stop()

    asyncio.run(scenario())
    store.close()
