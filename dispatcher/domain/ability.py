"""全岗通: each staff member's measured ability per business, from the visits they served.

- *handling time*: finish − the call at the window (after a transfer, the receiving window's
  call), over served visits the caller has not flagged (careless presses, services past the
  day's end).
- *center median*: per business, the median handling time of every served visit.
- *ratio*: a person's mean handling time shrunk toward the median with `prior_cases`
  pseudo-cases — (Σ times + k·median) ÷ (n + k) — divided by the median. Below 1 is faster than
  the center; with few cases the ratio stays near 1 rather than jump on luck.
- *breadth*: the businesses a person serves well: ≥ `WELL_CASES` served at ratio ≤ `WELL_RATIO`.
- *no-show rate*: absent ÷ called, over the visits they called; *transferred*: visits they
  finished that came by transfer.
- *transfer rate*: the visits they called and sent on to another window or business ÷ all
  they called, overall and per business; native tickets only (an imported export does not
  say who transferred), so None for someone with no native visits.
- *suggestions*: where the data disagree with the configured skill level (the manager
  decides; nothing changes by itself):
  cannot/low, ≥ 10 served at ratio ≤ 1.10 → can; can, ≥ 30 served at ratio ≤ 0.85 → preferred;
  preferred, ≥ 20 served at ratio ≥ 1.25 → can; can/preferred, ≥ 20 at ratio ≥ 1.5 → low.
Pure: no I/O.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from typing import Any

from dispatcher.domain.config import SkillLevel, Staff
from dispatcher.domain.history import Visit

PRIOR_CASES = 10
WELL_CASES = 5
WELL_RATIO = 1.15


def _suggest(level: SkillLevel, served: int, ratio: float) -> tuple[SkillLevel, str] | None:
    if level in (SkillLevel.CANNOT, SkillLevel.LOW) and served >= 10 and ratio <= 1.10:
        return SkillLevel.CAN, f"served {served} at {ratio:.2f}× the center's median time"
    if level in (SkillLevel.CAN, SkillLevel.PREFERRED) and served >= 20 and ratio >= 1.5:
        return SkillLevel.LOW, f"{ratio:.2f}× the center's median time over {served} served"
    if level is SkillLevel.CAN and served >= 30 and ratio <= 0.85:
        return SkillLevel.PREFERRED, f"{ratio:.2f}× the center's median time over {served} " \
                                     "served"
    if level is SkillLevel.PREFERRED and served >= 20 and ratio >= 1.25:
        return SkillLevel.CAN, f"{ratio:.2f}× the center's median time over {served} served"
    return None


def staff_ability(visits: Iterable[Visit], staff: Mapping[str, Staff],
                  ratings: Mapping[str, list[int]] | None = None,
                  prior_cases: int = PRIOR_CASES) -> dict[str, Any]:
    """Per staff member and business: served, mean and shrunk times, ratio to the median,
    the configured level and a suggested one; per person: volume, breadth, no-shows,
    transfers and ratings; the center's medians; the suggestions, strongest first."""
    times: dict[str, dict[str, list[float]]] = {}  # staff → business → handling seconds
    by_service: dict[str, list[float]] = {}
    called: dict[str, int] = {}
    absent: dict[str, int] = {}
    transferred: dict[str, int] = {}
    sent: dict[str, dict[str, int]] = {}  # staff → business → transfers away
    native_calls: dict[str, int] = {}  # staff → native visits they called (kept or sent on)
    for v in visits:
        for who, service in v.transferred_by:
            per = sent.setdefault(who, {})
            per[service] = per.get(service, 0) + 1
            native_calls[who] = native_calls.get(who, 0) + 1
        if v.source == "native" and v.staff_id is not None and v.outcome in ("done", "no_show"):
            native_calls[v.staff_id] = native_calls.get(v.staff_id, 0) + 1
        if v.staff_id is None or v.outcome not in ("done", "no_show"):
            continue
        called[v.staff_id] = called.get(v.staff_id, 0) + 1
        if v.outcome == "no_show":
            absent[v.staff_id] = absent.get(v.staff_id, 0) + 1
            continue
        start = v.window_call
        if start is None or v.finished_at is None:
            continue
        seconds = (v.finished_at - start).total_seconds()
        times.setdefault(v.staff_id, {}).setdefault(v.service_id, []).append(seconds)
        by_service.setdefault(v.service_id, []).append(seconds)
        if v.transfers:
            transferred[v.staff_id] = transferred.get(v.staff_id, 0) + 1
    medians = {sid: statistics.median(ts) for sid, ts in sorted(by_service.items())}
    people: dict[str, Any] = {}
    suggestions: list[dict[str, Any]] = []
    ratings = ratings or {}
    for person in sorted(set(times) | set(called) | set(staff) | set(sent)):
        member = staff.get(person)
        cells: dict[str, Any] = {}
        weighted = 0.0
        served_all = 0
        for sid, ts in sorted(times.get(person, {}).items()):
            median = medians[sid]
            n = len(ts)
            shrunk = (sum(ts) + prior_cases * median) / (n + prior_cases)
            ratio = shrunk / median if median > 0 else 1.0
            level = member.level(sid) if member else SkillLevel.CAN
            suggested = _suggest(level, n, ratio) if member else None
            cells[sid] = {"served": n, "mean_s": round(sum(ts) / n, 1),
                          "shrunk_s": round(shrunk, 1), "median_s": round(median, 1),
                          "ratio": round(ratio, 3), "level": level.name.lower(),
                          "suggested": suggested[0].name.lower() if suggested else None}
            if suggested:
                suggestions.append({"staff_id": person, "service_id": sid,
                                    "level": level.name.lower(),
                                    "suggested": suggested[0].name.lower(),
                                    "served": n, "ratio": round(ratio, 3),
                                    "why": suggested[1]})
            weighted += ratio * n
            served_all += n
        scores = ratings.get(person, [])
        people[person] = {
            "name": member.name if member else person,
            "served": served_all, "called": called.get(person, 0),
            "no_show": absent.get(person, 0),
            "no_show_rate": round(absent.get(person, 0) / called[person], 4)
            if called.get(person) else 0.0,
            "transferred_in": transferred.get(person, 0),
            "transferred_out": sum(sent.get(person, {}).values()),
            "transfer_rate": round(sum(sent.get(person, {}).values())
                                   / native_calls[person], 4)
            if native_calls.get(person) else None,
            "transferred_out_by_service": dict(sorted(sent.get(person, {}).items())),
            "index": round(weighted / served_all, 3) if served_all else None,
            "breadth": sum(1 for c in cells.values()
                           if c["served"] >= WELL_CASES and c["ratio"] <= WELL_RATIO),
            "ratings": len(scores),
            "rating_mean": round(sum(scores) / len(scores), 2) if scores else None,
            "by_service": cells,
        }
    suggestions.sort(key=lambda s: (-s["served"] * abs(1 - s["ratio"]), s["staff_id"]))
    return {"medians": {sid: round(m, 1) for sid, m in medians.items()}, "staff": people,
            "suggestions": suggestions, "prior_cases": prior_cases}
