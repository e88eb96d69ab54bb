"""Seating suggestion for a coming day: which staff member at which window (the green windows
included), judged by the simulator on the day's forecast residents, each served at the speed
that staff member has measured for that business (全岗通 ratios). Pure.

The day's residents: the forecast total spread over the hours as the history spreads that
weekday, the businesses in their forecast shares, each served for the business's median
time. The search starts from the config's seating and takes, round by round, the best single
move — two windows swapping their staff, or a staff member without a window taking one —
while it raises the share of residents called within the target wait (ties: the lower mean
wait). The simulator is the real queue core, so skills, the green windows and the calling
rules all count; the suggestion is shown beside the expected waits of both seatings.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from dispatcher.domain.config import Config
from dispatcher.domain.simulate import Arrival, simulate

ROUNDS = 2


def forecast_arrivals(total: float, shares: Mapping[str, float], hours: Sequence[float],
                      medians: Mapping[str, float], default_s: float = 300.0) -> list[Arrival]:
    """`total` residents: per hour as `hours` (24 shares), evenly inside the hour; the
    businesses interleaved in proportion to `shares` (largest remainder, deterministic)."""
    count = round(total)
    whole = sum(hours) or 1.0
    per_hour = [round(count * h / whole) for h in hours]
    services = sorted(shares, key=lambda s: -shares[s])
    weight = sum(shares.values()) or 1.0
    credit = dict.fromkeys(services, 0.0)
    out = []
    for hour, n in enumerate(per_hour):
        for k in range(n):
            for sid in services:
                credit[sid] += shares[sid] / weight
            pick = max(services, key=lambda s: credit[s])
            credit[pick] -= 1
            at = hour * 3600 + int((k + 0.5) * 3600 / n)
            out.append(Arrival(at, pick, medians.get(pick, default_s)))
    return out


def _seated(config: Config, seats: Mapping[int, str | None]) -> Config:
    windows = tuple(dataclasses.replace(w, staff_id=seats.get(w.number, w.staff_id),
                                        open_at_start=seats.get(w.number, w.staff_id)
                                        is not None)
                    for w in config.windows)
    return dataclasses.replace(config, windows=tuple(w for w in windows if w.staff_id))


def suggest_seating(config: Config, arrivals: Sequence[Arrival],
                    ratios: Mapping[tuple[str, str], float], day: dt.date,
                    breaks: Sequence[tuple[int, int]] = (), rounds: int = ROUNDS,
                    available: Sequence[str] | None = None) -> dict[str, Any]:
    """The config's seating and the suggested one, each with its expected waits.
    `ratios[(staff, business)]`: handling time ÷ the center's median (1 when unknown);
    `available`: the staff at work that day (default: everyone in the config)."""
    target_s = config.reports.target_wait_min * 60.0
    people = list(available) if available is not None else [s.id for s in config.staff]
    start = {w.number: (w.staff_id if w.staff_id in people else None) for w in config.windows}

    def score(seats: Mapping[int, str | None]) -> tuple[float, float, dict[str, Any]]:
        def speed(window: int, service: str) -> float:
            who = seats.get(window)
            return ratios.get((who, service), 1.0) if who else 1.0

        result = simulate(_seated(config, seats), arrivals, seed=0, day=day,
                          breaks=breaks, speed=speed, target_s=target_s)
        summary = {k: result[k] for k in ("mean_wait_s", "p90_wait_s", "max_wait_s",
                                          "service_level", "unserved", "windows")}
        return result["service_level"], -result["mean_wait_s"], summary

    best = dict(start)
    best_score = score(best)
    first = best_score
    tried = 1
    for _ in range(rounds):
        moves: list[dict[int, str | None]] = []
        windows = sorted(best)
        green = set(config.green_windows)
        for i, a in enumerate(windows):
            for b in windows[i + 1:]:
                # Two ordinary windows are alike to the residents: only a swap across the
                # green and ordinary windows, or with a closed window, changes anything.
                alike = (a in green) == (b in green) and best[a] and best[b]
                if best[a] != best[b] and not alike:
                    moves.append({**best, a: best[b], b: best[a]})
        idle = [p for p in people if p not in best.values()]
        for w in windows:
            for p in idle:
                moves.append({**best, w: p})
        improved = None
        for seats in moves:
            tried += 1
            s = score(seats)
            if s[:2] > (improved or best_score)[:2]:
                improved, chosen = s, seats
        if improved is None:
            break
        best, best_score = chosen, improved
    names = {s.id: s.name for s in config.staff}
    return {
        "day": day.isoformat(), "residents": len(arrivals), "simulations": tried,
        "configured": {"seating": {str(w): start[w] for w in sorted(start)}, **first[2]},
        "suggested": {"seating": {str(w): best[w] for w in sorted(best)}, **best_score[2]},
        "moves": [{"window": w, "from": start[w], "to": best[w],
                   "from_name": names.get(start[w] or "", ""),
                   "to_name": names.get(best[w] or "", "")}
                  for w in sorted(best) if best[w] != start[w]],
    }
