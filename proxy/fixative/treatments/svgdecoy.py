"""A painted `Scene` written as a small SVG document (gradient, blurred blobs, strokes)."""

from __future__ import annotations

import math

from .painting import Color, Scene

_DOC = """<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}">
<defs>
<linearGradient id="bg" x1="{x1:.3f}" y1="{y1:.3f}" x2="{x2:.3f}" y2="{y2:.3f}">
<stop offset="0" stop-color="{start}"/><stop offset="1" stop-color="{end}"/>
</linearGradient>
<filter id="soft" x="-50%" y="-50%" width="200%" height="200%">
<feGaussianBlur stdDeviation="{blur:.1f}"/></filter>
</defs>
<rect width="{w}" height="{h}" fill="url(#bg)"/>
<g filter="url(#soft)">
{blobs}
</g>
<g fill="none" stroke-linecap="round" stroke-linejoin="round">
{strokes}
</g>
</svg>
"""


def scene_svg(scene: Scene, width: int, height: int) -> bytes:
    """UTF-8 SVG of `width`x`height` px showing `scene`; same scene → same bytes."""
    side = max(width, height)
    dx, dy = math.cos(scene.angle) / 2, math.sin(scene.angle) / 2
    blobs = "\n".join(
        f'<circle cx="{b.x * width:.1f}" cy="{b.y * height:.1f}" r="{b.radius * side * 0.8:.1f}" '
        f'fill="{_hex(b.color)}" fill-opacity="{b.strength:.2f}"/>'
        for b in scene.blobs
    )
    strokes = "\n".join(
        f'<polyline points="{_points(s.points, width, height)}" stroke="{_hex(s.color)}" '
        f'stroke-width="{max(1.0, s.width * side):.1f}" stroke-opacity="{s.opacity / 255:.2f}"/>'
        for s in scene.strokes
    )
    doc = _DOC.format(
        w=width, h=height,
        x1=0.5 - dx, y1=0.5 - dy, x2=0.5 + dx, y2=0.5 + dy,
        start=_hex(scene.start), end=_hex(scene.end), blur=side / 12, blobs=blobs, strokes=strokes,
    )
    return doc.encode("utf-8")


def _hex(color: Color) -> str:
    return "#{:02x}{:02x}{:02x}".format(*color)


def _points(points: tuple[tuple[float, float], ...], width: int, height: int) -> str:
    return " ".join(f"{x * width:.1f},{y * height:.1f}" for x, y in points)
