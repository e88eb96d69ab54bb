"""The monthly report as the CLI, the console and the exports give it: the visits' figures
(dispatcher.domain.report), plus the month's bookings and ratings — the same dict everywhere,
so the page, the JSON and the files never disagree. Reads the database through HistoryStore."""

from __future__ import annotations

from typing import Any

from dispatcher.domain.booking_report import booking_report
from dispatcher.domain.config import Config
from dispatcher.domain.rating_report import rating_report
from dispatcher.domain.report import month_days, monthly_report
from dispatcher.server.history import HistoryStore


def month_report(store: HistoryStore, config: Config, month: str) -> dict[str, Any]:
    """PROTOCOL's report of `month` with the extras: `bookings` and `ratings` (ValueError for a
    bad month)."""
    first, last = month_days(month)
    report = monthly_report(
        month, store.visits(first, last), config.reports, config.center.tz,
        day_start=config.center.day_start,
        departments={s.id: s.department_id for s in config.services.values()})
    report["bookings"] = booking_report(store.bookings(first, last))
    ratings, tasks = store.ratings(first, last)
    report["ratings"] = rating_report(ratings, tasks)
    return report
