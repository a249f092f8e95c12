"""The visible watermark layer: a notice tiled in diagonal rows across the image."""

from __future__ import annotations

import functools
import math

from PIL import Image, ImageDraw, ImageFont

from .rights import ascii_notice

ANGLE_DEGREES = 30
SEPARATOR = "   ·   "
_PROBE_SIZE = 20
_MISSING = "\U0010fffd"  # private use: no font has it, so it renders as .notdef


def tiled_text(size: tuple[int, int], text: str, opacity: float) -> Image.Image:
    """Transparent RGBA layer of `size` with `text` repeated in staggered diagonal rows.

    White letters with a dark outline, both at `opacity`, stay readable on light and dark art.
    """
    w, h = size
    font_size = max(10, min(72, round(max(w, h) / 36)))
    font = ImageFont.load_default(size=font_size)
    label = renderable(text) + SEPARATOR
    diag = math.ceil(math.hypot(w, h)) + 2
    label_w = max(1.0, font.getlength(label))
    # Render the row once (glyph rendering is the expensive part) and paste it per row.
    row = _text_row(label * (math.ceil(diag / label_w) + 2), font, opacity)
    layer = Image.new("RGBA", (diag, diag), (0, 0, 0, 0))
    row_h = round(font_size * 3.2)
    for i, y in enumerate(range(-row_h, diag + row_h, row_h)):
        # Stagger rows so the repeats do not line up into columns.
        layer.paste(row, (-round((i * label_w / 2.7) % label_w), y))
    # Bilinear is half the cost of bicubic and indistinguishable on soft, translucent text.
    layer = layer.rotate(ANGLE_DEGREES, resample=Image.Resampling.BILINEAR)
    left, top = (diag - w) // 2, (diag - h) // 2
    return layer.crop((left, top, left + w, top + h))


def _text_row(
    line: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, opacity: float
) -> Image.Image:
    """One row of white text with a dark outline, both at `opacity`, on transparency."""
    # The bitmap fallback font (Pillow without FreeType) cannot be stroked.
    stroke = max(1, round(font.size / 12)) if isinstance(font, ImageFont.FreeTypeFont) else 0
    left, top, right, bottom = font.getbbox(line, stroke_width=stroke)
    dx, dy = -min(0, int(left)), -min(0, int(top))
    alpha = round(255 * max(0.0, min(1.0, opacity)))
    row = Image.new("RGBA", (int(right) + dx + 1, int(bottom) + dy + 1), (0, 0, 0, 0))
    ImageDraw.Draw(row).text((dx, dy), line, font=font, fill=(255, 255, 255, alpha),
                             stroke_width=stroke, stroke_fill=(0, 0, 0, alpha))
    return row


def renderable(text: str) -> str:
    """`text` with characters the default font lacks spelled in ASCII, so no tofu boxes show."""
    return "".join(c if _has_glyph(c) else (ascii_notice(c) or "?") for c in text)


@functools.lru_cache(maxsize=1024)
def _has_glyph(char: str) -> bool:
    """True unless `char` renders exactly like a code point no font covers."""
    return char.isspace() or _glyph_pixels(char) != _glyph_pixels(_MISSING)


@functools.lru_cache(maxsize=1024)
def _glyph_pixels(char: str) -> bytes:
    font = ImageFont.load_default(size=_PROBE_SIZE)
    im = Image.new("L", (_PROBE_SIZE * 2, _PROBE_SIZE * 2))
    ImageDraw.Draw(im).text((2, 2), char, font=font, fill=255)
    return im.tobytes()
