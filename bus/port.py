"""The serial line as the master uses it: three Modbus RTU transactions behind a small
interface, implemented with minimalmodbus over a pyserial port (a real RS-485 adapter, or the
emulator's pseudo-terminal)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Protocol

import minimalmodbus
import serial


class NoAnswer(Exception):
    """The device did not answer within the timeout."""


class BadFrame(Exception):
    """An answer that failed its CRC, came from another address, or refused the request."""


class Refused(BadFrame):
    """The device answered with a Modbus exception (e.g. a function or register it lacks)."""


class ModbusPort(Protocol):
    def open(self) -> None: ...
    def close(self) -> None: ...
    def read_input(self, address: int, start: int, count: int) -> list[int]: ...
    def read_holding(self, address: int, start: int, count: int) -> list[int]: ...
    def write_holding(self, address: int, start: int, values: list[int]) -> None: ...


class RtuPort:
    """Modbus RTU on one serial port, 8N1. `open()` raises `serial.SerialException` when the
    port cannot be opened (adapter unplugged); any transaction may raise it too."""

    def __init__(self, port: str, baudrate: int = 9600, timeout_s: float = 0.1) -> None:
        self.port = port
        self.baudrate = baudrate
        self.timeout_s = timeout_s
        self._serial: serial.Serial | None = None
        self._instruments: dict[int, minimalmodbus.Instrument] = {}

    def open(self) -> None:
        self.close()
        self._serial = serial.Serial(self.port, baudrate=self.baudrate, bytesize=8,
                                     parity=serial.PARITY_NONE, stopbits=1,
                                     timeout=self.timeout_s, write_timeout=1.0)

    def close(self) -> None:
        self._instruments.clear()
        if self._serial is not None:
            self._serial.close()
            self._serial = None

    def _instrument(self, address: int) -> minimalmodbus.Instrument:
        inst = self._instruments.get(address)
        if inst is None:
            if self._serial is None:
                raise serial.SerialException("port not open")
            inst = minimalmodbus.Instrument(self._serial, address)
            inst.clear_buffers_before_each_transaction = True  # drop a late answer's bytes
            self._instruments[address] = inst
        return inst

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except minimalmodbus.NoResponseError as exc:
            raise NoAnswer(str(exc)) from None
        except minimalmodbus.SlaveReportedException as exc:
            raise Refused(str(exc)) from None
        except minimalmodbus.InvalidResponseError as exc:
            raise BadFrame(str(exc)) from None

    def read_input(self, address: int, start: int, count: int) -> list[int]:
        with self._errors():
            return list(self._instrument(address).read_registers(start, count, functioncode=4))

    def read_holding(self, address: int, start: int, count: int) -> list[int]:
        with self._errors():
            return list(self._instrument(address).read_registers(start, count, functioncode=3))

    def write_holding(self, address: int, start: int, values: list[int]) -> None:
        with self._errors():
            self._instrument(address).write_registers(start, values)
