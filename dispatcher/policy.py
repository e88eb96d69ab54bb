"""The calling policy: which waiting ticket a window calls next.

Shaped like a work profile: first the *eligible* tickets for the window are found, then the
configured rules are tried in order; the first rule that picks a ticket wins, and plain order
(the oldest eligible ticket) is the fallback. Every rule picks the oldest ticket of the subset
it favours, so within one business the order of issue is always kept.

Eligibility (each part only when its rule is enabled):

* a ticket transferred to another window is reserved for that window while it is open;
* ``skills``: the signed-in staff must be able to do the business (level above ``cannot``);
  ``low`` business is eligible only when nothing of a higher level is eligible;
* ``green_channel`` while active: an ordinary window leaves the channel's business to the green
  windows, unless the ticket has waited ``max_wait_min`` or no green window is open.

Rules (`policy.rules`, default order):

1. ``transferred``: tickets transferred to this window.
2. ``starvation``: a ticket that has waited ``starvation_max_wait_min`` or more.
3. ``green_channel``: at a green window while the channel is active, the channel's business.
4. ``short_high_freq``: at a green window while diversion is on, short high-frequency business.
   Diversion switches on when more than ``short_threshold`` such tickets wait, off when fewer
   than ``short_threshold`` wait, and holds at exactly the threshold (see `core`).
5. ``skills``: the business of the highest skill level of the window's staff.

Tie-break everywhere: time of issue (kept across transfers), then issue sequence.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from .config import Config, SkillLevel, Staff
from .model import QueueState, Ticket, WindowState, WindowStatus


@dataclass(frozen=True)
class Choice:
    ticket: Ticket
    rule: str


@dataclass(frozen=True)
class _Context:
    config: Config
    state: QueueState
    window: WindowState
    staff: Staff | None
    now: dt.datetime

    def waited(self, ticket: Ticket) -> dt.timedelta:
        return self.now - ticket.issued_at


def green_channel_active(config: Config, state: QueueState, now: dt.datetime) -> bool:
    """Is the green channel on now (manual switch, else the schedule)?"""
    if not config.green_channel.service_ids:
        return False
    mode = state.green_channel_mode.value
    if mode != "auto":
        return mode == "on"
    local = now.astimezone(config.center.tz)
    return any(r.contains(local) for r in config.green_channel.schedule)


def staff_at(config: Config, window: WindowState) -> Staff | None:
    if window.staff_id is None:
        return None
    try:
        return config.staff_member(window.staff_id)
    except KeyError:
        return None


def can_serve(config: Config, window: WindowState, service_id: str) -> bool:
    """Could this window ever call this business (skills permitting)?"""
    if "skills" not in config.policy.rules:
        return True
    staff = staff_at(config, window)
    return staff is None or staff.level(service_id) > SkillLevel.CANNOT


def eligible(config: Config, state: QueueState, window_no: int, now: dt.datetime) -> list[Ticket]:
    """The waiting tickets this window may call now, in plain order."""
    window = state.windows[window_no]
    rules = config.policy.rules
    staff = staff_at(config, window) if "skills" in rules else None
    gc_active = "green_channel" in rules and green_channel_active(config, state, now)
    gc_services = set(config.green_channel.service_ids)
    gc_limit = dt.timedelta(minutes=config.green_channel.max_wait_min)
    green_open = any(
        w.green and w.status is WindowStatus.OPEN for w in state.windows.values()
    )
    result: list[Ticket] = []
    low: list[Ticket] = []
    for ticket in state.waiting_tickets():
        target = ticket.target_window
        if target is not None and target != window_no:
            target_state = state.windows.get(target)
            if target_state is not None and target_state.status is WindowStatus.OPEN:
                continue
        if (
            gc_active
            and not window.green
            and ticket.service_id in gc_services
            and green_open
            and now - ticket.issued_at < gc_limit
        ):
            continue
        if staff is not None:
            level = staff.level(ticket.service_id)
            if level == SkillLevel.CANNOT:
                continue
            if level == SkillLevel.LOW:
                low.append(ticket)
                continue
        result.append(ticket)
    return result or low


def _transferred(ctx: _Context, candidates: list[Ticket]) -> Ticket | None:
    return next((t for t in candidates if t.target_window == ctx.window.number), None)


def _starvation(ctx: _Context, candidates: list[Ticket]) -> Ticket | None:
    limit = dt.timedelta(minutes=ctx.config.policy.starvation_max_wait_min)
    return next((t for t in candidates if ctx.waited(t) >= limit), None)


def _green_channel(ctx: _Context, candidates: list[Ticket]) -> Ticket | None:
    if not ctx.window.green or not green_channel_active(ctx.config, ctx.state, ctx.now):
        return None
    services = ctx.config.green_channel.service_ids
    return next((t for t in candidates if t.service_id in services), None)


def _short_high_freq(ctx: _Context, candidates: list[Ticket]) -> Ticket | None:
    if not ctx.window.green or not ctx.state.diversion_on:
        return None
    services = ctx.config.services
    return next((t for t in candidates if services[t.service_id].short_high_freq), None)


def _skills(ctx: _Context, candidates: list[Ticket]) -> Ticket | None:
    if ctx.staff is None or not candidates:
        return None
    staff = ctx.staff
    best = max(staff.level(t.service_id) for t in candidates)
    chosen = next(t for t in candidates if staff.level(t.service_id) == best)
    return None if chosen is candidates[0] else chosen  # same as plain order: say "plain"


RULE_FUNCTIONS: dict[str, Callable[[_Context, list[Ticket]], Ticket | None]] = {
    "transferred": _transferred,
    "starvation": _starvation,
    "green_channel": _green_channel,
    "short_high_freq": _short_high_freq,
    "skills": _skills,
}


def choose_next(
    config: Config, state: QueueState, window_no: int, now: dt.datetime
) -> Choice | None:
    """The ticket this window should call now and the rule that chose it, or None."""
    candidates = eligible(config, state, window_no, now)
    if not candidates:
        return None
    window = state.windows[window_no]
    ctx = _Context(config, state, window, staff_at(config, window), now)
    for rule in config.policy.rules:
        ticket = RULE_FUNCTIONS[rule](ctx, candidates)
        if ticket is not None:
            return Choice(ticket, rule)
    return Choice(candidates[0], "plain")
