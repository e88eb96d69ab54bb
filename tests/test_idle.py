"""Staff idle time while residents they could serve were waiting, computed by hand."""

from __future__ import annotations

import datetime as dt

from dispatcher.domain.history import Visit
from dispatcher.domain.idle import idle_while_waiting

from .helpers import SHANGHAI

DAY = dt.date(2026, 11, 30)


def at(hhmmss: str) -> dt.datetime:
    return dt.datetime.combine(DAY, dt.time.fromisoformat(hhmmss), SHANGHAI)


def v(n: int, service: str, issued: str, called: str | None, finished: str | None,
      window: int | None, staff: str | None) -> Visit:
    return Visit(DAY, f"A{n:03d}", service, at(issued), at(called) if called else None,
                 at(finished) if finished else None, window, staff,
                 "done" if finished else "cancelled")


def test_idle_counts_only_gaps_while_someone_they_could_serve_waited() -> None:
    visits = [
        v(1, "a", "09:00:00", "09:00:00", "09:10:00", 1, "s1"),
        # s1's gap 09:10–09:20: grace to 09:11; A002 (a) waits from 09:15 → 5 min idle.
        v(2, "a", "09:15:00", "09:20:00", "09:30:00", 1, "s1"),
        # Gap 09:30–09:40: only A003 of business b waits, which s1 cannot do → not idle.
        v(3, "b", "09:31:00", "09:50:00", "09:55:00", 2, "s2"),
        v(4, "a", "09:39:00", "09:40:00", "09:45:00", 1, "s1"),  # waits 09:39–09:40: 1 min
        # Gap 09:45–11:00 (75 min): a break, not idle.
        v(5, "a", "10:00:00", "11:00:00", "11:05:00", 1, "s1"),
    ]
    result = idle_while_waiting(visits, lambda staff, service: service == "a"
                                or staff == "s2")
    s1 = result["s1"]
    assert s1["idle_s"] == 5 * 60 + 60  # 09:15–09:20 and 09:39–09:40
    assert s1["gaps_s"] == 9 * 60 + 9 * 60  # 09:11–09:20 and 09:31–09:40 after the grace
    assert s1["breaks"] == 1
    assert result["s2"] == {"idle_s": 0.0, "gaps_s": 0.0, "breaks": 0.0}
