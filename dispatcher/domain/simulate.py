"""Replay a day of arrivals through the real queue core and calling policy.

A discrete-event simulation: residents arrive and take tickets at the times of the CSV; every
window of the config, staffed by its configured staff, calls the next ticket whenever it is
free (through `QueueCore.handle(CallNext)`, so the policy is the very code the dispatcher runs)
and serves it for the ticket's `duration_s`. Idle windows look again every `POLL_S` seconds,
so that waiting-time limits (green channel, starvation) take effect without a new arrival.
The seed orders idle windows that could call at the same instant; the run is deterministic.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import heapq
import io
import math
import random
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from dispatcher.domain.commands import CallNext, IssueTicket
from dispatcher.domain.config import Config
from dispatcher.domain.core import QueueCore

POLICIES = ("center", "fifo")
POLL_S = 30
DEFAULT_DAY = dt.date(2026, 11, 30)  # a Monday


class ArrivalsError(Exception):
    """The arrivals CSV cannot be used; `problems` lists each bad line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Arrival:
    at_s: int  # seconds after local midnight
    service_id: str
    duration_s: float
    slot_s: int | None = None  # a booked resident checking in: their slot's start


def read_arrivals(text: str, config: Config, source: str = "<arrivals>") -> list[Arrival]:
    """Parse `time,service_id,duration_s[,appointment]` rows (`appointment`: the booked slot's
    start, HH:MM, for a resident checking in; empty for a walk-in); raise ArrivalsError listing
    every bad row."""
    problems: list[str] = []
    arrivals: list[Arrival] = []
    reader = csv.DictReader(io.StringIO(text))
    missing = {"time", "service_id", "duration_s"} - set(reader.fieldnames or ())
    if missing:
        raise ArrivalsError([f"{source}: missing column(s): {', '.join(sorted(missing))}"])
    for row in reader:
        line = reader.line_num
        where = f"{source}: line {line}"
        try:
            t = dt.time.fromisoformat((row["time"] or "").strip())
        except ValueError:
            problems.append(f"{where}: time must be HH:MM:SS, not {row['time']!r}")
            continue
        service_id = (row["service_id"] or "").strip()
        if service_id not in config.services:
            problems.append(f"{where}: unknown business {service_id!r}")
            continue
        try:
            duration = float(row["duration_s"] or "")
        except ValueError:
            problems.append(f"{where}: duration_s must be a number, not {row['duration_s']!r}")
            continue
        if not math.isfinite(duration) or duration <= 0:
            problems.append(f"{where}: duration_s must be positive, not {duration}")
            continue
        slot_s = None
        booked = (row.get("appointment") or "").strip()
        if booked:
            try:
                slot = dt.time.fromisoformat(booked)
            except ValueError:
                problems.append(f"{where}: appointment must be HH:MM, not {booked!r}")
                continue
            slot_s = slot.hour * 3600 + slot.minute * 60
        arrivals.append(Arrival(t.hour * 3600 + t.minute * 60 + t.second, service_id, duration,
                                slot_s))
    if problems:
        raise ArrivalsError(problems)
    if not arrivals:
        raise ArrivalsError([f"{source}: no arrivals"])
    return sorted(arrivals, key=lambda a: a.at_s)


def config_for_policy(config: Config, policy: str) -> Config:
    """`center`: the config as it is; `fifo`: every calling rule off (plain order)."""
    if policy == "center":
        return config
    if policy == "fifo":
        return dataclasses.replace(config, policy=dataclasses.replace(config.policy, rules=()))
    raise ValueError(f"unknown policy {policy!r} (known: {', '.join(POLICIES)})")


