"""What the kiosk prints: a ticket's data from the dispatcher's answer and the catalog."""

from __future__ import annotations

import datetime as dt
from typing import Any

from dispatcher.domain.config import Config
from dispatcher.domain.core import initial_state
from dispatcher.domain.model import QueueState
from dispatcher.domain.serving import serving_windows
from printer.config import PrinterConfig
from printer.layout import TicketData


def answer_windows(config: Config, reply: dict[str, Any],
                   state: QueueState | None = None) -> tuple[int, ...]:
    """The windows an answer of POST /tickets names. A dispatcher too old to send them: the
    same rule on `state` (the kiosk's mirror), else on the windows as configured."""
    windows = reply.get("windows")
    if isinstance(windows, list):
        return tuple(int(n) for n in windows)
    service_id = reply["ticket"]["service_id"]
    return serving_windows(config, state or initial_state(config), service_id)


def ticket_data(config: Config, cfg: PrinterConfig, reply: dict[str, Any], lang: str = "zh",
                reprint: bool = False, state: QueueState | None = None) -> TicketData:
    """What to print for an answer of POST /tickets (`{"ticket", "ahead", "est_wait_min",
    "windows"}`); `state` (the kiosk's mirror) stands in for `windows` if the answer lacks it."""
    ticket = reply["ticket"]
    service = config.services[ticket["service_id"]]
    qr = cfg.qr.format(id=ticket["id"], number=ticket["number"]) if cfg.qr else None
    return TicketData(
        center=config.center.name if lang == "zh" else (config.center.name_en or
                                                       config.center.name),
        number=ticket["number"],
        service=service.name if lang == "zh" else (service.name_en or service.name),
        issued_at=dt.datetime.fromisoformat(ticket["issued_at"]).astimezone(config.center.tz),
        ahead=int(reply.get("ahead", 0)),
        est_wait_min=int(reply.get("est_wait_min", 0)),
        windows=answer_windows(config, reply, state),
        sign_language=bool(ticket.get("sign_language")),
        appointment=_slot(ticket, config),
        materials=service.materials if cfg.prints_materials(service.id) else (),
        qr=qr,
        lang=lang,
        unprinted_note=reprint,
    )


def _slot(ticket: dict[str, Any], config: Config) -> str | None:
    """A checked-in booking's slot, "09:00–09:30" in the center's time."""
    booked = ticket.get("appointment")
    if not booked or not booked.get("slot_start"):
        return None
    tz = config.center.tz
    start = dt.datetime.fromisoformat(booked["slot_start"]).astimezone(tz)
    end = dt.datetime.fromisoformat(booked["slot_end"]).astimezone(tz) \
        if booked.get("slot_end") else None
    return f"{start:%H:%M}–{end:%H:%M}" if end else f"{start:%H:%M}"


def sample_ticket(config: Config, cfg: PrinterConfig, now: dt.datetime | None = None
                  ) -> TicketData:
    """A representative ticket for `qms printer test`: the first short business."""
    service = next((s for s in config.services.values() if s.short_high_freq),
                   next(iter(config.services.values())))
    issued = (now or dt.datetime.now(config.center.tz)).astimezone(config.center.tz)
    reply = {
        "ticket": {"id": f"{issued.date()}-{service.prefix}001", "number": f"{service.prefix}001",
                   "service_id": service.id, "issued_at": issued.isoformat(),
                   "sign_language": True},
        "ahead": 3, "est_wait_min": 8,
        "windows": list(serving_windows(config, initial_state(config), service.id)),
    }
    return ticket_data(config, cfg, reply)
