"""What the site's pages show: page path → image paths it embeds or links, learned from HTML served.

Bounded: at most `max_pages` pages are remembered (least recently served go first).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from urllib.parse import urljoin, urlsplit

_REFS = re.compile(rb"""(?:src|href|srcset)\s*=\s*["']([^"'<>]{1,2048})["']""", re.IGNORECASE)
# Lightboxes and scripts load full-size works from data-* attributes or JSON: any quoted image path counts.
_IMAGE_PATHS = re.compile(
    rb"""["'(]([^"'()<>\s]{1,1024}\.(?:jpe?g|png|webp|gif|avif|svg|bmp|tiff?|jxl|heic)(?:\?[^"'()<>\s]*)?)["')]""",
    re.IGNORECASE)


def image_links(html: bytes, page_path: str) -> frozenset[str]:
    """Paths (same site) referenced by src/href/srcset in a page."""
    found: set[str] = set()
    head = html[:2_000_000]
    refs = [m.group(1) for m in _REFS.finditer(head)] + [m.group(1) for m in _IMAGE_PATHS.finditer(head)]
    for ref_bytes in refs:
        for candidate in ref_bytes.decode("utf-8", "replace").replace("\\/", "/").split(","):
            ref = candidate.strip().split(" ", 1)[0]
            if not ref or ref.startswith(("data:", "javascript:", "mailto:", "#")):
                continue
            parts = urlsplit(urljoin(page_path, ref))
            if parts.scheme in ("", "http", "https"):
                found.add(parts.path)
    return frozenset(found)


class SiteMap:
    def __init__(self, max_pages: int = 5000):
        self.max_pages = max_pages
        self._pages: OrderedDict[str, frozenset[str]] = OrderedDict()
        self._digests: dict[str, int] = {}

    def learn(self, page_path: str, html: bytes) -> None:
        digest = hash(html)  # the same page served again: nothing new to parse
        if self._digests.get(page_path) != digest:
            self._pages[page_path] = image_links(html, page_path)
            self._digests[page_path] = digest
        self._pages.move_to_end(page_path)
        while len(self._pages) > self.max_pages:
            evicted, _ = self._pages.popitem(last=False)
            self._digests.pop(evicted, None)

    def knows(self, page_path: str) -> bool:
        return page_path in self._pages

    def links(self, page_path: str, image_path: str) -> bool:
        return image_path.split("?", 1)[0] in self._pages.get(page_path, frozenset())
