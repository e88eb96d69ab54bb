"""Closed business days archived (dispatcher.server.archive): after LIVE_DAYS a day's events,
answers and tickets move into one compressed row, and everything read before reads the same
after — the log from any seq, a retried request's first answer, a day's tickets, one ticket,
the state rebuilt at start, the reports' visits — while the live tables shrink. A power cut
at any write of the move leaves the day live or archived, never half."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import random
from pathlib import Path
from typing import Any

import pytest

from dispatcher.domain import commands as c
from dispatcher.domain.commands import CommandError
from dispatcher.domain.core import QueueCore
from dispatcher.server import archive
from dispatcher.server.history import HistoryStore
from dispatcher.server.service import DispatcherService
from dispatcher.server.store import Record, Store

from .crashvfs import Disk
from .helpers import MONDAY_9, small_config
from .live import FakeClock

CONFIG = small_config()
SERVICES = ("sb-card", "yb-baoxiao", "yb-dabing", "zf-lianzu")
DAYS = 12


class Hall:
    """A center's days through the core into the store, as the service commits them."""

    def __init__(self, store: Store, seed: int = 1) -> None:
        self.store = store
        self.core = QueueCore(CONFIG)
        self.rng = random.Random(seed)
        self.ids = itertools.count(1)
        self.issued: list[str] = []  # request ids of the tickets issued

    def run(self, command: c.Command, now: dt.datetime) -> bool:
        try:
            outcome = self.core.handle(command, now)
        except CommandError:
            return False
        self.store.append([Record(command, outcome, self.core.state.seq, "test")])
        return True

    def day(self, date: dt.date) -> None:
        now = dt.datetime.combine(date, dt.time(8, 30), MONDAY_9.tzinfo)
        self.run(c.StartDay(request_id=f"day-{date.isoformat()}"), now)
        for _ in range(14):
            now += dt.timedelta(seconds=self.rng.randint(20, 200))
            rid = f"k{next(self.ids)}"
            if self.run(c.IssueTicket(request_id=rid, service_id=self.rng.choice(SERVICES)),
                        now):
                self.issued.append(rid)
            if self.rng.random() < 0.6:
                now += dt.timedelta(seconds=30)
                self.run(c.CallNext(request_id=f"h{next(self.ids)}",
                                    window=self.rng.randint(1, 4)), now)
            if self.rng.random() < 0.15:  # a transfer: its first call must survive
                now += dt.timedelta(seconds=30)
                self.run(c.Transfer(request_id=f"t{next(self.ids)}", window=self.rng.randint(
                    1, 4), service_id=self.rng.choice(SERVICES)), now)

    def days(self, first: dt.date, n: int) -> list[dt.date]:
        dates = [first + dt.timedelta(days=i) for i in range(n)]
        for date in dates:
            self.day(date)
        return dates


def snapshot(store: Store, dates: list[dt.date], rids: list[str], reports: bool = True
             ) -> dict[str, Any]:
    """Everything read from a store that archiving must not change (`reports`: what the
    reports read too, on a connection of their own: not through the power-cut disk)."""
    days = [d.isoformat() for d in dates]
    seen: dict[str, Any] = {"tickets_seen": sum(store._query(
        f"SELECT COUNT(*) FROM {t}")[0][0] for t in ("tickets", "native_visits"))}
    if reports:
        history = HistoryStore(store.path)
        try:
            seen["visits"] = history.visits(dates[0], dates[-1])
            seen["daily_counts"] = history.daily_counts(dates[0], dates[-1])
            seen["native_days"] = history.native_days(dates[0], dates[-1])
        finally:
            history.close()
    tickets = {d: store.tickets(d) for d in days}
    return {**seen,
        "events": store.messages_after(0, None),
        "last_seq": store.last_seq(),
        "answers": {rid: store.answer(rid) for rid in rids},
        "tickets": tickets,
        "one_ticket": {t["id"]: store.ticket(t["id"]) for d in days for t in tickets[d][:3]},
        "state": store.load_core(CONFIG).state.to_dict(),
    }


def archive_all(store: Store, before: dt.date) -> list[str]:
    done = []
    while (piece := store.build_archive(before)) is not None:
        assert store.install_archive(piece)
        done.append(piece.business_day)
    return done


def live_days(store: Store) -> set[str]:
    return {t["business_day"] for t in store.tickets()}


