"""The month's 好差评 in figures: ratings by grade, the satisfaction rate (share of the top two
grades, 非常满意 and 满意), per staff member and business, and the bad ratings' follow-ups.
Pure: rows of the `ratings` and `rating_tasks` tables in, a JSON-ready dict out."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

GRADES = (1, 2, 3, 4, 5)  # 1 非常满意 … 5 非常不满意


def _summary(scores: list[int]) -> dict[str, Any]:
    n = len(scores)
    good = sum(1 for s in scores if s <= 2)
    return {"ratings": n, "satisfaction": round(good / n, 4) if n else 0.0,
            "mean_score": round(sum(scores) / n, 2) if n else 0.0}


def rating_report(ratings: Iterable[Mapping[str, Any]],
                  tasks: Iterable[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """`ratings`: rows with score, staff_id, service_id, ticket_id; `tasks`: the month's
    follow-up tasks with outcome (None while open)."""
    rows = list(ratings)
    scores = [int(r["score"]) for r in rows]
    by_staff: dict[str, list[int]] = {}
    by_service: dict[str, list[int]] = {}
    for r in rows:
        if r.get("staff_id"):
            by_staff.setdefault(str(r["staff_id"]), []).append(int(r["score"]))
        if r.get("service_id"):
            by_service.setdefault(str(r["service_id"]), []).append(int(r["score"]))
    task_rows = list(tasks)
    outcomes: dict[str, int] = {}
    for t in task_rows:
        key = str(t.get("outcome") or "open")
        outcomes[key] = outcomes.get(key, 0) + 1
    return {
        **_summary(scores),
        "by_score": {str(g): scores.count(g) for g in GRADES},
        "unattached": sum(1 for r in rows if not r.get("ticket_id")),
        "by_staff": {sid: _summary(s) for sid, s in sorted(by_staff.items())},
        "by_service": {sid: _summary(s) for sid, s in sorted(by_service.items())},
        "follow_ups": {"tasks": len(task_rows), "outcomes": dict(sorted(outcomes.items()))},
    }
