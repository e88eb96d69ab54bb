"""Working days: Monday to Friday, less the public holidays, plus the weekend days worked in
their place (调休 make-up days). Pure; the days come from the config."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection


def is_working_day(day: dt.date, holidays: Collection[dt.date] = (),
                   workdays: Collection[dt.date] = ()) -> bool:
    """Mon–Fri unless a holiday; Sat/Sun only when listed as a make-up workday."""
    if day.weekday() >= 5:
        return day in workdays
    return day not in holidays


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
