"""What-if: a past day replayed through the simulator (the real queue core and calling policy)
with another policy, short-business threshold, number of windows or seating, beside what
really happened that day. Pure.

The day's residents arrive when they took their tickets, for the business they took, and are
served as long as they really were (finish − the call at the window that finished them). A
no-show holds its window `NO_SHOW_S`; a flagged visit (a careless press, a service past the
day's end) is served for its business's median that day; cancelled tickets are left out.
What happened is measured the same way the simulator measures: the wait of every called
resident (first call − issue), mean, p90, the share within the target wait.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import math
import statistics
from collections.abc import Mapping, Sequence
from typing import Any

from dispatcher.domain.config import Config, SkillLevel, Staff, Window
from dispatcher.domain.history import Visit
from dispatcher.domain.simulate import Arrival, simulate

NO_SHOW_S = 60.0


class WhatIfError(ValueError):
    """A change the day's config cannot take (an unknown window or staff member)."""


def arrivals_of(visits: Sequence[Visit], tz: dt.tzinfo,
                flagged: frozenset[int] = frozenset()) -> list[Arrival]:
    """The day's residents as the simulator's arrivals (`flagged`: indexes of visits whose
    times are not trusted)."""
    medians: dict[str, list[float]] = {}
    for i, v in enumerate(visits):
        start = v.window_call
        if v.outcome == "done" and start and v.finished_at and i not in flagged:
            medians.setdefault(v.service_id, []).append((v.finished_at - start).total_seconds())
    median = {sid: statistics.median(ts) for sid, ts in medians.items()}
    overall = statistics.median([t for ts in medians.values() for t in ts]) if medians \
        else 300.0
    out = []
    for i, v in enumerate(visits):
        if v.outcome not in ("done", "no_show"):
            continue
        local = v.issued_at.astimezone(tz)
        at_s = local.hour * 3600 + local.minute * 60 + local.second
        start = v.window_call
        if v.outcome == "no_show":
            duration = NO_SHOW_S
        elif i in flagged or not start or not v.finished_at:
            duration = median.get(v.service_id, overall)
        else:
            duration = max(1.0, (v.finished_at - start).total_seconds())
        out.append(Arrival(at_s, v.service_id, duration))
    out.sort(key=lambda a: a.at_s)
    return out


BREAK_MIN = 45  # no call at any window this long, residents waiting: a break (lunch)


def breaks_of(visits: Sequence[Visit], tz: dt.tzinfo) -> list[tuple[int, int]]:
    """The day's breaks, as seconds after midnight: stretches of `BREAK_MIN` or more without
    a call at any window while someone waited."""
    def seconds(at: dt.datetime) -> int:
        local = at.astimezone(tz)
        return local.hour * 3600 + local.minute * 60 + local.second

    calls = sorted(seconds(v.called_at) for v in visits if v.called_at)
    issued = [(seconds(v.issued_at), seconds(v.called_at)) for v in visits if v.called_at]
    out = []
    for a, b in itertools.pairwise(calls):
        waiting = [i for i, c in issued if i < b <= c]  # waited into the gap's end
        if waiting:
            start = max(a + 1, min(waiting))  # from when someone waited unserved
            if b - start >= BREAK_MIN * 60:
                out.append((start, b))
    return out


def seating_of(visits: Sequence[Visit]) -> dict[int, str]:
    """Who worked at which window that day (the staff member who finished most there)."""
    counts: dict[int, dict[str, int]] = {}
    for v in visits:
        if v.window is not None and v.staff_id:
            per = counts.setdefault(v.window, {})
            per[v.staff_id] = per.get(v.staff_id, 0) + 1
    return {w: max(per, key=lambda s: per[s]) for w, per in sorted(counts.items())}


def _stats(waits: list[float], target_s: float) -> dict[str, Any]:
    if not waits:
        return {"called": 0, "mean_wait_s": 0.0, "p90_wait_s": 0.0, "max_wait_s": 0.0,
                "service_level": 0.0}
    ordered = sorted(waits)
    return {"called": len(ordered), "mean_wait_s": round(sum(ordered) / len(ordered), 1),
            "p90_wait_s": round(ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)], 1),
            "max_wait_s": round(ordered[-1], 1),
            "service_level": round(sum(1 for w in ordered if w <= target_s) / len(ordered), 4)}


def what_happened(visits: Sequence[Visit], target_s: float) -> dict[str, Any]:
    waits = [(v.called_at - v.issued_at).total_seconds() for v in visits
             if v.outcome in ("done", "no_show") and v.called_at]
    windows = {v.window for v in visits if v.window is not None}
    return {**_stats(waits, target_s), "tickets": len(visits), "windows": len(windows)}


