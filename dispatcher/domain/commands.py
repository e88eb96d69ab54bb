"""Commands: what kiosks, callers and managers ask of the queue core.

Each command carries the client-chosen `request_id`; the core answers a repeated request_id
with the first answer and changes nothing.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

from base.errors import QmsError


@dataclass(frozen=True, kw_only=True)
class Command:
    request_id: str
    # A staff member pressing at their own console: the window's verb runs only if they are
    # still the one signed in there when the core takes it (not just when the page sent it).
    acting_staff: str | None = None


@dataclass(frozen=True, kw_only=True)
class IssueTicket(Command):
    service_id: str
    sign_language: bool = False
    appointment_code: str | None = None
    # A check-in: the booked slot, ISO 8601 with offset (the dispatcher found the booking and
    # checked that its check-in window is open).
    appointment_start: str | None = None
    appointment_end: str | None = None


@dataclass(frozen=True, kw_only=True)
class CallNext(Command):
    """Finish the window's current ticket, then call the next one by the calling policy."""

    window: int


@dataclass(frozen=True, kw_only=True)
class Recall(Command):
    window: int


@dataclass(frozen=True, kw_only=True)
class NoShow(Command):
    window: int


@dataclass(frozen=True, kw_only=True)
class Pause(Command):
    """Close the window for a break; its current ticket, if any, is finished."""

    window: int


@dataclass(frozen=True, kw_only=True)
class Resume(Command):
    window: int


@dataclass(frozen=True, kw_only=True)
class Transfer(Command):
    """Send the current ticket to another business and/or window, keeping its time of issue."""

    window: int
    service_id: str | None = None
    to_window: int | None = None


@dataclass(frozen=True, kw_only=True)
class CancelTicket(Command):
    ticket_id: str
    reason: str = "cancelled"


@dataclass(frozen=True, kw_only=True)
class SignIn(Command):
    """Put a staff member at a window (None signs the window's staff out)."""

    window: int
    staff_id: str | None
    # From a staff member's own console: only into a free window, and only while not signed
    # in at another (checked by the core, so two people racing for one window cannot both win).
    exclusive: bool = False


@dataclass(frozen=True, kw_only=True)
class SetGreenChannel(Command):
    mode: Literal["auto", "on", "off"]


@dataclass(frozen=True, kw_only=True)
class ReportPrint(Command):
    """The kiosk reports how printing a ticket went."""

    ticket_id: str
    printed: bool
    error: str | None = None


@dataclass(frozen=True, kw_only=True)
class SetIssuing(Command):
    """Close ticket issuing for the rest of the business day (open=False), or reopen it."""

    open: bool


@dataclass(frozen=True, kw_only=True)
class RequestReprint(Command):
    """Print a ticket again at the named kiosk (e.g. one whose print failed)."""

    ticket_id: str
    kiosk: str


SCORES = {1: "非常满意", 2: "满意", 3: "基本满意", 4: "不满意", 5: "非常不满意"}  # 政务服务好差评


@dataclass(frozen=True, kw_only=True)
class RateTicket(Command):
    """A resident's 好差评 score (1 best … 5 worst) for a ticket, or for whoever a window's
    pad rated: its current ticket, else the one it finished last within `attach_min`, else
    nobody (kept unattached). Exactly one of `ticket_id` and `window` is given."""

    score: int
    ticket_id: str | None = None
    window: int | None = None
    # The windows the rating device may operate (None: any); checked against the ticket's.
    allowed_windows: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if self.allowed_windows is not None:  # JSON gives a list back: compare equal anyway
            object.__setattr__(self, "allowed_windows", tuple(self.allowed_windows))


@dataclass(frozen=True, kw_only=True)
class StartDay(Command):
    """The clock passed the start of a business day: close the last one, open this one.
    Sent by the dispatcher itself (request id `day-YYYY-MM-DD`), not by devices."""


COMMAND_TYPES: dict[str, type[Command]] = {
    cls.__name__: cls
    for cls in (IssueTicket, CallNext, Recall, NoShow, Pause, Resume, Transfer, CancelTicket,
                SignIn, SetGreenChannel, ReportPrint, StartDay, SetIssuing, RequestReprint,
                RateTicket)
}


def command_to_dict(command: Command) -> dict[str, Any]:
    """JSON form of a command (stored with its answer, to recognise a retried request)."""
    return {"type": type(command).__name__, **dataclasses.asdict(command)}


def command_from_dict(data: dict[str, Any]) -> Command:
    fields = dict(data)
    cls = COMMAND_TYPES[fields.pop("type")]
    return cls(**fields)


class CommandError(QmsError):
    """A command the core refuses. Nothing changed. `code` is a stable `ErrorCode`, for the API."""
