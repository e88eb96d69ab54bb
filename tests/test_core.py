"""The pure core: ticket lifecycle, caller verbs, idempotency, business days, replay."""

from __future__ import annotations

import copy
import datetime as dt

import pytest

from dispatcher.domain import commands as c
from dispatcher.domain import events as e
from dispatcher.domain.commands import CommandError
from dispatcher.domain.core import QueueCore, business_day
from dispatcher.domain.model import TicketStatus, WindowStatus

from .helpers import MONDAY_9, SHANGHAI, Desk, small_config


def test_numbers_are_prefix_plus_three_digits_counted_per_prefix() -> None:
    desk = Desk()
    numbers = [desk.issue(s)["number"] for s in
               ("yb-dabing", "sb-card", "yb-baoxiao", "yb-jilu", "sb-card")]
    assert numbers == ["A001", "B001", "A002", "A003", "B002"]


def test_issued_ticket_reply_has_ahead_and_estimated_wait() -> None:
    desk = Desk()
    desk.issue("sb-card")
    desk.issue("sb-card")
    reply = desk.run(c.IssueTicket(request_id="k-3", service_id="yb-baoxiao")).reply
    assert reply["ticket"]["status"] == "waiting"
    assert reply["ticket"]["issued_at"] == MONDAY_9.isoformat()
    assert reply["ahead"] == 2
    assert reply["est_wait_min"] == 5  # 2 × 10 min shared by 4 windows, rounded up


def test_issued_ticket_reply_names_the_windows_serving_it_now() -> None:
    desk = Desk()  # s4 at window 4 cannot do 住房
    reply = desk.run(c.IssueTicket(request_id="k-1", service_id="zf-lianzu")).reply
    assert reply["windows"] == [1, 2, 3]
    desk.run(c.Pause(request_id="p", window=3))
    desk.run(c.SignIn(request_id="s", window=4, staff_id="s3"))
    reply = desk.run(c.IssueTicket(request_id="k-2", service_id="zf-lianzu")).reply
    assert reply["windows"] == [1, 2, 4]  # window 3 paused, window 4 able now


def test_a_ticket_nobody_signed_in_can_serve_is_refused() -> None:
    desk = Desk()
    for n in (1, 2, 3):
        desk.run(c.SignIn(request_id=f"s{n}", window=n, staff_id="s4"))
    with pytest.raises(CommandError) as err:
        desk.run(c.IssueTicket(request_id="k", service_id="zf-lianzu"))
    assert err.value.code == "cannot_serve"


def test_call_next_finishes_current_and_calls_next() -> None:
    desk = Desk(small_config(rules=[]))
    desk.issue("sb-card")
    desk.issue("sb-card")
    assert desk.call(3) == "B001"
    assert desk.call(3) == "B002"
    tickets = desk.core.state.tickets
    assert tickets[f"{MONDAY_9.date()}-B001"].status is TicketStatus.DONE
    assert tickets[f"{MONDAY_9.date()}-B002"].status is TicketStatus.CALLED
    assert desk.call(3) is None
    assert desk.core.state.windows[3].current is None


def test_recall_announces_the_same_ticket_again() -> None:
    desk = Desk()
    desk.issue("sb-card")
    desk.call(3)
    reply = desk.run(c.Recall(request_id="rc", window=3)).reply
    assert reply["ticket"]["number"] == "B001"
    assert reply["ticket"]["calls"] == 2
    recent = desk.core.state.recent_calls
    assert [(x["number"], x["window"], x["recall"]) for x in recent] == [
        ("B001", 3, True), ("B001", 3, False)
    ]


def test_no_show_marks_the_current_ticket_absent_and_frees_the_window() -> None:
    desk = Desk()
    desk.issue("sb-card")
    desk.call(3)
    reply = desk.run(c.NoShow(request_id="ns", window=3)).reply
    assert reply["ticket"]["status"] == "no_show"
    assert desk.core.state.windows[3].current is None


