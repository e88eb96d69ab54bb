"""Benchmark a call end to end; prints one JSON object.

    .venv/bin/python -m bench.call_latency      (from the repository root)

A `qms dispatcher` process (example center, fresh database, 200 tickets waiting) and the hall
app headless (SDL dummy driver, 1920×1080) with caller buttons on gpiozero mock pins. For
200 calls: the time from the button press (mock pin driven low) through the dispatcher and its
event stream to the flip of the frame that shows the new number. Also the full redraw time
and the CPU the idle hall screen uses (with and without the scrolling notice line).
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
import threading
import time
from functools import partial
from pathlib import Path

from gpiozero.pins.mock import MockFactory

from base.fonts import find_font
from base.screen.painter import Painter
from dispatcher.client import DispatcherClient, DispatcherLink
from display.app import HallApp
from display.buttons import CallerPanel, WindowPins
from display.hall import build_hall
from qms.config import load_config

ROOT = Path(__file__).resolve().parent.parent
CALLS = int(os.environ.get("QMS_BENCH_CALLS", "200"))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def main() -> None:
    font = find_font()
    if font is None:
        raise SystemExit("no CJK font: sudo apt-get install fonts-wqy-microhei")
    with tempfile.TemporaryDirectory() as tmp:
        text = (ROOT / "examples" / "center.toml").read_text(encoding="utf-8")
        config_path = Path(tmp) / "center.toml"
        config_path.write_text(text.replace("double_press_s = 3.0", "double_press_s = 0"),
                               encoding="utf-8")
        config = load_config(config_path)
        proc = subprocess.Popen(
            [sys.executable, "-m", "qms", "dispatcher", "--config", str(config_path),
             "--db", f"{tmp}/q.db", "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True, cwd=ROOT)
        try:
            assert proc.stdout is not None
            base = proc.stdout.readline().split("serving ")[1].split("/api/v1")[0]
            kiosk = DispatcherLink(base, "demo-kiosk-token").start(subscribe=False)
            for i in range(CALLS):
                service = "shebao-ka-shenling" if i % 2 else "yibao-dabing"
                kiosk.submit(partial(DispatcherClient.issue_ticket, service_id=service)
                             ).result(10)
            kiosk.stop()
            link = DispatcherLink(base, "demo-display-token").start()
            caller = DispatcherLink(base, "demo-hall-token").start(subscribe=False)
            app = HallApp(config, config.display, link, font, size=(1920, 1080))
            factory = MockFactory()
            panel = CallerPanel(lambda n, verb: caller.submit(lambda c: c.window(n, verb))
                                ).start()  # the hall loop pushes each window's LED status
            panel.attach_gpio([WindowPins(w, call_next=2 + w) for w in range(1, 9)], factory)
            app.callers = panel
            app.open()
            while app.mirror.state is None or not app.link_up:
                app.step(wait_s=0.01)
            latencies: list[float] = []
            done = threading.Event()

            def presser() -> None:
                # 8 windows in turn, 50 ms apart: each button is pressed every 0.4 s, past
                # the panel's 0.3 s guard against bounce and double presses.
                for i in range(CALLS):
                    time.sleep(0.05)
                    drawn = len(app.call_drawn)
                    pin = factory.pin(2 + i % 8 + 1)
                    pressed = time.perf_counter()
                    pin.drive_low()
                    pin.drive_high()
                    deadline = time.monotonic() + 5
                    while len(app.call_drawn) == drawn:
                        if time.monotonic() > deadline:
                            raise SystemExit(f"call {i} was never drawn")
                        time.sleep(0.0005)
                    latest = max(app.call_drawn.items())[1]
                    latencies.append((latest - pressed) * 1000)
                done.set()

            thread = threading.Thread(target=presser, daemon=True)
            thread.start()
            while not done.is_set():
                app.step(wait_s=0.05)
            # Full redraw of a busy screen.
            painter = Painter(font, 1080 / 480)
            times = []
            for _ in range(20):
                start = time.perf_counter()
                painter.draw(app.screen, build_hall(app.view(), 1920, 1080))  # type: ignore[arg-type]
                times.append(time.perf_counter() - start)
            # Idle: no calls, no notice line; wait out the last highlight first.
            while app.view().highlight:
                app.step()
            def idle() -> tuple[float, int]:
                cpu0, wall0 = time.process_time(), time.perf_counter()
                frames = app.frames
                while time.perf_counter() - wall0 < 5:
                    app.step()
                cpu = (time.process_time() - cpu0) / (time.perf_counter() - wall0) * 100
                return cpu, app.frames - frames

            ticker_cpu, _ = idle()  # the example's notice line scrolls at 20 frames/s
            app.cfg = dataclasses.replace(app.cfg, notice="")
            idle_cpu, idle_frames = idle()
            app.close()
            panel.stop()
            caller.stop()
            link.stop()
            factory.close()
        finally:
            proc.terminate()
            proc.wait(10)
    print(json.dumps({
        "calls": len(latencies),
        "press_to_frame_ms": {"p50": round(statistics.median(latencies), 1),
                              "p99": round(percentile(latencies, 0.99), 1),
                              "max": round(max(latencies), 1)},
        "full_redraw_ms_1920x1080": round(statistics.median(times) * 1000, 2),
        "idle_cpu_percent_of_one_core": round(idle_cpu, 2),
        "idle_cpu_percent_with_scrolling_notice": round(ticker_cpu, 2),
        "idle_redraws_in_5_s": idle_frames,
    }, indent=1))


if __name__ == "__main__":
    main()
