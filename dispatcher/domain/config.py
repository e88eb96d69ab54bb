"""The center-wide configuration the queue runs on: catalog, windows, staff, policy, devices.

`read_center_config(v, data)` reads these sections of the TOML with a `base.config.Validator`
(every problem recorded, none raised); the shell (`qms.config`) adds the roles' sections.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from base.config import ConfigError, Validator
from dispatcher.domain.appointments import AppointmentSettings
from dispatcher.domain.calendar import add_working_days
from dispatcher.domain.report import ReportSettings

ROLES = ("kiosk", "caller", "display", "admin")
RULES = ("transferred", "starvation", "green_channel", "short_high_freq", "appointment",
         "skills")
DEFAULT_RULES = RULES
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_PREFIX_RE = re.compile(r"^[A-Z]$")
_DAY_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class SkillLevel(IntEnum):
    """How well a staff member handles a business. Higher is preferred."""

    CANNOT = 0
    LOW = 1  # only when nothing else this window can do is waiting
    CAN = 2
    PREFERRED = 3


SKILL_NAMES = {level.name.lower(): level for level in SkillLevel}


@dataclass(frozen=True)
class Service:
    id: str
    name: str
    name_en: str
    department_id: str
    prefix: str
    minutes: int
    short_high_freq: bool
    materials: tuple[str, ...]


@dataclass(frozen=True)
class Department:
    id: str
    name: str
    name_en: str
    prefix: str
    services: tuple[Service, ...]


@dataclass(frozen=True)
class Window:
    number: int
    green: bool
    staff_id: str | None
    open_at_start: bool = True


@dataclass(frozen=True)
class Staff:
    id: str
    name: str
    default: SkillLevel
    skills: Mapping[str, SkillLevel]  # service id -> level (department entries already expanded)

    def level(self, service_id: str) -> SkillLevel:
        return self.skills.get(service_id, self.default)


@dataclass(frozen=True)
class TimeRange:
    """A weekly time range in local time, e.g. Saturdays 08:30–11:30."""

    days: frozenset[int]  # 0 = Monday
    start: dt.time
    end: dt.time

    def contains(self, local: dt.datetime) -> bool:
        return local.weekday() in self.days and self.start <= local.time() < self.end


@dataclass(frozen=True)
class GreenChannel:
    """绿色通道: some business concentrated at the green windows, by schedule or manual switch."""

    service_ids: tuple[str, ...] = ()
    max_wait_min: int = 20  # past this an ordinary window may take such a ticket
    schedule: tuple[TimeRange, ...] = ()


@dataclass(frozen=True)
class Policy:
    rules: tuple[str, ...] = DEFAULT_RULES
    short_threshold: int = 2
    starvation_max_wait_min: int = 60
    double_press_s: float = 3.0


@dataclass(frozen=True)
class Device:
    name: str
    role: str
    token: str
    windows: tuple[int, ...] = ()


@dataclass(frozen=True)
class Ratings:
    """好差评: how ratings attach to tickets, and how soon a bad one is followed up."""

    attach_min: float = 5.0  # a window's rating belongs to the ticket it finished this recently
    follow_up_days: int = 3  # working days to follow up a rating of 4 or 5
    holidays: frozenset[dt.date] = frozenset()  # extra days off (public holidays)
    workdays: frozenset[dt.date] = frozenset()  # weekend days worked (调休 make-up days)

    def follow_up_due(self, day: dt.date) -> dt.date:
        """The last day to follow up a bad rating given on `day`."""
        return add_working_days(day, self.follow_up_days, self.holidays, self.workdays)


@dataclass(frozen=True)
class Center:
    name: str
    name_en: str = ""
    timezone: str = "Asia/Shanghai"
    day_start: dt.time = dt.time(4, 0)  # a business day runs from this local time to the next

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class Config:
    center: Center
    departments: tuple[Department, ...]
    windows: tuple[Window, ...]
    staff: tuple[Staff, ...] = ()
    policy: Policy = Policy()
    green_channel: GreenChannel = GreenChannel()
    devices: tuple[Device, ...] = ()
    ratings: Ratings = Ratings()
    appointments: AppointmentSettings = field(default_factory=AppointmentSettings)
    reports: ReportSettings = field(default_factory=ReportSettings)
    services: Mapping[str, Service] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.services:
            index = {s.id: s for d in self.departments for s in d.services}
            object.__setattr__(self, "services", index)
        object.__setattr__(self, "_staff_index", {s.id: s for s in self.staff})

    def window(self, number: int) -> Window:
        for w in self.windows:
            if w.number == number:
                return w
        raise KeyError(number)

    def staff_member(self, staff_id: str) -> Staff:
        index: dict[str, Staff] = self.__dict__["_staff_index"]
        return index[staff_id]

    @property
    def green_windows(self) -> tuple[int, ...]:
        return tuple(w.number for w in self.windows if w.green)


SECTIONS = ("center", "policy", "green_channel", "departments", "windows", "staff", "devices",
            "ratings", "appointments", "reports")


def read_center_config(v: Validator, data: Mapping[str, Any]) -> Config | None:
    """The center-wide sections (catalog, windows, staff, policy, devices), or None when a
    problem was found (each one recorded in `v`)."""
    center = _center(v, v.table(data, "center", ""))
    departments = _departments(v, v.array_of_tables(data, "departments", ""))
    services = {s.id: s for d in departments for s in d.services}
    staff = _staff(v, v.array_of_tables(data, "staff", ""), services, departments)
    windows = _windows(v, v.array_of_tables(data, "windows", ""), {s.id for s in staff})
    policy = _policy(v, v.table(data, "policy", ""))
    green = _green_channel(v, v.table(data, "green_channel", ""), services)
    devices = _devices(v, v.array_of_tables(data, "devices", ""), {w.number for w in windows})
    ratings = _ratings(v, v.table(data, "ratings", ""))
    appointments = _appointments(v, v.table(data, "appointments", ""), services, ratings)
    reports = _reports(v, v.table(data, "reports", ""))
    if not departments:
        v.err("departments", "at least one department with services is required")
    if not windows:
        v.err("windows", "at least one window is required")
    elif not any(w.green for w in windows) and (
        "green_channel" in policy.rules or "short_high_freq" in policy.rules
    ):
        v.err("windows", "no window is green, but the policy uses green-window rules")
    if center is None:
        return None
    return Config(
        center=center,
        departments=tuple(departments),
        windows=tuple(sorted(windows, key=lambda w: w.number)),
        staff=tuple(staff),
        policy=policy,
        green_channel=green,
        devices=tuple(devices),
        ratings=ratings,
        appointments=appointments,
        reports=reports,
    )


def _center(v: Validator, data: Mapping[str, Any]) -> Center | None:
    where = "center."
    v.unknown_keys(data, ("name", "name_en", "timezone", "day_start"), where)
    name = v.string(data, "name", where)
    name_en = v.string(data, "name_en", where, default="") or ""
    tz = v.string(data, "timezone", where, default="Asia/Shanghai") or "Asia/Shanghai"
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        v.err(where + "timezone", f"unknown time zone {tz!r}")
    day_start = v.clock_time(data.get("day_start", "04:00"), where + "day_start")
    if name is None or day_start is None:
        return None
    return Center(name=name, name_en=name_en, timezone=tz, day_start=day_start)


def _departments(v: Validator, items: list[Mapping[str, Any]]) -> list[Department]:
    result: list[Department] = []
    seen_dept: dict[str, str] = {}
    seen_service: dict[str, str] = {}
    seen_prefix: dict[str, str] = {}
    for i, item in enumerate(items):
        where = f"departments[{i}]."
        v.unknown_keys(item, ("id", "name", "name_en", "prefix", "services"), where)
        dept_id = v.ident(item, "id", where)
        name = v.string(item, "name", where)
        name_en = v.string(item, "name_en", where, default="") or ""
        prefix = v.string(item, "prefix", where)
        if prefix is not None and not _PREFIX_RE.match(prefix):
            v.err(where + "prefix", f"must be one capital letter A–Z, not {prefix!r}")
            prefix = None
        if dept_id is not None:
            if dept_id in seen_dept:
                v.err(where + "id", f"duplicate department id {dept_id!r} "
                         f"(also {seen_dept[dept_id]})")
            seen_dept[dept_id] = where.rstrip(".")
        if prefix is not None:
            if prefix in seen_prefix:
                v.err(where + "prefix", f"prefix {prefix!r} is already used by "
                         f"{seen_prefix[prefix]}")
            seen_prefix[prefix] = where.rstrip(".")
        services: list[Service] = []
        raw_services = v.array_of_tables(item, "services", where)
        if not raw_services:
            v.err(where + "services", "a department needs at least one service")
        for j, s in enumerate(raw_services):
            sw = f"{where}services[{j}]."
            v.unknown_keys(
                s,
                ("id", "name", "name_en", "prefix", "minutes", "short_high_freq",
                 "materials"),
                sw,
            )
            sid = v.ident(s, "id", sw)
            sname = v.string(s, "name", sw)
            sname_en = v.string(s, "name_en", sw, default="") or ""
            sprefix = v.string(s, "prefix", sw, default=prefix or "")
            if s.get("prefix") is not None and sprefix and not _PREFIX_RE.match(sprefix):
                v.err(sw + "prefix", f"must be one capital letter A–Z, not {sprefix!r}")
            minutes = v.integer(s, "minutes", sw, minimum=1, maximum=480)
            short = v.boolean(s, "short_high_freq", sw, False)
            materials = v.strings(s, "materials", sw)
            if sid is not None:
                if sid in seen_service:
                    v.err(sw + "id", f"duplicate service id {sid!r} "
                             f"(also {seen_service[sid]})")
                seen_service[sid] = sw.rstrip(".")
            if None in (sid, sname, minutes, dept_id) or not sprefix:
                continue
            assert sid is not None and sname is not None and minutes is not None
            assert dept_id is not None
            services.append(
                Service(sid, sname, sname_en, dept_id, sprefix, minutes, short, materials)
            )
        if dept_id is not None and name is not None and prefix is not None:
            result.append(Department(dept_id, name, name_en, prefix, tuple(services)))
    return result


def _staff(v: Validator, items: list[Mapping[str, Any]],
    services: Mapping[str, Service],
    departments: list[Department],
) -> list[Staff]:
    by_dept = {d.id: d for d in departments}
    result: list[Staff] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        where = f"staff[{i}]."
        v.unknown_keys(item, ("id", "name", "default", "skills"), where)
        sid = v.ident(item, "id", where)
        name = v.string(item, "name", where)
        default = _skill(v, item.get("default", "can"), where + "default")
        if sid is not None:
            if sid in seen:
                v.err(where + "id", f"duplicate staff id {sid!r}")
            seen.add(sid)
        skills_raw = v.table(item, "skills", where)
        skills: dict[str, SkillLevel] = {}
        # Department entries first, so a service entry overrides its department's.
        for key in sorted(skills_raw, key=lambda k: k in services):
            level = _skill(v, skills_raw[key], f"{where}skills.{key}")
            if level is None:
                continue
            if key in services:
                skills[key] = level
            elif key in by_dept:
                for s in by_dept[key].services:
                    skills[s.id] = level
            else:
                v.err(f"{where}skills.{key}", f"unknown business or department {key!r}")
        if sid is not None and name is not None and default is not None:
            result.append(Staff(sid, name, default, skills))
    return result


def _skill(v: Validator, value: Any, where: str) -> SkillLevel | None:
    if isinstance(value, str) and value in SKILL_NAMES:
        return SKILL_NAMES[value]
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 3:
        return SkillLevel(value)
    v.err(where, f"must be one of {', '.join(SKILL_NAMES)} (or 0–3), not {value!r}")
    return None


def _windows(v: Validator, items: list[Mapping[str, Any]], staff_ids: set[str]) -> list[Window]:
    result: list[Window] = []
    seen: set[int] = set()
    for i, item in enumerate(items):
        where = f"windows[{i}]."
        v.unknown_keys(item, ("number", "green", "staff", "open"), where)
        number = v.integer(item, "number", where, minimum=1, maximum=999)
        green = v.boolean(item, "green", where, False)
        is_open = v.boolean(item, "open", where, True)
        staff_id = item.get("staff")
        if staff_id is not None and staff_id not in staff_ids:
            v.err(where + "staff", f"unknown staff member {staff_id!r}")
            staff_id = None
        if number is None:
            continue
        if number in seen:
            v.err(where + "number", f"window number {number} is used twice")
            continue
        seen.add(number)
        result.append(Window(number, green, staff_id, is_open))
    return result


def _policy(v: Validator, data: Mapping[str, Any]) -> Policy:
    where = "policy."
    v.unknown_keys(
        data,
        ("rules", "short_threshold", "starvation_max_wait_min", "double_press_s"),
        where,
    )
    rules = v.strings(data, "rules", where) if "rules" in data else DEFAULT_RULES
    for r in rules:
        if r not in RULES:
            v.err(where + "rules", f"unknown rule {r!r} (known: {', '.join(RULES)})")
    if len(set(rules)) != len(rules):
        v.err(where + "rules", "a rule is listed twice")
    threshold = v.integer(data, "short_threshold", where, default=2, minimum=0)
    starve = v.integer(data, "starvation_max_wait_min", where, default=60, minimum=1)
    double = v.number(data, "double_press_s", where, default=3.0, minimum=0.0)
    return Policy(
        rules=tuple(r for r in rules if r in RULES),
        short_threshold=2 if threshold is None else threshold,
        starvation_max_wait_min=starve or 60,
        double_press_s=3.0 if double is None else double,
    )


def _green_channel(v: Validator, data: Mapping[str, Any], services: Mapping[str, Service]
) -> GreenChannel:
    where = "green_channel."
    v.unknown_keys(data, ("services", "max_wait_min", "schedule"), where)
    service_ids = v.strings(data, "services", where)
    for sid in service_ids:
        if sid not in services:
            v.err(where + "services", f"unknown business {sid!r}")
    max_wait = v.integer(data, "max_wait_min", where, default=20, minimum=0)
    schedule: list[TimeRange] = []
    for i, item in enumerate(v.array_of_tables(data, "schedule", where)):
        sw = f"{where}schedule[{i}]."
        v.unknown_keys(item, ("days", "start", "end"), sw)
        days_raw = v.strings(item, "days", sw) if "days" in item else WEEKDAYS
        days: set[int] = set()
        for d in days_raw:
            if d.lower() not in WEEKDAYS:
                v.err(sw + "days", f"unknown day {d!r} (use {', '.join(WEEKDAYS)})")
            else:
                days.add(WEEKDAYS.index(d.lower()))
        start = v.clock_time(item.get("start"), sw + "start")
        end = v.clock_time(item.get("end"), sw + "end")
        if start is not None and end is not None:
            if start >= end:
                v.err(sw.rstrip("."), f"bad time range: start {start:%H:%M} is not before "
                         f"end {end:%H:%M}")
            else:
                schedule.append(TimeRange(frozenset(days), start, end))
    return GreenChannel(tuple(service_ids), max_wait or 0, tuple(schedule))


def _appointments(v: Validator, data: Mapping[str, Any], services: Mapping[str, Service],
                  ratings: Ratings) -> AppointmentSettings:
    """[appointments]; the working-day calendar is the one of [ratings]."""
    where = "appointments."
    d = AppointmentSettings()
    v.unknown_keys(data, ("hours", "slot_min", "capacity", "bookable", "check_in_before_min",
                          "retention_days"), where)
    hours: list[tuple[dt.time, dt.time]] = []
    raw = data.get("hours", [f"{a:%H:%M}-{b:%H:%M}" for a, b in d.hours])
    if not isinstance(raw, list) or not raw:
        v.err(where + "hours", 'must be a list of spans like "09:00-11:30"')
        raw = []
    for i, span in enumerate(raw):
        parts = span.split("-") if isinstance(span, str) else []
        times = [v.clock_time(p, f"{where}hours[{i}]") for p in parts] if len(parts) == 2 \
            else None
        if times is None:
            v.err(f"{where}hours[{i}]", f'must be a span like "09:00-11:30", not {span!r}')
        elif times[0] is not None and times[1] is not None:
            if times[0] >= times[1]:
                v.err(f"{where}hours[{i}]", f"{span} ends before it starts")
            else:
                hours.append((times[0], times[1]))
    slot = v.integer(data, "slot_min", where, default=d.slot_min, minimum=5, maximum=240)
    capacity = v.integer(data, "capacity", where, default=d.capacity, minimum=1, maximum=1000)
    bookable = v.strings(data, "bookable", where) if "bookable" in data else ()
    for sid in bookable:
        if sid not in services:
            v.err(where + "bookable", f"unknown business {sid!r}")
    before = v.integer(data, "check_in_before_min", where, default=d.check_in_before_min,
                       minimum=0, maximum=240)
    keep = v.integer(data, "retention_days", where, default=d.retention_days, minimum=1,
                     maximum=3650)
    return AppointmentSettings(
        hours=tuple(sorted(hours)) or d.hours, slot_min=slot or d.slot_min,
        capacity=capacity or d.capacity, bookable=tuple(bookable),
        check_in_before_min=d.check_in_before_min if before is None else before,
        retention_days=keep or d.retention_days,
        holidays=ratings.holidays, workdays=ratings.workdays)


def _reports(v: Validator, data: Mapping[str, Any]) -> ReportSettings:
    """[reports]: the service level's target wait, the quick-call flag and the day's end."""
    where = "reports."
    d = ReportSettings()
    v.unknown_keys(data, ("target_wait_min", "quick_call_s", "day_end"), where)
    target = v.integer(data, "target_wait_min", where, default=d.target_wait_min, minimum=1,
                       maximum=480)
    quick = v.integer(data, "quick_call_s", where, default=d.quick_call_s, minimum=0,
                      maximum=600)
    day_end = v.clock_time(data["day_end"], where + "day_end") if "day_end" in data else None
    return ReportSettings(target_wait_min=target or d.target_wait_min,
                          quick_call_s=d.quick_call_s if quick is None else quick,
                          day_end=day_end)


def _ratings(v: Validator, data: Mapping[str, Any]) -> Ratings:
    where = "ratings."
    v.unknown_keys(data, ("attach_min", "follow_up_days", "holidays", "workdays"), where)
    attach = v.number(data, "attach_min", where, default=5.0, minimum=1.0)
    if attach is not None and attach > 60:
        v.err(where + "attach_min", f"must be at most 60, not {attach:g}")
        attach = None
    days = v.integer(data, "follow_up_days", where, default=3, minimum=1, maximum=30)
    holidays = _dates(v, data, "holidays", where)
    workdays = _dates(v, data, "workdays", where)
    for day in sorted(workdays):
        if day.weekday() < 5:
            v.err(where + "workdays", f"{day} is a {WEEKDAYS[day.weekday()]}, not a weekend "
                                      "day: list only Saturdays and Sundays worked")
        if day in holidays:
            v.err(where + "workdays", f"{day} is listed as a holiday too")
    return Ratings(attach_min=5.0 if attach is None else attach,
                   follow_up_days=3 if days is None else days,
                   holidays=holidays, workdays=workdays)


def _dates(v: Validator, data: Mapping[str, Any], key: str, where: str) -> frozenset[dt.date]:
    """A list of days, as "YYYY-MM-DD" strings or TOML dates."""
    value = data.get(key, [])
    if not isinstance(value, list):
        v.err(where + key, "must be a list of days like \"2026-10-01\"")
        return frozenset()
    days: set[dt.date] = set()
    for item in value:
        if isinstance(item, dt.date) and not isinstance(item, dt.datetime):
            days.add(item)
            continue
        try:
            if not isinstance(item, str) or not _DAY_RE.fullmatch(item):
                raise ValueError
            days.add(dt.date.fromisoformat(item))
        except ValueError:
            v.err(where + key, f"must be days like \"2026-10-01\", not {item!r}")
    return frozenset(days)


def _devices(v: Validator, items: list[Mapping[str, Any]],
             window_numbers: set[int]) -> list[Device]:
    result: list[Device] = []
    names: set[str] = set()
    tokens: set[str] = set()
    for i, item in enumerate(items):
        where = f"devices[{i}]."
        v.unknown_keys(item, ("name", "role", "token", "windows"), where)
        name = v.string(item, "name", where)
        role = v.string(item, "role", where)
        token = v.string(item, "token", where)
        if role is not None and role not in ROLES:
            v.err(where + "role", f"unknown role {role!r} (known: {', '.join(ROLES)})")
            role = None
        windows_raw = item.get("windows", [])
        windows: list[int] = []
        if not isinstance(windows_raw, list) or not all(
            isinstance(x, int) and not isinstance(x, bool) for x in windows_raw
        ):
            v.err(where + "windows", "must be a list of window numbers")
        else:
            for n in windows_raw:
                if n not in window_numbers:
                    v.err(where + "windows", f"unknown window {n}")
                else:
                    windows.append(n)
        if role == "caller" and not windows_raw:
            v.err(where + "windows", "a caller device must list the windows it operates")
        if name is not None:
            if name in names:
                v.err(where + "name", f"duplicate device name {name!r}")
            names.add(name)
        if token is not None:
            if token in tokens:
                v.err(where + "token", "the same token is given to two devices")
            tokens.add(token)
            if len(token) < 8:
                v.err(where + "token", "a token must be at least 8 characters")
        if name and role and token:
            result.append(Device(name, role, token, tuple(windows)))
    return result


__all__ = ["ConfigError"]
