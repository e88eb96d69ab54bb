"""Benchmark the kiosk; prints one JSON object.

    .venv/bin/python -m bench.kiosk      (from the repository root)

Starts `qms dispatcher` (example config, fresh database) as its own process, runs the kiosk
app headless (SDL dummy driver) with the fake printer, and taps through 200 tickets (set
QMS_BENCH_TICKETS for fewer): for each, the time from the tap on "take a number" (the finger
events posted) to the ticket's bytes being handed to the printer (the app's `on_handoff` hook).
Also: full redraw time of every screen at 800×480 and 1280×800, the CPU the idle kiosk uses,
and the process's resident memory.
"""

from __future__ import annotations

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

import dataclasses
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pygame

from base.fonts import find_font
from dispatcher.client import DispatcherLink
from kiosk.app import KioskApp
from kiosk.flow import KioskState, Screen
from printer.fake import FakePrinter
from printer.worker import PrinterWorker
from qms.config import load_config

ROOT = Path(__file__).resolve().parent.parent
TICKETS = int(os.environ.get("QMS_BENCH_TICKETS", "200"))


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


class Stopwatch:
    """Tap → printer handoff per request id, fed by the app's `on_handoff` hook."""

    def __init__(self) -> None:
        self.tapped: dict[str, float] = {}
        self.latency_ms: list[float] = []
        self._tap = 0.0

    def tap(self) -> None:
        self._tap = time.perf_counter()

    def issued(self, request_id: str | None) -> None:
        if request_id is not None:
            self.tapped.setdefault(request_id, self._tap)

    def handoff(self, request_id: str, ticket_id: str) -> None:
        tapped = self.tapped.pop(request_id, None)
        if tapped is not None:
            self.latency_ms.append((time.perf_counter() - tapped) * 1000)


def tap(app: KioskApp, target: str) -> None:
    w, h = app.screen.get_size() if app.screen else (800, 480)
    item = next(i for i in app.items if i.target == target)
    x, y, iw, ih = item.rect
    event = {"touch_id": 1, "finger_id": 1, "x": (x + iw / 2) / w, "y": (y + ih / 2) / h,
             "dx": 0.0, "dy": 0.0, "pressure": 1.0}
    pygame.event.post(pygame.event.Event(pygame.FINGERDOWN, event))
    pygame.event.post(pygame.event.Event(pygame.FINGERUP, event))
    app.step(wait_ms=0)


def run_until(app: KioskApp, screen: Screen, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while app.state.screen is not screen:
        if time.monotonic() > deadline:
            raise SystemExit(f"stuck on {app.state.screen}")
        app.step(wait_ms=5)


def redraw_ms(app: KioskApp, size: tuple[int, int]) -> dict[str, float]:
    from base.screen.painter import Painter
    from kiosk.screens import build

    font = find_font()
    assert font is not None
    surface = pygame.Surface(size)
    painter = Painter(font, min(size) / 480)
    reply = {"ticket": {"id": "x", "number": "A012", "service_id": "yibao-dabing"},
             "ahead": 3, "est_wait_min": 9, "windows": [1, 2, 4, 5, 6, 7]}
    states = {
        "home": KioskState(), "department": KioskState(screen=Screen.DEPARTMENT,
                                                       department="yibao"),
        "service": KioskState(screen=Screen.SERVICE, service="yibao-dabing"),
        "checkin": KioskState(screen=Screen.CHECKIN, code="1234"),
        "printing": KioskState(screen=Screen.PRINTING),
        "done": KioskState(screen=Screen.DONE, ticket=reply, printed=True),
        "paused": KioskState(screen=Screen.PAUSED, pause_reason="dispatcher"),
    }
    out = {}
    for name, state in states.items():
        times = []
        for _ in range(20):
            start = time.perf_counter()
            painter.draw(surface, build(state, app.view, *size))
            times.append(time.perf_counter() - start)
        out[name] = round(statistics.median(times) * 1000, 2)
    return out


def main() -> None:
    font = find_font()
    if font is None:
        raise SystemExit("no CJK font: sudo apt-get install fonts-wqy-microhei")
    config = load_config(ROOT / "examples" / "center.toml")
    config = dataclasses.replace(config, policy=dataclasses.replace(config.policy,
                                                                    double_press_s=0))
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.Popen(
            [sys.executable, "-m", "qms", "dispatcher", "--db", f"{tmp}/q.db",
             "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            text=True, cwd=ROOT)
        try:
            assert proc.stdout is not None
            base = proc.stdout.readline().split("serving ")[1].split("/api/v1")[0]
            fake = FakePrinter()  # no previews: measure the kiosk, not PNG writing
            printer = PrinterWorker(lambda: fake, poll_s=1.0).start()
            link = DispatcherLink(base, "demo-kiosk-token").start()
            watch = Stopwatch()
            app = KioskApp(config, config.kiosk, config.printer, link, printer, font,
                           size=(800, 480), prefix="bench", on_handoff=watch.handoff)
            app.open()
            run_until(app, Screen.HOME)
            while not app.state.dispatcher_up:
                app.step(wait_ms=10)
            services = [(d.id, s.id) for d in config.departments for s in d.services[:2]]
            for i in range(TICKETS):
                dept, service = services[i % len(services)]
                tap(app, f"dept:{dept}")
                tap(app, f"service:{service}")
                watch.tap()
                tap(app, "take")
                watch.issued(app.state.request_id)
                run_until(app, Screen.DONE)
                tap(app, "done")
            latency = watch.latency_ms
            redraw = {f"{w}x{h}": redraw_ms(app, (w, h)) for w, h in ((800, 480), (1280, 800))}
            # Idle: the real loop (0.5 s ticks, wake-ups on events) for 5 seconds.
            frames = app.frames
            cpu0, wall0 = time.process_time(), time.perf_counter()
            while time.perf_counter() - wall0 < 5:
                app.step()
            idle_cpu = (time.process_time() - cpu0) / (time.perf_counter() - wall0) * 100
            memory = rss_mb()
            idle_frames = app.frames - frames
            app.close()
            link.stop()
            printer.stop()
        finally:
            proc.terminate()
            proc.wait(10)
    print(json.dumps({
        "tickets": len(latency),
        "tap_to_printer_ms": {"p50": round(statistics.median(latency), 1),
                              "p99": round(percentile(latency, 0.99), 1),
                              "max": round(max(latency), 1)},
        "full_redraw_ms": redraw,
        "idle_cpu_percent_of_one_core": round(idle_cpu, 2),
        "idle_redraws_in_5_s": idle_frames,
        "rss_mb": round(memory, 1),
    }, indent=1))


if __name__ == "__main__":
    main()
