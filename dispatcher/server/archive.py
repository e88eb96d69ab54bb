"""Closed business days, compacted (the database stays small: a year in well under 200 MB).

A business day is closed once the next one has started. `LIVE_DAYS` after it, its rows move in
one transaction out of `events`, `answers` and `tickets` into:

- one row of `archive`: the day's events, answers and tickets, each as zlib-compressed JSON
  lines (about 15 times smaller), with the day's seq range;
- one row per ticket in `native_visits`: the ticket as the reports read it (`Visit`), its
  first call taken from the day's events, so reports never unpack an archive;
- one row per answered request in `archived_requests`: a 64-bit hash of its request_id, so a
  request repeated any time later still gets its first answer.

Nothing is lost: the store reads the archive back wherever it read those tables (events after
a seq, the answer to a request_id, a day's tickets, one ticket).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from dispatcher.domain.history import Calls, Visit, calls_of, visit_of_ticket


class Connection(Protocol):
    """What is used of a SQLite connection (the store's: sqlite3, or apsw in tests)."""

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Any: ...
    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Any: ...

LIVE_DAYS = 7  # closed days kept in the live tables, besides the current one
ARCHIVE_TABLE = """CREATE TABLE IF NOT EXISTS archive (
    first_seq INTEGER PRIMARY KEY,
    last_seq INTEGER NOT NULL,
    business_day TEXT NOT NULL,
    issued_through INTEGER NOT NULL,
    events BLOB NOT NULL,
    answers BLOB NOT NULL,
    tickets BLOB NOT NULL
)"""
ARCHIVE_INDEX = "CREATE INDEX IF NOT EXISTS archive_by_day ON archive(business_day)"
NATIVE_VISITS_TABLE = """CREATE TABLE IF NOT EXISTS native_visits (
    business_day TEXT NOT NULL,
    number TEXT NOT NULL,
    service_id TEXT NOT NULL,
    issued_at TEXT NOT NULL,
    called_at TEXT,
    finished_at TEXT,
    "window" INTEGER,
    staff_id TEXT,
    outcome TEXT NOT NULL,
    transfers INTEGER NOT NULL,
    appointment INTEGER NOT NULL,
    last_called_at TEXT,
    transferred_by TEXT,
    PRIMARY KEY (business_day, number)
) WITHOUT ROWID"""
ARCHIVED_REQUESTS_TABLE = """CREATE TABLE IF NOT EXISTS archived_requests (
    key INTEGER NOT NULL,
    first_seq INTEGER NOT NULL,
    PRIMARY KEY (key, first_seq)
) WITHOUT ROWID"""
TABLES = (ARCHIVE_TABLE, ARCHIVE_INDEX, NATIVE_VISITS_TABLE, ARCHIVED_REQUESTS_TABLE)
VISIT_COLUMNS = ("business_day", "number", "service_id", "issued_at", "called_at",
                 "finished_at", "window", "staff_id", "outcome", "transfers", "appointment",
                 "last_called_at", "transferred_by")
ANSWER_COLUMNS = ("request_id", "command", "reply", "device", "seq", "at")


@dataclass(frozen=True)
class DayArchive:
    """A closed day's rows, packed and ready to replace the live ones."""

    business_day: str
    first_seq: int
    end_seq: int  # the next day's first seq: the day's events are first_seq ≤ seq < end_seq
    counts: tuple[int, int, int]  # events, answers, tickets read: checked again on install
    issued_through: int  # the `order` of the last ticket issued up to this day's end
    events: bytes
    answers: bytes
    tickets: bytes
    visits: tuple[tuple[Any, ...], ...]
    request_keys: tuple[int, ...]


def request_key(request_id: str) -> int:
    """A request_id's 64-bit key in `archived_requests` (a hit is confirmed in the archive)."""
    digest = hashlib.blake2b(request_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def pack(lines: list[str]) -> bytes:
    return zlib.compress("\n".join(lines).encode(), 9)


def unpack(blob: bytes) -> list[str]:
    text = zlib.decompress(blob).decode()
    return text.split("\n") if text else []


def visit_row(v: Visit) -> tuple[Any, ...]:
    def iso(t: dt.datetime | None) -> str | None:
        return None if t is None else t.isoformat()

    return (v.business_day.isoformat(), v.number, v.service_id, v.issued_at.isoformat(),
            iso(v.called_at), iso(v.finished_at), v.window, v.staff_id, v.outcome,
            v.transfers, int(v.appointment), iso(v.last_called_at),
            ";".join(f"{who} {service}" for who, service in v.transferred_by) or None)


def visit_of_row(row: tuple[Any, ...]) -> Visit:
    d = dict(zip(VISIT_COLUMNS, row, strict=True))

    def when(key: str) -> dt.datetime | None:
        return dt.datetime.fromisoformat(d[key]) if d[key] else None

    issued = when("issued_at")
    assert issued is not None
    return Visit(business_day=dt.date.fromisoformat(d["business_day"]), number=d["number"],
                 service_id=d["service_id"], issued_at=issued, called_at=when("called_at"),
                 finished_at=when("finished_at"), window=d["window"], staff_id=d["staff_id"],
                 outcome=d["outcome"], transfers=int(d["transfers"]),
                 appointment=bool(d["appointment"]), source="native",
                 last_called_at=when("last_called_at"),
                 transferred_by=tuple((who, service) for who, service in (
                     pair.split(" ", 1) for pair in (d["transferred_by"] or "").split(";")
                     if pair)))


def build(db: Connection, before: dt.date) -> DayArchive | None:
    """The oldest live business day, packed, if it is before `before` and closed (the next
    day has started); None when there is none. Reads only: the day's rows never change."""
    starts = db.execute("SELECT seq, json_extract(data, '$.day') FROM events"
                        " WHERE type = 'day_started' ORDER BY seq LIMIT 2").fetchall()
    if len(starts) < 2 or str(starts[0][1]) >= before.isoformat():
        return None
    day, end = str(starts[0][1]), int(starts[1][0])
    first = int(db.execute("SELECT MIN(seq) FROM events").fetchone()[0])
    events = [str(d) for (d,) in db.execute(
        "SELECT data FROM events WHERE seq < ? ORDER BY seq", (end,)).fetchall()]
    answers = db.execute(f"SELECT {', '.join(ANSWER_COLUMNS)} FROM answers WHERE seq < ?"
                         " ORDER BY seq", (end,)).fetchall()
    tickets = [str(d) for (d,) in db.execute(
        "SELECT data FROM tickets WHERE business_day <= ? ORDER BY issued_at, id",
        (day,)).fetchall()]
    moves: list[dict[str, Any]] = []  # the calls and transfers
    issued_through = 0
    for line in events:
        if '"ticket_called"' in line or '"ticket_issued"' in line or \
                '"ticket_transferred"' in line:
            message = json.loads(line)
            if message["type"] == "ticket_issued":
                issued_through = max(issued_through, int(message["order"]))
            elif message["type"] in ("ticket_called", "ticket_transferred"):
                moves.append(message)
    calls = calls_of(moves)
    if not issued_through:
        before_row = db.execute("SELECT MAX(issued_through) FROM archive").fetchone()
        issued_through = int(before_row[0] or 0)
    visits = []
    for line in tickets:
        ticket = json.loads(line)
        found = calls.get(ticket["id"]) or Calls()
        visits.append(visit_row(visit_of_ticket(ticket, found.first_called_at,
                                                found.transferred_by)))
    answer_lines = [json.dumps([rid, json.loads(command), json.loads(reply), device, seq, at],
                               ensure_ascii=False, separators=(",", ":"))
                    for rid, command, reply, device, seq, at in answers]
    return DayArchive(
        business_day=day, first_seq=first, end_seq=end,
        counts=(len(events), len(answers), len(tickets)), issued_through=issued_through,
        events=pack(events), answers=pack(answer_lines), tickets=pack(tickets),
        visits=tuple(visits), request_keys=tuple(sorted({request_key(str(a[0]))
                                                         for a in answers})))


def install(db: Connection, piece: DayArchive) -> bool:
    """Replace the day's live rows by `piece`, inside the caller's transaction. False, changing
    nothing, when the live rows are no longer those packed (archived meanwhile)."""
    found = db.execute("SELECT MIN(seq), COUNT(*) FROM events WHERE seq < ?",
                       (piece.end_seq,)).fetchone()
    answers = db.execute("SELECT COUNT(*) FROM answers WHERE seq < ?",
                         (piece.end_seq,)).fetchone()[0]
    tickets = db.execute("SELECT COUNT(*) FROM tickets WHERE business_day <= ?",
                         (piece.business_day,)).fetchone()[0]
    if (found[0], (found[1], answers, tickets)) != (piece.first_seq, piece.counts):
        return False
    db.execute("INSERT INTO archive(first_seq, last_seq, business_day, issued_through, events,"
               " answers, tickets) VALUES (?, ?, ?, ?, ?, ?, ?)",
               (piece.first_seq, piece.end_seq - 1, piece.business_day, piece.issued_through,
                piece.events, piece.answers, piece.tickets))
    columns = ", ".join(f'"{c}"' for c in VISIT_COLUMNS)
    db.executemany(f"INSERT OR REPLACE INTO native_visits({columns})"
                   f" VALUES ({', '.join('?' * len(VISIT_COLUMNS))})", piece.visits)
    db.executemany("INSERT OR IGNORE INTO archived_requests(key, first_seq) VALUES (?, ?)",
                   [(key, piece.first_seq) for key in piece.request_keys])
    db.execute("DELETE FROM events WHERE seq < ?", (piece.end_seq,))
    db.execute("DELETE FROM answers WHERE seq < ?", (piece.end_seq,))
    db.execute("DELETE FROM tickets WHERE business_day <= ?", (piece.business_day,))
    return True


def events_after(db: Connection, seq: int, limit: int | None) -> Iterator[str]:
    """Archived event messages (JSON) after `seq`, in order, at most `limit`; one day's row
    in memory at a time."""
    left = limit
    days = [int(r[0]) for r in db.execute(
        "SELECT first_seq FROM archive WHERE last_seq > ? ORDER BY first_seq", (seq,)
    ).fetchall()]
    for first in days:
        (blob,) = db.execute("SELECT events FROM archive WHERE first_seq = ?",
                             (first,)).fetchone()
        for line in unpack(blob):
            if left is not None and left <= 0:
                return
            if int(json.loads(line)["seq"]) > seq:
                if left is not None:
                    left -= 1
                yield line


def answer(db: Connection, request_id: str) -> tuple[Any, Any] | None:
    """(command, reply) of an archived request, parsed; None if it is not archived."""
    for (blob,) in db.execute(
            "SELECT a.answers FROM archived_requests r JOIN archive a"
            " ON a.first_seq = r.first_seq WHERE r.key = ?", (request_key(request_id),)
    ).fetchall():
        for line in unpack(blob):
            row = json.loads(line)
            if row[0] == request_id:
                return row[1], row[2]
    return None


def tickets(db: Connection, business_day: str) -> list[dict[str, Any]] | None:
    """The tickets of an archived business day, None if that day is not archived."""
    rows = db.execute("SELECT tickets FROM archive WHERE business_day = ?",
                      (business_day,)).fetchall()
    if not rows:
        return None
    return [json.loads(line) for (blob,) in rows for line in unpack(blob)]
