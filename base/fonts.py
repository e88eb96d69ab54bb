"""The CJK font for screens, raster tickets and previews."""

from __future__ import annotations

from pathlib import Path

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
