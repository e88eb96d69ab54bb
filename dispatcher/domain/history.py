"""History: the tickets the reports read, one `Visit` each, whether this dispatcher issued them
(`native`, from its tickets table) or they came from an older system's export (`import`, the
history CSV of PROTOCOL.md "History and reports"). Pure: no files, no database.

The CSV's times are local, on the row's business day, in the center's time zone; every row is
checked and every problem is given as ``line K: …`` (K the physical line, the header is line 1).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import re
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

CSV_COLUMNS = ("date", "number", "service_id", "issued_at", "called_at", "finished_at",
               "window", "staff_id", "outcome")
OUTCOMES = ("done", "no_show", "cancelled")
OPEN = "open"  # a native ticket still waiting or called: counted as a ticket, nothing else
SOURCES = ("native", "import")
# Which optional columns an outcome needs (required) or forbids (must be empty).
REQUIRED = {"done": ("called_at", "finished_at", "window", "staff_id"),
            "no_show": ("called_at", "window"), "cancelled": ()}
FORBIDDEN = {"done": (), "no_show": (), "cancelled": ("called_at", "window", "staff_id")}
MAX_WINDOW = 999
_DAY_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TIME_RE = re.compile(r"(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]")
_NUMBER_RE = re.compile(r"[A-Za-z0-9]{1,10}")
_STAFF_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")  # as a config id
_WINDOW_RE = re.compile(r"[0-9]{1,3}")


@dataclass(frozen=True, slots=True)
class Visit:
    """One ticket as the reports see it. Times are timezone-aware.

    `called_at` is the FIRST call (the wait is first call − issue); `last_called_at` the call
    at `window` after the last transfer (None: the same as `called_at`). `window` and
    `staff_id` are where and by whom it was finished (or marked absent)."""

    business_day: dt.date
    number: str
    service_id: str
    issued_at: dt.datetime
    called_at: dt.datetime | None
    finished_at: dt.datetime | None
    window: int | None
    staff_id: str | None
    outcome: str  # done | no_show | cancelled | open (native only)
    transfers: int = 0
    appointment: bool = False
    source: str = "import"
    last_called_at: dt.datetime | None = None
    # (staff, business) of each transfer away, in order: who called it and sent it on (native
    # tickets only: an imported export does not say)
    transferred_by: tuple[tuple[str, str], ...] = ()

    @property
    def window_call(self) -> dt.datetime | None:
        """The call at `window`: the one a call-next there made."""
        return self.last_called_at or self.called_at


def parse_history_csv(text: str, services: Container[str], tz: dt.tzinfo
                      ) -> tuple[list[Visit], list[str]]:
    """The visits of a history export, or ([], every problem as "line K: …"): all or none."""
    if text.startswith("\ufeff"):
        text = text[1:]
    reader = csv.reader(io.StringIO(text, newline=""))
    visits: list[Visit] = []
    problems: list[str] = []
    seen: dict[tuple[dt.date, str], int] = {}
    try:
        header = next(reader, None)
        if header is None or tuple(h.strip() for h in header) != CSV_COLUMNS:
            found = "the file is empty" if header is None else f"found {','.join(header)!r}"
            return [], [f"line 1: the header must be exactly {','.join(CSV_COLUMNS)} ({found})"]
        for fields in reader:
            line = reader.line_num
            if not fields:
                continue  # a blank line
            visit, errors = parse_row(fields, services, tz)
            if visit is not None:
                key = (visit.business_day, visit.number)
                if key in seen:
                    errors.append(f"ticket {visit.number} of {visit.business_day} is already "
                                  f"on line {seen[key]}")
                else:
                    seen[key] = line
                    visits.append(visit)
            problems.extend(f"line {line}: {e}" for e in errors)
    except csv.Error as exc:
        problems.append(f"line {reader.line_num}: not readable as CSV: {exc}")
    return ([] if problems else visits), problems


def parse_row(fields: list[str], services: Container[str], tz: dt.tzinfo
              ) -> tuple[Visit | None, list[str]]:
    """One visit from the fields of a row, or (None, every problem with it)."""
    if len(fields) != len(CSV_COLUMNS):
        return None, [f"expected {len(CSV_COLUMNS)} fields ({','.join(CSV_COLUMNS)}), "
                      f"found {len(fields)}"]
    row = dict(zip(CSV_COLUMNS, (f.strip() for f in fields), strict=True))
    problems: list[str] = []
    day = _day(row["date"], problems)
    number = row["number"]
    if not _NUMBER_RE.fullmatch(number):
        problems.append(f"number {number!r} must be 1–10 letters or digits")
    service_id = row["service_id"]
    if service_id not in services:
        problems.append(f"unknown business {service_id!r}")
    outcome = row["outcome"]
    if outcome not in OUTCOMES:
        problems.append(f"outcome {outcome!r} must be one of {', '.join(OUTCOMES)}")
    else:
        for key in REQUIRED[outcome]:
            if not row[key]:
                problems.append(f"{key} is required when the outcome is {outcome}")
        for key in FORBIDDEN[outcome]:
            if row[key]:
                problems.append(f"{key} must be empty when the outcome is {outcome}")
    times = {key: _time(row, key, problems) for key in ("issued_at", "called_at", "finished_at")}
    if not row["issued_at"]:
        problems.append("issued_at is required")
    window: int | None = None
    if row["window"]:
        if _WINDOW_RE.fullmatch(row["window"]) and 1 <= int(row["window"]) <= MAX_WINDOW:
            window = int(row["window"])
        else:
            problems.append(f"window {row['window']!r} must be a number 1–{MAX_WINDOW}")
    staff_id = row["staff_id"] or None
    if staff_id is not None and not _STAFF_RE.fullmatch(staff_id):
        problems.append(f"staff_id {staff_id!r} is not a valid id (a–z, 0–9, - or _)")
    ordered = [(k, t) for k, t in times.items() if t is not None]
    for (k1, t1), (k2, t2) in itertools.pairwise(ordered):
        if t2 < t1:
            problems.append(f"{k2} {t2:%H:%M:%S} is before {k1} {t1:%H:%M:%S}")
    issued = times["issued_at"]
    if problems or day is None or issued is None:
        return None, problems

    def local(t: dt.time | None) -> dt.datetime | None:
        return None if t is None else dt.datetime.combine(day, t, tzinfo=tz)

    issued_at = local(issued)
    assert issued_at is not None
    return Visit(business_day=day, number=number, service_id=service_id, issued_at=issued_at,
                 called_at=local(times["called_at"]), finished_at=local(times["finished_at"]),
                 window=window, staff_id=staff_id, outcome=outcome, source="import"), []


def _day(text: str, problems: list[str]) -> dt.date | None:
    try:
        if not _DAY_RE.fullmatch(text):
            raise ValueError
        return dt.date.fromisoformat(text)
    except ValueError:
        problems.append(f"date {text!r} is not a day YYYY-MM-DD")
        return None


def _time(row: Mapping[str, str], key: str, problems: list[str]) -> dt.time | None:
    text = row[key]
    if not text:
        return None
    if not _TIME_RE.fullmatch(text):
        problems.append(f"{key} {text!r} is not a time HH:MM:SS")
        return None
    return dt.time.fromisoformat(text)


@dataclass
class Calls:
    """What a ticket's events say beyond its final state: its first call and who
    transferred it away (see `calls_of`)."""

    first_called_at: dt.datetime | None = None
    transferred_by: list[tuple[str, str]] = field(default_factory=list)


def calls_of(messages: Iterable[Mapping[str, Any]]) -> dict[str, Calls]:
    """Per ticket, from its `ticket_called` and `ticket_transferred` event messages in log
    order: the first call, and for each transfer the staff member and business of the call
    before it (the message's ticket snapshot: `served_by`, `service_id`)."""
    out: dict[str, Calls] = {}
    last: dict[str, tuple[str | None, str]] = {}
    for m in messages:
        tid = m.get("ticket_id")
        if tid is None:
            continue
        if m["type"] == "ticket_called":
            calls = out.setdefault(tid, Calls())
            if calls.first_called_at is None:
                calls.first_called_at = dt.datetime.fromisoformat(m["at"])
            snapshot = m.get("ticket") or {}
            last[tid] = (snapshot.get("served_by"), str(snapshot.get("service_id", "")))
        elif m["type"] == "ticket_transferred":
            who, service = last.get(tid, (None, ""))
            if who:
                out.setdefault(tid, Calls()).transferred_by.append((who, service))
    return out


def visit_of_ticket(ticket: Mapping[str, Any], first_called_at: dt.datetime | None = None,
                    transferred_by: Iterable[tuple[str, str]] = ()) -> Visit:
    """A native ticket (the TICKET dict of the API) as a visit.

    The ticket's `called_at` is its latest call: a transfer clears it and the next window's
    call sets it again (recalls leave it alone). So it is the first call when `transfers` is
    0; otherwise pass the first call (from the event log) as `first_called_at` — without it the
    latest call stands in. A ticket still waiting or called is `open`."""

    def when(key: str) -> dt.datetime | None:
        value = ticket.get(key)
        return dt.datetime.fromisoformat(value) if value else None

    issued_at = when("issued_at")
    assert issued_at is not None
    status = str(ticket["status"])
    last_called = when("called_at")
    transfers = int(ticket.get("transfers") or 0)
    called = first_called_at if transfers and first_called_at is not None else last_called
    window = ticket.get("window")
    return Visit(
        business_day=dt.date.fromisoformat(ticket["business_day"]), number=ticket["number"],
        service_id=ticket["service_id"], issued_at=issued_at, called_at=called,
        finished_at=when("finished_at"), window=None if window is None else int(window),
        staff_id=ticket.get("served_by"), outcome=status if status in OUTCOMES else OPEN,
        transfers=transfers, appointment=bool(ticket.get("appointment_code")),
        source="native", last_called_at=last_called if last_called != called else None,
        transferred_by=tuple(transferred_by))
