"""No ghost tickets: a number the dispatcher issued while its answer was lost is either given
to the resident (the link came back in time) or cancelled (the resident was told none was
taken) — never left waiting in the queue with nobody holding it, across a kiosk restart too."""

from __future__ import annotations

import dataclasses
import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pygame
import pytest

from base.fonts import find_font
from dispatcher.client import DispatcherLink
from kiosk.app import KioskApp
from kiosk.flow import Screen, Tap
from kiosk.unresolved import UnresolvedRequests
from printer.fake import FakePrinter
from printer.worker import PrinterWorker

from .faultproxy import FaultProxy
from .helpers import HALL, KIOSK, small_config
from .live import LiveDispatcher

FONT = find_font()
pytestmark = pytest.mark.skipif(FONT is None, reason="no CJK font: ./bootstrap.sh installs it")


class KioskOverProxy:
    """A kiosk app whose link to a live dispatcher runs through a fault proxy."""

    def __init__(self, tmp: Path, live: LiveDispatcher, confirm_s: float = 3.0) -> None:
        config = small_config()
        self.settings = dataclasses.replace(config.kiosk, confirm_timeout_s=confirm_s,
                                            done_timeout_s=3.0)
        self.live = live
        self.proxy = FaultProxy(live.port).start()
        self.fake = FakePrinter(tmp / "printer")
        self.printer = PrinterWorker(lambda: self.fake, poll_s=0.05).start()
        self.file = tmp / "kiosk-1-unresolved.json"
        self.app: KioskApp | None = None
        self.link: DispatcherLink | None = None
        self.config = config

    def start(self) -> KioskOverProxy:
        self.link = DispatcherLink(f"http://127.0.0.1:{self.proxy.port}", KIOSK,
                                   retry_for=1.0).start()
        assert FONT is not None
        self.app = KioskApp(self.config, self.settings, self.config.printer, self.link,
                            self.printer, FONT, size=(800, 480), prefix="k1-ghost",
                            unresolved=UnresolvedRequests(self.file))
        self.app.open()
        return self

    def restart(self) -> None:
        """The kiosk process dies and starts again (its unresolved file stays)."""
        assert self.app is not None and self.link is not None
        self.app.close()
        self.link.stop()
        self.start()

    def close(self) -> None:
        if self.app is not None:
            self.app.close()
        if self.link is not None:
            self.link.stop()
        self.printer.stop()
        self.proxy.stop()

    def run_until(self, check: Callable[[], bool], timeout: float = 15.0) -> None:
        assert self.app is not None
        deadline = time.monotonic() + timeout
        while not check():
            assert time.monotonic() < deadline, (
                f"timed out on {self.app.state.screen} {self.app.state.message}")
            self.app.step(wait_ms=20)

    def take(self, proxy_mode: str) -> None:
        """A resident taps through to 取号 once the link is up; then the link breaks so."""
        assert self.app is not None
        self.run_until(lambda: self.app is not None and self.app.state.dispatcher_up)
        self.proxy.set_mode(proxy_mode)
        for target in ("dept:shebao", "service:sb-card", "take"):
            self.app.events.put(Tap(target))
            self.app.step(wait_ms=10)

    def tickets(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.live.call("GET", "/tickets", token=HALL)[1]["tickets"]
        return result


@pytest.fixture
def kiosk(tmp_path: Path, live: LiveDispatcher) -> Any:
    k = KioskOverProxy(tmp_path, live).start()
    yield k
    k.close()
    pygame.quit()


def test_answers_lost_until_the_resident_is_told_no_number_then_it_is_cancelled(
        kiosk: KioskOverProxy) -> None:
    kiosk.take("cut_responses")  # the dispatcher issues; the kiosk never hears
    kiosk.run_until(lambda: kiosk.app is not None and kiosk.app.state.message == "confirming")
    assert kiosk.tickets()[0]["status"] == "waiting"  # a number exists meanwhile
    kiosk.run_until(lambda: kiosk.app is not None and kiosk.app.state.message == "not_issued")
    assert kiosk.fake.jobs == []
    kiosk.proxy.heal()  # the link comes back: the request is resolved
    kiosk.run_until(lambda: kiosk.tickets()[0]["status"] == "cancelled")
    ticket = kiosk.tickets()[0]
    assert ticket["cancel_reason"] == "abandoned"
    kiosk.run_until(lambda: kiosk.app is not None and len(kiosk.app.unresolved) == 0)
    assert not [t for t in kiosk.tickets() if t["status"] == "waiting"]
    kiosk.run_until(lambda: kiosk.app is not None and kiosk.app.state.screen is Screen.HOME)


def test_the_link_back_in_time_gives_the_resident_the_number_already_issued(
        kiosk: KioskOverProxy) -> None:
    kiosk.take("cut_responses")
    kiosk.run_until(lambda: kiosk.app is not None and kiosk.app.state.message == "confirming")
    kiosk.proxy.heal()  # within confirm_timeout_s
    kiosk.run_until(lambda: kiosk.app is not None and kiosk.app.state.screen is Screen.DONE)
    tickets = kiosk.tickets()
    assert len(tickets) == 1 and tickets[0]["status"] == "waiting"  # one number, held
    assert kiosk.app is not None
    assert kiosk.app.state.ticket is not None
    assert kiosk.app.state.ticket["ticket"]["number"] == tickets[0]["number"]
    assert len(kiosk.fake.jobs) == 1 and len(kiosk.app.unresolved) == 0


def test_a_kiosk_restarted_while_a_request_was_unanswered_cancels_its_ticket(
        kiosk: KioskOverProxy) -> None:
    kiosk.take("cut_responses")
    kiosk.run_until(lambda: kiosk.app is not None and kiosk.app.state.message == "confirming")
    assert kiosk.file.exists() and "k1-ghost-1" in kiosk.file.read_text()
    kiosk.proxy.heal()
    kiosk.restart()  # before the answer came: only the file knows the request
    kiosk.run_until(lambda: kiosk.tickets()[0]["status"] == "cancelled")
    kiosk.run_until(lambda: kiosk.app is not None and len(kiosk.app.unresolved) == 0)
    assert "k1-ghost" not in kiosk.file.read_text()
