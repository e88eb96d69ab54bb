"""The monthly report (PROTOCOL.md "History and reports"): volumes, waits, service times,
no-shows and service level per business, department, window, staff member, day and hour.
Pure: visits in, one JSON-ready dict out.

Definitions. A month's tickets are the visits of its business days. *served* = outcome done;
*called* = done + no_show; *wait* = first call − issue, over called tickets; *service* = finish
− first call, over served tickets; *p90* = nearest rank (the ⌈0.9·n⌉-th smallest);
*service_level* = share of the timed waits ≤ `target_wait_min`; *no_show_rate* = no_show ÷
called. `by_window` / `by_staff` count served tickets where (by whom) they were finished;
`services` = distinct businesses served. Tickets still open (waiting or called when the report
is made) count in `tickets` (and `open`) only.

Flagged visits. Two kinds of record have times nobody should trust:

- *quick call*: the window's next call came at most `quick_call_s` seconds after this visit's
  call there (a call-next pressed again at once: this resident was clicked through);
- *past day end*: finished at or after the end of its business day (the next day's
  `day_start`): a ticket left open that the day's end closed.

A flagged visit still counts in every count (tickets, served, no_show, cancelled, no_show_rate,
services, transfers, the hour and heat-map counts) but is left out of EVERY time figure, at
every level: mean_wait_s, p90_wait_s, mean_service_s and service_level (whose denominator is
thus the unflagged called visits with a call time). `flagged` counts each kind and the visits
left out (`excluded`; a visit may be of both kinds).

Rounding, everywhere: seconds to 0.1, rates (shares) to 0.0001. An empty month or group gives
0 and 0.0, never NaN.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dispatcher.domain.history import OPEN, Visit

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_MONTH_RE = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])")


@dataclass(frozen=True)
class ReportSettings:
    """The [reports] section."""

    target_wait_min: int = 15  # service level: share of residents called within this
    quick_call_s: int = 10  # a window's next call this soon flags the visit it ended; 0: off
    # A service finished after this local time of its business day is flagged (the center's
    # closing time, with a margin); None: after the business day's end (the next day_start).
    day_end: dt.time | None = None


def month_days(month: str) -> tuple[dt.date, dt.date]:
    """First and last day of "YYYY-MM"; ValueError otherwise."""
    m = _MONTH_RE.fullmatch(month)
    if not m:
        raise ValueError(f"month must be YYYY-MM, e.g. 2026-10, not {month!r}")
    year, mon = int(m.group(1)), int(m.group(2))
    first = dt.date(year, mon, 1)
    following = dt.date(year + mon // 12, mon % 12 + 1, 1)
    return first, following - dt.timedelta(days=1)


def seconds(value: float) -> float:
    """A time figure as reported: seconds to 0.1."""
    return round(value, 1)


def rate(value: float) -> float:
    """A share as reported: to 0.0001."""
    return round(value, 4)


def p90(values: list[float]) -> float:
    """Nearest-rank 90th percentile (the ⌈0.9·n⌉-th smallest); 0.0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[(9 * len(ordered) + 9) // 10 - 1]


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


@dataclass(slots=True)
class _Group:
    """Counts and the unflagged timings of a set of visits."""

    tickets: int = 0
    served: int = 0
    no_show: int = 0
    cancelled: int = 0
    waits: list[float] = field(default_factory=list)
    service: list[float] = field(default_factory=list)

    def add(self, v: Visit, wait: float | None, service: float | None) -> None:
        self.tickets += 1
        if v.outcome == "done":
            self.served += 1
        elif v.outcome == "no_show":
            self.no_show += 1
        elif v.outcome == "cancelled":
            self.cancelled += 1
        if wait is not None:
            self.waits.append(wait)
        if service is not None:
            self.service.append(service)

    def level(self, target_s: float) -> float:
        return rate(sum(w <= target_s for w in self.waits) / len(self.waits)) \
            if self.waits else 0.0

    def full(self, target_s: float) -> dict[str, Any]:
        return {"tickets": self.tickets, "served": self.served, "no_show": self.no_show,
                "cancelled": self.cancelled, "mean_wait_s": seconds(_mean(self.waits)),
                "p90_wait_s": seconds(p90(self.waits)),
                "mean_service_s": seconds(_mean(self.service)),
                "service_level": self.level(target_s)}


@dataclass(slots=True)
class _Desk:
    """Served visits finished at one window or by one staff member."""

    served: int = 0
    service: list[float] = field(default_factory=list)
    by_service: defaultdict[str, _Group] = field(default_factory=lambda: defaultdict(_Group))

    def add(self, v: Visit, service: float | None) -> None:
        self.served += 1
        if service is not None:
            self.service.append(service)
        self.by_service[v.service_id].add(v, None, service)


def flag_visits(visits: list[Visit], settings: ReportSettings, tz: dt.tzinfo,
                day_start: dt.time = dt.time(4, 0)) -> tuple[set[int], set[int]]:
    """Indexes into `visits` of the quick calls and of those finished past their day's end
    (`settings.day_end` on the business day if set, else the next day's `day_start`)."""
    quick: set[int] = set()
    if settings.quick_call_s > 0:
        calls: dict[tuple[dt.date, int], list[tuple[dt.datetime, int]]] = {}
        for i, v in enumerate(visits):
            at = v.window_call
            if at is not None and v.window is not None:
                calls.setdefault((v.business_day, v.window), []).append((at, i))
        limit = dt.timedelta(seconds=settings.quick_call_s)
        for items in calls.values():
            items.sort()
            for (a, i), (b, _) in itertools.pairwise(items):
                if b - a <= limit:
                    quick.add(i)
    late: set[int] = set()
    ends: dict[dt.date, dt.datetime] = {}
    for i, v in enumerate(visits):
        if v.called_at is None or v.finished_at is None:
            continue
        end = ends.get(v.business_day)
        if end is None:
            if settings.day_end is not None and settings.day_end > day_start:
                end = dt.datetime.combine(v.business_day, settings.day_end, tzinfo=tz)
            else:  # unset, or past midnight: on the next calendar day
                end = dt.datetime.combine(v.business_day + dt.timedelta(days=1),
                                          settings.day_end or day_start, tzinfo=tz)
            ends[v.business_day] = end
        if v.finished_at >= end:
            late.add(i)
    return quick, late


def monthly_report(month: str, visits: Iterable[Visit], settings: ReportSettings,
                   tz: dt.tzinfo, *, day_start: dt.time = dt.time(4, 0),
                   departments: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The report of `month` ("YYYY-MM"; ValueError otherwise) over `visits` (those of other
    months are left out). `departments` maps a business to its department (by_department;
    a business not in it goes under "unknown"); `day_start` is the config's."""
    first, last = month_days(month)
    chosen = [v for v in visits if first <= v.business_day <= last]
    chosen.sort(key=lambda v: (v.business_day, v.issued_at, v.number))
    quick, late = flag_visits(chosen, settings, tz, day_start)
    target_s = settings.target_wait_min * 60.0
    total = _Group()
    by_service: defaultdict[str, _Group] = defaultdict(_Group)
    by_department: defaultdict[str, _Group] = defaultdict(_Group)
    by_day: defaultdict[dt.date, _Group] = defaultdict(_Group)
    by_hour: defaultdict[int, _Group] = defaultdict(_Group)
    heat = {d: [0] * 24 for d in WEEKDAYS}
    by_window: defaultdict[int, _Desk] = defaultdict(_Desk)
    by_staff: defaultdict[str, _Desk] = defaultdict(_Desk)
    open_count = transfers = appointments = 0
    depts = departments or {}
    for i, v in enumerate(chosen):
        trusted = i not in quick and i not in late
        wait = service = None
        if trusted and v.called_at is not None and v.outcome in ("done", "no_show"):
            wait = (v.called_at - v.issued_at).total_seconds()
        if trusted and v.outcome == "done" and v.called_at is not None \
                and v.finished_at is not None:
            service = (v.finished_at - v.called_at).total_seconds()
        hour = v.issued_at.astimezone(tz).hour
        for group in (total, by_service[v.service_id],
                      by_department[depts.get(v.service_id, "unknown")],
                      by_day[v.business_day], by_hour[hour]):
            group.add(v, wait, service)
        heat[WEEKDAYS[v.business_day.weekday()]][hour] += 1
        open_count += v.outcome == OPEN
        transfers += v.transfers
        appointments += v.appointment
        if v.outcome == "done":
            if v.window is not None:
                by_window[v.window].add(v, service)
            if v.staff_id is not None:
                by_staff[v.staff_id].add(v, service)
    called = total.served + total.no_show
    return {
        "month": month,
        "tickets": total.tickets,
        "served": total.served,
        "no_show": total.no_show,
        "cancelled": total.cancelled,
        "mean_wait_s": seconds(_mean(total.waits)),
        "p90_wait_s": seconds(p90(total.waits)),
        "mean_service_s": seconds(_mean(total.service)),
        "service_level": total.level(target_s),
        "by_service": {sid: g.full(target_s) for sid, g in sorted(by_service.items())},
        "by_window": {str(n): {"served": d.served, "mean_service_s": seconds(_mean(d.service))}
                      for n, d in sorted(by_window.items())},
        "by_staff": {
            sid: {"served": d.served, "mean_service_s": seconds(_mean(d.service)),
                  "services": len(d.by_service),
                  "by_service": {s: {"served": g.served,
                                     "mean_service_s": seconds(_mean(g.service))}
                                 for s, g in sorted(d.by_service.items())}}
            for sid, d in sorted(by_staff.items())},
        "by_day": {day.isoformat(): {"tickets": g.tickets, "served": g.served,
                         "mean_wait_s": seconds(_mean(g.waits)), "no_show": g.no_show,
                         "cancelled": g.cancelled, "p90_wait_s": seconds(p90(g.waits)),
                         "service_level": g.level(target_s)}
                   for day, g in sorted(by_day.items())},
        # extras
        "open": open_count,
        "no_show_rate": rate(total.no_show / called) if called else 0.0,
        "target_wait_min": settings.target_wait_min,
        "transfers": transfers,
        "appointments": appointments,
        "flagged": {"quick_calls": len(quick), "past_day_end": len(late),
                    "excluded": len(quick | late)},
        "by_department": {d: g.full(target_s) for d, g in sorted(by_department.items())},
        "by_hour": {f"{h:02d}": {"tickets": g.tickets, "mean_wait_s": seconds(_mean(g.waits))}
                    for h, g in sorted(by_hour.items())},
        "by_weekday_hour": heat,
    }


def _min(value: float) -> str:
    return f"{value / 60:.1f}"


def report_text(report: Mapping[str, Any], *, services: Mapping[str, str] | None = None,
                staff: Mapping[str, str] | None = None,
                departments: Mapping[str, str] | None = None) -> str:
    """A readable summary of `monthly_report`'s dict, Chinese first; names by id."""
    services, staff, departments = services or {}, staff or {}, departments or {}
    r = report
    flagged = r["flagged"]
    lines = [
        f"{r['month']} 月度报表 / monthly report",
        f"取号 tickets {r['tickets']} · 办结 served {r['served']} · 过号 no-show {r['no_show']}"
        f" · 取消 cancelled {r['cancelled']} · 未结 open {r['open']}",
        f"平均等候 mean wait {_min(r['mean_wait_s'])} 分钟 min · P90 等候 {_min(r['p90_wait_s'])}"
        f" 分钟 min · 平均办理 mean service {_min(r['mean_service_s'])} 分钟 min",
        f"服务达标率 service level (等候 ≤ {r['target_wait_min']} 分钟) "
        f"{r['service_level'] * 100:.1f}% · 过号率 no-show rate {r['no_show_rate'] * 100:.1f}%"
        f" · 转办 transfers {r['transfers']} · 预约 appointments {r['appointments']}",
        f"存疑记录 flagged: 快速连叫 quick calls {flagged['quick_calls']} · 跨日未结 past day "
        f"end {flagged['past_day_end']} (共 {flagged['excluded']} 条不计入时长 left out of the "
        "times)",
    ]

    def section(title: str, rows: list[str]) -> None:
        lines.append("")
        lines.append(title)
        lines.extend(rows or ["  (无 none)"])

    section("按业务 by business (取号 / 办结 / 过号 / 平均等候 / P90 / 平均办理, 分钟)", [
        f"  {services.get(sid, sid)} [{sid}]: {g['tickets']} / {g['served']} / {g['no_show']}"
        f" / {_min(g['mean_wait_s'])} / {_min(g['p90_wait_s'])} / {_min(g['mean_service_s'])}"
        for sid, g in sorted(r["by_service"].items(), key=lambda kv: -kv[1]["tickets"])])
    section("按部门 by department (取号 / 办结 / 平均等候 / 平均办理, 分钟)", [
        f"  {departments.get(d, d)}: {g['tickets']} / {g['served']} / "
        f"{_min(g['mean_wait_s'])} / {_min(g['mean_service_s'])}"
        for d, g in r["by_department"].items()])
    section("按窗口 by window (办结 / 平均办理, 分钟)", [
        f"  {n} 号窗口: {g['served']} / {_min(g['mean_service_s'])}"
        for n, g in sorted(r["by_window"].items(), key=lambda kv: int(kv[0]))])
    section("按人员 by staff (办结 / 平均办理, 分钟 / 业务种类)", [
        f"  {staff.get(sid, sid)} [{sid}]: {g['served']} / {_min(g['mean_service_s'])} / "
        f"{g['services']}" for sid, g in r["by_staff"].items()])
    section("按日 by day (取号 / 办结 / 平均等候, 分钟)", [
        f"  {day} {WEEKDAYS[dt.date.fromisoformat(day).weekday()]}: {g['tickets']} / "
        f"{g['served']} / {_min(g['mean_wait_s'])}" for day, g in r["by_day"].items()])
    return "\n".join(lines) + "\n"
