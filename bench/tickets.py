"""Benchmark ticket rendering and sending; prints one JSON object.

    .venv/bin/python -m bench.tickets      (from the repository root)

Bytes per ticket and render time, native vs raster, 576 and 384 dots, with and without QR;
and the time to send each over a serial link at 9600 and 115200 baud (8N1: 10 bits a byte),
measured through the fake printer throttled to that rate.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import statistics
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from base.fonts import find_font
from printer.fake import FakePrinter
from printer.layout import Profile, TicketData
from printer.render import render_ticket

TICKET = TicketData(
    center="宝山路街道社区事务受理服务中心", number="A012", service="医保大病登记",
    issued_at=dt.datetime(2026, 11, 30, 9, 12, tzinfo=ZoneInfo("Asia/Shanghai")),
    ahead=5, est_wait_min=12, windows=(1, 2, 3, 4, 5, 6, 7, 8), sign_language=False,
    materials=("本人身份证原件", "社保卡或医保卡", "医院出具的诊断证明（原件）"),
    qr="QMS:2026-11-30-A012",
)


def timed(fn: object, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def send_seconds(data: bytes, baud: int) -> float:
    fake = FakePrinter(bytes_per_s=baud / 10)
    fake.open()
    start = time.perf_counter()
    fake.write(data)
    return time.perf_counter() - start


def main() -> None:
    font = find_font()
    if font is None:
        raise SystemExit("no CJK font: sudo apt-get install fonts-wqy-microhei")
    rows = {}
    for mode in ("native", "raster"):
        for dots in (576, 384):
            for qr in (True, False):
                ticket = TICKET if qr else dataclasses.replace(TICKET, qr=None)
                profile = Profile(dots=dots, mode=mode)
                data = render_ticket(ticket, profile, font)
                render_ms = timed(lambda t=ticket, p=profile: render_ticket(t, p, font),
                                  50 if mode == "native" else 5) * 1000
                rows[f"{mode}-{dots}{'-qr' if qr else ''}"] = {
                    "bytes": len(data),
                    "render_ms": round(render_ms, 2),
                    "send_s_9600": round(send_seconds(data, 9600), 2) if len(data) < 5000
                    else round(len(data) * 10 / 9600, 2),
                    "send_s_115200": round(send_seconds(data, 115200), 3),
                }
    print(json.dumps({"font": str(Path(font).name), "tickets": rows}, indent=1))


if __name__ == "__main__":
    main()
