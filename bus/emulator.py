"""The bus devices' fake: window displays, keypads and rating pads speaking the register map
(Modbus RTU, functions 3, 4, 6 and 16) on a pseudo-terminal, so the real master, minimalmodbus
and pyserial run against it unchanged. Each answer waits for the time its frames would take on
the wire at the emulated baud rate. Used by the tests, the benchmark and `qms demo --bus`.

A device can be unplugged (no answer) and plugged back (powered up blank, as after a power cut),
and its next answers can be garbled (a wrong CRC).
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import time
import tty
from collections.abc import Iterable
from dataclasses import dataclass, field

from bus.health import BusDevice
from bus.registers import (
    ASK_REGISTER,
    GRADE_NAMES,
    MODE_REGISTER,
    TEXT_REGISTERS,
    Kind,
    Mode,
    decode_text,
)

GAP_S = 0.02  # a frame cut off for this long is dropped
HOLDING_SIZE = {Kind.WINDOW_DISPLAY: 9, Kind.KEYPAD: 8, Kind.RATING_PAD: 1}
INPUT_SIZE = {Kind.WINDOW_DISPLAY: 0, Kind.KEYPAD: 2, Kind.RATING_PAD: 2}


def crc16(data: bytes) -> bytes:
    """Modbus CRC-16 (polynomial 0xA001, initial 0xFFFF), low byte first."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc.to_bytes(2, "little")


@dataclass
class EmulatedDevice:
    spec: BusDevice
    holding: list[int] = field(default_factory=list)
    inputs: list[int] = field(default_factory=list)
    powered: bool = True
    garble: int = 0  # answers still to send with a wrong CRC
    mute: int = 0  # requests still to leave unanswered (noise on the line)
    reads: bool = True  # False: a display that answers only writes (function 16)
    requests: int = 0  # frames addressed to it and answered
    writes: int = 0  # holding-register writes taken
    polled_at: float = 0.0  # monotonic time of the last input poll answered
    cycle_s: list[float] = field(default_factory=list)  # between reads of its inputs
    changed: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.power_up()

    def power_up(self) -> None:
        """Registers as after switching on: display dark, no text, counter 0."""
        self.holding = [0] * HOLDING_SIZE[self.spec.kind]
        if self.spec.kind is not Kind.RATING_PAD:
            self.holding[:TEXT_REGISTERS] = [0x2020] * TEXT_REGISTERS
        self.inputs = [0] * INPUT_SIZE[self.spec.kind]

    def unplug(self) -> None:
        self.powered = False

    def plug(self) -> None:
        """Back on the bus after a power cut: blank, counter restarted."""
        self.power_up()
        self.powered = True

    def event(self, value: int) -> None:
        """A key press (keypad) or a rating (pad): the counter moves, the value is kept."""
        self.inputs[0] = (self.inputs[0] + 1) & 0xFFFF
        self.inputs[1] = value

    @property
    def text(self) -> str:
        return decode_text(self.holding[:TEXT_REGISTERS])

    @property
    def mode(self) -> Mode:
        return Mode(self.holding[MODE_REGISTER]) if len(self.holding) > MODE_REGISTER \
            else Mode.STEADY

    @property
    def asking(self) -> bool:
        return self.spec.kind is Kind.RATING_PAD and self.holding[ASK_REGISTER] == 1

    def answer(self, request: bytes) -> bytes | None:
        """The PDU answering a request's PDU (function code onwards), or an exception."""
        fn = request[0]
        if fn == 3 and not self.reads:
            return bytes([fn | 0x80, 1])  # illegal function
        if fn in (3, 4):
            start, count = int.from_bytes(request[1:3], "big"), int.from_bytes(request[3:5], "big")
            table = self.holding if fn == 3 else self.inputs
            if count < 1 or start + count > len(table):
                return bytes([fn | 0x80, 2])
            data = b"".join(v.to_bytes(2, "big") for v in table[start:start + count])
            return bytes([fn, len(data)]) + data
        if fn in (6, 16):
            start = int.from_bytes(request[1:3], "big")
            if fn == 6:
                values = [int.from_bytes(request[3:5], "big")]
            else:
                count = int.from_bytes(request[3:5], "big")
                values = [int.from_bytes(request[6 + 2 * i:8 + 2 * i], "big")
                          for i in range(count)]
            if start + len(values) > len(self.holding):
                return bytes([fn | 0x80, 2])
            self.holding[start:start + len(values)] = values
            self.writes += 1
            self.changed.set()
            return request[:5]
        return bytes([fn | 0x80, 1])


def request_length(buffer: bytes) -> int | None:
    """The length of the request frame starting the buffer, None while it cannot be known."""
    if len(buffer) < 2:
        return None
    if buffer[1] in (3, 4, 6):
        return 8
    if buffer[1] == 16:
        return 9 + buffer[6] if len(buffer) >= 7 else None
    return -1  # a function we do not speak: drop the buffer