def test_pause_finishes_current_and_a_paused_window_cannot_call() -> None:
    desk = Desk()
    desk.issue("sb-card")
    desk.issue("sb-card")
    desk.call(3)
    reply = desk.run(c.Pause(request_id="p", window=3)).reply
    assert reply["window"]["status"] == "paused"
    assert reply["window"]["current"] is None
    state_before = copy.deepcopy(desk.core.state)
    with pytest.raises(CommandError) as err:
        desk.call(3)
    assert err.value.code == "window_paused"
    with pytest.raises(CommandError) as err:
        desk.run(c.Pause(request_id="p2", window=3))
    assert err.value.code == "window_paused"
    assert desk.core.state == state_before
    desk.run(c.Resume(request_id="res", window=3))
    assert desk.call(3) == "B002"
    with pytest.raises(CommandError) as err:
        desk.run(c.Resume(request_id="res2", window=3))
    assert err.value.code == "window_not_paused"


def test_transfer_keeps_the_original_time_of_issue() -> None:
    desk = Desk(small_config(rules=["transferred"]))
    first = desk.issue("sb-card")
    desk.advance(minutes=5)
    desk.issue("yb-baoxiao")
    desk.call(3)  # B001
    reply = desk.run(c.Transfer(request_id="t", window=3, service_id="yb-baoxiao")).reply
    assert reply["ticket"]["status"] == "waiting"
    assert reply["ticket"]["service_id"] == "yb-baoxiao"
    assert reply["ticket"]["issued_at"] == first["issued_at"]
    assert reply["ticket"]["number"] == "B001"  # the resident keeps the paper in hand
    # Back in line at its place in time: before A001, issued five minutes later.
    assert desk.call(4) == "B001"


def test_transfer_to_a_window_reserves_the_ticket_for_that_window() -> None:
    desk = Desk(small_config(rules=["transferred"]))
    desk.issue("sb-card")
    desk.issue("sb-card")
    desk.call(3)  # B001
    desk.run(c.Transfer(request_id="t", window=3, to_window=2))
    assert desk.call(4) == "B002"  # B001 is older, but reserved for window 2
    assert desk.call(2) == "B001"


def test_a_ticket_reserved_for_a_paused_window_goes_to_others() -> None:
    desk = Desk(small_config(rules=["transferred"]))
    desk.issue("sb-card")
    desk.call(3)
    desk.run(c.Transfer(request_id="t", window=3, to_window=2))
    desk.run(c.Pause(request_id="p", window=2))
    assert desk.call(4) == "B001"


def test_transfer_refuses_a_window_whose_staff_cannot_serve() -> None:
    desk = Desk()
    desk.issue("zf-lianzu")
    desk.call(3)
    with pytest.raises(CommandError) as err:
        desk.run(c.Transfer(request_id="t", window=3, to_window=4))
    assert err.value.code == "cannot_serve"


def test_cancel_takes_a_waiting_ticket_out_of_line() -> None:
    desk = Desk()
    ticket = desk.issue("sb-card")
    reply = desk.run(c.CancelTicket(request_id="x", ticket_id=ticket["id"])).reply
    assert reply["ticket"]["status"] == "cancelled"
    assert desk.core.state.waiting == []
    with pytest.raises(CommandError) as err:
        desk.run(c.CancelTicket(request_id="x2", ticket_id=ticket["id"]))
    assert err.value.code == "ticket_not_waiting"


