"""Durable state: the event log, the answers given to request_ids, and tables for reads: the
tickets, the 好差评 ratings and the follow-up tasks of bad ones (scores 4 and 5).

SQLite in WAL mode with `synchronous=FULL` (checked at open): a committed transaction survives
a power cut. The dispatcher commits a batch of commands in one transaction before any of their
answers leaves. Nothing is ever lost: a business day closed for `archive.LIVE_DAYS` days moves
into one compressed archive row (and a compact row per ticket for the reports), read back
wherever the live tables are read.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import os
import secrets
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from dispatcher.domain.appointments import Booking
from dispatcher.domain.commands import Command, command_from_dict, command_to_dict
from dispatcher.domain.config import Config
from dispatcher.domain.core import Outcome, QueueCore
from dispatcher.domain.events import Event, event_from_dict, event_to_dict
from dispatcher.server import archive
from dispatcher.server.archive import DayArchive

SCHEMA_VERSION = 6
# Bookings (预约): imported by `qms appointments` (dispatcher.server.bookings, its own
# connection); the store marks them checked in, in the transaction that issues their ticket.
APPOINTMENTS_TABLE = """CREATE TABLE IF NOT EXISTS appointments (
    code TEXT PRIMARY KEY,
    service_id TEXT NOT NULL,
    date TEXT NOT NULL,
    slot_start TEXT NOT NULL,
    slot_end TEXT NOT NULL,
    name TEXT,
    phone TEXT,
    status TEXT NOT NULL,
    ticket_id TEXT,
    followup TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
)"""
APPOINTMENTS_INDEX = ("CREATE INDEX IF NOT EXISTS appointments_by_date"
                      " ON appointments(date, slot_start)")
BOOKING_COLUMNS = ("code", "service_id", "date", "slot_start", "slot_end", "name", "phone",
                   "status", "ticket_id", "followup")
# History (issue #14): tickets of an older system, imported by `qms history import`
# (dispatcher.server.history, its own connection). Times are ISO 8601 with their offset.
HISTORY_TABLE = """CREATE TABLE IF NOT EXISTS history (
    business_day TEXT NOT NULL,
    number TEXT NOT NULL,
    service_id TEXT NOT NULL,
    issued_at TEXT NOT NULL,
    called_at TEXT,
    finished_at TEXT,
    "window" INTEGER,
    staff_id TEXT,
    outcome TEXT NOT NULL,
    PRIMARY KEY (business_day, number)
)"""




def booking_of(row: tuple[Any, ...]) -> Booking:
    """A stored booking from its row (BOOKING_COLUMNS)."""
    d = dict(zip(BOOKING_COLUMNS, row, strict=True))
    return Booking(
        code=d["code"], service_id=d["service_id"], date=dt.date.fromisoformat(d["date"]),
        slot_start=dt.time.fromisoformat(d["slot_start"]),
        slot_end=dt.time.fromisoformat(d["slot_end"]), name=d["name"], phone=d["phone"],
        status=d["status"], ticket_id=d["ticket_id"],
        followup=json.loads(d["followup"]) if d["followup"] else None)



SCHEMA = [
    APPOINTMENTS_TABLE,
    HISTORY_TABLE,
    APPOINTMENTS_INDEX,
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS events (
        seq INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        type TEXT NOT NULL,
        request_id TEXT,
        data TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS answers (
        request_id TEXT PRIMARY KEY,
        command TEXT NOT NULL,
        reply TEXT NOT NULL,
        device TEXT,
        seq INTEGER NOT NULL,
        at TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS tickets (
        id TEXT PRIMARY KEY,
        business_day TEXT NOT NULL,
        number TEXT NOT NULL,
        service_id TEXT NOT NULL,
        status TEXT NOT NULL,
        print_status TEXT NOT NULL,
        issued_at TEXT NOT NULL,
        data TEXT NOT NULL
    )""",
    # Written once per ticket: a ticket's day and time of issue never change.
    "CREATE INDEX IF NOT EXISTS tickets_by_day ON tickets(business_day, issued_at)",
    # One row per ticket_rated event (seq = the event's), in its transaction. A rating with no
    # ticket (none being or just served at the window) has no ticket, number or business.
    """CREATE TABLE IF NOT EXISTS ratings (
        seq INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        business_day TEXT NOT NULL,
        "window" INTEGER NOT NULL,
        ticket_id TEXT,
        number TEXT,
        service_id TEXT,
        staff_id TEXT,
        score INTEGER NOT NULL
    )""",
    # A follow-up for each rating of 4 or 5 (id = the rating's seq), open while outcome is NULL.
    """CREATE TABLE IF NOT EXISTS rating_tasks (
        id INTEGER PRIMARY KEY,
        rated_at TEXT NOT NULL,
        business_day TEXT NOT NULL,
        ticket_id TEXT,
        number TEXT,
        "window" INTEGER NOT NULL,
        staff_id TEXT,
        service_id TEXT,
        score INTEGER NOT NULL,
        outcome TEXT,
        note TEXT,
        closed_by TEXT,
        closed_at TEXT
    )""",
    *archive.TABLES,
]
# From version n to n + 1, before SCHEMA creates what is missing. Version 2 writes less per
# commit (SD card wear): no index on events(type) (the last day start is found by reading the
# log backwards), and the tickets' indexes no longer hold their status (which every call
# changes) but only what never changes.
MIGRATIONS = {
    1: ["DROP INDEX IF EXISTS events_type", "DROP INDEX IF EXISTS tickets_day",
        "DROP INDEX IF EXISTS tickets_print"],
    2: [],  # version 3 adds the ratings and rating_tasks tables (SCHEMA creates them)
    3: [],  # version 4 adds the appointments table (SCHEMA creates it)
    4: [],  # version 5 adds the history table (SCHEMA creates it)
    5: [],  # version 6 adds the archive of closed days (SCHEMA creates its tables)
}
TASK_SCORES = (4, 5)  # 不满意, 非常不满意: a rating that is followed up
TASK_OUTCOMES = ("resolved", "explained", "unreachable", "other")
MAX_TASK_NOTE = 500
RATING_COLUMNS = ("seq", "at", "business_day", "window", "ticket_id", "number", "service_id",
                  "staff_id", "score")
