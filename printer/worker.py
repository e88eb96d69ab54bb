"""The printer worker: one thread owns the link, with explicit states, and never blocks callers.

    worker = PrinterWorker(lambda: usb_link(0x0416, 0x5011)).start()
    future = worker.submit(ticket_bytes)       # returns at once
    result = future.result(timeout=10)         # PrintResult(printed, status, reason)

States: `disconnected` (waiting to retry, with capped backoff), `connecting`, `ready`,
`printing`, `fault` (connected, but paper out / cover open / offline). A job is never retried
by the worker: a ticket that failed is reported so the kiosk shows the number on screen and
marks it unprinted (printing it minutes later for someone who has left would only confuse).
"""

from __future__ import annotations

import concurrent.futures
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from base.backoff import Backoff

from .links import Link, PrinterUnavailable
from .status import PrinterStatus, parse_status

log = logging.getLogger(__name__)


class LinkState(StrEnum):
    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    READY = "ready"
    PRINTING = "printing"
    FAULT = "fault"


@dataclass(frozen=True)
class PrintResult:
    printed: bool
    status: PrinterStatus
    reason: str = ""  # why not printed, or "" ; "unverified" when the link cannot tell


def query_status(link: Link) -> PrinterStatus:
    """Ask DLE EOT 1, 2 and 4; UNKNOWN when the link cannot answer."""
    printer = link.query(1)
    if printer is None:
        return PrinterStatus.UNKNOWN
    return parse_status(printer, link.query(2), link.query(4))


class PrinterWorker:
    def __init__(self, make_link: Callable[[], Link], *, poll_s: float = 5.0,
                 backoff_base_s: float = 0.5, backoff_cap_s: float = 10.0,
                 on_change: Callable[[LinkState, PrinterStatus], None] | None = None) -> None:
        self._make_link = make_link
        self._poll_s = poll_s
        self._backoff = Backoff(backoff_base_s, backoff_cap_s)
        self._on_change = on_change
        self._jobs: queue.Queue[tuple[bytes, concurrent.futures.Future[PrintResult]] | None] = (
            queue.Queue()
        )
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="qms-printer", daemon=True)
        self._link: Link | None = None
        self.state = LinkState.DISCONNECTED
        self.status = PrinterStatus.UNKNOWN
        self.last_error = ""

    # -- API ----------------------------------------------------------------------------------

    def start(self) -> PrinterWorker:
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._jobs.put(None)
        self._thread.join(timeout)

    def submit(self, data: bytes) -> concurrent.futures.Future[PrintResult]:
        """Queue a job; the future resolves when it printed or failed."""
        future: concurrent.futures.Future[PrintResult] = concurrent.futures.Future()
        if self._stop.is_set():
            future.set_result(PrintResult(False, self.status, "printer stopped"))
        else:
            self._jobs.put((data, future))
        return future

    @property
    def ready(self) -> bool:
        """Can a ticket be printed right now (as far as anyone can tell)?"""
        return self.state in (LinkState.READY, LinkState.PRINTING) and self.status.can_print

    # -- the thread ---------------------------------------------------------------------------

    def _set(self, state: LinkState, status: PrinterStatus | None = None) -> None:
        changed = state != self.state or (status is not None and status != self.status)
        self.state = state
        if status is not None:
            self.status = status
        if changed and self._on_change is not None:
            self._on_change(self.state, self.status)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                if self._link is None and not self._connect():
                    self._wait_backoff()
                    continue
                try:
                    item = self._jobs.get(timeout=self._poll_s)
                except queue.Empty:
                    self._poll()
                    continue
                if item is None:
                    break
                self._print(*item)
        finally:
            self._drop_link()
            while True:  # nobody waits forever on a stopped worker
                try:
                    item = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if item is not None:
                    item[1].set_result(PrintResult(False, self.status, "printer stopped"))

    def _connect(self) -> bool:
        self._set(LinkState.CONNECTING)
        try:
            link = self._make_link()
        except Exception as exc:  # a broken driver must not kill the worker
            log.exception("printer: cannot build the link")
            self.last_error = f"cannot build the printer link: {exc}"
            self._set(LinkState.DISCONNECTED, PrinterStatus.UNKNOWN)
            self._fail_waiting(self.last_error)
            return False
        try:
            link.open()
            status = query_status(link)
        except PrinterUnavailable as exc:
            link.close()
            self.last_error = str(exc)
            log.warning("printer: %s", exc)
            self._set(LinkState.DISCONNECTED, PrinterStatus.UNKNOWN)
            self._fail_waiting(str(exc))
            return False
        self._link = link
        self._backoff.reset()
        self.last_error = ""
        self._set(LinkState.READY if status.can_print else LinkState.FAULT, status)
        return True

    def _wait_backoff(self) -> None:
        self._stop.wait(self._backoff.next())

    def _drop_link(self) -> None:
        if self._link is not None:
            self._link.close()
            self._link = None

    def _lost(self, exc: PrinterUnavailable) -> None:
        self.last_error = str(exc)
        log.warning("printer lost: %s", exc)
        self._drop_link()
        self._set(LinkState.DISCONNECTED, PrinterStatus.UNKNOWN)

    def _fail_waiting(self, reason: str) -> None:
        """While disconnected, jobs fail at once instead of waiting for a reconnect."""
        while True:
            try:
                item = self._jobs.get_nowait()
            except queue.Empty:
                return
            if item is None:
                self._jobs.put(None)
                return
            item[1].set_result(PrintResult(False, PrinterStatus.UNKNOWN, reason))

    def _poll(self) -> None:
        assert self._link is not None
        try:
            status = query_status(self._link)
        except PrinterUnavailable as exc:
            self._lost(exc)
            return
        self._set(LinkState.READY if status.can_print else LinkState.FAULT, status)

    def _print(self, data: bytes, future: concurrent.futures.Future[PrintResult]) -> None:
        assert self._link is not None
        link = self._link
        try:
            before = query_status(link)
            if not before.can_print:
                self._set(LinkState.FAULT, before)
                future.set_result(PrintResult(False, before, before.value))
                return
            self._set(LinkState.PRINTING, before)
            link.write(data)
            after = query_status(link)
        except PrinterUnavailable as exc:
            self._lost(exc)
            future.set_result(PrintResult(False, PrinterStatus.UNKNOWN, str(exc)))
            return
        if after in (PrinterStatus.PAPER_OUT, PrinterStatus.COVER_OPEN, PrinterStatus.OFFLINE):
            self._set(LinkState.FAULT, after)
            future.set_result(PrintResult(False, after, after.value))
            return
        self._set(LinkState.READY, after)
        reason = "unverified" if after is PrinterStatus.UNKNOWN else ""
        future.set_result(PrintResult(True, after, reason))
