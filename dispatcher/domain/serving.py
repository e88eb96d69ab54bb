"""Which windows serve a business now: one rule for the policy, the ticket, the kiosk and the hall.

A window *can serve* a business when the calling policy may ever call such a ticket there:
with the ``skills`` rule on, the staff signed in at the window must handle the business at a
level above ``cannot`` (``low`` counts: it is called when nothing else waits); with the rule
off, or nobody (known) signed in, a window serves everything. The green channel and transfers
only change *when* a window calls a ticket, never whether it may, so they are not part of it.

`serving_windows` is what a resident is told: the open windows that can serve the business.
Paused windows are left out while any capable window is open; when every capable window is
paused, all of them are listed, since a paused window comes back and a resident is never told
"no window". The list is empty only when no window can serve the business at all (the core
then refuses the ticket).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable

from dispatcher.domain.config import Config, SkillLevel, Staff
from dispatcher.domain.model import QueueState, WindowState, WindowStatus


def limiting_staff(config: Config, window: WindowState) -> Staff | None:
    """The staff whose skills limit what this window may call; None when nothing limits it
    (the ``skills`` rule is off, or no known staff member is signed in)."""
    if "skills" not in config.policy.rules or window.staff_id is None:
        return None
    try:
        return config.staff_member(window.staff_id)
    except KeyError:
        return None


def serves(staff: Staff | None, service_id: str) -> bool:
    """May a window limited by `staff` (None: not limited) call this business?"""
    return staff is None or staff.level(service_id) > SkillLevel.CANNOT


def can_serve(config: Config, window: WindowState, service_id: str) -> bool:
    """May this window, with whoever is signed in now, call this business?"""
    return serves(limiting_staff(config, window), service_id)


def windows_by_service(config: Config, state: QueueState,
                       service_ids: Iterable[str]) -> dict[str, tuple[int, ...]]:
    """`serving_windows` for several businesses at once (each window's staff looked up once)."""
    limits = [(w, limiting_staff(config, w)) for _, w in sorted(state.windows.items())]
    out: dict[str, tuple[int, ...]] = {}
    for service_id in service_ids:
        able = [w for w, staff in limits if serves(staff, service_id)]
        open_now = tuple(w.number for w in able if w.status is WindowStatus.OPEN)
        out[service_id] = open_now or tuple(w.number for w in able)
    return out


def serving_windows(config: Config, state: QueueState, service_id: str) -> tuple[int, ...]:
    """The windows to send a resident to for this business now, in number order: the open
    ones that can serve it, else (all of those paused) every one that can."""
    return windows_by_service(config, state, (service_id,))[service_id]


def roster(state: QueueState) -> Hashable:
    """Everything `serving_windows` reads from the state (who sits where, which windows are
    open): while it is unchanged, so is every business's list."""
    return tuple((n, w.staff_id, w.status) for n, w in sorted(state.windows.items()))
