"""Caller buttons with gpiozero MockFactory: each verb, bounce storms, holds, a dead dispatcher."""

from __future__ import annotations

import concurrent.futures
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from gpiozero.pins.mock import MockFactory

from dispatcher.client import LinkDown
from display.buttons import (
    CallerPanel,
    GPIOUnavailable,
    WindowPins,
    key_press,
    make_pin_factory,
)

from .conftest import wait_until

PINS = [WindowPins(3, call_next=5, recall=6, no_show=13, pause=19, led=26)]


class FakeDispatcher:
    """Answers presses; like the hall loop, pushes the window's new status to the panel."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, str]] = []
        self.down = False
        self.delay = 0.0
        self.status = "idle"
        self.panel: CallerPanel | None = None

    def submit(self, window: int, verb: str) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()

        def answer() -> None:
            time.sleep(self.delay)
            if self.down:
                future.set_exception(LinkDown("POST /windows: connection refused"))
                return
            self.calls.append((window, verb))
            self.status = {"call-next": "serving", "pause": "paused", "resume": "idle"}.get(
                verb, self.status)
            if self.panel is not None:
                self.panel.show(window, self.status)
            future.set_result({"ok": True})

        threading.Thread(target=answer, daemon=True).start()
        return future



@pytest.fixture
def rig() -> Iterator[tuple[MockFactory, FakeDispatcher, CallerPanel]]:
    factory = MockFactory()
    dispatcher = FakeDispatcher()
    panel = CallerPanel(dispatcher.submit).start()
    dispatcher.panel = panel
    panel.attach_gpio(PINS, factory)
    yield factory, dispatcher, panel
    panel.stop()
    factory.reset()


def press(factory: MockFactory, pin: int) -> None:
    factory.pin(pin).drive_low()
    factory.pin(pin).drive_high()


@pytest.mark.parametrize(("pin", "verb"), [(5, "call-next"), (6, "recall"), (13, "no-show"),
                                           (19, "pause")])
def test_each_button_sends_its_verb(rig: Any, pin: int, verb: str) -> None:
    factory, dispatcher, _ = rig
    press(factory, pin)
    wait_until(lambda: dispatcher.calls == [(3, verb)])


def test_pause_button_resumes_a_paused_window(rig: Any) -> None:
    factory, dispatcher, _panel = rig
    press(factory, 19)
    wait_until(lambda: dispatcher.calls == [(3, "pause")])
    time.sleep(0.35)  # past the guard: a deliberate second press
    press(factory, 19)
    wait_until(lambda: dispatcher.calls == [(3, "pause"), (3, "resume")])


def test_a_bounce_storm_is_one_press(rig: Any) -> None:
    factory, dispatcher, _ = rig
    for _ in range(5):  # five edges within a few milliseconds
        press(factory, 5)
    time.sleep(0.2)
    assert dispatcher.calls == [(3, "call-next")]


def test_a_held_button_is_one_press(rig: Any) -> None:
    factory, dispatcher, _ = rig
    factory.pin(5).drive_low()
    time.sleep(0.5)
    factory.pin(5).drive_high()
    time.sleep(0.1)
    assert dispatcher.calls == [(3, "call-next")]


def test_a_press_is_acknowledged_on_the_led_at_once_even_if_the_dispatcher_is_slow(
    rig: Any,
) -> None:
    factory, dispatcher, _panel = rig
    dispatcher.delay = 1.0
    led = factory.pin(26)
    led_states: list[bool] = []
    started = time.perf_counter()
    press(factory, 5)
    deadline = started + 0.1
    while time.perf_counter() < deadline and not led_states:
        if led.state:
            led_states.append(True)
        time.sleep(0.001)
    assert led_states, "the LED did not flash within 100 ms"
    assert dispatcher.calls == []  # the dispatcher has not even answered yet


def test_a_failed_press_is_shown_and_kept(rig: Any) -> None:
    factory, dispatcher, panel = rig
    dispatcher.down = True
    press(factory, 5)
    wait_until(lambda: len(panel.failures) == 1)
    pressed, reason = panel.failures[0]
    assert (pressed.window, pressed.verb) == (3, "call-next") and "refused" in reason
    # The LED blinks fast for a while: count its changes over 0.5 s.
    led = factory.pin(26)
    changes, last = 0, led.state
    end = time.monotonic() + 0.5
    while time.monotonic() < end:
        if led.state != last:
            changes, last = changes + 1, led.state
        time.sleep(0.005)
    assert changes >= 3  # 0.1 s on/off: about five changes, fewer on a busy machine


def test_the_pause_button_goes_by_the_status_the_hall_pushed(rig: Any) -> None:
    factory, dispatcher, panel = rig
    dispatcher.panel = None  # nobody else tells the panel anything
    panel.show(3, "paused")  # say, paused from the console
    press(factory, 19)
    wait_until(lambda: dispatcher.calls == [(3, "resume")])
    time.sleep(0.35)
    press(factory, 19)  # nothing pushed since: still "paused" as far as the panel knows
    wait_until(lambda: dispatcher.calls == [(3, "resume"), (3, "resume")])
    assert panel.status(3) == "paused" and panel.status(4) == "idle"


def test_an_unknown_status_is_refused(rig: Any) -> None:
    _, _, panel = rig
    with pytest.raises(ValueError, match="unknown window status"):
        panel.show(3, "busy")


def test_leds_follow_the_pushed_status(rig: Any) -> None:
    factory, _dispatcher, panel = rig
    led = factory.pin(26)
    panel.show(3, "serving")
    assert led.state
    panel.show(3, "idle")
    assert not led.state
    panel.show(3, "paused")
    seen = set()
    end = time.monotonic() + 1.2
    while time.monotonic() < end:
        seen.add(bool(led.state))
        time.sleep(0.02)
    assert seen == {True, False}  # blinking while paused


def test_the_pin_factory_is_never_a_silent_fake() -> None:
    with pytest.raises(GPIOUnavailable, match="unknown pin factory"):
        make_pin_factory("whatever")
    with pytest.raises(GPIOUnavailable, match="not usable here"):
        make_pin_factory("rpigpio")  # no Raspberry Pi GPIO on this machine
    factory = make_pin_factory("mock")  # only when named
    factory.close()


def test_demo_keys_stand_in_for_buttons() -> None:
    assert key_press("3") == (3, "call-next")
    assert key_press("w") == (2, "recall")
    assert key_press("a") == (1, "no-show")
    assert key_press(",") == (8, "pause")
    assert key_press("p") is None
