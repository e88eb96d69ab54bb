"""The kiosk app headless: finger taps in, a real dispatcher on loopback, the fake printer."""

from __future__ import annotations

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pygame
import pytest

from base.fonts import find_font
from dispatcher.client import DispatcherLink
from kiosk.app import KioskApp
from kiosk.autopilot import Autopilot
from kiosk.flow import Screen
from kiosk.ticket import ticket_data
from printer.fake import FakePrinter
from printer.worker import PrinterWorker
from qms.config import QmsConfig, load_config

from .escpos_walker import walk
from .helpers import ADMIN, KIOSK, MONDAY_9, SCREEN, small_config
from .live import LiveDispatcher

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "center.toml"

FONT = find_font()
pytestmark = pytest.mark.skipif(FONT is None, reason="no CJK font: ./bootstrap.sh installs it")


class Harness:
    def __init__(self, tmp: Path, size: tuple[int, int] = (800, 480),
                 config: QmsConfig | None = None, token: str = KIOSK,
                 **app_options: Any) -> None:
        self.config = config or small_config()
        self.live = LiveDispatcher(self.config, tmp / "qms.db").start()
        self.fake = FakePrinter(tmp / "printer")
        self.printer = PrinterWorker(lambda: self.fake, poll_s=0.05, backoff_base_s=0.05,
                                     backoff_cap_s=0.2).start()
        self.link = DispatcherLink(self.live.url, token, retry_for=2.0).start()
        assert FONT is not None
        self.app = KioskApp(self.config, self.config.kiosk, self.config.printer, self.link,
                            self.printer, FONT, size=size,
                            prefix="kiosk-1-test", **app_options)
        self.app.open()

    def close(self) -> None:
        self.app.close()
        self.link.stop()
        self.printer.stop()
        self.live.stop()

    def run_until(self, check: Callable[[], bool], timeout: float = 8.0) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            assert time.monotonic() < deadline, f"timed out on screen {self.app.state.screen}"
            self.app.step(wait_ms=20)

    def center_of(self, target: str) -> tuple[float, float]:
        w, h = self.app.screen.get_size() if self.app.screen else (800, 480)
        item = next(i for i in self.app.items if i.target == target)
        x, y, iw, ih = item.rect
        return (x + iw / 2) / w, (y + ih / 2) / h

    def finger(self, target: str, up: bool = True) -> None:
        fx, fy = self.center_of(target)
        common = {"touch_id": 1, "finger_id": 1, "x": fx, "y": fy, "dx": 0.0, "dy": 0.0,
                  "pressure": 1.0}
        pygame.event.post(pygame.event.Event(pygame.FINGERDOWN, common))
        if up:
            pygame.event.post(pygame.event.Event(pygame.FINGERUP, common))

    def tap(self, target: str) -> None:
        self.finger(target)
        self.app.step(wait_ms=0)

    def texts(self) -> list[str]:
        return [i.text for i in self.app.items if i.text]

    def state(self) -> dict[str, object]:
        state: dict[str, object] = self.live.call("GET", "/state", token=SCREEN)[1]
        return state


def started(h: Harness) -> Harness:
    h.run_until(lambda: h.app.state.dispatcher_up and h.app.state.screen is Screen.HOME)
    return h


@pytest.fixture
def kiosk(tmp_path: Path) -> Iterator[Harness]:
    h = started(Harness(tmp_path))
    yield h
    h.close()


def take_number(k: Harness) -> None:
    k.tap("dept:yb")
    assert k.app.state.screen is Screen.DEPARTMENT
    k.tap("service:yb-dabing")
    assert k.app.state.screen is Screen.SERVICE
    k.tap("take")


def test_a_resident_takes_a_number_by_touch(kiosk: Harness) -> None:
    take_number(kiosk)
    kiosk.run_until(lambda: kiosk.app.state.screen is Screen.DONE)
    assert kiosk.app.state.printed is True
    assert "A001" in kiosk.texts()  # the number, large on screen
    assert len(kiosk.fake.jobs) == 1
    lines = [line.text for line in walk(kiosk.fake.jobs[0], "gb18030").lines]
    assert "A001" in lines and "医保大病登记" in lines
    kiosk.run_until(lambda: kiosk.live.call("GET", "/tickets?print_status=printed",
                                            token=SCREEN)[1]["tickets"] != [])
    waiting = kiosk.state()["waiting"]
    assert isinstance(waiting, list) and [t["number"] for t in waiting] == ["A001"]


