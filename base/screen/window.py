"""A pygame program with one window and one loop, shared by the kiosk and the hall screen.

Opens fullscreen (KMS/DRM without a desktop) or in a window, stops on SIGTERM/SIGINT, tells
systemd it is ready and keeps the watchdog fed from the loop, and waits for input without
SDL's 1 ms polling.
"""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import pygame

from base import sdnotify
from base.screen.painter import Painter


class ScreenProgram:
    caption = "qms"
    default_size = (1280, 800)
    allowed_events: tuple[int, ...] | None = None  # None: all

    def __init__(self, font: Path, size: tuple[int, int] | None, fullscreen: bool) -> None:
        self.font = font
        self.size = size
        self.fullscreen = fullscreen
        self.screen: pygame.Surface | None = None
        self.painter: Painter | None = None
        self.running = False
        self.watchdog = sdnotify.Watchdog()
        self._wakeup = threading.Event()

    def open(self) -> None:
        pygame.display.init()
        if self.allowed_events is not None:
            pygame.event.set_allowed(None)
            pygame.event.set_allowed(list(self.allowed_events))
        if self.fullscreen:
            self.screen = pygame.display.set_mode((0, 0), pygame.FULLSCREEN)
            pygame.mouse.set_visible(False)
        else:
            self.screen = pygame.display.set_mode(self.size or self.default_size)
        pygame.display.set_caption(self.caption)
        w, h = self.screen.get_size()
        self.painter = Painter(self.font, min(w, h) / 480)
        self.running = True

    def close(self) -> None:
        self.running = False
        pygame.display.quit()

    def step(self) -> None:
        raise NotImplementedError

    def run(self) -> None:
        """Open the window and loop until `running` goes false (the window closed, or
        SIGTERM/SIGINT when run from the main thread)."""
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: self.stop())
        self.open()
        sdnotify.ready("showing")
        try:
            while self.running:
                self.step()
                self.watchdog.ping()
        finally:
            sdnotify.stopping()
            self.close()

    def stop(self) -> None:
        """Ask the loop to end (from a signal handler or another thread)."""
        self.running = False
        self._wakeup.set()

    def wake(self) -> None:
        """Called from other threads when something for the loop arrived."""
        self._wakeup.set()

    def wait_events(self, timeout: float, poll: float) -> list[pygame.event.Event]:
        """Input events, waiting up to `timeout` s (less if woken), looking every `poll` s.

        SDL's own wait polls every millisecond on drivers without an event wait (KMS/DRM,
        dummy); looking from a sleeping thread costs far less."""
        deadline = time.monotonic() + timeout
        batch = pygame.event.get()
        while not batch and not self._wakeup.is_set() and time.monotonic() < deadline:
            self._wakeup.wait(min(poll, max(0.0, deadline - time.monotonic())))
            batch = pygame.event.get()
        self._wakeup.clear()
        return batch
