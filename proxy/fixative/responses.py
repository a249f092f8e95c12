"""Answers the proxy makes itself, as named helpers so tests can call them."""

from __future__ import annotations

from mitmproxy import http

NO_STORE = {"Cache-Control": "private, no-store", "Vary": "User-Agent, Cookie"}


def make_block_response() -> http.Response:
    """403 with a short plain message; never cached."""
    return http.Response.make(
        403,
        b"This content is not available to automated clients.\n"
        b"If you are a person and see this, please contact the site's owner.\n",
        {"Content-Type": "text/plain; charset=utf-8", **NO_STORE},
    )


def make_text_response(text: str, content_type: str = "text/plain; charset=utf-8") -> http.Response:
    return http.Response.make(200, text.encode("utf-8"), {"Content-Type": content_type})


def mark_altered(response: http.Response) -> None:
    """An altered body must not be cached by shared caches nor revalidated against the origin."""
    for name in ("ETag", "Last-Modified", "Content-Range", "Accept-Ranges", "Content-Disposition"):
        response.headers.pop(name, None)
    response.headers.update(NO_STORE)
