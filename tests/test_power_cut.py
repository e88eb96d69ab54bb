"""Power cuts: the Store on a disk that loses every write not yet synced (tests/crashvfs.py).

A core handles requests from kiosks and windows and the Store commits them in batches, as the
dispatcher's service does (answers only after `append` returns). The power is cut at a random
write or sync — mid-transaction, mid-checkpoint, between transactions — and the hall boots
again from what the medium held, the devices retrying what was not answered. After each boot:
SQLite's integrity check passes; every acknowledged request's answer, event and ticket are
there; no number twice in a day; seq continuous; an unanswered batch is there entirely or not
at all; `load_core` equals the state computed from the acknowledged commands alone.
With synchronous=NORMAL the same harness must find acknowledged requests lost. And a database
of schema 1 migrates to schema 2 whole or not at all, cut at each of its writes in turn.

apsw raises a VFS error even where SQLite ignored it (a checkpoint after a commit, which the
stdlib sqlite3 would not report): such a batch goes unanswered although it is committed, and
the devices' retries get its answers from the log.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import random
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dispatcher.domain import commands as c
from dispatcher.domain.commands import CommandError
from dispatcher.domain.core import Outcome, QueueCore, answer_again
from dispatcher.server import store as store_module
from dispatcher.server.store import Record, Store, StoreError

from .crashvfs import Disk
from .helpers import MONDAY_9, small_config

CONFIG = small_config()
SERVICES = sorted(CONFIG.services)
CUTS = 250  # per test, with and without torn writes
CUTS_PER_DAY = 25


@dataclass
class Tally:
    cuts: int = 0
    mid_append: int = 0  # `append` did not return: the cut came inside it
    in_database: int = 0  # ... at a write or sync of the database file (a checkpoint)
    survivals: int = 0  # ... and some unsynced write survived it (tear)
    acknowledged: int = 0  # commands whose batch `append` returned
    unanswered_kept: int = 0  # unanswered batches found committed after the cut
    retried_answers: int = 0  # retried requests answered from the database
    lost: int = 0  # acknowledged commands whose answer, event or ticket is gone
    numbers_twice: int = 0  # a number in the log twice, or given to two acknowledged requests
    seq_gaps: int = 0
    torn_batches: int = 0  # a batch found partly committed
    wrong_state: int = 0  # load_core differs from the acknowledged commands' state
    not_ok: int = 0  # integrity_check failed
    clean_restarts: int = 0  # the Store closed and opened again without a cut
    seconds: float = 0.0


class Hall:
    """The devices: kiosks issue tickets, windows call next, recall and mark no-shows."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.ids = itertools.count(1)

    def request(self) -> tuple[c.Command, str]:
        rng, n = self.rng, next(self.ids)
        r = rng.random()
        if r < 0.5:
            kiosk = f"kiosk-{rng.randint(1, 3)}"
            return c.IssueTicket(request_id=f"{kiosk}-{n}", service_id=rng.choice(SERVICES)), kiosk
        window = rng.randint(1, 4)
        rid = f"w{window}-{n}"
        if r < 0.85:
            return c.CallNext(request_id=rid, window=window), "hall"
        if r < 0.93:
            return c.Recall(request_id=rid, window=window), "hall"
        return c.NoShow(request_id=rid, window=window), "hall"


def full_state(core: QueueCore) -> dict[str, Any]:
    s = core.state
    return {**s.to_dict(), "counters": s.counters, "issued_total": s.issued_total,
            "tickets": {tid: t.to_dict() for tid, t in s.tickets.items()}}


def normal(value: Any) -> Any:
    """As stored: through JSON."""
    return json.loads(json.dumps(value))


def facts(command: c.Command, reply: dict[str, Any]) -> set[tuple[str, str, str]]:
    """(request_id, event type, ticket id) the log must hold for an acknowledged answer."""
    ticket = reply.get("ticket")
    if ticket is None or "ignored" in reply:
        return set()
    kind = {c.IssueTicket: "ticket_issued", c.CallNext: "ticket_called",
            c.Recall: "ticket_recalled", c.NoShow: "ticket_no_show"}[type(command)]
    return {(command.request_id, kind, ticket["id"])}


