"""The kiosk app headless: finger taps in, a real dispatcher on loopback, the fake printer."""

from __future__ import annotations

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pygame
import pytest

from base.fonts import find_font
from dispatcher.client import DispatcherLink
from kiosk.app import KioskApp
from kiosk.flow import Screen
from printer.fake import FakePrinter
from printer.worker import PrinterWorker

from .escpos_walker import walk
from .helpers import KIOSK, SCREEN, small_config
from .live import LiveDispatcher

FONT = find_font()
pytestmark = pytest.mark.skipif(FONT is None, reason="no CJK font: ./bootstrap.sh installs it")


class Harness:
    def __init__(self, tmp: Path, size: tuple[int, int] = (800, 480)) -> None:
        self.config = small_config()
        self.live = LiveDispatcher(self.config, tmp / "qms.db").start()
        self.fake = FakePrinter(tmp / "printer")
        self.printer = PrinterWorker(lambda: self.fake, poll_s=0.05, backoff_base_s=0.05,
                                     backoff_cap_s=0.2).start()
        self.link = DispatcherLink(self.live.url, KIOSK, retry_for=2.0).start()
        assert FONT is not None
        self.app = KioskApp(self.config, self.config.kiosk, self.config.printer, self.link,
                            self.printer, FONT, size=size,
                            prefix="kiosk-1-test")
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


@pytest.fixture
def kiosk(tmp_path: Path) -> Iterator[Harness]:
    h = Harness(tmp_path)
    h.run_until(lambda: h.app.state.dispatcher_up and h.app.state.screen is Screen.HOME)
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


def test_a_print_failure_after_issue_shows_the_number_and_reports_it(kiosk: Harness) -> None:
    original = kiosk.fake.write

    def jam(data: bytes) -> None:  # the paper runs out as the ticket prints
        kiosk.fake.set_fault("paper_out")
        original(data)

    kiosk.fake.write = jam  # type: ignore[method-assign]
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