TASK_COLUMNS = ("id", "rated_at", "business_day", "ticket_id", "number", "window", "staff_id",
                "service_id", "score", "outcome", "note", "closed_by", "closed_at")
# Settings of every connection. A commit writes each page it touches whole, so small pages
# write less (only a new database gets them: a database keeps the page size it was made with).
# The WAL is copied into the database (a checkpoint) once it holds WAL_BYTES, then rewritten
# from its start; should it ever grow past twice that (a reader holding a checkpoint back), it
# is cut back after the next checkpoint.
PAGE_SIZE = 1024
WAL_BYTES = 4 * 1024 * 1024


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class StoreError(Exception):
    """The database cannot be used safely."""


class StoreGone(StoreError):
    """The database file was deleted or replaced while open: writing on would acknowledge
    requests into a file nobody will read again."""


@dataclass(frozen=True)
class Record:
    """One handled command to persist: what was asked, what happened, what was answered."""

    command: Command
    outcome: Outcome
    seq_after: int  # the state's seq after its events
    device: str | None = None

    @functools.cached_property
    def messages(self) -> list[dict[str, Any]]:
        """The events as stored and as sent to subscribers: the event's fields, its `seq`,
        and for a ticket event the ticket as the command left it."""
        tickets = {t["id"]: t for t in self.outcome.tickets}
        first = self.seq_after - len(self.outcome.events) + 1
        out = []
        for i, event in enumerate(self.outcome.events):
            message = event_to_dict(event)
            message["seq"] = first + i
            tid = message.get("ticket_id")
            if tid in tickets:
                message["ticket"] = tickets[tid]
            out.append(message)
        return out


class Cursor(Protocol):
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...


class Connection(Protocol):
    """What the Store uses of a `sqlite3.Connection` in autocommit mode (isolation_level
    None); its errors must be `sqlite3.Error`s. Its `in_transaction`, if it has one, is
    checked after a failed transaction."""

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Cursor: ...
    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Any: ...
    def close(self) -> None: ...


Connect = Callable[[Path], Connection]
C = TypeVar("C", bound=Connection)


def set_pragmas(conn: C, path: Path) -> C:
    """Put a new connection in WAL mode with synchronous=FULL and check that both hold; set
    the page size (for a new database), the checkpoint interval and the WAL's size limit."""
    conn.execute(f"PRAGMA page_size={PAGE_SIZE}")  # before WAL mode writes a new file
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    sync = conn.execute("PRAGMA synchronous").fetchone()[0]
    if mode != "wal" or sync != 2:
        conn.close()
        raise StoreError(f"{path}: need journal_mode=wal and synchronous=FULL, got {mode}/{sync}")
    page_size = int(conn.execute("PRAGMA page_size").fetchone()[0])
    conn.execute(f"PRAGMA wal_autocheckpoint={WAL_BYTES // page_size}")
    conn.execute(f"PRAGMA journal_size_limit={2 * WAL_BYTES}")
    return conn


