"""Appointments (预约): the bookings from the city portal, their validation, the check-in rule,
and the masking of personal data. Pure: no files, no clock of its own.

A booking is for one business on one day, in one slot offered by `[appointments]` (slots of
`slot_min` minutes inside `hours`, on working days). At most `capacity` live bookings share a
slot of a business. The booking code is the key.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from base.errors import ErrorCode, QmsError
from dispatcher.domain.calendar import is_working_day

CSV_COLUMNS = ("code", "service_id", "date", "slot_start", "slot_end", "name", "phone")
CODE_RE = re.compile(r"[A-Za-z0-9-]{4,32}")
PHONE_RE = re.compile(r"(\+?86)?1[3-9][0-9]{9}|0[0-9]{2,3}-?[0-9]{7,8}")
MAX_NAME = 40
STATUSES = ("booked", "checked_in", "served", "no_show", "cancelled")
LIVE = ("booked", "checked_in", "served")  # what takes a place in its slot


@dataclass(frozen=True)
class AppointmentSettings:
    """The [appointments] section."""

    hours: tuple[tuple[dt.time, dt.time], ...] = ((dt.time(9, 0), dt.time(11, 30)),
                                                  (dt.time(13, 30), dt.time(16, 30)))
    slot_min: int = 30
    capacity: int = 4  # live bookings per slot per business
    bookable: tuple[str, ...] = ()  # businesses that take bookings; () = every business
    check_in_before_min: int = 30  # check-in opens this long before the slot starts
    retention_days: int = 30  # names and phone numbers are erased this long after the visit
    holidays: frozenset[dt.date] = frozenset()
    workdays: frozenset[dt.date] = frozenset()

    def slots(self) -> list[tuple[dt.time, dt.time]]:
        """Every slot offered on a working day, in order."""
        out = []
        step = dt.timedelta(minutes=self.slot_min)
        for start, end in self.hours:
            at = dt.datetime.combine(dt.date.min, start)
            while (at + step).time() <= end and at + step > at:
                out.append((at.time(), (at + step).time()))
                at += step
        return out

    def next_working_day(self, today: dt.date) -> dt.date:
        """The day after `today` that takes bookings: whose residents are called today."""
        day = today + dt.timedelta(days=1)
        for _ in range(60):
            if is_working_day(day, self.holidays, self.workdays):
                return day
            day += dt.timedelta(days=1)
        return today + dt.timedelta(days=1)

    def offers(self, service_id: str, day: dt.date, start: dt.time, end: dt.time) -> bool:
        return (not self.bookable or service_id in self.bookable) \
            and is_working_day(day, self.holidays, self.workdays) \
            and (start, end) in self.slots()


@dataclass(frozen=True)
class Booking:
    code: str
    service_id: str
    date: dt.date
    slot_start: dt.time
    slot_end: dt.time
    name: str | None = None
    phone: str | None = None
    status: str = "booked"
    ticket_id: str | None = None
    followup: Mapping[str, Any] | None = field(default=None, compare=False)

    def same_booking(self, other: Booking) -> bool:
        """What an import sets is the same (status and follow-up are ours, not the portal's)."""
        return (self.service_id, self.date, self.slot_start, self.slot_end, self.name,
                self.phone) == (other.service_id, other.date, other.slot_start, other.slot_end,
                                other.name, other.phone)

    def to_dict(self, masked: bool = True) -> dict[str, Any]:
        """The APPT object of the API; name and phone masked unless `masked` is False."""
        return {
            "code": self.code, "service_id": self.service_id, "date": self.date.isoformat(),
            "slot_start": self.slot_start.strftime("%H:%M"),
            "slot_end": self.slot_end.strftime("%H:%M"), "status": self.status,
            "ticket_id": self.ticket_id,
            "followup": dict(self.followup) if self.followup else None,
            "name": mask_name(self.name) if masked else self.name,
            "phone": mask_phone(self.phone) if masked else self.phone,
        }


def mask_phone(phone: str | None) -> str | None:
    """138****5678: the first 3 and last 4 digits kept (the usual Chinese masking)."""
    if not phone:
        return phone
    digits = re.sub(r"\D", "", phone)
    if len(digits) < 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_name(name: str | None) -> str | None:
    """张*, 欧阳** : the first character kept."""
    if not name:
        return name
    return name[0] + "*" * (len(name) - 1) if len(name) > 1 else "*"


def _time(text: str) -> dt.time | None:
    if not re.fullmatch(r"[0-2][0-9]:[0-5][0-9]", text):
        return None
    try:
        return dt.time.fromisoformat(text)
    except ValueError:
        return None


def parse_row(row: Mapping[str, str], services: Iterable[str],
              settings: AppointmentSettings) -> tuple[Booking | None, list[str]]:
    """One booking from its fields, or every problem with it."""
    problems = []
    code = (row.get("code") or "").strip()
    if not CODE_RE.fullmatch(code):
        problems.append(f"code {code!r} must be 4–32 letters, digits or '-'")
    service_id = (row.get("service_id") or "").strip()
    if service_id not in set(services):
        problems.append(f"unknown business {service_id!r}")
    elif settings.bookable and service_id not in settings.bookable:
        problems.append(f"business {service_id!r} takes no bookings")
    day: dt.date | None = None
    try:
        day = dt.date.fromisoformat((row.get("date") or "").strip())
    except ValueError:
        problems.append(f"date {row.get('date')!r} is not YYYY-MM-DD")
    start, end = _time((row.get("slot_start") or "").strip()), \
        _time((row.get("slot_end") or "").strip())
    if start is None or end is None:
        problems.append(f"slot {row.get('slot_start')!r}–{row.get('slot_end')!r} is not "
                        "HH:MM–HH:MM")
    elif day is not None and not problems:
        if not is_working_day(day, settings.holidays, settings.workdays):
            problems.append(f"{day} is not a working day")
        elif (start, end) not in settings.slots():
            offered = ", ".join(f"{a:%H:%M}–{b:%H:%M}" for a, b in settings.slots()[:3])
            problems.append(f"slot {start:%H:%M}–{end:%H:%M} is not offered "
                            f"(slots are {settings.slot_min} min: {offered} …)")
    name = (row.get("name") or "").strip() or None
    if name is not None and (len(name) > MAX_NAME or any(ord(ch) < 32 for ch in name)):
        problems.append(f"name is longer than {MAX_NAME} characters or has control characters")
    phone = (row.get("phone") or "").strip() or None
    if phone is not None and not PHONE_RE.fullmatch(phone):
        problems.append("phone is not a mobile (1xxxxxxxxxx) or landline (0xx-xxxxxxxx) number")
    if problems or day is None or start is None or end is None:
        return None, problems
    return Booking(code, service_id, day, start, end, name, phone), []


def parse_csv(text: str, services: Iterable[str], settings: AppointmentSettings,
              existing: Mapping[str, Booking]) -> tuple[list[Booking], list[str]]:
    """The bookings of a portal export, or every problem in it ("line K: …"): all or none.

    `existing` are the stored bookings by code: a row with a known code is an update (a
    changed slot); capacity counts them, the file's rows taking their place."""
    if text.startswith("\ufeff"):
        text = text[1:]
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = tuple(h.strip() for h in (reader.fieldnames or ()))
    if header[:len(CSV_COLUMNS)] != CSV_COLUMNS:
        return [], [f"line 1: the header must be {','.join(CSV_COLUMNS)}"]
    bookings: list[Booking] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    services = list(services)
    for row in reader:
        line = reader.line_num
        booking, errors = parse_row(row, services, settings)
        code = (row.get("code") or "").strip()
        if code in seen:
            errors.append(f"code {code} is already on line {seen[code]}")
        seen.setdefault(code, line)
        problems.extend(f"line {line}: {e}" for e in errors)
        if booking is not None and not errors:
            old = existing.get(booking.code)
            if old is not None and old.status not in ("booked", "cancelled") \
                    and not old.same_booking(booking):
                problems.append(f"line {line}: booking {booking.code} is {old.status} "
                                "already: it cannot change")
            bookings.append(booking)
    problems.extend(capacity_problems(bookings, existing, settings))
    return ([] if problems else bookings), problems


def capacity_problems(new: list[Booking], existing: Mapping[str, Booking],
                      settings: AppointmentSettings) -> list[str]:
    """A slot of a business over capacity once `new` (by code) replace what is stored."""
    merged = dict(existing)
    for b in new:
        old = merged.get(b.code)
        merged[b.code] = replace(b, status=old.status if old and old.status != "cancelled"
                                 else "booked", ticket_id=old.ticket_id if old else None)
    count: dict[tuple[str, dt.date, dt.time], list[str]] = {}
    for b in merged.values():
        if b.status in LIVE:
            count.setdefault((b.service_id, b.date, b.slot_start), []).append(b.code)
    touched = {(b.service_id, b.date, b.slot_start) for b in new}
    return [f"slot {day} {start:%H:%M} of {sid} would hold {len(codes)} bookings, "
            f"capacity {settings.capacity}"
            for (sid, day, start), codes in sorted(count.items())
            if (sid, day, start) in touched and len(codes) > settings.capacity]


def check_in_problem(booking: Booking | None, now: dt.datetime, tz: dt.tzinfo,
                     settings: AppointmentSettings) -> tuple[str, str] | None:
    """Why a code cannot check in now: (error code, message saying when), or None."""
    if booking is None:
        return "unknown_appointment", "没有这个预约码 / no appointment with this code"
    if booking.status == "cancelled":
        return "appointment_cancelled", "该预约已取消 / this appointment was cancelled"
    if booking.status == "no_show":
        return "appointment_too_late", "预约时段已过 / the slot is over"
    local = now.astimezone(tz)
    opens = dt.datetime.combine(booking.date, booking.slot_start, tz) - dt.timedelta(
        minutes=settings.check_in_before_min)
    closes = dt.datetime.combine(booking.date, booking.slot_end, tz)
    if local.date() != booking.date:
        return "appointment_not_today", f"预约日期为 {booking.date} / booked for {booking.date}"
    if local < opens:
        return "appointment_too_early", f"{opens:%H:%M} 起可签到 / check-in opens at {opens:%H:%M}"
    if local >= closes:
        return "appointment_too_late", f"签到已于 {closes:%H:%M} 截止 / check-in closed at " \
                                       f"{closes:%H:%M}"
    return None


# -- 预约回访: the call a day ahead ---------------------------------------------------------

FOLLOWUP_OUTCOMES = ("confirmed", "rescheduled", "cancelled", "unreachable")
MAX_FOLLOWUP_NOTE = 500
MAX_ATTEMPTS = 3  # unreachable this many times: nobody calls again (the list counts it done)
CLAIM_MIN = 15  # a call taken by one staff member is theirs this long (then anyone may take it)


class FollowupRefused(QmsError):
    """A follow-up the booking's state or the request refuses (nothing changes)."""


def _refuse_closed(booking: Booking | None, code: str) -> Booking:
    if booking is None:
        raise FollowupRefused(ErrorCode.UNKNOWN_APPOINTMENT, f"no appointment with code {code!r}")
    if booking.status == "cancelled":
        raise FollowupRefused(ErrorCode.APPOINTMENT_CANCELLED, f"booking {code} is cancelled")
    if booking.status in ("checked_in", "served"):
        raise FollowupRefused(ErrorCode.APPOINTMENT_CHECKED_IN,
                              f"booking {code} is {booking.status}: the visit took place")
    if booking.status == "no_show":
        raise FollowupRefused(ErrorCode.APPOINTMENT_TOO_LATE, f"booking {code}: the slot is over")
    return booking


def caller_of(booking: Booking, now: dt.datetime) -> str | None:
    """Who is calling this resident now (a claim lapses after CLAIM_MIN minutes)."""
    f = booking.followup or {}
    caller, since = f.get("caller"), f.get("claimed_at")
    if not caller or not since:
        return None
    if now - dt.datetime.fromisoformat(since) >= dt.timedelta(minutes=CLAIM_MIN):
        return None
    return str(caller)


def claim_followup(booking: Booking | None, code: str, by: str, now: dt.datetime) -> Booking:
    """`by` takes the call: only they see the full phone number until they record it."""
    booking = _refuse_closed(booking, code)
    holder = caller_of(booking, now)
    if holder is not None and holder != by:
        raise FollowupRefused(ErrorCode.FOLLOWUP_TAKEN, f"{holder} is calling this resident")
    followup = dict(booking.followup or {})
    followup.update(caller=by, claimed_at=now.isoformat())
    return replace(booking, followup=followup)


def record_followup(booking: Booking | None, code: str, *, outcome: str, missing: Iterable[str],
                    note: str | None, by: str, now: dt.datetime, request_id: str | None,
                    materials: Iterable[str]) -> Booking:
    """The booking once the call's outcome is recorded: attempts counted, the call released,
    a cancelled booking's place freed (status cancelled). The same request again (a retry)
    changes nothing. A call another staff member holds is theirs to record."""
    if booking is not None and request_id and (booking.followup or {}).get(
            "request_id") == request_id:
        return booking
    booking = _refuse_closed(booking, code)
    if outcome not in FOLLOWUP_OUTCOMES:
        raise FollowupRefused(ErrorCode.INVALID_APPOINTMENT,
                              f"outcome must be one of {', '.join(FOLLOWUP_OUTCOMES)}")
    holder = caller_of(booking, now)
    if holder is not None and holder != by:
        raise FollowupRefused(ErrorCode.FOLLOWUP_TAKEN, f"{holder} is calling this resident")
    checklist = list(materials)
    missing = [m.strip() for m in missing if m.strip()]
    unknown = [m for m in missing if m not in checklist]
    if unknown:
        raise FollowupRefused(ErrorCode.INVALID_APPOINTMENT,
                              f"not on the business's checklist: {', '.join(unknown)}")
    note = (note or "").strip() or None
    if note is not None and (len(note) > MAX_FOLLOWUP_NOTE
                             or any(ord(ch) < 32 and ch not in "\n\t" for ch in note)):
        raise FollowupRefused(ErrorCode.INVALID_APPOINTMENT,
                              f"the note is longer than {MAX_FOLLOWUP_NOTE} characters "
                              "or has control characters")
    old = dict(booking.followup or {})
    attempts = int(old.get("attempts", 0)) + 1
    history = [*old.get("history", []), {"outcome": outcome, "by": by, "at": now.isoformat()}]
    followup = {"outcome": outcome, "attempts": attempts,
                "missing": sorted(set(missing), key=checklist.index), "note": note, "by": by,
                "at": now.isoformat(), "request_id": request_id, "history": history}
    return replace(booking, followup=followup,
                   status="cancelled" if outcome == "cancelled" else booking.status)


def followup_done(booking: Booking) -> bool:
    """Nobody needs to call this resident (again)."""
    f = booking.followup or {}
    if booking.status != "booked":
        return True
    outcome = f.get("outcome")
    return outcome in ("confirmed", "rescheduled", "cancelled") or (
        outcome == "unreachable" and int(f.get("attempts", 0)) >= MAX_ATTEMPTS)
