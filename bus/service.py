"""The bus joined to the dispatcher: keys become caller requests, ratings are stored with the
ticket just served, and every window display follows the queue state.

One loop thread owns the service's state. The dispatcher link (its own thread) and the bus
master (its own thread, the only one on the serial line) only put items into its inbox.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bus.frames import answer_text, error_text, window_frame
from bus.health import BusDevice, Health
from bus.master import BusInput, BusMaster, DeviceReport
from bus.port import ModbusPort
from bus.registers import ASK_REGISTER, GRADE_NAMES, Key, Kind, encode_text
from dispatcher.client.client import ApiError, LinkDown
from dispatcher.client.link import DispatcherLink
from dispatcher.client.mirror import StateMirror
from dispatcher.domain.config import Config
from dispatcher.domain.model import WindowStatus

log = logging.getLogger(__name__)

HEALTH_EVERY_S = 10.0  # the dispatcher calls a bus silent for 30 s "unknown"
HEALTH_MIN_GAP_S = 1.0  # changes are reported at most this often
REPLAY_S = 3.0  # events this soon after the link came up may be a replayed backlog
RATING_RETRY_S = 10.0
RATING_KEEP_S = 30 * 60.0  # a rating not delivered in this long is given up (and logged)
VERBS = {Key.CALL_NEXT: "call-next", Key.RECALL: "recall", Key.NO_SHOW: "no-show"}
CALLS = ("ticket_called", "ticket_recalled")
ASKED_FOR_S = 300.0  # a rating this long after 评价 still belongs to the ticket it was asked for


@dataclass(frozen=True)
class Rating:
    """A resident's rating on its way to the dispatcher (sent again while the LAN is down)."""

    window: int
    path: str  # /tickets/{id}/rating (asked with 评价) or /windows/{n}/rating
    score: int
    request_id: str
    first: float  # monotonic time of the press


@dataclass(frozen=True)
class Answered:
    """A caller request's outcome, back from the link thread."""

    window: int
    verb: str
    result: Any = None
    error: BaseException | None = None
    rating: Rating | None = None  # a rating to send again if it was lost


