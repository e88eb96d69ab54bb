"""The kiosk flow state machine: every transition, timeouts and fault paths, without pygame."""

from __future__ import annotations

import datetime as dt
from typing import Any

from kiosk.flow import (
    Abandon,
    CancelTicket,
    DispatcherLink,
    Event,
    FlowSettings,
    Issue,
    Issued,
    IssueFailed,
    KioskFlow,
    KioskState,
    Print,
    Printed,
    PrinterState,
    ReportPrint,
    Screen,
    Tap,
    Tick,
)

from .helpers import MONDAY_9

REPLY: dict[str, Any] = {"ticket": {"id": "2026-11-30-A001", "number": "A001"}, "ahead": 2,
                         "est_wait_min": 5}


class Kiosk:
    def __init__(self, **settings: Any) -> None:
        self.flow = KioskFlow(FlowSettings(prefix="k1-x", **settings))
        self.now = MONDAY_9
        self.state, _ = self.flow.handle(KioskState(), DispatcherLink(True), self.now)
        self.effects: list[Any] = []

    def send(self, event: Event, after_s: float = 0) -> list[Any]:
        self.now += dt.timedelta(seconds=after_s)
        self.state, effects = self.flow.handle(self.state, event, self.now)
        self.effects.extend(effects)
        return effects

    def tap(self, *targets: str) -> None:
        for t in targets:
            self.send(Tap(t), after_s=1)

    @property
    def screen(self) -> Screen:
        return self.state.screen


def to_printing(k: Kiosk) -> str:
    k.tap("dept:yibao", "service:yibao-dabing")
    effects = k.send(Tap("take"))
    assert effects == [Issue(f"k1-x-{k.state.issued}", "yibao-dabing", False)]
    return str(effects[0].request_id)


def test_home_to_department_to_service_and_back() -> None:
    k = Kiosk()
    assert k.screen is Screen.HOME
    k.tap("dept:yibao")
    assert (k.screen, k.state.department, k.state.page) == (Screen.DEPARTMENT, "yibao", 0)
    k.tap("page:2")
    assert k.state.page == 2
    k.tap("service:yibao-dabing")
    assert (k.screen, k.state.service) == (Screen.SERVICE, "yibao-dabing")
    k.tap("back")
    assert (k.screen, k.state.page) == (Screen.DEPARTMENT, 2)
    k.tap("back")
    assert k.screen is Screen.HOME


def test_taking_a_number_prints_then_shows_it() -> None:
    k = Kiosk()
    rid = to_printing(k)
    assert k.screen is Screen.PRINTING
    assert k.send(Issued(rid, REPLY)) == [Print(REPLY, "zh")]
    assert k.send(Printed("2026-11-30-A001", True)) == [ReportPrint("2026-11-30-A001", True)]
    assert (k.screen, k.state.printed) == (Screen.DONE, True)
    k.tap("done")
    assert k.screen is Screen.HOME and k.state.ticket is None


def test_a_double_tap_on_take_issues_one_ticket() -> None:
    k = Kiosk()
    to_printing(k)
    assert k.send(Tap("take"), after_s=0.05) == []
    assert k.send(Tap("take"), after_s=0.05) == []
    assert sum(isinstance(e, Issue) for e in k.effects) == 1


def test_each_ticket_gets_a_new_request_id() -> None:
    k = Kiosk()
    rid = to_printing(k)
    k.send(Issued(rid, REPLY))
    k.send(Printed("2026-11-30-A001", True))
    k.tap("done", "dept:yibao", "service:yibao-dabing")
    assert k.send(Tap("take")) == [Issue("k1-x-2", "yibao-dabing", False)]


def test_sign_language_and_english_ride_along_and_reset_for_the_next_resident() -> None:
    k = Kiosk()
    k.tap("sign", "lang", "dept:canlian", "service:canlian-longxinka")
    assert k.send(Tap("take")) == [Issue("k1-x-1", "canlian-longxinka", True)]
    assert k.send(Issued("k1-x-1", REPLY)) == [Print(REPLY, "en")]
    k.send(Printed("2026-11-30-A001", True))
    k.tap("done")
    assert (k.state.sign_language, k.state.lang) == (False, "zh")


def test_printing_failure_shows_the_number_and_reports_it_unprinted() -> None:
    k = Kiosk()
    rid = to_printing(k)
    k.send(Issued(rid, REPLY))
    effects = k.send(Printed("2026-11-30-A001", False, "paper_out"))
    assert effects == [ReportPrint("2026-11-30-A001", False, "paper_out")]
    assert (k.screen, k.state.printed, k.state.print_error) == (Screen.DONE, False, "paper_out")
    assert k.state.ticket == REPLY  # the number stays on screen


