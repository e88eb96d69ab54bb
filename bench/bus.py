"""Key press → dispatcher call → window display updated, over the RS-485 bus; prints one JSON
object, then a summary.

    .venv/bin/python -m bench.bus [--presses N] [--bauds 9600,19200]   (from the repository root)

Set-up, per baud rate: a dispatcher process (`qms dispatcher`, the example center with
[policy] double_press_s = 0 so presses can follow each other, a fresh database), and a bus
master process (`qms bus`, the real master: minimalmodbus on pyserial) on a pseudo-terminal
whose other end is the shipped emulator in this process: 8 windows × (display, keypad, rating
pad) = 24 devices. The emulator holds back each answer for the time its request and answer
frames take on the wire at the baud rate (10 bits a byte), so the line is as slow as a real
one; the master adds Modbus's own 3.5-character silences.

Each press: a ticket is issued (kiosk API), then, after a random wait (so presses fall at every
phase of the poll cycle), the 叫号 key of window n (1–8 in turn) is pressed on its emulated
keypad; the time is taken until the window's display holds a new number (the write frame
reaching the emulator). Also: the poll cycle (time between two polls of one keypad, as it sees
them), and the time from the press until the master's poll first read it.
Target: p99 ≤ 300 ms at 19200 baud.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bus.config import every_window
from bus.emulator import BusEmulator
from bus.registers import Key, Kind, Mode
from tests.live import http_call

ROOT = Path(__file__).resolve().parent.parent
KIOSK = "demo-kiosk-token"
WINDOWS = list(range(1, 9))


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def figures(ms: list[float]) -> dict[str, float]:
    return {"n": len(ms), "p50": round(pct(ms, 50), 1), "p90": round(pct(ms, 90), 1),
            "p99": round(pct(ms, 99), 1), "max": round(max(ms), 1),
            "mean": round(statistics.fmean(ms), 1)}


def config_text(port: str, baud: int) -> str:
    text = (ROOT / "examples" / "center.toml").read_text(encoding="utf-8")
    text = text.replace("double_press_s = 3.0", "double_press_s = 0")
    devices = "".join(f'\n[[bus.devices]]\naddress = {d.address}\nkind = "{d.kind}"\n'
                      f"window = {d.window}\n" for d in every_window(WINDOWS))
    return text + f'\n[bus]\nport = "{port}"\nbaudrate = {baud}\ntimeout_ms = 100\n' + devices


@contextlib.contextmanager
def process(args: list[str], ready: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    proc = subprocess.Popen([sys.executable, "-m", "qms", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, cwd=ROOT,
                            stdin=subprocess.DEVNULL)
    assert proc.stdout is not None
    line = ""
    deadline = time.monotonic() + 30
    while ready not in line:
        line = proc.stdout.readline()
        if not line or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"{args[0]} did not start")
    try:
        yield proc, line
    finally:
        proc.terminate()
        proc.wait(10)


def run(baud: int, presses: int, rng: random.Random) -> dict[str, Any]:
    emulator = BusEmulator(every_window(WINDOWS), baud).start()
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "center.toml"
        cfg.write_text(config_text(emulator.port, baud), encoding="utf-8")
        with process(["dispatcher", "--config", str(cfg), "--db", f"{tmp}/qms.db",
                      "--listen", "127.0.0.1:0"], "serving http://") as (_, line):
            url = line.split("serving ")[1].split("/api/v1")[0].strip()
            api_port = int(url.rsplit(":", 1)[1])
            with process(["bus", "--config", str(cfg), "--dispatcher", url], "qms bus:"):
                keypads = [emulator.device(Kind.KEYPAD, n) for n in WINDOWS]
                deadline = time.monotonic() + 20
                while any(len(k.cycle_s) < 2 for k in keypads):  # every keypad baselined
                    if time.monotonic() > deadline:
                        raise RuntimeError("the bus master does not poll")
                    time.sleep(0.05)
                press_ms, seen_ms = [], []
                for i in range(presses):
                    n = WINDOWS[i % len(WINDOWS)]
                    status, body = http_call(api_port, "POST", "/tickets", {
                        "request_id": f"b{baud}-{i}", "service_id": "yibao-dabing"}, KIOSK)
                    assert status == 201, body
                    display = emulator.device(Kind.WINDOW_DISPLAY, n)
                    keypad = emulator.device(Kind.KEYPAD, n)
                    before, polls = display.text, len(keypad.cycle_s)
                    time.sleep(rng.uniform(0.05, 0.4))
                    display.changed.clear()
                    t0 = time.monotonic()
                    emulator.press(n, Key.CALL_NEXT)
                    while not (display.text != before and display.mode is Mode.BLINK):
                        if time.monotonic() - t0 > 10:
                            raise RuntimeError(f"window {n}: display not updated")
                        display.changed.wait(0.05)
                        display.changed.clear()
                    press_ms.append((time.monotonic() - t0) * 1000)
                    if len(keypad.cycle_s) > polls:
                        seen_ms.append((keypad.polled_at - t0) * 1000)
                cycles = [c * 1000 for k in keypads for c in k.cycle_s[1:]]
    emulator.stop()
    return {"baud": baud, "devices": len(emulator.devices),
            "press_to_display_ms": figures(press_ms), "poll_cycle_ms": figures(cycles),
            "dropped_frames": emulator.dropped}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--presses", type=int, default=200)
    parser.add_argument("--bauds", default="9600,19200")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    results = [run(int(b), args.presses, rng) for b in args.bauds.split(",")]
    out = {"machine": f"{platform.machine()} {os.cpu_count()} cores",
           "python": platform.python_version(), "results": results}
    print(json.dumps(out, ensure_ascii=False))
    for r in results:
        p, c = r["press_to_display_ms"], r["poll_cycle_ms"]
        print(f"{r['baud']:>6} baud, {r['devices']} devices: press → display p50 {p['p50']} ms,"
              f" p99 {p['p99']} ms, max {p['max']} ms (n={p['n']}); poll cycle p50 {c['p50']} "
              f"ms, p99 {c['p99']} ms" + ("  [target p99 ≤ 300 ms]" if r["baud"] == 19200
                                           else ""))


if __name__ == "__main__":
    main()
