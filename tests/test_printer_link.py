"""Printer status, the worker's states and faults, and real serial/network links to fakes."""

from __future__ import annotations

import os
import pty
import select
import socket
import threading
import time
import tty
from collections.abc import Iterator
from pathlib import Path

import pytest

from printer.fake import FakePrinter
from printer.links import PrinterUnavailable, network_link, serial_link
from printer.status import PrinterStatus, parse_status
from printer.worker import LinkState, PrinterWorker, query_status

from .conftest import wait_until

TICKET = b"\x1b@\x1c&A001\n\x1dVB\x00"



@pytest.mark.parametrize(
    ("printer", "offline", "paper", "status"),
    [
        (0x12, 0x12, 0x12, PrinterStatus.OK),
        (0x12, 0x12, 0x1E, PrinterStatus.PAPER_LOW),
        (0x1A, 0x32, 0x7E, PrinterStatus.PAPER_OUT),
        (0x12, 0x12, 0x72, PrinterStatus.PAPER_OUT),
        (0x1A, 0x16, 0x12, PrinterStatus.COVER_OPEN),
        (0x1A, 0x12, 0x12, PrinterStatus.OFFLINE),
        (None, None, None, PrinterStatus.UNKNOWN),
        (0x12, None, None, PrinterStatus.UNKNOWN),  # half an answer is not OK
        (0xFF, 0xFF, 0xFF, PrinterStatus.UNKNOWN),  # garbage is not OK
        (0x00, 0x00, 0x00, PrinterStatus.UNKNOWN),  # a silent line reading zeros is not OK
    ],
)
def test_status_bytes(printer: int | None, offline: int | None, paper: int | None,
                      status: PrinterStatus) -> None:
    assert parse_status(printer, offline, paper) is status


@pytest.fixture
def fake(tmp_path: Path) -> FakePrinter:
    return FakePrinter(tmp_path / "printer")


@pytest.fixture
def worker(fake: FakePrinter) -> Iterator[PrinterWorker]:
    w = PrinterWorker(lambda: fake, poll_s=0.05, backoff_base_s=0.02, backoff_cap_s=0.1)
    w.start()
    yield w
    w.stop()


def test_prints_and_records_the_job(worker: PrinterWorker, fake: FakePrinter) -> None:
    result = worker.submit(TICKET).result(5)
    assert result.printed and result.status is PrinterStatus.OK and result.reason == ""
    assert fake.jobs == [TICKET]
    assert fake.folder is not None and (fake.folder / "0001.bin").read_bytes() == TICKET
    assert worker.state is LinkState.READY


@pytest.mark.parametrize("fault", ["paper_out", "cover_open", "offline"])
def test_a_fault_fails_the_job_and_prints_nothing(
    worker: PrinterWorker, fake: FakePrinter, fault: str
) -> None:
    wait_until(lambda: worker.state is LinkState.READY)
    fake.set_fault(fault)
    result = worker.submit(TICKET).result(5)
    assert not result.printed and result.status.value == fault and result.reason == fault
    assert fake.jobs == []
    assert worker.state is LinkState.FAULT and not worker.ready
    fake.set_fault(None)
    wait_until(lambda: worker.ready)  # the poll sees the paper is back
    assert worker.submit(TICKET).result(5).printed


def test_paper_low_still_prints_and_says_so(worker: PrinterWorker, fake: FakePrinter) -> None:
    fake.set_fault("paper_low")
    result = worker.submit(TICKET).result(5)
    assert result.printed and result.status is PrinterStatus.PAPER_LOW


def test_paper_running_out_during_the_job_is_a_failure(worker: PrinterWorker,
                                                       fake: FakePrinter) -> None:
    wait_until(lambda: worker.ready)
    original = fake.write

    def write_then_run_out(data: bytes) -> None:
        original(data)
        fake.set_fault("paper_out")

    fake.write = write_then_run_out  # type: ignore[method-assign]
    result = worker.submit(TICKET).result(5)
    assert not result.printed and result.status is PrinterStatus.PAPER_OUT


def test_unplug_fails_fast_and_replug_reconnects(worker: PrinterWorker,
                                                 fake: FakePrinter) -> None:
    wait_until(lambda: worker.ready)
    fake.set_fault("unplugged")
    started = time.monotonic()
    result = worker.submit(TICKET).result(5)
    assert not result.printed and "unplugged" in result.reason
    assert time.monotonic() - started < 1.0  # never keeps the kiosk waiting
    wait_until(lambda: worker.state is LinkState.DISCONNECTED)
    opens = fake.opens
    fake.set_fault(None)  # plugged back in
    wait_until(lambda: worker.ready)
    assert fake.opens > opens
    assert worker.submit(TICKET).result(5).printed


