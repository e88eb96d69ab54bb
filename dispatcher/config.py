"""The center's configuration: typed, loaded from TOML, validated with every problem listed.

`load_config(path)` returns a `Config` or raises `ConfigError` whose `problems` holds one clear
line per problem found, all of them in one pass.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ROLES = ("kiosk", "caller", "display", "admin")
RULES = ("transferred", "starvation", "green_channel", "short_high_freq", "skills")
DEFAULT_RULES = RULES
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_PREFIX_RE = re.compile(r"^[A-Z]$")


class SkillLevel(IntEnum):
    """How well a staff member handles a business. Higher is preferred."""

    CANNOT = 0
    LOW = 1  # only when nothing else this window can do is waiting
    CAN = 2
    PREFERRED = 3


SKILL_NAMES = {level.name.lower(): level for level in SkillLevel}


class ConfigError(Exception):
    """The config cannot be used; `problems` lists every reason, one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


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


TRANSPORTS = ("fake", "usb", "serial", "network", "file")


@dataclass(frozen=True)
class PrinterConfig:
    """The kiosk's ticket printer."""

    transport: str = "fake"  # fake | usb | serial | network | file
    dots: int = 576  # 576 (80 mm paper) or 384 (58 mm)
    encoding: str = "gb18030"  # or "gbk"
    mode: str = "native"  # native | raster (printers without a Chinese font)
    cutter: bool = True
    qr: str = ""  # QR payload template ({id}, {number}); empty: no QR code
    materials: bool | tuple[str, ...] = True  # print the checklist: all, none, or these ids
    font: str = ""  # CJK font file for raster tickets and previews; empty: search
    usb: str = ""  # "VID:PID" in hex, e.g. "0416:5011"
    serial: str = ""  # device, e.g. /dev/ttyUSB0
    baudrate: int = 9600
    flow: str = "none"  # none | xonxoff | dsrdtr
    host: str = ""
    port: int = 9100
    device: str = ""  # device file, e.g. /dev/usb/lp0
    fake_dir: str = "printer"  # the fake printer's folder, relative to the state folder
    timeout_s: float = 3.0

    def prints_materials(self, service_id: str) -> bool:
        if isinstance(self.materials, bool):
            return self.materials
        return service_id in self.materials


@dataclass(frozen=True)
class KioskConfig:
    """The touchscreen ticket app."""

    dispatcher: str = "http://127.0.0.1:8470"  # the dispatcher's base URL
    device: str = "kiosk-1"  # its [[devices]] entry (role kiosk): the token it uses
    fullscreen: bool = True
    width: int = 0  # window size when not fullscreen (0: 1280 × 800)
    height: int = 0
    idle_timeout_s: float = 45.0
    done_timeout_s: float = 20.0
    print_timeout_s: float = 20.0
    on_printer_fault: str = "pause"  # pause ticketing, or "issue" and show the number on screen


@dataclass(frozen=True)
class WindowButtons:
    """BCM pins of one window's caller buttons and LED."""

    window: int
    call_next: int | None = None
    recall: int | None = None
    no_show: int | None = None
    pause: int | None = None
    led: int | None = None


@dataclass(frozen=True)
class DisplayConfig:
    """The hall screen, its caller buttons and voice."""

    dispatcher: str = "http://127.0.0.1:8470"
    device: str = "hall-screen"  # a display-role device: its token reads the events
    caller_device: str = "hall"  # a caller-role device: its token presses the buttons
    fullscreen: bool = True
    width: int = 0
    height: int = 0
    notice: str = ""  # the scrolling notice line
    highlight_s: float = 12.0  # a new call stays highlighted this long (≥ 10)
    flashes_per_s: float = 1.0  # at most 3
    recent: int = 8  # calls listed (≥ 6)
    late_s: float = 15.0  # calls older than this when they arrive are listed, not announced
    voice_pack: str = "voice"  # folder of clips, relative to the state folder
    repeat: int = 2  # each call said this many times
    keyboard: bool = False  # demo: keys stand in for the caller buttons
    pin_factory: str = ""  # "" (no GPIO buttons) | lgpio | rpigpio | pigpio | native | mock
    bounce_s: float = 0.05
    buttons: tuple[WindowButtons, ...] = ()


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
    printer: PrinterConfig = PrinterConfig()
    kiosk: KioskConfig = KioskConfig()
    display: DisplayConfig = DisplayConfig()
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


