"""The pure queue core: commands and the time in, events and an answer out. No I/O.

    core = QueueCore(config)
    outcome = core.handle(IssueTicket(request_id="k1-0001", service_id="yibao-dabing"), now)
    outcome.events   # what happened, to persist and broadcast
    outcome.reply    # the JSON-ready answer for the client

`apply_event` is the only place state changes; `QueueCore.replay` folds it over a log and
rebuilds the same state. Refused commands raise `CommandError` and change nothing.

Time: `now` must be timezone-aware. Event times never go backwards (a clock that jumps back is
held at the last event's time), and a business day never goes back, so a number is never
issued twice in a day.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from dispatcher.domain import commands as c
from dispatcher.domain import events as e
from dispatcher.domain.commands import CommandError
from dispatcher.domain.config import Config
from dispatcher.domain.model import (
    GreenChannelMode,
    QueueState,
    Ticket,
    TicketStatus,
    WindowState,
    WindowStatus,
)
from dispatcher.domain.policy import choose_next, green_channel_active
from dispatcher.domain.serving import can_serve, serving_windows

RECENT_CALLS_KEPT = 20
MAX_REQUEST_ID = 128


@dataclass(frozen=True)
class Outcome:
    events: tuple[e.Event, ...]
    reply: dict[str, Any]
    repeated: bool = False  # the request_id was answered before; nothing changed
    tickets: tuple[dict[str, Any], ...] = ()  # every ticket the events touched, as it ended


def business_day(config: Config, now: dt.datetime) -> dt.date:
    """The business day `now` belongs to: local date, shifted by the day's start hour."""
    local = now.astimezone(config.center.tz)
    start = config.center.day_start
    shifted = local - dt.timedelta(hours=start.hour, minutes=start.minute)
    return shifted.date()


def initial_state(config: Config) -> QueueState:
    state = QueueState()
    _reset_windows(state, config)
    return state


def _reset_windows(state: QueueState, config: Config) -> None:
    state.windows = {
        w.number: WindowState(
            number=w.number,
            green=w.green,
            status=WindowStatus.OPEN if w.open_at_start else WindowStatus.PAUSED,
            staff_id=w.staff_id,
        )
        for w in config.windows
    }


