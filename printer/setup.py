"""Build the printer from the config: its profile, font, link, and tickets from API answers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dispatcher.config import Config, PrinterConfig, SkillLevel

from .fake import FakePrinter
from .layout import Profile, TicketData
from .links import Link, file_link, network_link, serial_link, usb_link

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
)
FONT_HINT = "install one: sudo apt-get install fonts-wqy-microhei (or fonts-noto-cjk)"


def find_font(configured: str = "") -> Path | None:
    """The configured CJK font, else the first one installed."""
    for candidate in ((configured,) if configured else FONT_CANDIDATES):
        path = Path(candidate)
        if path.is_file():
            return path
    return None


def profile_for(cfg: PrinterConfig) -> Profile:
    return Profile(dots=cfg.dots, encoding=cfg.encoding, mode=cfg.mode, cutter=cfg.cutter)


def make_link_factory(cfg: PrinterConfig, state: Path,
                      font: Path | None) -> Callable[[], Link]:
    """A function that builds a fresh link (the worker calls it again after an unplug)."""
    if cfg.transport == "fake":
        fake = FakePrinter(state / cfg.fake_dir, profile_for(cfg), font)
        return lambda: fake
    if cfg.transport == "usb":
        vendor, product = (int(x, 16) for x in cfg.usb.split(":"))
        return lambda: usb_link(vendor, product, int(cfg.timeout_s * 1000))
    if cfg.transport == "serial":
        return lambda: serial_link(cfg.serial, cfg.baudrate, cfg.flow, cfg.timeout_s)
    if cfg.transport == "network":
        return lambda: network_link(cfg.host, cfg.port, cfg.timeout_s)
    if cfg.transport == "file":
        return lambda: file_link(cfg.device)
    raise ValueError(f"unknown transport {cfg.transport!r}")


def serving_windows(config: Config, service_id: str) -> tuple[int, ...]:
    """The windows whose staff can handle a business (all, when skills are not used)."""
    if "skills" not in config.policy.rules:
        return tuple(w.number for w in config.windows)
    out = []
    for w in config.windows:
        if w.staff_id is None or config.staff_member(w.staff_id).level(service_id) > \
                SkillLevel.CANNOT:
            out.append(w.number)
    return tuple(out)


def ticket_data(config: Config, reply: dict[str, Any], lang: str = "zh",
                reprint: bool = False) -> TicketData:
    """What to print for an answer of POST /tickets (`{"ticket", "ahead", "est_wait_min"}`)."""
    ticket = reply["ticket"]
    service = config.services[ticket["service_id"]]
    cfg = config.printer
    qr = cfg.qr.format(id=ticket["id"], number=ticket["number"]) if cfg.qr else None
    return TicketData(
        center=config.center.name if lang == "zh" else (config.center.name_en or
                                                       config.center.name),
        number=ticket["number"],
        service=service.name if lang == "zh" else (service.name_en or service.name),
        issued_at=dt.datetime.fromisoformat(ticket["issued_at"]).astimezone(config.center.tz),
        ahead=int(reply.get("ahead", 0)),
        est_wait_min=int(reply.get("est_wait_min", 0)),
        windows=serving_windows(config, service.id),
        sign_language=bool(ticket.get("sign_language")),
        materials=service.materials if cfg.prints_materials(service.id) else (),
        qr=qr,
        lang=lang,
        unprinted_note=reprint,
    )


def sample_ticket(config: Config, now: dt.datetime | None = None) -> TicketData:
    """A representative ticket for `qms printer test`: the first short business."""
    service = next((s for s in config.services.values() if s.short_high_freq),
                   next(iter(config.services.values())))
    issued = (now or dt.datetime.now(config.center.tz)).astimezone(config.center.tz)
    reply = {
        "ticket": {"id": f"{issued.date()}-{service.prefix}001", "number": f"{service.prefix}001",
                   "service_id": service.id, "issued_at": issued.isoformat(),
                   "sign_language": True},
        "ahead": 3, "est_wait_min": 8,
    }
    return ticket_data(config, reply)
