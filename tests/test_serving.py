"""Which windows serve a business now: who is signed in, which windows are open, the rules."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from dispatcher.domain import commands as c
from dispatcher.domain.core import QueueCore
from dispatcher.domain.policy import choose_next
from dispatcher.domain.serving import roster, serving_windows, windows_by_service
from qms.config import load_config

from .helpers import SHANGHAI, Desk, small_config

EXAMPLE = load_config(Path(__file__).resolve().parent.parent / "examples" / "center.toml")
DIBAO = "minzheng-dibao"  # 民政 最低生活保障申请; s08 (window 8) cannot do 民政
AFTERNOON = dt.datetime(2026, 11, 30, 14, 0, tzinfo=SHANGHAI)  # no green channel


def test_a_window_whose_staff_cannot_do_the_business_is_not_listed() -> None:
    desk = Desk(EXAMPLE)
    assert serving_windows(EXAMPLE, desk.core.state, DIBAO) == (1, 2, 3, 4, 5, 6, 7)
    desk.run(c.SignIn(request_id="in", window=1, staff_id="s08"))
    assert serving_windows(EXAMPLE, desk.core.state, DIBAO) == (2, 3, 4, 5, 6, 7)


def test_the_window_comes_back_when_able_staff_signs_in_or_the_limit_signs_out() -> None:
    desk = Desk(EXAMPLE)
    desk.run(c.SignIn(request_id="in", window=1, staff_id="s08"))
    desk.run(c.SignIn(request_id="able", window=1, staff_id="s03"))
    assert serving_windows(EXAMPLE, desk.core.state, DIBAO) == (1, 2, 3, 4, 5, 6, 7)
    desk.run(c.SignIn(request_id="out", window=8, staff_id=None))  # nobody limits window 8
    assert serving_windows(EXAMPLE, desk.core.state, DIBAO) == (1, 2, 3, 4, 5, 6, 7, 8)


def test_low_skill_counts_as_serving() -> None:
    desk = Desk()  # s4 at window 4: 残联 "low", 住房 "cannot"
    assert serving_windows(desk.config, desk.core.state, "cl-lxk") == (1, 2, 3, 4)
    assert serving_windows(desk.config, desk.core.state, "zf-lianzu") == (1, 2, 3)


def test_paused_windows_are_left_out_while_a_capable_window_is_open() -> None:
    desk = Desk()
    desk.run(c.Pause(request_id="p1", window=1))
    desk.run(c.Pause(request_id="p3", window=3))
    assert serving_windows(desk.config, desk.core.state, "zf-lianzu") == (2,)
    assert serving_windows(desk.config, desk.core.state, "sb-card") == (2, 4)


def test_when_every_capable_window_is_paused_all_of_them_are_listed() -> None:
    desk = Desk()
    for n in (1, 2, 3):
        desk.run(c.Pause(request_id=f"p{n}", window=n))
    assert serving_windows(desk.config, desk.core.state, "zf-lianzu") == (1, 2, 3)


def test_without_the_skills_rule_every_window_serves_everything() -> None:
    config = small_config(rules=["transferred", "starvation"])
    desk = Desk(config)
    assert serving_windows(config, desk.core.state, "zf-lianzu") == (1, 2, 3, 4)


def test_no_window_at_all_is_an_empty_list() -> None:
    desk = Desk(EXAMPLE)
    for n in range(1, 9):
        desk.run(c.SignIn(request_id=f"s{n}", window=n, staff_id="s08"))
    assert serving_windows(EXAMPLE, desk.core.state, DIBAO) == ()


def test_many_businesses_at_once_give_the_same_lists() -> None:
    desk = Desk(EXAMPLE)
    desk.run(c.SignIn(request_id="in", window=1, staff_id="s08"))
    desk.run(c.Pause(request_id="p", window=3))
    state = desk.core.state
    many = windows_by_service(EXAMPLE, state, EXAMPLE.services)
    assert many == {sid: serving_windows(EXAMPLE, state, sid) for sid in EXAMPLE.services}


def test_the_roster_changes_exactly_when_the_lists_may_change() -> None:
    desk = Desk()
    before = roster(desk.core.state)
    desk.issue("sb-card")
    desk.call(3)
    assert roster(desk.core.state) == before  # tickets move, the windows' lists cannot
    desk.run(c.SignIn(request_id="in", window=3, staff_id="s4"))
    after_sign_in = roster(desk.core.state)
    assert after_sign_in != before
    desk.run(c.Pause(request_id="p", window=3))
    assert roster(desk.core.state) != after_sign_in


STAFF = st.sampled_from([None, "s1", "s2", "s3", "s4"])
CONFIG = small_config()


@settings(max_examples=150, deadline=None)
@given(staff=st.lists(STAFF, min_size=4, max_size=4),
       paused=st.sets(st.integers(1, 4), max_size=3),
       service=st.sampled_from(sorted(CONFIG.services)))
def test_a_lone_ticket_is_called_at_exactly_the_open_windows_listed(
    staff: list[str | None], paused: set[int], service: str
) -> None:
    core = QueueCore(CONFIG)
    core.handle(c.SignIn(request_id="boot", window=1, staff_id=staff[0]), AFTERNOON)
    for n, who in enumerate(staff[1:], start=2):
        core.handle(c.SignIn(request_id=f"in{n}", window=n, staff_id=who), AFTERNOON)
    for n in paused:
        core.handle(c.Pause(request_id=f"p{n}", window=n), AFTERNOON)
    listed = serving_windows(CONFIG, core.state, service)
    if not listed:
        return  # the core refuses the ticket: nobody could serve it
    reply = core.handle(c.IssueTicket(request_id="t", service_id=service), AFTERNOON).reply
    assert reply["windows"] == list(listed)
    callers = {n for n in range(1, 5) if n not in paused
               and choose_next(CONFIG, core.state, n, AFTERNOON) is not None}
    if any(n not in paused for n in listed):
        assert callers == set(listed)
    else:  # every capable window paused: the listed ones call it once they resume
        assert callers == set()