def test_a_double_tap_on_take_issues_one_ticket(kiosk: Harness) -> None:
    kiosk.tap("dept:yb")
    kiosk.tap("service:yb-dabing")
    kiosk.finger("take")
    kiosk.finger("take")  # the second tap of an impatient finger, before the loop runs
    kiosk.app.step(wait_ms=0)
    kiosk.run_until(lambda: kiosk.app.state.screen is Screen.DONE)
    for _ in range(5):
        kiosk.app.step(wait_ms=20)
    tickets = kiosk.live.call("GET", "/tickets", token=SCREEN)[1]["tickets"]
    assert [t["number"] for t in tickets] == ["A001"]
    assert len(kiosk.fake.jobs) == 1


def test_the_mouse_copy_of_a_touch_is_ignored(kiosk: Harness) -> None:
    fx, fy = kiosk.center_of("dept:yb")
    w, h = 800, 480
    pos = (int(fx * w), int(fy * h))
    for kind in (pygame.MOUSEBUTTONDOWN, pygame.MOUSEBUTTONUP):
        pygame.event.post(pygame.event.Event(kind, {"pos": pos, "button": 1, "touch": True}))
    kiosk.app.step(wait_ms=0)
    assert kiosk.app.state.screen is Screen.HOME
    for kind in (pygame.MOUSEBUTTONDOWN, pygame.MOUSEBUTTONUP):  # a real mouse click works
        pygame.event.post(pygame.event.Event(kind, {"pos": pos, "button": 1, "touch": False}))
    kiosk.app.step(wait_ms=0)
    assert kiosk.app.state.screen is Screen.DEPARTMENT


def test_a_finger_down_shows_feedback_at_once(kiosk: Harness) -> None:
    frames = kiosk.app.frames
    kiosk.finger("dept:yb", up=False)
    started = time.perf_counter()
    kiosk.app.step(wait_ms=0)
    assert kiosk.app.pressed == "dept:yb" and kiosk.app.frames == frames + 1
    assert time.perf_counter() - started < 0.1


def test_an_idle_kiosk_does_not_redraw(kiosk: Harness) -> None:
    kiosk.app.step(wait_ms=20)
    frames = kiosk.app.frames
    for _ in range(10):
        kiosk.app.step(wait_ms=20)
    assert kiosk.app.frames == frames


def test_dispatcher_gone_pauses_ticketing(kiosk: Harness) -> None:
    kiosk.live.stop()
    kiosk.run_until(lambda: kiosk.app.state.screen is Screen.PAUSED, timeout=10)
    assert kiosk.app.state.pause_reason == "dispatcher"
    assert "暂停取号" in kiosk.texts()


def test_printer_out_of_paper_pauses_before_a_ticket_is_taken(kiosk: Harness) -> None:
    kiosk.fake.set_fault("paper_out")
    kiosk.run_until(lambda: kiosk.app.state.screen is Screen.PAUSED)
    assert kiosk.app.state.pause_reason == "printer"
    assert any("缺纸" in t for t in kiosk.texts())
    assert kiosk.live.call("GET", "/tickets", token=SCREEN)[1]["tickets"] == []
    kiosk.fake.set_fault(None)
    kiosk.run_until(lambda: kiosk.app.state.screen is Screen.HOME)


def paper_runs_out_while_printing(h: Harness) -> Callable[[bytes], None]:
    """From now on the paper runs out as each ticket prints; the printer's own write back."""
    original = h.fake.write

    def jam(data: bytes) -> None:
        h.fake.set_fault("paper_out")
        original(data)

    h.fake.write = jam  # type: ignore[method-assign]
    return original


def test_a_print_failure_after_issue_shows_the_number_and_reports_it(kiosk: Harness) -> None:
    paper_runs_out_while_printing(kiosk)
    take_number(kiosk)
    kiosk.run_until(lambda: kiosk.app.state.screen is Screen.DONE)
    assert kiosk.app.state.printed is False
    assert "A001" in kiosk.texts()
    assert any("出票失败" in t for t in kiosk.texts())
    kiosk.run_until(lambda: kiosk.live.call("GET", "/tickets?print_status=failed",
                                            token=SCREEN)[1]["tickets"] != [])


