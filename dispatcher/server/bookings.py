"""The bookings' table (`appointments`) in the dispatcher's database, on a connection of its
own: `qms appointments import` works while the dispatcher runs. An import is one transaction:
every row or none. Names and phone numbers are personal data: never logged here.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dispatcher.domain.appointments import Booking
from dispatcher.server.store import (
    APPOINTMENTS_INDEX,
    APPOINTMENTS_TABLE,
    BOOKING_COLUMNS,
    OwnConnection,
    booking_of,
)


@dataclass(frozen=True)
class Imported:
    added: int
    updated: int
    unchanged: int


class BookingStore(OwnConnection):
    def __init__(self, path: str | Path) -> None:
        super().__init__(path, (APPOINTMENTS_TABLE, APPOINTMENTS_INDEX))

    def _select(self, where: str = "", params: Iterable[Any] = ()) -> list[Booking]:
        sql = f"SELECT {', '.join(BOOKING_COLUMNS)} FROM appointments {where} ORDER BY date, " \
              "slot_start, code"
        with self._lock:
            rows = self._conn.execute(sql, tuple(params)).fetchall()
        return [booking_of(r) for r in rows]

    def all(self) -> dict[str, Booking]:
        """Every booking by code (for an import's checks: capacity, changes)."""
        return {b.code: b for b in self._select()}

    def on(self, day: dt.date) -> list[Booking]:
        return self._select("WHERE date = ?", (day.isoformat(),))

    def get(self, code: str) -> Booking | None:
        found = self._select("WHERE code = ?", (code,))
        return found[0] if found else None

    def set_status(self, code: str, status: str, at: dt.datetime) -> None:
        with self._tx():
            self._conn.execute("UPDATE appointments SET status = ?, updated_at = ? WHERE code = ?",
                               (status, at.isoformat(), code))

    def change(self, code: str, decide: Callable[[Booking | None, Callable[[dt.date],
               list[Booking]]], Booking], at: dt.datetime) -> Booking:
        """Change one booking atomically: `decide(old, day_of)` (day_of reads a day's bookings
        inside the transaction) returns the booking to store, or raises to change nothing."""
        columns = ", ".join(BOOKING_COLUMNS)
        with self._tx():
            def day_of(day: dt.date) -> list[Booking]:
                return [booking_of(r) for r in self._conn.execute(
                    f"SELECT {columns} FROM appointments WHERE date = ?", (day.isoformat(),))]

            row = self._conn.execute(f"SELECT {columns} FROM appointments WHERE code = ?",
                                     (code,)).fetchone()
            new = decide(booking_of(row) if row else None, day_of)
            self._conn.execute(
                "UPDATE appointments SET service_id = ?, date = ?, slot_start = ?, slot_end = ?,"
                " status = ?, followup = ?, updated_at = ? WHERE code = ?",
                (new.service_id, new.date.isoformat(), new.slot_start.strftime("%H:%M"),
                 new.slot_end.strftime("%H:%M"), new.status,
                 json.dumps(dict(new.followup), ensure_ascii=False) if new.followup else None,
                 at.isoformat(), code))
        return new

    def import_bookings(self, bookings: list[Booking], at: dt.datetime) -> Imported:
        """Store checked bookings in one transaction. A known code with the same fields
        changes nothing; with other fields it is updated (a cancelled one booked again)."""
        added = updated = 0
        now = at.isoformat()
        with self._tx():
            for b in bookings:
                row = self._conn.execute(
                    f"SELECT {', '.join(BOOKING_COLUMNS)} FROM appointments WHERE code = ?",
                    (b.code,)).fetchone()
                fields = (b.service_id, b.date.isoformat(), b.slot_start.strftime("%H:%M"),
                          b.slot_end.strftime("%H:%M"), b.name, b.phone)
                if row is None:
                    self._conn.execute(
                        "INSERT INTO appointments(code, service_id, date, slot_start, slot_end,"
                        " name, phone, status, created_at, updated_at)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, 'booked', ?, ?)",
                        (b.code, *fields, now, now))
                    added += 1
                elif not booking_of(row).same_booking(b):
                    old = booking_of(row)
                    status = "booked" if old.status == "cancelled" else old.status
                    self._conn.execute(
                        "UPDATE appointments SET service_id = ?, date = ?, slot_start = ?,"
                        " slot_end = ?, name = ?, phone = ?, status = ?, updated_at = ?"
                        " WHERE code = ?", (*fields, status, now, b.code))
                    updated += 1
        return Imported(added, updated, len(bookings) - added - updated)
