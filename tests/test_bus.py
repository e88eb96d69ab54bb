"""The RS-485 bus: register map, display frames, device health, and the real master
(minimalmodbus over pyserial) against the shipped emulator on a pseudo-terminal, alone and
joined to a live dispatcher."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bus.config import every_window
from bus.emulator import BusEmulator, crc16, run_command
from bus.frames import OFF, window_frame
from bus.health import BusDevice, DeviceLink, Health
from bus.master import BusInput, BusMaster, DeviceReport
from bus.port import RtuPort
from bus.registers import Key, Kind, Mode, counter_delta, decode_text, encode_text, fit_text
from bus.run import build_service
from bus.service import BusService
from dispatcher.domain.model import QueueState, Ticket, WindowState, WindowStatus

from .helpers import HALL, KIOSK, MONDAY_9, small_config
from .live import LiveDispatcher

BAUD = 115200  # fast for tests; the benchmark measures 9600 and 19200
D1, K1, P1 = (BusDevice(1, Kind.WINDOW_DISPLAY, 1), BusDevice(2, Kind.KEYPAD, 1),
              BusDevice(3, Kind.RATING_PAD, 1))


def wait_for(check: Callable[[], Any], timeout: float = 5.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.005)
    raise AssertionError(f"timed out waiting for {what or check}")


# -- the register map and what the displays show (pure) ---------------------------------------


def test_text_is_16_bytes_of_gb2312_cut_at_a_character_and_padded() -> None:
    assert fit_text("A012") == b"A012" + b" " * 12
    assert len(fit_text("一二三四五六七八九")) == 16  # 9 characters of 2 bytes: 8 fit
    assert fit_text("A一二三四五六七八").rstrip() == "A一二三四五六七".encode("gb2312")
    assert decode_text(encode_text("A012 预约 手语")) == "A012 预约 手语"
    assert encode_text("AB")[0] == (ord("A") << 8) | ord("B")  # first byte high
    assert decode_text(encode_text("A😀B")) == "A?B"  # not in GB2312


def test_counter_wraps_at_16_bits() -> None:
    assert counter_delta(65535, 0) == 1
    assert counter_delta(10, 12) == 2
    assert counter_delta(5, 5) == 0


def _state(window: WindowState, *tickets: Ticket) -> QueueState:
    state = QueueState(business_day=MONDAY_9.date())
    state.windows[window.number] = window
    for t in tickets:
        state.tickets[t.id] = t
    return state


def _ticket(**kw: Any) -> Ticket:
    return Ticket(id="t1", number="A012", service_id="yb-dabing",
                  business_day=MONDAY_9.date(), issued_at=MONDAY_9, order=1, **kw)


def test_display_shows_number_with_marks_blinking_only_while_fresh() -> None:
    state = _state(WindowState(1, False, current="t1", staff_id="s1"),
                   _ticket(sign_language=True, appointment_code="Y123"))
    assert window_frame(state, 1, highlighted=True).text == "A012 预约 手语"
    assert window_frame(state, 1, highlighted=True).mode is Mode.BLINK
    assert window_frame(state, 1, highlighted=False).mode is Mode.STEADY


def test_display_says_paused_idle_and_goes_dark_when_the_window_is_closed() -> None:
    paused = _state(WindowState(1, False, status=WindowStatus.PAUSED, staff_id="s1"))
    assert window_frame(paused, 1, False).text == "暂停服务"
    idle = _state(WindowState(1, False, staff_id="s1"))
    assert window_frame(idle, 1, False).text == "1号窗口"
    closed = _state(WindowState(1, False, staff_id=None))
    assert window_frame(closed, 1, False) == OFF
    assert OFF.registers() == [0x2020] * 8 + [0]
    assert window_frame(closed, 7, False) == OFF  # a window the state does not know


def test_silent_device_backs_off_and_comes_back_with_a_new_counter_baseline() -> None:
    link = DeviceLink(K1, rng=random.Random(1))
    assert link.answered(0.0) == (True, True) and link.read_counter(7) == 0  # a baseline
    assert link.read_counter(8) == 1
    delays = []
    for _ in range(8):
        link.silent(now=100.0)
        delays.append(link.next_try - 100.0)
    assert link.health is Health.NO_ANSWER and not link.due(100.0)
    assert delays[0] <= 1.0 and max(delays) <= 30.0 and delays[-1] >= 15.0
    assert link.answered(200.0) == (True, True)  # back: rewrite what it shows
    assert link.health is Health.OK and link.due(200.0)
    assert link.read_counter(2) == 0  # it may have lost power: no event from the jump
    link.garbled(201.0)
    assert link.health is Health.CRC_ERRORS and link.due(201.0)
    link.answered(202.0)
    assert link.read_counter(3) == 1  # a noisy line keeps the baseline


def test_crc_matches_the_modbus_reference_value() -> None:
    assert crc16(bytes.fromhex("010400000002")) == bytes.fromhex("71cb")


# -- the master against the emulator ----------------------------------------------------------


class Bench:
    """Emulator + master with its inputs and health reports collected."""

    def __init__(self, devices: tuple[BusDevice, ...], baud: int = BAUD,
                 timeout_s: float = 0.05) -> None:
        self.emulator = BusEmulator(devices, baud).start()
        self.inputs: list[BusInput] = []
        self.reports: list[list[DeviceReport]] = []
        self.master = BusMaster(RtuPort(self.emulator.port, baud, timeout_s), devices,
                                self.inputs.append, self.reports.append).start()

    def health(self, address: int) -> Health:
        return self.master.links[address].health

    def stop(self) -> None:
        self.master.stop()
        self.emulator.stop()


@pytest.fixture
def bench() -> Iterator[Bench]:
    b = Bench((D1, K1, P1))
    wait_for(lambda: all(b.health(a) is Health.OK for a in (1, 2, 3)), what="devices up")
    yield b
    b.stop()


def test_every_key_and_every_grade_arrives_once(bench: Bench) -> None:
    def last_is(device: BusDevice, value: int) -> Callable[[], bool]:
        return lambda: bool(bench.inputs) and bench.inputs[-1].device == device \
            and bench.inputs[-1].value == value

    for key in Key:
        bench.emulator.press(1, key)
        wait_for(last_is(K1, key), what=f"key {key}")
    for grade in range(1, 6):
        bench.emulator.rate(1, grade)
        wait_for(last_is(P1, grade), what=f"grade {grade}")
    time.sleep(0.1)
    assert [i.value for i in bench.inputs] == [1, 2, 3, 4, 5, 1, 2, 3, 4, 5]
    assert all(i.missed == 0 for i in bench.inputs)


def test_two_presses_within_one_poll_are_one_event_with_the_last_key(bench: Bench) -> None:
    bench.emulator.device(Kind.KEYPAD, 1).event(1)  # both land before the next poll
    bench.emulator.device(Kind.KEYPAD, 1).event(1)
    wait_for(lambda: bench.inputs)
    time.sleep(0.1)
    assert len(bench.inputs) == 1 and bench.inputs[0].missed == 1


def test_garbled_answer_is_ignored_and_the_press_is_read_once_next_poll(bench: Bench) -> None:
    keypad = bench.emulator.device(Kind.KEYPAD, 1)
    keypad.garble = 1
    keypad.event(Key.CALL_NEXT)
    wait_for(lambda: bench.inputs, what="the press after the bad frame")
    time.sleep(0.1)
    assert len(bench.inputs) == 1
    assert bench.master.links[2].errors == 1
    assert any(r.health is Health.CRC_ERRORS for rs in bench.reports for r in rs
               if r.device == K1)
    # A noisy line stays reported as such for a minute of good answers (no flapping).
    assert bench.health(2) is Health.CRC_ERRORS


def test_request_with_a_bad_crc_is_ignored_by_the_device(bench: Bench) -> None:
    import os

    dropped = bench.emulator.dropped
    frame = bytes.fromhex("010400000002") + b"\x00\x00"  # wrong CRC
    with open(bench.emulator.port, "wb", buffering=0) as line:  # a second talker on the line
        line.write(frame)
    wait_for(lambda: bench.emulator.dropped > dropped, what="the bad frame dropped")
    assert os.path.exists(bench.emulator.port)
    bench.emulator.press(1, Key.RECALL)  # the bus still works
    wait_for(lambda: bench.inputs and bench.inputs[-1].value == Key.RECALL)


def test_display_written_on_change_only_and_rewritten_after_a_power_cut(bench: Bench) -> None:
    display = bench.emulator.device(Kind.WINDOW_DISPLAY, 1)
    bench.master.hold(1, 0, window_frame(
        _state(WindowState(1, False, current="t1", staff_id="s1"), _ticket()), 1,
        True).registers())
    wait_for(lambda: display.text == "A012" and display.mode is Mode.BLINK)
    writes = display.writes
    time.sleep(0.2)
    assert display.writes == writes  # unchanged content is not written again
    display.unplug()
    display.plug()  # power cut: blank and dark
    assert display.mode is Mode.OFF
    wait_for(lambda: display.text == "A012" and display.mode is Mode.BLINK,
             what="rewritten after the power cut")


def test_unplugged_device_costs_the_others_at_most_one_timeout_per_retry() -> None:
    devices = every_window([1, 2])
    b = Bench(devices, timeout_s=0.1)
    try:
        wait_for(lambda: all(b.health(d.address) is Health.OK for d in devices))
        b.emulator.device(Kind.KEYPAD, 2).unplug()
        wait_for(lambda: b.health(5) is Health.NO_ANSWER, what="no answer")
        cycles, started = b.master.cycles, time.monotonic()
        time.sleep(1.5)
        per_cycle = (time.monotonic() - started) / max(1, b.master.cycles - cycles)
        assert per_cycle < 0.05, f"{per_cycle * 1000:.0f} ms a cycle: the silent device " \
                                 "is retried every cycle"
        b.emulator.press(1, Key.CALL_NEXT)
        wait_for(lambda: b.inputs and b.inputs[-1].device.window == 1)
        b.emulator.device(Kind.KEYPAD, 2).plug()
        wait_for(lambda: b.health(5) is Health.OK, timeout=40, what="back after the backoff")
    finally:
        b.stop()


def test_sixteen_devices_on_one_bus_are_all_polled_and_written() -> None:
    devices = tuple(BusDevice(a, Kind.KEYPAD if a % 2 else Kind.RATING_PAD, (a + 1) // 2)
                    for a in range(1, 17))
    b = Bench(devices)
    try:
        wait_for(lambda: all(b.health(d.address) is Health.OK for d in devices))
        for n in range(1, 9):
            b.emulator.press(n, Key.CALL_NEXT)
            b.emulator.rate(n, 2)
        wait_for(lambda: len(b.inputs) == 16, what="16 events")
        assert {(i.device.address, i.value) for i in b.inputs} == \
            {(d.address, 1 if d.kind is Kind.KEYPAD else 2) for d in devices}
        for d in devices:
            if d.kind is Kind.KEYPAD:
                b.master.hold(d.address, 0, encode_text(f"K{d.address}"))
        wait_for(lambda: all(b.emulator.devices[d.address].text == f"K{d.address}"
                             for d in devices if d.kind is Kind.KEYPAD))
    finally:
        b.stop()


def test_panel_commands_press_keys_and_rate() -> None:
    emulator = BusEmulator(every_window([1]), BAUD)
    try:
        assert run_command(emulator, "c1") is None
        assert run_command(emulator, "s1 4") is None
        assert emulator.device(Kind.KEYPAD, 1).inputs == [1, 1]
        assert emulator.device(Kind.RATING_PAD, 1).inputs == [1, 4]
        assert run_command(emulator, "c9") is not None  # no such window: said, no crash
        assert run_command(emulator, "zz") is not None
        assert "窗口 1" in emulator.panel()
    finally:
        emulator.stop()


# -- joined to a live dispatcher --------------------------------------------------------------


class Hall:
    """A live dispatcher, the emulator and the bus service acting as the hall device."""

    def __init__(self, tmp: Path, highlight_s: float = 0.6) -> None:
        self.config = small_config(double_press_s=0)
        self.live = LiveDispatcher(self.config, tmp / "qms.db", demo_accounts=True).start()
        self.devices = every_window([1, 2])
        self.emulator = BusEmulator(self.devices, BAUD).start()
        self.highlight_s = highlight_s
        self.service = self.new_service().start()

    def new_service(self) -> BusService:
        from bus.config import BusConfig

        bus = BusConfig(port=self.emulator.port, baudrate=BAUD, timeout_ms=50,
                        devices=self.devices)
        service = build_service(self.config, bus, self.live.url, "hall",
                                highlight_s=self.highlight_s)
        service.wall = self.live.clock
        return service

    def display(self, n: int) -> Any:
        return self.emulator.device(Kind.WINDOW_DISPLAY, n)

    def keypad(self, n: int) -> Any:
        return self.emulator.device(Kind.KEYPAD, n)

    def issue(self, service_id: str = "yb-dabing") -> dict[str, Any]:
        status, body = self.live.call("POST", "/tickets", {
            "request_id": f"k-{time.monotonic_ns()}", "service_id": service_id}, KIOSK)
        assert status == 201, body
        return dict(body["ticket"])

    def window(self, n: int) -> dict[str, Any]:
        _, state = self.live.call("GET", "/state", token=HALL)
        return next(w for w in state["windows"] if w["number"] == n)

    def stop(self) -> None:
        self.service.stop()
        self.emulator.stop()
        self.live.stop()


@pytest.fixture
def hall(tmp_path: Path) -> Iterator[Hall]:
    h = Hall(tmp_path)
    wait_for(lambda: h.display(1).text == "1号窗口", what="displays brought up")
    # The first reading of a keypad is its counter's baseline: a press before it is not seen.
    wait_for(lambda: all(link.counter is not None for link in h.service.master.links.values()
                         if link.device.kind is not Kind.WINDOW_DISPLAY), what="baselines")
    yield h
    h.stop()


def test_call_key_calls_once_blinks_the_display_then_holds_it(hall: Hall) -> None:
    first, second = hall.issue(), hall.issue()
    hall.emulator.press(1, Key.CALL_NEXT)
    wait_for(lambda: hall.keypad(1).text == f"叫号 {first['number']}", what="keypad answer")
    assert hall.window(1)["current"]["id"] == first["id"]
    wait_for(lambda: hall.display(1).text == first["number"]
             and hall.display(1).mode is Mode.BLINK, what="blinking")
    wait_for(lambda: hall.display(1).mode is Mode.STEADY, what="steady after the highlight")
    assert hall.window(2)["current"] is None  # only window 1's keypad was pressed
    _, waiting = hall.live.call("GET", "/state", token=HALL)
    assert [t["id"] for t in waiting["waiting"]] == [second["id"]]


def test_recall_blinks_again_and_no_show_and_pause_show_on_the_display(hall: Hall) -> None:
    ticket = hall.issue()
    hall.emulator.press(1, Key.CALL_NEXT)
    wait_for(lambda: hall.display(1).mode is Mode.STEADY and hall.display(1).text
             == ticket["number"], what="called and steady")
    hall.emulator.press(1, Key.RECALL)
    wait_for(lambda: hall.display(1).mode is Mode.BLINK, what="recall blinks")
    wait_for(lambda: hall.keypad(1).text == f"重呼 {ticket['number']}")
    assert hall.window(1)["current"]["calls"] == 2
    hall.emulator.press(1, Key.NO_SHOW)
    wait_for(lambda: hall.display(1).text == "1号窗口", what="no-show clears the number")
    wait_for(lambda: hall.keypad(1).text == f"过号 {ticket['number']}")
    hall.emulator.press(1, Key.PAUSE_RESUME)
    wait_for(lambda: hall.display(1).text == "暂停服务", what="paused")
    assert hall.window(1)["status"] == "paused"
    hall.emulator.press(1, Key.PAUSE_RESUME)
    wait_for(lambda: hall.display(1).text == "1号窗口", what="resumed")
    wait_for(lambda: hall.keypad(1).text == "已恢复")


def test_refused_press_shows_the_error_code_on_the_keypad(hall: Hall) -> None:
    hall.emulator.press(2, Key.RECALL)  # nobody to recall at window 2
    wait_for(lambda: hall.keypad(2).text.startswith("E409"), what="error code")
    assert hall.window(2)["current"] is None


def test_display_goes_dark_when_the_window_closes(hall: Hall) -> None:
    status, _ = hall.live.call("POST", "/windows/2/sign-in",
                               {"request_id": "out-2", "staff_id": None}, HALL)
    assert status == 200
    wait_for(lambda: hall.display(2).mode is Mode.OFF, what="dark")


def test_display_unplugged_during_a_call_shows_it_when_back(hall: Hall) -> None:
    ticket = hall.issue()
    hall.display(1).unplug()
    wait_for(lambda: hall.service.master.links[1].health is Health.NO_ANSWER)
    hall.emulator.press(1, Key.CALL_NEXT)
    wait_for(lambda: hall.keypad(1).text.startswith("叫号"))
    hall.display(1).plug()  # back from a power cut: blank
    wait_for(lambda: hall.display(1).text == ticket["number"], timeout=10,
             what="brought up to date")


def test_restarted_bus_master_brings_every_display_up_to_date(hall: Hall) -> None:
    ticket = hall.issue()
    hall.service.stop()
    status, _ = hall.live.call("POST", "/windows/2/call-next", {"request_id": "c2"}, HALL)
    assert status == 200
    assert hall.display(2).text == "2号窗口"  # nobody told it while the master was down
    hall.service = hall.new_service().start()
    wait_for(lambda: hall.display(2).text == ticket["number"], what="after the restart")
    assert hall.display(1).text == "1号窗口"


def test_rating_key_asks_the_pad_and_the_grade_is_stored_with_the_ticket_once(
        hall: Hall) -> None:
    ticket = hall.issue()
    pad = hall.emulator.device(Kind.RATING_PAD, 1)
    hall.emulator.press(1, Key.CALL_NEXT)
    wait_for(lambda: hall.keypad(1).text.startswith("叫号"))
    hall.emulator.press(1, Key.ASK_RATING)
    wait_for(lambda: pad.asking, what="the pad invites a rating")
    assert hall.keypad(1).text == "请评价"
    hall.emulator.rate(1, 2)
    wait_for(lambda: hall.keypad(1).text == "已评价 谢谢", what="rating stored")
    wait_for(lambda: not pad.asking, what="the pad back to idle")
    _, stored = hall.live.call("GET", f"/tickets/{ticket['id']}", token=HALL)
    assert stored["ticket"]["rating"] == 2
    hall.emulator.rate(1, 5)  # a second rating of the same ticket
    wait_for(lambda: hall.keypad(1).text.startswith("E409"), what="refused")
    _, stored = hall.live.call("GET", f"/tickets/{ticket['id']}", token=HALL)
    assert stored["ticket"]["rating"] == 2


def test_rating_with_no_ticket_served_lately_is_kept_unattached(hall: Hall) -> None:
    import sqlite3

    hall.emulator.rate(2, 4)  # nobody was served at window 2
    wait_for(lambda: hall.keypad(2).text == "已评价 谢谢")
    with sqlite3.connect(hall.live.db) as db:
        rows = db.execute("SELECT window, ticket_id, score FROM ratings").fetchall()
        tasks = db.execute("SELECT window, score FROM rating_tasks").fetchall()
    assert rows == [(2, None, 4)] and tasks == [(2, 4)]


def test_device_health_reaches_the_console_overview(hall: Hall) -> None:
    from .test_console import Browser

    hall.keypad(2).unplug()
    wait_for(lambda: hall.service.master.links[5].health is Health.NO_ANSWER)
    browser = Browser(hall.live.port)
    browser.login("admin", "demo-admin")

    def shown() -> bool:
        _, _, page = browser.request("GET", "/console/")
        return "呼叫器 #5（2 号窗口）：无应答" in page

    wait_for(shown, what="the alarm on the overview")


def test_rating_asked_for_belongs_to_that_ticket_even_after_the_next_call(hall: Hall) -> None:
    first, second = hall.issue(), hall.issue()
    pad = hall.emulator.device(Kind.RATING_PAD, 1)
    hall.emulator.press(1, Key.CALL_NEXT)
    wait_for(lambda: hall.keypad(1).text == f"叫号 {first['number']}")
    hall.emulator.press(1, Key.ASK_RATING)
    wait_for(lambda: pad.asking)
    hall.emulator.press(1, Key.CALL_NEXT)  # staff call the next resident at once
    wait_for(lambda: hall.keypad(1).text == f"叫号 {second['number']}")
    wait_for(lambda: not pad.asking, what="the pad back to idle with the new call")
    hall.emulator.rate(1, 1)  # the first resident still rates, on the way out
    wait_for(lambda: hall.keypad(1).text == "已评价 谢谢")
    _, one = hall.live.call("GET", f"/tickets/{first['id']}", token=HALL)
    _, two = hall.live.call("GET", f"/tickets/{second['id']}", token=HALL)
    assert one["ticket"]["rating"] == 1 and two["ticket"]["rating"] is None


def test_bus_config_lists_every_problem_at_once() -> None:
    from base.config import ConfigError
    from qms.config import parse_config

    from .helpers import SMALL_TOML

    base = SMALL_TOML.replace("POLICY", "short_threshold = 2")
    good = base + '''
[bus]
port = "/dev/ttyUSB0"
baudrate = 19200
[[bus.devices]]
address = 1
kind = "window_display"
window = 1
'''
    config = parse_config(good)
    assert config.bus.configured and config.bus.baudrate == 19200
    assert config.bus.devices == (BusDevice(1, Kind.WINDOW_DISPLAY, 1),)
    bad = base + '''
[bus]
baudrate = 1000
device = "desk-3"
[[bus.devices]]
address = 1
kind = "led"
window = 1
[[bus.devices]]
address = 1
kind = "keypad"
window = 9
[[bus.devices]]
address = 300
kind = "keypad"
window = 1
'''
    with pytest.raises(ConfigError) as err:
        parse_config(bad)
    text = "\n".join(err.value.problems)
    for expected in ("bus.port", "bus.baudrate", "devices[0].kind", "devices[1].address",
                     "devices[2].address"):
        assert expected in text, text


def test_bus_may_only_press_windows_its_device_operates() -> None:
    from base.config import ConfigError
    from qms.config import parse_config

    from .helpers import SMALL_TOML

    text = SMALL_TOML.replace("POLICY", "short_threshold = 2") + '''
[bus]
port = "/dev/ttyUSB0"
device = "desk-3"
[[bus.devices]]
address = 1
kind = "keypad"
window = 1
'''
    with pytest.raises(ConfigError, match="may not operate window 1"):
        parse_config(text)


# -- what the review found: noise, devices coming back, refusals, a lost port ------------------


def test_one_missed_answer_loses_no_press(bench: Bench) -> None:
    keypad = bench.emulator.device(Kind.KEYPAD, 1)
    keypad.event(Key.RECALL)
    keypad.mute = 1  # noise: the next poll goes unanswered, the press waits in the counter
    wait_for(lambda: bench.inputs, what="the press, read at the poll after the miss")
    assert bench.inputs[0].value == Key.RECALL
    assert bench.health(2) is Health.OK  # one miss is noise, not a device gone


def test_device_back_with_a_garbled_first_answer_is_resynced_not_pressed(bench: Bench) -> None:
    keypad = bench.emulator.device(Kind.KEYPAD, 1)
    bench.master.hold(2, 0, encode_text("就绪"))
    wait_for(lambda: keypad.text == "就绪")
    for _ in range(3):
        keypad.event(Key.CALL_NEXT)
    wait_for(lambda: len(bench.inputs) >= 1)
    seen = len(bench.inputs)
    keypad.unplug()
    wait_for(lambda: bench.health(2) is Health.NO_ANSWER, what="gone")
    keypad.plug()  # powered up blank, counter 0 …
    keypad.garble = 1  # … and its first answer garbled
    wait_for(lambda: keypad.text == "就绪", timeout=10, what="its text written again")
    time.sleep(0.2)
    assert len(bench.inputs) == seen  # the counter going 3 → 0 is no press


def test_counter_jumping_after_a_short_power_blip_is_a_restart_not_presses(bench: Bench) -> None:
    keypad = bench.emulator.device(Kind.KEYPAD, 1)
    keypad.event(Key.CALL_NEXT)
    keypad.event(Key.CALL_NEXT)
    wait_for(lambda: bench.inputs)
    seen = len(bench.inputs)
    with bench.emulator._lock:  # restarted between two polls: counter back to 0
        keypad.power_up()
    time.sleep(0.2)
    assert len(bench.inputs) == seen


def test_display_refusing_read_back_is_written_and_not_reported_broken() -> None:
    b = Bench((D1, K1))
    try:
        b.emulator.device(Kind.WINDOW_DISPLAY, 1).reads = False
        b.master.hold(1, 0, window_frame(
            _state(WindowState(1, False, current="t1", staff_id="s1"), _ticket()), 1,
            False).registers())
        wait_for(lambda: b.emulator.device(Kind.WINDOW_DISPLAY, 1).text == "A012")
        wait_for(lambda: not b.master.links[1].readback, what="read-back given up")
        time.sleep(0.2)
        assert b.health(1) is Health.OK and b.master.links[1].errors == 0
    finally:
        b.stop()


def test_master_outlives_its_port_going_away_and_reports_unknown() -> None:
    b = Bench((D1, K1))
    try:
        wait_for(lambda: b.health(2) is Health.OK)
        for device in b.emulator.devices.values():
            device.unplug()
        wait_for(lambda: b.health(2) is Health.NO_ANSWER, what="all silent")
        b.emulator.stop()  # the adapter pulled out: the tty hangs up
        wait_for(lambda: b.health(2) is Health.UNKNOWN, what="port lost")
        time.sleep(0.3)
        assert b.master.alive
    finally:
        b.master.stop()


def test_emulator_stop_twice_closes_nothing_else() -> None:
    emulator = BusEmulator((K1,), BAUD).start()
    emulator.stop()
    fd = os.open(os.devnull, os.O_RDONLY)
    try:
        emulator.stop()
        os.fstat(fd)  # still open
    finally:
        os.close(fd)


def test_timeout_too_short_for_the_baud_rate_is_a_config_error() -> None:
    from base.config import ConfigError
    from qms.config import parse_config

    from .helpers import SMALL_TOML

    text = SMALL_TOML.replace("POLICY", "short_threshold = 2") + '''
[bus]
port = "/dev/ttyUSB0"
baudrate = 1200
timeout_ms = 10
[[bus.devices]]
address = 1
kind = "keypad"
window = 1
'''
    with pytest.raises(ConfigError, match="too short at 1200 baud"):
        parse_config(text)


def test_an_ask_without_anyone_served_does_not_send_a_later_rating_to_an_old_ticket(
        hall: Hall) -> None:
    first = hall.issue()
    hall.emulator.press(1, Key.CALL_NEXT)
    wait_for(lambda: hall.keypad(1).text == f"叫号 {first['number']}")
    hall.emulator.press(1, Key.ASK_RATING)  # asked for the first resident, who leaves unrated
    wait_for(lambda: hall.emulator.device(Kind.RATING_PAD, 1).asking)
    hall.emulator.press(1, Key.PAUSE_RESUME)  # pause finishes the ticket
    wait_for(lambda: hall.keypad(1).text == "已暂停")
    hall.live.clock.advance(10 * 60)  # past attach_min: nobody served lately
    hall.emulator.press(1, Key.ASK_RATING)  # asked with nobody served
    wait_for(lambda: hall.keypad(1).text == "请评价")
    time.sleep(0.1)
    hall.emulator.rate(1, 5)
    wait_for(lambda: hall.keypad(1).text == "已评价 谢谢")
    _, one = hall.live.call("GET", f"/tickets/{first['id']}", token=HALL)
    assert one["ticket"]["rating"] is None  # kept unattached instead