def test_qms_kiosk_starts_from_its_config_and_stops_on_sigterm(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    from .helpers import SMALL_TOML

    live = LiveDispatcher(small_config(), tmp_path / "qms.db").start()
    try:
        config = tmp_path / "center.toml"
        config.write_text(SMALL_TOML.replace("POLICY", "") + f'\n[kiosk]\ndispatcher = '
                          f'"{live.url}"\nfullscreen = false\nwidth = 800\nheight = 480\n',
                          encoding="utf-8")
        root = Path(__file__).resolve().parent.parent
        proc = subprocess.Popen(
            [sys.executable, "-m", "qms", "kiosk", "--config", str(config)], cwd=root,
            env={**os.environ, "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy",
                 "STATE_DIRECTORY": str(tmp_path / "state"), "PYTHONPATH": str(root)},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(2.0)
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
        assert proc.stderr is not None and "Traceback" not in proc.stderr.read()
    finally:
        live.stop()


def token_of(config: QmsConfig, role: str) -> str:
    return next(d.token for d in config.devices if d.role == role)


def wait_reported(k: Harness, ticket_id: str) -> None:
    """Until the kiosk has told the dispatcher the ticket printed (nothing left in flight)."""
    token = token_of(k.config, "display")
    k.run_until(lambda: k.live.call("GET", f"/tickets/{ticket_id}", token=token)[1]
                ["ticket"]["print_status"] == "printed")


def test_the_handoff_hook_hears_each_ticket_as_its_bytes_go_to_the_printer(
    tmp_path: Path,
) -> None:
    heard: list[tuple[str, str]] = []
    h = started(Harness(tmp_path, on_handoff=lambda rid, tid: heard.append((rid, tid))))
    try:
        take_number(h)
        h.run_until(lambda: bool(heard))
        assert heard == [("kiosk-1-test-1", "2026-11-30-A001")]
        h.run_until(lambda: h.app.state.screen is Screen.DONE)
        assert len(h.fake.jobs) == 1 and len(heard) == 1
        wait_reported(h, heard[0][1])
    finally:
        h.close()


def test_the_demo_autopilot_walks_a_resident_from_home_to_done() -> None:
    from kiosk.app import catalog_view
    from kiosk.flow import KioskState

    view = catalog_view(small_config())
    pilot = Autopilot(30.0, random.Random(3))
    home = KioskState(screen=Screen.HOME)
    assert pilot.poll(100.0, home, view) == []  # a resident walks up: the taps are planned
    taps = [tap.target for now in (100.8, 101.6, 102.4, 106.0)
            for tap in pilot.poll(now, KioskState(screen=Screen.SERVICE), view)]
    assert [t.partition(":")[0] for t in taps] == ["dept", "service", "take", "done"]
    dept = view.department(taps[0].partition(":")[2])
    assert dept is not None and view.service(taps[1].partition(":")[2]) in dept.services
    assert pilot.poll(110.0, home, view) == []  # the next one comes 18–42 s later
    assert pilot.poll(150.0, home, view) == []
    assert [t.target[:5] for t in pilot.poll(150.8, home, view)] == ["dept:"]


def test_the_demo_autopilot_takes_numbers_through_the_app(tmp_path: Path) -> None:
    h = started(Harness(tmp_path, sources=[Autopilot(0.1, random.Random(7))]))
    try:
        h.run_until(lambda: len(h.fake.jobs) == 1, timeout=10)
        h.run_until(lambda: h.app.state.screen is Screen.DONE)
        tickets = h.live.call("GET", "/tickets", token=SCREEN)[1]["tickets"]
        assert len(tickets) == 1
        wait_reported(h, tickets[0]["id"])
    finally:
        h.close()


# -- the windows a resident is sent to follow who is signed in -----------------------------

DIBAO = "minzheng-dibao"  # 民政救助 · 最低生活保障申请; staff s08 cannot do 民政


def sign_in(k: Harness, window: int, staff_id: str | None) -> None:
    token = token_of(k.config, "caller")
    status, _ = k.live.call("POST", f"/windows/{window}/sign-in",
                            {"request_id": f"in-{window}-{staff_id}-{time.monotonic()}",
                             "staff_id": staff_id}, token)
    assert status == 200
    k.run_until(lambda: k.app.mirror.state is not None and
                k.app.mirror.state.windows[window].staff_id == staff_id)


def take_dibao(k: Harness) -> tuple[str, dict[str, Any], list[str]]:
    """A 低保 ticket by touch: (the business screen's window line, the answer, the paper)."""
    jobs = len(k.fake.jobs)
    k.tap("dept:minzheng")
    k.tap(f"service:{DIBAO}")
    assert k.app.state.screen is Screen.SERVICE
    where = next(t for t in k.texts() if t.startswith("请到"))
    k.tap("take")
    k.run_until(lambda: k.app.state.screen is Screen.DONE and len(k.fake.jobs) > jobs)
    reply = k.app.state.ticket
    assert reply is not None
    paper = [line.text for line in walk(k.fake.jobs[-1], "gb18030").lines]
    assert any(t.startswith("请到") and t == where for t in k.texts())  # the number screen too
    wait_reported(k, reply["ticket"]["id"])
    k.tap("done")
    return where, reply, paper


def test_a_window_whose_staff_cannot_serve_is_named_nowhere_until_it_can(
    tmp_path: Path,
) -> None:
    config = load_config(EXAMPLE)
    k = started(Harness(tmp_path, config=config, token=token_of(config, "kiosk")))
    try:
        sign_in(k, 1, "s08")  # 孙佳怡: 医保, 社保, 一网通办 only
        where, reply, paper = take_dibao(k)
        assert where == "请到 2～7 号窗口办理"  # s08 sits at window 8 too
        assert reply["windows"] == [2, 3, 4, 5, 6, 7]
        assert "办理窗口：2～7 号" in paper
        printed = ticket_data(config, config.printer, reply)
        assert printed.windows == (2, 3, 4, 5, 6, 7)
        status, direct = k.live.call("POST", "/tickets", {"request_id": "direct",
                                                           "service_id": DIBAO},
                                     token_of(config, "kiosk"))
        assert status == 201 and direct["windows"] == [2, 3, 4, 5, 6, 7]

        sign_in(k, 1, None)  # s08 signs out: nobody limits window 1
        where, reply, paper = take_dibao(k)
        assert where == "请到 1～7 号窗口办理"
        assert reply["windows"] == [1, 2, 3, 4, 5, 6, 7]
        assert "办理窗口：1～7 号" in paper

        sign_in(k, 1, "s08")
        sign_in(k, 1, "s07")  # someone able (民政 preferred) takes the seat
        where, reply, paper = take_dibao(k)
        assert where == "请到 1～7 号窗口办理"
        assert reply["windows"] == [1, 2, 3, 4, 5, 6, 7]
        assert "办理窗口：1～7 号" in paper
    finally:
        k.close()


def test_a_reprint_asked_from_the_console_prints_at_the_named_kiosk_and_is_reported(
        tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.app.clock = h.live.clock  # the dispatcher's fake time stamps the request
    try:
        started(h)
        original = paper_runs_out_while_printing(h)
        take_number(h)
        h.run_until(lambda: h.live.call("GET", "/tickets?print_status=failed",
                                        token=SCREEN)[1]["tickets"] != [])
        h.fake.write = original  # type: ignore[method-assign,assignment]
        h.fake.set_fault(None)  # staff put new paper in
        h.fake.jobs.clear()
        tid = h.state()["waiting"][0]["id"]  # type: ignore[index]
        status, _ = h.live.call("POST", f"/tickets/{tid}/reprint",
                                {"request_id": "rp1", "kiosk": "kiosk-1"}, ADMIN)
        assert status == 200
        h.run_until(lambda: len(h.fake.jobs) == 1)
        lines = [line.text for line in walk(h.fake.jobs[0], "gb18030").lines]
        assert "A001" in lines
        h.run_until(lambda: h.live.call("GET", "/tickets?print_status=printed",
                                        token=SCREEN)[1]["tickets"] != [])
        status, body = h.live.call("POST", f"/tickets/{tid}/reprint",
                                   {"request_id": "rp2", "kiosk": "kiosk-9"}, ADMIN)
        assert (status, body["error"]["code"]) == (422, "unknown_device")
    finally:
        h.close()


def test_closing_issuing_for_the_day_pauses_the_kiosk_until_reopened(kiosk: Harness) -> None:
    status, _ = kiosk.live.call("POST", "/issuing", {"request_id": "close", "open": False}, ADMIN)
    assert status == 200
    kiosk.run_until(lambda: kiosk.app.state.screen is Screen.PAUSED)
    assert kiosk.app.state.pause_reason == "closed"
    assert "今日取号已结束" in kiosk.texts()
    status, _ = kiosk.live.call("POST", "/issuing", {"request_id": "open", "open": True}, ADMIN)
    kiosk.run_until(lambda: kiosk.app.state.screen is Screen.HOME)


def test_a_booked_resident_checks_in_with_the_code_and_gets_a_booked_ticket(
        tmp_path: Path) -> None:
    from dispatcher.domain.appointments import parse_csv
    from dispatcher.server.bookings import BookingStore

    h = started(Harness(tmp_path))  # the dispatcher's clock: Monday 09:00
    try:
        store = BookingStore(tmp_path / "qms.db")
        bookings, problems = parse_csv(
            "code,service_id,date,slot_start,slot_end,name,phone\n"
            "123456,sb-card,2026-11-30,09:00,09:30,张三,13800138000\n"
            "654321,sb-card,2026-11-30,10:00,10:30,,\n",
            h.config.services, h.config.appointments, {})
        assert problems == []
        store.import_bookings(bookings, MONDAY_9)
        store.close()
        h.tap("checkin")
        for digit in "654321":
            h.tap(f"key:{digit}")
        h.tap("key:ok")  # 10:00 slot: check-in opens at 09:30
        h.run_until(lambda: h.app.state.screen is Screen.CHECKIN
                    and (h.app.state.message or "").startswith("checkin:"))
        h.app.step(wait_ms=0)
        assert any("09:30" in text for text in h.texts()), h.texts()
        if os.environ.get("QMS_SHOTS_TMP") and h.app.screen is not None:
            pygame.image.save(h.app.screen, os.environ["QMS_SHOTS_TMP"])
        for _ in range(6):
            h.tap("key:del")
        for digit in "123456":
            h.tap(f"key:{digit}")
        h.tap("key:ok")
        h.run_until(lambda: h.app.state.screen is Screen.DONE)
        lines = [line.text for line in walk(h.fake.jobs[-1], "gb18030").lines]
        assert "【预约】09:00–09:30" in lines, lines
        waiting = h.state()["waiting"]
        assert isinstance(waiting, list) and waiting[0]["appointment_code"] == "123456"
    finally:
        h.close()


def test_a_resident_late_for_the_booking_takes_an_ordinary_number_with_one_tap(
        tmp_path: Path) -> None:
    from dispatcher.domain.appointments import parse_csv
    from dispatcher.server.bookings import BookingStore

    h = started(Harness(tmp_path))
    try:
        store = BookingStore(tmp_path / "qms.db")
        bookings, problems = parse_csv(
            "code,service_id,date,slot_start,slot_end,name,phone\n"
            "123456,sb-card,2026-11-30,09:00,09:30,张三,13800138000\n",
            h.config.services, h.config.appointments, {})
        assert problems == []
        store.import_bookings(bookings, MONDAY_9)
        store.close()
        h.live.clock.advance(40 * 60)  # 09:40: the slot ended at 09:30
        h.tap("checkin")
        for digit in "123456":
            h.tap(f"key:{digit}")
        h.tap("key:ok")
        h.run_until(lambda: h.app.state.screen is Screen.CHECKIN
                    and h.app.state.service == "sb-card")
        h.app.step(wait_ms=0)
        assert any("09:30" in text for text in h.texts()), h.texts()
        assert any("改取普通号" in text for text in h.texts()), h.texts()
        h.tap("walk_in")
        h.run_until(lambda: h.app.state.screen is Screen.DONE)
        lines = [line.text for line in walk(h.fake.jobs[-1], "gb18030").lines]
        assert not any("预约" in line for line in lines), lines
        waiting = h.state()["waiting"]
        assert isinstance(waiting, list) and len(waiting) == 1
        assert waiting[0]["service_id"] == "sb-card" and waiting[0]["appointment_code"] is None
    finally:
        h.close()
