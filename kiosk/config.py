"""The [kiosk] section of the config: the touchscreen ticket app."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from base.config import Validator


@dataclass(frozen=True)
class KioskConfig:
    """The touchscreen ticket app."""

    dispatcher: str = "http://127.0.0.1:8470"  # the dispatcher's base URL
    device: str = "kiosk-1"  # its [[devices]] entry (role kiosk): the token it uses
    fullscreen: bool = True
    width: int = 0  # window size when not fullscreen (0: 1280 × 800)
    height: int = 0
    idle_timeout_s: float = 45.0
    done_timeout_s: float = 20.0
    print_timeout_s: float = 20.0
    confirm_timeout_s: float = 30.0  # no answer to "take a number" this long: told none taken
    on_printer_fault: str = "pause"  # pause ticketing, or "issue" and show the number on screen

    @property
    def size(self) -> tuple[int, int] | None:
        """The window size when not fullscreen, if one is set."""
        return (self.width, self.height) if self.width and self.height else None


DEVICE_ROLES = ("kiosk", "admin")  # the roles a kiosk's device may have


def read_kiosk(v: Validator, data: Mapping[str, Any]) -> KioskConfig:
    """The [kiosk] section; its device is checked against [[devices]] by the shell."""
    where = "kiosk."
    v.unknown_keys(data, KioskConfig.__dataclass_fields__, where)
    d = KioskConfig()
    fault = v.string(data, "on_printer_fault", where, default=d.on_printer_fault) or \
        d.on_printer_fault
    if fault not in ("pause", "issue"):
        v.err(where + "on_printer_fault", f"must be pause or issue, not {fault!r}")
    return KioskConfig(
        dispatcher=v.url(data, "dispatcher", where, d.dispatcher),
        device=v.string(data, "device", where, default=d.device) or d.device,
        fullscreen=v.boolean(data, "fullscreen", where, d.fullscreen),
        width=v.integer(data, "width", where, default=0, minimum=0) or 0,
        height=v.integer(data, "height", where, default=0, minimum=0) or 0,
        idle_timeout_s=v.number(data, "idle_timeout_s", where, default=d.idle_timeout_s,
                                minimum=5) or d.idle_timeout_s,
        done_timeout_s=v.number(data, "done_timeout_s", where, default=d.done_timeout_s,
                                minimum=3) or d.done_timeout_s,
        print_timeout_s=v.number(data, "print_timeout_s", where,
                                 default=d.print_timeout_s, minimum=3) or d.print_timeout_s,
        confirm_timeout_s=v.number(data, "confirm_timeout_s", where,
                                   default=d.confirm_timeout_s, minimum=1)
        or d.confirm_timeout_s,
        on_printer_fault=fault,
    )
