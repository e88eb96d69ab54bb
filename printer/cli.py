"""`qms printer test`: print a sample ticket on the configured printer, or write its bytes."""

from __future__ import annotations

import sys
from pathlib import Path

from dispatcher.config import Config
from dispatcher.paths import state_dir

from .render import render_ticket
from .setup import FONT_HINT, find_font, make_link_factory, profile_for, sample_ticket
from .worker import PrinterWorker


def printer_test(config: Config, config_path: Path, to: Path | None) -> int:
    cfg = config.printer
    profile = profile_for(cfg)
    font = find_font(cfg.font)
    if font is None and (cfg.mode == "raster" or cfg.transport == "fake"):
        print(f"no CJK font found for {'raster tickets' if cfg.mode == 'raster' else 'previews'}"
              f": {FONT_HINT}", file=sys.stderr)
        return 2
    data = render_ticket(sample_ticket(config), profile, font)
    if to is not None:
        to.write_bytes(data)
        print(f"wrote {len(data)} bytes of ESC/POS ({cfg.mode}, {cfg.dots} dots, "
              f"{cfg.encoding}) to {to}")
        return 0
    factory = make_link_factory(cfg, state_dir(config_path), font)
    worker = PrinterWorker(factory, poll_s=1.0).start()
    try:
        result = worker.submit(data).result(timeout=60)
    finally:
        worker.stop()
    where = factory().name
    if cfg.transport == "fake":
        where += f" ({state_dir(config_path) / cfg.fake_dir})"
    if result.printed:
        note = " (the printer cannot report its status)" if result.reason else ""
        print(f"printed a sample ticket ({len(data)} bytes) on {where}{note}; "
              f"status {result.status.value}")
        return 0
    print(f"not printed on {where}: {result.reason} (status {result.status.value})",
          file=sys.stderr)
    return 1
