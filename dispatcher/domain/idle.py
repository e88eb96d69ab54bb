"""Staff idle time while residents they could serve were waiting, from the visits alone (so
imported history counts too). Pure.

A staff member's *gap* is the time between finishing one resident and calling the next at
the same window on the same day. The part of a gap during which at least one resident of a
business they can serve (configured level above cannot) was waiting — issued, not yet called —
is *idle while waiting*. Gaps of `BREAK_S` or more are breaks (lunch, a meeting), counted apart
and not as idle; the first `GRACE_S` of every gap (walking the last resident out, the next one
to the desk) never counts.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterable, Sequence

from dispatcher.domain.history import Visit

BREAK_S = 30 * 60
GRACE_S = 60.0


def _merge(intervals: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for a, b in sorted(intervals):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _overlap(gaps: Sequence[tuple[float, float]], busy: Sequence[tuple[float, float]]) -> float:
    """Total length where the (sorted) gaps meet the (sorted, merged) waiting intervals."""
    total, j = 0.0, 0
    for a, b in gaps:
        while j < len(busy) and busy[j][1] <= a:
            j += 1
        k = j
        while k < len(busy) and busy[k][0] < b:
            total += max(0.0, min(b, busy[k][1]) - max(a, busy[k][0]))
            k += 1
    return total


def idle_while_waiting(visits: Iterable[Visit], can_serve: Callable[[str, str], bool]
                       ) -> dict[str, dict[str, float]]:
    """Per staff member: `idle_s` (idle while someone they could serve waited), `gaps_s`
    (every gap under BREAK_S, after the grace), `breaks` (gaps of BREAK_S or more)."""
    by_day: dict[dt.date, list[Visit]] = {}
    for v in visits:
        by_day.setdefault(v.business_day, []).append(v)
    out: dict[str, dict[str, float]] = {}
    able: dict[tuple[str, str], bool] = {}
    for day_visits in by_day.values():
        waiting: dict[str, list[tuple[float, float]]] = {}
        desks: dict[tuple[int, str], list[tuple[float, float | None]]] = {}
        for v in day_visits:
            end = v.called_at or v.finished_at
            if end is not None and end > v.issued_at:
                waiting.setdefault(v.service_id, []).append(
                    (v.issued_at.timestamp(), end.timestamp()))
            call = v.window_call
            if v.window is not None and v.staff_id and call is not None:
                desks.setdefault((v.window, v.staff_id), []).append(
                    (call.timestamp(), v.finished_at.timestamp() if v.finished_at else None))
        merged: dict[str, list[tuple[float, float]]] = {}
        for (_, staff), served in desks.items():
            served.sort()
            gaps: list[tuple[float, float]] = []
            row = out.setdefault(staff, {"idle_s": 0.0, "gaps_s": 0.0, "breaks": 0.0})
            for (_, finished), (called, _) in itertools.pairwise(served):
                if finished is None:
                    continue
                a, b = finished + GRACE_S, called
                if b - a + GRACE_S >= BREAK_S:
                    row["breaks"] += 1
                elif b > a:
                    gaps.append((a, b))
                    row["gaps_s"] += b - a
            if not gaps:
                continue
            if staff not in merged:
                for sid in waiting:
                    if (staff, sid) not in able:
                        able[staff, sid] = can_serve(staff, sid)
                merged[staff] = _merge([span for sid, spans in waiting.items()
                                        if able[staff, sid] for span in spans])
            row["idle_s"] += _overlap(gaps, merged[staff])
    return {s: {k: round(v, 1) for k, v in row.items()} for s, row in sorted(out.items())}
