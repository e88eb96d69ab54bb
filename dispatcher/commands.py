"""Commands: what kiosks, callers and managers ask of the queue core.

Each command carries the client-chosen `request_id`; the core answers a repeated request_id
with the first answer and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, kw_only=True)
class Command:
    request_id: str


@dataclass(frozen=True, kw_only=True)
class IssueTicket(Command):
    service_id: str
    sign_language: bool = False
    appointment_code: str | None = None


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


@dataclass(frozen=True, kw_only=True)
class SetGreenChannel(Command):
    mode: Literal["auto", "on", "off"]


class CommandError(Exception):
    """A command the core refuses. Nothing changed. `code` is stable, for the API."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
