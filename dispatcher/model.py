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
    window: int | None = None  # the window serving (or that served) it
    target_window: int | None = None  # reserved for this window by a transfer
    called_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    calls: int = 0  # times announced, recalls included
    transfers: int = 0
    cancel_reason: str | None = None
    print_status: str = "pending"  # pending (not reported yet) | printed | failed
    print_error: str | None = None

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
            "window": self.window,
            "target_window": self.target_window,
            "called_at": self.called_at.isoformat() if self.called_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "calls": self.calls,
            "transfers": self.transfers,
            "cancel_reason": self.cancel_reason,
            "print_status": self.print_status,
            "print_error": self.print_error,
        }


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
    windows: dict[int, WindowState] = field(default_factory=dict)
    diversion_on: bool = False  # short high-frequency diversion at the green windows
    green_channel_mode: GreenChannelMode = GreenChannelMode.AUTO
    issued_total: int = 0  # tickets issued over all days
    seq: int = 0  # number of events applied
    recent_calls: list[dict[str, Any]] = field(default_factory=list)  # newest first

    def waiting_tickets(self) -> list[Ticket]:
        return [self.tickets[t] for t in self.waiting]

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
        }