class BusService:
    """Start with `start()`, stop with `stop()` (reverse order, threads joined)."""

    def __init__(self, config: Config, devices: tuple[BusDevice, ...], port: ModbusPort,
                 link: DispatcherLink, *, highlight_s: float = 12.0,
                 wall: Callable[[], dt.datetime] | None = None) -> None:
        self.config = config
        self.devices = devices
        self.link = link
        self.highlight_s = highlight_s
        self.wall = wall or (lambda: dt.datetime.now(dt.UTC))
        self.mirror = StateMirror(config)
        self.inbox: queue.Queue[Any] = queue.Queue()
        self.master = BusMaster(port, devices, self.inbox.put, self.inbox.put)
        self._highlight_until: dict[int, float] = {}
        self._keypad_text: dict[int, str] = {}  # window → what its keypad shows
        # window → (ticket served when 评价 was pressed, when): the pad's rating is that
        # ticket's, even if the next resident is called before the resident rates.
        self._asked_for: dict[int, tuple[str, float, int]] = {}  # (…, calls since)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="qms-bus-loop", daemon=True)
        self._health_sent = 0.0
        self._health_pending = False
        self._link_up_at = 0.0
        self._retry: list[tuple[float, Rating]] = []  # (when to send again, what)
        self.answers = 0  # caller requests answered (for tests and the benchmark)

    def _of(self, kind: Kind, window: int) -> BusDevice | None:
        return next((d for d in self.devices if d.kind is kind and d.window == window), None)

    # -- start and stop -----------------------------------------------------------------------

    def start(self) -> BusService:
        self.link.notify = lambda: self.inbox.put("link")
        self.link.start()
        self.master.start()
        self._thread.start()
        return self

    def stop(self, timeout: float = 3.0) -> None:
        self._stop.set()
        self.inbox.put("stop")
        self._thread.join(timeout)
        self.master.stop(timeout)
        self.link.stop(timeout)

    # -- the loop -----------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                item = self.inbox.get(timeout=self._wait_s())
            except queue.Empty:
                item = None
            try:
                self._handle(item)
                self._refresh()
            except Exception:  # one bad item must not stop the displays
                log.exception("bus service: %r", item)

    def _wait_s(self) -> float:
        now = time.monotonic()
        ends = [t - now for t in self._highlight_until.values() if t > now]
        due = [self._health_sent + HEALTH_EVERY_S - now]
        if self._health_pending:
            due.append(self._health_sent + HEALTH_MIN_GAP_S - now)
        if self._retry:
            due.append(min(at for at, _ in self._retry) - now)
        return max(0.01, min([*ends, *due]))

    def _handle(self, item: Any) -> None:
        if item == "link":
            for message in self.link.drain():
                try:  # one message the mirror cannot take must not cost the others
                    self._message(message)
                except Exception:
                    log.exception("bus service: stream message %r", message)
        elif isinstance(item, BusInput):
            self._input(item)
        elif isinstance(item, Answered):
            self._answered(item)
        elif isinstance(item, list):  # health changed: reported, at most once a second
            self._health_pending = True
        now = time.monotonic()
        if not self.master.alive and self.master.started:
            self._health_pending = True  # a dead master's devices are all unknown
        if (self._health_pending and now - self._health_sent >= HEALTH_MIN_GAP_S) \
                or now - self._health_sent >= HEALTH_EVERY_S:
            self._send_health(self.master.reports())
        for retry in [r for r in self._retry if r[0] <= now]:
            self._retry.remove(retry)
            self._send_rating(retry[1])

    def _message(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "link" and message.get("up"):
            self._link_up_at = time.monotonic()
        self.mirror.feed(message)
        if kind in CALLS:
            n = int(message["window"])
            self._fresh_call(message)
            if kind == "ticket_called":
                self._ask(n, False)
                asked = self._asked_for.get(n)
                if asked is not None:  # the call after the next: that ask is over
                    self._asked_for[n] = (asked[0], asked[1], asked[2] + 1)
                    if asked[2] + 1 >= 2:
                        del self._asked_for[n]

    def _fresh_call(self, message: dict[str, Any]) -> None:
        """A call or recall blinks its window's display for the highlight time. Only what the
        stream replays after the link came back is judged by its age (by the event's time
        against this host's clock), so a clock set wrong never stops live calls blinking."""
        n = int(message["window"])
        replayed = time.monotonic() - self._link_up_at < REPLAY_S
        age = 0.0
        if replayed:
            at = dt.datetime.fromisoformat(message["at"])
            age = max(0.0, (self.wall() - at).total_seconds())
        if age < self.highlight_s:
            self._highlight_until[n] = time.monotonic() + self.highlight_s - age

    def _refresh(self) -> None:
        """Every display and keypad text as the state says now (the master writes changes)."""
        state = self.mirror.state
        now = time.monotonic()
        for device in self.devices:
            if device.kind is Kind.WINDOW_DISPLAY:
                if state is None:
                    continue  # not known yet: leave what the display shows
                lit = self._highlight_until.get(device.window, 0.0) > now
                self.master.hold(device.address, 0,
                                 window_frame(state, device.window, lit).registers())
            elif device.kind is Kind.KEYPAD:
                text = self._keypad_text.get(device.window, f"{device.window}号窗口")
                self.master.hold(device.address, 0, encode_text(text))

    # -- keys and ratings ---------------------------------------------------------------------

    def _input(self, item: BusInput) -> None:
        n = item.device.window
        if item.missed:
            log.info("window %d: %d more presses in one poll, taken as one", n, item.missed)
        if item.device.kind is Kind.RATING_PAD:
            if item.value not in GRADE_NAMES:
                log.warning("rating pad %d sent grade %d", item.device.address, item.value)
                return
            self._ask(n, False)
            asked = self._asked_for.pop(n, None)
            if asked is not None and time.monotonic() - asked[1] < ASKED_FOR_S:
                path = f"/tickets/{asked[0]}/rating"
            else:  # the resident rated unasked: the dispatcher finds the ticket just served
                path = f"/windows/{n}/rating"
            self._send_rating(Rating(n, path, item.value, self.link_request_id(),
                                     time.monotonic()))
            return
        if item.value == Key.ASK_RATING:
            pad = self._of(Kind.RATING_PAD, n)
            self._keypad_text[n] = "请评价" if pad else "无评价器"
            window = self.mirror.state.windows.get(n) if self.mirror.state else None
            if window is not None and window.current is not None:
                self._asked_for[n] = (window.current, time.monotonic(), 0)
            else:  # nobody served now: an older ask must not catch this rating
                self._asked_for.pop(n, None)
            self._ask(n, True)
            return
        if item.value == Key.PAUSE_RESUME:
            window = self.mirror.state.windows.get(n) if self.mirror.state else None
            paused = window is not None and window.status is WindowStatus.PAUSED
            verb = "resume" if paused else "pause"
        elif item.value in VERBS:
            verb = VERBS[Key(item.value)]
        else:
            log.warning("keypad %d sent key %d", item.device.address, item.value)
            self._keypad_text[n] = f"E key {item.value}"
            return
        self._submit(n, verb, lambda c: c.window(n, verb))

    def _ask(self, window: int, on: bool) -> None:
        pad = self._of(Kind.RATING_PAD, window)
        if pad is not None:
            self.master.hold(pad.address, ASK_REGISTER, [1 if on else 0])

    def link_request_id(self) -> str:
        return f"bus-{uuid.uuid4().hex[:20]}"

    def _send_rating(self, rating: Rating) -> None:
        """A rating under its own request id: while the LAN is down it is sent again (same id:
        stored once) every RATING_RETRY_S, for up to RATING_KEEP_S."""
        def make(c: Any) -> Any:
            return c.post(rating.path, score=rating.score, request_id=rating.request_id)

        self._submit(rating.window, "rating", make, rating)

    def _submit(self, window: int, verb: str, make: Callable[[Any], Any],
                rating: Rating | None = None) -> None:
        """Send once; the client keeps the request id for every retry of this press."""
        future = self.link.submit(make)

        def done(f: concurrent.futures.Future[Any]) -> None:
            error = f.exception()
            self.inbox.put(Answered(window, verb, None if error else f.result(), error, rating))

        future.add_done_callback(done)

    def _answered(self, answer: Answered) -> None:
        self.answers += 1
        n, error = answer.window, answer.error
        if isinstance(error, ApiError):
            self._keypad_text[n] = error_text(error.status, error.code)
        elif isinstance(error, LinkDown):
            self._keypad_text[n] = "E 网络中断"
            rating = answer.rating
            if rating is not None and time.monotonic() - rating.first < RATING_KEEP_S:
                self._keypad_text[n] = "评价待发送"
                self._retry.append((time.monotonic() + RATING_RETRY_S, rating))
            elif rating is not None:
                log.error("window %d: rating %d not delivered in %.0f min: given up", n,
                          rating.score, RATING_KEEP_S / 60)
        elif error is not None:
            log.error("window %d %s: %s", n, answer.verb, error)
            self._keypad_text[n] = "E 内部错误"
        elif answer.verb == "rating":
            self._keypad_text[n] = "已评价 谢谢"
        else:
            ticket = (answer.result or {}).get("ticket") or {}
            self._keypad_text[n] = answer_text(answer.verb, ticket.get("number"))

    # -- health -------------------------------------------------------------------------------

    def _send_health(self, reports: list[DeviceReport]) -> None:
        self._health_sent = time.monotonic()
        self._health_pending = False
        if self.master.started and not self.master.alive:
            reports = [DeviceReport(r.device, Health.UNKNOWN, r.errors, r.since)
                       for r in reports]
        now_mono, now = time.monotonic(), self.wall()
        body = {
            "cycle_ms": round(self.master.last_cycle_s * 1000, 1),
            "devices": [{
                "address": r.device.address, "kind": r.device.kind.value,
                "window": r.device.window, "state": r.health.value, "errors": r.errors,
                "since": None if r.since is None
                else (now - dt.timedelta(seconds=now_mono - r.since)).isoformat(),
            } for r in reports],
        }
        bad = [r for r in reports if r.health in (Health.NO_ANSWER, Health.CRC_ERRORS)]
        if bad:
            log.info("bus: %s", ", ".join(f"{r.device.address} {r.health}" for r in bad))
        future = self.link.submit(lambda c: c.request("PUT", "/bus/health", body))
        future.add_done_callback(_log_failure)


def _log_failure(future: concurrent.futures.Future[Any]) -> None:
    if future.exception() is not None:
        log.debug("bus health not delivered: %s", future.exception())
