"""The kiosk's flow as a pure state machine: events and the time in, new state and effects out.

    flow = KioskFlow(FlowSettings(prefix="kiosk-1-3f2a"))
    state, effects = flow.handle(state, Tap("dept:yibao"), now)

Screens: home → department (paged) → business (materials, waiting, "take a number") →
printing → done → home. Check-in takes a booking code on a keypad. `paused` (暂停取号)
replaces everything while the dispatcher is unreachable or the printer is not ready.
Effects ask the app to issue a ticket, print it, or report how printing went; their answers
come back as events. One tap on "take a number" issues one ticket: taps while printing are
ignored, and the request id is fixed when the tap is accepted.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Screen(StrEnum):
    HOME = "home"
    DEPARTMENT = "department"
    SERVICE = "service"
    CHECKIN = "checkin"
    PRINTING = "printing"
    DONE = "done"
    PAUSED = "paused"


# -- events -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tap:
    """A button was tapped: "dept:ID", "service:ID", "page:N", "take", "back", "home", "sign",
    "lang", "checkin", "key:0"…"key:9", "key:del", "key:ok", "walk_in" (a late arrival's
    ordinary number for the booked business), "done"."""

    target: str


@dataclass(frozen=True)
class Tick:
    """Time passes (timeouts)."""


@dataclass(frozen=True)
class DispatcherLink:
    up: bool


@dataclass(frozen=True)
class Issuing:
    """Whether the center issues tickets now (a manager may close issuing for the day)."""

    open: bool


@dataclass(frozen=True)
class PrinterState:
    ready: bool
    status: str = "ok"


@dataclass(frozen=True)
class Issued:
    request_id: str
    reply: dict[str, Any]


@dataclass(frozen=True)
class IssueFailed:
    request_id: str
    unreachable: bool  # True: no answer (retried until given up); False: the dispatcher said no
    message: str = ""
    code: str = ""  # the dispatcher's error code when it said no
    service_id: str = ""  # a late check-in: the booked business (a walk-in number is offered)


@dataclass(frozen=True)
class Printed:
    ticket_id: str
    printed: bool
    error: str = ""


Event = Tap | Tick | DispatcherLink | Issuing | PrinterState | Issued | IssueFailed | Printed


# -- effects ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Issue:
    request_id: str
    service_id: str  # "" for a check-in: the booking names the business
    sign_language: bool
    appointment_code: str | None = None


@dataclass(frozen=True)
class Print:
    reply: dict[str, Any]
    lang: str


@dataclass(frozen=True)
class ReportPrint:
    ticket_id: str
    printed: bool
    error: str = ""


@dataclass(frozen=True)
class Abandon:
    """Nobody waits for this request's answer any more: if it issued a ticket, cancel it."""

    request_id: str


@dataclass(frozen=True)
class CancelTicket:
    """A ticket came back for a resident who is gone: take it out of the queue."""

    ticket_id: str
    request_id: str


Effect = Issue | Print | ReportPrint | Abandon | CancelTicket


# -- state --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FlowSettings:
    prefix: str = "kiosk"  # request ids: PREFIX-N (include a boot nonce: ids never repeat)
    idle_timeout_s: float = 45.0  # any screen → home after this long without a tap
    done_timeout_s: float = 20.0  # the number stays on screen this long
    print_timeout_s: float = 20.0  # no word from the printer: treat as failed
    confirm_timeout_s: float = 30.0  # no answer to "take a number" this long: give up, cancel
    issue_on_printer_fault: bool = False  # else pause ticketing while the printer is not ready
    code_length: int = 12


@dataclass(frozen=True)
class KioskState:
    screen: Screen = Screen.HOME
    lang: str = "zh"
    sign_language: bool = False
    department: str | None = None
    page: int = 0
    service: str | None = None
    code: str = ""
    message: str | None = None  # a notice on the current screen ("unknown_code", "refused: …")
    request_id: str | None = None
    ticket: dict[str, Any] | None = None  # the answer of POST /tickets
    printed: bool | None = None
    print_error: str = ""
    pause_reason: str | None = None  # "dispatcher", "closed" or "printer"
    dispatcher_up: bool = False
    issuing_open: bool = True
    printer_ready: bool = True
    printer_status: str = "ok"
    issued: int = 0  # tickets requested by this kiosk since it started
    last_input: dt.datetime | None = None
    entered: dt.datetime | None = None  # when the current screen was entered


