"""The four compositions of the demo artworks, drawn at working resolution.

A scene returns an unfinished RGB image; artworks.py applies the medium (oil, print,
watercolour) and the final size. Scenes only use painting.py primitives and their rng.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import NamedTuple

from PIL import Image, ImageDraw

from .painting import RGB, disc, glow, gradient, hill, jitter, mix, soft_polygon, stroke


class Palette(NamedTuple):
    """Colours for one picture, from the top of the sky to the darkest foreground."""

    sky_top: RGB
    sky_low: RGB
    light: RGB
    far: RGB
    near: RGB
    accent: RGB


def _palette(spec: str) -> Palette:
    """A Palette from six space-separated hex colours, in field order."""
    colors = [tuple(int(c[i : i + 2], 16) for i in (0, 2, 4)) for c in spec.split()]
    return Palette(*colors)  # type: ignore[arg-type]


PALETTES: tuple[Palette, ...] = (
    _palette("26345c ec9660 ffd696 785c78 342e3c c84632"),  # dusk
    _palette("78aad2 e2e8e4 fffae6 7e9696 406046 d2a03c"),  # summer noon
    _palette("121830 465482 ececdc 2e3856 141824 beaa6e"),  # moonlight
    _palette("cec4aa f0e2c4 fff4d6 aa8c64 604632 963228"),  # sepia
    _palette("5a2846 f0785a ffc878 964650 3c1e32 fad25a"),  # sunset
    _palette("a0c4c8 dcd6be faf6e2 6e8c82 284642 dc6e46"),  # sea air
    _palette("3c5a6e b4beaa f0e6be 5a6e64 24322e e6b450"),  # overcast
    _palette("dcc8be ecdcc8 faf0e2 b4968c 6e5050 465a8c"),  # dust rose
)

Scene = Callable[[tuple[int, int], random.Random, Palette], Image.Image]


def landscape(size: tuple[int, int], rng: random.Random, pal: Palette) -> Image.Image:
    """Sky, a low sun or moon, three receding ranges of hills and a stroked field."""
    w, h = size
    horizon = h * rng.uniform(0.5, 0.66)
    img = gradient(size, [(0.0, pal.sky_top), (horizon / h, pal.sky_low), (1.0, pal.sky_low)])
    sun = (w * rng.uniform(0.2, 0.8), horizon - h * rng.uniform(0.08, 0.3))
    glow(img, sun, min(w, h) * 0.35, pal.light, 0.55)
    disc(img, sun, min(w, h) * rng.uniform(0.04, 0.07), pal.light)
    for depth in range(3):
        # Atmospheric perspective: far ranges take on the colour of the sky.
        color = mix(pal.sky_low, pal.far, 0.45 + depth * 0.2)
        hill(img, rng, horizon - h * (0.12 - depth * 0.05), h * 0.06, color, blur=2.5 - depth)
    hill(img, rng, horizon + h * 0.02, h * 0.02, pal.near, blur=0.8)
    draw = ImageDraw.Draw(img, "RGBA")
    for _ in range(int(w * h / 900)):
        y = rng.uniform(horizon + h * 0.03, h)
        near = (y - horizon) / (h - horizon)
        color = jitter(mix(pal.near, pal.accent, rng.random() * 0.35), rng, 18)
        stroke(draw, rng, (rng.uniform(0, w), y), -math.pi / 2 + rng.uniform(-0.4, 0.4),
               h * 0.02 + h * 0.05 * near, 1 + 4 * near, color, 170)
    return img


def seascape(size: tuple[int, int], rng: random.Random, pal: Palette) -> Image.Image:
    """Clouded sky over open water, with a path of light reflected from the sun."""
    w, h = size
    horizon = h * rng.uniform(0.42, 0.58)
    sea_far, sea_near = mix(pal.far, pal.sky_low, 0.3), pal.near
    img = gradient(size, [(0.0, pal.sky_top), (horizon / h, pal.sky_low),
                          (horizon / h + 0.001, sea_far), (1.0, sea_near)])
    sun_x = w * rng.uniform(0.25, 0.75)
    glow(img, (sun_x, horizon - h * 0.1), min(w, h) * 0.3, pal.light, 0.6)
    for _ in range(rng.randint(4, 7)):
        cx, cy = rng.uniform(-0.1, 1.1) * w, rng.uniform(0.08, 0.75) * horizon
        cw, ch = w * rng.uniform(0.15, 0.4), h * rng.uniform(0.03, 0.07)
        cloud = []
        for a in [i * math.tau / 14 for i in range(14)]:
            rx, ry = rng.uniform(0.7, 1), rng.uniform(0.6, 1)
            cloud.append((cx + cw * math.cos(a) * rx, cy + ch * math.sin(a) * ry))
        soft_polygon(img, cloud, mix(pal.light, pal.sky_top, rng.uniform(0.1, 0.5)), 170, ch * 0.5)
    draw = ImageDraw.Draw(img, "RGBA")
    for _ in range(int(w * h / 700)):
        y = rng.uniform(horizon + 2, h)
        near = (y - horizon) / (h - horizon)
        x = rng.uniform(0, w)
        lit = math.exp(-(((x - sun_x) / (w * (0.04 + 0.1 * near))) ** 2))
        water = jitter(mix(sea_far, sea_near, near), rng, 14)
        color = mix(water, pal.light, lit * rng.uniform(0.5, 1))
        stroke(draw, rng, (x, y), rng.uniform(-0.08, 0.08), w * (0.01 + 0.05 * near),
               1 + 3 * near, color, 150 + int(80 * lit))
    if rng.random() < 0.6:
        bx, by = w * rng.uniform(0.15, 0.85), horizon + h * rng.uniform(0.05, 0.15)
        sail = h * 0.06
        soft_polygon(img, [(bx, by - sail), (bx, by), (bx + sail * 0.6, by)], pal.light, 235, 0.8)
        hull = [(bx - sail * 0.4, by), (bx + sail * 0.8, by),
                (bx + sail * 0.6, by + sail * 0.15), (bx - sail * 0.3, by + sail * 0.15)]
        soft_polygon(img, hull, pal.near, 240, 0.8)
    return img


def still_life(size: tuple[int, int], rng: random.Random, pal: Palette) -> Image.Image:
    """A table edge, a drape and a few fruit and vessels, lit from one side."""
    w, h = size
    table = h * rng.uniform(0.55, 0.68)
    wall = mix(pal.sky_low, pal.far, 0.35)
    img = gradient(size, [(0.0, mix(wall, pal.near, 0.35)), (table / h, wall),
                          (table / h + 0.002, mix(pal.far, pal.light, 0.3)), (1.0, pal.far)])
    glow(img, (w * 0.25, h * 0.2), min(w, h) * 0.5, pal.light, 0.35)
    drape = [(w * rng.uniform(0.5, 0.8), table - h * 0.45), (w * 1.05, table - h * 0.5),
             (w * 1.05, h * 1.05), (w * rng.uniform(0.35, 0.6), h * 1.05)]
    soft_polygon(img, drape, mix(pal.accent, pal.sky_low, 0.3), 200, 6)
    vessel_x = w * rng.uniform(0.3, 0.6)
    vw, vh = w * 0.09, h * rng.uniform(0.25, 0.35)
    body = [(vessel_x - vw * f, table - vh * (i / 8)) for i, f in
            enumerate([1.0, 1.15, 1.2, 1.1, 0.9, 0.6, 0.4, 0.45, 0.55])]
    outline = body + [(2 * vessel_x - x, y) for x, y in reversed(body)]
    soft_polygon(img, [(x + vw * 0.4, table + h * 0.015) for x, _ in outline[:3]] +
                 [(vessel_x + vw * 2.2, table + h * 0.03)], pal.near, 120, 8)
    soft_polygon(img, outline, mix(pal.near, pal.sky_top, 0.4), 255, 1.2)
    glow(img, (vessel_x - vw * 0.5, table - vh * 0.45), vw * 0.5, pal.light, 0.45)
    for _ in range(rng.randint(3, 5)):
        r = min(w, h) * rng.uniform(0.045, 0.08)
        cx = w * rng.uniform(0.12, 0.88)
        cy = table + h * rng.uniform(0.04, 0.2)
        shadow = [(cx - r, cy + r * 0.9), (cx + r * 2.2, cy + r * 0.9),
                  (cx + r * 1.6, cy + r * 1.2), (cx - r, cy + r * 1.1)]
        soft_polygon(img, shadow, pal.near, 110, r * 0.3)
        fruit = jitter(mix(pal.accent, pal.light, rng.uniform(0, 0.4)), rng, 25)
        disc(img, (cx, cy), r, fruit)
        disc(img, (cx + r * 0.25, cy + r * 0.25), r * 0.7, mix(fruit, pal.near, 0.35), r * 0.3)
        glow(img, (cx - r * 0.35, cy - r * 0.35), r * 0.35, pal.light, 0.7)
    return img


def abstract(size: tuple[int, int], rng: random.Random, pal: Palette) -> Image.Image:
    """Either stacked colour fields with soft edges or floating circles crossed by lines."""
    w, h = size
    img = gradient(size, [(0.0, pal.far), (1.0, mix(pal.far, pal.near, 0.5))])
    colors = [pal.sky_top, pal.sky_low, pal.light, pal.accent, pal.near]
    if rng.random() < 0.5:
        bands = rng.randint(2, 3)
        for i in range(bands):
            top, bottom = h * (0.06 + i * 0.9 / bands), h * (0.06 + (i + 1) * 0.9 / bands - 0.04)
            field = [(w * 0.08, top), (w * 0.92, top), (w * 0.92, bottom), (w * 0.08, bottom)]
            soft_polygon(img, field, rng.choice(colors), 230, min(w, h) * 0.02)
    else:
        for _ in range(rng.randint(5, 9)):
            r = min(w, h) * rng.uniform(0.04, 0.2)
            center = (rng.uniform(0.1, 0.9) * w, rng.uniform(0.1, 0.9) * h)
            glow(img, center, r * 1.6, rng.choice(colors), 0.4)
            disc(img, center, r, rng.choice(colors), 1.0)
            disc(img, center, r * rng.uniform(0.3, 0.7), rng.choice(colors), 1.0)
        draw = ImageDraw.Draw(img, "RGBA")
        for _ in range(rng.randint(4, 8)):
            a = (rng.uniform(0, w), rng.uniform(0, h))
            b = (rng.uniform(0, w), rng.uniform(0, h))
            draw.line([a, b], fill=(*pal.near, 200), width=rng.randint(1, 4))
    return img


SCENES: tuple[Scene, ...] = (landscape, seascape, still_life, abstract)
