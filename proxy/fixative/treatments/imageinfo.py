"""Cheap, header-only inspection of an image body.

`inspect_image` trusts magic bytes over names and Content-Type, reads only the
header through Pillow's lazy `Image.open`, and raises `ImageRejected` for
anything that is not a sane image, so no Pillow exception reaches the caller.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

from PIL import Image

DEFAULT_MAX_PIXELS = 60_000_000
SVG_DEFAULT_SIDE = 1024
SVG_SNIFF_BYTES = 1024

MIME_TYPES: dict[str, str] = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "GIF": "image/gif",
    "AVIF": "image/avif",
    "BMP": "image/bmp",
    "TIFF": "image/tiff",
    "ICO": "image/x-icon",
    "SVG": "image/svg+xml",
}

# Pillow names some variants differently; we report the family the client asked for.
_PILLOW_ALIASES = {"MPO": "JPEG", "DIB": "BMP"}
_ALPHA_MODES = frozenset({"RGBA", "LA", "PA", "RGBa", "La"})
_AVIF_BRANDS = (b"avif", b"avis")

# Root element must be <svg>, after an optional BOM, XML declaration,
# comments and an svg DOCTYPE; an HTML page with inline SVG does not match.
_SVG_PROLOG = re.compile(
    rb"^(?:\xef\xbb\xbf)?\s*(?:<\?xml[^>]*\?>\s*)?"
    rb"(?:(?:<!--.*?-->|<!DOCTYPE\s+svg(?:[^\[>]|\[.*?\])*>)\s*)*<svg[\s>/]",
    re.DOTALL,
)
_SVG_TAG = re.compile(rb"<svg\b([^>]*)>", re.DOTALL)
_SVG_ATTR = re.compile(r'([\w:-]+)\s*=\s*["\']([^"\']*)["\']')
_LENGTH = re.compile(r"^\s*([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([a-z%]*)\s*$")
# CSS absolute units in px; relative units (%, em) carry no size of their own.
_UNIT_PX = {
    "": 1.0, "px": 1.0, "pt": 4 / 3, "pc": 16.0, "in": 96.0, "cm": 96 / 2.54, "mm": 96 / 25.4
}


class ImageRejected(ValueError):
    """The body is not an image we are willing to treat; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ImageInfo:
    """What the header says: format family, size, Pillow mode, frame count, MIME type."""

    format: str
    width: int
    height: int
    mode: str
    n_frames: int
    mime: str
    has_alpha: bool = False


def sniff_format(data: bytes) -> str | None:
    """Format family from magic bytes (64 bytes suffice except for SVG, which needs up to 1 KB)."""
    head = data[:64]
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[4:8] == b"ftyp" and _is_avif_ftyp(head):
        return "AVIF"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF"
    if head[:4] == b"\x00\x00\x01\x00":
        return "ICO"
    if head[:2] == b"BM":
        return "BMP"
    if _SVG_PROLOG.match(data[:SVG_SNIFF_BYTES]):
        return "SVG"
    return None


def _is_avif_ftyp(head: bytes) -> bool:
    """True when the ISO-BMFF major or a compatible brand is AVIF (HEIC is not)."""
    box_size = int.from_bytes(head[:4], "big")
    brands = head[8:12] + head[16 : min(box_size, len(head))]
    return any(brands[i : i + 4] in _AVIF_BRANDS for i in range(0, len(brands) - 3, 4))


def inspect_image(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> ImageInfo:
    """Describe `data` from its header without decoding pixels; raise ImageRejected otherwise."""
    fmt = sniff_format(data)
    if fmt is None:
        raise ImageRejected("not an image: unrecognised signature")
    info = _inspect_svg(data) if fmt == "SVG" else _inspect_raster(data, fmt, max_pixels)
    if info.width <= 0 or info.height <= 0:
        raise ImageRejected(f"{fmt} has an empty size {info.width}x{info.height}")
    if info.width * info.height > max_pixels:
        raise ImageRejected(
            f"{fmt} of {info.width}x{info.height} exceeds {max_pixels} pixels (decompression bomb?)"
        )
    return info


def _inspect_raster(data: bytes, fmt: str, max_pixels: int) -> ImageInfo:
    """Open lazily with Pillow, restricted to the sniffed format; wrap every failure."""
    try:
        with Image.open(io.BytesIO(data), formats=[fmt]) as im:
            family = _PILLOW_ALIASES.get(im.format or "", im.format or "")
            width, height = im.size
            if width * height > max_pixels:
                raise ImageRejected(
                    f"{fmt} of {width}x{height} exceeds {max_pixels} pixels (decompression bomb?)"
                )
            # n_frames skims frame headers only (GIF, TIFF, WebP), no pixel decode.
            n_frames = int(getattr(im, "n_frames", 1))
            has_alpha = im.mode in _ALPHA_MODES or "transparency" in im.info
            mode = im.mode
    except ImageRejected:
        raise
    except Image.DecompressionBombError as e:
        raise ImageRejected(f"{fmt} is a decompression bomb: {e}") from e
    except Exception as e:  # Pillow raises many types on bad input; none may escape.
        raise ImageRejected(f"{fmt} header is truncated or corrupt: {e}") from e
    if family != fmt:
        raise ImageRejected(f"signature says {fmt} but Pillow read {family or 'nothing'}")
    return ImageInfo(fmt, width, height, mode, max(1, n_frames), MIME_TYPES[fmt], has_alpha)


def _inspect_svg(data: bytes) -> ImageInfo:
    """Size from the root element's width/height, else its viewBox, else a default square."""
    match = _SVG_TAG.search(data[: SVG_SNIFF_BYTES * 4])
    if match is None:
        raise ImageRejected("SVG root element is truncated")
    pairs = _SVG_ATTR.findall(match.group(1).decode("latin-1"))
    attrs = {k.lower(): v for k, v in pairs}
    width, height = svg_size(attrs.get("width"), attrs.get("height"), attrs.get("viewbox"))
    return ImageInfo("SVG", width, height, "RGBA", 1, MIME_TYPES["SVG"], True)


def svg_size(width: str | None, height: str | None, view_box: str | None) -> tuple[int, int]:
    """Pixel size of an SVG from its attributes; missing parts follow the viewBox aspect."""
    w, h = _svg_length(width), _svg_length(height)
    vb = _view_box(view_box)
    if vb is not None:
        vb_w, vb_h = vb
        if w is None and h is None:
            w, h = vb_w, vb_h
        elif w is None and h is not None:
            w = h * vb_w / vb_h if vb_h else None
        elif h is None and w is not None:
            h = w * vb_h / vb_w if vb_w else None
    if w is None or h is None:
        return SVG_DEFAULT_SIDE, SVG_DEFAULT_SIDE
    return _to_pixels(w), _to_pixels(h)


def _to_pixels(value: float) -> int:
    """Round a length to whole pixels, keeping tiny positive sizes at one pixel."""
    return max(1, round(value)) if value > 0 else 0 if value == 0 else -1


def _svg_length(value: str | None) -> float | None:
    """A CSS length in px, or None when absent or relative (%, em)."""
    if value is None:
        return None
    m = _LENGTH.match(value.lower())
    if m is None or m.group(2) not in _UNIT_PX:
        return None
    return float(m.group(1)) * _UNIT_PX[m.group(2)]


def _view_box(value: str | None) -> tuple[float, float] | None:
    """Width and height of a `viewBox="minx miny w h"`, or None if malformed."""
    if value is None:
        return None
    parts = value.replace(",", " ").split()
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        return None
    return (numbers[2], numbers[3]) if len(numbers) == 4 else None
