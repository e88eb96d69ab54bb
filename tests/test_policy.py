"""The calling policy: one test per rule, with the boundaries that matter."""

from __future__ import annotations

import datetime as dt

from dispatcher.domain import commands as c
from dispatcher.domain import events as e

from .helpers import SHANGHAI, Desk, small_config

# In the small center windows 1 and 2 are green; 3 and 4 are ordinary.
# Short high-frequency: yb-dabing (A), yb-jilu (A). Others: sb-card (B), yb-baoxiao (A).


def diversion_events(desk: Desk) -> list[bool]:
    return [ev.on for ev in desk.log if isinstance(ev, e.DiversionChanged)]


def test_plain_order_when_short_waiting_equals_threshold_from_below() -> None:
    desk = Desk()
    desk.issue("sb-card")  # B001, oldest
    desk.issue("yb-dabing")  # A001
    desk.issue("yb-jilu")  # A002: two short waiting == threshold: mode stays off
    assert not desk.core.state.diversion_on
    assert desk.call(1) == "B001"  # green window, plain order


def test_green_windows_call_short_first_above_threshold_oldest_first() -> None:
    desk = Desk()
    desk.issue("sb-card")  # B001
    desk.issue("sb-card")  # B002
    for s in ("yb-dabing", "yb-jilu", "yb-dabing"):  # 3 short > 2
        desk.issue(s)
    assert desk.core.state.diversion_on
    assert desk.call(1) == "A001"
    assert desk.call(3) == "B001"  # ordinary windows keep plain order
    assert desk.call(2) == "A002"  # 1 short left waiting (< 2): mode goes off…
    assert not desk.core.state.diversion_on
    assert desk.call(1) == "B002"  # …and green windows are back to plain order


def test_at_threshold_from_above_the_diversion_holds() -> None:
    desk = Desk()
    desk.issue("sb-card")  # B001
    for s in ("yb-dabing", "yb-jilu", "yb-dabing", "yb-jilu"):  # 4 short
        desk.issue(s)
    assert desk.call(1) == "A001"  # 3 left: on
    assert desk.call(1) == "A002"  # 2 left == threshold: holds on
    assert desk.core.state.diversion_on
    assert desk.call(2) == "A003"  # 1 left: off
    assert desk.call(2) == "B001"
    assert diversion_events(desk) == [True, False]


def test_ordinary_windows_call_short_business_in_plain_order_too() -> None:
    desk = Desk()
    desk.issue("yb-dabing")
    desk.issue("sb-card")
    assert desk.call(3) == "A001"


def test_threshold_zero_diverts_from_the_first_short_ticket() -> None:
    desk = Desk(small_config(short_threshold=0))
    desk.issue("sb-card")
    desk.issue("yb-dabing")
    assert desk.call(1) == "A001"


def test_green_channel_concentrates_its_business_at_green_windows() -> None:
    desk = Desk()  # Monday 09:00: inside the schedule
    desk.issue("cl-lxk", sign_language=True)  # E001
    desk.issue("sb-card")  # B001
    assert desk.call(3) == "B001"  # an ordinary window leaves E001 to the green windows
    desk.issue("sb-card")  # B002
    assert desk.call(1) == "E001"


def test_green_channel_ticket_goes_anywhere_once_past_its_limit() -> None:
    desk = Desk()
    desk.issue("cl-lxk")  # E001
    desk.issue("sb-card")  # B001
    desk.advance(minutes=19, seconds=54)
    assert desk.call(3) == "B001"  # E001 has waited 19:59: still left to the green windows
    desk.issue("sb-card")  # B002
    assert desk.call(3) == "E001"  # 20:04 waited: the oldest, and now any window's


def test_green_channel_ticket_taken_by_ordinary_window_when_no_green_window_is_open() -> None:
    desk = Desk()
    desk.run(c.Pause(request_id="p1", window=1))
    desk.run(c.Pause(request_id="p2", window=2))
    desk.issue("cl-lxk")
    assert desk.call(3) == "E001"


def test_green_channel_outside_its_schedule_is_plain_order() -> None:
    desk = Desk(now=dt.datetime(2026, 11, 30, 14, 0, tzinfo=SHANGHAI))
    desk.issue("cl-lxk")
    assert desk.call(3) == "E001"


