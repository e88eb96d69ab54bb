"""The bus master: one thread owns the serial port, polls every keypad and rating pad in turn,
writes what the displays, keypads and pads should hold when it changes, and keeps each device's
health.

Other threads only set what a device should hold (`hold`); the master thread alone talks on the
line. Inputs (a key, a rating) and health changes leave through callbacks that must only enqueue.
Pending writes go out between two polls, so a display follows a key press within one
transaction. One window display a cycle is read back (its mode register), so a display that
lost power is rewritten even if no poll ever missed it.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import random
import termios
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import serial

from base.backoff import Backoff
from bus.health import BusDevice, DeviceLink, Health
from bus.port import BadFrame, ModbusPort, NoAnswer, Refused
from bus.registers import COUNTER_REGISTER, MODE_REGISTER, Kind

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BusInput:
    """One event read from a keypad (a key) or a rating pad (a grade)."""

    device: BusDevice
    value: int
    missed: int = 0  # further presses between two polls that the counter showed (not sent)


@dataclass(frozen=True)
class DeviceReport:
    device: BusDevice
    health: Health
    errors: int
    since: float | None  # clock time of the last change


class BusMaster:
    def __init__(
        self,
        port: ModbusPort,
        devices: Sequence[BusDevice],
        on_input: Callable[[BusInput], None],
        on_health: Callable[[list[DeviceReport]], None],
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.port = port
        self.links = {d.address: DeviceLink(d, rng=rng or random.Random()) for d in devices}
        self.on_input = on_input
        self.on_health = on_health
        self.clock = clock
        self._lock = threading.Lock()
        self._wanted: dict[tuple[int, int], list[int]] = {}  # (address, start) → values
        self._written: dict[tuple[int, int], list[int]] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._port_open = False
        self._port_backoff = Backoff(0.5, 10.0)
        self._check_next = 0  # which display is read back next
        self.cycles = 0
        self.last_cycle_s = 0.0

    # -- any thread ---------------------------------------------------------------------------

    def hold(self, address: int, start: int, values: list[int]) -> None:
        """What device `address` should hold from register `start` on; written when it differs
        from what was last written (or the device came back)."""
        with self._lock:
            self._wanted[(address, start)] = list(values)
        self._wake.set()

    @property
    def started(self) -> bool:
        return self._thread is not None

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def reports(self) -> list[DeviceReport]:
        return [DeviceReport(link.device, link.health, link.errors, link.changed_at)
                for link in self.links.values()]

    def start(self) -> BusMaster:
        self._thread = threading.Thread(target=self._run, name="qms-bus", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 3.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.port.close()

    # -- the master thread --------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self._port_open and not self._open_port():
                continue
            try:
                started = self.clock()
                polled = self.cycle()
                self.last_cycle_s = self.clock() - started
                if not polled:  # nothing due: every device backing off, or no input devices
                    self._wake.wait(0.05)
                    self._wake.clear()
            except (serial.SerialException, OSError, termios.error) as exc:
                log.error("serial port failed: %s", exc)  # adapter unplugged, tty hung up
                self._port_lost()
            except Exception:  # never leave the line unattended: start over on the port
                log.exception("bus master")
                self._port_lost()

    def _open_port(self) -> bool:
        try:
            self.port.open()
        except (serial.SerialException, OSError) as exc:
            log.error("cannot open the bus port: %s", exc)
            self._stop.wait(self._port_backoff.next())
            return False
        self._port_backoff.reset()
        self._port_open = True
        return True

    def _port_lost(self) -> None:
        with contextlib.suppress(Exception):
            self.port.close()
        self._port_open = False
        with self._lock:
            self._written.clear()
        for link in self.links.values():
            link.counter = None
            link.resync = True
            link.health = Health.UNKNOWN
            link.changed_at = self.clock()
        self.on_health(self.reports())
        self._stop.wait(self._port_backoff.next())

    def cycle(self) -> int:
        """One round: each due keypad and pad polled, pending writes between polls, one display
        read back. Returns the number of transactions made."""
        done = self._flush()
        for link in self.links.values():
            if self._stop.is_set():
                break
            if link.device.kind is Kind.WINDOW_DISPLAY or not link.due(self.clock()):
                continue
            self._poll(link)
            done += 1 + self._flush()
        done += self._check_display()
        self.cycles += 1
        return done

    def _poll(self, link: DeviceLink) -> None:
        values = self._transact(link, lambda: self.port.read_input(
            link.device.address, COUNTER_REGISTER, 2))
        if values is None:
            return
        events = link.read_counter(values[0])
        if events:
            self.on_input(BusInput(link.device, values[1], missed=events - 1))

    def _check_display(self) -> int:
        displays = [link for link in self.links.values()
                    if link.device.kind is Kind.WINDOW_DISPLAY and link.due(self.clock())
                    and link.readback]
        if not displays:
            return 0
        link = displays[self._check_next % len(displays)]
        self._check_next += 1
        address = link.device.address
        mode = self._transact(link, lambda: self._read_mode(link))
        with self._lock:
            written = self._written.get((address, 0))
            if mode is not None and written is not None and mode[0] != written[MODE_REGISTER]:
                log.info("window display %d lost its content: rewritten", address)
                self._forget(address)
        return 1 + self._flush()

    def _flush(self) -> int:
        """Write every register block that differs from what its device holds."""
        done = 0
        with self._lock:
            pending = [(key, values) for key, values in self._wanted.items()
                       if self._written.get(key) != values]
        for (address, start), values in pending:
            link = self.links.get(address)
            if link is None or not link.due(self.clock()):
                continue
            ok = self._transact(link, functools.partial(self._write, address, start, values))
            done += 1
            if ok is not None:
                with self._lock:
                    self._written[(address, start)] = values
        return done

    def _read_mode(self, link: DeviceLink) -> list[int] | None:
        """A display's mode register, read back; a display that refuses the read (it speaks
        only function 16) is not asked again: it answered, so it is there."""
        try:
            return self.port.read_holding(link.device.address, MODE_REGISTER, 1)
        except Refused:
            log.info("window display %d does not answer reads: not read back",
                     link.device.address)
            link.readback = False
            return None

    def _write(self, address: int, start: int, values: list[int]) -> list[int]:
        self.port.write_holding(address, start, values)
        return values

    def _transact(self, link: DeviceLink, call: Callable[[], list[int] | None]
                  ) -> list[int] | None:
        now = self.clock()
        try:
            values = call()
        except NoAnswer:
            changed = link.silent(self.clock())
        except BadFrame as exc:
            log.debug("bad frame from %d: %s", link.device.address, exc)
            changed = link.garbled(self.clock())
        else:
            changed, came_back = link.answered(now)
            if came_back:
                with self._lock:
                    self._forget(link.device.address)
            if changed:
                self.on_health(self.reports())
            return values
        if changed:
            log.warning("bus device %d (%s, window %d): %s", link.device.address,
                        link.device.kind, link.device.window, link.health)
            self.on_health(self.reports())
        return None

    def _forget(self, address: int) -> None:
        """What `address` holds is unknown now (it came back, or lost power): write it again.
        Called with the lock held."""
        for key in [k for k in self._written if k[0] == address]:
            del self._written[key]
