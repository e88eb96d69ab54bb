"""The history the reports read, from the dispatcher's database on a connection of its own
(`qms history import` and `qms report` work while the dispatcher runs).

- Imported tickets (table `history`, one row per business day and number): an import is one
  transaction, every row or none; a row already stored with the same fields changes nothing,
  with other fields it is updated.
- Native tickets (table `tickets`, the dispatcher's own): their `called_at` is the latest call
  (a transfer clears it, the next window's call sets it again), so for a transferred ticket the
  first call is read from the event log: the earliest `ticket_called` event of the ticket.
- Native tickets of archived days (see `archive`) are read from `native_visits`, projected
  when the day was archived.
- A business day that has native tickets is read from them alone: imported rows of that day
  are left out, so a day is never counted twice (the dispatcher's own record wins).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dispatcher.domain.appointments import Booking
from dispatcher.domain.history import Calls, Visit, calls_of, visit_of_ticket
from dispatcher.server.archive import VISIT_COLUMNS, visit_of_row
from dispatcher.server.store import (
    BOOKING_COLUMNS,
    HISTORY_TABLE,
    RATING_COLUMNS,
    TASK_COLUMNS,
    OwnConnection,
    booking_of,
)

COLUMNS = ("business_day", "number", "service_id", "issued_at", "called_at", "finished_at",
           "window", "staff_id", "outcome")


@dataclass(frozen=True)
class Imported:
    added: int
    updated: int
    unchanged: int


def _row(v: Visit) -> tuple[Any, ...]:
    def iso(t: dt.datetime | None) -> str | None:
        return None if t is None else t.isoformat()

    return (v.business_day.isoformat(), v.number, v.service_id, v.issued_at.isoformat(),
            iso(v.called_at), iso(v.finished_at), v.window, v.staff_id, v.outcome)


def _visit(row: tuple[Any, ...]) -> Visit:
    """A `history` row (COLUMNS) as a visit (positional: a month's report reads thousands)."""
    day, number, service_id, issued, called, finished, window, staff_id, outcome = row
    when = dt.datetime.fromisoformat
    return Visit(business_day=dt.date.fromisoformat(day), number=number, service_id=service_id,
                 issued_at=when(issued), called_at=when(called) if called else None,
                 finished_at=when(finished) if finished else None, window=window,
                 staff_id=staff_id, outcome=outcome, source="import")


def _quoted(names: Iterable[str]) -> str:
    return ", ".join(f'"{c}"' for c in names)


# Finished report views by month, kept across restarts (a closed month's figures are built
# once): `key` names everything they were built from (the data's fingerprint, the config, the
# code), a view under another key is built again.
REPORT_VIEWS_TABLE = """CREATE TABLE IF NOT EXISTS report_views (
    month TEXT PRIMARY KEY,
    key TEXT NOT NULL,
    report TEXT NOT NULL
)"""


class HistoryStore(OwnConnection):
    def __init__(self, path: str | Path) -> None:
        super().__init__(path, (HISTORY_TABLE, REPORT_VIEWS_TABLE))

    def _query(self, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._conn.execute(sql, tuple(params)).fetchall()

    def _has_table(self, name: str) -> bool:
        return bool(self._query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                                (name,)))

    # -- imported history ---------------------------------------------------------------------

    def import_visits(self, visits: list[Visit]) -> Imported:
        """Store checked visits in one transaction: new rows added, changed ones updated."""
        added = updated = 0
        changed: set[str] = set()  # the months of rows added or updated
        columns = ", ".join(f'"{c}"' for c in COLUMNS)
        with self._tx():
            for v in visits:
                row = _row(v)
                old = self._conn.execute(
                    f"SELECT {columns} FROM history WHERE business_day = ? AND number = ?",
                    row[:2]).fetchone()
                if old is None:
                    self._conn.execute(f"INSERT INTO history({columns}) VALUES "
                                       f"({', '.join('?' * len(COLUMNS))})", row)
                    added += 1
                    changed.add(row[0][:7])
                elif tuple(old) != row:
                    self._conn.execute(
                        "UPDATE history SET service_id = ?, issued_at = ?, called_at = ?,"
                        ' finished_at = ?, "window" = ?, staff_id = ?, outcome = ?'
                        " WHERE business_day = ? AND number = ?", (*row[2:], *row[:2]))
                    updated += 1
                    changed.add(row[0][:7])
            if changed:  # what the reports' kept views are keyed by: per month
                self._conn.execute("CREATE TABLE IF NOT EXISTS history_changes"
                                   " (month TEXT PRIMARY KEY, n INTEGER NOT NULL)")
                self._conn.executemany(
                    "INSERT INTO history_changes(month, n) VALUES (?, 1)"
                    " ON CONFLICT(month) DO UPDATE SET n = n + 1", [(m,) for m in changed])
        return Imported(added, updated, len(visits) - added - updated)

    def imported(self, first_day: dt.date, last_day: dt.date) -> list[Visit]:
        """The imported rows of these business days (all of them, native days or not)."""
        columns = ", ".join(f'"{c}"' for c in COLUMNS)
        rows = self._query(f"SELECT {columns} FROM history WHERE business_day BETWEEN ? AND ?"
                           " ORDER BY business_day, issued_at, number",
                           (first_day.isoformat(), last_day.isoformat()))
        return [_visit(r) for r in rows]

    def _native_tables(self) -> list[str]:
        """Where this dispatcher's tickets are: live days in `tickets`, archived ones in
        `native_visits` (tables a database made by an older qms may not have)."""
        return [t for t in ("tickets", "native_visits") if self._has_table(t)]

    def native_days(self, first_day: dt.date, last_day: dt.date) -> set[dt.date]:
        """The business days in this range with tickets of this dispatcher."""
        days: set[dt.date] = set()
        for table in self._native_tables():
            rows = self._query(f"SELECT DISTINCT business_day FROM {table}"
                               " WHERE business_day BETWEEN ? AND ?",
                               (first_day.isoformat(), last_day.isoformat()))
            days |= {dt.date.fromisoformat(d) for (d,) in rows}
        return days

    # -- what the reports read ----------------------------------------------------------------

    def daily_counts(self, first_day: dt.date, last_day: dt.date
                     ) -> dict[dt.date, dict[str, int]]:
        """Tickets per business day and business (native days win over imported ones): what
        the forecast reads, counted by SQLite without reading each ticket."""
        out: dict[dt.date, dict[str, int]] = {}
        span = (first_day.isoformat(), last_day.isoformat())
        for table in self._native_tables():
            for day, sid, n in self._query(
                    f"SELECT business_day, service_id, COUNT(*) FROM {table}"
                    " WHERE business_day BETWEEN ? AND ? GROUP BY business_day, service_id",
                    span):
                counts = out.setdefault(dt.date.fromisoformat(day), {})
                counts[sid] = counts.get(sid, 0) + int(n)
        native = set(out)
        for day, sid, n in self._query(
                "SELECT business_day, service_id, COUNT(*) FROM history"
                " WHERE business_day BETWEEN ? AND ? GROUP BY business_day, service_id", span):
            d = dt.date.fromisoformat(day)
            if d not in native:
                out.setdefault(d, {})[sid] = int(n)
        return out

    def fingerprint(self, first_day: dt.date, last_day: dt.date,
                    today: dt.date | None = None) -> tuple[object, ...]:
        """What changes when these days' data change — a cache key for what is computed from
        them: every import that changed a row, the native tickets, the bookings' and the
        rating follow-ups' last changes, and, for a span reaching `today`, the event log's
        last seq (any call or finish today)."""
        span = (first_day.isoformat(), last_day.isoformat())
        key: list[object] = [self._query(
            "SELECT COUNT(*) FROM history WHERE business_day BETWEEN ? AND ?", span)[0][0]]
        if self._has_table("history_changes"):  # every import that changed these months
            key.append(self._query("SELECT COALESCE(SUM(n), 0) FROM history_changes"
                                   " WHERE month BETWEEN ? AND ?",
                                   (span[0][:7], span[1][:7]))[0][0])
        for table in self._native_tables():
            key.append(self._query(f"SELECT COUNT(*) FROM {table} WHERE business_day"
                                   " BETWEEN ? AND ?", span)[0][0])
        if self._has_table("appointments"):
            key.append(self._query("SELECT COUNT(*), MAX(updated_at) FROM appointments"
                                   " WHERE date BETWEEN ? AND ?", span)[0])
        if self._has_table("rating_tasks"):
            key.append(self._query("SELECT COUNT(*), COUNT(closed_at) FROM rating_tasks"
                                   " WHERE business_day BETWEEN ? AND ?", span)[0])
        if (today is None or last_day >= today) and self._has_table("events"):
            key.append(self._query("SELECT MAX(seq) FROM events")[0][0])
        return tuple(key)

    def kept_report(self, month: str, key: str) -> dict[str, Any] | None:
        """The report of `month` kept under `key`, None if there is none (or another key's)."""
        rows = self._query("SELECT report FROM report_views WHERE month = ? AND key = ?",
                           (month, key))
        return dict(json.loads(rows[0][0])) if rows else None

    def has_kept_report(self, month: str, key: str) -> bool:
        return bool(self._query("SELECT 1 FROM report_views WHERE month = ? AND key = ?",
                                (month, key)))

    def keep_report(self, month: str, key: str, report: dict[str, Any]) -> None:
        with self._tx():
            self._conn.execute("INSERT OR REPLACE INTO report_views(month, key, report)"
                               " VALUES (?, ?, ?)",
                               (month, key, json.dumps(report, ensure_ascii=False)))

    def has_imported(self) -> bool:
        """Is there any imported history?"""
        return bool(self._query("SELECT 1 FROM history LIMIT 1"))

    def first_day(self) -> dt.date | None:
        """The earliest business day with tickets, native or imported."""
        days = [r[0] for r in self._query("SELECT MIN(business_day) FROM history") if r[0]]
        for table in self._native_tables():
            days += [r[0] for r in self._query(f"SELECT MIN(business_day) FROM {table}")
                     if r[0]]
        return dt.date.fromisoformat(min(days)) if days else None

    def bookings(self, first_day: dt.date, last_day: dt.date) -> list[Booking]:
        """The bookings of these days (for the report's figures: names are not read)."""
        if not self._has_table("appointments"):
            return []
        columns = ", ".join(BOOKING_COLUMNS)
        return [booking_of(r) for r in self._query(
            f"SELECT {columns} FROM appointments WHERE date BETWEEN ? AND ?",
            (first_day.isoformat(), last_day.isoformat()))]

    def ratings(self, first_day: dt.date, last_day: dt.date
                ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The ratings of these business days and their follow-up tasks."""
        if not self._has_table("ratings"):
            return [], []
        span = (first_day.isoformat(), last_day.isoformat())
        ratings = [dict(zip(RATING_COLUMNS, r, strict=True)) for r in self._query(
            f"SELECT {_quoted(RATING_COLUMNS)} FROM ratings"
            " WHERE business_day BETWEEN ? AND ?", span)]
        tasks = [dict(zip(TASK_COLUMNS, r, strict=True)) for r in self._query(
            f"SELECT {_quoted(TASK_COLUMNS)}"
            " FROM rating_tasks WHERE business_day BETWEEN ? AND ?", span)]
        return ratings, tasks

    def visits(self, first_day: dt.date, last_day: dt.date) -> list[Visit]:
        """Every visit of these business days: native tickets, and imported rows of the days
        without native tickets; ordered by day and time of issue."""
        native = self.native(first_day, last_day)
        imported = self.imported(first_day, last_day)  # in this order already
        if not native:
            return imported
        days = {v.business_day for v in native}
        out = native + [v for v in imported if v.business_day not in days]
        out.sort(key=lambda v: (v.business_day, v.issued_at, v.number))
        return out

    def native(self, first_day: dt.date, last_day: dt.date) -> list[Visit]:
        """This dispatcher's tickets of these business days: archived days as they were
        projected when archived, live ones from their tickets (first calls from the log)."""
        span = (first_day.isoformat(), last_day.isoformat())
        out: list[Visit] = []
        tables = self._native_tables()
        if "native_visits" in tables:
            columns = ", ".join(f'"{c}"' for c in VISIT_COLUMNS)
            out += [visit_of_row(r) for r in self._query(
                f"SELECT {columns} FROM native_visits WHERE business_day BETWEEN ? AND ?",
                span)]
        if "tickets" in tables:
            tickets = [json.loads(d) for (d,) in self._query(
                "SELECT data FROM tickets WHERE business_day BETWEEN ? AND ?", span)]
            moved = [t for t in tickets if int(t.get("transfers") or 0)]
            calls = self._calls(moved) if moved else {}
            for t in tickets:
                found = calls.get(t["id"]) or Calls()
                out.append(visit_of_ticket(t, found.first_called_at, found.transferred_by))
        return out

    def _calls(self, tickets: list[dict[str, Any]]) -> dict[str, Calls]:
        """The first call and the transfers of each of these tickets, from the event log.
        Event times never go backwards, so the log's part between the first issue and the last
        finish is found by binary search on the (unindexed) time and read alone."""
        if not self._has_table("events"):
            return {}
        start = min(dt.datetime.fromisoformat(t["issued_at"]) for t in tickets)
        ends = [t.get("finished_at") for t in tickets]
        end = None if None in ends else max(dt.datetime.fromisoformat(e) for e in ends if e)
        lo = self._seq_at(start)
        hi = self._seq_at(end, after=True) if end is not None else None
        sql = ("SELECT json_extract(data, '$.ticket_id'), data FROM events"
               " WHERE type IN ('ticket_called', 'ticket_transferred') AND seq >= ?")
        params: list[Any] = [lo]
        if hi is not None:
            sql += " AND seq < ?"
            params.append(hi)
        wanted = {t["id"] for t in tickets}
        return calls_of(json.loads(data) for tid, data in self._query(sql + " ORDER BY seq",
                                                                      params) if tid in wanted)

    def _seq_at(self, when: dt.datetime, after: bool = False) -> int:
        """The smallest seq whose event is at or after `when` (strictly after if `after`)."""
        bounds = self._query("SELECT MIN(seq), MAX(seq) FROM events")[0]
        if bounds[0] is None:
            return 0
        lo, hi = int(bounds[0]), int(bounds[1]) + 1
        while lo < hi:
            mid = (lo + hi) // 2
            found = self._query("SELECT seq, at FROM events WHERE seq >= ? ORDER BY seq LIMIT 1",
                                (mid,))
            at = dt.datetime.fromisoformat(found[0][1]) if found else None
            if at is None or (at > when if after else at >= when):
                hi = mid
            else:
                lo = int(found[0][0]) + 1
        return lo
