"""Watermarked copies for suspects: downscaled, visibly marked, rights in the metadata.

Call only with an `ImageInfo` that `inspect_image` produced for the same bytes:
that check is what bounds the decode.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageOps

from .encode import EncodeOptions, Mark, encode_image, has_alpha
from .imageinfo import ImageInfo, ImageRejected
from .marktext import tiled_text
from .rights import rights_xmp

_HIGH_DEPTH = frozenset({"I;16", "I;16B", "I;16L", "I;16N", "I", "F"})
_KEEP = frozenset({"L", "LA", "RGB", "RGBA"})
_OTHER_SPACES = frozenset({"CMYK", "LAB", "HSV", "YCbCr"})


def make_watermark(
    data: bytes,
    info: ImageInfo,
    text: str,
    max_side: int = 1024,
    quality: int = 70,
    opacity: float = 0.35,
    artist: str = "",
    mark: Mark | None = None,
) -> bytes:
    """The first frame of `data`, longest side <= max_side, with `text` tiled over it.

    Same format out as in; `text` also goes into XMP (with the AI-training
    opt-out), EXIF Copyright or PNG text; `mark` (a trace) goes on last, before encoding.
    Raises ImageRejected for SVG or undecodable data.
    """
    if info.format == "SVG":
        raise ImageRejected("SVG cannot be rasterised here")
    img, icc = decode_first_frame(data, info, max_side)
    marked = Image.alpha_composite(img.convert("RGBA"), tiled_text(img.size, text, opacity))
    marked = marked if img.mode == "RGBA" else marked.convert(img.mode)
    if mark is not None:
        marked = mark(marked)
    # optimize=False: Pillow's PNG optimize is zlib level 9, ~6x the CPU for ~5% fewer bytes.
    xmp = rights_xmp(artist, text)
    opts = EncodeOptions(quality=quality, xmp=xmp, notice=text, icc_profile=icc)
    return encode_image([marked], info.format, opts)


def decode_first_frame(
    data: bytes, info: ImageInfo, max_side: int
) -> tuple[Image.Image, bytes | None]:
    """Decode, upright by EXIF orientation, shrink to fit `max_side`, as 8-bit L/LA/RGB/RGBA.

    Also returns the ICC profile when it still describes the pixels.
    """
    try:
        with Image.open(io.BytesIO(data), formats=[info.format]) as im:
            if im.size != (info.width, info.height):
                expected = f"{info.width}x{info.height}"
                raise ImageRejected(f"{info.format} is {im.size}, not the inspected {expected}")
            if info.format == "JPEG":
                # DCT scaling decodes a large JPEG at 1/2..1/8 size, far cheaper than a full decode.
                im.draft(None, fit_size(im.size, max_side))
            im.load()
            # A CMYK (or Lab) profile no longer describes the RGB pixels we write.
            icc = None if im.mode in _OTHER_SPACES else im.info.get("icc_profile")
            img = ImageOps.exif_transpose(_eight_bit_family(im))
            img.thumbnail((max_side, max_side), Image.Resampling.LANCZOS, reducing_gap=3.0)
            return _scale_to_8bit(img), icc
    except ImageRejected:
        raise
    except Exception as e:  # Pillow raises many types on bad data; none may escape.
        raise ImageRejected(f"{info.format} cannot be decoded: {e}") from e


def fit_size(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    """`size` shrunk to fit a `max_side` square, keeping aspect; never enlarged."""
    w, h = size
    scale = min(1.0, max_side / max(w, h))
    return max(1, round(w * scale)), max(1, round(h * scale))


def _eight_bit_family(im: Image.Image) -> Image.Image:
    """Palette, bilevel, CMYK and other modes → L/LA/RGB/RGBA; high-depth grey left for later."""
    if im.mode in _KEEP or im.mode in _HIGH_DEPTH:
        return im
    if im.mode == "1":
        return im.convert("L")
    return im.convert("RGBA" if has_alpha(im) else "RGB")


def _scale_to_8bit(img: Image.Image) -> Image.Image:
    """16-bit or float grey → 8-bit L by scaling (Pillow's convert would clip at 255)."""
    if img.mode not in _HIGH_DEPTH:
        return img
    arr = np.asarray(img).astype(np.float32)
    top = 65535.0 if img.mode.startswith("I;16") else max(255.0, float(arr.max()))
    return Image.fromarray(np.clip(arr * (255.0 / top), 0, 255).astype(np.uint8), "L")
