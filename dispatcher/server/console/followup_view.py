"""What the 预约回访 page shows: a day's bookings grouped by business (each with its materials
checklist), the progress of the calls, and each resident's name and phone — in full only to
the staff member who took that call, masked for everyone else and on paper. Plain data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from dispatcher.domain.appointments import Booking, caller_of, followup_done, mask_name, mask_phone
from dispatcher.domain.config import Config


def booking_row(config: Config, b: Booking, viewer: str, now: dt.datetime) -> dict[str, Any]:
    f = dict(b.followup or {})
    caller = caller_of(b, now)
    mine = caller == viewer and b.status == "booked"
    outcome = f.get("outcome")
    return {
        "code": b.code, "slot": f"{b.slot_start:%H:%M}–{b.slot_end:%H:%M}",
        "status": b.status, "mine": mine, "caller": caller if caller != viewer else None,
        "name": b.name if mine else mask_name(b.name),
        "phone": b.phone if mine else mask_phone(b.phone),
        "phone_masked": mask_phone(b.phone),  # what paper shows, even of one's own call
        "name_masked": mask_name(b.name),
        "outcome": outcome, "attempts": int(f.get("attempts", 0)),
        "missing": list(f.get("missing") or []), "note": f.get("note"),
        "by": f.get("by"),
        "at": dt.datetime.fromisoformat(f["at"]).astimezone(config.center.tz).strftime(
            "%m-%d %H:%M") if f.get("at") else None,
        "done": followup_done(b), "open": b.status == "booked",
    }


def followup_page(config: Config, bookings: Iterable[Booking], viewer: str,
                  now: dt.datetime) -> dict[str, Any]:
    """Groups (business order of the config), progress, and the slots a booking may move to."""
    by_service: dict[str, list[Booking]] = {}
    for b in sorted(bookings, key=lambda b: (b.slot_start, b.code)):
        by_service.setdefault(b.service_id, []).append(b)
    order = list(config.services)
    groups: list[dict[str, Any]] = []
    for sid in sorted(by_service, key=lambda s: order.index(s) if s in order else len(order)):
        service = config.services.get(sid)
        groups.append({
            "service_id": sid,
            "service": service.name if service else sid,
            "service_en": (service.name_en or service.name) if service else sid,
            "materials": list(service.materials) if service else [],
            "rows": [booking_row(config, b, viewer, now) for b in by_service[sid]],
        })
    rows: list[dict[str, Any]] = [r for g in groups for r in g["rows"]]
    called = sum(1 for r in rows if r["outcome"])
    to_call = sum(1 for r in rows if r["open"] and not r["done"])
    return {
        "groups": groups, "called": called, "to_call": to_call, "total": len(rows),
        "unreachable": sum(1 for r in rows if r["outcome"] == "unreachable"),
        "missing": sum(1 for r in rows if r["missing"]),
        "slots": [f"{a:%H:%M}-{b:%H:%M}" for a, b in config.appointments.slots()],
    }
