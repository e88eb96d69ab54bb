"""`qms demo`: the dispatcher, the kiosk and the hall screen on one computer, no Pi hardware.

Each part runs as its own process (each pygame program owns one window), started in order
and stopped in reverse on Ctrl-C or SIGTERM; if one part dies, the others are stopped too;
if the demo itself dies, even by SIGKILL, the kernel stops the parts (PR_SET_PDEATHSIG).
State — database, the fake printer's tickets and previews, the voice pack — goes into the
state folder (`examples/state/` by default). Keys stand in for the caller buttons.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import webbrowser
from collections.abc import Callable
from pathlib import Path

from base.paths import state_dir
from qms.config import default_config_path

PR_SET_PDEATHSIG = 1  # linux/prctl.h
KIOSK_SIZE = "1024x600"
HALL_SIZE = "1280x720"
KEYS = """Caller keys (in the hall window): 1–8 call next at windows 1–8 · q–i recall ·
a–k no-show · z–, pause/resume"""


def _open_console(url: str) -> None:
    """Open the console in the desktop's browser, when there is a desktop to show it on."""
    desktop = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    if desktop and os.environ.get("SDL_VIDEODRIVER") != "dummy":
        with contextlib.suppress(webbrowser.Error):
            webbrowser.open(url)


def _die_with_parent(parent: int) -> Callable[[], None]:
    """For a child, before exec: the kernel sends it SIGTERM when the demo dies, however it
    dies (SIGKILL included). Linux's PR_SET_PDEATHSIG; elsewhere only a clean stop stops it."""

    prctl = None
    with contextlib.suppress(OSError, AttributeError):  # looked up before the fork
        prctl = ctypes.CDLL(None, use_errno=True).prctl

    def arm() -> None:  # runs in the child between fork and exec: nothing that takes locks
        if prctl is not None:
            prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
        if os.getppid() != parent:  # the demo died before the line above took effect
            os._exit(1)

    return arm


def _python(*args: str) -> list[str]:
    return [sys.executable, "-m", "qms", *args]


def _pipe_lines(proc: subprocess.Popen[str], name: str, first: threading.Event | None,
                lines: list[str]) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)
        print(f"[{name}] {line}", end="", flush=True)
        if first is not None and "serving http://" in line:
            first.set()


def _seed_bookings(db: Path, config_path: Path) -> list[str]:
    """A day of bookings around now; the two codes open for check-in (none if it fails)."""
    import datetime as dt

    from qms.config import load_config
    from qms.demo_bookings import seed_demo_bookings

    try:
        return seed_demo_bookings(db, load_config(config_path), dt.datetime.now(dt.UTC))
    except Exception as exc:  # the demo runs without bookings
        print(f"qms demo: no bookings: {exc}", file=sys.stderr)
        return []


def _seed_history(db: Path, config_path: Path) -> None:
    """A year of the example center's history for the reports, forecast and staff pages
    (about 10 s of work: in the background, the demo is usable meanwhile)."""
    import datetime as dt

    from qms.config import load_config
    from qms.demo_history import seed_demo_history

    try:
        added = seed_demo_history(db, load_config(config_path), dt.date.today())
    except Exception as exc:  # the demo runs without history
        print(f"qms demo: no history: {exc}", file=sys.stderr)
        return
    if added:
        print(f"qms demo: a year of history imported ({added} tickets): reports, forecast and "
              "staff ability have data now", flush=True)


def _forward_lines(proc: subprocess.Popen[str]) -> None:
    """The demo's terminal input, line by line, to the child that reads it (the bus panel)."""
    assert proc.stdin is not None
    with contextlib.suppress(OSError, ValueError):
        for line in sys.stdin:
            proc.stdin.write(line)
            proc.stdin.flush()


def run_demo(residents_s: float | None = None, state: Path | None = None,
             bus: bool = False, history: bool = True) -> int:
    config = default_config_path()
    folder = state or state_dir(config)
    folder.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "STATE_DIRECTORY": str(folder), "PYTHONUNBUFFERED": "1"}
    voice = folder / "voice"
    if not (voice / "qing.wav").exists() and shutil.which("espeak-ng"):
        subprocess.run([sys.executable, "-m", "display.make_voice_pack", str(voice)],
                       check=False, env=env)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())

    children: list[tuple[str, subprocess.Popen[str]]] = []
    lines: list[str] = []

    def start(name: str, args: list[str], ready: threading.Event | None = None,
              stdin: bool = False) -> None:
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                                text=True, env=env, start_new_session=True,
                                preexec_fn=_die_with_parent(os.getpid()))
        children.append((name, proc))
        if stdin:
            threading.Thread(target=_forward_lines, args=(proc,), daemon=True).start()
        threading.Thread(target=_pipe_lines, args=(proc, name, ready, lines),
                         daemon=True).start()

    code = 0
    try:
        serving = threading.Event()
        start("dispatcher", _python("dispatcher", "--config", str(config), "--listen",
                                    "127.0.0.1:0"), serving)
        if not serving.wait(20):
            print("qms demo: the dispatcher did not start", file=sys.stderr)
            return 1
        url = next(ln for ln in lines if "serving http://" in ln).split("serving ")[1]
        url = url.split("/api/v1")[0]
        codes = _seed_bookings(folder / "qms.db", config)
        if history:
            threading.Thread(target=_seed_history, args=(folder / "qms.db", config),
                             daemon=True, name="qms-demo-history").start()
        start("hall", _python("display", "--config", str(config), "--dispatcher", url,
                              "--windowed", HALL_SIZE, "--keyboard"))
        kiosk = _python("kiosk", "--config", str(config), "--dispatcher", url, "--windowed",
                        KIOSK_SIZE)
        if residents_s:
            kiosk += ["--residents", str(residents_s)]
        start("kiosk", kiosk)
        if bus:  # the bus panel takes its commands from this terminal
            start("bus", _python("bus", "--config", str(config), "--dispatcher", url,
                                 "--emulate"), stdin=True)
        print(f"qms demo: dispatcher {url}/api/v1 · kiosk and hall windows open · tickets "
              f"and previews in {folder / 'printer'}\n{KEYS}\n"
              f"console: {url}/console/ — log in as admin / demo-admin (manager), or as a "
              f"window's staff member s01…s08 / demo\n"
              f"bookings (预约): type {' or '.join(codes) or '(none today)'} at the kiosk's "
              f"预约签到; the next working day's calls (预约回访): {url}/console/followup\n"
              f"Ctrl-C stops everything.",
              flush=True)
        _open_console(f"{url}/console/")
        while not stop.is_set():
            for name, proc in children:
                if proc.poll() is not None:
                    print(f"qms demo: {name} stopped (exit {proc.returncode}); stopping all",
                          file=sys.stderr)
                    code = 1
                    stop.set()
            stop.wait(0.2)
    finally:
        for name, proc in reversed(children):  # reverse order: screens first, dispatcher last
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                print(f"qms demo: {name} did not stop in 10 s: killed", file=sys.stderr)
                proc.kill()
                proc.wait(5)
        time.sleep(0.1)
    print("qms demo: stopped", flush=True)
    return code
