"""Regenerate the ticket previews shown in the README (`.venv/bin/python docs/make_previews.py`).

Each preview is made the way the fake printer makes them: the ticket is rendered to ESC/POS
bytes, and the bytes are drawn back into a picture of the paper.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from base.fonts import find_font
from printer.layout import Profile, TicketData
from printer.preview import save_preview
from printer.render import render_ticket

HERE = Path(__file__).resolve().parent
TICKET = TicketData(
    center="宝山路街道社区事务受理服务中心", number="A012", service="医保大病登记",
    issued_at=dt.datetime(2026, 11, 30, 9, 12, tzinfo=ZoneInfo("Asia/Shanghai")),
    ahead=5, est_wait_min=12, windows=(1, 2, 3, 4, 5, 6, 7, 8), sign_language=True,
    materials=("本人身份证原件", "社保卡或医保卡", "医院出具的诊断证明（原件）", "大病登记申请表"),
    qr="QMS:2026-11-30-A012",
)


def main() -> None:
    font = find_font()
    if font is None:
        raise SystemExit("no CJK font: sudo apt-get install fonts-wqy-microhei")
    for name, profile in (("ticket-native-80mm", Profile(dots=576)),
                          ("ticket-raster-58mm", Profile(dots=384, mode="raster"))):
        data = render_ticket(TICKET, profile, font)
        path = save_preview(data, profile, font, HERE / f"{name}.png")
        print(f"{path.name}: {len(data)} bytes of ESC/POS")


if __name__ == "__main__":
    main()
