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


def make_origin_down_response(upstream: str, problem: str) -> http.Response:
    """502 page saying the origin cannot be reached, for the site's owner and visitors."""
    body = (
        "<!doctype html><meta charset=utf-8><title>Site unreachable</title>"
        "<h1>The site is unreachable right now</h1>"
        "<p>Fixative could not reach the site behind it. If this is your site, check that it is "
        f"running at <code>{upstream}</code>.</p><p><small>{problem}</small></p>"
    )
    return http.Response.make(502, body.encode(), {"Content-Type": "text/html; charset=utf-8", **NO_STORE})


def mark_altered(response: http.Response) -> None:
    """An altered body must not be cached by shared caches nor revalidated against the origin."""
    for name in ("ETag", "Last-Modified", "Content-Range", "Accept-Ranges", "Content-Disposition"):
        response.headers.pop(name, None)
    response.headers.update(NO_STORE)
