"""The calling policy: which waiting ticket a window calls next.

Shaped like a work profile: first the *eligible* tickets for the window are found, then the
configured rules are tried in order; the first rule that picks a ticket wins, and plain order
(the oldest eligible ticket) is the fallback. Every rule picks the oldest ticket of the subset
it favours, so within one business the order of issue is always kept.

Eligibility (each part only when its rule is enabled):

* a ticket transferred to another window is reserved for that window while it is open;
* ``skills``: the signed-in staff must be able to do the business (`serving.can_serve`, the
  same rule that tells residents their windows); ``low`` business is eligible only when
  nothing of a higher level is eligible;
* ``green_channel`` while active: an ordinary window leaves the channel's business to the green
  windows, unless the ticket has waited ``max_wait_min`` or no green window is open.

Rules (`policy.rules`, default order):

1. ``transferred``: tickets transferred to this window.
2. ``starvation``: a ticket that has waited ``starvation_max_wait_min`` or more.
3. ``green_channel``: at a green window while the channel is active, the channel's business.
4. ``short_high_freq``: at a green window while diversion is on, short high-frequency business.
   Diversion switches on when more than ``short_threshold`` such tickets wait, off when fewer
   than ``short_threshold`` wait, and holds at exactly the threshold (see `core`).
5. ``appointment``: a checked-in appointment (预约) whose slot has begun, the oldest slot first.
   An appointment checked in before its slot is not called before the slot begins, unless
   nothing else waits for the window. After the green windows' rules: booked long business
   must not take the green windows from the short business they are diverted to.
6. ``skills``: the business of the highest skill level of the window's staff.

Tie-break everywhere: time of issue (kept across transfers), then issue sequence.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from dispatcher.domain.config import Config, SkillLevel, Staff
from dispatcher.domain.model import QueueState, Ticket, WindowState, WindowStatus
from dispatcher.domain.serving import limiting_staff, serves


@dataclass(frozen=True)
class Choice:
    ticket: Ticket
    rule: str


@dataclass
class _Context:
    """What one window's decision needs, computed once per call."""

    config: Config
    state: QueueState
    window: WindowState
    now: dt.datetime
    staff: Staff | None  # whose skills limit the window (None: nothing limits it)
    gc_active: bool
    gc_services: frozenset[str]
    gc_limit: dt.timedelta
    starve_limit: dt.timedelta
    green_open: bool
    appointments: bool = False
    low: list[Ticket] = field(default_factory=list)
    early: list[Ticket] = field(default_factory=list)  # appointments before their slot

    @classmethod
    def build(cls, config: Config, state: QueueState, window_no: int,
              now: dt.datetime) -> _Context:
        rules = config.policy.rules
        window = state.windows[window_no]
        return cls(
            config=config, state=state, window=window, now=now,
            staff=limiting_staff(config, window),
            gc_active="green_channel" in rules and green_channel_active(config, state, now),
            gc_services=frozenset(config.green_channel.service_ids),
            gc_limit=dt.timedelta(minutes=config.green_channel.max_wait_min),
            starve_limit=dt.timedelta(minutes=config.policy.starvation_max_wait_min),
            green_open=any(w.green and w.status is WindowStatus.OPEN
                           for w in state.windows.values()),
            appointments="appointment" in rules,
        )


def green_channel_active(config: Config, state: QueueState, now: dt.datetime) -> bool:
    """Is the green channel on now (manual switch, else the schedule)?"""
    if not config.green_channel.service_ids:
        return False
    mode = state.green_channel_mode.value
    if mode != "auto":
        return mode == "on"
    local = now.astimezone(config.center.tz)
    return any(r.contains(local) for r in config.green_channel.schedule)