class QueueCore:
    """Owns one QueueState and the answers given to request_ids."""

    def __init__(self, config: Config, state: QueueState | None = None) -> None:
        self.config = config
        self.state = state if state is not None else initial_state(config)
        # Answers of this business day and the one before (older ones live in the store).
        self.answers: dict[str, tuple[c.Command, dict[str, Any]]] = {}
        self.previous_answers: dict[str, tuple[c.Command, dict[str, Any]]] = {}
        self.last_at: dt.datetime | None = None
        self.last_mono: float | None = None  # the monotonic reading that went with last_at

    # -- replay ---------------------------------------------------------------------------

    @classmethod
    def replay(
        cls,
        config: Config,
        events: Iterable[e.Event],
        answers: Mapping[str, tuple[c.Command, dict[str, Any]]] | None = None,
        *,
        seq_before: int = 0,
        issued_before: int = 0,
    ) -> QueueCore:
        """Rebuild a core from its event log (and the stored answers, for idempotency).

        The log may start at a `DayStarted` event (which resets the day) instead of at the
        beginning of time: then pass the number of events and of tickets before it.
        """
        core = cls(config)
        core.state.seq = seq_before
        core.state.issued_total = issued_before
        for event in events:
            apply_event(core.state, event, config)
            core.last_at = event.at
        if answers:
            core.answers.update(answers)
        return core

    # -- commands -------------------------------------------------------------------------

    def handle(self, command: c.Command, now: dt.datetime, mono: float | None = None
               ) -> Outcome:
        """Carry out one command at wall-clock time `now`; raise CommandError if refused.

        Event times never go back. If the wall clock is behind the last event (an NTP step
        back, a Pi booting without its clock), time goes on from the last event by the
        elapsed `mono` (a monotonic clock's reading) — so guards and waits keep measuring real
        time — and is held only when no monotonic reading is given."""
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError("now must be timezone-aware")
        rid = command.request_id
        if not isinstance(rid, str) or not rid or len(rid) > MAX_REQUEST_ID:
            raise CommandError("bad_request", f"request_id must be 1–{MAX_REQUEST_ID} characters")
        known = self.answers.get(rid) or self.previous_answers.get(rid)
        if known is not None:
            return answer_again(command, *known)
        self._check_static(command)

        now = now.astimezone(self.config.center.tz)  # events carry the center's local offset
        if self.last_at is not None and now < self.last_at:
            elapsed = 0.0
            if mono is not None and self.last_mono is not None:
                elapsed = max(0.0, mono - self.last_mono)
            now = self.last_at + dt.timedelta(seconds=elapsed)
        state = self.state
        events: list[e.Event] = []
        touched: dict[str, dict[str, Any]] = {}

        def apply(event: e.Event) -> None:
            apply_event(state, event, self.config)
            events.append(event)
            tid = getattr(event, "ticket_id", None)
            if tid is not None and tid in state.tickets:
                touched[tid] = state.tickets[tid].to_dict()

        day = business_day(self.config, now)
        new_day = state.business_day is None or day > state.business_day
        if new_day:
            # Work on a copy so a refused command leaves no trace, not even the rollover.
            state = copy.deepcopy(state)
            for event in self._rollover(state, day, now, rid):
                apply(event)

        window = getattr(command, "window", None)
        if command.acting_staff is not None and window is not None \
                and state.windows[window].staff_id != command.acting_staff \
                and not (isinstance(command, c.SignIn) and command.staff_id is not None):
            raise CommandError("forbidden", f"{command.acting_staff} is not signed in at "
                                            f"window {window}")
        command_events, make_reply = self._decide(state, command, now)
        for event in command_events:
            apply(event)
        diversion = self._diversion(state, now, rid)
        if diversion is not None:
            apply(diversion)

        self.state = state
        self.last_at = now
        self.last_mono = mono
        if new_day:
            self.previous_answers, self.answers = self.answers, {}
        reply = make_reply(state)
        self.answers[rid] = (command, reply)
        return Outcome(tuple(events), reply, tickets=tuple(touched.values()))

    def day_is_over(self, now: dt.datetime) -> bool:
        """Has the business day the state holds ended by `now`, or has none started yet (a
        `StartDay` is due)?"""
        day = self.state.business_day
        return day is None or business_day(self.config, now) > day

    def knows(self, request_id: str) -> bool:
        """Is the first answer to this request id held here (this business day or the last)?"""
        return request_id in self.answers or request_id in self.previous_answers

    # -- validation that needs no state ---------------------------------------------------

    def _check_static(self, command: c.Command) -> None:
        window = getattr(command, "window", None)
        if window is not None and window not in self.state.windows:
            raise CommandError("unknown_window", f"there is no window {window}")
        if isinstance(command, c.IssueTicket):
            self._service(command.service_id)
        elif isinstance(command, c.Transfer):
            if command.service_id is None and command.to_window is None:
                raise CommandError("bad_request", "a transfer needs a business or a window")
            if command.service_id is not None:
                self._service(command.service_id)
            if command.to_window is not None:
                if command.to_window not in self.state.windows:
                    raise CommandError("unknown_window", f"there is no window {command.to_window}")
                if command.to_window == command.window:
                    raise CommandError("bad_request", "cannot transfer a ticket to its own window")
        elif isinstance(command, c.SignIn):
            if command.staff_id is not None:
                try:
                    self.config.staff_member(command.staff_id)
                except KeyError:
                    raise CommandError(
                        "unknown_staff", f"there is no staff member {command.staff_id!r}"
                    ) from None
        elif isinstance(command, c.SetGreenChannel):
            if command.mode not in ("auto", "on", "off"):
                raise CommandError("bad_request", "green channel mode must be auto, on or off")
        elif isinstance(command, c.RequestReprint):
            kiosks = [d.name for d in self.config.devices if d.role == "kiosk"]
            if command.kiosk not in kiosks:
                raise CommandError("unknown_device", f"there is no kiosk {command.kiosk!r}")
        elif isinstance(command, c.RateTicket):
            if (command.ticket_id is None) == (command.window is None):
                raise CommandError("bad_request", "a rating names a ticket or a window, not both")
            score = command.score
            if isinstance(score, bool) or not isinstance(score, int) or score not in c.SCORES:
                raise CommandError("bad_request", f"a score is 1–5, not {score!r}")
        elif not isinstance(
            command,
            c.CallNext | c.Recall | c.NoShow | c.Pause | c.Resume | c.CancelTicket | c.ReportPrint
            | c.StartDay | c.SetIssuing,
        ):
            raise CommandError("bad_request", f"unknown command {type(command).__name__}")

    def _service(self, service_id: str) -> None:
        if service_id not in self.config.services:
            raise CommandError("unknown_service", f"there is no business {service_id!r}")

    # -- deciding -------------------------------------------------------------------------

    def _rollover(
        self, state: QueueState, day: dt.date, now: dt.datetime, rid: str
    ) -> list[e.Event]:
        out: list[e.Event] = [
            e.TicketExpired(at=now, request_id=rid, ticket_id=t.id)
            for t in state.tickets.values()
            if t.status in (TicketStatus.WAITING, TicketStatus.CALLED)
        ]
        out.append(e.DayStarted(at=now, request_id=rid, day=day))
        return out

    def _decide(self, state: QueueState, cmd: c.Command, now: dt.datetime) -> tuple[
        list[e.Event], Any
    ]:
        """Events for `cmd` and a function building the reply from the new state."""
        rid = cmd.request_id
        match cmd:
            case c.IssueTicket():
                return self._issue(state, cmd, now)
            case c.CallNext(window=n):
                window = self._open_window(state, n)
                events: list[e.Event] = []
                current = state.tickets.get(window.current) if window.current else None
                if current is not None:
                    guard = dt.timedelta(seconds=self.config.policy.double_press_s)
                    if window.last_called_at is not None and now - window.last_called_at < guard:
                        ticket_id = current.id
                        return [], lambda s: {
                            "ticket": s.tickets[ticket_id].to_dict(),
                            "ignored": "double_press",
                        }
                    events.append(e.TicketFinished(at=now, request_id=rid, ticket_id=current.id,
                                                   window=n))
                choice = choose_next(self.config, state, n, now)
                if choice is None:
                    return events, lambda s: {"ticket": None}
                ticket_id = choice.ticket.id
                events.append(e.TicketCalled(at=now, request_id=rid, ticket_id=ticket_id,
                                             number=choice.ticket.number, window=n,
                                             rule=choice.rule))
                rule = choice.rule
                return events, lambda s: {"ticket": s.tickets[ticket_id].to_dict(), "rule": rule}
            case c.Recall(window=n):
                ticket = self._current(state, n)
                return [e.TicketRecalled(at=now, request_id=rid, ticket_id=ticket.id,
                                         number=ticket.number, window=n)], _ticket_reply(ticket.id)
            case c.NoShow(window=n):
                ticket = self._current(state, n)
                return [e.TicketNoShow(at=now, request_id=rid, ticket_id=ticket.id, window=n)], \
                    _ticket_reply(ticket.id)
            case c.Pause(window=n):
                window = self._open_window(state, n)
                events = []
                if window.current is not None:
                    events.append(e.TicketFinished(at=now, request_id=rid,
                                                   ticket_id=window.current, window=n))
                events.append(e.WindowPaused(at=now, request_id=rid, window=n))
                return events, _window_reply(n)
            case c.Resume(window=n):
                if state.windows[n].status is not WindowStatus.PAUSED:
                    raise CommandError("window_not_paused", f"window {n} is not paused")
                return [e.WindowResumed(at=now, request_id=rid, window=n)], _window_reply(n)
            case c.Transfer(window=n):
                return self._transfer(state, cmd, now)
            case c.CancelTicket(ticket_id=tid, reason=reason):
                found = state.tickets.get(tid)
                if found is None:
                    raise CommandError("unknown_ticket", f"there is no ticket {tid!r} today")
                if found.status is not TicketStatus.WAITING:
                    raise CommandError(
                        "ticket_not_waiting", f"ticket {found.number} is {found.status.value}"
                    )
                return [e.TicketCancelled(at=now, request_id=rid, ticket_id=tid,
                                          reason=reason or "cancelled")], _ticket_reply(tid)
            case c.SignIn(window=n, staff_id=staff_id, exclusive=exclusive):
                if exclusive and staff_id is not None:
                    holder = state.windows[n].staff_id
                    if holder not in (None, staff_id):
                        raise CommandError("forbidden", f"window {n} is signed in by {holder}")
                    elsewhere = [m for m, w in state.windows.items()
                                 if m != n and w.staff_id == staff_id]
                    if elsewhere:
                        raise CommandError("forbidden", f"{staff_id} is signed in at window "
                                                        f"{elsewhere[0]}: sign out there first")
                return [e.StaffSignedIn(at=now, request_id=rid, window=n, staff_id=staff_id)], \
                    _window_reply(n)
            case c.SetIssuing(open=is_open):
                events = ([] if state.issuing_open == is_open
                          else [e.IssuingSet(at=now, request_id=rid, open=is_open)])
                return events, lambda s: {"issuing_open": s.issuing_open}
            case c.RequestReprint(ticket_id=tid, kiosk=kiosk):
                if tid not in state.tickets:
                    raise CommandError("unknown_ticket", f"there is no ticket {tid!r} today")
                ticket = state.tickets[tid]
                if ticket.status not in (TicketStatus.WAITING, TicketStatus.CALLED):
                    raise CommandError("ticket_not_waiting",
                                       f"ticket {ticket.number} is {ticket.status.value}")
                return [e.ReprintRequested(at=now, request_id=rid, ticket_id=tid,
                                           kiosk=kiosk)], _ticket_reply(tid)
            case c.ReportPrint(ticket_id=tid, printed=printed, error=error):
                if tid not in state.tickets:
                    raise CommandError("unknown_ticket", f"there is no ticket {tid!r} today")
                return [e.TicketPrintReported(at=now, request_id=rid, ticket_id=tid,
                                              printed=bool(printed),
                                              error=None if printed else (error or "unknown"))], \
                    _ticket_reply(tid)
            case c.RateTicket():
                return self._rate(state, cmd, now)
            case c.StartDay():
                return [], lambda s: {"day": s.business_day.isoformat()
                                      if s.business_day else None}
            case c.SetGreenChannel(mode=mode):
                config = self.config
                return [e.GreenChannelModeSet(at=now, request_id=rid, mode=mode)], lambda s: {
                    "green_channel": {
                        "mode": s.green_channel_mode.value,
                        "active": green_channel_active(config, s, now),
                    }
                }
        raise CommandError("bad_request", f"unknown command {type(cmd).__name__}")

    def _issue(
        self, state: QueueState, cmd: c.IssueTicket, now: dt.datetime
    ) -> tuple[list[e.Event], Any]:
        service = self.config.services[cmd.service_id]
        start = end = None
        if cmd.appointment_code:
            checked_in = next((t for t in state.tickets.values()
                               if t.appointment_code == cmd.appointment_code
                               and t.status is not TicketStatus.CANCELLED), None)
            if checked_in is not None:  # the same booking again: its ticket, never a second
                tid = checked_in.id
                return [], lambda s: {"ticket": s.tickets[tid].to_dict(), "checked_in": True}
            if not cmd.appointment_start or not cmd.appointment_end:
                raise CommandError("unknown_appointment",
                                   f"no appointment with code {cmd.appointment_code!r}")
            start = dt.datetime.fromisoformat(cmd.appointment_start)
            end = dt.datetime.fromisoformat(cmd.appointment_end)
        if not state.issuing_open:
            raise CommandError("issuing_closed", "ticket issuing has been closed for today")
        if not serving_windows(self.config, state, service.id):
            raise CommandError("cannot_serve", f"no window can serve {service.name} today")
        assert state.business_day is not None
        n = state.counters.get(service.prefix, 0) + 1
        number = f"{service.prefix}{n:03d}"
        ticket_id = f"{state.business_day.isoformat()}-{number}"
        event = e.TicketIssued(
            at=now, request_id=cmd.request_id, ticket_id=ticket_id, number=number,
            service_id=service.id, business_day=state.business_day,
            order=state.issued_total + 1, sign_language=bool(cmd.sign_language),
            appointment_code=cmd.appointment_code, appointment_start=start,
            appointment_end=end,
        )
        config = self.config

        def reply(s: QueueState) -> dict[str, Any]:
            ahead, minutes = estimate_wait(config, s, s.tickets[ticket_id])
            return {"ticket": s.tickets[ticket_id].to_dict(), "ahead": ahead,
                    "est_wait_min": minutes,
                    "windows": list(serving_windows(config, s, service.id))}

        return [event], reply

    def _transfer(
        self, state: QueueState, cmd: c.Transfer, now: dt.datetime
    ) -> tuple[list[e.Event], Any]:
        ticket = self._current(state, cmd.window)
        service_id = cmd.service_id or ticket.service_id
        if cmd.to_window is not None and not can_serve(
            self.config, state.windows[cmd.to_window], service_id
        ):
            raise CommandError(
                "cannot_serve",
                f"the staff at window {cmd.to_window} cannot serve "
                f"{self.config.services[service_id].name}",
            )
        return [e.TicketTransferred(at=now, request_id=cmd.request_id, ticket_id=ticket.id,
                                    from_window=cmd.window, service_id=service_id,
                                    target_window=cmd.to_window)], _ticket_reply(ticket.id)

    def _rate(
        self, state: QueueState, cmd: c.RateTicket, now: dt.datetime
    ) -> tuple[list[e.Event], Any]:
        """好差评: by ticket (called or done today), or by window (see `rating_target`)."""
        if cmd.ticket_id is not None:
            target: Ticket | None = state.tickets.get(cmd.ticket_id)
            if target is None:
                raise CommandError("unknown_ticket", f"there is no ticket {cmd.ticket_id!r} today")
            n = target.window
        else:
            assert cmd.window is not None  # exactly one of the two (_check_static)
            n = cmd.window
            target = rating_target(state, cmd.window, now, self.config.ratings.attach_min)
        if n is not None and cmd.allowed_windows is not None and n not in cmd.allowed_windows:
            raise CommandError("forbidden", f"this device may not rate window {n}")
        if target is not None:
            if target.status not in (TicketStatus.CALLED, TicketStatus.DONE) or n is None:
                raise CommandError("not_served", f"ticket {target.number} was not served "
                                                 f"(it is {target.status.value})")
            if target.rating is not None:
                raise CommandError("already_rated", f"ticket {target.number} is rated already "
                                                    f"({target.rating})")
        assert n is not None and state.business_day is not None
        tid = target.id if target is not None else None
        event = e.TicketRated(
            at=now, request_id=cmd.request_id, ticket_id=tid, window=n, score=cmd.score,
            business_day=state.business_day,
            number=target.number if target else None,
            service_id=target.service_id if target else None,
            staff_id=target.served_by if target else state.windows[n].staff_id,
        )
        if cmd.ticket_id is not None:
            return [event], _ticket_reply(cmd.ticket_id)
        return [event], lambda s: {"ticket": s.tickets[tid].to_dict() if tid else None,
                                   "attached": tid is not None}

    def _open_window(self, state: QueueState, n: int) -> WindowState:
        window = state.windows[n]
        if window.status is WindowStatus.PAUSED:
            raise CommandError("window_paused", f"window {n} is paused")
        return window

    def _current(self, state: QueueState, n: int) -> Ticket:
        window = state.windows[n]
        if window.current is None:
            raise CommandError("no_current_ticket", f"window {n} has no current ticket")
        return state.tickets[window.current]

    def _diversion(self, state: QueueState, now: dt.datetime, rid: str) -> e.Event | None:
        """Short high-frequency diversion: > threshold on, < threshold off, = holds."""
        if "short_high_freq" not in self.config.policy.rules:
            return None
        services = self.config.services
        count = sum(n for sid, n in state.waiting_by_service.items()
                    if services[sid].short_high_freq)
        threshold = self.config.policy.short_threshold
        if not state.diversion_on and count > threshold:
            return e.DiversionChanged(at=now, request_id=rid, on=True, waiting_short=count)
        if state.diversion_on and count < threshold:
            return e.DiversionChanged(at=now, request_id=rid, on=False, waiting_short=count)
        return None


