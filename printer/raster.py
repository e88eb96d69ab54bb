"""Raster tickets: the blocks drawn with Pillow and a CJK font, sent as `GS v 0` bands.

The drawing keeps the printer's grid (12 × 24 dots a column at normal size, 6 dots between
lines), so a raster ticket looks like a native one. Also used for previews (`preview.py`).
"""

from __future__ import annotations

import functools
from pathlib import Path

import qrcode
from PIL import Image, ImageDraw, ImageFont, ImageOps

from . import escpos
from .layout import QR, Block, Feed, Profile, Rule, Text
from .text import char_width

CELL_W = 12
CELL_H = 24
LINE_GAP = 6


@functools.lru_cache(maxsize=16)
def _font(path: str, size: int, index: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size, index=index)


def font_index(path: Path) -> int:
    """Face index of the Simplified Chinese face in a font collection (Noto CJK: 2)."""
    return 2 if "NotoSansCJK" in path.name or "NotoSerifCJK" in path.name else 0


def qr_image(block: QR) -> Image.Image:
    code = qrcode.QRCode(border=0, box_size=block.module,
                         error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(block.payload.encode("utf-8"))
    code.make(fit=True)
    img: Image.Image = code.make_image(fill_color="black", back_color="white").get_image()
    return img.convert("L")


def draw_text(block: Text, dots: int, font: Path, encoding: str = "gb18030") -> Image.Image:
    """One line of text on the printer's grid: each character in its 1 or 2 columns."""
    height = CELL_H * block.height
    face = _font(str(font), height, font_index(font))  # drawn at size: crisp, not scaled up
    cell = CELL_W * block.height  # at the height's scale; widened or narrowed below
    chars = [(ch, char_width(ch, encoding)) for ch in block.text]
    ink, paper = (255, 0) if block.reverse else (0, 255)
    base = Image.new("L", (max(1, sum(w for _, w in chars) * cell), height), paper)
    draw = ImageDraw.Draw(base)
    x = 0
    for ch, w in chars:
        box = face.getbbox(ch)
        gx = x + (w * cell - (box[2] - box[0])) // 2 - box[0]
        draw.text((gx, 0), ch, font=face, fill=ink)
        if block.bold:  # double strike, one dot to the right, as printers do
            draw.text((gx + 1, 0), ch, font=face, fill=ink)
        x += w * cell
    line_w = min(dots, base.width * block.width // block.height)
    if base.width != line_w:
        base = base.resize((line_w, height), Image.Resampling.BICUBIC)
    canvas = Image.new("L", (dots, height + LINE_GAP), 255)
    x0 = (dots - line_w) // 2 if block.align == "center" else 0
    canvas.paste(base, (x0, 0))
    return canvas


def draw_blocks(blocks: list[Block], profile: Profile, font: Path) -> Image.Image:
    """The whole ticket as a grayscale image `profile.dots` wide."""
    parts: list[Image.Image] = []
    for block in blocks:
        if isinstance(block, Text):
            parts.append(draw_text(block, profile.dots, font, profile.encoding))
        elif isinstance(block, Rule):
            parts.append(draw_text(Text(block.char * profile.columns), profile.dots, font,
                                   profile.encoding))
        elif isinstance(block, QR):
            code = qr_image(block)
            band = Image.new("L", (profile.dots, code.height + LINE_GAP), 255)
            band.paste(code, ((profile.dots - code.width) // 2, 0))
            parts.append(band)
        elif isinstance(block, Feed):
            parts.append(Image.new("L", (profile.dots, (CELL_H + LINE_GAP) * block.lines), 255))
    height = sum(p.height for p in parts)
    image = Image.new("L", (profile.dots, max(1, height)), 255)
    y = 0
    for p in parts:
        image.paste(p, (0, y))
        y += p.height
    return image


def to_bands(image: Image.Image, band_rows: int) -> bytes:
    """GS v 0 commands for a grayscale image, `band_rows` rows each (black = dot)."""
    width_bytes = (image.width + 7) // 8
    padded = Image.new("L", (width_bytes * 8, image.height), 255)
    padded.paste(image, (0, 0))
    bits = ImageOps.invert(padded).convert("1", dither=Image.Dither.NONE)
    out = bytearray()
    for top in range(0, bits.height, band_rows):
        band = bits.crop((0, top, bits.width, min(bits.height, top + band_rows)))
        out.extend(escpos.raster(band.tobytes(), width_bytes, band.height))
    return bytes(out)


def render_raster(blocks: list[Block], profile: Profile, font: Path) -> bytes:
    image = draw_blocks(blocks, profile, font)
    out = bytearray(escpos.INIT)
    out.extend(to_bands(image, profile.band_rows))
    out.extend(escpos.cut_partial() if profile.cutter else escpos.feed(4))
    return bytes(out)


def qr_band(block: QR, profile: Profile) -> bytes:
    code = qr_image(block)
    band = Image.new("L", (profile.dots, code.height), 255)
    band.paste(code, ((profile.dots - code.width) // 2, 0))
    return to_bands(band, profile.band_rows)
