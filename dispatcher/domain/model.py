"""Queue state: tickets, windows and the counters of one business day. Plain data, no I/O."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class TicketStatus(StrEnum):
    WAITING = "waiting"
    CALLED = "called"
    DONE = "done"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"


class WindowStatus(StrEnum):
    OPEN = "open"
    PAUSED = "paused"


class GreenChannelMode(StrEnum):
    AUTO = "auto"  # follow the configured schedule
    ON = "on"
    OFF = "off"


@dataclass
class Ticket:
    id: str
    number: str
    service_id: str
    business_day: dt.date
    issued_at: dt.datetime
    order: int  # position in the issue sequence of all days: the final tie-break
    status: TicketStatus = TicketStatus.WAITING
    sign_language: bool = False
    appointment_code: str | None = None
    appointment_start: dt.datetime | None = None  # the booked slot of a checked-in booking
    appointment_end: dt.datetime | None = None
    window: int | None = None  # the window serving (or that served) it
    target_window: int | None = None  # reserved for this window by a transfer
    called_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    calls: int = 0  # times announced, recalls included
    transfers: int = 0
    cancel_reason: str | None = None
    print_status: str = "pending"  # pending (not reported yet) | printed | failed
    print_error: str | None = None
    rating: int | None = None  # 好差评 score, 1 (非常满意) … 5 (非常不满意)
    served_by: str | None = None  # the staff member signed in at the window that called it

    @property
    def sort_key(self) -> tuple[dt.datetime, int]:
        """Plain order: time of issue (kept across transfers), then issue sequence."""
        return (self.issued_at, self.order)

    def to_dict(self) -> dict[str, Any]:
        """The TICKET object of the LAN API."""
        return {
            "id": self.id,
            "number": self.number,
            "service_id": self.service_id,
            "status": self.status.value,
            "issued_at": self.issued_at.isoformat(),
            "sign_language": self.sign_language,
            "business_day": self.business_day.isoformat(),
            "appointment_code": self.appointment_code,
            "appointment": {
                "code": self.appointment_code,
                "slot_start": self.appointment_start.isoformat(),
                "slot_end": self.appointment_end.isoformat() if self.appointment_end else None,
            } if self.appointment_code and self.appointment_start else None,
            "window": self.window,
            "target_window": self.target_window,
            "called_at": self.called_at.isoformat() if self.called_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "calls": self.calls,
            "transfers": self.transfers,
            "cancel_reason": self.cancel_reason,
            "print_status": self.print_status,
            "print_error": self.print_error,
            "order": self.order,
            "rating": self.rating,
            "served_by": self.served_by,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Ticket:
        """Inverse of `to_dict`."""

        def when(key: str) -> dt.datetime | None:
            value = d.get(key)
            return dt.datetime.fromisoformat(value) if value else None

        issued_at = when("issued_at")
        assert issued_at is not None
        return cls(
            id=d["id"], number=d["number"], service_id=d["service_id"],
            business_day=dt.date.fromisoformat(d["business_day"]), issued_at=issued_at,
            order=int(d.get("order", 0)), status=TicketStatus(d["status"]),
            sign_language=bool(d.get("sign_language")),
            appointment_code=d.get("appointment_code"), window=d.get("window"),
            appointment_start=_slot(d, "slot_start"), appointment_end=_slot(d, "slot_end"),
            target_window=d.get("target_window"), called_at=when("called_at"),
            finished_at=when("finished_at"), calls=int(d.get("calls", 0)),
            transfers=int(d.get("transfers", 0)), cancel_reason=d.get("cancel_reason"),
            print_status=d.get("print_status", "pending"), print_error=d.get("print_error"),
            rating=d.get("rating"), served_by=d.get("served_by"),
        )


def _slot(d: dict[str, Any], key: str) -> dt.datetime | None:
    appointment = d.get("appointment") or {}
    value = appointment.get(key)
    return dt.datetime.fromisoformat(value) if value else None


@dataclass
class WindowState:
    number: int
    green: bool
    status: WindowStatus = WindowStatus.OPEN
    current: str | None = None  # ticket id being served
    staff_id: str | None = None
    last_called_at: dt.datetime | None = None  # last call-next that called someone

    def to_dict(self, tickets: dict[str, Ticket]) -> dict[str, Any]:
        current = tickets.get(self.current) if self.current else None
        return {
            "number": self.number,
            "green": self.green,
            "status": self.status.value,
            "current": current.to_dict() if current else None,
            "staff_id": self.staff_id,
        }


@dataclass
class QueueState:
    """Everything the core knows. Tickets of earlier business days are not kept here."""

    business_day: dt.date | None = None
    counters: dict[str, int] = field(default_factory=dict)  # prefix -> last number today
    tickets: dict[str, Ticket] = field(default_factory=dict)  # today's tickets by id
    waiting: list[str] = field(default_factory=list)  # waiting ticket ids in plain order
    waiting_by_service: dict[str, int] = field(default_factory=dict)  # derived from waiting
    windows: dict[int, WindowState] = field(default_factory=dict)
    diversion_on: bool = False  # short high-frequency diversion at the green windows
    green_channel_mode: GreenChannelMode = GreenChannelMode.AUTO
    issuing_open: bool = True  # False: a manager closed issuing for the rest of the day
    issued_total: int = 0  # tickets issued over all days
    seq: int = 0  # number of events applied
    recent_calls: list[dict[str, Any]] = field(default_factory=list)  # newest first

    def waiting_tickets(self) -> list[Ticket]:
        return [self.tickets[t] for t in self.waiting]

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> QueueState:
        """A state rebuilt from the STATE object of the API: the waiting tickets, the windows
        and their current tickets, recent calls and modes. Finished tickets of the day and
        the numbering counters are not part of STATE, so they are not here either."""
        state = cls(
            business_day=dt.date.fromisoformat(d["date"]) if d.get("date") else None,
            seq=int(d["seq"]),
            diversion_on=bool(d.get("diversion_on")),
            green_channel_mode=GreenChannelMode(d.get("green_channel_mode", "auto")),
            issuing_open=bool(d.get("issuing_open", True)),
            recent_calls=list(d.get("recent_calls", [])),
        )
        for t in d.get("waiting", []):
            ticket = Ticket.from_dict(t)
            state.tickets[ticket.id] = ticket
            state.waiting.append(ticket.id)
            counts = state.waiting_by_service
            counts[ticket.service_id] = counts.get(ticket.service_id, 0) + 1
        for w in d.get("windows", []):
            current = Ticket.from_dict(w["current"]) if w.get("current") else None
            if current is not None:
                state.tickets[current.id] = current
            state.windows[int(w["number"])] = WindowState(
                number=int(w["number"]), green=bool(w["green"]),
                status=WindowStatus(w["status"]), current=current.id if current else None,
                staff_id=w.get("staff_id"),
                last_called_at=current.called_at if current else None,
            )
        orders = [t.order for t in state.tickets.values()]
        state.issued_total = max(orders, default=0)
        return state

    def to_dict(self) -> dict[str, Any]:
        """The STATE object of the LAN API."""
        return {
            "seq": self.seq,
            "date": self.business_day.isoformat() if self.business_day else None,
            "windows": [w.to_dict(self.tickets) for _, w in sorted(self.windows.items())],
            "waiting": [t.to_dict() for t in self.waiting_tickets()],
            "recent_calls": list(self.recent_calls),
            "diversion_on": self.diversion_on,
            "green_channel_mode": self.green_channel_mode.value,
            "issuing_open": self.issuing_open,
        }
