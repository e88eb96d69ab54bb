"""The hall app headless against a real dispatcher: calls shown and said, outages, keys."""

from __future__ import annotations

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pygame
import pytest

from base.fonts import find_font
from dispatcher.client import DispatcherLink
from dispatcher.server.service import system_clock
from display.app import HallApp
from display.buttons import CallerPanel
from display.voice import Announcer, VoicePack
from qms.config import parse_config

from .faultproxy import FaultProxy
from .helpers import HALL, KIOSK, SCREEN, SMALL_TOML
from .live import LiveDispatcher

FONT = find_font()
pytestmark = pytest.mark.skipif(FONT is None, reason="no CJK font")
CONFIG = parse_config(SMALL_TOML.replace("POLICY", "double_press_s = 0") +
                      '\n[display]\nlate_s = 2\nkeyboard = true\n')


class Spoken:
    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def announce(self, number: str, window: int) -> None:
        self.calls.append((number, window))


class Rig:
    def __init__(self, tmp: Path) -> None:
        self.live = LiveDispatcher(CONFIG, tmp / "qms.db", clock=system_clock).start()
        self.proxy = FaultProxy(self.live.port).start()
        self.link = DispatcherLink(f"http://127.0.0.1:{self.proxy.port}", SCREEN).start()
        self.caller_link = DispatcherLink(self.live.url, HALL).start(subscribe=False)
        self.spoken = Spoken()
        assert FONT is not None
        self.app = HallApp(CONFIG, CONFIG.display, self.link, FONT, size=(1366, 768),
                           announcer=self.spoken)  # type: ignore[arg-type]
        self.callers = CallerPanel(
            lambda n, verb: self.caller_link.submit(lambda c: c.window(n, verb))).start()
        self.app.callers = self.callers
        self.app.open()

    def close(self) -> None:
        self.app.close()
        self.callers.stop()
        self.caller_link.stop()
        self.link.stop()
        self.proxy.stop()
        self.live.stop()

    def run_until(self, check: Callable[[], bool], timeout: float = 10.0) -> float:
        start = time.monotonic()
        while not check():
            assert time.monotonic() - start < timeout, "timed out"
            self.app.step(wait_s=0.02)
        return time.monotonic() - start

    def texts(self) -> list[str]:
        from display.hall import build_hall

        return [i.text for i in build_hall(self.app.view(), 1366, 768) if i.text]

    def issue(self, n: int) -> None:
        for i in range(n):
            self.live.call("POST", "/tickets", {"request_id": f"t{time.monotonic()}-{i}",
                                                "service_id": "sb-card"}, KIOSK)

    def call(self, window: int) -> Any:
        return self.live.call("POST", f"/windows/{window}/call-next",
                              {"request_id": f"c{time.monotonic()}"}, HALL)[1]


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    r = Rig(tmp_path)
    r.run_until(lambda: r.app.link_up and r.app.mirror.state is not None)
    yield r
    r.close()


def test_a_call_is_shown_large_highlighted_and_said_once(rig: Rig) -> None:
    rig.issue(2)
    rig.call(3)
    rig.run_until(lambda: bool(rig.spoken.calls))
    assert rig.spoken.calls == [("B001", 3)]
    assert rig.app.view().highlight
    texts = rig.texts()
    assert "B001" in texts and "3 号窗口" in texts
    frames = rig.app.frames
    rig.run_until(lambda: rig.app.frames >= frames + 2, timeout=3)  # flashing redraws


def test_a_recall_is_said_again(rig: Rig) -> None:
    rig.issue(1)
    rig.call(2)
    rig.run_until(lambda: len(rig.spoken.calls) == 1)
    rig.live.call("POST", "/windows/2/recall", {"request_id": "r1"}, HALL)
    rig.run_until(lambda: len(rig.spoken.calls) == 2)
    assert rig.spoken.calls == [("B001", 2), ("B001", 2)]