def test_a_slow_printer_does_not_block_submitting(tmp_path: Path) -> None:
    slow = FakePrinter(tmp_path / "p", bytes_per_s=200)  # 13 bytes: 65 ms
    w = PrinterWorker(lambda: slow, poll_s=0.05).start()
    try:
        started = time.monotonic()
        futures = [w.submit(TICKET) for _ in range(3)]
        assert time.monotonic() - started < 0.05
        assert all(f.result(5).printed for f in futures)
    finally:
        w.stop()


def test_stopping_answers_every_waiting_job(tmp_path: Path) -> None:
    slow = FakePrinter(tmp_path / "p", bytes_per_s=50)
    w = PrinterWorker(lambda: slow).start()
    futures = [w.submit(TICKET) for _ in range(5)]
    w.stop()
    results = [f.result(5) for f in futures]
    assert any(not r.printed and r.reason == "printer stopped" for r in results)


def test_the_fake_writes_png_previews(tmp_path: Path) -> None:
    from base.fonts import find_font

    font = find_font()
    if font is None:
        pytest.skip("no CJK font")
    fake = FakePrinter(tmp_path, font=font)
    fake.open()
    fake.write(TICKET)
    assert fake.previews == [tmp_path / "0001.png"] and fake.previews[0].stat().st_size > 0


# -- real links: python-escpos Serial on a pseudo-terminal, Network on a loopback socket -------


class PtyPrinter:
    """The far end of a serial line: records bytes, answers DLE EOT unless told to be silent."""

    def __init__(self, answer: bool = True) -> None:
        self.master, slave = pty.openpty()
        tty.setraw(slave)
        self.path = os.ttyname(slave)
        self._slave = slave
        self.received = bytearray()
        self.answer = answer
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if not ready:
                continue
            try:
                data = os.read(self.master, 4096)
            except OSError:
                return
            self.received.extend(data)
            if self.answer:
                for i in range(len(data) - 2):
                    if data[i:i + 2] == b"\x10\x04":
                        os.write(self.master, b"\x12")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        os.close(self.master)
        os.close(self._slave)


def test_serial_link_prints_and_reads_status_through_python_escpos() -> None:
    far = PtyPrinter()
    try:
        w = PrinterWorker(lambda: serial_link(far.path, 115200, timeout_s=0.5),
                          poll_s=10).start()
        try:
            result = w.submit(TICKET).result(10)
        finally:
            w.stop()
        assert result.printed and result.status is PrinterStatus.OK
        wait_until(lambda: TICKET in bytes(far.received))
    finally:
        far.close()


def test_a_silent_serial_printer_is_unknown_never_ok() -> None:
    far = PtyPrinter(answer=False)
    try:
        link = serial_link(far.path, 9600, timeout_s=0.2)
        link.open()
        try:
            assert query_status(link) is PrinterStatus.UNKNOWN
        finally:
            link.close()
        w = PrinterWorker(lambda: serial_link(far.path, 9600, timeout_s=0.2), poll_s=10).start()
        try:
            result = w.submit(TICKET).result(10)
        finally:
            w.stop()
        assert result.printed and result.status is PrinterStatus.UNKNOWN
        assert result.reason == "unverified"
    finally:
        far.close()


def test_a_missing_serial_device_is_unavailable() -> None:
    link = serial_link("/dev/ttyQMS-does-not-exist", 9600)
    with pytest.raises(PrinterUnavailable, match="ttyQMS"):
        link.open()


def test_network_link_to_a_printer_on_loopback() -> None:
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    received = bytearray()

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            while True:
                data = conn.recv(4096)
                if not data:
                    return
                received.extend(data)
                for i in range(len(data) - 2):
                    if data[i:i + 2] == b"\x10\x04":
                        conn.sendall(b"\x12")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        w = PrinterWorker(lambda: network_link("127.0.0.1", port, timeout_s=1.0),
                          poll_s=10).start()
        try:
            result = w.submit(TICKET).result(10)
        finally:
            w.stop()
        assert result.printed and result.status is PrinterStatus.OK
        wait_until(lambda: TICKET in bytes(received))
    finally:
        server.close()


def test_a_network_printer_that_is_not_there_is_unavailable() -> None:
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    server.close()  # nothing listens here now
    link = network_link("127.0.0.1", port, timeout_s=0.5)
    with pytest.raises(PrinterUnavailable):
        link.open()


def test_resource_busy_is_retried_until_the_printer_is_free(fake: FakePrinter) -> None:
    attempts: list[int] = []
    real_open = fake.open

    def busy_twice() -> None:
        attempts.append(1)
        if len(attempts) <= 2:
            raise PrinterUnavailable("usb 0416:5011: resource busy (another program holds it)")
        real_open()

    fake.open = busy_twice  # type: ignore[method-assign]
    w = PrinterWorker(lambda: fake, poll_s=0.05, backoff_base_s=0.02, backoff_cap_s=0.05).start()
    try:
        wait_until(lambda: w.ready)
        assert len(attempts) == 3
        assert w.submit(TICKET).result(5).printed
    finally:
        w.stop()