def answer_again(command: c.Command, first: c.Command, reply: dict[str, Any]) -> Outcome:
    """A repeated request id: the first answer if it is the same request, else refused."""
    if first != command:
        raise CommandError("request_id_reused",
                           f"request_id {command.request_id!r} was used for a different request")
    return Outcome((), reply, repeated=True)


RATING_GRACE_S = 30.0  # a rating this soon after a call is the leaving resident's


def rating_target(state: QueueState, n: int, now: dt.datetime, attach_min: float
                  ) -> Ticket | None:
    """The ticket a rating from window `n`'s pad is for: the one being served there, else the
    one it finished last within `attach_min` minutes before `now`, else None. Within
    RATING_GRACE_S of a call, the resident who just left (finished by that call, not rated
    yet) is taken before the one called: the new resident has hardly reached the window."""
    window = state.windows[n]
    since = now - dt.timedelta(minutes=attach_min)
    current = state.tickets[window.current] if window.current is not None else None
    if current is not None:
        called = current.called_at
        if called is None or (now - called).total_seconds() >= RATING_GRACE_S:
            return current
        left = [t for t in state.tickets.values()
                if t.window == n and t.status is TicketStatus.DONE and t.rating is None
                and t.finished_at is not None and t.finished_at >= called
                - dt.timedelta(seconds=1) and t.finished_at >= since]
        return max(left, key=lambda t: (t.finished_at or since, t.order), default=current)
    finished = [t for t in state.tickets.values()
                if t.window == n and t.status is TicketStatus.DONE
                and t.finished_at is not None and t.finished_at >= since]
    return max(finished, key=lambda t: (t.finished_at or since, t.order), default=None)


