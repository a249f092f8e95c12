"""Blurred decoys: the original's colours and rough layout, nothing of the work.

The first frame is decoded small (JPEG at a reduced DCT scale), shrunk to SMALL_SIDE
pixels on its long side, blurred and blown up again; seeded grain then brings the file
near the original's size, as for generated decoys, so the swap does not show in sizes.
"""

from __future__ import annotations

from PIL import Image, ImageFilter

from .decoy import encode_textured
from .encode import EncodeOptions, Mark
from .imageinfo import ImageInfo, ImageRejected
from .watermark import decode_first_frame

SMALL_SIDE = 16  # what survives: a 16-pixel thumbnail
_SOFT_SIDE = 64  # blurred at this size, then upscaled: the same look as blurring at full size, far cheaper


def make_blurred(data: bytes, info: ImageInfo, mode: str, seed: bytes, target_bytes: int | None,
                 opts: EncodeOptions, mark: Mark | None = None) -> bytes:
    """`data`'s first frame destroyed beyond use, as `info.format` at `info`'s size.

    Raises ImageRejected for SVG (nothing to rasterise here) or undecodable data.
    """
    if info.format == "SVG":
        raise ImageRejected("SVG cannot be rasterised here")
    img, _ = decode_first_frame(data, info, _SOFT_SIDE * 2)
    img = img.convert(mode)
    tiny = img.resize(_fit(img.size, SMALL_SIDE), Image.Resampling.BOX)
    soft = tiny.resize(_fit(img.size, _SOFT_SIDE), Image.Resampling.BICUBIC)
    soft = soft.filter(ImageFilter.GaussianBlur(_SOFT_SIDE / 24))
    base = soft.resize((info.width, info.height), Image.Resampling.BICUBIC)
    return encode_textured(base, info.format, seed, target_bytes, opts, mark)


def _fit(size: tuple[int, int], side: int) -> tuple[int, int]:
    """`size` scaled so its long side is `side` (up or down), keeping the aspect ratio."""
    w, h = size
    scale = side / max(w, h)
    return max(1, round(w * scale)), max(1, round(h * scale))
