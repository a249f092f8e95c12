"""The image work each treatment does, as plain functions to run in the render pool."""

from __future__ import annotations

from ..config import Config
from ..secret import derive
from .decoy import make_decoy
from .imageinfo import inspect_image
from .rights import rights_xmp
from .watermark import make_watermark

NOTICE = "Not licensed for AI training or text and data mining."


def decoy_image(data: bytes, url: str, secret: bytes, config: Config) -> bytes:
    """A decoy with the original's format and size, seeded by install and URL, never its pixels."""
    info = inspect_image(data, config.max_pixels)
    seed = derive(secret, "decoy", url)
    return make_decoy(info, seed, target_bytes=len(data), xmp=rights_xmp(config.artist, NOTICE))


def watermarked_image(data: bytes, config: Config) -> bytes:
    """The original downscaled, visibly marked and tagged as not for AI training."""
    info = inspect_image(data, config.max_pixels)
    return make_watermark(data, info, config.mark_text, max_side=config.watermark_max_side,
                          quality=config.watermark_quality, opacity=config.watermark_opacity,
                          artist=config.artist)