class BusEmulator:
    """Devices on a pseudo-terminal: open `port` (its path) as the serial port."""

    def __init__(self, devices: Iterable[BusDevice], baudrate: int = 9600) -> None:
        self.devices = {d.address: EmulatedDevice(d) for d in devices}
        self.baudrate = baudrate
        self._master_fd, self._slave_fd = os.openpty()
        tty.setraw(self._slave_fd)
        self.port = os.ttyname(self._slave_fd)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="qms-bus-emulator", daemon=True)
        self.dropped = 0  # request frames dropped (bad CRC or cut off)

    def start(self) -> BusEmulator:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(2.0)
        for fd in (self._master_fd, self._slave_fd):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master_fd = self._slave_fd = -1  # a second stop closes nothing of others

    def device(self, kind: Kind, window: int) -> EmulatedDevice:
        return next(d for d in self.devices.values()
                    if d.spec.kind is kind and d.spec.window == window)

    def press(self, window: int, key: int) -> None:
        with self._lock:
            self.device(Kind.KEYPAD, window).event(key)

    def rate(self, window: int, grade: int) -> None:
        with self._lock:
            self.device(Kind.RATING_PAD, window).event(grade)

    def wire_s(self, n_bytes: int) -> float:
        return n_bytes * 10 / self.baudrate  # 8N1: 10 bits a byte

    def _run(self) -> None:
        buffer = b""
        while not self._stop.is_set():
            ready, _, _ = select.select([self._master_fd], [], [], GAP_S if buffer else 0.1)
            if not ready:
                if buffer:
                    self.dropped += 1  # cut off mid-frame
                buffer = b""
                continue
            try:
                buffer += os.read(self._master_fd, 512)
            except OSError:
                time.sleep(0.05)
                continue
            while buffer:
                length = request_length(buffer)
                if length is None or 0 < length > len(buffer):
                    break
                if length < 0:
                    self.dropped += 1
                    buffer = b""
                    break
                frame, buffer = buffer[:length], buffer[length:]
                self._serve(frame)

    def _serve(self, frame: bytes) -> None:
        if crc16(frame[:-2]) != frame[-2:]:
            self.dropped += 1
            return
        with self._lock:
            device = self.devices.get(frame[0])
            if device is None or not device.powered:
                return
            if device.mute:
                device.mute -= 1
                return
            pdu = device.answer(frame[1:-2])
            if pdu is None:
                return
            device.requests += 1
            now = time.monotonic()
            if frame[1] == 4:  # an input poll: the master's cycle, as this device sees it
                if device.polled_at and len(device.cycle_s) < 100_000:
                    device.cycle_s.append(now - device.polled_at)
                device.polled_at = now
            reply = bytes([frame[0]]) + pdu
            reply += crc16(reply)
            if device.garble:
                device.garble -= 1
                reply = reply[:-1] + bytes([reply[-1] ^ 0xFF])
        time.sleep(self.wire_s(len(frame) + len(reply)))
        with contextlib.suppress(OSError):
            os.write(self._master_fd, reply)

    # -- the demo's terminal panel ------------------------------------------------------------

    def panel(self) -> str:
        """One line per window: its display, its keypad's display, whether the pad asks."""
        lines = []
        windows = sorted({d.spec.window for d in self.devices.values()})
        with self._lock:
            for n in windows:
                parts = [f"窗口{n:>2}"]
                for d in self.devices.values():
                    if d.spec.window != n:
                        continue
                    if d.spec.kind is Kind.WINDOW_DISPLAY:
                        mode = {Mode.OFF: "  ", Mode.STEADY: "  ", Mode.BLINK: "闪"}[d.mode]
                        shown = d.text if d.mode is not Mode.OFF else ""
                        parts.append(f"[{shown:<10}]{mode}")
                    elif d.spec.kind is Kind.KEYPAD:
                        parts.append(f"键盘:{d.text:<12}")
                    else:
                        parts.append("评价器:请评价" if d.asking else "评价器:--")
                    if not d.powered:
                        parts.append("(断开)")
                lines.append(" ".join(parts))
        return "\n".join(lines)


KEY_COMMANDS = {"c": 1, "r": 2, "x": 3, "p": 4, "e": 5}
HELP = ("命令/commands: c3 叫号 call, r3 重呼 recall, x3 过号 no-show, p3 暂停/恢复 pause, "
        "e3 评价 ask to rate, s3 1..5 评分 rate (" +
        " ".join(f"{k}={v}" for k, v in GRADE_NAMES.items()) + "), q quit")


def run_command(emulator: BusEmulator, line: str) -> str | None:
    """A panel command (`c3`, `s3 2` …); an error text, or None when done."""
    line = line.strip()
    if not line:
        return None
    head, *rest = line.split()
    verb, digits = head[0].lower(), head[1:]
    if not digits.isdigit():
        return HELP
    window = int(digits)
    try:
        if verb in KEY_COMMANDS:
            emulator.press(window, KEY_COMMANDS[verb])
        elif verb == "s" and rest and rest[0] in ("1", "2", "3", "4", "5"):
            emulator.rate(window, int(rest[0]))
        else:
            return HELP
    except StopIteration:
        return f"窗口 {window} 没有这种设备 / no such device at window {window}"
    return None
