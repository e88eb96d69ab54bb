"""Time in the queue: guards measure real elapsed time even when the wall clock steps back,
and a business day starts by the clock, not by the first request of the day."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from dispatcher.domain import commands as c
from dispatcher.domain.core import QueueCore

from .conftest import wait_until
from .helpers import HALL, KIOSK, MONDAY_9, SCREEN, small_config
from .live import FakeClock, LiveDispatcher


def test_the_double_press_guard_expires_after_the_wall_clock_steps_back_an_hour() -> None:
    core = QueueCore(small_config())
    for i in range(3):
        core.handle(c.IssueTicket(request_id=f"t{i}", service_id="sb-card"), MONDAY_9, 100.0)
    core.handle(c.CallNext(request_id="w3", window=3), MONDAY_9, 100.0)
    core.handle(c.CallNext(request_id="w4", window=4), MONDAY_9, 100.5)
    stepped = MONDAY_9 - dt.timedelta(hours=1)  # NTP steps the clock back
    again3 = core.handle(c.CallNext(request_id="w3b", window=3), stepped, 104.0)
    again4 = core.handle(c.CallNext(request_id="w4b", window=4), stepped, 104.5)
    assert "ignored" not in again3.reply and "ignored" not in again4.reply
    assert again3.reply["ticket"]["number"] == "B003"
    # Event time went on from the last event (mono 100.5) by the elapsed 3.5 s; never back.
    assert again3.events[-1].at == MONDAY_9 + dt.timedelta(seconds=3.5)
    # A press within the guard still counts as a double press.
    bounce = core.handle(c.CallNext(request_id="w3c", window=3), stepped, 105.0)
    assert bounce.reply.get("ignored") == "double_press"


def test_without_a_monotonic_reading_time_is_held_at_the_last_event() -> None:
    core = QueueCore(small_config())
    core.handle(c.IssueTicket(request_id="t", service_id="sb-card"), MONDAY_9)
    out = core.handle(c.IssueTicket(request_id="u", service_id="sb-card"),
                      MONDAY_9 - dt.timedelta(hours=1))
    assert out.events[-1].at == MONDAY_9


def test_a_restart_across_the_day_boundary_shows_the_new_day_without_any_request(
        tmp_path: Path) -> None:
    clock = FakeClock(MONDAY_9)
    live = LiveDispatcher(small_config(), tmp_path / "q.db", clock=clock).start()
    assert live.call("POST", "/tickets", {"request_id": "mon", "service_id": "sb-card"},
                     token=KIOSK)[0] == 201
    live.stop()
    clock.advance(20 * 3600)  # Tuesday 05:00, past the 04:00 day start
    live = LiveDispatcher(small_config(), tmp_path / "q.db", clock=clock).start()
    try:
        def state() -> dict[str, object]:
            body: dict[str, object] = live.call("GET", "/state", token=SCREEN)[1]
            return body

        wait_until(lambda: state()["date"] == "2026-12-01", timeout=5, what="rollover")
        assert state()["waiting"] == []
        monday = live.call("GET", "/tickets?date=2026-11-30", token=HALL)[1]["tickets"]
        assert [(t["number"], t["status"]) for t in monday] == [("B001", "cancelled")]
        started = time.monotonic()
        # The day starts once: a request right after does not roll it again.
        assert live.call("POST", "/tickets", {"request_id": "tue", "service_id": "sb-card"},
                         token=KIOSK)[1]["ticket"]["number"] == "B001"
        assert time.monotonic() - started < 2
    finally:
        live.stop()