class KioskFlow:
    def __init__(self, settings: FlowSettings | None = None) -> None:
        self.settings = settings or FlowSettings()

    def handle(self, state: KioskState, event: Event,
               now: dt.datetime) -> tuple[KioskState, list[Effect]]:
        """The new state and what the app must do."""
        match event:
            case Tap(target=target):
                return self._tap(dataclasses.replace(state, last_input=now), target, now)
            case Tick():
                return self._tick(state, now)
            case DispatcherLink(up=up):
                return self._availability(dataclasses.replace(state, dispatcher_up=up), now), []
            case Issuing(open=is_open):
                new = dataclasses.replace(state, issuing_open=is_open)
                return self._availability(new, now), []
            case PrinterState(ready=ready, status=status):
                new = dataclasses.replace(state, printer_ready=ready, printer_status=status)
                return self._availability(new, now), []
            case Issued(request_id=rid, reply=reply):
                return self._issued(state, rid, reply, now)
            case IssueFailed():
                return self._issue_failed(state, event, now), []
            case Printed(ticket_id=tid, printed=printed, error=error):
                return self._printed(state, tid, printed, error, now)
        raise TypeError(f"unknown event {event!r}")

    # -- helpers ------------------------------------------------------------------------------

    def _go(self, state: KioskState, screen: Screen, now: dt.datetime,
            **changes: Any) -> KioskState:
        return dataclasses.replace(state, screen=screen, entered=now, message=None, **changes)

    def _home(self, state: KioskState, now: dt.datetime) -> KioskState:
        """Home for the next resident: their choices forgotten."""
        return self._go(state, Screen.HOME, now, department=None, page=0, service=None,
                        code="", sign_language=False, lang="zh", ticket=None, printed=None,
                        print_error="", request_id=None)

    def _pause_reason(self, state: KioskState) -> str | None:
        if not state.dispatcher_up:
            return "dispatcher"
        if not state.issuing_open:
            return "closed"
        if not state.printer_ready and not self.settings.issue_on_printer_fault:
            return "printer"
        return None

    # -- events -------------------------------------------------------------------------------

    def _tap(self, state: KioskState, target: str,
             now: dt.datetime) -> tuple[KioskState, list[Effect]]:
        kind, _, arg = target.partition(":")
        if target == "lang":
            return dataclasses.replace(state, lang="en" if state.lang == "zh" else "zh"), []
        screen = state.screen
        if screen in (Screen.PRINTING, Screen.PAUSED):
            return state, []  # nothing to choose while printing or paused
        if target == "home" or (target == "done" and screen is Screen.DONE):
            return self._home(state, now), []
        if screen is Screen.DONE:
            return state, []
        if target == "sign":
            return dataclasses.replace(state, sign_language=not state.sign_language), []
        if screen is Screen.HOME:
            if kind == "dept":
                return self._go(state, Screen.DEPARTMENT, now, department=arg, page=0), []
            if target == "checkin":
                return self._go(state, Screen.CHECKIN, now, code="", service=None), []
            return state, []
        if screen is Screen.DEPARTMENT:
            if kind == "service":
                return self._go(state, Screen.SERVICE, now, service=arg), []
            if kind == "page" and arg.isdigit():
                return dataclasses.replace(state, page=int(arg)), []
            if target == "back":
                return self._home(state, now), []
            return state, []
        if screen is Screen.SERVICE:
            if target == "back":
                return self._go(state, Screen.DEPARTMENT, now), []
            if target == "take" and state.service is not None:
                return self._ask_for_ticket(state, now, state.service, None)
            return state, []
        if screen is Screen.CHECKIN:
            if target == "back":
                return self._home(state, now), []
            if target == "walk_in" and state.service and state.message:
                # Too late for the booking: one tap for an ordinary number, same business.
                return self._ask_for_ticket(dataclasses.replace(state, code=""), now,
                                            state.service, None)
            if kind == "key" and arg.isdigit() and len(arg) == 1:
                if len(state.code) < self.settings.code_length:
                    return dataclasses.replace(state, code=state.code + arg, message=None,
                                               service=None), []
                return state, []
            if target == "key:del":
                return dataclasses.replace(state, code=state.code[:-1], message=None,
                                           service=None), []
            if target == "key:ok" and state.code:  # a check-in: the booking names the business
                return self._ask_for_ticket(state, now, "", state.code)
        return state, []

    def _ask_for_ticket(self, state: KioskState, now: dt.datetime, service_id: str,
                        code: str | None) -> tuple[KioskState, list[Effect]]:
        """Ask the dispatcher for a number (a business, or a booking's code) under a new
        request id, unless ticketing is paused."""
        reason = self._pause_reason(state)
        if reason is not None:
            return self._go(state, Screen.PAUSED, now, pause_reason=reason), []
        rid = f"{self.settings.prefix}-{state.issued + 1}"
        new = self._go(state, Screen.PRINTING, now, request_id=rid, issued=state.issued + 1,
                       ticket=None, printed=None)
        return new, [Issue(rid, service_id, state.sign_language, appointment_code=code)]

    def _tick(self, state: KioskState, now: dt.datetime) -> tuple[KioskState, list[Effect]]:
        s = self.settings
        screen = state.screen

        def waited(since: dt.datetime | None, limit: float) -> bool:
            return since is not None and (now - since).total_seconds() >= limit

        if screen is Screen.PAUSED:
            return self._availability(state, now), []
        if screen is Screen.PRINTING and state.ticket is None and state.request_id and \
                waited(state.entered, s.confirm_timeout_s):
            # No answer: the resident is told no number was taken, and so it must be — the
            # request is abandoned (a ticket it issued meanwhile is cancelled).
            new = self._go(state, Screen.PAUSED, now, pause_reason="dispatcher")
            return dataclasses.replace(new, message="not_issued"), [Abandon(state.request_id)]
        if screen is Screen.PRINTING and state.ticket is not None and \
                waited(state.entered, s.print_timeout_s):
            # The printer never answered: the number goes on screen, reported unprinted.
            return self._printed(state, state.ticket["ticket"]["id"], False, "printer timeout",
                                 now)
        if screen is Screen.DONE and waited(state.entered, s.done_timeout_s):
            return self._home(state, now), []
        if screen in (Screen.DEPARTMENT, Screen.SERVICE, Screen.CHECKIN) and \
                waited(state.last_input or state.entered, s.idle_timeout_s):
            return self._home(state, now), []
        if screen is Screen.HOME and (state.sign_language or state.lang != "zh") and \
                waited(state.last_input, s.idle_timeout_s):
            return self._home(state, now), []
        return state, []

    def _availability(self, state: KioskState, now: dt.datetime) -> KioskState:
        reason = self._pause_reason(state)
        if state.screen is Screen.PAUSED:
            if reason is not None:
                return dataclasses.replace(state, pause_reason=reason)
            shown = (now - (state.entered or now)).total_seconds()
            if state.message == "not_issued" and shown < self.settings.done_timeout_s:
                return state  # the resident reads that no number was taken, then home
            return self._home(state, now)
        if reason is not None and state.screen in (Screen.HOME, Screen.DEPARTMENT,
                                                   Screen.SERVICE, Screen.CHECKIN):
            return self._go(state, Screen.PAUSED, now, pause_reason=reason)
        return state

    def _issued(self, state: KioskState, rid: str, reply: dict[str, Any],
                now: dt.datetime) -> tuple[KioskState, list[Effect]]:
        if rid == state.request_id and state.ticket is not None:
            return state, []  # the same answer again: already in hand
        if state.screen is not Screen.PRINTING or rid != state.request_id:
            # A late answer for a resident who is gone: nobody holds this number.
            return state, [CancelTicket(reply["ticket"]["id"], rid)]
        if not state.printer_ready:
            # Issued while the printer is down (issue_on_printer_fault): the screen is the ticket.
            tid = reply["ticket"]["id"]
            error = f"printer {state.printer_status}"
            new = self._go(state, Screen.DONE, now, ticket=reply, printed=False,
                           print_error=error)
            return new, [ReportPrint(tid, False, error)]
        return dataclasses.replace(state, ticket=reply, entered=now), [Print(reply, state.lang)]

    def _issue_failed(self, state: KioskState, event: IssueFailed,
                      now: dt.datetime) -> KioskState:
        if state.screen is not Screen.PRINTING or event.request_id != state.request_id:
            return state
        if event.unreachable:
            # The ticket may exist already: keep asking (same request id) while the resident
            # waits, rather than say "no ticket" to someone who may have one. Only the event
            # link says whether the dispatcher is up.
            return dataclasses.replace(state, message="confirming")
        if state.code:  # a check-in: back to the keypad, saying why (when it opens, …)
            new = self._go(state, Screen.CHECKIN, now)
            why = "unknown_code" if event.code == "unknown_appointment" \
                else f"checkin:{event.message}"
            return dataclasses.replace(new, message=why, service=event.service_id or None)
        new = self._go(state, Screen.SERVICE, now)
        return dataclasses.replace(new, message=f"refused:{event.message}")

    def _printed(self, state: KioskState, tid: str, printed: bool, error: str,
                 now: dt.datetime) -> tuple[KioskState, list[Effect]]:
        ticket = state.ticket
        if state.screen is not Screen.PRINTING or ticket is None or ticket["ticket"]["id"] != tid:
            return state, [ReportPrint(tid, printed, error)]  # still tell the dispatcher
        new = self._go(state, Screen.DONE, now, printed=printed, print_error=error)
        return new, [ReportPrint(tid, printed, error)]