def test_a_printer_that_never_answers_times_out_to_the_screen() -> None:
    k = Kiosk(print_timeout_s=10)
    rid = to_printing(k)
    k.send(Issued(rid, REPLY))
    assert k.send(Tick(), after_s=9) == []
    assert k.send(Tick(), after_s=2) == [ReportPrint("2026-11-30-A001", False, "printer timeout")]
    assert k.screen is Screen.DONE and k.state.printed is False


def test_an_unreachable_dispatcher_pauses_ticketing_and_no_ticket_is_issued() -> None:
    k = Kiosk()
    k.tap("dept:yibao")
    k.send(DispatcherLink(False))
    assert (k.screen, k.state.pause_reason) == (Screen.PAUSED, "dispatcher")
    k.tap("dept:yibao", "take")
    assert k.screen is Screen.PAUSED and not any(isinstance(e, Issue) for e in k.effects)
    k.send(DispatcherLink(True))
    assert k.screen is Screen.HOME


def test_taking_a_number_while_the_link_is_down_pauses_instead() -> None:
    k = Kiosk()
    k.tap("dept:yibao", "service:yibao-dabing")
    k.state = k.state.__class__(**{**k.state.__dict__, "dispatcher_up": False})
    assert k.send(Tap("take")) == []
    assert k.screen is Screen.PAUSED


def test_an_unanswered_request_is_confirmed_not_denied_and_a_refusal_says_why() -> None:
    k = Kiosk()
    rid = to_printing(k)
    # The link failed: the ticket may exist, so the resident is not told "no ticket".
    k.send(IssueFailed(rid, unreachable=True))
    assert (k.screen, k.state.message) == (Screen.PRINTING, "confirming")
    k.send(Tick(), after_s=29)
    assert k.screen is Screen.PRINTING
    effects = k.send(Tick(), after_s=2)  # past confirm_timeout_s (30): given up, abandoned
    assert effects == [Abandon(rid)]
    assert (k.screen, k.state.pause_reason, k.state.message) == (
        Screen.PAUSED, "dispatcher", "not_issued")
    k.send(Tick(), after_s=20)  # the notice stays for done_timeout_s, then home
    assert k.screen is Screen.HOME
    rid = to_printing(k)
    k.send(IssueFailed(rid, unreachable=False, message="no window can serve it"))
    assert k.screen is Screen.SERVICE
    assert k.state.message == "refused:no window can serve it"


def test_an_answer_while_confirming_prints_the_number() -> None:
    k = Kiosk()
    rid = to_printing(k)
    k.send(IssueFailed(rid, unreachable=True))
    assert k.send(Issued(rid, REPLY), after_s=12) == [Print(REPLY, "zh")]
    assert k.send(Issued(rid, REPLY)) == []  # the same answer again is not used twice


def test_a_late_answer_for_an_abandoned_request_cancels_its_ticket() -> None:
    k = Kiosk()
    rid = to_printing(k)
    k.send(IssueFailed(rid, unreachable=True))
    k.send(Tick(), after_s=31)
    k.send(DispatcherLink(True))
    before = k.state
    assert k.send(Issued(rid, REPLY)) == [CancelTicket("2026-11-30-A001", rid)]
    assert k.state == before  # the next resident's screen is not disturbed


def test_printer_not_ready_pauses_before_a_ticket_is_taken() -> None:
    k = Kiosk()
    k.send(PrinterState(False, "paper_out"))
    assert (k.screen, k.state.pause_reason) == (Screen.PAUSED, "printer")
    k.send(PrinterState(True, "ok"))
    assert k.screen is Screen.HOME


def test_printer_not_ready_can_issue_and_show_the_number_instead() -> None:
    k = Kiosk(issue_on_printer_fault=True)
    k.send(PrinterState(False, "cover_open"))
    assert k.screen is Screen.HOME
    rid = to_printing(k)
    effects = k.send(Issued(rid, REPLY))
    assert effects == [ReportPrint("2026-11-30-A001", False, "printer cover_open")]
    assert (k.screen, k.state.printed) == (Screen.DONE, False)


def test_the_done_screen_returns_home_after_its_timeout() -> None:
    k = Kiosk(done_timeout_s=20)
    rid = to_printing(k)
    k.send(Issued(rid, REPLY))
    k.send(Printed("2026-11-30-A001", True))
    k.send(Tick(), after_s=19)
    assert k.screen is Screen.DONE
    k.send(Tick(), after_s=1)
    assert k.screen is Screen.HOME


def test_the_done_screen_stays_while_the_link_drops() -> None:
    k = Kiosk()
    rid = to_printing(k)
    k.send(Issued(rid, REPLY))
    k.send(Printed("2026-11-30-A001", True))
    k.send(DispatcherLink(False))
    assert k.screen is Screen.DONE  # the resident still needs to see their number


