"""Events: the facts the core records. Replaying them in order rebuilds the queue state.

Every event carries the time it happened (`at`, timezone-aware) and the `request_id` of the
command that caused it. `event_to_dict` / `event_from_dict` give the JSON form used by the
store and the LAN (`{"type": "ticket_called", ...}`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True, kw_only=True)
class Event:
    type: ClassVar[str] = ""
    at: dt.datetime
    request_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class DayStarted(Event):
    """A new business day: numbering restarts, earlier tickets leave the live state."""

    type: ClassVar[str] = "day_started"
    day: dt.date


@dataclass(frozen=True, kw_only=True)
class TicketExpired(Event):
    """A ticket left open when its business day ended (waiting → cancelled, called → done)."""

    type: ClassVar[str] = "ticket_expired"
    ticket_id: str


@dataclass(frozen=True, kw_only=True)
class TicketIssued(Event):
    type: ClassVar[str] = "ticket_issued"
    ticket_id: str
    number: str
    service_id: str
    business_day: dt.date
    order: int
    sign_language: bool = False
    appointment_code: str | None = None
    appointment_start: dt.datetime | None = None  # the booked slot (a checked-in appointment)
    appointment_end: dt.datetime | None = None


@dataclass(frozen=True, kw_only=True)
class TicketCalled(Event):
    type: ClassVar[str] = "ticket_called"
    ticket_id: str
    number: str
    window: int
    rule: str  # the policy rule that chose it


@dataclass(frozen=True, kw_only=True)
class TicketRecalled(Event):
    type: ClassVar[str] = "ticket_recalled"
    ticket_id: str
    number: str
    window: int


@dataclass(frozen=True, kw_only=True)
class TicketFinished(Event):
    type: ClassVar[str] = "ticket_finished"
    ticket_id: str
    window: int


@dataclass(frozen=True, kw_only=True)
class TicketNoShow(Event):
    type: ClassVar[str] = "ticket_no_show"
    ticket_id: str
    window: int


@dataclass(frozen=True, kw_only=True)
class TicketTransferred(Event):
    """Back to waiting at its original place in time, maybe for another business or window."""

    type: ClassVar[str] = "ticket_transferred"
    ticket_id: str
    from_window: int
    service_id: str
    target_window: int | None = None


@dataclass(frozen=True, kw_only=True)
class TicketCancelled(Event):
    type: ClassVar[str] = "ticket_cancelled"
    ticket_id: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class WindowPaused(Event):
    type: ClassVar[str] = "window_paused"
    window: int


@dataclass(frozen=True, kw_only=True)
class WindowResumed(Event):
    type: ClassVar[str] = "window_resumed"
    window: int


@dataclass(frozen=True, kw_only=True)
class StaffSignedIn(Event):
    """Who sits at a window (None: signed out; the window then calls any business)."""

    type: ClassVar[str] = "staff_signed_in"
    window: int
    staff_id: str | None


@dataclass(frozen=True, kw_only=True)
class DiversionChanged(Event):
    """Short high-frequency diversion at the green windows switched on or off."""

    type: ClassVar[str] = "diversion_changed"
    on: bool
    waiting_short: int


@dataclass(frozen=True, kw_only=True)
class GreenChannelModeSet(Event):
    type: ClassVar[str] = "green_channel_mode_set"
    mode: str  # auto | on | off


@dataclass(frozen=True, kw_only=True)
class TicketPrintReported(Event):
    """The kiosk says whether the paper ticket came out (a failed one is shown on screen)."""

    type: ClassVar[str] = "ticket_print_reported"
    ticket_id: str
    printed: bool
    error: str | None = None


@dataclass(frozen=True, kw_only=True)
class IssuingSet(Event):
    """A manager closed ticket issuing for the rest of the day (or opened it again). Tickets
    already issued are still called; the next business day opens issuing again."""

    type: ClassVar[str] = "issuing_set"
    open: bool


@dataclass(frozen=True, kw_only=True)
class ReprintRequested(Event):
    """Staff asked the kiosk `kiosk` to print this ticket again (it reports the print)."""

    type: ClassVar[str] = "reprint_requested"
    ticket_id: str
    kiosk: str


@dataclass(frozen=True, kw_only=True)
class TicketRated(Event):
    """A 好差评 score (1 非常满意 … 5 非常不满意) from a window. `ticket_id` (and the ticket's
    number and business) is None when no ticket was being or had just been served there;
    `staff_id` is who sat at the window then."""

    type: ClassVar[str] = "ticket_rated"
    ticket_id: str | None
    window: int
    score: int
    business_day: dt.date
    number: str | None = None
    service_id: str | None = None
    staff_id: str | None = None


EVENT_TYPES: dict[str, type[Event]] = {
    cls.type: cls
    for cls in (
        DayStarted, TicketExpired, TicketIssued, TicketCalled, TicketRecalled, TicketFinished,
        TicketNoShow, TicketTransferred, TicketCancelled, WindowPaused, WindowResumed,
        StaffSignedIn, DiversionChanged, GreenChannelModeSet, TicketPrintReported,
        IssuingSet, ReprintRequested, TicketRated,
    )
}


def event_to_dict(event: Event) -> dict[str, Any]:
    """JSON-ready form of an event."""
    out: dict[str, Any] = {"type": event.type}
    for f in dataclasses.fields(event):
        value = getattr(event, f.name)
        out[f.name] = value.isoformat() if isinstance(value, dt.date) else value
    return out


def event_from_dict(data: dict[str, Any]) -> Event:
    """Inverse of `event_to_dict`; raises ValueError on an unknown type or bad fields."""
    cls = EVENT_TYPES.get(data.get("type", ""))
    if cls is None:
        raise ValueError(f"unknown event type {data.get('type')!r}")
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        value = data[f.name]
        if isinstance(value, str) and f.type in ("dt.datetime", "dt.datetime | None"):
            value = dt.datetime.fromisoformat(value)
        elif isinstance(value, str) and f.type in ("dt.date",):
            value = dt.date.fromisoformat(value)
        kwargs[f.name] = value
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ValueError(f"bad {cls.type} event: {exc}") from None