def test_green_channel_manual_switch_overrides_the_schedule() -> None:
    desk = Desk(now=dt.datetime(2026, 11, 30, 14, 0, tzinfo=SHANGHAI))
    reply = desk.run(c.SetGreenChannel(request_id="g", mode="on")).reply
    assert reply["green_channel"] == {"mode": "on", "active": True}
    desk.issue("cl-lxk")
    desk.issue("sb-card")
    assert desk.call(3) == "B001"
    desk.run(c.SetGreenChannel(request_id="g2", mode="off"))
    assert desk.call(3) == "E001"


def test_skills_cannot_is_never_called() -> None:
    desk = Desk()
    desk.issue("zf-lianzu")
    assert desk.call(4) is None
    assert desk.call(3) == "G001"


def test_skills_low_only_when_nothing_else_waits() -> None:
    desk = Desk(now=dt.datetime(2026, 11, 30, 14, 0, tzinfo=SHANGHAI))  # no green channel
    desk.issue("cl-lxk")  # E001, s4 'low'
    desk.issue("sb-card")  # B001
    assert desk.call(4) == "B001"
    assert desk.call(4) == "E001"  # nothing else waits now


def test_skills_preferred_business_first() -> None:
    desk = Desk()
    desk.issue("sb-card")  # B001 older
    desk.issue("zf-lianzu")  # G001, s3 prefers 住房
    assert desk.call(3) == "G001"
    desk2 = Desk(small_config(rules=[]))
    desk2.issue("sb-card")
    desk2.issue("zf-lianzu")
    assert desk2.call(3) == "B001"  # without the rule: plain order


def test_starvation_goes_first_at_any_capable_window() -> None:
    desk = Desk()
    desk.issue("sb-card")  # B001, will starve
    desk.advance(minutes=61)
    for s in ("yb-dabing", "yb-jilu", "yb-dabing"):
        desk.issue(s)
    assert desk.core.state.diversion_on
    assert desk.call(1) == "B001"  # starving beats the short diversion at a green window


def test_starvation_boundary_is_inclusive() -> None:
    desk = Desk()
    desk.issue("sb-card")  # B001
    desk.advance(minutes=59, seconds=55)
    desk.issue("zf-lianzu")  # G001, preferred by s3
    assert desk.call(3) == "B001"  # exactly 60:00 waited
    desk2 = Desk()
    desk2.issue("sb-card")
    desk2.advance(minutes=59, seconds=54)
    desk2.issue("zf-lianzu")
    assert desk2.call(3) == "G001"  # 59:59 waited: preference wins


def test_transferred_ticket_first_at_its_window() -> None:
    desk = Desk()
    desk.issue("sb-card")  # B001
    desk.issue("sb-card")  # B002
    desk.issue("sb-card")  # B003
    desk.call(3)  # B001
    desk.advance(minutes=1)
    desk.call(4)  # B002
    desk.run(c.Transfer(request_id="t", window=4, to_window=3))
    assert desk.call(3) == "B002"


def test_rule_order_is_configuration() -> None:
    rules = ["short_high_freq", "starvation"]
    desk = Desk(small_config(rules=rules))
    desk.issue("sb-card")
    desk.advance(minutes=61)
    for s in ("yb-dabing", "yb-jilu", "yb-dabing"):
        desk.issue(s)
    assert desk.call(1) == "A001"  # diversion listed before starvation now


def test_without_rules_every_window_calls_in_plain_order() -> None:
    desk = Desk(small_config(rules=[]))
    for s in ("cl-lxk", "sb-card", "yb-dabing", "yb-jilu", "yb-dabing", "zf-lianzu"):
        desk.issue(s)
    called = [desk.call(w) for w in (1, 4, 2, 3, 1, 4)]
    assert called == ["E001", "B001", "A001", "A002", "A003", "G001"]
    assert not any(isinstance(ev, e.DiversionChanged) for ev in desk.log)


def test_the_rule_that_chose_is_reported() -> None:
    desk = Desk()
    desk.issue("cl-lxk")
    reply = desk.run(c.CallNext(request_id="x", window=1)).reply
    assert reply["rule"] == "green_channel"


def test_short_business_goes_to_ordinary_windows_while_green_windows_are_paused() -> None:
    desk = Desk()
    desk.run(c.Pause(request_id="p1", window=1))
    desk.run(c.Pause(request_id="p2", window=2))
    desk.issue("sb-card")
    for s in ("yb-dabing", "yb-jilu", "yb-dabing"):
        desk.issue(s)
    assert desk.core.state.diversion_on  # the count goes on, whoever is open
    assert [desk.call(3), desk.call(4)] == ["B001", "A001"]