def _ticket_reply(ticket_id: str) -> Any:
    return lambda s: {"ticket": s.tickets[ticket_id].to_dict()}


def _window_reply(n: int) -> Any:
    return lambda s: {"window": s.windows[n].to_dict(s.tickets)}


def estimate_wait(config: Config, state: QueueState, ticket: Ticket) -> tuple[int, int]:
    """(people ahead, estimated minutes) for a waiting ticket, in plain order.

    Ahead: waiting tickets before it that a window able to serve it could also take.
    Minutes: their typical handling times shared over those windows while open.
    """
    if state.waiting and state.waiting[-1] == ticket.id:  # the newest ticket: the usual case
        return estimate_for_service(config, state, ticket.service_id, exclude_one=True)
    windows_for = _servable(config, state)
    mine = windows_for(ticket.service_id)
    ahead = minutes = 0
    for other in state.waiting_tickets():
        if other.id == ticket.id:
            break
        if windows_for(other.service_id) & mine:
            ahead += 1
            minutes += config.services[other.service_id].minutes
    return ahead, math.ceil(minutes / _open_count(state, mine))


def estimate_for_service(config: Config, state: QueueState, service_id: str,
                         exclude_one: bool = False) -> tuple[int, int]:
    """(people ahead, estimated minutes) for a ticket taken now for this business."""
    windows_for = _servable(config, state)
    mine = windows_for(service_id)
    ahead = minutes = 0
    for other_id, count in state.waiting_by_service.items():
        if windows_for(other_id) & mine:
            n = count - (exclude_one and other_id == service_id)
            ahead += n
            minutes += n * config.services[other_id].minutes
    return ahead, math.ceil(minutes / _open_count(state, mine))


