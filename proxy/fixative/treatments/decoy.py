"""Decoy images: same format and size as the original, none of its pixels.

`make_decoy` only ever sees an `ImageInfo`, so it cannot leak the artwork. The
picture comes from `painting`; its texture and encoder quality are tuned on
strips of the image so the file lands near a target size with one full encode.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
from PIL import Image

from .encode import EncodeOptions, Mark, encode_image
from .imageinfo import ImageInfo
from .painting import add_grain, posterize, random_scene, render
from .svgdecoy import scene_svg

MAX_FRAMES = 50
FRAME_MS = 100
SAMPLE_PIXELS = 200_000
STRIPS = 3
ACCEPT_RATIO = 1.6  # re-tune once if the full encode misses the target by more
_LOSSY = frozenset({"JPEG", "WEBP", "AVIF"})
_TUNABLE = _LOSSY | {"PNG", "GIF"}
_ANIMATABLE = frozenset({"GIF", "WEBP"})
_ALPHA_FORMATS = frozenset({"PNG", "WEBP", "AVIF", "GIF", "TIFF", "ICO"})
_GREY_MODES = frozenset({"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"})


@dataclass(frozen=True)
class Level:
    """Texture and encoder settings: grain amplitude and cell size, lossy quality, bits per band."""

    grain: int
    block: int
    quality: int
    bits: int = 8


DEFAULT_LEVEL = Level(grain=5, block=1, quality=85)
# Per-pixel grain makes lossless files huge (a 2400x1600 PNG ~7 MB); coarse cells don't.
LOSSLESS_DEFAULT_LEVEL = Level(grain=3, block=2, quality=85)
# Ladders ordered by growing file size. For lossless formats coarse grain cells
# bridge "smooth" and "per-pixel grain", and fewer bits per band give flat,
# cheap bands; lossy codecs keep coarse cells but drop fine grain, so they
# only get per-pixel grain and tune quality instead.
_LOSSLESS_LADDER = tuple(Level(0, 1, 85, bits) for bits in (2, 3, 4, 5, 6, 7)) + tuple(
    Level(g, b, 85)
    for g, b in (
        (0, 1), (1, 8), (1, 4), (2, 4), (2, 3), (1, 2), (2, 2), (4, 2), (1, 1),
        (2, 1), (3, 1), (5, 1), (8, 1), (12, 1), (18, 1), (26, 1), (36, 1), (50, 1),
    )
)
_LOSSY_LADDER = tuple(Level(g, 1, 82) for g in (0, 2, 3, 5, 8, 12, 18, 26, 36, 50, 72))
_QUALITIES = (30, 45, 60, 70, 78, 84, 88, 92, 95, 98)


def make_decoy(
    info: ImageInfo, seed: bytes, target_bytes: int | None = None, xmp: bytes | None = None,
    mark: Mark | None = None, notice: str | None = None,
) -> bytes:
    """A valid `info.format` image of `info`'s size, painted from `seed` alone.

    Same (info, seed, target_bytes, xmp, mark) → same bytes. With `target_bytes` the size
    lands within about a factor of two of it for JPEG, WebP, AVIF and PNG. `mark`, if
    given, is applied to the finished picture before grain and encoding (SVG: ignored);
    `notice` goes where the format keeps text (EXIF Copyright, PNG text, GIF comment).
    Raises ImageRejected if the format cannot be written here.
    """
    scene = random_scene(_rng(seed, b"scene"))
    if info.format == "SVG":
        return scene_svg(scene, info.width, info.height)
    size = (info.width, info.height)
    mode = decoy_mode(info)
    opts = EncodeOptions(quality=DEFAULT_LEVEL.quality, fast=True, xmp=xmp, notice=notice, duration_ms=FRAME_MS)
    frames = min(info.n_frames, MAX_FRAMES) if info.format in _ANIMATABLE else 1
    if frames > 1:
        grain = _rng(seed, b"grain")
        images = [render(scene, size, mode, i / frames) for i in range(frames)]
        images = [add_grain(mark(im) if mark else im, grain, 2) for im in images]
        return encode_image(images, info.format, opts)
    return encode_textured(render(scene, size, mode), info.format, seed, target_bytes, opts, mark)


def encode_textured(base: Image.Image, fmt: str, seed: bytes, target_bytes: int | None,
                    opts: EncodeOptions, mark: Mark | None = None) -> bytes:
    """`base` with seeded grain, encoded as `fmt`, near `target_bytes` when given and tunable."""
    if target_bytes is None or fmt not in _TUNABLE:
        level = DEFAULT_LEVEL if fmt in _LOSSY else LOSSLESS_DEFAULT_LEVEL
        return _encode_level(base, fmt, level, seed, opts, mark)
    return _encode_near(base, fmt, target_bytes, seed, opts, mark)


def decoy_mode(info: ImageInfo) -> str:
    """L/LA/RGB/RGBA: grey stays grey, alpha is kept where the format can hold it."""
    grey = info.mode in _GREY_MODES
    alpha = info.has_alpha and info.format in _ALPHA_FORMATS
    return ("LA" if alpha else "L") if grey else ("RGBA" if alpha else "RGB")


def _rng(seed: bytes, purpose: bytes) -> np.random.Generator:
    """Independent deterministic stream per purpose; never global random state."""
    digest = hashlib.sha256(purpose + b"\0" + seed).digest()
    return np.random.default_rng(int.from_bytes(digest, "big"))


def _encode_level(
    img: Image.Image, fmt: str, level: Level, seed: bytes, opts: EncodeOptions, mark: Mark | None = None
) -> bytes:
    """Posterize, mark and grain `img` as `level` says, then encode.

    The grain stream is fresh each time, so the result ignores the tuning history.
    """
    flat = posterize(img, level.bits)
    grained = add_grain(mark(flat) if mark else flat, _rng(seed, b"grain"), level.grain, level.block)
    # Fast PNG compression only pays off on grain; smooth canvases shrink ~2x at the normal level.
    fast = opts.fast and (fmt in _LOSSY or level.grain > 0)
    return encode_image([grained], fmt, replace(opts, quality=level.quality, fast=fast))


def _encode_near(
    base: Image.Image, fmt: str, target: int, seed: bytes, opts: EncodeOptions, mark: Mark | None = None
) -> bytes:
    """Encode with the level whose estimated size is nearest `target`; re-tune at most once.

    Only the full encodes are marked: the estimates run on strips, where a mark means nothing.
    """
    estimate = _strip_estimator(base, fmt, seed, opts)
    level = _choose_level(fmt, estimate, target)
    data = _encode_level(base, fmt, level, seed, opts, mark)
    miss = len(data) / target
    if 1 / ACCEPT_RATIO <= miss <= ACCEPT_RATIO:
        return data
    # The strip mispredicted by a roughly constant factor: correct for it and retry once.
    bias = len(data) / estimate(level)
    retry_level = _choose_level(fmt, estimate, target / bias)
    if retry_level == level:
        return data
    retry = _encode_level(base, fmt, retry_level, seed, opts, mark)
    return min((data, retry), key=lambda d: abs(math.log(len(d) / target)))


def _choose_level(fmt: str, estimate: Callable[[Level], float], target: float) -> Level:
    """Lossless: one ladder. Lossy: bracket the grain, then the best quality for either bracket."""
    if fmt not in _LOSSY:
        return _nearest(_bracket(_LOSSLESS_LADDER, estimate, target), estimate, target)
    per_grain = []
    for grain in _bracket(_LOSSY_LADDER, estimate, target):
        qualities = [replace(grain, quality=q) for q in _QUALITIES]
        per_grain.append(_nearest(_bracket(qualities, estimate, target), estimate, target))
    return _nearest(per_grain, estimate, target)


def _bracket(
    levels: Sequence[Level], estimate: Callable[[Level], float], target: float
) -> tuple[Level, Level]:
    """Binary search `levels` (ordered by growing size) for the neighbours around `target`."""
    lo, hi = 0, len(levels) - 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if estimate(levels[mid]) < target:
            lo = mid
        else:
            hi = mid
    return levels[lo], levels[hi]


def _nearest(levels: Sequence[Level], estimate: Callable[[Level], float], target: float) -> Level:
    """The level whose estimated size is closest to `target` on a log scale."""
    return min(levels, key=lambda lv: abs(math.log(estimate(lv) / target)))


def _strip_estimator(
    base: Image.Image, fmt: str, seed: bytes, opts: EncodeOptions
) -> Callable[[Level], float]:
    """Memoised full-size estimate from encoding full-width strips of `base`, stacked."""
    sample = _strips(base)
    scale = base.height / sample.height
    corner = sample.crop((0, 0, min(8, sample.width), min(8, sample.height)))
    cache: dict[Level, float] = {}

    def estimate(level: Level) -> float:
        if level not in cache:
            size = len(_encode_level(sample, fmt, level, seed, opts))
            # Headers and metadata do not grow with area: scale only the rest.
            overhead = len(_encode_level(corner, fmt, level, seed, opts))
            cache[level] = max(1.0, overhead + (size - overhead) * scale)
        return cache[level]

    return estimate


def _strips(base: Image.Image) -> Image.Image:
    """Three full-width bands (top, middle, bottom) of ~SAMPLE_PIXELS in all, stacked.

    Full rows keep PNG filters and deflate windows realistic; three bands average
    out where strokes and blobs happen to fall. Band heights are multiples of 16
    so JPEG blocks line up as in the full image.
    """
    w, h = base.size
    rows = max(16, round(SAMPLE_PIXELS / STRIPS / w / 16) * 16)
    if rows * STRIPS >= h:
        return base
    sample = Image.new(base.mode, (w, rows * STRIPS))
    for i in range(STRIPS):
        top = (h * (2 * i + 1)) // (2 * STRIPS) - rows // 2
        sample.paste(base.crop((0, top, w, top + rows)), (0, i * rows))
    return sample
