"""The [display] section of the config: the hall screen, its caller buttons and voice."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from base.config import Validator


@dataclass(frozen=True)
class WindowButtons:
    """BCM pins of one window's caller buttons and LED."""

    window: int
    call_next: int | None = None
    recall: int | None = None
    no_show: int | None = None
    pause: int | None = None
    led: int | None = None


@dataclass(frozen=True)
class DisplayConfig:
    """The hall screen, its caller buttons and voice."""

    dispatcher: str = "http://127.0.0.1:8470"
    device: str = "hall-screen"  # a display-role device: its token reads the events
    caller_device: str = "hall"  # a caller-role device: its token presses the buttons
    fullscreen: bool = True
    width: int = 0
    height: int = 0
    notice: str = ""  # the scrolling notice line
    highlight_s: float = 12.0  # a new call stays highlighted this long (≥ 10)
    flashes_per_s: float = 1.0  # at most 3
    recent: int = 8  # calls listed (≥ 6)
    late_s: float = 15.0  # calls older than this when they arrive are listed, not announced
    voice_pack: str = "voice"  # folder of clips, relative to the state folder
    repeat: int = 2  # each call said this many times
    keyboard: bool = False  # demo: keys stand in for the caller buttons
    pin_factory: str = ""  # "" (no GPIO buttons) | lgpio | rpigpio | pigpio | native | mock
    bounce_s: float = 0.05
    buttons: tuple[WindowButtons, ...] = ()


# The [[devices]] entries the display names, and the roles each may have.
DEVICE_ROLES = {"device": ("display", "admin"), "caller_device": ("caller", "admin")}


def read_display(v: Validator, data: Mapping[str, Any]) -> DisplayConfig:
    """The [display] section; devices and button windows are checked by the shell."""
    where = "display."
    v.unknown_keys(data, DisplayConfig.__dataclass_fields__, where)
    d = DisplayConfig()
    url = v.url(data, "dispatcher", where, d.dispatcher)
    names = {key: v.string(data, key, where, default=getattr(d, key)) or getattr(d, key)
             for key in DEVICE_ROLES}
    highlight = v.number(data, "highlight_s", where, default=d.highlight_s, minimum=10)
    flashes = v.number(data, "flashes_per_s", where, default=d.flashes_per_s,
                          minimum=0)
    if flashes is not None and flashes > 3:
        v.err(where + "flashes_per_s", f"must be at most 3 (photosensitivity), "
                 f"not {flashes}")
        flashes = None
    factory = v.string(data, "pin_factory", where, default="") or ""
    known_factories = ("lgpio", "rpigpio", "pigpio", "native", "mock")
    if factory and factory not in known_factories:
        v.err(where + "pin_factory", f"unknown pin factory {factory!r} "
                 f"(known: {', '.join(known_factories)})")
    buttons: list[WindowButtons] = []
    used_pins: dict[int, str] = {}
    for i, item in enumerate(v.array_of_tables(data, "buttons", where)):
        bw = f"{where}buttons[{i}]."
        v.unknown_keys(item, WindowButtons.__dataclass_fields__, bw)
        window = v.integer(item, "window", bw)
        pins: dict[str, int | None] = {}
        for key in ("call_next", "recall", "no_show", "pause", "led"):
            pin = v.integer(item, key, bw, default=-1, minimum=-1, maximum=27)
            pins[key] = None if pin in (None, -1) else pin
            if pins[key] is not None:
                if pins[key] in used_pins:
                    v.err(bw + key, f"GPIO {pins[key]} is already used by "
                             f"{used_pins[pins[key]]}")  # type: ignore[index]
                used_pins[pins[key]] = bw + key  # type: ignore[index]
        if window is not None:
            buttons.append(WindowButtons(window, **pins))
    if buttons and not factory:
        v.err(where + "pin_factory", "buttons are wired: name the pin factory "
                 "(lgpio on a Pi 5)")
    return DisplayConfig(
        dispatcher=url, device=names["device"],
        caller_device=names["caller_device"],
        fullscreen=v.boolean(data, "fullscreen", where, d.fullscreen),
        width=v.integer(data, "width", where, default=0, minimum=0) or 0,
        height=v.integer(data, "height", where, default=0, minimum=0) or 0,
        notice=data.get("notice", "") if isinstance(data.get("notice", ""), str) else "",
        highlight_s=highlight or d.highlight_s,
        flashes_per_s=d.flashes_per_s if flashes is None else flashes,
        recent=v.integer(data, "recent", where, default=d.recent, minimum=6,
                            maximum=20) or d.recent,
        late_s=v.number(data, "late_s", where, default=d.late_s, minimum=1)
        or d.late_s,
        voice_pack=v.string(data, "voice_pack", where, default=d.voice_pack)
        or d.voice_pack,
        repeat=v.integer(data, "repeat", where, default=d.repeat, minimum=1, maximum=3)
        or d.repeat,
        keyboard=v.boolean(data, "keyboard", where, d.keyboard),
        pin_factory=factory,
        bounce_s=v.number(data, "bounce_s", where, default=d.bounce_s, minimum=0)
        or d.bounce_s,
        buttons=tuple(buttons),
    )
