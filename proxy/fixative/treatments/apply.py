"""The image work each treatment does, as plain functions to run in the render pool.

Every altered image carries the rights XMP; with a `tag` it also carries the client's
invisible trace (see tracemark). Styles that cannot draw a format fall back to the
generated decoy (SVG has nothing to blur or crop), never to the original.
"""

from __future__ import annotations

import functools
from pathlib import Path

from ..config import Config
from ..policy import BLURRED, FOLDER, GENERATED
from ..policy import NOTICE as NOTICE_STYLE
from ..secret import derive
from .blurred import make_blurred
from .decoy import FRAME_MS, decoy_mode, make_decoy
from .encode import EncodeOptions, Mark
from .folder import folder_images, make_folder_decoy, pick
from .imageinfo import ImageInfo, inspect_image
from .notice import make_notice
from .rights import rights_xmp
from .tracemark import can_mark, mark_image
from .watermark import make_watermark

NOTICE = "Not licensed for AI training or text and data mining."
WATERMARK_STYLE = "watermark"
STYLES = (GENERATED, BLURRED, NOTICE_STYLE, FOLDER, WATERMARK_STYLE)


def trace_key(secret: bytes) -> bytes:
    """The key that places, whitens and checks trace bits: per install."""
    return derive(secret, "trace", "mark-v1")


def render(data: bytes, url: str, secret: bytes, config: Config, style: str, tag: int | None = None,
           folder: tuple[Path, ...] | None = None) -> bytes:
    """`style` (a decoy style or "watermark") applied to `data`; ImageRejected if it cannot be."""
    if style == WATERMARK_STYLE:
        return watermarked_image(data, config, secret, tag)
    return decoy_image(data, url, secret, config, style, tag, folder)


def decoy_image(data: bytes, url: str, secret: bytes, config: Config, style: str = GENERATED,
                tag: int | None = None, folder: tuple[Path, ...] | None = None) -> bytes:
    """A decoy with the original's format and size in `style`; none of the work survives in it."""
    info = inspect_image(data, config.max_pixels)
    seed = derive(secret, "decoy", url)
    xmp = rights_xmp(config.artist, NOTICE)
    mark = _marker(secret, tag, info)
    opts = EncodeOptions(quality=85, fast=True, xmp=xmp, notice=f"© {config.artist}. {NOTICE}",
                         duration_ms=FRAME_MS)
    if info.format == "SVG" and style in (BLURRED, FOLDER):
        style = GENERATED
    if style == BLURRED:
        return make_blurred(data, info, decoy_mode(info), seed, len(data), opts, mark)
    if style == NOTICE_STYLE:
        return make_notice(info, config.notice_headline, config.artist, decoy_mode(info), opts, mark)
    if style == FOLDER:
        files = folder if folder is not None else folder_images(config.decoy_folder or Path("/nonexistent"))
        source = pick(files, secret, url).read_bytes()
        return make_folder_decoy(source, info, decoy_mode(info), config.max_pixels, opts, mark)
    return make_decoy(info, seed, target_bytes=len(data), xmp=xmp, mark=mark, notice=opts.notice)


def watermarked_image(data: bytes, config: Config, secret: bytes | None = None, tag: int | None = None) -> bytes:
    """The original downscaled, visibly marked and tagged as not for AI training (and traced)."""
    info = inspect_image(data, config.max_pixels)
    mark = _marker(secret, tag, info) if secret is not None else None
    return make_watermark(data, info, config.mark_text, max_side=config.watermark_max_side,
                          quality=config.watermark_quality, opacity=config.watermark_opacity,
                          artist=config.artist, mark=mark)


def _marker(secret: bytes, tag: int | None, info: ImageInfo) -> Mark | None:
    """The trace for `tag`, or None when there is none or the image is too small to carry it."""
    if tag is None or info.format == "SVG" or not can_mark((info.width, info.height)):  # cheap early out
        return None
    return functools.partial(mark_image, tag=tag, key=trace_key(secret))
