"""Behaviour signals: pure functions of one client's recent history and the current request."""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit

from ..facts import IMAGE, Facts
from .sitemap import SiteMap
from .store import ClientState

RATE_WINDOW = 10.0
RATE_LIMIT = 40          # requests per 10 s; a gallery page with its thumbnails is about 12
BREADTH_IMAGES = 40      # distinct images with ...
BREADTH_PAGE_RATIO = 15  # ... more than this many per page seen
OPTOUT_PATIENCE = 5      # images after noai before it counts
SPREE_OPENS = 3          # images opened directly, with no page of the site, ...
SPREE_WINDOW = 120.0     # ... within this many seconds


def is_navigation(facts: Facts) -> bool:
    """A top-level navigation (a person opening a URL in a tab), not an embedded load. An access-log line
    shows neither header: it reads as the milder, a navigation (a spree of them still counts)."""
    if facts.from_log:
        return True
    dest = facts.header("sec-fetch-dest")
    if dest is not None:
        return dest == "document"
    accept = facts.header("accept") or ""
    return accept.startswith("text/html")


def is_orphan_image(facts: Facts, state: ClientState) -> bool:
    """An embedded-style image load with no Referer, from a client that never loaded a page here."""
    return facts.kind == IMAGE and state.pages == 0 and not facts.header("referer") and not is_navigation(facts)


def is_direct_image_open(facts: Facts, state: ClientState) -> bool:
    """An image opened straight in a tab (typed, bookmarked, from a list) by a client that saw no page."""
    return facts.kind == IMAGE and state.pages == 0 and not facts.header("referer") and is_navigation(facts)


def behaviour_signals(facts: Facts, state: ClientState, sitemap: SiteMap | None = None,
                      robots_disallowed: bool = False) -> dict[str, str]:
    """Signals from what this client did before this request (the request itself not yet noted)."""
    found: dict[str, str] = {}
    if state.trapped:
        found["trap.hit"] = f"requested the hidden trap link {state.trapped}"
    rate = state.rate(facts.time, RATE_WINDOW) + 1
    if rate > RATE_LIMIT:
        found["behaviour.rate"] = f"{rate} requests in {RATE_WINDOW:.0f} s"
    if is_orphan_image(facts, state):
        found["behaviour.orphan_image"] = (
            f"image fetched with no page of this site first ({state.orphan_images + 1} so far) and no Referer")
    if facts.kind == IMAGE and sitemap is not None:
        referer = facts.header("referer")
        page = _same_site_path(referer, facts.host) if referer else None
        if page is not None and sitemap.knows(page) and not sitemap.links(page, facts.path):
            found["behaviour.referer_mismatch"] = f"Referer {page} does not show this image"
    if is_direct_image_open(facts, state):
        opens = sum(1 for t in state.direct_image_opens if facts.time - t <= SPREE_WINDOW) + 1
        if opens >= SPREE_OPENS:
            found["behaviour.image_spree"] = (
                f"{opens} images opened directly in {SPREE_WINDOW:.0f} s without any page of the site")
    distinct = len(state.image_paths)
    if distinct >= BREADTH_IMAGES and distinct > BREADTH_PAGE_RATIO * max(state.pages, 1):
        found["behaviour.breadth"] = f"{distinct} distinct images for {state.pages} pages"
    if robots_disallowed and state.robots_read:
        found["behaviour.robots_ignored"] = "read robots.txt, then requested a path it disallows"
    if facts.kind == IMAGE and state.optout_seen >= OPTOUT_PATIENCE and state.pages == 0 \
            and not facts.header("referer"):
        found["behaviour.optout_ignored"] = (
            f"keeps downloading after {state.optout_seen} images marked X-Robots-Tag: noai")
    return found


@lru_cache(maxsize=4096)  # a page's images all carry its URL
def _same_site_path(referer: str, host: str | None) -> str | None:
    try:
        parts = urlsplit(referer)
    except ValueError:
        return None
    if not host or parts.netloc.lower() != host.lower():
        return None
    return parts.path or "/"
