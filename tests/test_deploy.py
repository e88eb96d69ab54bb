"""Deployment: systemd units, the watchdog path, install.sh, and `qms demo` end to end."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from base.sdnotify import Watchdog
from qms.config import load_config

from .conftest import wait_until
from .helpers import SMALL_TOML
from .live import http_call

ROOT = Path(__file__).resolve().parent.parent
UNITS = sorted((ROOT / "systemd").glob("*.service"))
EXPOSURE_LIMIT = {"qms-dispatcher.service": 2.0, "qms-kiosk.service": 3.0,
                  "qms-display.service": 3.0}
needs_systemd = pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                                   reason="systemd-analyze not installed")


def runnable_copy(unit: Path, folder: Path, replace: tuple[str, str] | None = None) -> Path:
    """The unit with ExecStart pointing at this checkout's qms (verify checks it exists)."""
    text = unit.read_text().replace("/opt/qms/venv/bin/qms", str(Path(sys.executable).parent /
                                                                 "qms"))
    if replace:
        text = text.replace(*replace)
    out = folder / unit.name
    out.write_text(text)
    return out


@needs_systemd
@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_units_pass_systemd_analyze_verify(unit: Path, tmp_path: Path) -> None:
    copy = runnable_copy(unit, tmp_path)
    result = subprocess.run(["systemd-analyze", "verify", "--recursive-errors=no", str(copy)],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr


@needs_systemd
def test_verify_catches_a_typo(tmp_path: Path) -> None:
    copy = runnable_copy(UNITS[0], tmp_path, ("WatchdogSec=", "WatchdogSecs="))
    result = subprocess.run(["systemd-analyze", "verify", "--recursive-errors=no", str(copy)],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode != 0 and "WatchdogSecs" in result.stderr


@needs_systemd
@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_units_are_hardened(unit: Path, tmp_path: Path) -> None:
    copy = runnable_copy(unit, tmp_path)
    result = subprocess.run(["systemd-analyze", "security", "--offline=true", str(copy)],
                            capture_output=True, text=True, cwd=tmp_path)
    match = re.search(r"Overall exposure level for \S+: ([0-9.]+)", result.stdout)
    assert match, result.stdout[-500:] + result.stderr
    assert float(match.group(1)) <= EXPOSURE_LIMIT[unit.name]


def test_units_run_as_notify_with_a_watchdog_and_restart() -> None:
    for unit in UNITS:
        text = unit.read_text()
        for line in ("Type=notify", "Restart=always", "User=qms", "ProtectSystem=strict",
                     "StateDirectory=qms", "NoNewPrivileges=yes", "After=network-online.target"):
            assert line in text, (unit.name, line)
        assert re.search(r"^WatchdogSec=\d+", text, re.M)
    display = (ROOT / "systemd" / "qms-display.service").read_text()
    assert "GPIOZERO_PIN_FACTORY=lgpio" in display and "SDL_VIDEODRIVER=kmsdrm" in display
    assert "ESCPOS_CAPABILITIES_PICKLE_DIR=" in (ROOT / "systemd" / "qms-kiosk.service").read_text()


# -- the watchdog path --------------------------------------------------------------------------


class NotifySocket:
    """A fake systemd: collects what a service sends to $NOTIFY_SOCKET."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "notify.sock"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(self.path))
        self.sock.settimeout(0.2)
        self.messages: list[tuple[float, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            self.messages.append((time.monotonic(), data.decode()))

    def count(self, text: str, since: float = 0.0) -> int:
        return sum(1 for t, m in self.messages if text in m and t >= since)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()



def test_the_dispatcher_says_ready_heartbeats_and_stops_heartbeating_when_stalled(
    tmp_path: Path,
) -> None:
    fake = NotifySocket(tmp_path)
    env = {**os.environ, "NOTIFY_SOCKET": str(fake.path), "WATCHDOG_USEC": "1000000",
           "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "qms", "dispatcher", "--db",
                             str(tmp_path / "q.db"), "--listen", "127.0.0.1:0"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            cwd=ROOT)
    try:
        assert proc.stdout is not None and "serving" in proc.stdout.readline()
        wait_until(lambda: fake.count("READY=1") == 1)
        wait_until(lambda: fake.count("WATCHDOG=1") >= 3, timeout=5)
        proc.send_signal(signal.SIGSTOP)  # a hung process
        stalled = time.monotonic()
        time.sleep(2.0)
        assert fake.count("WATCHDOG=1", since=stalled + 0.1) == 0
        proc.send_signal(signal.SIGCONT)
        resumed = time.monotonic()
        wait_until(lambda: fake.count("WATCHDOG=1", since=resumed) >= 1, timeout=5)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
        assert fake.count("STOPPING=1") == 1
    finally:
        if proc.poll() is None:
            proc.kill()
        fake.close()


def test_the_kiosk_says_ready_and_heartbeats_from_its_loop(tmp_path: Path) -> None:
    fake = NotifySocket(tmp_path)
    config = tmp_path / "center.toml"
    config.write_text(SMALL_TOML.replace("POLICY", "") + '\n[kiosk]\ndispatcher = '
                      '"http://127.0.0.1:9"\nfullscreen = false\nwidth = 800\nheight = 480\n',
                      encoding="utf-8")
    env = {**os.environ, "NOTIFY_SOCKET": str(fake.path), "WATCHDOG_USEC": "600000",
           "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy", "PYTHONPATH": str(ROOT),
           "STATE_DIRECTORY": str(tmp_path / "state")}
    proc = subprocess.Popen([sys.executable, "-m", "qms", "kiosk", "--config",
                             str(config)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, cwd=ROOT)
    try:
        wait_until(lambda: fake.count("READY=1") == 1)
        wait_until(lambda: fake.count("WATCHDOG=1") >= 3, timeout=5)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        fake.close()


def test_the_watchdog_is_rate_limited_and_off_without_systemd(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    assert not Watchdog().enabled
    monkeypatch.setenv("WATCHDOG_USEC", "2000000")
    monkeypatch.setenv("WATCHDOG_PID", "1")  # meant for another process
    assert not Watchdog().enabled
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    fake = NotifySocket(tmp_path)
    monkeypatch.setenv("NOTIFY_SOCKET", str(fake.path))
    try:
        wd = Watchdog()
        assert wd.interval == 1.0
        for _ in range(100):
            wd.ping()
        wait_until(lambda: fake.count("WATCHDOG=1") == 1)
        time.sleep(0.2)
        assert fake.count("WATCHDOG=1") == 1
    finally:
        fake.close()


# -- install.sh -----------------------------------------------------------------------------------


def test_install_twice_in_a_throwaway_root_then_uninstall(tmp_path: Path) -> None:
    root = tmp_path / "root"
    env = {**os.environ, "QMS_ROOT": str(root), "QMS_SKIP_VENV": "1"}
    script = ROOT / "systemd" / "install.sh"

    def install(*roles: str) -> str:
        result = subprocess.run(["bash", str(script), *roles], env=env, capture_output=True,
                                text=True)
        assert result.returncode == 0, result.stderr
        return result.stdout

    install("dispatcher", "kiosk", "hall")
    config = root / "etc" / "qms" / "center.toml"
    text = config.read_text()
    assert "demo-" not in text  # fresh tokens
    installed = load_config(config)  # and still a valid config
    assert len({d.token for d in installed.devices}) == len(installed.devices)
    for unit in ("qms-dispatcher.service", "qms-kiosk.service", "qms-display.service"):
        assert (root / "etc" / "systemd" / "system" / unit).read_text() == \
            (ROOT / "systemd" / unit).read_text()
    # The center edits its config; installing again keeps it, tokens and all.
    config.write_text(text.replace("宝山路街道", "测试街道"))
    out = install("hall")
    assert "kept the existing" in out
    assert "测试街道" in config.read_text()
    assert (root / "opt" / "qms" / "src" / "pyproject.toml").exists()
    bad = subprocess.run(["bash", str(script), "printer"], env=env, capture_output=True,
                         text=True)
    assert bad.returncode == 2 and "unknown role" in bad.stderr
    result = subprocess.run(["bash", str(script), "--uninstall"], env=env, capture_output=True,
                            text=True)
    assert result.returncode == 0
    assert not (root / "opt" / "qms").exists()
    assert not list((root / "etc" / "systemd" / "system").glob("qms-*"))
    assert "测试街道" in config.read_text()  # config and history stay


# -- qms demo -------------------------------------------------------------------------------------


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], list[str], Path]]:
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy",
           "PYTHONPATH": str(ROOT)}
    env.pop("STATE_DIRECTORY", None)
    state = tmp_path / "state"
    proc = subprocess.Popen([sys.executable, "-m", "qms", "demo", "--residents", "1",
                             "--state", str(state)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, cwd=ROOT)
    lines: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)

    threading.Thread(target=read, daemon=True).start()
    yield proc, lines, state
    if proc.poll() is None:
        proc.kill()
        proc.wait(5)


def processes_using(state: Path) -> list[int]:
    """The demo and its parts: processes naming this state folder on their command line or
    in their environment (STATE_DIRECTORY)."""
    found = []
    env_entry = f"STATE_DIRECTORY={state}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if str(state).encode() in cmdline or env_entry in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def test_qms_demo_runs_all_three_parts_and_ctrl_c_stops_them(
    demo: tuple[subprocess.Popen[str], list[str], Path],
) -> None:
    proc, lines, state = demo
    wait_until(lambda: any("qms demo: dispatcher http://" in ln for ln in lines), timeout=30)
    url = next(ln for ln in lines if "qms demo: dispatcher" in ln).split("dispatcher ")[1]
    port = int(url.split("127.0.0.1:")[1].split("/")[0])
    # A simulated resident takes a number through the kiosk: the fake printer prints it.
    wait_until(lambda: list((state / "printer").glob("*.png")), timeout=30)
    ticket = http_call(port, "GET", "/tickets", token="demo-display-token")[1]["tickets"][0]
    # A staff member calls it; the hall screen shows it.
    http_call(port, "POST", "/windows/1/call-next", {"request_id": "demo-test"},
              "demo-hall-token")
    wait_until(lambda: any("showing call" in ln for ln in lines), timeout=15)
    shown = next(ln for ln in lines if "showing call" in ln)
    assert ticket["number"] in shown or "→ window 1" in shown
    proc.send_signal(signal.SIGINT)  # Ctrl-C
    assert proc.wait(30) == 0
    wait_until(lambda: any("qms demo: stopped" in ln for ln in lines), timeout=5)
    assert not any("Traceback" in ln for ln in lines), "".join(lines[-30:])
    assert processes_using(state) == []


def test_a_stuck_queue_writer_stops_the_heartbeats(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The watchdog pings only while the writer answers: a hung commit means a restart."""
    from dispatcher.server.store import Store

    from .helpers import KIOSK, small_config
    from .live import LiveDispatcher

    fake = NotifySocket(tmp_path)
    monkeypatch.setenv("NOTIFY_SOCKET", str(fake.path))
    monkeypatch.setenv("WATCHDOG_USEC", "600000")
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    release = threading.Event()
    entered = threading.Event()
    original = Store.append

    def stuck_append(self: Store, records: object) -> None:
        entered.set()
        release.wait(20)  # a commit that never returns (a dying SD card)
        original(self, records)  # type: ignore[arg-type]

    live = LiveDispatcher(small_config(), tmp_path / "q.db").start()
    try:
        wait_until(lambda: fake.count("WATCHDOG=1") >= 2, timeout=5)
        monkeypatch.setattr(Store, "append", stuck_append)
        threading.Thread(target=http_call, args=(live.port, "POST", "/tickets",
                                                 {"request_id": "x", "service_id": "sb-card"},
                                                 KIOSK), daemon=True).start()
        assert entered.wait(10)  # the writer is now stuck in its commit
        time.sleep(0.7)  # a heartbeat already on its way may still arrive
        stuck = time.monotonic()
        time.sleep(1.5)
        assert fake.count("WATCHDOG=1", since=stuck) == 0
    finally:
        release.set()
        live.stop()
        fake.close()



def test_the_demos_parts_stop_when_the_demo_is_killed(
    demo: tuple[subprocess.Popen[str], list[str], Path],
) -> None:
    proc, lines, state = demo
    wait_until(lambda: any("qms demo: dispatcher http://" in ln for ln in lines), timeout=30)
    wait_until(lambda: len(processes_using(state)) >= 4, timeout=30)  # demo + its 3 parts
    proc.kill()  # SIGKILL: the demo cannot clean up
    proc.wait(5)
    wait_until(lambda: processes_using(state) == [], timeout=15)
