"""What-if: a past day's residents (arrival, business, real service time) replayed through the
simulator with changes, beside what happened; breaks and who sat where read from the day."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from dispatcher.domain.history import Visit
from dispatcher.domain.whatif import (
    NO_SHOW_S,
    WhatIfError,
    arrivals_of,
    breaks_of,
    changed_config,
    seating_of,
    what_if,
)

from .helpers import SHANGHAI, small_config

DAY = dt.date(2026, 11, 30)
CONFIG = small_config()


def at(hhmm: str) -> dt.datetime:
    return dt.datetime.combine(DAY, dt.time.fromisoformat(hhmm), SHANGHAI)


def v(n: int, issued: str, called: str | None, finished: str | None, window: int | None,
      staff: str | None, outcome: str = "done") -> Visit:
    return Visit(DAY, f"A{n:03d}", "sb-card", at(issued), at(called) if called else None,
                 at(finished) if finished else None, window, staff, outcome)


DAY_VISITS = [
    v(1, "09:00", "09:00", "09:10", 1, "s1"),
    v(2, "09:01", "09:01", "09:11", 2, "s2"),
    v(3, "09:02", "09:10", "09:20", 1, "s1"),
    v(4, "09:03", "09:11", None, 2, "s2", "no_show"),
    v(5, "09:04", None, None, None, None, "cancelled"),
    v(6, "11:50", "13:30", "13:40", 1, "s1"),  # waited over lunch
    v(7, "12:10", "13:31", "13:41", 2, "s2"),
]


def test_the_days_residents_become_arrivals_with_their_real_service_times() -> None:
    arrivals = arrivals_of(DAY_VISITS, SHANGHAI)
    assert len(arrivals) == 6  # the cancelled ticket is left out
    assert arrivals[0].at_s == 9 * 3600 and arrivals[0].duration_s == 600
    assert arrivals[3].duration_s == NO_SHOW_S
    flagged = arrivals_of(DAY_VISITS, SHANGHAI, frozenset({0}))
    assert flagged[0].duration_s == 600  # the business's median that day (all 10 min)


def test_lunch_and_who_sat_where_are_read_from_the_day() -> None:
    # No call from 09:11 to 13:30; someone waited from 11:50: a break 11:50–13:30.
    assert breaks_of(DAY_VISITS, SHANGHAI) == [(11 * 3600 + 50 * 60, 13 * 3600 + 30 * 60)]
    assert seating_of(DAY_VISITS) == {1: "s1", 2: "s2"}


def test_changes_the_config_cannot_take_are_refused() -> None:
    with pytest.raises(WhatIfError):
        changed_config(CONFIG, seating={99: "s1"})
    with pytest.raises(WhatIfError):
        changed_config(CONFIG, seating={1: "nobody"})
    with pytest.raises(WhatIfError):
        changed_config(CONFIG, windows=0)
    closed = changed_config(CONFIG, seating={1: None})
    assert 1 not in {w.number for w in closed.windows}
    more = changed_config(CONFIG, windows=len(CONFIG.windows) + 2)
    assert len(more.windows) == len(CONFIG.windows) + 2


def test_one_window_fewer_makes_the_residents_wait_longer() -> None:
    result = what_if(CONFIG, DAY_VISITS, DAY, windows=1)
    assert result["happened"]["called"] == 6 and result["happened"]["windows"] == 2
    assert result["seating"] == {"1": "s1", "2": "s2"}  # the day's two windows
    assert result["simulated_as_it_was"]["windows"] == 2
    assert result["simulated_with_changes"]["windows"] == 1
    assert result["simulated_with_changes"]["mean_wait_s"] > \
        result["simulated_as_it_was"]["mean_wait_s"]
    # Nobody is called during lunch: the one who came at 11:50 waits till 13:30.
    assert result["simulated_as_it_was"]["max_wait_s"] >= 100 * 60


def test_the_whatif_command_reads_the_day_from_the_database(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from dispatcher.server.history import HistoryStore
    from qms.cli import main

    from .test_appointments import _config_file

    store = HistoryStore(tmp_path / "qms.db")
    store.import_visits(DAY_VISITS)
    store.close()
    args = ["whatif", "--config", str(_config_file(tmp_path)), "--db", str(tmp_path / "qms.db")]
    capsys.readouterr()
    assert main([*args, "--day", "2026-11-30", "--windows", "1", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["changes"]["windows"] == 1 and result["happened"]["tickets"] == 7
    assert main([*args, "--day", "2026-11-30", "--seat", "1=nobody"]) == 2
    assert main([*args, "--day", "2026-12-01"]) == 2  # no tickets that day
    assert main([*args, "--day", "tomorrow"]) == 2


def test_changes_apply_to_the_configured_windows_even_those_closed_that_day() -> None:
    """The day had windows 1 and 2 (s1, s2); windows 3 and 4 (s3, s4 in the config) closed."""
    result = what_if(CONFIG, DAY_VISITS, DAY, seating={3: "s3"})
    assert result["simulated_as_it_was"]["windows"] == 2
    assert result["simulated_with_changes"]["windows"] == 3  # window 3 opened with s3
    reopened = changed_config(CONFIG, seating={1: "s1", 2: "s2", 3: None, 4: None}, windows=4)
    assert {w.number: w.staff_id for w in reopened.windows} == {1: "s1", 2: "s2", 3: "s3",
                                                                4: "s4"}
    more = changed_config(CONFIG, seating={3: None, 4: None}, windows=5)
    assert [w.number for w in more.windows] == [1, 2, 3, 4, 5]  # reopened, then one added
    fewer = changed_config(CONFIG, seating={4: None}, windows=2)
    assert [w.number for w in fewer.windows] == [1, 2]
