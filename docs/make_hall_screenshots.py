"""Regenerate the hall screen screenshots (`python docs/make_hall_screenshots.py`).

A morning of the example center is played through the real queue core; the hall layout and
painter draw it at 1920×1080 (and the fresh call at 1366×768): idle, a fresh call mid-flash, a
full list, paused windows, a sign-language ticket, and the link lost. At 08:30 孙佳怡 (s08:
医保, 社保, 一网通办 only) signs in at window 3 as well as 8, so most departments are served at
windows 1、2、4～7 (and paused windows drop out).
"""

from __future__ import annotations

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
from display.app import department_windows
from display.hall import HallView, build_hall
from qms.config import load_config

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TZ = ZoneInfo("Asia/Shanghai")


def morning(calls: int, sign_last: bool = False, pause: tuple[int, ...] = ()) -> QueueCore:
    config = load_config(ROOT / "examples" / "center.toml")
    core = QueueCore(config)
    now = dt.datetime(2026, 11, 30, 8, 30, tzinfo=TZ)
    services = ["yibao-dabing", "shebao-ka-shenling", "yibao-jiuyi-jilu-ce",
                "laoling-jinglaoka-buban", "minzheng-dibao", "juzhuzheng-qianzhu",
                "yiwang-shiming-renzheng", "zhufang-lianzu-shenqing"]
    services = [s for s in services if s in config.services] or list(config.services)[:8]
    core.handle(c.SignIn(request_id="s08", window=3, staff_id="s08"), now)
    for i in range(40):
        now += dt.timedelta(seconds=40)
        core.handle(c.IssueTicket(request_id=f"k{i}", service_id=services[i % len(services)],
                                  sign_language=(i == 12)), now)
    if sign_last:
        now += dt.timedelta(seconds=30)
        core.handle(c.IssueTicket(request_id="sign", service_id="canlian-longxinka",
                                  sign_language=True), now)
    for i in range(calls):
        now += dt.timedelta(seconds=50)
        window = (i % 8) + 1
        core.handle(c.CallNext(request_id=f"c{i}", window=window), now)
    for n in pause:
        now += dt.timedelta(seconds=5)
        core.handle(c.Pause(request_id=f"p{n}", window=n), now)
    if sign_last:
        now += dt.timedelta(seconds=10)
        core.handle(c.SetGreenChannel(request_id="g", mode="on"), now)
        core.handle(c.CallNext(request_id="csign", window=1), now + dt.timedelta(seconds=9))
    return core


def view(core: QueueCore, **extra: object) -> HallView:
    state = core.state
    config = core.config
    return HallView(
        center=config.center.name,
        departments=[(d.id, d.name, frozenset(s.id for s in d.services))
                     for d in config.departments],
        calls=list(state.recent_calls),
        windows=[w.to_dict(state.tickets) for _, w in sorted(state.windows.items())],
        waiting=dict(state.waiting_by_service),
        dept_windows=department_windows(config, state),
        now=dt.datetime(2026, 11, 30, 9, 42, tzinfo=TZ), **extra,  # type: ignore[arg-type]
    )


def main() -> None:
    pygame.init()
    font = find_font()
    assert font is not None, "no CJK font: sudo apt-get install fonts-wqy-microhei"
    shots = {
        "idle": (view(morning(0)), (1920, 1080)),
        "fresh-call": (view(morning(5), highlight=True, flash_on=True), (1920, 1080)),
        "fresh-call-off-phase": (view(morning(5), highlight=True, flash_on=False), (1920, 1080)),
        "full-list": (view(morning(14)), (1920, 1080)),
        "paused-windows": (view(morning(9, pause=(3, 6))), (1920, 1080)),
        "sign-language": (view(morning(6, sign_last=True), highlight=True, flash_on=True),
                          (1920, 1080)),
        "disconnected": (view(morning(7), link_up=False), (1920, 1080)),
        "fresh-call-1366": (view(morning(5), highlight=True, flash_on=True), (1366, 768)),
    }
    for name, (v, size) in shots.items():
        surface = pygame.Surface(size)
        Painter(font, min(size) / 480).draw(surface, build_hall(v, *size))
        path = HERE / "screenshots" / f"hall-{name}.png"
        pygame.image.save(surface, path)
        print(path.name)


if __name__ == "__main__":
    main()
