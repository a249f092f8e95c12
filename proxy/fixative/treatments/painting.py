"""Procedural abstract canvases for decoys, independent of any artwork.

A `Scene` (palette, gradient, soft blobs, brush strokes) is drawn from a seeded
generator; `render` paints it at most SMALL_SIDE pixels on the long side and
upscales smoothly, so cost barely grows with output size. `add_grain` adds cheap
per-pixel texture, which is what gives files a realistic size.
"""

from __future__ import annotations

import colorsys
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFilter

SMALL_SIDE = 256
# Grain is one random strip repeated down the image: 251 rows is prime (drifts
# against 8x8 JPEG blocks) and each repeat is far beyond deflate's 32 KB window.
GRAIN_PERIOD_ROWS = 251
MAX_GRAIN = 100
STROKE_SUPERSAMPLE = 4

Color = tuple[int, int, int]
Point = tuple[float, float]


@dataclass(frozen=True)
class Blob:
    """A soft disc in unit coordinates; it circles `orbit` around (x, y) as phase goes 0→1."""

    x: float
    y: float
    radius: float
    color: Color
    strength: float
    orbit: float
    angle: float

    def centre(self, phase: float) -> Point:
        a = self.angle + 2 * math.pi * phase
        return self.x + self.orbit * math.cos(a), self.y + self.orbit * math.sin(a)


@dataclass(frozen=True)
class Stroke:
    """A smoothed polyline in unit coordinates; `width` is a fraction of the long side."""

    points: tuple[Point, ...]
    width: float
    color: Color
    opacity: int


@dataclass(frozen=True)
class Scene:
    """Everything needed to paint a canvas; rendering adds no randomness of its own."""

    start: Color
    end: Color
    angle: float
    blobs: tuple[Blob, ...]
    strokes: tuple[Stroke, ...]
    mottle_seed: int


def random_scene(rng: np.random.Generator) -> Scene:
    """Draw a harmonious abstract scene from `rng`."""
    hue = float(rng.random())
    offsets = ((0.0, 0.08, -0.08), (0.0, 0.5, 0.06), (0.0, 1 / 3, 2 / 3))[int(rng.integers(3))]

    def color(light: tuple[float, float]) -> Color:
        h = hue + offsets[int(rng.integers(len(offsets)))] + float(rng.normal(0, 0.02))
        s, v = float(rng.uniform(0.3, 0.85)), float(rng.uniform(*light))
        r, g, b = colorsys.hsv_to_rgb(h % 1.0, s, v)
        return round(r * 255), round(g * 255), round(b * 255)

    blobs = tuple(_random_blob(rng, color((0.3, 0.95))) for _ in range(int(rng.integers(5, 13))))
    strokes = tuple(_random_stroke(rng, color((0.1, 1.0))) for _ in range(int(rng.integers(3, 10))))
    return Scene(color((0.5, 0.95)), color((0.15, 0.7)), float(rng.uniform(0, 2 * math.pi)),
                 blobs, strokes, int(rng.integers(2**32)))


def _random_blob(rng: np.random.Generator, color: Color) -> Blob:
    """A soft disc anywhere on (or just off) the canvas, with a small orbit for animation."""
    x, y = (float(v) for v in rng.uniform(-0.1, 1.1, 2))
    radius, strength = float(rng.uniform(0.08, 0.35)), float(rng.uniform(0.6, 0.95))
    orbit, angle = float(rng.uniform(0.02, 0.08)), float(rng.uniform(0, 2 * math.pi))
    return Blob(x, y, radius, color, strength, orbit, angle)


def _random_stroke(rng: np.random.Generator, color: Color) -> Stroke:
    """A wandering brush path, smoothed by Chaikin corner cutting."""
    x, y = rng.uniform(0.0, 1.0, 2)
    heading = float(rng.uniform(0, 2 * math.pi))
    points: list[Point] = [(float(x), float(y))]
    for _ in range(int(rng.integers(4, 9))):
        heading += float(rng.normal(0, 0.7))
        step = float(rng.uniform(0.05, 0.18))
        x, y = x + step * math.cos(heading), y + step * math.sin(heading)
        points.append((float(x), float(y)))
    for _ in range(3):
        points = _chaikin(points)
    return Stroke(tuple(points), float(rng.uniform(0.004, 0.03)), color, int(rng.integers(90, 220)))


def _chaikin(points: list[Point]) -> list[Point]:
    """One round of corner cutting: each segment is replaced by its 1/4 and 3/4 points."""
    out = [points[0]]
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        out.append((0.75 * x0 + 0.25 * x1, 0.75 * y0 + 0.25 * y1))
        out.append((0.25 * x0 + 0.75 * x1, 0.25 * y0 + 0.75 * y1))
    return out + [points[-1]]


def small_size(size: tuple[int, int]) -> tuple[int, int]:
    """Painting size: `size` scaled so the long side is at most SMALL_SIDE, never upscaled."""
    w, h = size
    scale = min(1.0, SMALL_SIDE / max(w, h))
    return max(1, round(w * scale)), max(1, round(h * scale))


def render(
    scene: Scene, size: tuple[int, int], mode: str = "RGB", phase: float = 0.0
) -> Image.Image:
    """Paint `scene` at `size` in mode L, LA, RGB or RGBA; deterministic for the same arguments."""
    sw, sh = small_size(size)
    canvas = _gradient(scene, sw, sh)
    for blob in scene.blobs:
        _blend_blob(canvas, blob, phase)
    canvas += _mottle(scene.mottle_seed, sw, sh)
    img = Image.fromarray(np.clip(canvas, 0, 255).astype(np.uint8), "RGB")
    img = _draw_strokes(img, scene.strokes, phase)
    if mode in ("L", "LA"):
        img = img.convert("L")
    if mode in ("LA", "RGBA"):
        img.putalpha(_alpha_mask(sw, sh))
    return img if (sw, sh) == size else img.resize(size, Image.Resampling.BICUBIC)


