"""`qms printer test`: print a sample ticket on the configured printer, or write its bytes."""

from __future__ import annotations

import sys
from pathlib import Path

from base.fonts import FONT_HINT, find_font

from .config import PrinterConfig
from .layout import TicketData
from .render import render_ticket
from .setup import make_link_factory, profile_for
from .worker import PrinterWorker


def printer_test(cfg: PrinterConfig, ticket: TicketData, state: Path, to: Path | None) -> int:
    """Print `ticket` on the configured printer, or write its bytes to `to`; an exit code."""
    profile = profile_for(cfg)
    font = find_font(cfg.font)
    if font is None and (cfg.mode == "raster" or cfg.transport == "fake"):
        print(f"no CJK font found for {'raster tickets' if cfg.mode == 'raster' else 'previews'}"
              f": {FONT_HINT}", file=sys.stderr)
        return 2
    data = render_ticket(ticket, profile, font)
    if to is not None:
        to.write_bytes(data)
        print(f"wrote {len(data)} bytes of ESC/POS ({cfg.mode}, {cfg.dots} dots, "
              f"{cfg.encoding}) to {to}")
        return 0
    factory = make_link_factory(cfg, state, font)
    worker = PrinterWorker(factory, poll_s=1.0).start()
    try:
        result = worker.submit(data).result(timeout=60)
    finally:
        worker.stop()
    where = factory().name
    if cfg.transport == "fake":
        where += f" ({state / cfg.fake_dir})"
    if result.printed:
        note = " (the printer cannot report its status)" if result.reason else ""
        print(f"printed a sample ticket ({len(data)} bytes) on {where}{note}; "
              f"status {result.status.value}")
        return 0
    print(f"not printed on {where}: {result.reason} (status {result.status.value})",
          file=sys.stderr)
    return 1