def test_any_screen_returns_home_after_idling() -> None:
    for path in (["dept:yibao"], ["dept:yibao", "service:yibao-dabing"], ["checkin", "key:1"]):
        k = Kiosk(idle_timeout_s=45)
        k.tap(*path)
        k.send(Tick(), after_s=44)
        assert k.screen is not Screen.HOME
        k.send(Tick(), after_s=1)
        assert k.screen is Screen.HOME, path


def test_home_forgets_a_toggled_language_after_idling() -> None:
    k = Kiosk(idle_timeout_s=45)
    k.tap("lang", "sign")
    k.send(Tick(), after_s=46)
    assert (k.state.lang, k.state.sign_language) == ("zh", False)


def test_checkin_keypad_and_unknown_codes() -> None:
    k = Kiosk(code_length=6)
    k.tap("checkin")
    assert k.screen is Screen.CHECKIN
    k.tap("key:ok")
    assert k.state.message is None  # nothing typed yet
    k.tap(*[f"key:{d}" for d in "1234567"])
    assert k.state.code == "123456"  # no more than the code length
    k.tap("key:del")
    assert k.state.code == "12345"
    effects = k.send(Tap("key:ok"))  # the dispatcher knows the bookings: it is asked
    assert effects == [Issue("k1-x-1", "", False, appointment_code="12345")]
    assert k.screen is Screen.PRINTING
    k.send(IssueFailed("k1-x-1", unreachable=False, message="no appointment",
                       code="unknown_appointment"))
    assert (k.screen, k.state.code, k.state.message) == (Screen.CHECKIN, "12345",
                                                         "unknown_code")
    k.tap("key:9")
    assert k.state.message is None
    k.tap("back")
    assert k.screen is Screen.HOME and k.state.code == ""


def test_language_can_be_switched_anywhere_even_when_paused() -> None:
    k = Kiosk()
    k.send(DispatcherLink(False))
    k.tap("lang")
    assert k.state.lang == "en" and k.screen is Screen.PAUSED


def test_home_button_from_anywhere_but_printing() -> None:
    k = Kiosk()
    k.tap("dept:yibao", "service:yibao-dabing", "home")
    assert k.screen is Screen.HOME
    to_printing(k)
    k.tap("home")
    assert k.screen is Screen.PRINTING


def test_a_check_in_prints_its_ticket_or_says_when_check_in_opens() -> None:
    k = Kiosk(code_length=6)
    k.tap("checkin", *[f"key:{d}" for d in "202611"])
    effects = k.send(Tap("key:ok"))
    rid = effects[0].request_id
    k.send(IssueFailed(rid, unreachable=False, code="appointment_too_early",
                       message="09:00 起可签到 / check-in opens at 09:00"))
    assert k.screen is Screen.CHECKIN
    assert k.state.message == "checkin:09:00 起可签到 / check-in opens at 09:00"
    effects = k.send(Tap("key:ok"), after_s=1800)  # half an hour later: in the window
    rid = effects[0].request_id
    assert k.send(Issued(rid, REPLY)) == [Print(REPLY, "zh")]


def test_a_late_arrival_gets_an_ordinary_number_for_the_booked_business_with_one_tap() -> None:
    k = Kiosk(code_length=6)
    k.tap("checkin", *[f"key:{d}" for d in "113001"])
    rid = k.send(Tap("key:ok"))[0].request_id
    k.send(IssueFailed(rid, unreachable=False, code="appointment_too_late",
                       message="签到已于 09:30 截止 / check-in closed at 09:30",
                       service_id="yibao-dabing"))
    assert k.screen is Screen.CHECKIN and k.state.service == "yibao-dabing"
    effects = k.send(Tap("walk_in"))
    assert len(effects) == 1 and isinstance(effects[0], Issue)
    assert (effects[0].service_id, effects[0].appointment_code) == ("yibao-dabing", None)
    assert k.screen is Screen.PRINTING and k.state.code == ""


def test_the_walk_in_offer_goes_once_the_resident_types_again_and_is_never_made_unasked() -> None:
    k = Kiosk(code_length=6)
    k.tap("checkin", *[f"key:{d}" for d in "113001"])
    rid = k.send(Tap("key:ok"))[0].request_id
    k.send(IssueFailed(rid, unreachable=False, code="appointment_too_late",
                       message="too late", service_id="yibao-dabing"))
    k.tap("key:del")
    assert k.state.service is None and k.send(Tap("walk_in")) == []
    k.tap("key:1")
    rid = k.send(Tap("key:ok"))[0].request_id
    k.send(IssueFailed(rid, unreachable=False, code="appointment_not_today", message="tomorrow"))
    assert k.state.service is None and k.send(Tap("walk_in")) == []  # another day: no offer
