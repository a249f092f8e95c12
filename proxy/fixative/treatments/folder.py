"""Folder decoys: one of the images the artist chose, fitted to the original's size and format.

The choice is a keyed digest of the URL, so one URL always gets the same stand-in and
nobody without the install's secret can predict which.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

from PIL import Image, ImageOps

from .encode import EncodeOptions, Mark, encode_image
from .imageinfo import ImageInfo, ImageRejected, inspect_image
from .watermark import decode_first_frame

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif", ".avif", ".bmp", ".tif", ".tiff"})
MAX_FOLDER_FILE_BYTES = 50_000_000


def folder_images(folder: Path) -> tuple[Path, ...]:
    """Image files directly in `folder` (by name), sorted so the choice per URL is stable."""
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return ()
    return tuple(p for p in entries if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
                 and p.is_file())


def pick(files: tuple[Path, ...], secret: bytes, url: str) -> Path:
    """The file for `url`: HMAC(secret, url) modulo the number of files."""
    if not files:
        raise ImageRejected("the decoy folder has no images")
    digest = hmac.new(secret, b"folder\0" + url.encode("utf-8", "surrogateescape"), hashlib.sha256).digest()
    return files[int.from_bytes(digest[:8], "big") % len(files)]


def make_folder_decoy(source: bytes, info: ImageInfo, mode: str, max_pixels: int, opts: EncodeOptions,
                      mark: Mark | None = None) -> bytes:
    """`source` (one of the artist's images) cropped to cover `info`'s size, as `info.format`."""
    if len(source) > MAX_FOLDER_FILE_BYTES:
        raise ImageRejected("the chosen decoy file is too large")
    src_info = inspect_image(source, max_pixels)
    if src_info.format == "SVG":
        raise ImageRejected("SVG files in the decoy folder cannot be rasterised here")
    # Decode no larger than needed to cover the target; JPEG decodes at a reduced scale.
    scale = max(info.width / src_info.width, info.height / src_info.height)
    side = max(1, round(max(src_info.width, src_info.height) * min(1.0, scale)) + 1)
    img, _ = decode_first_frame(source, src_info, side)
    fitted = ImageOps.fit(img, (info.width, info.height), Image.Resampling.LANCZOS)
    fitted = fitted.convert(mode)
    if mark is not None:
        fitted = mark(fitted)
    return encode_image([fitted], info.format, opts)
