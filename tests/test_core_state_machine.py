"""Hypothesis state machines over random command sequences against the pure core.

Invariants after every step: no number issued twice in a business day; no ticket held by two
windows; no ticket lost; FIFO within a business everywhere and plain order within a class at
ordinary windows (no skills rule); replaying the events gives the same state; a double press
never calls twice; a refused command changes nothing; a retried request changes nothing.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections import Counter
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from dispatcher.domain import commands as c
from dispatcher.domain import events as e
from dispatcher.domain.commands import CommandError
from dispatcher.domain.config import Config
from dispatcher.domain.core import QueueCore
from dispatcher.domain.model import TicketStatus
from dispatcher.domain.policy import eligible

from .helpers import MONDAY_9, small_config

SERVICES = ["yb-dabing", "yb-jilu", "yb-baoxiao", "sb-card", "cl-lxk", "zf-lianzu"]
WINDOWS = st.integers(min_value=1, max_value=4)


class QueueMachine(RuleBasedStateMachine):
    config: Config

    def __init__(self) -> None:
        super().__init__()
        self.core = QueueCore(self.config)
        self.now = MONDAY_9
        self.log: list[e.Event] = []
        self.issued: set[tuple[dt.date, str]] = set()
        self.ids_today: set[str] = set()
        self.sent: list[tuple[c.Command, dict[str, Any], int]] = []  # with its day's number
        self.days = 0
        self.n = 0

    # -- driving ----------------------------------------------------------------------------

    def rid(self) -> str:
        self.n += 1
        return f"m{self.n}"

    def run(self, command: c.Command) -> dict[str, Any] | None:
        before = copy.deepcopy(self.core.state)
        snapshot = {t: (w.current, w.status) for t, w in before.windows.items()}
        try:
            outcome = self.core.handle(command, self.now)
        except CommandError:
            assert self.core.state == before, "a refused command changed the state"
            return None
        self._check_calls(before, outcome.events, snapshot)
        for event in outcome.events:
            if isinstance(event, e.DayStarted):
                self.ids_today.clear()
                self.days += 1
            if isinstance(event, e.TicketIssued):
                key = (event.business_day, event.number)
                assert key not in self.issued, f"number {event.number} issued twice"
                self.issued.add(key)
                self.ids_today.add(event.ticket_id)
        self.log.extend(outcome.events)
        self.sent.append((command, outcome.reply, self.days))
        return outcome.reply

    def _check_calls(self, before: Any, events: tuple[e.Event, ...], _: Any) -> None:
        for event in events:
            if not isinstance(event, e.TicketCalled) or event.ticket_id not in before.tickets:
                continue
            chosen = before.tickets[event.ticket_id]
            self._check_appointment_call(before, event, chosen)
            if chosen.target_window is not None or chosen.appointment_start is not None:
                continue  # (a transfer or an appointment goes ahead of its business)
            for other in before.waiting_tickets():
                if other.id == chosen.id or other.target_window is not None \
                        or other.appointment_start is not None:
                    continue
                # FIFO within a business, whatever the window and rule.
                if other.service_id == chosen.service_id:
                    assert other.sort_key > chosen.sort_key, (
                        f"{chosen.number} called before older {other.number} of the same business"
                    )
            window = before.windows[event.window]
            if window.green or "skills" in self.config.policy.rules or event.rule != "plain":
                continue
            # Plain order within a class at an ordinary window.
            ok = {t.id for t in eligible(self.config, before, event.window, event.at)}
            short = self.config.services[chosen.service_id].short_high_freq
            for other in before.waiting_tickets():
                same_class = self.config.services[other.service_id].short_high_freq == short
                if same_class and other.id in ok:
                    assert other.sort_key >= chosen.sort_key

    def _check_appointment_call(self, before: Any, event: e.TicketCalled, chosen: Any) -> None:
        """Appointments: never called before their slot unless nothing else waits for the
        window; never ahead of a walk-in that has waited the starvation limit."""
        rules = self.config.policy.rules
        if "appointment" not in rules:
            return  # without the rule an appointment is a ticket like any other
        start = chosen.appointment_start
        if start is not None and event.at < start:
            assert event.rule == "appointment_early", event
            others = eligible(self.config, before, event.window, event.at)
            assert all(t.appointment_start is not None and event.at < t.appointment_start
                       for t in others), f"{chosen.number} called before its slot"
        if event.rule == "appointment" and "starvation" in rules \
                and rules.index("starvation") < rules.index("appointment"):
            limit = dt.timedelta(minutes=self.config.policy.starvation_max_wait_min)
            for other in eligible(self.config, before, event.window, event.at):
                assert other.appointment_start is not None \
                    or event.at - other.issued_at < limit, \
                    f"{chosen.number} (appointment) called while {other.number} starved"

    # -- rules ------------------------------------------------------------------------------

    @rule(service=st.sampled_from(SERVICES), sign=st.booleans(),
          offset=st.integers(min_value=-30, max_value=90))
    def appointment_checks_in(self, service: str, sign: bool, offset: int) -> None:
        """A booked resident checks in; the slot began `-offset` minutes ago (or begins in
        `offset`)."""
        start = self.now + dt.timedelta(minutes=offset)
        self.run(c.IssueTicket(
            request_id=self.rid(), service_id=service, sign_language=sign,
            appointment_code=f"Y{self.n:05d}", appointment_start=start.isoformat(),
            appointment_end=(start + dt.timedelta(minutes=30)).isoformat()))

    @rule(service=st.sampled_from(SERVICES), sign=st.booleans())
    def issue(self, service: str, sign: bool) -> None:
        self.run(c.IssueTicket(request_id=self.rid(), service_id=service, sign_language=sign))

    @rule(services=st.lists(st.sampled_from(SERVICES), min_size=2, max_size=6))
    def burst_of_residents(self, services: list[str]) -> None:
        for service in services:
            self.run(c.IssueTicket(request_id=self.rid(), service_id=service))

    @rule(window=WINDOWS)
    def call_next(self, window: int) -> None:
        self.now += dt.timedelta(seconds=4)
        self.run(c.CallNext(request_id=self.rid(), window=window))

    @rule(window=WINDOWS, gap=st.floats(min_value=0, max_value=2.9))
    def double_press(self, window: int, gap: float) -> None:
        self.now += dt.timedelta(seconds=4)
        first = self.run(c.CallNext(request_id=self.rid(), window=window))
        self.now += dt.timedelta(seconds=gap)
        calls_before = sum(isinstance(ev, e.TicketCalled) for ev in self.log)
        second = self.run(c.CallNext(request_id=self.rid(), window=window))
        calls_after = sum(isinstance(ev, e.TicketCalled) for ev in self.log)
        if first is not None and first["ticket"] is not None and second is not None:
            assert calls_after == calls_before, "a double press called a second resident"
            assert second["ticket"]["id"] == first["ticket"]["id"]

    @rule(window=WINDOWS)
    def recall(self, window: int) -> None:
        self.run(c.Recall(request_id=self.rid(), window=window))

    @rule(window=WINDOWS)
    def no_show(self, window: int) -> None:
        self.run(c.NoShow(request_id=self.rid(), window=window))

    @rule(window=WINDOWS)
    def pause(self, window: int) -> None:
        self.run(c.Pause(request_id=self.rid(), window=window))

    @rule(window=WINDOWS)
    def resume(self, window: int) -> None:
        self.run(c.Resume(request_id=self.rid(), window=window))

    @rule(
        window=WINDOWS,
        service=st.none() | st.sampled_from(SERVICES),
        to_window=st.none() | WINDOWS,
    )
    def transfer(self, window: int, service: str | None, to_window: int | None) -> None:
        self.run(c.Transfer(request_id=self.rid(), window=window, service_id=service,
                            to_window=to_window))

    @rule(window=WINDOWS, score=st.integers(min_value=1, max_value=5))
    def resident_rates_at_the_pad(self, window: int, score: int) -> None:
        """好差评 from a window's pad: one rating per ticket, a rated ticket keeps its first."""
        ratings = {t.id: t.rating for t in self.core.state.tickets.values()}
        reply = self.run(c.RateTicket(request_id=self.rid(), window=window, score=score))
        if reply is not None and reply["ticket"] is not None:
            tid = reply["ticket"]["id"]
            assert ratings[tid] is None, "a ticket rated twice"
            assert self.core.state.tickets[tid].rating == score
        after = {t.id: t.rating for t in self.core.state.tickets.values()}
        assert all(after[t] == r for t, r in ratings.items() if r is not None and t in after)

    @precondition(lambda self: bool(self.core.state.waiting))
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        ticket_id = data.draw(st.sampled_from(self.core.state.waiting))
        self.run(c.CancelTicket(request_id=self.rid(), ticket_id=ticket_id))

    @rule(seconds=st.integers(min_value=0, max_value=3 * 3600) | st.just(24 * 3600))
    def time_passes(self, seconds: int) -> None:
        self.now += dt.timedelta(seconds=seconds)

    @rule(seconds=st.integers(min_value=1, max_value=48 * 3600))
    def clock_jumps_back(self, seconds: int) -> None:
        self.now -= dt.timedelta(seconds=seconds)

    @precondition(lambda self: any(day >= self.days - 1 for _, _, day in self.sent))
    @rule(data=st.data())
    def retry(self, data: st.DataObject) -> None:
        """A retry of today's or the previous day's request (older ones: the store's job)."""
        recent = [(cmd, reply) for cmd, reply, day in self.sent if day >= self.days - 1]
        command, reply = data.draw(st.sampled_from(recent))
        before = copy.deepcopy(self.core.state)
        outcome = self.core.handle(command, self.now)
        assert outcome.repeated and outcome.events == ()
        assert outcome.reply == reply
        assert self.core.state == before

    # -- invariants -------------------------------------------------------------------------

    @invariant()
    def one_window_per_ticket(self) -> None:
        state = self.core.state
        held = [w.current for w in state.windows.values() if w.current is not None]
        assert len(held) == len(set(held))
        for number, w in state.windows.items():
            if w.current is not None:
                ticket = state.tickets[w.current]
                assert ticket.status is TicketStatus.CALLED and ticket.window == number

    @invariant()
    def no_ticket_lost(self) -> None:
        state = self.core.state
        assert set(state.tickets) == self.ids_today
        waiting = [t for t in state.tickets.values() if t.status is TicketStatus.WAITING]
        assert state.waiting == [t.id for t in sorted(waiting, key=lambda t: t.sort_key)]
        assert state.waiting_by_service == dict(Counter(t.service_id for t in waiting))
        called = {t.id for t in state.tickets.values() if t.status is TicketStatus.CALLED}
        assert called == {w.current for w in state.windows.values() if w.current}

    @invariant()
    def replay_rebuilds_the_state(self) -> None:
        assert QueueCore.replay(self.config, self.log).state == self.core.state

    @invariant()
    def event_times_never_go_back(self) -> None:
        times = [ev.at for ev in self.log]
        assert times == sorted(times)


class CenterPolicyMachine(QueueMachine):
    config = small_config()


class NoSkillsMachine(QueueMachine):
    config = small_config(
        rules=["transferred", "starvation", "green_channel", "short_high_freq"]
    )


SETTINGS = settings(
    max_examples=150, stateful_step_count=50, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestCenterPolicy = CenterPolicyMachine.TestCase
TestCenterPolicy.settings = SETTINGS
TestNoSkills = NoSkillsMachine.TestCase
TestNoSkills.settings = SETTINGS
