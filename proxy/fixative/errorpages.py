"""Friendlier pages for mitmproxy's own gateway errors (origin down, origin timing out).

mitmproxy writes these pages itself, below any addon hook, so the only way to word
them is to wrap its HTTP/1 error-page builder (pinned mitmproxy 11.0.2). If that
builder is not where we expect, mitmproxy's own page stays: nothing breaks.
"""

from __future__ import annotations

import html
import logging
from contextvars import ContextVar

log = logging.getLogger(__name__)

GATEWAY_PAGES = {
    502: ("The site is unreachable right now",
          "Fixative could not reach the site it protects. If this is your site, check that it is running "
          "and that --upstream points at it."),
    504: ("The site is taking too long to answer",
          "Fixative reached the site it protects, but it did not answer in time. Try again in a moment."),
}

# Set (to the page's detail) by OriginTimeout's error hook: the 502 mitmproxy then builds, in the same
# task, for the server connection it cancelled becomes a 504.
ORIGIN_TIMED_OUT: ContextVar[str | None] = ContextVar("fixative_origin_timed_out", default=None)


def gateway_page(status: int, detail: str) -> bytes:
    title, text = GATEWAY_PAGES[status]
    return (f"<!doctype html><meta charset=utf-8><title>{title}</title>"
            f"<style>body{{font-family:Georgia,serif;max-width:36em;margin:4em auto;color:#333}}</style>"
            f"<h1>{title}</h1><p>{text}</p><p><small>{html.escape(detail)}</small></p>").encode()


def install() -> bool:
    """Reword 502/504 pages; return whether it took effect."""
    try:
        from mitmproxy import http
        from mitmproxy.net.http import http1
        from mitmproxy.proxy.layers.http import _http1
    except ImportError:
        return False
    original = getattr(_http1, "make_error_response", None)
    if original is None or getattr(original, "_fixative", False):
        return original is not None

    def make_error_response(status_code: int, message: str = "") -> bytes:
        if status_code == 502 and (timed_out := ORIGIN_TIMED_OUT.get()):
            status_code, message = 504, timed_out
        if status_code not in GATEWAY_PAGES:
            return original(status_code, message)
        response = http.Response.make(status_code, gateway_page(status_code, message), {
            "Content-Type": "text/html; charset=utf-8", "Connection": "close",
            "Cache-Control": "no-store"})
        return http1.assemble_response(response)

    make_error_response._fixative = True  # type: ignore[attr-defined]
    _http1.make_error_response = make_error_response
    return True
