"""What the console pages show, computed from the queue state: plain data, no I/O.

The handlers take these dicts to the templates for the first paint and again, re-rendered,
for every live update, so a page and its updates can never disagree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from dispatcher.domain.config import Config
from dispatcher.domain.model import QueueState, Ticket, WindowStatus
from dispatcher.domain.policy import choose_next, eligible, green_channel_active
from dispatcher.server.presence import BusDeviceStatus, DeviceStatus

UNPRINTED_AFTER_S = 60  # a ticket whose print was never reported counts as unprinted after this
QUEUE_SHOWN = 12  # tickets listed on a counter page (the count covers all of them)


def minutes_between(start: dt.datetime, end: dt.datetime) -> int:
    return max(0, int((end - start).total_seconds() // 60))


def ticket_view(config: Config, ticket: Ticket, now: dt.datetime) -> dict[str, Any]:
    service = config.services.get(ticket.service_id)
    return {
        "id": ticket.id,
        "number": ticket.number,
        "service_id": ticket.service_id,
        "service": service.name if service else ticket.service_id,
        "service_en": (service.name_en or service.name) if service else ticket.service_id,
        "materials": list(service.materials) if service else [],
        "sign_language": ticket.sign_language,
        "appointment": ticket.appointment_code is not None,
        "issued": ticket.issued_at.astimezone(config.center.tz).strftime("%H:%M"),
        "waited_min": minutes_between(ticket.issued_at, ticket.called_at or now),
        "serving_min": minutes_between(ticket.called_at, now) if ticket.called_at else 0,
        "calls": ticket.calls,
        "transfers": ticket.transfers,
        "print_status": ticket.print_status,
        "print_error": ticket.print_error,
    }


def staff_name(config: Config, staff_id: str | None) -> str | None:
    if staff_id is None:
        return None
    try:
        return config.staff_member(staff_id).name
    except KeyError:
        return staff_id


def window_view(config: Config, state: QueueState, n: int, now: dt.datetime
                ) -> dict[str, Any]:
    window = state.windows[n]
    current = state.tickets.get(window.current) if window.current else None
    return {
        "number": n,
        "green": window.green,
        "paused": window.status is WindowStatus.PAUSED,
        "staff_id": window.staff_id,
        "staff_name": staff_name(config, window.staff_id),
        "current": ticket_view(config, current, now) if current else None,
    }


def overview(config: Config, state: QueueState, now: dt.datetime,
             devices: Sequence[DeviceStatus] = (), bus: Sequence[BusDeviceStatus] = (),
             open_tasks: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    """The manager's view of the hall: windows, waits by department and business, modes,
    unprinted tickets and alarms."""
    waiting = state.waiting_tickets()
    waits = {t.id: minutes_between(t.issued_at, now) for t in waiting}  # each computed once
    by_service: dict[str, list[int]] = {}
    for ticket in waiting:
        by_service.setdefault(ticket.service_id, []).append(waits[ticket.id])
    departments = []
    for dept in config.departments:
        services: list[dict[str, Any]] = []
        for service in dept.services:
            minutes = by_service.get(service.id, [])
            services.append({
                "id": service.id, "name": service.name,
                "name_en": service.name_en or service.name,
                "waiting": len(minutes), "longest_min": max(minutes, default=0),
            })
        departments.append({
            "id": dept.id, "name": dept.name, "name_en": dept.name_en or dept.name,
            "waiting": sum(s["waiting"] for s in services),
            "longest_min": max((s["longest_min"] for s in services), default=0),
            "services": services,
        })
    limit = config.policy.starvation_max_wait_min
    starving = [t for t in waiting if waits[t.id] >= limit]
    serving = [state.tickets[w.current] for w in state.windows.values()
               if w.current is not None and w.current in state.tickets]
    unprinted = [
        ticket_view(config, t, now) for t in sorted((*waiting, *serving),
                                                    key=lambda t: t.sort_key)
        if t.print_status == "failed"
        or (t.print_status == "pending"
            and (now - t.issued_at).total_seconds() >= UNPRINTED_AFTER_S)
    ]
    alarms: list[dict[str, Any]] = []
    for device in devices:
        if device.printer_fault:
            alarms.append({"kind": "printer", "device": device.name,
                           "detail": device.printer_fault})
        if not device.online:
            alarms.append({"kind": "offline", "device": device.name,
                           "detail": device.since.astimezone(config.center.tz).strftime("%H:%M")
                           if device.since else ""})
    for item in bus:
        if item.state != "ok":
            alarms.append({"kind": "bus", "device": item.kind, "address": item.address,
                           "window": item.window, "detail": item.state,
                           "errors": item.errors})
    overdue = [t for t in open_tasks if follow_up_overdue(config, t, now)]
    if overdue:
        alarms.append({"kind": "tasks", "device": "", "count": len(overdue),
                       "detail": ", ".join(str(t["number"] or "—") for t in overdue[:10])})
    if starving:
        alarms.append({"kind": "starving", "device": "", "count": len(starving),
                       "detail": ", ".join(t.number for t in starving[:10]), "limit": limit})
    return {
        "date": state.business_day.isoformat() if state.business_day else None,
        "seq": state.seq,
        "windows": [window_view(config, state, n, now) for n in sorted(state.windows)],
        "waiting": len(waiting),
        "longest_min": max(waits.values(), default=0),
        "departments": departments,
        "diversion_on": state.diversion_on,
        "green_mode": state.green_channel_mode.value,
        "green_active": green_channel_active(config, state, now),
        "unprinted": unprinted,
        "issuing_open": state.issuing_open,
        # Where a reprint goes: kiosks that are online with a sound printer first.
        "kiosks": [d.name for d in sorted(
            (d for d in devices if d.role == "kiosk"),
            key=lambda d: (not d.online, d.printer_fault is not None))],
        "alarms": alarms,
        "devices": [{"name": d.name, "role": d.role, "online": d.online,
                     "printer_fault": d.printer_fault} for d in devices],
        "bus": [{"reporter": b.reporter, "address": b.address, "kind": b.kind,
                 "window": b.window, "state": b.state, "errors": b.errors} for b in bus],
        "open_tasks": len(open_tasks),
    }


GRADES = {1: "非常满意", 2: "满意", 3: "基本满意", 4: "不满意", 5: "非常不满意"}
GRADES_EN = {1: "very satisfied", 2: "satisfied", 3: "fairly satisfied", 4: "dissatisfied",
             5: "very dissatisfied"}


def follow_up_due(config: Config, task: dict[str, Any]) -> dt.date:
    return config.ratings.follow_up_due(dt.date.fromisoformat(task["business_day"]))


def follow_up_overdue(config: Config, task: dict[str, Any], now: dt.datetime) -> bool:
    """An open task whose last day has passed (in the center's time)."""
    today = now.astimezone(config.center.tz).date()
    return task["outcome"] is None and today > follow_up_due(config, task)


def rating_tasks(config: Config, tasks: Sequence[dict[str, Any]], now: dt.datetime
                 ) -> list[dict[str, Any]]:
    """Follow-up tasks of bad ratings: open ones first (the oldest due first), then closed."""
    services = config.services
    out = []
    for task in tasks:
        service = services.get(task["service_id"]) if task["service_id"] else None
        rated = dt.datetime.fromisoformat(task["rated_at"]).astimezone(config.center.tz)
        out.append({
            **task,
            "grade": GRADES[task["score"]], "grade_en": GRADES_EN[task["score"]],
            "service": service.name if service else None,
            "service_en": (service.name_en or service.name) if service else None,
            "staff_name": staff_name(config, task["staff_id"]),
            "rated": rated.strftime("%m-%d %H:%M"),
            "due": follow_up_due(config, task).isoformat(),
            "overdue": follow_up_overdue(config, task, now),
        })
    out.sort(key=lambda t: (t["outcome"] is not None, t["due"] if t["outcome"] is None else "",
                            -t["id"]))
    return out


def ratings_summary(ratings: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """A day's ratings: how many of each grade, attached or not, and the satisfaction (the
    share of the top two grades, 非常满意 and 满意)."""
    counts = {g: 0 for g in GRADES}
    for r in ratings:
        counts[r["score"]] += 1
    total = len(ratings)
    return {
        "total": total, "counts": counts,
        "unattached": sum(1 for r in ratings if r["ticket_id"] is None),
        "satisfaction": round(100 * (counts[1] + counts[2]) / total, 1) if total else None,
    }


def counter(config: Config, state: QueueState, n: int, now: dt.datetime) -> dict[str, Any]:
    """Window n's own view: what it serves now, what waits for it, what comes next."""
    queue = eligible(config, state, n, now)
    choice = choose_next(config, state, n, now)
    return {
        "seq": state.seq,
        "window": window_view(config, state, n, now),
        "waiting": len(queue),
        "longest_min": max((minutes_between(t.issued_at, now) for t in queue), default=0),
        "queue": [ticket_view(config, t, now) for t in queue[:QUEUE_SHOWN]],
        "next": ticket_view(config, choice.ticket, now) if choice else None,
        "next_rule": choice.rule if choice else None,
    }


def transfer_targets(config: Config, n: int) -> dict[str, Any]:
    """The businesses and windows a ticket at window n may be transferred to."""
    return {
        "departments": [
            {"name": d.name, "name_en": d.name_en or d.name,
             "services": [{"id": s.id, "name": s.name, "name_en": s.name_en or s.name}
                          for s in d.services]}
            for d in config.departments
        ],
        "windows": [w.number for w in config.windows if w.number != n],
    }