def changed_config(config: Config, *, short_threshold: int | None = None,
                   windows: int | None = None,
                   seating: Mapping[int, str | None] | None = None) -> Config:
    """The config with the day's changes: the short-business threshold, the number of open
    windows (fewer: the highest numbers close; more: windows added after the last, staffed
    by someone able to do every business), and who sits where (`seating`: window → staff id,
    None for a closed window)."""
    cfg = config
    if short_threshold is not None:
        cfg = dataclasses.replace(cfg, policy=dataclasses.replace(
            cfg.policy, short_threshold=short_threshold))
    staff = {s.id: s for s in cfg.staff}
    seats = list(cfg.windows)
    for number, who in (seating or {}).items():
        if not any(w.number == number for w in seats):
            raise WhatIfError(f"no window {number} in the config")
        if who is not None and who not in staff:
            raise WhatIfError(f"no staff member {who!r} in the config")
        seats = [dataclasses.replace(w, staff_id=who, open_at_start=who is not None)
                 if w.number == number else w for w in seats]
    if windows is not None:
        if windows < 1:
            raise WhatIfError("at least 1 window")
        seats.sort(key=lambda w: w.number)
        working = [w for w in seats if w.staff_id is not None]
        if windows <= len(working):
            seats = working[:windows]  # the highest numbers close
        else:
            # Closed windows reopen first, with their configured staff when free; then
            # windows are added after the last, staffed by someone able to do everything.
            configured = {w.number: w.staff_id for w in config.windows}
            seated = {w.staff_id for w in working}
            extra = Staff("whatif-extra", "增设窗口", SkillLevel.CAN, {})
            reopened: list[Window] = []
            for w in seats:
                if w.staff_id is None and len(working) + len(reopened) < windows:
                    who = configured.get(w.number)
                    if who is None or who in seated:
                        who = extra.id
                        staff[extra.id] = extra
                    seated.add(who)
                    reopened.append(dataclasses.replace(w, staff_id=who, open_at_start=True))
            seats = sorted(working + reopened, key=lambda w: w.number)
            last = max((w.number for w in config.windows), default=0)
            missing = windows - len(seats)
            if missing > 0:
                staff[extra.id] = extra
                seats += [Window(last + k, False, extra.id) for k in range(1, missing + 1)]
    open_seats = tuple(w for w in seats if w.staff_id is not None)
    green = cfg.policy
    return dataclasses.replace(cfg, windows=open_seats, staff=tuple(staff.values()),
                               policy=green)


def what_if(config: Config, visits: Sequence[Visit], day: dt.date, *, policy: str = "center",
            short_threshold: int | None = None, windows: int | None = None,
            seating: Mapping[int, str | None] | None = None,
            flagged: frozenset[int] = frozenset(), seed: int = 0) -> dict[str, Any]:
    """What happened on `day` and what the simulator makes of it, as configured and with the
    changes (both simulated, so the change's effect is not the simulator's own bias)."""
    target_s = config.reports.target_wait_min * 60.0
    arrivals = arrivals_of(visits, config.center.tz, flagged)
    pauses = breaks_of(visits, config.center.tz)
    # The day as it was: the windows that worked, with who worked there (a window nobody
    # used that day is closed); the changes apply on top of it.
    staff_ids = {s.id for s in config.staff}
    worked = {w: s for w, s in seating_of(visits).items() if s in staff_ids}
    known = {w.number for w in config.windows}
    day_seats: dict[int, str | None] = {w.number: worked.get(w.number) for w in config.windows} \
        if worked and set(worked) <= known else {}
    as_was = changed_config(config, seating=day_seats or None)
    # The changes apply to the configured windows as that day had them: a window closed that
    # day can be given a person, and `windows` reopens closed windows before adding any.
    changed = changed_config(config, short_threshold=short_threshold, windows=windows,
                             seating={**day_seats, **(seating or {})} or None)

    def run(cfg: Config, pol: str) -> dict[str, Any]:
        result = simulate(cfg, arrivals, policy=pol, seed=seed, day=day, breaks=pauses)
        return {"tickets": result["tickets"], "windows": result["windows"],
                "mean_wait_s": result["mean_wait_s"], "p90_wait_s": result["p90_wait_s"],
                "max_wait_s": result["max_wait_s"], "unserved": result["unserved"],
                "by_class": result["by_class"]}

    return {
        "day": day.isoformat(),
        "changes": {"policy": policy, "short_threshold": short_threshold,
                    "windows": windows, "seating": {str(k): v for k, v in (seating or {})
                                                    .items()}},
        "happened": what_happened(visits, target_s),
        "breaks": [f"{a // 3600:02d}:{a % 3600 // 60:02d}–{b // 3600:02d}:{b % 3600 // 60:02d}"
                   for a, b in pauses],
        "seating": {str(w.number): w.staff_id for w in as_was.windows},
        "simulated_as_it_was": run(as_was, "center"),
        "simulated_with_changes": run(changed, policy),
    }