class Harness:
    """One hall on one disk, cut `cuts` times."""

    def __init__(self, root: Path, seed: int, *, tear: bool, synchronous: str = "FULL") -> None:
        self.rng = random.Random(seed)
        self.disk = Disk(seed, tear=tear, synchronous=synchronous, root=root)
        self.path = self.disk.path("qms.db")
        self.hall = Hall(self.rng)
        self.now = MONDAY_9
        self.tally = Tally()
        self.ref = QueueCore(CONFIG)  # fed the acknowledged commands only
        self.acked: dict[str, dict[str, Any]] = {}  # request_id -> the answer given
        self.facts: set[tuple[str, str, str]] = set()
        self.numbers: dict[tuple[str, str], str] = {}  # (day, number) -> request_id answered
        self.unanswered: list[tuple[Record, dt.datetime]] = []  # the batch the cut hit
        self.retry: list[tuple[c.Command, str]] = []

    # -- the hall at work ---------------------------------------------------------------------

    def run(self, cuts: int) -> Tally:
        started = time.monotonic()
        while self.tally.cuts < cuts:
            if self.tally.cuts and self.tally.cuts % CUTS_PER_DAY == 0:
                self.now = max(self.now, MONDAY_9 + dt.timedelta(
                    days=self.tally.cuts // CUTS_PER_DAY))
            generation = self.disk.generation
            r = self.rng.random()
            between = self.rng.randint(1, 6) if r < 0.2 else None
            if r < 0.15:
                self.disk.arm(None)  # cut between two batches
            elif r < 0.2:
                self.disk.arm(self.rng.randint(50, 400))  # a clean restart first, perhaps
            elif r < 0.3:  # in a checkpoint
                self.disk.arm(self.rng.randint(1, 40), "db")
            else:
                self.disk.arm(self.rng.randint(1, 250))
            try:
                store = Store(self.path, connect=self.disk.connect)
            except StoreError:  # the cut came while it opened
                assert self.disk.generation != generation, "the Store failed without a cut"
                self.tally.cuts += 1
                continue
            try:
                core = self.check(store) if generation else store.load_core(CONFIG)
                self.work(store, core, generation, between)
            finally:
                store.close()  # after a cut: does nothing, the machine is off
            if self.disk.generation == generation:
                self.tally.clean_restarts += 1
                continue
            self.tally.cuts += 1
            self.tally.mid_append += bool(self.unanswered)
            self.tally.in_database += self.disk.cut_kind == "db"
        self.tally.survivals = self.disk.survivals
        self.tally.seconds = time.monotonic() - started
        return self.tally

    def work(self, store: Store, core: QueueCore, generation: int, between: int | None) -> None:
        """Commit batches until the power goes."""
        for batch in itertools.count():
            if batch == between:
                if self.disk.armed is None:
                    self.disk.cut()
                return  # else a clean restart (the close checkpoints: the cut may come there)
            requests = self.retry or [self.hall.request()
                                      for _ in range(self.rng.choice([1, 1, 1, 2, 3]))]
            self.retry = []
            records: list[tuple[Record, dt.datetime]] = []
            for command, device in requests:
                self.now += dt.timedelta(seconds=self.rng.uniform(1, 30))
                try:
                    outcome = self.handle(store, core, command)
                except CommandError:
                    continue
                if outcome.repeated:  # a retried request, committed before the cut
                    self.tally.retried_answers += 1
                    if normal(outcome.reply) != self.acked.get(command.request_id):
                        self.tally.wrong_state += 1
                    continue
                records.append((Record(command, outcome, core.state.seq, device), self.now))
            try:
                store.append([r for r, _ in records])
            except sqlite3.Error:
                assert self.disk.generation != generation, "append failed without a cut"
                self.unanswered, self.retry = records, requests
                return
            for record, at in records:
                self.acknowledge(record, at)
            if self.disk.generation != generation:  # cut after the commit (a checkpoint)
                return

    def handle(self, store: Store, core: QueueCore, command: c.Command) -> Outcome:
        """As the service does: a request unknown to the core may be answered already."""
        if not core.knows(command.request_id):
            stored = store.answer(command.request_id)
            if stored is not None:
                return answer_again(command, *stored)
        return core.handle(command, self.now)

    def acknowledge(self, record: Record, at: dt.datetime) -> None:
        """The answer went out: remember it, and compute the state from it alone."""
        command, reply = record.command, normal(record.outcome.reply)
        rid = command.request_id
        if normal(self.ref.handle(command, at).reply) != reply:
            self.tally.wrong_state += 1
        self.acked[rid] = reply
        self.facts |= facts(command, reply)
        self.tally.acknowledged += 1
        if isinstance(command, c.IssueTicket):
            key = (reply["ticket"]["business_day"], reply["ticket"]["number"])
            if self.numbers.setdefault(key, rid) != rid:
                self.tally.numbers_twice += 1

    # -- after the cut ------------------------------------------------------------------------

    def check(self, store: Store) -> QueueCore:
        """After a cut: compare what the medium holds with what was acknowledged; the core
        as the service would boot it."""
        tally = self.tally
        conn = self.disk.connect(self.path)
        try:
            tally.not_ok += conn.execute("PRAGMA integrity_check").fetchall() != [("ok",)]
            count, top = conn.execute("SELECT COUNT(*), COALESCE(MAX(seq), 0) FROM events"
                                      ).fetchone()
            tally.seq_gaps += count != top
            tally.numbers_twice += len(conn.execute(
                "SELECT 1 FROM events WHERE type = 'ticket_issued' GROUP BY "
                "json_extract(data, '$.business_day'), json_extract(data, '$.number') "
                "HAVING COUNT(*) > 1").fetchall())
            answers = dict(conn.execute("SELECT request_id, reply FROM answers").fetchall())
            logged = set(conn.execute(
                "SELECT request_id, type, json_extract(data, '$.ticket_id') FROM events "
                "WHERE type IN ('ticket_issued', 'ticket_called', 'ticket_recalled', "
                "'ticket_no_show')").fetchall())
            tickets = {t for (t,) in conn.execute("SELECT id FROM tickets").fetchall()}
        finally:
            conn.close()

        # The unanswered batch: all of it or none of it.
        kept = [r.command.request_id in answers for r, _ in self.unanswered]
        tally.torn_batches += any(kept) and not all(kept)
        if kept and all(kept):
            tally.unanswered_kept += 1
            for record, at in self.unanswered:
                self.acknowledge(record, at)
        self.unanswered = []

        lost = {rid for rid in self.acked if rid not in answers}
        lost |= {rid for rid, _, _ in self.facts - logged}
        lost |= {rid for rid, reply in self.acked.items() if rid in answers and (
            json.loads(answers[rid]) != reply
            or (reply.get("ticket") and reply["ticket"]["id"] not in tickets))}
        tally.lost += len(lost)

        loaded = store.load_core(CONFIG)
        wrong = full_state(loaded) != full_state(self.ref)
        tally.wrong_state += wrong
        if lost or wrong:  # (NORMAL) go on from what the disk holds
            self.ref = loaded
            for rid in lost:
                del self.acked[rid]
            self.facts = {f for f in self.facts if f[0] not in lost}
            loaded = store.load_core(CONFIG)
        return loaded


def report(name: str, t: Tally) -> str:
    return (f"\npower cuts ({name}): {t.cuts} cuts ({t.mid_append} mid-append, {t.in_database} "
            f"at the database file, {t.survivals} with unsynced writes surviving), "
            f"{t.clean_restarts} clean restarts, {t.acknowledged} acknowledged commands, "
            f"{t.unanswered_kept} unanswered batches kept, {t.retried_answers} retries answered "
            f"from the log; lost {t.lost}, numbers twice {t.numbers_twice}, seq gaps "
            f"{t.seq_gaps}, torn batches {t.torn_batches}, "
            f"wrong states {t.wrong_state}, integrity failures {t.not_ok}; {t.seconds:.1f} s")


@pytest.fixture
def small_wal(monkeypatch: pytest.MonkeyPatch) -> None:
    """A checkpoint every ~30 commits instead of every few hundred: more cuts land in one."""
    monkeypatch.setattr(store_module, "WAL_BYTES", 256 * 1024)


@pytest.mark.usefixtures("small_wal")
@pytest.mark.parametrize(("tear", "seed"), [(False, 1), (True, 2)],
                         ids=["unsynced-lost", "unsynced-torn"])
def test_power_cuts_lose_nothing_acknowledged(tmp_path: Path, tear: bool, seed: int) -> None:
    t = Harness(tmp_path, seed, tear=tear).run(CUTS)
    print(report("unsynced writes torn" if tear else "unsynced writes lost", t))
    assert (t.lost, t.numbers_twice, t.seq_gaps, t.torn_batches, t.wrong_state, t.not_ok) == (
        0, 0, 0, 0, 0, 0), t
    # The cuts landed where they matter: inside commits and checkpoints, after which devices
    # retried and got the first answer back; with `tear`, unsynced writes partly survived.
    assert t.mid_append > CUTS // 2 and t.in_database > CUTS // 10, t
    assert t.unanswered_kept > 0 and t.retried_answers > 0 and t.acknowledged > 3 * CUTS, t
    assert t.survivals > CUTS // 2 if tear else t.survivals == 0, t


@pytest.mark.usefixtures("small_wal")
def test_the_harness_finds_loss_with_synchronous_normal(tmp_path: Path) -> None:
    t = Harness(tmp_path, 3, tear=False, synchronous="NORMAL").run(60)
    print(report("synchronous=NORMAL", t))
    assert t.lost > 0 and t.wrong_state > 0 and t.numbers_twice > 0, t
    assert t.not_ok == t.seq_gaps == t.torn_batches == 0, t  # lost, yet consistent


V1_INDEXES = {
    "events_type": "CREATE INDEX events_type ON events(type, seq)",
    "tickets_day": "CREATE INDEX tickets_day ON tickets(business_day, status)",
    "tickets_print": "CREATE INDEX tickets_print ON tickets(print_status, business_day)",
}


def test_a_version_1_database_migrates_whole_or_not_at_all_under_power_cuts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A database made by the previous qms (schema 1, 4 KiB pages) opens as schema 2: its
    indexes replaced in one transaction, so that a cut at any of its writes leaves it at 1 or
    at 2, never between; it keeps its page size, and its log loads as before."""
    rng = random.Random(5)
    disk = Disk(5, tear=True, root=tmp_path)
    path = disk.path("qms.db")
    monkeypatch.setattr(store_module, "PAGE_SIZE", 4096)
    store = Store(path, connect=disk.connect)
    core, hall, now = QueueCore(CONFIG), Hall(rng), MONDAY_9
    for i in range(400):
        now += dt.timedelta(days=1 if i == 200 else 0, seconds=rng.uniform(1, 30))
        command, device = hall.request()
        try:
            outcome = core.handle(command, now)
        except CommandError:
            continue
        store.append([Record(command, outcome, core.state.seq, device)])
    store.close()
    conn = disk.connect(path)  # back to schema 1, as the previous qms left it
    conn.execute("BEGIN")
    conn.execute("DROP INDEX tickets_by_day")
    conn.execute("DROP TABLE appointments")  # (schema 4; its index goes with it)
    for table in ("archive", "native_visits", "archived_requests"):  # (schema 6)
        conn.execute(f"DROP TABLE {table}")
    for statement in V1_INDEXES.values():
        conn.execute(statement)
    conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    conn.execute("COMMIT")
    conn.close()
    monkeypatch.setattr(store_module, "PAGE_SIZE", 1024)

    def schema() -> tuple[str, set[str], int]:
        conn = disk.connect(path)
        try:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            version = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'"
                                   ).fetchone()[0]
            names = {n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE "
                                                "type = 'index' AND sql IS NOT NULL").fetchall()}
            return version, names, conn.execute("PRAGMA page_size").fetchone()[0]
        finally:
            conn.close()

    for cut in itertools.count(1):  # at each write and sync of the migration in turn
        assert schema() == ("1", set(V1_INDEXES), 4096)
        disk.arm(cut)
        try:
            store = Store(path, connect=disk.connect)
        except StoreError:
            continue
        break
    disk.arm(None)
    try:
        assert full_state(store.load_core(CONFIG)) == full_state(core)
        day = str(core.state.business_day)
        assert [t["id"] for t in store.tickets(day)] == sorted(
            core.state.tickets, key=lambda tid: (core.state.tickets[tid].issued_at, tid))
    finally:
        store.close()
    assert schema() == ("6", {"tickets_by_day", "appointments_by_date", "archive_by_day"}, 4096)
    assert cut > 10, "the migration should have been cut at each of its writes and syncs"

    conn = disk.connect(path)
    conn.execute("UPDATE meta SET value = '7' WHERE key = 'schema_version'")
    conn.close()
    with pytest.raises(StoreError, match="schema version 7"):
        Store(path, connect=disk.connect)