# --------------------------------------------------------------------------------------------
# Loading


def load_config(path: str | Path) -> Config:
    """Read and validate a TOML config file; raise ConfigError listing every problem."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ConfigError([f"{p}: cannot read: {exc.strerror or exc}"]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{p}: not UTF-8 text (byte {exc.start})"]) from None
    return parse_config(text, source=str(p))


def parse_config(text: str, source: str = "<config>") -> Config:
    """Parse and validate TOML text; raise ConfigError listing every problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{source}: TOML syntax error: {exc}"]) from None
    v = _Validator(source)
    config = v.config(data)
    if v.problems or config is None:
        raise ConfigError(v.problems)
    return config


class _Validator:
    """Walks the raw TOML, collecting problems instead of stopping at the first one."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[str] = []

    def err(self, where: str, message: str) -> None:
        self.problems.append(f"{self.source}: {where}: {message}")

    # -- typed getters ----------------------------------------------------------------------

    def table(self, data: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
        value = data.get(key, {})
        if not isinstance(value, dict):
            self.err(where + key, "must be a table")
            return {}
        return value

    def array_of_tables(self, data: Mapping[str, Any], key: str, where: str) -> list[Any]:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(x, dict) for x in value):
            self.err(where + key, "must be an array of tables ([[" + key + "]])")
            return []
        return value

    def unknown_keys(self, data: Mapping[str, Any], allowed: Iterable[str], where: str) -> None:
        allowed_set = set(allowed)
        for key in data:
            if key not in allowed_set:
                self.err(where.rstrip(".") or "top level", f"unknown key {key!r}")

    def string(
        self, data: Mapping[str, Any], key: str, where: str, *, default: str | None = None
    ) -> str | None:
        if key not in data:
            if default is None:
                self.err(where + key, "is required")
            return default
        value = data[key]
        if not isinstance(value, str) or not value.strip():
            self.err(where + key, f"must be a non-empty string, not {value!r}")
            return None
        return value

    def integer(
        self,
        data: Mapping[str, Any],
        key: str,
        where: str,
        *,
        default: int | None = None,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> int | None:
        if key not in data:
            if default is None:
                self.err(where + key, "is required")
            return default
        value = data[key]
        if isinstance(value, bool) or not isinstance(value, int):
            self.err(where + key, f"must be a whole number, not {value!r}")
            return None
        if minimum is not None and value < minimum:
            self.err(where + key, f"must be at least {minimum}, not {value}")
            return None
        if maximum is not None and value > maximum:
            self.err(where + key, f"must be at most {maximum}, not {value}")
            return None
        return value

    def number(
        self, data: Mapping[str, Any], key: str, where: str, *, default: float, minimum: float
    ) -> float | None:
        value = data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.err(where + key, f"must be a number, not {value!r}")
            return None
        if value < minimum:
            self.err(where + key, f"must be at least {minimum}, not {value}")
            return None
        return float(value)

    def boolean(self, data: Mapping[str, Any], key: str, where: str, default: bool) -> bool:
        value = data.get(key, default)
        if not isinstance(value, bool):
            self.err(where + key, f"must be true or false, not {value!r}")
            return default
        return value

    def strings(self, data: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(x, str) and x.strip() for x in value):
            self.err(where + key, "must be a list of non-empty strings")
            return ()
        return tuple(value)

    def ident(self, data: Mapping[str, Any], key: str, where: str) -> str | None:
        value = self.string(data, key, where)
        if value is not None and not _ID_RE.match(value):
            self.err(where + key, f"{value!r} is not a valid id (a–z, 0–9, - or _)")
            return None
        return value

    def clock_time(self, value: Any, where: str) -> dt.time | None:
        if isinstance(value, dt.time):
            return value
        if isinstance(value, str):
            m = re.fullmatch(r"(\d{1,2}):(\d{2})", value.strip())
            if m and int(m.group(1)) < 24 and int(m.group(2)) < 60:
                return dt.time(int(m.group(1)), int(m.group(2)))
        self.err(where, f"must be a time of day like \"08:30\", not {value!r}")
        return None

    # -- sections ---------------------------------------------------------------------------

    def config(self, data: Mapping[str, Any]) -> Config | None:
        self.unknown_keys(
            data,
            ("center", "policy", "green_channel", "departments", "windows", "staff", "devices",
             "printer", "kiosk", "display"),
            "",
        )
        center = self.center(self.table(data, "center", ""))
        departments = self.departments(self.array_of_tables(data, "departments", ""))
        services = {s.id: s for d in departments for s in d.services}
        staff = self.staff(self.array_of_tables(data, "staff", ""), services, departments)
        windows = self.windows(self.array_of_tables(data, "windows", ""), {s.id for s in staff})
        window_numbers = {w.number for w in windows}
        policy = self.policy(self.table(data, "policy", ""))
        green = self.green_channel(self.table(data, "green_channel", ""), services)
        devices = self.devices(self.array_of_tables(data, "devices", ""), window_numbers)
        printer = self.printer(self.table(data, "printer", ""), services)
        raw_names = {d.get("name") for d in self.array_of_tables(data, "devices", "")}
        kiosk = self.kiosk(self.table(data, "kiosk", ""), devices, raw_names)
        display = self.display(self.table(data, "display", ""), devices, raw_names,
                               window_numbers)
        if not departments:
            self.err("departments", "at least one department with services is required")
        if not windows:
            self.err("windows", "at least one window is required")
        elif not any(w.green for w in windows) and (
            "green_channel" in policy.rules or "short_high_freq" in policy.rules
        ):
            self.err("windows", "no window is green, but the policy uses green-window rules")
        if center is None or self.problems:
            return None
        return Config(
            center=center,
            departments=tuple(departments),
            windows=tuple(sorted(windows, key=lambda w: w.number)),
            staff=tuple(staff),
            policy=policy,
            green_channel=green,
            devices=tuple(devices),
            printer=printer,
            kiosk=kiosk,
            display=display,
        )

    def center(self, data: Mapping[str, Any]) -> Center | None:
        where = "center."
        self.unknown_keys(data, ("name", "name_en", "timezone", "day_start"), where)
        name = self.string(data, "name", where)
        name_en = self.string(data, "name_en", where, default="") or ""
        tz = self.string(data, "timezone", where, default="Asia/Shanghai") or "Asia/Shanghai"
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            self.err(where + "timezone", f"unknown time zone {tz!r}")
        day_start = self.clock_time(data.get("day_start", "04:00"), where + "day_start")
        if name is None or day_start is None:
            return None
        return Center(name=name, name_en=name_en, timezone=tz, day_start=day_start)

    def departments(self, items: list[Mapping[str, Any]]) -> list[Department]:
        result: list[Department] = []
        seen_dept: dict[str, str] = {}
        seen_service: dict[str, str] = {}
        seen_prefix: dict[str, str] = {}
        for i, item in enumerate(items):
            where = f"departments[{i}]."
            self.unknown_keys(item, ("id", "name", "name_en", "prefix", "services"), where)
            dept_id = self.ident(item, "id", where)
            name = self.string(item, "name", where)
            name_en = self.string(item, "name_en", where, default="") or ""
            prefix = self.string(item, "prefix", where)
            if prefix is not None and not _PREFIX_RE.match(prefix):
                self.err(where + "prefix", f"must be one capital letter A–Z, not {prefix!r}")
                prefix = None
            if dept_id is not None:
                if dept_id in seen_dept:
                    self.err(where + "id", f"duplicate department id {dept_id!r} "
                             f"(also {seen_dept[dept_id]})")
                seen_dept[dept_id] = where.rstrip(".")
            if prefix is not None:
                if prefix in seen_prefix:
                    self.err(where + "prefix", f"prefix {prefix!r} is already used by "
                             f"{seen_prefix[prefix]}")
                seen_prefix[prefix] = where.rstrip(".")
            services: list[Service] = []
            raw_services = self.array_of_tables(item, "services", where)
            if not raw_services:
                self.err(where + "services", "a department needs at least one service")
            for j, s in enumerate(raw_services):
                sw = f"{where}services[{j}]."
                self.unknown_keys(
                    s,
                    ("id", "name", "name_en", "prefix", "minutes", "short_high_freq",
                     "materials"),
                    sw,
                )
                sid = self.ident(s, "id", sw)
                sname = self.string(s, "name", sw)
                sname_en = self.string(s, "name_en", sw, default="") or ""
                sprefix = self.string(s, "prefix", sw, default=prefix or "")
                if s.get("prefix") is not None and sprefix and not _PREFIX_RE.match(sprefix):
                    self.err(sw + "prefix", f"must be one capital letter A–Z, not {sprefix!r}")
                minutes = self.integer(s, "minutes", sw, minimum=1, maximum=480)
                short = self.boolean(s, "short_high_freq", sw, False)
                materials = self.strings(s, "materials", sw)
                if sid is not None:
                    if sid in seen_service:
                        self.err(sw + "id", f"duplicate service id {sid!r} "
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

    def staff(
        self,
        items: list[Mapping[str, Any]],
        services: Mapping[str, Service],
        departments: list[Department],
    ) -> list[Staff]:
        by_dept = {d.id: d for d in departments}
        result: list[Staff] = []
        seen: set[str] = set()
        for i, item in enumerate(items):
            where = f"staff[{i}]."
            self.unknown_keys(item, ("id", "name", "default", "skills"), where)
            sid = self.ident(item, "id", where)
            name = self.string(item, "name", where)
            default = self.skill(item.get("default", "can"), where + "default")
            if sid is not None:
                if sid in seen:
                    self.err(where + "id", f"duplicate staff id {sid!r}")
                seen.add(sid)
            skills_raw = self.table(item, "skills", where)
            skills: dict[str, SkillLevel] = {}
            # Department entries first, so a service entry overrides its department's.
            for key in sorted(skills_raw, key=lambda k: k in services):
                level = self.skill(skills_raw[key], f"{where}skills.{key}")
                if level is None:
                    continue
                if key in services:
                    skills[key] = level
                elif key in by_dept:
                    for s in by_dept[key].services:
                        skills[s.id] = level
                else:
                    self.err(f"{where}skills.{key}", f"unknown business or department {key!r}")
            if sid is not None and name is not None and default is not None:
                result.append(Staff(sid, name, default, skills))
        return result

    def skill(self, value: Any, where: str) -> SkillLevel | None:
        if isinstance(value, str) and value in SKILL_NAMES:
            return SKILL_NAMES[value]
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 3:
            return SkillLevel(value)
        self.err(where, f"must be one of {', '.join(SKILL_NAMES)} (or 0–3), not {value!r}")
        return None

    def windows(self, items: list[Mapping[str, Any]], staff_ids: set[str]) -> list[Window]:
        result: list[Window] = []
        seen: set[int] = set()
        for i, item in enumerate(items):
            where = f"windows[{i}]."
            self.unknown_keys(item, ("number", "green", "staff", "open"), where)
            number = self.integer(item, "number", where, minimum=1, maximum=999)
            green = self.boolean(item, "green", where, False)
            is_open = self.boolean(item, "open", where, True)
            staff_id = item.get("staff")
            if staff_id is not None and staff_id not in staff_ids:
                self.err(where + "staff", f"unknown staff member {staff_id!r}")
                staff_id = None
            if number is None:
                continue
            if number in seen:
                self.err(where + "number", f"window number {number} is used twice")
                continue
            seen.add(number)
            result.append(Window(number, green, staff_id, is_open))
        return result

    def policy(self, data: Mapping[str, Any]) -> Policy:
        where = "policy."
        self.unknown_keys(
            data,
            ("rules", "short_threshold", "starvation_max_wait_min", "double_press_s"),
            where,
        )
        rules = self.strings(data, "rules", where) if "rules" in data else DEFAULT_RULES
        for r in rules:
            if r not in RULES:
                self.err(where + "rules", f"unknown rule {r!r} (known: {', '.join(RULES)})")
        if len(set(rules)) != len(rules):
            self.err(where + "rules", "a rule is listed twice")
        threshold = self.integer(data, "short_threshold", where, default=2, minimum=0)
        starve = self.integer(data, "starvation_max_wait_min", where, default=60, minimum=1)
        double = self.number(data, "double_press_s", where, default=3.0, minimum=0.0)
        return Policy(
            rules=tuple(r for r in rules if r in RULES),
            short_threshold=2 if threshold is None else threshold,
            starvation_max_wait_min=starve or 60,
            double_press_s=3.0 if double is None else double,
        )

    def green_channel(
        self, data: Mapping[str, Any], services: Mapping[str, Service]
    ) -> GreenChannel:
        where = "green_channel."
        self.unknown_keys(data, ("services", "max_wait_min", "schedule"), where)
        service_ids = self.strings(data, "services", where)
        for sid in service_ids:
            if sid not in services:
                self.err(where + "services", f"unknown business {sid!r}")
        max_wait = self.integer(data, "max_wait_min", where, default=20, minimum=0)
        schedule: list[TimeRange] = []
        for i, item in enumerate(self.array_of_tables(data, "schedule", where)):
            sw = f"{where}schedule[{i}]."
            self.unknown_keys(item, ("days", "start", "end"), sw)
            days_raw = self.strings(item, "days", sw) if "days" in item else WEEKDAYS
            days: set[int] = set()
            for d in days_raw:
                if d.lower() not in WEEKDAYS:
                    self.err(sw + "days", f"unknown day {d!r} (use {', '.join(WEEKDAYS)})")
                else:
                    days.add(WEEKDAYS.index(d.lower()))
            start = self.clock_time(item.get("start"), sw + "start")
            end = self.clock_time(item.get("end"), sw + "end")
            if start is not None and end is not None:
                if start >= end:
                    self.err(sw.rstrip("."), f"bad time range: start {start:%H:%M} is not before "
                             f"end {end:%H:%M}")
                else:
                    schedule.append(TimeRange(frozenset(days), start, end))
        return GreenChannel(tuple(service_ids), max_wait or 0, tuple(schedule))

    def printer(self, data: Mapping[str, Any], services: Mapping[str, Service]) -> PrinterConfig:
        where = "printer."
        fields = PrinterConfig.__dataclass_fields__
        self.unknown_keys(data, fields, where)
        d = PrinterConfig()
        transport = self.string(data, "transport", where, default=d.transport) or d.transport
        if transport not in TRANSPORTS:
            self.err(where + "transport", f"unknown transport {transport!r} "
                     f"(known: {', '.join(TRANSPORTS)})")
        dots = self.integer(data, "dots", where, default=d.dots) or d.dots
        if dots not in (384, 576):
            self.err(where + "dots", f"must be 384 (58 mm) or 576 (80 mm), not {dots}")
        encoding = self.string(data, "encoding", where, default=d.encoding) or d.encoding
        if encoding not in ("gb18030", "gbk"):
            self.err(where + "encoding", f"must be gb18030 or gbk, not {encoding!r}")
        mode = self.string(data, "mode", where, default=d.mode) or d.mode
        if mode not in ("native", "raster"):
            self.err(where + "mode", f"must be native or raster, not {mode!r}")
        materials: bool | tuple[str, ...] = d.materials
        raw_materials = data.get("materials", True)
        if isinstance(raw_materials, bool):
            materials = raw_materials
        else:
            materials = self.strings(data, "materials", where)
            for sid in materials:
                if sid not in services:
                    self.err(where + "materials", f"unknown business {sid!r}")
        flow = self.string(data, "flow", where, default=d.flow) or d.flow
        if flow not in ("none", "xonxoff", "dsrdtr"):
            self.err(where + "flow", f"must be none, xonxoff or dsrdtr, not {flow!r}")
        usb = self.string(data, "usb", where, default="") or ""
        if usb and not re.fullmatch(r"[0-9a-fA-F]{4}:[0-9a-fA-F]{4}", usb):
            self.err(where + "usb", f"must be VID:PID in hex like \"0416:5011\", not {usb!r}")
        cfg = PrinterConfig(
            transport=transport, dots=dots, encoding=encoding, mode=mode,
            cutter=self.boolean(data, "cutter", where, d.cutter),
            qr=data.get("qr", "") if isinstance(data.get("qr", ""), str) else "",
            materials=materials,
            font=self.string(data, "font", where, default="") or "",
            usb=usb,
            serial=self.string(data, "serial", where, default="") or "",
            baudrate=self.integer(data, "baudrate", where, default=d.baudrate, minimum=1200)
            or d.baudrate,
            flow=flow,
            host=self.string(data, "host", where, default="") or "",
            port=self.integer(data, "port", where, default=d.port, minimum=1, maximum=65535)
            or d.port,
            device=self.string(data, "device", where, default="") or "",
            fake_dir=self.string(data, "fake_dir", where, default=d.fake_dir) or d.fake_dir,
            timeout_s=self.number(data, "timeout_s", where, default=d.timeout_s, minimum=0.1)
            or d.timeout_s,
        )
        if not isinstance(data.get("qr", ""), str):
            self.err(where + "qr", "must be a text template like \"QMS:{id}\"")
        needs = {"usb": cfg.usb, "serial": cfg.serial, "network": cfg.host, "file": cfg.device}
        key = {"usb": "usb", "serial": "serial", "network": "host", "file": "device"}
        if transport in needs and not needs[transport]:
            self.err(where + key[transport], f"the {transport} transport needs {key[transport]}")
        return cfg

    def kiosk(self, data: Mapping[str, Any], devices: list[Device],
              raw_names: set[Any]) -> KioskConfig:
        where = "kiosk."
        self.unknown_keys(data, KioskConfig.__dataclass_fields__, where)
        d = KioskConfig()
        url = self.string(data, "dispatcher", where, default=d.dispatcher) or d.dispatcher
        if not re.match(r"^https?://[^/\s]+", url):
            self.err(where + "dispatcher", f"must be a URL like http://127.0.0.1:8470, not {url!r}")
        device = self.string(data, "device", where, default=d.device) or d.device
        if "device" in data or devices:
            match = next((x for x in devices if x.name == device), None)
            if match is None and device not in raw_names:  # (a broken entry is named already)
                self.err(where + "device", f"no [[devices]] entry named {device!r}")
            elif match is not None and match.role not in ("kiosk", "admin"):
                self.err(where + "device", f"device {device!r} has role {match.role}, "
                         "a kiosk needs role kiosk")
        fault = self.string(data, "on_printer_fault", where, default=d.on_printer_fault) or \
            d.on_printer_fault
        if fault not in ("pause", "issue"):
            self.err(where + "on_printer_fault", f"must be pause or issue, not {fault!r}")
        return KioskConfig(
            dispatcher=url.rstrip("/"), device=device,
            fullscreen=self.boolean(data, "fullscreen", where, d.fullscreen),
            width=self.integer(data, "width", where, default=0, minimum=0) or 0,
            height=self.integer(data, "height", where, default=0, minimum=0) or 0,
            idle_timeout_s=self.number(data, "idle_timeout_s", where, default=d.idle_timeout_s,
                                       minimum=5) or d.idle_timeout_s,
            done_timeout_s=self.number(data, "done_timeout_s", where, default=d.done_timeout_s,
                                       minimum=3) or d.done_timeout_s,
            print_timeout_s=self.number(data, "print_timeout_s", where,
                                        default=d.print_timeout_s, minimum=3)
            or d.print_timeout_s,
            on_printer_fault=fault,
        )

    def display(self, data: Mapping[str, Any], devices: list[Device], raw_names: set[Any],
                window_numbers: set[int]) -> DisplayConfig:
        where = "display."
        self.unknown_keys(data, DisplayConfig.__dataclass_fields__, where)
        d = DisplayConfig()
        url = self.string(data, "dispatcher", where, default=d.dispatcher) or d.dispatcher
        if not re.match(r"^https?://[^/\s]+", url):
            self.err(where + "dispatcher", f"must be a URL like http://127.0.0.1:8470, not {url!r}")
        names = {}
        for key, roles in (("device", ("display", "admin")), ("caller_device", ("caller",
                                                                                "admin"))):
            name = self.string(data, key, where, default=getattr(d, key)) or getattr(d, key)
            names[key] = name
            if key in data:  # the defaults are checked when the display starts
                match = next((x for x in devices if x.name == name), None)
                if match is None and name not in raw_names:
                    self.err(where + key, f"no [[devices]] entry named {name!r}")
                elif match is not None and match.role not in roles:
                    self.err(where + key, f"device {name!r} has role {match.role}, "
                             f"needs {' or '.join(roles)}")
        highlight = self.number(data, "highlight_s", where, default=d.highlight_s, minimum=10)
        flashes = self.number(data, "flashes_per_s", where, default=d.flashes_per_s,
                              minimum=0)
        if flashes is not None and flashes > 3:
            self.err(where + "flashes_per_s", f"must be at most 3 (photosensitivity), "
                     f"not {flashes}")
            flashes = None
        factory = self.string(data, "pin_factory", where, default="") or ""
        known_factories = ("lgpio", "rpigpio", "pigpio", "native", "mock")
        if factory and factory not in known_factories:
            self.err(where + "pin_factory", f"unknown pin factory {factory!r} "
                     f"(known: {', '.join(known_factories)})")
        buttons: list[WindowButtons] = []
        used_pins: dict[int, str] = {}
        for i, item in enumerate(self.array_of_tables(data, "buttons", where)):
            bw = f"{where}buttons[{i}]."
            self.unknown_keys(item, WindowButtons.__dataclass_fields__, bw)
            window = self.integer(item, "window", bw)
            if window is not None and window not in window_numbers:
                self.err(bw + "window", f"unknown window {window}")
            pins: dict[str, int | None] = {}
            for key in ("call_next", "recall", "no_show", "pause", "led"):
                pin = self.integer(item, key, bw, default=-1, minimum=-1, maximum=27)
                pins[key] = None if pin in (None, -1) else pin
                if pins[key] is not None:
                    if pins[key] in used_pins:
                        self.err(bw + key, f"GPIO {pins[key]} is already used by "
                                 f"{used_pins[pins[key]]}")  # type: ignore[index]
                    used_pins[pins[key]] = bw + key  # type: ignore[index]
            if window is not None:
                buttons.append(WindowButtons(window, **pins))
        if buttons and not factory:
            self.err(where + "pin_factory", "buttons are wired: name the pin factory "
                     "(lgpio on a Pi 5)")
        return DisplayConfig(
            dispatcher=url.rstrip("/"), device=names["device"],
            caller_device=names["caller_device"],
            fullscreen=self.boolean(data, "fullscreen", where, d.fullscreen),
            width=self.integer(data, "width", where, default=0, minimum=0) or 0,
            height=self.integer(data, "height", where, default=0, minimum=0) or 0,
            notice=data.get("notice", "") if isinstance(data.get("notice", ""), str) else "",
            highlight_s=highlight or d.highlight_s,
            flashes_per_s=d.flashes_per_s if flashes is None else flashes,
            recent=self.integer(data, "recent", where, default=d.recent, minimum=6,
                                maximum=20) or d.recent,
            late_s=self.number(data, "late_s", where, default=d.late_s, minimum=1)
            or d.late_s,
            voice_pack=self.string(data, "voice_pack", where, default=d.voice_pack)
            or d.voice_pack,
            repeat=self.integer(data, "repeat", where, default=d.repeat, minimum=1, maximum=3)
            or d.repeat,
            keyboard=self.boolean(data, "keyboard", where, d.keyboard),
            pin_factory=factory,
            bounce_s=self.number(data, "bounce_s", where, default=d.bounce_s, minimum=0)
            or d.bounce_s,
            buttons=tuple(buttons),
        )

    def devices(self, items: list[Mapping[str, Any]], window_numbers: set[int]) -> list[Device]:
        result: list[Device] = []
        names: set[str] = set()
        tokens: set[str] = set()
        for i, item in enumerate(items):
            where = f"devices[{i}]."
            self.unknown_keys(item, ("name", "role", "token", "windows"), where)
            name = self.string(item, "name", where)
            role = self.string(item, "role", where)
            token = self.string(item, "token", where)
            if role is not None and role not in ROLES:
                self.err(where + "role", f"unknown role {role!r} (known: {', '.join(ROLES)})")
                role = None
            windows_raw = item.get("windows", [])
            windows: list[int] = []
            if not isinstance(windows_raw, list) or not all(
                isinstance(x, int) and not isinstance(x, bool) for x in windows_raw
            ):
                self.err(where + "windows", "must be a list of window numbers")
            else:
                for n in windows_raw:
                    if n not in window_numbers:
                        self.err(where + "windows", f"unknown window {n}")
                    else:
                        windows.append(n)
            if role == "caller" and not windows_raw:
                self.err(where + "windows", "a caller device must list the windows it operates")
            if name is not None:
                if name in names:
                    self.err(where + "name", f"duplicate device name {name!r}")
                names.add(name)
            if token is not None:
                if token in tokens:
                    self.err(where + "token", "the same token is given to two devices")
                tokens.add(token)
                if len(token) < 8:
                    self.err(where + "token", "a token must be at least 8 characters")
            if name and role and token:
                result.append(Device(name, role, token, tuple(windows)))
        return result


def load_or_report(path: str | Path) -> Config | None:
    """The config, or None after printing each problem on stderr (for command entry points)."""
    try:
        return load_config(path)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return None


def default_config_path() -> Path:
    """The shipped example config (`examples/center.toml` in the source tree)."""
    return Path(__file__).resolve().parent.parent / "examples" / "center.toml"