def _servable(config: Config, state: QueueState) -> Any:
    cache: dict[str, frozenset[int]] = {}

    def windows_for(service_id: str) -> frozenset[int]:
        if service_id not in cache:
            cache[service_id] = frozenset(
                n for n, w in state.windows.items() if can_serve(config, w, service_id)
            )
        return cache[service_id]

    return windows_for


def _open_count(state: QueueState, windows: frozenset[int]) -> int:
    open_windows = [n for n in windows if state.windows[n].status is WindowStatus.OPEN]
    return max(1, len(open_windows) or len(windows))


# ------------------------------------------------------------------------------------------
# Applying events: the only code that changes a QueueState.


def apply_event(state: QueueState, event: e.Event, config: Config) -> None:
    """Apply one event to the state in place."""
    state.seq += 1
    match event:
        case e.DayStarted(day=day):
            state.business_day = day
            state.counters = {}
            state.tickets = {}
            state.waiting = []
            state.waiting_by_service = {}
            state.recent_calls = []
            state.diversion_on = False
            state.green_channel_mode = GreenChannelMode.AUTO
            state.issuing_open = True
            _reset_windows(state, config)
        case e.TicketExpired(ticket_id=tid):
            ticket = state.tickets[tid]
            if ticket.status is TicketStatus.WAITING:
                ticket.status = TicketStatus.CANCELLED
                ticket.cancel_reason = "expired"
                _remove_waiting(state, ticket)
            else:
                ticket.status = TicketStatus.DONE
                ticket.finished_at = event.at
                _release_window(state, ticket)
        case e.TicketIssued():
            prefix = event.number.rstrip("0123456789")
            state.counters[prefix] = int(event.number[len(prefix):])
            ticket = Ticket(
                id=event.ticket_id, number=event.number, service_id=event.service_id,
                business_day=event.business_day, issued_at=event.at, order=event.order,
                sign_language=event.sign_language, appointment_code=event.appointment_code,
                appointment_start=event.appointment_start,
                appointment_end=event.appointment_end,
            )
            state.tickets[ticket.id] = ticket
            state.issued_total = max(state.issued_total, event.order)
            _insert_waiting(state, ticket)
        case e.TicketCalled(ticket_id=tid, window=n):
            ticket = state.tickets[tid]
            _remove_waiting(state, ticket)
            ticket.status = TicketStatus.CALLED
            ticket.window = n
            ticket.target_window = None
            ticket.called_at = event.at
            ticket.calls += 1
            window = state.windows[n]
            window.current = tid
            window.last_called_at = event.at
            ticket.served_by = window.staff_id
            _record_call(state, ticket, n, event.at, recall=False)
        case e.TicketRecalled(ticket_id=tid, window=n):
            ticket = state.tickets[tid]
            ticket.calls += 1
            _record_call(state, ticket, n, event.at, recall=True)
        case e.TicketFinished(ticket_id=tid):
            ticket = state.tickets[tid]
            ticket.status = TicketStatus.DONE
            ticket.finished_at = event.at
            _release_window(state, ticket)
        case e.TicketNoShow(ticket_id=tid):
            ticket = state.tickets[tid]
            ticket.status = TicketStatus.NO_SHOW
            ticket.finished_at = event.at
            _release_window(state, ticket)
        case e.TicketTransferred(ticket_id=tid):
            ticket = state.tickets[tid]
            _release_window(state, ticket)
            ticket.status = TicketStatus.WAITING
            ticket.window = None
            ticket.called_at = None
            ticket.service_id = event.service_id  # before it is counted as waiting again
            ticket.target_window = event.target_window
            ticket.transfers += 1
            _insert_waiting(state, ticket)
        case e.TicketCancelled(ticket_id=tid, reason=reason):
            ticket = state.tickets[tid]
            ticket.status = TicketStatus.CANCELLED
            ticket.cancel_reason = reason
            ticket.finished_at = event.at
            _remove_waiting(state, ticket)
        case e.WindowPaused(window=n):
            state.windows[n].status = WindowStatus.PAUSED
        case e.WindowResumed(window=n):
            state.windows[n].status = WindowStatus.OPEN
        case e.StaffSignedIn(window=n, staff_id=staff_id):
            state.windows[n].staff_id = staff_id
        case e.DiversionChanged(on=on):
            state.diversion_on = on
        case e.GreenChannelModeSet(mode=mode):
            state.green_channel_mode = GreenChannelMode(mode)
        case e.IssuingSet(open=is_open):
            state.issuing_open = is_open
        case e.ReprintRequested(ticket_id=tid):
            state.tickets[tid].print_status = "pending"  # until the kiosk reports again
            state.tickets[tid].print_error = None
        case e.TicketRated(ticket_id=tid, score=score):
            if tid is not None:
                state.tickets[tid].rating = score
        case e.TicketPrintReported(ticket_id=tid, printed=printed, error=error):
            ticket = state.tickets[tid]
            ticket.print_status = "printed" if printed else "failed"
            ticket.print_error = error
        case _:
            raise ValueError(f"cannot apply {event!r}")