def _candidates(ctx: _Context) -> Iterator[Ticket]:
    """Eligible tickets in plain order; `low`-skill ones are set aside in ctx.low."""
    window_no = ctx.window.number
    windows = ctx.state.windows
    for ticket in ctx.state.waiting_tickets():
        target = ticket.target_window
        if target is not None and target != window_no:
            target_state = windows.get(target)
            if target_state is not None and target_state.status is WindowStatus.OPEN:
                continue
        if (
            ctx.gc_active
            and not ctx.window.green
            and ticket.service_id in ctx.gc_services
            and ctx.green_open
            and ctx.now - ticket.issued_at < ctx.gc_limit
        ):
            continue
        if not serves(ctx.staff, ticket.service_id):
            continue
        if ctx.appointments and ticket.appointment_start is not None \
                and ctx.now < ticket.appointment_start:
            ctx.early.append(ticket)
            continue
        if ctx.staff is not None and ctx.staff.level(ticket.service_id) == SkillLevel.LOW:
            ctx.low.append(ticket)
            continue
        yield ticket


def eligible(config: Config, state: QueueState, window_no: int, now: dt.datetime) -> list[Ticket]:
    """The waiting tickets this window may call now, in plain order."""
    ctx = _Context.build(config, state, window_no, now)
    return list(_candidates(ctx)) or ctx.low or ctx.early


# Each rule but skills favours the oldest eligible ticket matching a test, where it applies.
_Test = Callable[[_Context, Ticket], bool]
_Applies = Callable[[_Context], bool]
PREDICATE_RULES: dict[str, tuple[_Applies, _Test]] = {
    "transferred": (
        lambda ctx: True,
        lambda ctx, t: t.target_window == ctx.window.number,
    ),
    "starvation": (
        lambda ctx: True,
        lambda ctx, t: ctx.now - t.issued_at >= ctx.starve_limit,
    ),
    "green_channel": (
        lambda ctx: ctx.window.green and ctx.gc_active,
        lambda ctx, t: t.service_id in ctx.gc_services,
    ),
    "short_high_freq": (
        lambda ctx: ctx.window.green and ctx.state.diversion_on,
        lambda ctx, t: ctx.config.services[t.service_id].short_high_freq,
    ),
}


def _pick(ctx: _Context, candidates: Iterable[Ticket]) -> Choice | None:
    """One pass over the candidates: the first match of each rule, then rule order decides."""
    rules = ctx.config.policy.rules
    tests = [(name, PREDICATE_RULES[name][1]) for name in rules
             if name in PREDICATE_RULES and PREDICATE_RULES[name][0](ctx)]
    staff = ctx.staff
    found: dict[str, Ticket] = {}
    first: Ticket | None = None
    best: tuple[SkillLevel, Ticket] | None = None
    booked: Ticket | None = None  # the appointment of the oldest slot that has begun
    for ticket in candidates:
        if first is None:
            first = ticket
        start = ticket.appointment_start
        if ctx.appointments and start is not None and start <= ctx.now and (
                booked is None or (start, ticket.sort_key) < (
                    booked.appointment_start, booked.sort_key)):
            booked = ticket
        for name, test in tests:
            if name not in found and test(ctx, ticket):
                found[name] = ticket
        if staff is not None:
            level = staff.level(ticket.service_id)
            if best is None or level > best[0]:
                best = (level, ticket)
    if first is None:
        return None
    for name in rules:
        if name in found:
            return Choice(found[name], name)
        if name == "appointment" and booked is not None:
            return Choice(booked, "appointment")
        # skills: the business the staff does best; if that is the oldest anyway, say "plain".
        if name == "skills" and best is not None and best[1] is not first:
            return Choice(best[1], "skills")
    return Choice(first, "plain")


def choose_next(
    config: Config, state: QueueState, window_no: int, now: dt.datetime
) -> Choice | None:
    """The ticket this window should call now and the rule that chose it, or None."""
    ctx = _Context.build(config, state, window_no, now)
    choice = _pick(ctx, _candidates(ctx))
    if choice is None and ctx.low:  # nothing else waits: the staff's "low" business
        choice = _pick(ctx, list(ctx.low))
    if choice is None and ctx.early:  # an idle window takes an appointment before its slot
        choice = Choice(ctx.early[0], "appointment_early")
    return choice
