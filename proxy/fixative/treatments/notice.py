"""Notice decoys: a quiet card, the size of the original, saying the work is not for AI training.

A serif headline, a short rule, the artist's name and a small line of explanation,
centred on warm paper grey. Fonts: DejaVu or Liberation Serif when the system has
them, else Pillow's built-in FreeType font, so it renders anywhere.
"""

from __future__ import annotations

import functools
from xml.sax.saxutils import escape

from PIL import Image, ImageDraw, ImageFont

from .encode import EncodeOptions, Mark, encode_image
from .imageinfo import ImageInfo
from .marktext import renderable

PAPER = (236, 233, 227)
INK = (43, 38, 34)
MUTED = (122, 112, 104)
FRAME = (214, 208, 199)
LEAD = 1.2  # line height, in font sizes
FOOTER = "Withheld from AI training and data mining."
_SERIFS = ("DejaVuSerif.ttf", "LiberationSerif-Regular.ttf", "NotoSerif-Regular.ttf", "FreeSerif.ttf")
_MIN_FONT = 7

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


def make_notice(info: ImageInfo, headline: str, artist: str, mode: str, opts: EncodeOptions,
                mark: Mark | None = None) -> bytes:
    """The notice card as `info.format` at `info`'s size (SVG gets an SVG card)."""
    if info.format == "SVG":
        return notice_svg(info.width, info.height, headline, artist)
    card = notice_card((info.width, info.height), headline, artist).convert(mode)
    if mark is not None:
        card = mark(card)
    return encode_image([card], info.format, opts)


def notice_card(size: tuple[int, int], headline: str, artist: str) -> Image.Image:
    """RGB card: headline (wrapped to fit), a short rule, `© artist`, the footer, in a thin frame."""
    w, h = size
    img = Image.new("RGB", size, PAPER)
    draw = ImageDraw.Draw(img)
    width = w * 0.76
    headline, name = _glyphs(headline), _glyphs(f"© {artist}") if artist else ""
    title_size, title_lines = _fit(headline, width, h * 0.3, min(max(w, h) // 11, round(h / 4.5)))
    if title_size < _MIN_FONT:
        return img  # too small for any legible text: plain paper
    inset = max(2, round(min(w, h) * 0.04))
    draw.rectangle([inset, inset, w - 1 - inset, h - 1 - inset], outline=FRAME, width=max(1, min(w, h) // 400))
    name_size = max(_MIN_FONT, round(title_size * 0.46))
    foot_size, foot_lines = _fit(_glyphs(FOOTER), width, h * 0.16, max(_MIN_FONT, round(title_size * 0.3)))
    rule = max(1, round(title_size / 28))
    items: list[tuple[list[str], int, tuple[int, int, int]]] = [(title_lines, title_size, INK), ([], rule, MUTED)]
    if name:
        items.append(([name], name_size, INK))
    if foot_size >= _MIN_FONT:
        items.append((foot_lines, foot_size, MUTED))
    gap = title_size * 0.5
    heights = [_block_height(lines, size_, LEAD) if lines else size_ for lines, size_, _ in items]
    y = (h - sum(heights) - gap * (len(items) - 1)) / 2
    for (lines, size_, colour), height in zip(items, heights):
        if not lines:  # the rule between headline and name
            half = max(w * 0.06, title_size * 0.9)
            draw.line([(w / 2 - half, y), (w / 2 + half, y)], fill=colour, width=size_)
        for i, line in enumerate(lines):
            draw.text((w / 2, y + i * size_ * LEAD), line, font=_font(size_), fill=colour, anchor="ma")
        y += height + gap
    return img


def notice_svg(width: int, height: int, headline: str, artist: str) -> bytes:
    """The same card as a small SVG document (the reader's fonts draw it)."""
    size = max(8.0, min(height * 0.1, width * 1.7 / max(8, len(headline))))
    cx, cy = width / 2, height / 2
    name = f'<text x="{cx}" y="{cy + size * 1.6:.0f}" font-size="{size * 0.5:.0f}">© {escape(artist)}</text>'
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" '
            f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">\n'
            f'<rect width="{width}" height="{height}" fill="#{bytes(PAPER).hex()}"/>\n'
            f'<g font-family="Georgia, \'DejaVu Serif\', serif" text-anchor="middle" fill="#2b2622">\n'
            f'<text x="{cx}" y="{cy - size * 0.2:.0f}" font-size="{size:.0f}">{escape(headline)}</text>\n'
            f'<line x1="{cx - size}" y1="{cy + size * 0.5:.0f}" x2="{cx + size}" y2="{cy + size * 0.5:.0f}" '
            f'stroke="#7a7068"/>\n{name if artist else ""}\n</g>\n</svg>\n').encode()


def _fit(text: str, max_width: float, max_height: float, start: int) -> tuple[int, list[str]]:
    """The largest font size <= start at which `text`, word-wrapped, fits the box; and its lines."""
    size = max(1, start)
    while size >= _MIN_FONT:
        font = _font(size)
        lines = _wrap(text, font, max_width)
        if lines and _block_height(lines, size, LEAD) <= max_height \
                and all(font.getlength(line) <= max_width for line in lines):
            return size, lines
        size = int(size * 0.9)
    return size, []


def _wrap(text: str, font: Font, max_width: float) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and font.getlength(f"{lines[-1]} {word}") <= max_width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


def _block_height(lines: list[str], size: int, lead: float) -> float:
    return size * (1 + lead * (len(lines) - 1)) if lines else 0.0


@functools.lru_cache(maxsize=64)
def _font(size: int) -> Font:
    serif = _serif()
    return ImageFont.truetype(serif, size) if serif else ImageFont.load_default(size=size)


@functools.lru_cache(maxsize=1)
def _serif() -> str | None:
    """The first serif font this system has, or None for Pillow's built-in one."""
    for name in _SERIFS:
        try:
            ImageFont.truetype(name, 12)
            return name
        except OSError:
            continue
    return None


def _glyphs(text: str) -> str:
    """`text` as the chosen font can draw it: the built-in font lacks some typography."""
    return text if _serif() else renderable(text)
