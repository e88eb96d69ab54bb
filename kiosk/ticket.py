"""What the kiosk prints: a ticket's data from the dispatcher's answer and the catalog."""

from __future__ import annotations

import datetime as dt
from typing import Any

from dispatcher.domain.config import Config, SkillLevel
from printer.config import PrinterConfig
from printer.layout import TicketData


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


def ticket_data(config: Config, cfg: PrinterConfig, reply: dict[str, Any], lang: str = "zh",
                reprint: bool = False) -> TicketData:
    """What to print for an answer of POST /tickets (`{"ticket", "ahead", "est_wait_min"}`)."""
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
        windows=serving_windows(config, service.id),
        sign_language=bool(ticket.get("sign_language")),
        materials=service.materials if cfg.prints_materials(service.id) else (),
        qr=qr,
        lang=lang,
        unprinted_note=reprint,
    )


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
    }
    return ticket_data(config, cfg, reply)
