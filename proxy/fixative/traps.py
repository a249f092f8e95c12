"""Trap links: invisible links in pages, disallowed in robots.txt, that only a careless crawler follows.

The prefix is derived from the install's secret so it cannot be listed in advance.
Links are rel=nofollow, hidden from sight, screen readers and keyboard focus.
"""

from __future__ import annotations

import re
from functools import lru_cache

from .secret import derive

_BODY_END = re.compile(rb"</body\s*>", re.IGNORECASE)


def trap_prefix(secret: bytes) -> str:
    return "/" + derive(secret, "trap", "prefix").hex()[:10] + "/"


def is_trap(path: str, prefix: str) -> bool:
    return path.startswith(prefix)


@lru_cache(maxsize=4096)  # every page view asks for its page's link
def trap_link_html(prefix: str, page_path: str, secret: bytes) -> bytes:
    token = derive(secret, "trap", page_path).hex()[:12]
    return (f'<a href="{prefix}{token}.html" rel="nofollow noindex" aria-hidden="true" tabindex="-1" '
            f'style="position:absolute;left:-9999px;width:1px;height:1px;overflow:hidden">archive</a>').encode()


def inject_trap(html: bytes, link: bytes) -> bytes:
    """The page with the link before its last </body> (or at the end if there is none)."""
    # Scan from the last lower-case "</body" (the usual spelling), not the whole page; only when no match
    # follows it (none, or "</bodyx>") is the whole page scanned.
    match = None
    for start in dict.fromkeys((max(html.rfind(b"</body"), 0), 0)):
        for match in _BODY_END.finditer(html, start):
            pass
        if match is not None:
            break
    if match is None:
        return html + link
    return html[:match.start()] + link + html[match.start():]


def trap_page() -> bytes:
    return b"<!doctype html><meta charset=utf-8><title>Archive</title><p>Nothing here.</p>"
