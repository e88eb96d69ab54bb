"""Reading a TOML config: typed getters that collect every problem instead of stopping.

Each role declares its own section (a frozen dataclass and a `read_…(v, data)` function using
a `Validator`); the shell (`qms.config`) assembles the sections and checks what spans them.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_URL_RE = re.compile(r"^https?://[^/\s]+")


class ConfigError(Exception):
    """The config cannot be used; `problems` lists every reason, one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def read_toml(path: str | Path) -> tuple[dict[str, Any], str]:
    """The parsed TOML of a file and its name for messages; ConfigError when unreadable."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ConfigError([f"{p}: cannot read: {exc.strerror or exc}"]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{p}: not UTF-8 text (byte {exc.start})"]) from None
    return parse_toml(text, str(p)), str(p)


def parse_toml(text: str, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{source}: TOML syntax error: {exc}"]) from None


class Validator:
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

    def url(self, data: Mapping[str, Any], key: str, where: str, default: str) -> str:
        """An http(s) base URL, without its trailing slash."""
        url = self.string(data, key, where, default=default) or default
        if not _URL_RE.match(url):
            self.err(where + key, f"must be a URL like http://127.0.0.1:8470, not {url!r}")
        return url.rstrip("/")
