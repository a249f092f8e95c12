"""Drawing primitives for the demo artworks: gradients, glows, ridges, brush strokes, grain.

Every function takes an explicit `random.Random` so output depends only on its seed;
nothing here reads global random state or the clock.
"""

from __future__ import annotations

import math
import random

from PIL import Image, ImageChops, ImageDraw, ImageFilter

RGB = tuple[int, int, int]
Point = tuple[float, float]


def mix(a: RGB, b: RGB, t: float) -> RGB:
    """Linear blend of two colours; t=0 gives a, t=1 gives b."""
    return (
        round(a[0] + (b[0] - a[0]) * t),
        round(a[1] + (b[1] - a[1]) * t),
        round(a[2] + (b[2] - a[2]) * t),
    )


def jitter(color: RGB, rng: random.Random, amount: int) -> RGB:
    """Lighten or darken by up to ±amount, with a slight independent drift per channel."""
    # A shared shift reads as paint thickness; fully independent shifts read as digital noise.
    shift = rng.randint(-amount, amount)
    drift = max(1, amount // 4)
    return tuple(  # type: ignore[return-value]
        max(0, min(255, c + shift + rng.randint(-drift, drift))) for c in color
    )


def gradient(size: tuple[int, int], stops: list[tuple[float, RGB]]) -> Image.Image:
    """Vertical gradient through (position 0..1, colour) stops, sorted by position."""
    w, h = size
    strip = Image.new("RGB", (1, h))
    px = strip.load()
    assert px is not None
    for y in range(h):
        t = y / max(1, h - 1)
        for (p0, c0), (p1, c1) in zip(stops, stops[1:]):
            if p0 <= t <= p1:
                px[0, y] = mix(c0, c1, (t - p0) / max(1e-6, p1 - p0))
                break
        else:
            px[0, y] = stops[0][1] if t < stops[0][0] else stops[-1][1]
    return strip.resize((w, h), Image.Resampling.NEAREST)


def glow(img: Image.Image, center: Point, radius: float, color: RGB, strength: float) -> None:
    """Paint a soft radial light of `color` onto img in place (strength 0..1 at the centre)."""
    mask = Image.new("L", img.size, 0)
    cx, cy = center
    ImageDraw.Draw(mask).ellipse(
        (cx - radius, cy - radius, cx + radius, cy + radius), fill=round(255 * strength)
    )
    img.paste(color, (0, 0), mask.filter(ImageFilter.GaussianBlur(radius * 0.6)))


def disc(img: Image.Image, center: Point, radius: float, color: RGB, blur: float = 1.5) -> None:
    """Paint a solid circle with a slightly softened edge (sun, moon, fruit)."""
    mask = Image.new("L", img.size, 0)
    cx, cy = center
    ImageDraw.Draw(mask).ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=255)
    img.paste(color, (0, 0), mask.filter(ImageFilter.GaussianBlur(blur)))


def soft_polygon(img: Image.Image, points: list[Point], color: RGB, alpha: int,
                 blur: float) -> None:
    """Paint a translucent polygon whose edges are blurred by `blur` pixels."""
    mask = Image.new("L", img.size, 0)
    ImageDraw.Draw(mask).polygon(points, fill=alpha)
    img.paste(color, (0, 0), mask.filter(ImageFilter.GaussianBlur(blur)) if blur else mask)


def ridge_line(rng: random.Random, width: int, base_y: float, amplitude: float) -> list[Point]:
    """A hill or wave silhouette: a smoothed random walk sampled every few pixels."""
    step = max(4, width // 60)
    y, velocity, points = base_y, 0.0, []
    for x in range(-step, width + 2 * step, step):
        # Momentum keeps the walk from looking like noise; the pull keeps it near base_y.
        velocity = 0.8 * velocity + rng.uniform(-1, 1) * amplitude * 0.15
        y += velocity + (base_y - y) * 0.08
        points.append((float(x), y))
    return points


def hill(img: Image.Image, rng: random.Random, base_y: float, amplitude: float,
         color: RGB, blur: float = 1.2) -> list[Point]:
    """Fill everything below a random ridge with `color`; returns the ridge points."""
    w, h = img.size
    ridge = ridge_line(rng, w, base_y, amplitude)
    soft_polygon(img, ridge + [(w + 20.0, h + 20.0), (-20.0, h + 20.0)], color, 255, blur)
    return ridge


def curve(start: Point, angle: float, length: float, bend: float, segments: int = 6) -> list[Point]:
    """Points along a gently bending path, like the track of a brush."""
    x, y = start
    points = [(x, y)]
    for _ in range(segments):
        x += math.cos(angle) * length / segments
        y += math.sin(angle) * length / segments
        angle += bend / segments
        points.append((x, y))
    return points


def stroke(draw: ImageDraw.ImageDraw, rng: random.Random, start: Point, angle: float,
           length: float, width: float, color: RGB, alpha: int) -> None:
    """One brush stroke: a translucent body plus a few bristle lines of varied tone."""
    bend = rng.uniform(-0.6, 0.6)
    path = curve(start, angle, length, bend)
    draw.line(path, fill=(*color, alpha), width=max(1, round(width)), joint="curve")
    normal = angle + math.pi / 2
    for _ in range(3):
        offset = rng.uniform(-width / 2, width / 2)
        dx, dy = math.cos(normal) * offset, math.sin(normal) * offset
        bristle = [(px + dx, py + dy) for px, py in path[: rng.randint(3, len(path))]]
        tone = jitter(color, rng, 22)
        draw.line(bristle, fill=(*tone, min(255, alpha + 40)), width=max(1, round(width / 5)))


def impasto(img: Image.Image, rng: random.Random, count: int, length: float, width: float,
            flow: float, alpha: int = 150) -> None:
    """Repaint img with strokes that take their colour from the pixel under them.

    `flow` is the dominant stroke direction in radians; strokes scatter ±0.5 rad around it.
    """
    w, h = img.size
    source = img.copy()
    draw = ImageDraw.Draw(img, "RGBA")
    for _ in range(count):
        x, y = rng.uniform(0, w - 1), rng.uniform(0, h - 1)
        color = jitter(source.getpixel((int(x), int(y))), rng, 10)  # type: ignore[arg-type]
        stroke(draw, rng, (x, y), flow + rng.uniform(-0.5, 0.5),
               length * rng.uniform(0.5, 1.3), width * rng.uniform(0.6, 1.2), color, alpha)


def noise(size: tuple[int, int], rng: random.Random, blur: float) -> Image.Image:
    """Seeded grey noise in mode L; `blur` sets the grain size."""
    layer = Image.frombytes("L", size, rng.randbytes(size[0] * size[1]))
    return layer.filter(ImageFilter.GaussianBlur(blur)) if blur else layer


def grain(img: Image.Image, rng: random.Random, amount: float, blur: float = 0.0) -> Image.Image:
    """Overlay seeded grain (canvas tooth or paper fibre); amount 0..1 scales its contrast."""
    field = noise(img.size, rng, blur)
    if blur:
        # Blurring flattens noise towards grey; stretch it back so `amount` means the same.
        field = field.point(lambda v: max(0, min(255, 128 + (v - 128) * 4)))
    field = field.point(lambda v: round(128 + (v - 128) * amount))
    return ImageChops.soft_light(img, Image.merge("RGB", (field, field, field)))