@pytest.mark.parametrize(
    ("command", "code"),
    [
        (c.IssueTicket(request_id="a", service_id="nope"), "unknown_service"),
        (c.IssueTicket(request_id="a", service_id="sb-card", appointment_code="123456"),
         "unknown_appointment"),
        (c.CallNext(request_id="a", window=99), "unknown_window"),
        (c.Recall(request_id="a", window=3), "no_current_ticket"),
        (c.NoShow(request_id="a", window=3), "no_current_ticket"),
        (c.Transfer(request_id="a", window=3, service_id="sb-card"), "no_current_ticket"),
        (c.Transfer(request_id="a", window=3), "bad_request"),
        (c.Transfer(request_id="a", window=3, to_window=3), "bad_request"),
        (c.Transfer(request_id="a", window=3, to_window=42), "unknown_window"),
        (c.Transfer(request_id="a", window=3, service_id="nope"), "unknown_service"),
        (c.CancelTicket(request_id="a", ticket_id="2026-11-30-Z999"), "unknown_ticket"),
        (c.SignIn(request_id="a", window=3, staff_id="ghost"), "unknown_staff"),
        (c.CallNext(request_id="", window=3), "bad_request"),
        (c.CallNext(request_id="x" * 200, window=3), "bad_request"),
    ],
)
def test_bad_commands_give_a_clear_error_and_change_nothing(
    command: c.Command, code: str
) -> None:
    desk = Desk()
    desk.issue("sb-card")
    before = copy.deepcopy(desk.core.state)
    with pytest.raises(CommandError) as err:
        desk.run(command)
    assert err.value.code == code
    assert err.value.message
    assert desk.core.state == before
    assert command.request_id not in desk.core.answers


def test_a_repeated_request_id_returns_the_first_answer_and_changes_nothing() -> None:
    desk = Desk()
    first = desk.run(c.IssueTicket(request_id="kiosk-1-77", service_id="sb-card"))
    desk.advance(minutes=1)
    again = desk.run(c.IssueTicket(request_id="kiosk-1-77", service_id="sb-card"))
    assert again.repeated and again.events == ()
    assert again.reply == first.reply
    assert len(desk.core.state.tickets) == 1
    desk.run(c.Pause(request_id="p", window=3))
    later = desk.run(c.IssueTicket(request_id="kiosk-1-77", service_id="sb-card"))
    assert later.reply["windows"] == first.reply["windows"] == [1, 2, 3, 4]  # the first answer


def test_a_request_id_reused_for_another_request_is_refused() -> None:
    desk = Desk()
    desk.run(c.IssueTicket(request_id="same", service_id="sb-card"))
    with pytest.raises(CommandError) as err:
        desk.run(c.IssueTicket(request_id="same", service_id="yb-jilu"))
    assert err.value.code == "request_id_reused"


def test_a_double_press_within_the_guard_interval_calls_nobody_new() -> None:
    desk = Desk()
    for _ in range(3):
        desk.issue("sb-card")
    assert desk.call(3) == "B001"
    desk.advance(seconds=1)  # the second press of a bouncing button, new request id
    second = desk.run(c.CallNext(request_id="bounce", window=3))
    assert second.events == ()
    assert second.reply["ticket"]["number"] == "B001"
    assert second.reply["ignored"] == "double_press"
    assert desk.core.state.windows[3].current == f"{MONDAY_9.date()}-B001"
    desk.advance(seconds=3)  # past the guard: a real second press
    assert desk.run(c.CallNext(request_id="next", window=3)).reply["ticket"]["number"] == "B002"


def test_numbering_restarts_on_a_new_business_day_and_old_tickets_expire() -> None:
    desk = Desk()
    desk.issue("sb-card")
    desk.issue("sb-card")
    desk.call(3)
    desk.run(c.Pause(request_id="p", window=4))
    desk.advance(minutes=24 * 60)
    outcome = desk.run(c.IssueTicket(request_id="tomorrow", service_id="sb-card"))
    kinds = [type(ev) for ev in outcome.events]
    assert kinds == [e.TicketExpired, e.TicketExpired, e.DayStarted, e.TicketIssued]
    assert outcome.reply["ticket"]["number"] == "B001"
    assert outcome.reply["ticket"]["id"] == "2026-12-01-B001"
    state = desk.core.state
    assert state.business_day == dt.date(2026, 12, 1)
    assert state.windows[3].current is None
    assert state.windows[4].status is WindowStatus.OPEN  # a new day opens every window