def test_archiving_closed_days_changes_nothing_anyone_reads(tmp_path: Path) -> None:
    store = Store(tmp_path / "q.db")
    hall = Hall(store)
    dates = hall.days(dt.date(2026, 11, 2), DAYS)
    rids = [*hall.issued, "day-2026-11-03", "no-such-request"]
    before = snapshot(store, dates, rids)
    assert any(v.transfers for v in before["visits"]), "the days should hold a transfer"
    assert any(v.transferred_by for v in before["visits"]), "... and who transferred it"

    cutoff = dates[-1] - dt.timedelta(days=archive.LIVE_DAYS)
    archived = archive_all(store, cutoff)
    assert archived == [d.isoformat() for d in dates if d < cutoff]
    assert live_days(store) == {d.isoformat() for d in dates if d >= cutoff}
    assert snapshot(store, dates, rids) == before
    # from any seq, with any limit, across the archive's end and into the live log
    events = before["events"]
    for since, limit in ((0, 5), (37, 100), (len(events) // 2, None), (len(events) - 3, 10)):
        want = [m for m in events if m["seq"] > since]
        assert store.messages_after(since, limit) == (want if limit is None else want[:limit])
    store.close()


def test_the_day_being_served_and_the_last_live_days_are_never_archived(tmp_path: Path) -> None:
    store = Store(tmp_path / "q.db")
    dates = Hall(store).days(dt.date(2026, 11, 2), 3)
    assert store.build_archive(dates[0]) is None  # nothing closed before it
    # a cutoff past every day: still the day being served stays live (it is not closed)
    assert archive_all(store, dates[-1] + dt.timedelta(days=30)) == [
        d.isoformat() for d in dates[:-1]]
    assert live_days(store) == {dates[-1].isoformat()}
    store.close()


def test_a_packed_day_is_installed_once(tmp_path: Path) -> None:
    store = Store(tmp_path / "q.db")
    dates = Hall(store).days(dt.date(2026, 11, 2), 3)
    piece = store.build_archive(dates[-1])
    assert piece is not None and store.install_archive(piece)
    kept = store.messages_after(0, None)
    assert not store.install_archive(piece)  # its rows are gone: changes nothing
    assert store.messages_after(0, None) == kept
    store.close()


def test_the_numbering_goes_on_after_every_earlier_day_is_archived(tmp_path: Path) -> None:
    """The tickets' `order` counts over all days: with the last issue archived (a day without
    tickets since), the core rebuilt at start still continues the count."""
    store = Store(tmp_path / "q.db")
    hall = Hall(store)
    dates = hall.days(dt.date(2026, 11, 2), 2)
    empty = dates[-1] + dt.timedelta(days=1)
    hall.run(c.StartDay(request_id=f"day-{empty}"),
             dt.datetime.combine(empty, dt.time(8), MONDAY_9.tzinfo))
    issued = hall.core.state.issued_total
    assert archive_all(store, empty + dt.timedelta(days=1)) == [d.isoformat() for d in dates]
    assert store.load_core(CONFIG).state.issued_total == issued > 0
    store.close()


def test_a_request_retried_after_its_day_was_archived_gets_its_first_answer(
        tmp_path: Path) -> None:
    store = Store(tmp_path / "q.db")
    hall = Hall(store)
    dates = hall.days(dt.date(2026, 11, 2), 10)
    first_rid = hall.issued[0]
    first_reply = store.answer(first_rid)
    assert first_reply is not None
    clock = FakeClock(dt.datetime.combine(dates[-1], dt.time(10), MONDAY_9.tzinfo))

    async def scenario() -> None:
        service = DispatcherService(CONFIG, store, clock)
        await service.start()
        try:
            while await service.archive_closed_day(clock()):
                pass
            assert dates[0].isoformat() not in live_days(store)
            seq = service.seq
            again = await service.execute(first_reply[0])
            assert again.repeated and again.reply == first_reply[1]
            assert service.seq == seq  # nothing issued again
            other = c.IssueTicket(request_id=first_rid, service_id="zf-lianzu")
            with pytest.raises(CommandError, match="different request"):
                await service.execute(other)
        finally:
            await service.stop()

    asyncio.run(scenario())
    store.close()


def test_archived_days_take_a_fraction_of_the_space(tmp_path: Path) -> None:
    """The live rows of a day against its archive row and visits (bytes of their columns)."""
    store = Store(tmp_path / "q.db")
    dates = Hall(store, seed=3).days(dt.date(2026, 11, 2), 3)
    day = dates[0].isoformat()
    conn = store._connect(store.path)
    try:
        end = conn.execute("SELECT seq FROM events WHERE type = 'day_started'"
                           " ORDER BY seq LIMIT 1 OFFSET 1").fetchone()[0]
        live = sum(conn.execute(q, p).fetchone()[0] or 0 for q, p in (
            ("SELECT SUM(LENGTH(data)) FROM events WHERE seq < ?", (end,)),
            ("SELECT SUM(LENGTH(command) + LENGTH(reply)) FROM answers WHERE seq < ?", (end,)),
            ("SELECT SUM(LENGTH(data)) FROM tickets WHERE business_day = ?", (day,))))
    finally:
        conn.close()
    piece = store.build_archive(dates[-1])
    assert piece is not None and piece.business_day == day
    packed = len(piece.events) + len(piece.answers) + len(piece.tickets)
    assert packed * 5 < live, (packed, live)
    store.close()


@pytest.mark.parametrize("tear", [False, True])
def test_a_power_cut_while_archiving_leaves_the_day_live_or_archived(
        tmp_path: Path, tear: bool) -> None:
    disk = Disk(11, tear=tear, root=tmp_path)
    path = disk.path("qms.db")
    store = Store(path, connect=disk.connect)
    hall = Hall(store, seed=5)
    dates = hall.days(dt.date(2026, 11, 2), 3)
    rids = hall.issued
    store.close()

    def reads() -> tuple[dict[str, Any], set[str]]:
        store = Store(path, connect=disk.connect)
        try:
            assert store._query("PRAGMA integrity_check") == [("ok",)]
            return snapshot(store, dates, rids, reports=False), live_days(store)
        finally:
            store.close()

    before, _ = reads()
    for cut in itertools.count(1):  # at each write and sync of the move in turn
        store = Store(path, connect=disk.connect)
        piece = store.build_archive(dates[-1])
        assert piece is not None
        disk.arm(cut)
        try:
            store.install_archive(piece)
        except Exception:
            disk.arm(None)
            store.close()
            after, live = reads()
            assert after == before
            assert live in ({d.isoformat() for d in dates},
                            {d.isoformat() for d in dates[1:]})
            if live == {d.isoformat() for d in dates[1:]}:
                break
            continue
        disk.arm(None)
        store.close()
        break
    after, live = reads()
    assert after == before and live == {d.isoformat() for d in dates[1:]}
    assert cut > 3, "the move should have been cut at several of its writes"
