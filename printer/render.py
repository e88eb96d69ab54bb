"""Tickets to bytes: a pure function of the ticket and the printer profile.

Native mode sends text in the printer's own Chinese font (`FS &`, text encoded here as GB18030
or GBK, sizes with `GS !`, native QR), a few hundred bytes. Raster mode draws the whole ticket
with Pillow and a CJK font and sends it as `GS v 0` bands, for printers without Chinese.
"""

from __future__ import annotations

from pathlib import Path

from . import escpos
from .layout import QR, Block, Feed, Profile, Rule, Text, TicketData, layout_ticket
from .text import encode


def render_ticket(ticket: TicketData, profile: Profile, font: Path | None = None) -> bytes:
    """The ESC/POS bytes of one ticket, ending with a partial cut (if the printer has one)."""
    blocks = layout_ticket(ticket, profile)
    if profile.mode == "raster":
        from .raster import render_raster  # Pillow only where needed

        if font is None:
            raise ValueError("raster printing needs a CJK font file")
        return render_raster(blocks, profile, font)
    return render_native(blocks, profile)


def render_native(blocks: list[Block], profile: Profile) -> bytes:
    out = bytearray(escpos.INIT + escpos.CHINESE_ON)
    state = {"align": "left", "size": (1, 1), "bold": False, "reverse": False}

    def set_mode(align: str, size: tuple[int, int], bold: bool, reverse: bool) -> None:
        if state["align"] != align:
            out.extend(escpos.align(align))
            state["align"] = align
        if state["size"] != size:
            out.extend(escpos.size(*size))
            state["size"] = size
        if state["bold"] != bold:
            out.extend(escpos.bold(bold))
            state["bold"] = bold
        if state["reverse"] != reverse:
            out.extend(escpos.reverse(reverse))
            state["reverse"] = reverse

    for block in blocks:
        if isinstance(block, Text):
            set_mode(block.align, (block.width, block.height), block.bold, block.reverse)
            out.extend(encode(block.text, profile.encoding) + escpos.LF)
        elif isinstance(block, Rule):
            set_mode("left", (1, 1), False, False)
            out.extend(block.char.encode("ascii") * profile.columns + escpos.LF)
        elif isinstance(block, QR):
            set_mode("center", (1, 1), False, False)
            if profile.qr_native:
                out.extend(escpos.qr(block.payload.encode("utf-8"), block.module) + escpos.LF)
            else:
                from .raster import qr_band

                out.extend(qr_band(block, profile))
        elif isinstance(block, Feed):
            out.extend(escpos.feed(block.lines))
    set_mode("left", (1, 1), False, False)
    out.extend(escpos.cut_partial() if profile.cutter else escpos.feed(4))
    return bytes(out)
