"""Working days: Monday to Friday, less the public holidays, plus the weekend days worked in
their place (调休 make-up days). The national schedule ships in `PUBLIC_HOLIDAYS` and
`MAKEUP_WORKDAYS` (as the State Council publishes it each year); the config adds a center's
own closed days (`holidays`) and worked days (`workdays`), which win over the table. Pure."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterator


def _span(first: str, last: str) -> Iterator[dt.date]:
    day, end = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
    while day <= end:
        yield day
        day += dt.timedelta(days=1)


def _days(*spans: tuple[str, str] | str) -> frozenset[dt.date]:
    out: set[dt.date] = set()
    for s in spans:
        out.update(_span(s, s) if isinstance(s, str) else _span(*s))
    return frozenset(out)


# 国务院办公厅关于部分节假日安排的通知: 2024, 2025, 2026. A year not listed yet (the schedule
# comes out each November or December) goes in the config until the table has it.
PUBLIC_HOLIDAYS = _days(
    "2024-01-01", ("2024-02-10", "2024-02-17"), ("2024-04-04", "2024-04-06"),
    ("2024-05-01", "2024-05-05"), "2024-06-10", ("2024-09-15", "2024-09-17"),
    ("2024-10-01", "2024-10-07"),
    "2025-01-01", ("2025-01-28", "2025-02-04"), ("2025-04-04", "2025-04-06"),
    ("2025-05-01", "2025-05-05"), ("2025-05-31", "2025-06-02"), ("2025-10-01", "2025-10-08"),
    ("2026-01-01", "2026-01-03"), ("2026-02-15", "2026-02-23"), ("2026-04-04", "2026-04-06"),
    ("2026-05-01", "2026-05-05"), ("2026-06-19", "2026-06-21"), ("2026-09-25", "2026-09-27"),
    ("2026-10-01", "2026-10-07"),
)
MAKEUP_WORKDAYS = _days(
    "2024-02-04", "2024-02-18", "2024-04-07", "2024-04-28", "2024-05-11", "2024-09-14",
    "2024-09-29", "2024-10-12",
    "2025-01-26", "2025-02-08", "2025-04-27", "2025-09-28", "2025-10-11",
    "2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10",
)
TABLE_YEARS = (2024, 2025, 2026)  # the years the table covers


def is_working_day(day: dt.date, holidays: Collection[dt.date] = (),
                   workdays: Collection[dt.date] = ()) -> bool:
    """The config's days first (`workdays` over `holidays`), then the national table, then
    Mon–Fri."""
    if day in workdays:
        return True
    if day in holidays or day in PUBLIC_HOLIDAYS:
        return False
    return day.weekday() < 5 or day in MAKEUP_WORKDAYS


def is_holiday(day: dt.date, holidays: Collection[dt.date] = ()) -> bool:
    """A public holiday (the table's or the config's), not just a weekend."""
    return day in holidays or day in PUBLIC_HOLIDAYS


def add_working_days(day: dt.date, n: int, holidays: Collection[dt.date] = (),
                     workdays: Collection[dt.date] = ()) -> dt.date:
    """The `n`-th working day after `day` (`day` itself when n is 0); n must not be negative."""
    if n < 0:
        raise ValueError(f"n must not be negative, not {n}")
    while n > 0:
        day += dt.timedelta(days=1)
        if is_working_day(day, holidays, workdays):
            n -= 1
    return day