def _gradient(scene: Scene, w: int, h: int) -> np.ndarray:
    """Linear two-colour gradient across the canvas at `scene.angle`, as float RGB."""
    u = (np.arange(w, dtype=np.float32) + 0.5) / w - 0.5
    v = (np.arange(h, dtype=np.float32) + 0.5) / h - 0.5
    t = np.clip(u[None, :] * math.cos(scene.angle) + v[:, None] * math.sin(scene.angle) + 0.5, 0, 1)
    start, end = np.array(scene.start, np.float32), np.array(scene.end, np.float32)
    return start * (1 - t[..., None]) + end * t[..., None]


def _blend_blob(canvas: np.ndarray, blob: Blob, phase: float) -> None:
    """Mix a Gaussian-edged disc of `blob.color` into `canvas` in place."""
    h, w, _ = canvas.shape
    side = max(w, h)
    cx, cy = blob.centre(phase)
    xs = (np.arange(w, dtype=np.float32) + 0.5) / side - cx * w / side
    ys = (np.arange(h, dtype=np.float32) + 0.5) / side - cy * h / side
    d2 = xs[None, :] ** 2 + ys[:, None] ** 2
    weight = (blob.strength * np.exp(-d2 / (2 * blob.radius**2)))[..., None]
    canvas *= 1 - weight
    canvas += weight * np.array(blob.color, np.float32)


def _mottle(seed: int, w: int, h: int) -> np.ndarray:
    """Low-frequency colour noise (about ±6 levels) so flat areas are not perfectly smooth."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (max(2, h // 12), max(2, w // 12), 3), dtype=np.uint8)
    smooth = Image.fromarray(coarse, "RGB").resize((w, h), Image.Resampling.BICUBIC)
    return (np.asarray(smooth, np.float32) - 127.5) * (12 / 255)


def _draw_strokes(img: Image.Image, strokes: tuple[Stroke, ...], phase: float) -> Image.Image:
    """Paint soft, antialiased brush strokes over `img`; they drift a little with phase."""
    w, h = img.size
    ss = STROKE_SUPERSAMPLE
    side = max(w, h)
    dx = 0.02 * math.sin(2 * math.pi * phase)
    blur = ImageFilter.GaussianBlur(0.6)
    for stroke in strokes:
        # ImageDraw lines are aliased: draw big and reduce. Blur the coverage mask, not
        # an RGBA layer, since Pillow blurs RGBA unpremultiplied (dark fringes).
        mask = Image.new("L", (w * ss, h * ss), 0)
        xy = [((x + dx) * w * ss, y * h * ss) for x, y in stroke.points]
        width = max(ss, round(stroke.width * side * ss))
        ImageDraw.Draw(mask).line(xy, fill=stroke.opacity, width=width, joint="curve")
        img.paste(stroke.color, (0, 0), mask.reduce(ss).filter(blur))
    return img


def _alpha_mask(w: int, h: int) -> Image.Image:
    """Opaque rounded-square centre fading to transparent corners, like a cut-out sprite."""
    u = np.abs((np.arange(w, dtype=np.float32) + 0.5) / w - 0.5) * 2
    v = np.abs((np.arange(h, dtype=np.float32) + 0.5) / h - 0.5) * 2
    r = u[None, :] ** 4 + v[:, None] ** 4
    return Image.fromarray((np.clip((1.15 - r) * 3, 0, 1) * 255).astype(np.uint8), "L")


def posterize(img: Image.Image, bits: int) -> Image.Image:
    """Keep `bits` bits per colour band; alpha is kept. Flat bands compress well losslessly."""
    if bits >= 8:
        return img
    mask = 256 - (1 << (8 - max(1, bits)))
    n_color = 1 if img.mode in ("L", "LA") else 3
    n_alpha = len(img.getbands()) - n_color
    lut = [v & mask for v in range(256)] * n_color + list(range(256)) * n_alpha
    return img.point(lut)


def add_grain(
    img: Image.Image, rng: np.random.Generator, amplitude: int, block: int = 1
) -> Image.Image:
    """Add uniform noise in [-amplitude, +amplitude] to the colour bands, in `block`-pixel cells.

    Coarser cells carry less entropy, which fills the size gap between a smooth
    canvas and full per-pixel grain for lossless formats. Alpha is kept.
    """
    amplitude = min(int(amplitude), MAX_GRAIN)
    if amplitude <= 0:
        return img
    color_mode = "L" if img.mode in ("L", "LA") else "RGB"
    color = img if img.mode == color_mode else img.convert(color_mode)
    w, h = img.size
    strip_h = min(GRAIN_PERIOD_ROWS, h)
    cells = (max(1, -(-w // block)), max(1, -(-strip_h // block)))
    n = cells[0] * cells[1] * len(color_mode)
    raw = rng.bit_generator.random_raw((n + 7) // 8).tobytes()[:n]
    lut = [v * (2 * amplitude + 1) // 256 for v in range(256)] * len(color_mode)
    strip = Image.frombytes(color_mode, cells, raw).point(lut)
    if block > 1:
        strip = strip.resize((cells[0] * block, cells[1] * block), Image.Resampling.NEAREST)
    noise = Image.new(color_mode, (w, h))
    for y in range(0, h, strip_h):
        noise.paste(strip, (0, y))
    out = ImageChops.add(color, noise, 1.0, -amplitude)
    if img.mode in ("LA", "RGBA"):
        out.putalpha(img.getchannel("A"))
    return out
