"""Caller buttons and window LEDs through gpiozero, and the keyboard stand-in of the demo.

Per window: call-next, recall, no-show and pause/resume buttons, and one LED (on while
serving, slow blink while paused, off when idle). What each window is doing is pushed in by the
hall loop (`show(window, status)`) whenever it changes; the panel keeps that and reads nothing
else. A press is acknowledged on the LED at once (a short flash, from the button's own
callback), then queued; one worker thread sends the presses to the dispatcher in order (the
pause button asks to resume a window last pushed as paused). A press that failed is shown
(fast blink for 3 s) and kept in `failures`, never dropped silently. gpiozero's `bounce_time`
is set, and a second press of the same button within `guard_s` is ignored (mock pins do not
bounce; the core guards call-next again with its double-press interval).
"""

from __future__ import annotations

import concurrent.futures
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from display.config import WindowButtons

log = logging.getLogger(__name__)

VERBS = ("call-next", "recall", "no-show", "pause")  # "pause" toggles pause / resume
PIN_FACTORIES = {
    "lgpio": "gpiozero.pins.lgpio:LGPIOFactory",  # Raspberry Pi 5 (and 4)
    "rpigpio": "gpiozero.pins.rpigpio:RPiGPIOFactory",
    "pigpio": "gpiozero.pins.pigpio:PiGPIOFactory",
    "native": "gpiozero.pins.native:NativeFactory",
    "mock": "gpiozero.pins.mock:MockFactory",  # tests and demos, only when named
}


class GPIOUnavailable(Exception):
    """The named pin factory cannot drive this machine's GPIO."""


def make_pin_factory(name: str) -> Any:
    """The pin factory named in the config. Never falls back to another one."""
    if name not in PIN_FACTORIES:
        raise GPIOUnavailable(f"unknown pin factory {name!r} (known: {', '.join(PIN_FACTORIES)})")
    module_name, _, cls_name = PIN_FACTORIES[name].partition(":")
    try:
        module = __import__(module_name, fromlist=[cls_name])
        return getattr(module, cls_name)()
    except Exception as exc:  # ImportError, or the factory finding no GPIO chip
        raise GPIOUnavailable(f"GPIO pin factory {name!r} is not usable here: {exc}") from None


# One window's wiring is the config's [[display.buttons]] entry.
WindowPins = WindowButtons


@dataclass(frozen=True)
class Press:
    window: int
    verb: str
    at: float  # time.monotonic() of the press


Submit = Callable[[int, str], "concurrent.futures.Future[Any]"]
STATUSES = ("serving", "idle", "paused")  # what a window's LED shows: on, off, slow blink


class CallerPanel:
    """Buttons in, dispatcher requests out, LEDs showing what happened."""

    def __init__(self, submit: Submit, *, guard_s: float = 0.3) -> None:
        self._submit = submit
        self._lock = threading.RLock()  # the pushed statuses and every LED change
        self._status: dict[int, str] = {}  # window -> the status last pushed by the hall loop
        self._guard_s = guard_s
        self._last: dict[tuple[int, str], float] = {}
        self._queue: queue.Queue[Press | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="qms-callers", daemon=True)
        self._leds: dict[int, Any] = {}
        self._devices: list[Any] = []
        self._error_until: dict[int, float] = {}
        self.failures: list[tuple[Press, str]] = []
        self.sent: list[Press] = []
        self.on_result: Callable[[Press, Any], None] | None = None

    # -- wiring -------------------------------------------------------------------------------

    def attach_gpio(self, pins: list[WindowPins], factory: Any, bounce_s: float = 0.05) -> None:
        from gpiozero import LED, Button

        for wp in pins:
            for verb, pin in (("call-next", wp.call_next), ("recall", wp.recall),
                              ("no-show", wp.no_show), ("pause", wp.pause)):
                if pin is None:
                    continue
                button = Button(pin, pull_up=True, bounce_time=bounce_s, pin_factory=factory)
                button.when_pressed = self._callback(wp.window, verb)
                self._devices.append(button)
            if wp.led is not None:
                led = LED(wp.led, pin_factory=factory)
                self._leds[wp.window] = led
                self._devices.append(led)

    def _callback(self, window: int, verb: str) -> Callable[[], None]:
        def pressed() -> None:
            self.press(window, verb)

        return pressed

    def start(self) -> CallerPanel:
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._queue.put(None)
        self._thread.join(timeout)
        for device in self._devices:
            try:
                device.close()
            except Exception:  # a pin already released
                log.debug("closing %r failed", device)

    # -- presses ------------------------------------------------------------------------------

    def press(self, window: int, verb: str) -> bool:
        """A button went down (GPIO callback or keyboard). Only acknowledges and enqueues."""
        now = time.monotonic()
        key = (window, verb)
        if now - self._last.get(key, -1e9) < self._guard_s:
            return False  # bounce, or a double press
        self._last[key] = now
        led = self._leds.get(window)
        if led is not None:
            with self._lock:
                led.blink(on_time=0.06, off_time=0.06, n=1, background=True)  # ack at once
        self._queue.put(Press(window, verb, now))
        return True

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            verb = item.verb
            if verb == "pause":
                verb = "resume" if self.status(item.window) == "paused" else "pause"
            try:
                result = self._submit(item.window, verb).result(timeout=30)
            except Exception as exc:  # LinkDown, ApiError (e.g. no current ticket), timeout
                reason = getattr(exc, "message", "") or str(exc) or type(exc).__name__
                self.failures.append((item, reason))
                log.warning("window %s %s failed: %s", item.window, verb, reason)
                self._error(item.window)
                result = exc
            else:
                self.sent.append(item)
                self._light(item.window)  # back from the acknowledging flash
            if self.on_result is not None:
                self.on_result(item, result)

    # -- LEDs ---------------------------------------------------------------------------------

    def show(self, window: int, status: str) -> None:
        """The hall loop's word on a window: "serving", "idle" or "paused". Thread-safe; the
        LED follows at once (unless it is showing a failed press)."""
        if status not in STATUSES:
            raise ValueError(f"unknown window status {status!r}")
        with self._lock:
            self._status[window] = status
            self._light(window)

    def status(self, window: int) -> str:
        """What was last pushed for this window ("idle" before anything was)."""
        with self._lock:
            return self._status.get(window, "idle")

    def _error(self, window: int) -> None:
        led = self._leds.get(window)
        with self._lock:
            self._error_until[window] = time.monotonic() + 3.0
            if led is not None:
                led.blink(on_time=0.1, off_time=0.1, n=15, background=True)

    def _light(self, window: int) -> None:
        """Set a window's LED from its pushed status (unless it is showing an error)."""
        led = self._leds.get(window)
        with self._lock:
            if led is None or time.monotonic() < self._error_until.get(window, 0):
                return
            status = self._status.get(window, "idle")
            if status == "paused":
                led.blink(on_time=0.5, off_time=0.5, background=True)
            elif status == "serving":
                led.on()
            else:
                led.off()


# The demo's keyboard: one row of keys per verb, windows 1–8 left to right.
KEYBOARD = {
    "call-next": "12345678",
    "recall": "qwertyui",
    "no-show": "asdfghjk",
    "pause": "zxcvbnm,",
}


def key_press(char: str) -> tuple[int, str] | None:
    """(window, verb) for a demo key, or None."""
    for verb, keys in KEYBOARD.items():
        if char and char in keys:
            return keys.index(char) + 1, verb
    return None