def _remove_waiting(state: QueueState, ticket: Ticket) -> None:
    state.waiting.remove(ticket.id)
    left = state.waiting_by_service[ticket.service_id] - 1
    if left:
        state.waiting_by_service[ticket.service_id] = left
    else:
        del state.waiting_by_service[ticket.service_id]


def _insert_waiting(state: QueueState, ticket: Ticket) -> None:
    """Insert in plain order (time of issue, then sequence); usually at the end."""
    counts = state.waiting_by_service
    counts[ticket.service_id] = counts.get(ticket.service_id, 0) + 1
    key = ticket.sort_key
    i = len(state.waiting)
    while i > 0 and state.tickets[state.waiting[i - 1]].sort_key > key:
        i -= 1
    state.waiting.insert(i, ticket.id)


def _release_window(state: QueueState, ticket: Ticket) -> None:
    if ticket.window is not None:
        window = state.windows.get(ticket.window)
        if window is not None and window.current == ticket.id:
            window.current = None


def _record_call(
    state: QueueState, ticket: Ticket, window: int, at: dt.datetime, recall: bool
) -> None:
    state.recent_calls.insert(0, {
        "seq": state.seq, "number": ticket.number, "window": window, "at": at.isoformat(),
        "recall": recall, "ticket_id": ticket.id, "service_id": ticket.service_id,
        "sign_language": ticket.sign_language,
    })
    del state.recent_calls[RECENT_CALLS_KEPT:]