def test_business_day_starts_at_the_configured_hour_in_shanghai_time() -> None:
    config = small_config()
    assert business_day(config, dt.datetime(2026, 11, 30, 3, 59, tzinfo=SHANGHAI)) == \
        dt.date(2026, 11, 29)
    assert business_day(config, dt.datetime(2026, 11, 30, 4, 0, tzinfo=SHANGHAI)) == \
        dt.date(2026, 11, 30)
    # 20:30 UTC on the 29th is 04:30 on the 30th in Shanghai.
    assert business_day(config, dt.datetime(2026, 11, 29, 20, 30, tzinfo=dt.UTC)) == \
        dt.date(2026, 11, 30)


def test_a_clock_jumping_back_never_reissues_a_number() -> None:
    desk = Desk()
    desk.issue("sb-card")
    desk.advance(minutes=24 * 60)
    desk.issue("sb-card")  # 2026-12-01 B001
    desk.advance(minutes=-24 * 60 - 30)  # a Pi without battery clock boots a day behind
    late = desk.issue("sb-card")
    assert late["number"] == "B002"
    assert late["business_day"] == "2026-12-01"
    assert late["issued_at"] >= desk.core.state.tickets["2026-12-01-B001"].issued_at.isoformat()


def test_a_refused_command_on_a_new_day_leaves_no_trace() -> None:
    desk = Desk()
    desk.issue("sb-card")
    before = copy.deepcopy(desk.core.state)
    desk.advance(minutes=24 * 60)
    with pytest.raises(CommandError):
        desk.run(c.Recall(request_id="r", window=3))
    assert desk.core.state == before


def test_replaying_the_events_rebuilds_the_same_state() -> None:
    desk = Desk()
    for s in ("yb-dabing", "yb-jilu", "yb-dabing", "sb-card", "cl-lxk", "zf-lianzu"):
        desk.issue(s, sign_language=(s == "cl-lxk"))
    desk.call(1)
    desk.call(3)
    desk.run(c.Transfer(request_id="t", window=3, service_id="yb-baoxiao"))
    desk.call(2)
    desk.run(c.NoShow(request_id="n", window=2))
    desk.run(c.SetGreenChannel(request_id="g", mode="off"))
    rebuilt = QueueCore.replay(desk.config, desk.log)
    assert rebuilt.state == desk.core.state
    as_json = [e.event_from_dict(e.event_to_dict(ev)) for ev in desk.log]
    assert as_json == desk.log


def test_naive_times_are_a_programming_error() -> None:
    core = QueueCore(small_config())
    with pytest.raises(ValueError):
        core.handle(c.IssueTicket(request_id="a", service_id="sb-card"), dt.datetime(2026, 1, 1))


def test_sign_in_changes_who_the_window_calls_for() -> None:
    desk = Desk()
    desk.issue("zf-lianzu")
    assert desk.call(4) is None  # s4 cannot do 住房
    desk.run(c.SignIn(request_id="s", window=4, staff_id="s1"))
    assert desk.call(4) == "G001"


def test_a_press_made_as_a_staff_member_runs_only_while_they_sit_at_that_window() -> None:
    desk = Desk()
    desk.issue("sb-card")
    desk.issue("sb-card")
    with pytest.raises(CommandError) as err:  # s1 sits at window 1, not 2
        desk.run(c.CallNext(request_id="x", window=2, acting_staff="s1"))
    assert err.value.code == "forbidden"
    assert desk.run(c.CallNext(request_id="y", window=1, acting_staff="s1")).reply["ticket"]
    # A manager signs s1 out meanwhile: s1's next press, already on its way, is refused.
    desk.run(c.SignIn(request_id="out", window=1, staff_id=None))
    desk.advance(seconds=10)
    with pytest.raises(CommandError):
        desk.run(c.CallNext(request_id="z", window=1, acting_staff="s1"))
    with pytest.raises(CommandError):
        desk.run(c.SignIn(request_id="o2", window=1, staff_id=None, acting_staff="s1"))
    assert len(desk.core.state.waiting) == 1