def simulate(
    config: Config,
    arrivals: Iterable[Arrival],
    policy: str = "center",
    seed: int = 0,
    day: dt.date = DEFAULT_DAY,
    breaks: Iterable[tuple[int, int]] = (),
    speed: Callable[[int, str], float] | None = None,
    target_s: float | None = None,
) -> dict[str, Any]:
    """Run the day; return the PROTOCOL.md summary (plus a few extra fields). `breaks`:
    (start, end) seconds after midnight when no window calls (lunch); a service under way
    finishes, and the windows call again at the break's end. `speed(window, service_id)`
    scales a ticket's duration by who serves it (their measured ability); `target_s` adds the
    share of residents called within it (`service_level`)."""
    cfg = config_for_policy(config, policy)
    core = QueueCore(cfg)
    rng = random.Random(seed)
    midnight = dt.datetime.combine(day, dt.time(0), tzinfo=cfg.center.tz)
    queue: list[tuple[float, int, int, str, Any]] = []  # (time, kind order, n, kind, data)
    counter = 0

    def push(at_s: float, kind: str, data: Any) -> None:
        nonlocal counter
        counter += 1
        heapq.heappush(queue, (at_s, {"finish": 0, "arrive": 1, "poll": 2}[kind], counter,
                               kind, data))

    for a in arrivals:
        push(a.at_s, "arrive", a)
    closed = sorted(breaks)
    for _, end in closed:
        push(end, "poll", None)

    def on_break(now_s: float) -> bool:
        return any(start <= now_s < end for start, end in closed)

    durations: dict[str, float] = {}
    issued_s: dict[str, float] = {}
    booked_from: dict[str, float] = {}  # a booking's wait counts from check-in or its slot
    waits: dict[str, float] = {}
    rules: Counter[str] = Counter()
    idle: set[int] = set(core.state.windows)
    poll_pending = False
    rid = 0

    def call(window: int, now_s: float) -> bool:
        """Window calls next; True if it now serves someone."""
        nonlocal rid
        if on_break(now_s):
            return False
        rid += 1
        now = midnight + dt.timedelta(seconds=now_s)
        reply = core.handle(CallNext(request_id=f"sim-{rid}", window=window), now).reply
        if reply.get("ignored"):  # the double-press guard: look again once it has passed
            push(now_s + cfg.policy.double_press_s, "finish", window)
            return True
        ticket = reply["ticket"]
        if ticket is None:
            return False
        waits[ticket["id"]] = now_s - issued_s[ticket["id"]]
        rules[reply.get("rule", "plain")] += 1
        factor = speed(window, ticket["service_id"]) if speed is not None else 1.0
        push(now_s + durations[ticket["id"]] * factor, "finish", window)
        return True

    def dispatch_idle(now_s: float) -> None:
        for window in rng.sample(sorted(idle), len(idle)):
            if call(window, now_s):
                idle.discard(window)

    while queue:
        now_s, _, _, kind, data = heapq.heappop(queue)
        if kind == "arrive":
            rid += 1
            now = midnight + dt.timedelta(seconds=now_s)
            booking: dict[str, Any] = {}
            if data.slot_s is not None:
                start = midnight + dt.timedelta(seconds=data.slot_s)
                booking = {"appointment_code": f"sim-{rid}",
                           "appointment_start": start.isoformat(),
                           "appointment_end": (start + dt.timedelta(
                               minutes=cfg.appointments.slot_min)).isoformat()}
            reply = core.handle(
                IssueTicket(request_id=f"sim-{rid}", service_id=data.service_id, **booking),
                now).reply
            ticket_id = reply["ticket"]["id"]
            durations[ticket_id] = data.duration_s
            issued_s[ticket_id] = now_s
            if data.slot_s is not None:
                booked_from[ticket_id] = max(now_s, data.slot_s)
            dispatch_idle(now_s)
        elif kind == "finish":
            if not call(data, now_s):
                idle.add(data)
        else:
            poll_pending = False
            dispatch_idle(now_s)
        if idle and core.state.waiting and not poll_pending and not on_break(now_s):
            poll_pending = True
            push(now_s + POLL_S, "poll", None)

    short = {sid for sid, s in cfg.services.items() if s.short_high_freq}
    classes: dict[str, list[float]] = {"short_high_freq": [], "other": []}
    service_of = {t.id: t.service_id for t in core.state.tickets.values()}
    for ticket_id, wait in waits.items():
        key = "short_high_freq" if service_of[ticket_id] in short else "other"
        classes[key].append(wait)
    result: dict[str, Any] = {
        "policy": policy,
        "tickets": len(issued_s),
        "windows": len(cfg.windows),
        **_stats(list(waits.values())),
        "by_class": {
            name: {"tickets": len(values), **_stats(values)} for name, values in classes.items()
        },
        "unserved": len(issued_s) - len(waits),
        "seed": seed,
        "date": day.isoformat(),
        "calls_by_rule": dict(sorted(rules.items())),
    }
    if target_s is not None:
        result["service_level"] = round(sum(1 for w in waits.values() if w <= target_s)
                                        / len(waits), 4) if waits else 0.0
    if booked_from:  # booked residents apart: their wait runs from the later of check-in and
        # their slot's start (called earlier: no wait)
        called_at = {t: issued_s[t] + w for t, w in waits.items()}
        booked = [max(0.0, called_at[t] - booked_from[t]) for t in waits if t in booked_from]
        result["appointments"] = {"tickets": len(booked_from), **_stats(booked)}
        result["walk_ins"] = {"tickets": len(issued_s) - len(booked_from),
                              **_stats([w for t, w in waits.items() if t not in booked_from])}
    return result


def _stats(values: list[float]) -> dict[str, float]:
    """Mean, p90 (nearest rank) and max, in seconds rounded to 0.1."""
    if not values:
        return {"mean_wait_s": 0.0, "p90_wait_s": 0.0, "max_wait_s": 0.0}
    ordered = sorted(values)
    p90 = ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]
    return {
        "mean_wait_s": round(float(sum(ordered)) / len(ordered), 1),
        "p90_wait_s": round(float(p90), 1),
        "max_wait_s": round(float(ordered[-1]), 1),
    }
