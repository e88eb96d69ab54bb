"""What the 全岗通 pages show, from `dispatcher.domain.ability.staff_ability`'s result and the
config: the period a page covers, the matrix (staff × the businesses served, grouped by
department), the suggestions with names, and one person's detail. Plain data, no I/O.

The period: the N whole calendar months before the current one (the current month is left
out: a month's data is read once it is complete, as the monthly report does)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from dispatcher.domain.config import Config, SkillLevel

DEFAULT_MONTHS = 3
MAX_MONTHS = 12
LEVELS = ("cannot", "low", "can", "preferred")
MARKS = {"cannot": "✕", "low": "▽", "preferred": "★"}  # "can", the usual, goes unmarked
SHORT_ZH = 7  # column headers: at most this many characters, the full name in a title
SHORT_EN = 18
# Ratio bands (the page's colours), bounds taken from the suggestion rules' thresholds.
BANDS = (("r-fast2", 0.85), ("r-fast", 0.95), ("r-ok", 1.10), ("r-slow", 1.25))


def period(today: dt.date, months: int) -> tuple[dt.date, dt.date]:
    """The first and last day of the `months` whole months before `today`'s month."""
    last = today.replace(day=1) - dt.timedelta(days=1)
    index = last.year * 12 + last.month - 1 - (months - 1)
    return dt.date(index // 12, index % 12 + 1, 1), last


def ratings_by_staff(rows: Iterable[Mapping[str, Any]]) -> dict[str, list[int]]:
    """Rating rows (with `staff_id` and `score`) as each staff member's scores."""
    out: dict[str, list[int]] = {}
    for r in rows:
        if r.get("staff_id") and r.get("score") is not None:
            out.setdefault(str(r["staff_id"]), []).append(int(r["score"]))
    return out


def ratio_class(ratio: float | None) -> str:
    """The colour band of a ratio: faster than the center (green) to slower (red)."""
    if ratio is None:
        return "r-none"
    for name, bound in BANDS:
        if ratio <= bound if name.startswith("r-fast") else ratio < bound:
            return name
    return "r-slow2"


def abbreviate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def _direction(level: str, suggested: str | None) -> str | None:
    if suggested is None:
        return None
    return "up" if LEVELS.index(suggested) > LEVELS.index(level) else "down"


def _columns(config: Config, served: Iterable[str]) -> list[dict[str, Any]]:
    """The businesses served, grouped by department in the config's order; businesses the
    config no longer has last, under their ids."""
    seen = set(served)
    groups: list[dict[str, Any]] = []
    for d in config.departments:
        services = [s for s in d.services if s.id in seen]
        if services:
            groups.append({"id": d.id, "name": d.name, "name_en": d.name_en or d.name,
                           "services": [_column(s.id, s.name, s.name_en or s.name, i == 0)
                                        for i, s in enumerate(services)]})
    unknown = sorted(seen - set(config.services))
    if unknown:
        groups.append({"id": "other", "name": "其他", "name_en": "Other", "services": [
            _column(sid, sid, sid, i == 0) for i, sid in enumerate(unknown)]})
    return groups


def _column(service_id: str, name: str, name_en: str, first: bool) -> dict[str, Any]:
    return {"id": service_id, "name": name, "name_en": name_en, "first": first,
            "short": abbreviate(name, SHORT_ZH), "short_en": abbreviate(name_en, SHORT_EN)}


def _people(config: Config, ability: Mapping[str, Any]) -> list[str]:
    """The configured staff (config order), then anyone else who called a ticket."""
    configured = [s.id for s in config.staff]
    others = sorted(p for p, v in ability["staff"].items()
                    if p not in configured and v["called"])
    return configured + others


def _level(config: Config, staff_id: str, service_id: str) -> str:
    try:
        member = config.staff_member(staff_id)
    except KeyError:
        return SkillLevel.CAN.name.lower()
    return member.level(service_id).name.lower()


def _summary(person: Mapping[str, Any]) -> dict[str, Any]:
    return {"served": person["served"], "called": person["called"],
            "no_show": person["no_show"], "no_show_rate": person["no_show_rate"],
            "transferred_in": person["transferred_in"], "index": person["index"],
            "transferred_out": person["transferred_out"],
            "transfer_rate": person["transfer_rate"],
            "index_class": ratio_class(person["index"]), "breadth": person["breadth"],
            "ratings": person["ratings"], "rating_mean": person["rating_mean"]}


def suggestion_rows(config: Config, ability: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The suggestions, strongest first (the analysis's order), with names."""
    out = []
    for s in ability["suggestions"]:
        service = config.services.get(s["service_id"])
        out.append({**s, "name": ability["staff"][s["staff_id"]]["name"],
                    "service": service.name if service else s["service_id"],
                    "service_en": (service.name_en or service.name) if service
                    else s["service_id"],
                    "direction": _direction(s["level"], s["suggested"])})
    return out


def ability_matrix(config: Config, ability: Mapping[str, Any]) -> dict[str, Any]:
    """The manager's matrix: a row per person (summary and one cell per column), the columns
    grouped by department, and the suggestions."""
    groups = _columns(config, ability["medians"])
    columns = [c for g in groups for c in g["services"]]
    rows = []
    for staff_id in _people(config, ability):
        person = ability["staff"][staff_id]
        cells = []
        for c in columns:
            got = person["by_service"].get(c["id"])
            level = got["level"] if got else _level(config, staff_id, c["id"])
            cells.append({
                "service_id": c["id"], "service": c["name"], "service_en": c["name_en"],
                "first": c["first"], "level": level, "mark": MARKS.get(level, ""),
                "served": got["served"] if got else 0,
                "ratio": got["ratio"] if got else None,
                "class": ratio_class(got["ratio"]) if got else "r-none",
                "suggested": got["suggested"] if got else None,
                "direction": _direction(level, got["suggested"]) if got else None,
            })
        rows.append({"id": staff_id, "name": person["name"], **_summary(person),
                     "cells": cells})
    return {"groups": groups, "columns": columns, "rows": rows,
            "suggestions": suggestion_rows(config, ability),
            "prior_cases": ability["prior_cases"]}


def person_view(config: Config, ability: Mapping[str, Any], staff_id: str
                ) -> dict[str, Any] | None:
    """One person's summary, a row per business they served (most served first), their
    suggestions, and the businesses configured "preferred" they did not serve; None for an
    id neither configured nor seen in the period."""
    person = ability["staff"].get(staff_id)
    if person is None:
        return None
    departments = {d.id: d for d in config.departments}
    rows = []
    for sid, cell in person["by_service"].items():
        service = config.services.get(sid)
        department = departments.get(service.department_id) if service else None
        rows.append({
            "service_id": sid, "service": service.name if service else sid,
            "service_en": (service.name_en or service.name) if service else sid,
            "department": department.name if department else "",
            "department_en": (department.name_en or department.name) if department else "",
            "served": cell["served"], "mean_min": round(cell["mean_s"] / 60, 1),
            "median_min": round(cell["median_s"] / 60, 1),
            "shrunk_min": round(cell["shrunk_s"] / 60, 1), "ratio": cell["ratio"],
            "class": ratio_class(cell["ratio"]), "level": cell["level"],
            "mark": MARKS.get(cell["level"], ""), "suggested": cell["suggested"],
            "direction": _direction(cell["level"], cell["suggested"]),
        })
    rows.sort(key=lambda r: (-r["served"], r["service_id"]))
    served = set(person["by_service"])
    preferred_unserved = []
    try:
        member = config.staff_member(staff_id)
    except KeyError:
        member = None
    if member is not None:
        preferred_unserved = [
            {"id": s.id, "name": s.name, "name_en": s.name_en or s.name}
            for d in config.departments for s in d.services
            if s.id not in served and member.level(s.id) is SkillLevel.PREFERRED]
    return {"id": staff_id, "name": person["name"], "configured": member is not None,
            **_summary(person), "rows": rows,
            "suggestions": [s for s in suggestion_rows(config, ability)
                            if s["staff_id"] == staff_id],
            "preferred_unserved": preferred_unserved, "prior_cases": ability["prior_cases"]}
