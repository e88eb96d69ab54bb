"""Regenerate the kiosk screenshots in docs/screenshots (`python docs/make_screenshots.py`).

Every screen at 800×480 (the 7" panel) and 1280×800, the home screen in portrait 1080×1920,
drawn by the kiosk's own layout and painter on the example center with a busy morning's queue
(window 3 paused, so the windows shown for a business leave it out).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from pathlib import Path
from zoneinfo import ZoneInfo

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import pygame

from base.fonts import find_font
from base.screen.painter import Painter
from dispatcher.domain import commands as c
from dispatcher.domain.core import QueueCore
from dispatcher.domain.serving import serving_windows
from kiosk.app import catalog_view
from kiosk.flow import KioskState, Screen
from kiosk.screens import View, build
from qms.config import load_config

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
NOW = dt.datetime(2026, 11, 30, 9, 30)
CONFIG = load_config(ROOT / "examples" / "center.toml")


def morning() -> QueueCore:
    """The example center at 09:30 with window 3 paused."""
    core = QueueCore(CONFIG)
    core.handle(c.Pause(request_id="p3", window=3), NOW.replace(tzinfo=ZoneInfo("Asia/Shanghai")))
    return core


REPLY = {"ticket": {"id": "2026-11-30-A012", "number": "A012", "service_id": "yibao-dabing",
                    "sign_language": True}, "ahead": 5, "est_wait_min": 12,
         "windows": list(serving_windows(CONFIG, morning().state, "yibao-dabing"))}

STATES = {
    "home": KioskState(screen=Screen.HOME, dispatcher_up=True),
    "department": KioskState(screen=Screen.DEPARTMENT, department="yibao", page=0,
                             dispatcher_up=True),
    "service": KioskState(screen=Screen.SERVICE, department="yibao", service="yibao-dabing",
                          sign_language=True, dispatcher_up=True),
    "checkin": KioskState(screen=Screen.CHECKIN, code="20261130", message="unknown_code",
                          dispatcher_up=True),
    "checkin-late": KioskState(screen=Screen.CHECKIN, code="113001", service="yibao-dabing",
                               message="checkin:签到已于 09:30 截止 / check-in closed at 09:30",
                               dispatcher_up=True),
    "printing": KioskState(screen=Screen.PRINTING, dispatcher_up=True),
    "confirming": KioskState(screen=Screen.PRINTING, message="confirming"),
    "done": KioskState(screen=Screen.DONE, ticket=REPLY, printed=True, dispatcher_up=True),
    "done-unprinted": KioskState(screen=Screen.DONE, ticket=REPLY, printed=False,
                                 dispatcher_up=True),
    "paused": KioskState(screen=Screen.PAUSED, pause_reason="dispatcher"),
    "not-issued": KioskState(screen=Screen.PAUSED, pause_reason="dispatcher",
                             message="not_issued"),
    "paused-printer": KioskState(screen=Screen.PAUSED, pause_reason="printer",
                                 printer_ready=False, printer_status="paper_out",
                                 dispatcher_up=True),
    "home-en": KioskState(screen=Screen.HOME, lang="en", sign_language=True, dispatcher_up=True),
}


def busy_view() -> View:
    config = CONFIG
    view = catalog_view(config, morning().state)
    for i, sid in enumerate(config.services):
        view.waiting[sid] = (i * 7) % 5 if i % 3 else 0
        view.estimate[sid] = (3 + i % 9, 5 + (i * 3) % 25)
    return view


def shoot(name: str, state: KioskState, size: tuple[int, int], view: View,
          painter_cache: dict[tuple[int, int], Painter]) -> Path:
    surface = pygame.Surface(size)
    font = find_font()
    assert font is not None, "no CJK font: sudo apt-get install fonts-wqy-microhei"
    if size not in painter_cache:
        painter_cache[size] = Painter(font, min(size) / 480)
    painter_cache[size].draw(surface, build(state, view, *size))
    path = HERE / "screenshots" / f"kiosk-{name}-{size[0]}x{size[1]}.png"
    pygame.image.save(surface, path)
    return path


def main() -> None:
    pygame.init()
    view = busy_view()
    cache: dict[tuple[int, int], Painter] = {}
    for size in ((800, 480), (1280, 800)):
        for name, state in STATES.items():
            print(shoot(name, dataclasses.replace(state, entered=NOW), size, view, cache).name)
    for name in ("home", "service", "done"):
        print(shoot(name, STATES[name], (1080, 1920), view, cache).name)


if __name__ == "__main__":
    main()
