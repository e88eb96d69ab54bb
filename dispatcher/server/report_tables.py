"""The monthly report as tables: what the console page shows and the CSV and XLSX exports
hold, cell for cell (times in minutes to 0.1, shares in percent to 0.1, from the report's
seconds and ratios). Names come from the config, ids stay beside them. Pure: no I/O."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dispatcher.domain.config import Config

WEEKDAYS_ZH = ("一", "二", "三", "四", "五", "六", "日")
Cell = str | int | float | None


@dataclass(frozen=True)
class Table:
    key: str  # a stable id (sheet names, HTML ids)
    title: str
    title_en: str
    headers: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]


def minutes(seconds: float) -> float:
    return round(seconds / 60, 1)


def percent(share: float) -> float:
    return round(share * 100, 1)


def _group_row(g: Mapping[str, Any]) -> tuple[Cell, ...]:
    return (g["tickets"], g["served"], g["no_show"], g.get("cancelled", 0),
            minutes(g["mean_wait_s"]), minutes(g["p90_wait_s"]), minutes(g["mean_service_s"]),
            percent(g.get("service_level", 0.0)))


GROUP_HEADERS = ("取号 tickets", "办结 served", "过号 no-show", "取消 cancelled",
                 "平均等候 mean wait (min)", "P90 等候 p90 wait (min)",
                 "平均办理 mean service (min)", "达标率 service level (%)")


def report_tables(report: Mapping[str, Any], config: Config) -> list[Table]:
    """Every table of the report, in the order the page and the exports give them."""
    r = report
    services = config.services
    departments = {d.id: d.name for d in config.departments}
    staff = {s.id: s.name for s in config.staff}
    summary = (
        ("取号 tickets", r["tickets"]), ("办结 served", r["served"]),
        ("过号 no-show", r["no_show"]), ("取消 cancelled", r["cancelled"]),
        ("未结 open", r.get("open", 0)),
        ("平均等候 mean wait (min)", minutes(r["mean_wait_s"])),
        ("P90 等候 p90 wait (min)", minutes(r["p90_wait_s"])),
        ("平均办理 mean service (min)", minutes(r["mean_service_s"])),
        (f"达标率 service level, wait ≤ {r.get('target_wait_min', 15)} min (%)",
         percent(r["service_level"])),
        ("过号率 no-show rate (%)", percent(r.get("no_show_rate", 0.0))),
        ("转办 transfers", r.get("transfers", 0)),
        ("预约到号 appointments", r.get("appointments", 0)),
        ("快速连叫 quick calls (left out of times)", r.get("flagged", {}).get("quick_calls", 0)),
        ("跨日未结 past day end (left out of times)",
         r.get("flagged", {}).get("past_day_end", 0)),
    )
    tables = [Table("summary", "总览", "Summary", ("指标 figure", "数值 value"), summary)]
    tables.append(Table("by_service", "按业务", "By business", ("业务 business", "id",
                                                                *GROUP_HEADERS), tuple(
        (services[sid].name if sid in services else sid, sid, *_group_row(g))
        for sid, g in sorted(r["by_service"].items(), key=lambda kv: -kv[1]["tickets"]))))
    tables.append(Table("by_department", "按部门", "By department", (
        "部门 department", "id", *GROUP_HEADERS), tuple(
        (departments.get(d, d), d, *_group_row(g)) for d, g in r.get("by_department", {}).items()
    )))
    tables.append(Table("by_window", "按窗口", "By window", (
        "窗口 window", "办结 served", "平均办理 mean service (min)"), tuple(
        (int(n), g["served"], minutes(g["mean_service_s"]))
        for n, g in sorted(r["by_window"].items(), key=lambda kv: int(kv[0])))))
    tables.append(Table("by_staff", "按人员", "By staff", (
        "人员 staff", "id", "办结 served", "平均办理 mean service (min)",
        "业务种类 businesses"), tuple(
        (staff.get(sid, sid), sid, g["served"], minutes(g["mean_service_s"]), g["services"])
        for sid, g in r["by_staff"].items())))
    idle = r.get("idle")
    if idle is not None:
        tables.append(Table("idle", "人员空闲", "Staff idle", (
            "人员 staff", "id", "有人等候时空闲 idle while residents waited (min)",
            "间隙合计 gaps (min)", "休息次数 breaks ≥ 30 min"), tuple(
            (staff.get(sid, sid), sid, minutes(g["idle_s"]), minutes(g["gaps_s"]),
             int(g["breaks"])) for sid, g in idle.items())))
    tables.append(Table("by_day", "按日", "By day", (
        "日期 day", "星期 weekday", "取号 tickets", "办结 served", "过号 no-show",
        "平均等候 mean wait (min)", "P90 等候 p90 wait (min)", "达标率 service level (%)"), tuple(
        (day, WEEKDAYS_ZH[dt.date.fromisoformat(day).weekday()], g["tickets"], g["served"],
         g.get("no_show", 0), minutes(g["mean_wait_s"]), minutes(g.get("p90_wait_s", 0.0)),
         percent(g.get("service_level", 0.0)))
        for day, g in r["by_day"].items())))
    tables.append(Table("by_hour", "按时段", "By hour of issue", (
        "时 hour", "取号 tickets", "平均等候 mean wait (min)"), tuple(
        (f"{h}:00", g["tickets"], minutes(g["mean_wait_s"]))
        for h, g in r.get("by_hour", {}).items())))
    b = r.get("bookings")
    if b is not None:
        f, e = b["followup"], b["followup_effect"]
        tables.append(Table("bookings", "预约", "Bookings", ("指标 figure", "数值 value"), (
            ("预约 bookings", b["bookings"]), ("已签到 checked in", b["checked_in"]),
            ("爽约 no-show", b["no_show"]), ("取消 cancelled", b["cancelled"]),
            ("待到 to come", b["to_come"]), ("签到率 check-in rate (%)",
                                            percent(b["check_in_rate"])),
            ("爽约率 no-show rate (%)", percent(b["no_show_rate"])),
            ("已回访 called", f["called"]), ("回访次数 calls", f["attempts"]),
            ("确认 confirmed", f["outcomes"]["confirmed"]),
            ("改约 rescheduled", f["outcomes"]["rescheduled"]),
            ("回访取消 cancelled on the call", f["outcomes"]["cancelled"]),
            ("未接通 unreachable", f["outcomes"]["unreachable"]),
            ("缺材料 materials missing", f["missing_materials"]),
            ("回访确认者爽约率 no-show rate, reached (%)", percent(e["reached_no_show_rate"])),
            ("未回访者爽约率 no-show rate, not reached (%)",
             percent(e["not_reached_no_show_rate"])),
            ("差异 difference (points)", None if e["difference"] is None
             else percent(e["difference"])),
            ("检验 p-value", e["p_value"]),
        )))
    g = r.get("ratings")
    if g is not None:
        tables.append(Table("ratings", "好差评", "Ratings", ("指标 figure", "数值 value"), (
            ("评价数 ratings", g["ratings"]), ("满意率 satisfaction (%)",
                                              percent(g["satisfaction"])),
            *((f"{label} ({n})", g["by_score"][str(n)]) for n, label in (
                (1, "非常满意"), (2, "满意"), (3, "基本满意"), (4, "不满意"), (5, "非常不满意"))),
            ("未关联号码 unattached", g["unattached"]),
            ("差评回访 follow-ups", g["follow_ups"]["tasks"]),
        )))
    return tables
