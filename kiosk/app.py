"""`qms kiosk`: the touchscreen app. One loop owns the flow; devices only enqueue.

The loop sleeps in `pygame.event.wait` until a touch, a dispatcher event, a finished request
or print job (their callbacks post a wake-up event), or the next tick (0.5 s), and redraws
only when what is on screen changed — so an idle kiosk uses next to no CPU.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import logging
import os
import queue
import secrets
import sys
import time
from collections.abc import Callable, Hashable, Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

import pygame

from base.backoff import Backoff
from base.screen.items import Item
from base.screen.window import ScreenProgram
from base.texts import number_ranges
from dispatcher.client import ApiError, DispatcherClient, DispatcherLink, LinkDown, StateMirror
from dispatcher.domain.config import Config
from dispatcher.domain.core import estimate_for_service, initial_state
from dispatcher.domain.model import QueueState
from dispatcher.domain.serving import roster, windows_by_service
from printer.config import PrinterConfig
from printer.render import render_ticket
from printer.setup import make_link_factory, profile_for
from printer.worker import PrinterWorker

from .autopilot import Autopilot
from .config import KioskConfig
from .flow import (
    Abandon,
    CancelTicket,
    Effect,
    Event,
    FlowSettings,
    Issue,
    Issued,
    IssueFailed,
    Issuing,
    KioskFlow,
    KioskState,
    Print,
    Printed,
    PrinterState,
    ReportPrint,
    Tap,
    Tick,
)
from .flow import (
    DispatcherLink as LinkEvent,
)
from .screens import DepartmentView, ServiceView, View, build, hit
from .ticket import ticket_data
from .unresolved import UnresolvedRequests

log = logging.getLogger("qms.kiosk")
TICK_S = 0.5
POLL_S = 0.02  # how often input is looked for while waiting (touch feedback stays < 100 ms)
RETRY_BASE_S = 0.5  # a request that got no answer is sent again after a backoff from this
RETRY_CAP_S = 10.0
REPRINT_FRESH_S = 600.0  # a reprint asked longer ago than this is not printed
Clock = Callable[[], dt.datetime]
# Told when a ticket's bytes are handed to the printer: (request id, ticket id).
Handoff = Callable[[str, str], None]


def request_prefix(device: str) -> str:
    """The prefix of one run's request ids: the device and 64 random bits, so that ids never
    repeat across kiosks and restarts."""
    return f"{device}-{secrets.token_hex(8)}"


class TapSource(Protocol):
    """Taps from somewhere other than the touchscreen (the demo's autopilot)."""

    def poll(self, now: float, state: KioskState, view: View) -> Iterable[Tap]: ...


def _report(ticket_id: str, printed: bool, reason: str
            ) -> Callable[[DispatcherClient], Any]:
    """The print report of one ticket, as a job for the link."""
    return lambda client: client.report_print(ticket_id, printed, reason or None)


def live_windows(config: Config, state: QueueState) -> dict[str, str]:
    """Each business's windows now ("2～7"), by the dispatcher's own rule."""
    return {sid: number_ranges(windows, "、", "～")
            for sid, windows in windows_by_service(config, state, config.services).items()}


def catalog_view(config: Config, state: QueueState | None = None) -> View:
    """The catalog, with each business's windows on `state` (default: as configured)."""
    departments = tuple(
        DepartmentView(d.id, d.name, d.name_en, tuple(
            ServiceView(s.id, s.name, s.name_en, s.short_high_freq, s.minutes, s.materials)
            for s in d.services))
        for d in config.departments
    )
    windows = live_windows(config, state or initial_state(config))
    return View(config.center.name, config.center.name_en, departments, windows=windows)


class KioskApp(ScreenProgram):
    """The kiosk's loop. `sources` add taps besides the touchscreen's (the demo's autopilot);
    `on_handoff(request_id, ticket_id)` hears each ticket's bytes go to the printer (a
    benchmark's probe). Each business's windows follow the mirrored state."""

    caption = "qms 取号机"
    default_size = (1280, 800)
    allowed_events = (pygame.QUIT, pygame.FINGERDOWN, pygame.FINGERUP, pygame.MOUSEBUTTONDOWN,
                      pygame.MOUSEBUTTONUP, pygame.KEYDOWN, pygame.WINDOWRESIZED,
                      pygame.WINDOWEXPOSED)

    def __init__(self, config: Config, settings: KioskConfig, printer_cfg: PrinterConfig,
                 link: DispatcherLink, printer: PrinterWorker, font: Path, *,
                 size: tuple[int, int] | None = None, fullscreen: bool = False,
                 clock: Clock | None = None, prefix: str | None = None,
                 sources: Sequence[TapSource] = (), on_handoff: Handoff | None = None,
                 unresolved: UnresolvedRequests | None = None) -> None:
        super().__init__(font, size, fullscreen)
        self.config = config
        self.printer_cfg = printer_cfg
        self.link = link
        self.printer = printer
        self.clock = clock or (lambda: dt.datetime.now(config.center.tz))
        k = settings
        self.flow = KioskFlow(FlowSettings(
            prefix=prefix or request_prefix(k.device),
            idle_timeout_s=k.idle_timeout_s, done_timeout_s=k.done_timeout_s,
            print_timeout_s=k.print_timeout_s,
            issue_on_printer_fault=k.on_printer_fault == "issue",
            confirm_timeout_s=k.confirm_timeout_s,
        ))
        self.unresolved = unresolved if unresolved is not None else UnresolvedRequests(None)
        self.state = KioskState()
        self.view = catalog_view(config)
        self.mirror = StateMirror(config)
        self._roster: Hashable = None  # what the view's windows were computed from
        self.sources = list(sources)
        self.on_handoff = on_handoff
        self.profile = profile_for(printer_cfg)
        self.pending: dict[concurrent.futures.Future[Any], tuple[str, str]] = {}
        self.device = k.device
        self.reprints: dict[concurrent.futures.Future[Any], str] = {}  # print job → ticket
        self.cancelling: dict[concurrent.futures.Future[Any], tuple[str, str]] = {}
        self.retry = Backoff(RETRY_BASE_S, RETRY_CAP_S)  # before sending unanswered ones again
        for item in self.unresolved.items():  # left by a lost link or a restart
            self._submit_issue(item.request_id, item.service_id, item.sign_language,
                               appointment_code=item.appointment_code)
        self.events: queue.Queue[Event] = queue.Queue()
        self.pressed: str | None = None
        self.items: list[Item] = []
        self._drawn_key: Any = None
        self._last_tick = 0.0
        self.frames = 0

    # -- the loop -----------------------------------------------------------------------------

    def _wake(self, _: Any = None) -> None:
        self.wake()

    def step(self, wait_ms: int | None = None) -> None:
        """Wait for something to happen (at most until the next tick), handle it, redraw."""
        batch = self.wait_events(TICK_S if wait_ms is None else wait_ms / 1000, POLL_S)
        for ev in batch:
            self._pygame_event(ev)
        self._drain_link()
        self._poll_printer()
        self._poll_futures()
        self._poll_cancels()
        self._poll_reprints()
        now = time.monotonic()
        for source in self.sources:
            for tap in source.poll(now, self.state, self.view):
                self.events.put(tap)
        if now - self._last_tick >= TICK_S:
            self._last_tick = now
            self.events.put(Tick())
        while not self.events.empty():
            self._handle(self.events.get())
        self.redraw()

    def _pygame_event(self, ev: pygame.event.Event) -> None:
        if ev.type == pygame.QUIT:
            self.running = False
            return
        if ev.type == pygame.KEYDOWN and ev.key == pygame.K_ESCAPE and not self.fullscreen:
            self.running = False
            return
        if ev.type in (pygame.MOUSEBUTTONDOWN, pygame.MOUSEBUTTONUP):
            if getattr(ev, "touch", False) or ev.button != 1:
                return  # SDL's copy of a touch, already handled as a finger event
            self._pointer(ev.type == pygame.MOUSEBUTTONDOWN, *ev.pos)
        elif ev.type in (pygame.FINGERDOWN, pygame.FINGERUP):
            assert self.screen is not None
            w, h = self.screen.get_size()
            self._pointer(ev.type == pygame.FINGERDOWN, int(ev.x * w), int(ev.y * h))
        elif ev.type in (pygame.WINDOWRESIZED, pygame.WINDOWEXPOSED):
            self._drawn_key = None

    def _pointer(self, down: bool, x: int, y: int) -> None:
        target = hit(self.items, x, y)
        if down:
            self.pressed = target
            self.redraw()  # feedback now, before anything else happens
            return
        pressed, self.pressed = self.pressed, None
        if target is not None and target == pressed:
            self.events.put(Tap(target))

    def _handle(self, event: Event) -> None:
        self.state, effects = self.flow.handle(self.state, event, self.clock())
        if isinstance(event, Issued) and self.state.ticket is event.reply:
            self.unresolved.resolve(event.request_id)  # the resident holds it now
        for effect in effects:
            self._run(effect)

    def _submit_issue(self, rid: str, service_id: str, sign_language: bool,
                      delay: float = 0.0, appointment_code: str | None = None) -> None:
        """POST /tickets under `rid` after `delay` seconds (again, after a lost link: the same
        ticket comes back). A check-in sends the booking code instead of a business."""
        async def issue(c: DispatcherClient) -> Any:
            if delay > 0:
                await asyncio.sleep(delay)
            if appointment_code:
                return await c.post("/tickets", request_id=rid, sign_language=sign_language,
                                    appointment_code=appointment_code)
            return await c.post("/tickets", request_id=rid, service_id=service_id,
                                sign_language=sign_language)

        self._track(self.link.submit(issue), "issue", rid)

    def _submit_cancel(self, ticket_id: str, rid: str, delay: float = 0.0) -> None:
        async def cancel(c: DispatcherClient) -> Any:
            if delay > 0:
                await asyncio.sleep(delay)
            return await c.post(f"/tickets/{ticket_id}/cancel", request_id=f"{rid}-cancel",
                                reason="abandoned")

        future = self.link.submit(cancel)
        self.cancelling[future] = (ticket_id, rid)
        future.add_done_callback(self._wake)

    def _run(self, effect: Effect) -> None:
        if isinstance(effect, Issue):
            self.unresolved.add(effect.request_id, effect.service_id, effect.sign_language,
                                effect.appointment_code)
            self._submit_issue(effect.request_id, effect.service_id, effect.sign_language,
                               appointment_code=effect.appointment_code)
        elif isinstance(effect, Abandon):
            self.unresolved.abandon(effect.request_id)
        elif isinstance(effect, CancelTicket):
            log.warning("ticket %s came back for a resident who is gone: cancelling it",
                        effect.ticket_id)
            self._submit_cancel(effect.ticket_id, effect.request_id)
        elif isinstance(effect, Print):
            ticket = ticket_data(self.config, self.printer_cfg, effect.reply, effect.lang,
                                 state=self.mirror.state)
            data = render_ticket(ticket, self.profile, self.font)
            future = self.printer.submit(data)
            ticket_id = effect.reply["ticket"]["id"]
            if self.on_handoff is not None:
                self.on_handoff(self.state.request_id or "", ticket_id)
            self._track(future, "print", ticket_id)
        elif isinstance(effect, ReportPrint):
            future = self.link.submit(lambda c: c.report_print(
                effect.ticket_id, effect.printed, effect.error or None))
            self._track(future, "report", effect.ticket_id)

    def _track(self, future: concurrent.futures.Future[Any], kind: str, key: str) -> None:
        self.pending[future] = (kind, key)
        future.add_done_callback(self._wake)

    def _poll_futures(self) -> None:
        for future in [f for f in self.pending if f.done()]:
            kind, key = self.pending.pop(future)
            error = future.exception()
            if kind == "issue":
                if error is None:
                    self.retry.reset()
                    self.events.put(Issued(key, future.result()))
                elif isinstance(error, ApiError):
                    self.retry.reset()
                    self.unresolved.resolve(key)  # refused: nothing was issued
                    self.events.put(IssueFailed(key, unreachable=False, message=error.message,
                                                code=error.code,
                                                service_id=error.detail.get("service_id", "")))
                else:  # no answer: the ticket may exist; keep asking under the same id
                    self.events.put(IssueFailed(key, unreachable=True, message=str(error)))
                    item = next((i for i in self.unresolved.items() if i.request_id == key),
                                None)
                    if item is not None:  # after a pause: a failure may come back at once
                        self._submit_issue(key, item.service_id, item.sign_language,
                                           delay=self.retry.next(),
                                           appointment_code=item.appointment_code)
            elif kind == "print":
                if error is None:
                    result = future.result()
                    reason = "" if result.printed else result.reason
                    self.events.put(Printed(key, result.printed, reason))
                else:
                    self.events.put(Printed(key, False, str(error)))
            elif error is not None and not isinstance(error, LinkDown):
                log.warning("reporting print result of %s: %s", key, error)

    def _poll_cancels(self) -> None:
        for future in [f for f in self.cancelling if f.done()]:
            ticket_id, rid = self.cancelling.pop(future)
            error = future.exception()
            if error is None or isinstance(error, ApiError):  # cancelled, or called meanwhile
                self.retry.reset()
                self.unresolved.resolve(rid)
            else:
                self._submit_cancel(ticket_id, rid, delay=self.retry.next())

    def _drain_link(self) -> None:
        changed = False
        for item in self.link.drain():
            if item.get("type") == "link":
                self.events.put(LinkEvent(bool(item["up"])))
            elif item.get("type") == "reprint_requested" and item.get("kiosk") == self.device:
                self._reprint(item)
            changed |= self.mirror.feed(item)
        if changed and self.mirror.state is not None:
            state = self.mirror.state
            if state.issuing_open != self.state.issuing_open:
                self.events.put(Issuing(state.issuing_open))
            self.view.waiting = dict(state.waiting_by_service)
            self.view.estimate = {sid: estimate_for_service(self.config, state, sid)
                                  for sid in self.config.services}
            if roster(state) != self._roster:  # someone signed in or out, paused, resumed
                self._roster = roster(state)
                self.view.windows = live_windows(self.config, state)
            self._drawn_key = None

    def _reprint(self, message: dict[str, Any]) -> None:
        """Staff asked for this ticket again (e.g. its first print failed): print it marked
        as a copy and report the print, as for a new one. A request older than
        REPRINT_FRESH_S (heard on a resume after a long outage) is not printed: nobody is
        standing at the kiosk for it any more."""
        ticket = message.get("ticket")
        at = message.get("at")
        if not isinstance(ticket, dict) or not isinstance(at, str):
            return
        age = (self.clock() - dt.datetime.fromisoformat(at)).total_seconds()
        if age > REPRINT_FRESH_S:
            log.warning("reprint of %s asked %.0f s ago: not printed", ticket.get("number"), age)
            return
        state = self.mirror.state
        ahead = state.waiting.index(ticket["id"]) if state and ticket.get("id") in \
            state.waiting else 0
        reply = {"ticket": ticket, "ahead": ahead, "est_wait_min": 0}
        data = ticket_data(self.config, self.printer_cfg, reply, "zh", reprint=True,
                           state=state)
        future = self.printer.submit(render_ticket(data, self.profile, self.font))
        log.info("reprinting %s at staff's request", ticket.get("number"))
        self.reprints[future] = str(ticket["id"])
        future.add_done_callback(self._wake)

    def _poll_reprints(self) -> None:
        for future in [f for f in self.reprints if f.done()]:
            tid = self.reprints.pop(future)
            error = future.exception()
            printed = error is None and future.result().printed
            reason = str(error) if error is not None else (
                "" if printed else future.result().reason)
            self._track(self.link.submit(_report(tid, printed, reason)), "report", tid)

    def _poll_printer(self) -> None:
        ready, status = self.printer.ready, self.printer.status.value
        if (ready, status) != (self.state.printer_ready, self.state.printer_status):
            self.events.put(PrinterState(ready, status))

    def redraw(self) -> None:
        if self.screen is None or self.painter is None:
            return
        size = self.screen.get_size()
        key = (self.state, self.pressed, size, id(self.view.waiting))
        if key == self._drawn_key:
            return
        self.items = build(self.state, self.view, *size)
        self.painter.draw(self.screen, self.items, self.pressed)
        pygame.display.flip()
        self._drawn_key = key
        self.frames += 1


def run_kiosk(config: Config, settings: KioskConfig, printer_cfg: PrinterConfig, *,
              state: Path, font: Path, residents_s: float | None = None) -> int:
    """Composition root: printer worker → dispatcher link → app; stopped in reverse."""
    device = next((d for d in config.devices if d.name == settings.device), None)
    if device is None:
        print(f"kiosk.device {settings.device!r} is not in [[devices]]", file=sys.stderr)
        return 2
    printer = PrinterWorker(make_link_factory(printer_cfg, state, font)).start()
    link = DispatcherLink(settings.dispatcher, device.token, device=device.name,
                          retry_for=10.0).start()
    sources = [Autopilot(residents_s)] if residents_s else []
    unresolved = UnresolvedRequests(state / f"{settings.device}-unresolved.json")
    app = KioskApp(config, settings, printer_cfg, link, printer, font, size=settings.size,
                   unresolved=unresolved,
                   fullscreen=settings.fullscreen and not os.environ.get("QMS_WINDOWED"),
                   sources=sources)
    if printer_cfg.transport == "fake":
        print(f"qms kiosk: the fake printer writes each ticket (.bin) and its preview (.png) to "
              f"{state / printer_cfg.fake_dir}", flush=True)
    try:
        app.run()
    finally:
        link.stop()
        printer.stop()
    return 0
