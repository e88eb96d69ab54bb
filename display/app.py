"""`qms display`: the hall TV, the caller buttons and the voice. One loop owns the screen.

The loop mirrors the dispatcher's state from its event stream; a call that arrives live is
highlighted (flashing) and announced; calls that arrive late (replayed after an outage) are
listed but not announced. It redraws the whole screen only when something shown changed
(state, link, the minute, a flash phase) and otherwise just the scrolling notice strip. When
a window's state changes, the loop pushes its LED status to the caller buttons' panel.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import sys
import time
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

import pygame

from base.screen.window import ScreenProgram
from bus.config import BusConfig
from bus.run import build_service
from dispatcher.client import DispatcherLink, StateMirror
from dispatcher.domain.config import Config
from dispatcher.domain.model import QueueState, WindowState, WindowStatus
from dispatcher.domain.serving import roster, windows_by_service

from .buttons import CallerPanel, GPIOUnavailable, key_press, make_pin_factory
from .config import DisplayConfig
from .hall import BG, WHITE, HallView, build_hall, ticker_rect
from .voice import Announcer, NullOutput, PygameOutput, VoicePack

log = logging.getLogger("qms.display")
Clock = Callable[[], dt.datetime]
TICKER_PX_PER_S = 72  # at 1080 lines; scaled with the screen
KEY_LEGEND = ("键盘叫号 Keys: 1–8 叫下一位 call next · q–i 重呼 recall · a–k 过号 no-show · "
              "z–, 暂停/恢复 pause")
FRAME_S = 0.05  # 20 frames a second while a call flashes
TICKER_FRAME_S = 0.08  # the notice line alone moves 12.5 times a second


def department_windows(config: Config, state: QueueState) -> dict[str, tuple[int, ...]]:
    """Per department, the windows serving any of its businesses now (the dispatcher's rule,
    `serving_windows`, as the tickets and the kiosk name them), in number order."""
    by_service = windows_by_service(config, state, config.services)
    return {d.id: tuple(sorted({n for s in d.services for n in by_service[s.id]}))
            for d in config.departments}


def led_status(window: WindowState) -> str:
    """A caller LED: "paused" (slow blink), "serving" (on) or "idle" (off)."""
    if window.status is WindowStatus.PAUSED:
        return "paused"
    return "serving" if window.current else "idle"


class HallApp(ScreenProgram):
    caption = "qms 叫号屏"
    default_size = (1920, 1080)

    def __init__(self, config: Config, settings: DisplayConfig, link: DispatcherLink,
                 font: Path, *,
                 size: tuple[int, int] | None = None, fullscreen: bool = False,
                 announcer: Announcer | None = None, callers: CallerPanel | None = None,
                 clock: Clock | None = None) -> None:
        super().__init__(font, size, fullscreen)
        self.config = config
        self.cfg = settings
        self.link = link
        self.announcer = announcer
        self.callers = callers
        self.clock = clock or (lambda: dt.datetime.now(config.center.tz))
        self.mirror = StateMirror(config)
        self.link_up = False
        self.highlight_since: float | None = None  # monotonic time of the newest live call
        self._pending_seq: int | None = None  # a live call not drawn yet
        self.announced: list[tuple[str, int]] = []
        self.frames = 0
        self.call_drawn: dict[int, float] = {}  # event seq -> when the frame showing it flipped
        self._key: Any = None
        self._ticker: pygame.Surface | None = None
        self._ticker_x = 0.0
        self._ticker_t = time.monotonic()
        self.departments = [(d.id, d.name, frozenset(s.id for s in d.services))
                            for d in config.departments]
        self.dept_windows: dict[str, tuple[int, ...]] = {}
        self._roster: Hashable = None  # what dept_windows was computed from
        self._leds: dict[int, str] = {}  # window -> the LED status last pushed to the callers
        link.notify = self.wake

    # -- the loop -----------------------------------------------------------------------------

    def step(self, wait_s: float | None = None) -> None:
        flashing = self._highlighted()
        moving = flashing or (bool(self.cfg.notice) and not self.cfg.keyboard)
        frame = FRAME_S if flashing else TICKER_FRAME_S
        timeout = (frame if moving else 0.5) if wait_s is None else wait_s
        poll = 0.02 if moving else 0.1  # keys (demo) are looked for at least every 100 ms
        for ev in self.wait_events(timeout, poll):
            if ev.type == pygame.QUIT:
                self.running = False
            elif ev.type == pygame.KEYDOWN:
                if ev.key == pygame.K_ESCAPE and not self.fullscreen:
                    self.running = False
                elif self.cfg.keyboard and self.callers is not None:
                    hit = key_press(ev.unicode or "")
                    if hit is not None:
                        self.callers.press(*hit)
            elif ev.type in (pygame.WINDOWRESIZED, pygame.WINDOWEXPOSED):
                self._key = None
        self._drain_link()
        self.redraw()

    def _drain_link(self) -> None:
        changed = False
        for item in self.link.drain():
            kind = item.get("type")
            if kind == "link":
                self.link_up = bool(item["up"])
                changed = True
                continue
            changed |= self.mirror.feed(item)
            if kind in ("ticket_called", "ticket_recalled"):
                self._new_call(item)
        state = self.mirror.state
        if changed and state is not None:
            if roster(state) != self._roster:  # signed in or out, paused or resumed
                self._roster = roster(state)
                self.dept_windows = department_windows(self.config, state)
            self._push_leds(state)

    def _push_leds(self, state: QueueState) -> None:
        """Tell the caller panel each window whose LED status changed."""
        if self.callers is None:
            return
        for n, window in sorted(state.windows.items()):
            status = led_status(window)
            if self._leds.get(n) != status:
                self._leds[n] = status
                self.callers.show(n, status)

    def _new_call(self, event: dict[str, Any]) -> None:
        at = dt.datetime.fromisoformat(event["at"])
        late = (self.clock() - at).total_seconds() > self.cfg.late_s
        if late:
            return  # made while we were cut off: listed, not announced
        self.highlight_since = time.monotonic()
        self._pending_seq = int(event["seq"])
        number, window = str(event.get("number", "")), int(event.get("window", 0))
        self.announced.append((number, window))
        if self.announcer is not None:
            self.announcer.announce(number, window)

    def _highlighted(self) -> bool:
        return self.highlight_since is not None and \
            time.monotonic() - self.highlight_since < self.cfg.highlight_s

    def view(self) -> HallView:
        state = self.mirror.state
        highlight = self._highlighted()
        flash_on = False
        if highlight and self.highlight_since is not None:
            period = 1.0 / max(0.1, self.cfg.flashes_per_s)
            flash_on = ((time.monotonic() - self.highlight_since) % period) < period / 2 \
                if self.cfg.flashes_per_s > 0 else True
        windows: list[dict[str, Any]] = []
        if state is not None:
            windows = [w.to_dict(state.tickets) for _, w in sorted(state.windows.items())]
        return HallView(
            center=self.config.center.name, departments=self.departments,
            calls=list(state.recent_calls) if state else [], windows=windows,
            waiting=dict(state.waiting_by_service) if state else {}, link_up=self.link_up,
            now=self.clock(), highlight=highlight, flash_on=flash_on, recent=self.cfg.recent,
            dept_windows=self.dept_windows,
        )

    def redraw(self) -> None:
        if self.screen is None or self.painter is None:
            return
        view = self.view()
        size = self.screen.get_size()
        minute = view.now.strftime("%Y%m%d%H%M") if view.now else ""
        seq = self.mirror.seq
        key = (seq, self.link_up, minute, view.highlight, view.flash_on, size)
        if key != self._key:
            self.painter.draw(self.screen, build_hall(view, *size))
            self._key = key
            self.frames += 1
            self._draw_ticker(full=True)
            pygame.display.flip()
            if self._pending_seq is not None:
                self.call_drawn[self._pending_seq] = time.perf_counter()
                self._pending_seq = None
                if view.calls:
                    log.info("showing call %s → window %s", view.calls[0].get("number"),
                             view.calls[0].get("window"))
        elif self.cfg.notice and not self.cfg.keyboard:
            rect = self._draw_ticker(full=False)
            pygame.display.update(rect)

    def _draw_ticker(self, full: bool) -> pygame.Rect:
        assert self.screen is not None and self.painter is not None
        x, y, w, h = ticker_rect(*self.screen.get_size())
        rect = pygame.Rect(x, y, w, h)
        pygame.draw.rect(self.screen, BG, rect)
        if not self.cfg.notice and not self.cfg.keyboard:
            return rect
        if self.cfg.keyboard:  # the demo: the stand-ins for the caller buttons, kept in view
            legend = self.painter.line(KEY_LEGEND, int(h * 0.4), WHITE, False)
            self.screen.blit(legend, ((w - legend.get_width()) // 2,
                                      y + (h - legend.get_height()) // 2))
            return rect
        if self._ticker is None:
            self._ticker = self.painter.line(self.cfg.notice, int(h * 0.55), WHITE, False)
            self._ticker_x = -float(w)  # starts in view, at the left edge
            self._ticker_t = time.monotonic()
        now = time.monotonic()
        self._ticker_x -= (now - self._ticker_t) * TICKER_PX_PER_S * (h / 108)
        self._ticker_t = now
        span = self._ticker.get_width() + w // 3
        if self._ticker_x < -span:
            self._ticker_x += span
        ty = y + (h - self._ticker.get_height()) // 2
        tx = int(self._ticker_x)
        while tx < w:
            self.screen.blit(self._ticker, (w + tx, ty))
            tx += span
        return rect


def run_display(config: Config, cfg: DisplayConfig, *, state: Path, font: Path,
                bus: BusConfig | None = None) -> int:
    """Composition root: link → voice → buttons → bus → app; stopped in reverse."""
    devices = {d.name: d for d in config.devices}
    if cfg.device not in devices:
        print(f"display.device {cfg.device!r} is not in [[devices]]", file=sys.stderr)
        return 2
    factory = None
    if cfg.buttons:
        try:
            factory = make_pin_factory(cfg.pin_factory)
        except GPIOUnavailable as exc:
            print(f"caller buttons: {exc}", file=sys.stderr)
            return 2
    link = DispatcherLink(cfg.dispatcher, devices[cfg.device].token,
                          device=cfg.device).start()
    caller_link = None
    callers = None
    if cfg.buttons or cfg.keyboard:
        caller = devices.get(cfg.caller_device)
        if caller is None:
            print(f"display.caller_device {cfg.caller_device!r} is not in [[devices]]",
                  file=sys.stderr)
            link.stop()
            return 2
        caller_link = DispatcherLink(cfg.dispatcher, caller.token, device=caller.name).start(
            subscribe=False)

        def submit(window: int, verb: str) -> Any:
            assert caller_link is not None
            return caller_link.submit(lambda c: c.window(window, verb))

        callers = CallerPanel(submit).start()  # the app pushes each window's LED status
        if factory is not None:
            callers.attach_gpio(list(cfg.buttons), factory, cfg.bounce_s)
    bus_service = None
    if bus is not None and bus.configured:  # window displays, keypads, rating pads
        bus_service = build_service(config, bus, cfg.dispatcher, cfg.caller_device,
                                    highlight_s=cfg.highlight_s).start()
    pack = VoicePack(state / cfg.voice_pack)
    output: Any = NullOutput()
    if not pack.clips:
        log.warning("no voice pack in %s: calls are shown, not spoken "
                    "(build one: python -m display.make_voice_pack %s)", pack.folder,
                    pack.folder)
    else:
        try:
            output = PygameOutput(pack.rate)
        except Exception as exc:  # no sound card: the screen still works
            log.warning("no audio device (%s): calls are shown, not spoken", exc)
    announcer = Announcer(pack, output, cfg.repeat).start()
    size = (cfg.width, cfg.height) if cfg.width and cfg.height else None
    app = HallApp(config, cfg, link, font, size=size,
                  fullscreen=cfg.fullscreen and not os.environ.get("QMS_WINDOWED"),
                  announcer=announcer, callers=callers)
    try:
        app.run()
    finally:
        announcer.stop()
        if bus_service is not None:
            bus_service.stop()
        if callers is not None:
            callers.stop()
        if caller_link is not None:
            caller_link.stop()
        link.stop()
    return 0