@contextlib.contextmanager
def immediate_transaction(conn: sqlite3.Connection, lock: threading.Lock) -> Iterator[None]:
    """One write transaction on a connection of its own (accounts, bookings), under `lock`;
    rolled back on any error."""
    with lock:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise


class OwnConnection:
    """A reader/writer of the dispatcher's database on a connection of its own (bookings,
    history): the store's pragmas, one lock, write transactions under it; `tables` are made
    if missing."""

    def __init__(self, path: str | Path, tables: Sequence[str] = ()) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                               timeout=30)
        self._conn = set_pragmas(conn, self.path)
        self._lock = threading.Lock()
        with self._tx():
            for ddl in tables:
                self._conn.execute(ddl)

    def close(self) -> None:
        self._conn.close()

    def _tx(self) -> contextlib.AbstractContextManager[None]:
        """One write transaction under the lock; rolled back on any error."""
        return immediate_transaction(self._conn, self._lock)


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    return set_pragmas(conn, path)


class Store:
    """The dispatcher's SQLite database. Writes from one thread at a time (the service's)."""

    def __init__(self, path: str | Path, connect: Connect = _connect) -> None:
        """Open (or create) the database; `connect` opens one configured connection (tests
        open them through another SQLite, e.g. apsw with a power-cut VFS)."""
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the database folder {self.path.parent}: "
                             f"{exc.strerror or exc}") from None
        self._connect = connect
        opened: list[Connection] = []
        try:
            self._write = connect(self.path)
            opened.append(self._write)
            self._read = connect(self.path)
            opened.append(self._read)
            self._identity = self._file_identity()
            if self._identity is None:
                raise StoreError(f"{self.path}: the database file vanished while opening")
            self._read_lock = threading.Lock()
            self._prepare()
            self.epoch = self._meta("epoch") or ""
        except (StoreError, sqlite3.Error) as exc:
            for conn in opened:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
            if isinstance(exc, StoreError):
                raise
            raise StoreError(f"{self.path}: {exc}") from None

    def _prepare(self) -> None:
        """Create the tables, or bring an older database to this schema, in one transaction."""
        with self._transaction() as db:
            made = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'meta'").fetchone()
            found = self._meta("schema_version") if made else None
            version = None if found is None else int(found)
            if version == SCHEMA_VERSION:
                return
            if version is not None and not 1 <= version < SCHEMA_VERSION:
                raise StoreError(f"{self.path}: schema version {version}, "
                                 f"this qms needs {SCHEMA_VERSION}")
            for step in range(version or 1, SCHEMA_VERSION):
                for statement in MIGRATIONS[step]:
                    db.execute(statement)
            for statement in SCHEMA:
                db.execute(statement)
            self._set_meta("schema_version", str(SCHEMA_VERSION))
            if version is None:
                self._set_meta("epoch", secrets.token_hex(8))

    # -- plumbing -----------------------------------------------------------------------------

    def _transaction(self) -> Any:
        store = self

        class _Tx:
            def __enter__(self) -> Connection:
                store._write.execute("BEGIN IMMEDIATE")
                return store._write

            def __exit__(self, exc_type: Any, *_: Any) -> None:
                try:
                    if exc_type is None:
                        if store._file_identity() != store._identity:
                            raise StoreGone(f"{store.path}: the database file was deleted or "
                                            "replaced while the dispatcher ran; stopping "
                                            "rather than writing into a file nobody will read")
                        store._write.execute("COMMIT")
                        return
                except BaseException:  # the stat, or COMMIT, failed: nothing is kept
                    store._rollback()
                    raise
                store._rollback()

        return _Tx()

    def _rollback(self) -> None:
        """End a failed transaction. A connection still inside one would refuse every later
        BEGIN, so that is a StoreError: the service stops rather than answer 503 forever."""
        with contextlib.suppress(sqlite3.Error):  # SQLite may have rolled back by itself
            self._write.execute("ROLLBACK")
        if getattr(self._write, "in_transaction", False):
            raise StoreError(f"{self.path}: a failed transaction cannot be rolled back")

    def _file_identity(self) -> tuple[int, int] | None:
        """(device, inode) of the database file now; None when it is gone."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        return st.st_dev, st.st_ino

    def _meta(self, key: str) -> str | None:
        row = self._write.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _set_meta(self, key: str, value: str) -> None:
        self._write.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._read_lock:
            return self._read.execute(sql, params).fetchall()

    def close(self) -> None:
        for conn in (self._read, self._write):
            with contextlib.suppress(sqlite3.Error):
                conn.close()

    def pragmas(self) -> tuple[str, int]:
        """(journal_mode, synchronous) of the writing connection."""
        mode = self._write.execute("PRAGMA journal_mode").fetchone()[0]
        sync = self._write.execute("PRAGMA synchronous").fetchone()[0]
        return str(mode), int(sync)

    # -- writing ------------------------------------------------------------------------------

    def append(self, records: Iterable[Record]) -> None:
        """Persist handled commands in one transaction: events, answers, tickets, ratings and
        their follow-up tasks (so no power cut keeps a rating without its task)."""
        with self._transaction() as db:
            for r in records:
                for m in r.messages:
                    if m["type"] == "ticket_issued" and m.get("appointment_code"):
                        # Not a booking cancelled (on a 预约回访 call) since the check-in read it.
                        db.execute("UPDATE appointments SET status = 'checked_in', ticket_id = ?,"
                                   " updated_at = ? WHERE code = ?"
                                   " AND status IN ('booked', 'checked_in')",
                                   (m["ticket_id"], m["at"], m["appointment_code"]))
                rated = [m for m in r.messages if m["type"] == "ticket_rated"]
                if rated:
                    _insert_ratings(db, rated)
                db.executemany(
                    "INSERT INTO events(seq, at, type, request_id, data) VALUES (?, ?, ?, ?, ?)",
                    [
                        (m["seq"], m["at"], m["type"], m["request_id"], _json(m))
                        for m in r.messages
                    ],
                )
                db.execute(
                    "INSERT INTO answers(request_id, command, reply, device, seq, at) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (r.command.request_id, _json(command_to_dict(r.command)),
                     _json(r.outcome.reply), r.device, r.seq_after,
                     r.outcome.events[-1].at.isoformat() if r.outcome.events else ""),
                )
                # Updated in place: the indexes, on columns that never change, stay untouched.
                db.executemany(
                    "INSERT INTO tickets(id, business_day, number, service_id, status,"
                    " print_status, issued_at, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT(id) DO UPDATE SET service_id = excluded.service_id,"
                    " status = excluded.status, print_status = excluded.print_status,"
                    " data = excluded.data",
                    [
                        (t["id"], t["business_day"], t["number"], t["service_id"], t["status"],
                         t["print_status"], t["issued_at"], _json(t))
                        for t in r.outcome.tickets
                    ],
                )

    def close_rating_task(self, task_id: int, outcome: str, note: str | None, by: str,
                          at: dt.datetime) -> bool:
        """Record the follow-up of a bad rating. False, changing nothing, when there is no such
        task or it is closed already; ValueError for an unknown outcome or a note over
        MAX_TASK_NOTE characters. Call it through `DispatcherService.read`, like the reads:
        it then runs between the writer's commits, never during one."""
        if outcome not in TASK_OUTCOMES:
            raise ValueError(f"outcome must be one of {', '.join(TASK_OUTCOMES)}, not {outcome!r}")
        if note is not None and len(note) > MAX_TASK_NOTE:
            raise ValueError(f"a note is at most {MAX_TASK_NOTE} characters")
        if at.tzinfo is None:
            raise ValueError("at must be timezone-aware")
        with self._transaction() as db:
            row = db.execute("SELECT 1 FROM rating_tasks WHERE id = ? AND outcome IS NULL",
                             (task_id,)).fetchone()
            if row is None:
                return False
            db.execute("UPDATE rating_tasks SET outcome = ?, note = ?, closed_by = ?,"
                       " closed_at = ? WHERE id = ?",
                       (outcome, note, by, at.isoformat(), task_id))
        return True

    # -- reading ------------------------------------------------------------------------------

    def load_core(self, config: Config) -> QueueCore:
        """Rebuild the core from the log, starting at the last business day's start."""
        # Both read the log backwards and stop at the first match, about a day of events (an
        # index on the type would cost a page write at every commit).
        row = self._query("SELECT seq FROM events WHERE type = 'day_started' "
                          "ORDER BY seq DESC LIMIT 1")
        start = row[0][0] if row else 1
        # Tickets are numbered in order over all days: the last one's `order` is their count.
        last = self._query("SELECT data FROM events WHERE type = 'ticket_issued' AND seq < ? "
                           "ORDER BY seq DESC LIMIT 1", (start,))
        if last:
            issued_before = int(json.loads(last[0][0])["order"])
        else:  # none since the archived days
            issued_before = int(self._query(
                "SELECT COALESCE(MAX(issued_through), 0) FROM archive")[0][0])
        events = self.events_after(start - 1)
        return QueueCore.replay(config, events, seq_before=start - 1,
                                issued_before=issued_before)

    def events_after(self, seq: int, limit: int | None = None) -> list[Event]:
        return [event_from_dict(m) for m in self.messages_after(seq, limit)]

    def messages_after(self, seq: int, limit: int | None) -> list[dict[str, Any]]:
        """Stored event messages after `seq`, as they were broadcast (archived ones too)."""
        with self._read_lock:
            first = self._read.execute("SELECT MIN(seq) FROM events").fetchone()[0]
            lines: list[str] = []
            if first is None or seq + 1 < int(first):
                lines = list(archive.events_after(self._read, seq, limit))
                if lines:
                    seq = int(json.loads(lines[-1])["seq"])
            left = None if limit is None else limit - len(lines)
            if left is None or left > 0:
                sql = "SELECT data FROM events WHERE seq > ? ORDER BY seq"
                params: list[Any] = [seq]
                if left is not None:
                    sql += " LIMIT ?"
                    params.append(left)
                lines += [str(d) for (d,) in self._read.execute(sql, params).fetchall()]
        return [json.loads(d) for d in lines]

    def last_seq(self) -> int:
        return int(self._query("SELECT MAX(COALESCE((SELECT MAX(seq) FROM events), 0),"
                               " COALESCE((SELECT MAX(last_seq) FROM archive), 0))")[0][0])

    def answer(self, request_id: str) -> tuple[Command, dict[str, Any]] | None:
        rows = self._query("SELECT command, reply FROM answers WHERE request_id = ?",
                           (request_id,))
        if rows:
            command, reply = json.loads(rows[0][0]), json.loads(rows[0][1])
        else:
            with self._read_lock:
                found = archive.answer(self._read, request_id)
            if found is None:
                return None
            command, reply = found
        return command_from_dict(command), reply

    def tickets(
        self,
        business_day: str | None = None,
        status: str | None = None,
        print_status: str | None = None,
        limit: int = 5000,
    ) -> list[dict[str, Any]]:
        """Tickets in order of issue; an archived `business_day`'s from its archive."""
        if business_day is not None:
            with self._read_lock:
                archived = archive.tickets(self._read, business_day)
            if archived is not None:
                wanted = [t for t in archived if t["business_day"] == business_day
                          and status in (None, t["status"])
                          and print_status in (None, t["print_status"])]
                wanted.sort(key=lambda t: (t["issued_at"], t["id"]))
                return wanted[:limit]
        where: list[str] = []
        params: list[Any] = []
        for column, value in (("business_day", business_day), ("status", status),
                              ("print_status", print_status)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        sql = "SELECT data FROM tickets"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY issued_at, id LIMIT ?"
        params.append(limit)
        return [json.loads(d) for (d,) in self._query(sql, params)]

    def ticket(self, ticket_id: str) -> dict[str, Any] | None:
        rows = self._query("SELECT data FROM tickets WHERE id = ?", (ticket_id,))
        if rows:
            return dict(json.loads(rows[0][0]))
        day = ticket_id[:10]  # ids are "<business day>-<number>"
        with self._read_lock:
            archived = archive.tickets(self._read, day) or []
        return next((t for t in archived if t["id"] == ticket_id), None)

    # -- the archive of closed days -----------------------------------------------------------

    def build_archive(self, before: dt.date) -> DayArchive | None:
        """The oldest closed business day before `before`, packed (see `archive`); None when
        there is none. Reads on a connection of its own: any thread may call it."""
        conn = self._connect(self.path)
        try:
            conn.execute("BEGIN")  # one snapshot for all the day's reads
            try:
                return archive.build(conn, before)
            finally:
                conn.execute("ROLLBACK")
        finally:
            conn.close()

    def install_archive(self, piece: DayArchive) -> bool:
        """Move a packed day out of the live tables in one transaction (False, changing
        nothing, if they changed meanwhile). From the writing thread, like `append`."""
        with self._transaction() as db:
            done = archive.install(db, piece)
        return done

    def ratings(self, business_day: str | None = None, since: str | None = None
                ) -> list[dict[str, Any]]:
        """Ratings in the order given, of one business day ("YYYY-MM-DD") and/or given at or
        after `since` (ISO 8601 with offset; ValueError otherwise)."""
        after = None if since is None else dt.datetime.fromisoformat(since)
        if after is not None and after.tzinfo is None:
            raise ValueError("since needs a UTC offset")
        sql = f"SELECT {_columns(RATING_COLUMNS)} FROM ratings"
        params: list[Any] = []
        if business_day is not None:
            sql += " WHERE business_day = ?"
            params.append(business_day)
        rows = [dict(zip(RATING_COLUMNS, row, strict=True))
                for row in self._query(sql + " ORDER BY seq", params)]
        if after is None:
            return rows
        return [r for r in rows if dt.datetime.fromisoformat(r["at"]) >= after]

    def tidy_bookings(self, now: dt.datetime, tz: dt.tzinfo, retention_days: int
                      ) -> tuple[int, int]:
        """Bookings not checked in by their slot's end become no-shows (their place is free
        again); names and phone numbers of visits over `retention_days` ago are erased, the
        rest of the booking kept for the statistics. (no-shows marked, bookings erased)"""
        local = now.astimezone(tz)
        today, clock = local.date().isoformat(), local.strftime("%H:%M")
        cutoff = (local.date() - dt.timedelta(days=retention_days)).isoformat()
        stamp = now.isoformat()
        with self._transaction() as db:
            db.execute("PRAGMA secure_delete = ON")  # erased text is overwritten, not freed
            missed = db.execute(
                "UPDATE appointments SET status = 'no_show', updated_at = ?"
                " WHERE status = 'booked' AND (date < ? OR (date = ? AND slot_end <= ?))",
                (stamp, today, today, clock)).rowcount
            # The follow-up's note is free text (it may name people): it goes too; its
            # outcome, attempts and missing materials stay for the statistics.
            erased = db.execute(
                "UPDATE appointments SET name = NULL, phone = NULL, updated_at = ?,"
                " followup = CASE WHEN followup IS NULL THEN NULL"
                " ELSE json_remove(followup, '$.note') END"
                " WHERE date < ? AND (name IS NOT NULL OR phone IS NOT NULL"
                " OR json_extract(followup, '$.note') IS NOT NULL)",
                (stamp, cutoff)).rowcount
        if erased:  # the log's copies of the old pages go too
            self._write.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return int(missed or 0), int(erased or 0)

    def booking(self, code: str) -> Booking | None:
        """The booking with this code (read in order with the commits, like tickets)."""
        rows = self._query(f"SELECT {', '.join(BOOKING_COLUMNS)} FROM appointments"
                           " WHERE code = ?", (code,))
        return booking_of(rows[0]) if rows else None

    def rating_tasks(self, open_only: bool = False) -> list[dict[str, Any]]:
        """Follow-up tasks of bad ratings, newest first; only the open ones if `open_only`."""
        sql = f"SELECT {_columns(TASK_COLUMNS)} FROM rating_tasks"
        if open_only:
            sql += " WHERE outcome IS NULL"
        return [dict(zip(TASK_COLUMNS, row, strict=True))
                for row in self._query(sql + " ORDER BY id DESC")]


def _columns(names: Sequence[str]) -> str:
    return ", ".join(f'"{n}"' for n in names)


def _insert_ratings(db: Connection, messages: list[dict[str, Any]]) -> None:
    """The rows of `ticket_rated` event messages: a rating each, a task for a bad one."""
    db.executemany(
        f"INSERT INTO ratings({_columns(RATING_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(m["seq"], m["at"], m["business_day"], m["window"], m.get("ticket_id"),
          m.get("number"), m.get("service_id"), m.get("staff_id"), m["score"])
         for m in messages],
    )
    tasks = [(m["seq"], m["at"], m["business_day"], m.get("ticket_id"), m.get("number"),
              m["window"], m.get("staff_id"), m.get("service_id"), m["score"])
             for m in messages if m["score"] in TASK_SCORES]
    if tasks:
        db.executemany(f"INSERT INTO rating_tasks({_columns(TASK_COLUMNS[:9])})"
                       " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", tasks)
