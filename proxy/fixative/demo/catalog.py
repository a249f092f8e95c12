"""Where each artwork lives on the demo site: URLs, sizes and gallery pages.

Pure data, no I/O: tests and the site builder both enumerate works from here.
"""

from __future__ import annotations

from dataclasses import dataclass

from .artworks import THUMB_SIZE, Artwork, all_artworks

PER_PAGE = 8


@dataclass(frozen=True)
class Work:
    """One artwork as published: its URLs (root-relative) and pixel sizes."""

    slug: str
    title: str
    fmt: str
    full_url: str
    thumb_url: str
    page_url: str
    width: int
    height: int
    thumb_width: int
    thumb_height: int
    index: int
    medium: str
    year: int
    scene: str


def thumb_size(width: int, height: int) -> tuple[int, int]:
    """Thumbnail size with the longest side THUMB_SIZE, matching Pillow's thumbnail()."""
    if width >= height:
        return THUMB_SIZE, round(height * THUMB_SIZE / width)
    return round(width * THUMB_SIZE / height), THUMB_SIZE


def publish(art: Artwork) -> Work:
    """The published form of an artwork spec."""
    tw, th = thumb_size(art.width, art.height)
    return Work(
        slug=art.slug,
        title=art.title,
        fmt=art.fmt,
        full_url=f"/images/full/{art.slug}.{art.ext}",
        thumb_url=f"/images/thumbs/{art.slug}.{art.ext}",
        page_url=f"/works/{art.slug}.html",
        width=art.width,
        height=art.height,
        thumb_width=tw,
        thumb_height=th,
        index=art.index,
        medium=art.medium,
        year=art.year,
        scene=art.scene,
    )


def list_works() -> list[Work]:
    """Every work on the demo site, in catalogue (and gallery) order."""
    return [publish(art) for art in all_artworks()]


def gallery_pages(works: list[Work]) -> list[list[Work]]:
    """Works split into gallery pages of PER_PAGE, page 1 first."""
    return [works[i : i + PER_PAGE] for i in range(0, len(works), PER_PAGE)]


def gallery_url(page: int) -> str:
    """URL of gallery page `page` (1-based)."""
    return f"/gallery/{page}.html"


def page_of(work: Work) -> int:
    """The 1-based gallery page that shows `work`."""
    return work.index // PER_PAGE + 1