def test_calls_made_during_an_outage_are_listed_but_not_announced_late(rig: Rig) -> None:
    rig.issue(4)
    rig.proxy.set_mode("blackhole")
    took = rig.run_until(lambda: not rig.app.link_up, timeout=8)
    assert took <= 5.5  # the 连接中断 mark within 5 s
    assert "连接中断 重连中…" in rig.texts()
    rig.call(1)
    rig.call(2)
    time.sleep(2.5)  # longer ago than late_s by the time the link is back
    rig.proxy.heal()
    seq = rig.live.call("GET", "/health")[1]["seq"]
    rig.run_until(lambda: rig.app.link_up and rig.app.mirror.seq == seq, timeout=15)
    assert rig.spoken.calls == []
    texts = rig.texts()
    assert "B002" in texts and any(t.startswith("B001 →") for t in texts)
    rig.call(4)  # a live call after the outage is announced again
    rig.run_until(lambda: rig.spoken.calls == [("B003", 4)])


def test_demo_keys_call_through_the_caller_device(rig: Rig) -> None:
    rig.issue(1)
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, {"key": pygame.K_3, "unicode": "3",
                                                          "mod": 0, "scancode": 0}))
    rig.run_until(lambda: rig.spoken.calls == [("B001", 3)])


def test_the_hall_loop_pushes_each_windows_led_status_to_the_buttons(rig: Rig) -> None:
    rig.issue(1)
    assert rig.callers.status(3) == "idle"
    rig.call(3)
    rig.run_until(lambda: rig.callers.status(3) == "serving")
    rig.live.call("POST", "/windows/3/pause", {"request_id": "p3"}, HALL)
    rig.run_until(lambda: rig.callers.status(3) == "paused")
    assert rig.callers.status(1) == "idle"
    # The pause button now resumes: the panel goes by what the loop pushed.
    rig.callers.press(3, "pause")
    rig.run_until(lambda: rig.callers.status(3) == "idle")
    assert rig.live.call("GET", "/state", token=SCREEN)[1]["windows"][2]["status"] == "open"


def test_the_hall_shows_the_windows_serving_each_department_live(rig: Rig) -> None:
    def row(name: str) -> list[str]:
        texts = rig.texts()
        i = texts.index(name)
        return texts[i:i + 3]

    assert row("住房保障") == ["住房保障", "0 人", "1～3 号窗"]  # s4 at window 4 cannot
    status, _ = rig.live.call("POST", "/windows/3/sign-in",
                              {"request_id": "s", "staff_id": "s4"}, HALL)
    assert status == 200
    rig.run_until(lambda: row("住房保障")[2] == "1、2 号窗")
    rig.live.call("POST", "/windows/3/sign-in", {"request_id": "s3", "staff_id": "s3"}, HALL)
    rig.run_until(lambda: row("住房保障")[2] == "1～3 号窗")


def test_the_real_announcer_queue_plugs_in(tmp_path: Path) -> None:
    pack = VoicePack(tmp_path)  # empty: shown, not spoken
    announcer = Announcer(pack, output=type("Silent", (), {"play": lambda *a: None})())
    announcer.start()
    announcer.announce("A001", 1)
    announcer.stop()


def test_qms_display_starts_from_its_config_and_stops_on_sigterm(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    live = LiveDispatcher(CONFIG, tmp_path / "qms.db").start()
    try:
        config = tmp_path / "center.toml"
        config.write_text(SMALL_TOML.replace("POLICY", "") + f'\n[display]\ndispatcher = '
                          f'"{live.url}"\ndevice = "screen"\ncaller_device = "hall"\n'
                          'fullscreen = false\nwidth = 1366\nheight = 768\nkeyboard = true\n'
                          'notice = "请保管好随身物品"\n', encoding="utf-8")
        root = Path(__file__).resolve().parent.parent
        proc = subprocess.Popen(
            [sys.executable, "-m", "qms", "display", "--config", str(config)], cwd=root,
            env={**os.environ, "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy",
                 "STATE_DIRECTORY": str(tmp_path / "state"), "PYTHONPATH": str(root)},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(2.0)
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
        err = proc.stderr.read() if proc.stderr else ""
        assert "Traceback" not in err and "no voice pack" in err
    finally:
        live.stop()


def test_qms_display_refuses_buttons_without_gpio(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from qms.cli import main

    config = tmp_path / "center.toml"
    config.write_text(SMALL_TOML.replace("POLICY", "") + '\n[display]\ndevice = "screen"\n'
                      'pin_factory = "lgpio"\n[[display.buttons]]\nwindow = 1\ncall_next = 5\n',
                      encoding="utf-8")
    assert main(["display", "--config", str(config)]) == 2
    assert "not usable here" in capsys.readouterr().err
