"""Facts: resource kind from path and Accept, case-insensitive header lookup, repeated headers."""

from __future__ import annotations

import pytest

from fixative.facts import IMAGE, OTHER, PAGE, Facts, kind_of_content_type, resource_kind

NAV = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
IMG = "image/avif,image/webp,image/apng,image/*,*/*;q=0.8"


@pytest.mark.parametrize(
    ("path", "accept", "kind"),
    [
        ("/", None, PAGE),
        ("/", NAV, PAGE),
        ("/gallery/", None, PAGE),
        ("/about", None, PAGE),
        ("/works/night-harbour", NAV, PAGE),
        ("/index.html", None, PAGE),
        ("/index.HTM", None, PAGE),
        ("/page.php?id=3", None, PAGE),
        ("/v1.2/about", None, PAGE),  # a dot in a folder is not an extension
        ("/images/full/night.jpg", None, IMAGE),
        ("/images/full/night.JPEG", None, IMAGE),
        ("/a.png", NAV, IMAGE),  # the extension wins over Accept
        ("/a.webp?w=200", None, IMAGE),
        ("/a.avif#top", None, IMAGE),
        ("/icons/logo.svg", None, IMAGE),
        ("/favicon.ico", None, IMAGE),
        ("/scan.tiff", None, IMAGE),
        ("/photo.heic", None, IMAGE),
        ("/index.html?img=a.jpg", None, PAGE),  # the query is not the path
        ("/thumb", IMG, IMAGE),  # no extension: an image if the client asks for one
        ("/render.php", IMG, IMAGE),
        ("/gallery/", IMG, IMAGE),
        ("/style.css", None, OTHER),
        ("/app.js", IMG, OTHER),
        ("/works.zip", None, OTHER),
        ("/archive.tar.gz", None, OTHER),
        ("/feed.xml", NAV, OTHER),
        ("/a.jpg.exe", None, OTHER),
    ],
)
def test_resource_kind(path: str, accept: str | None, kind: str) -> None:
    assert resource_kind(path, accept) == kind
    headers = (("Accept", accept),) if accept else ()
    assert Facts(ip="192.0.2.1", user_agent=None, path=path, headers=headers).kind == kind


def test_given_kind_is_kept() -> None:
    assert Facts(ip="192.0.2.1", user_agent=None, path="/a.jpg", kind=OTHER).kind == OTHER


@pytest.mark.parametrize(
    ("content_type", "kind"),
    [
        (None, None), ("", None),
        ("image/jpeg", IMAGE), ("IMAGE/PNG", IMAGE), ("image/svg+xml; charset=utf-8", IMAGE),
        ("text/html", PAGE), ("text/html; charset=UTF-8", PAGE), ("application/xhtml+xml", PAGE),
        (" Text/HTML ;charset=utf-8", PAGE),
        ("text/css", OTHER), ("application/json", OTHER), ("application/octet-stream", OTHER),
    ],
)
def test_kind_of_content_type(content_type: str | None, kind: str | None) -> None:
    assert kind_of_content_type(content_type) == kind


HEADERS = (
    ("User-Agent", "curl/8.7.1"),
    ("accept", "*/*"),
    ("X-Forwarded-For", "203.0.113.1"),
    ("Cookie", "a=1"),
    ("x-forwarded-for", "10.0.0.2"),
    ("COOKIE", "b=2"),
    ("Accept-Language", ""),
)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("accept", "*/*"), ("ACCEPT", "*/*"), ("Accept", "*/*"),
        ("user-agent", "curl/8.7.1"),
        # repeated headers are joined in the order sent, whatever their casing
        ("X-Forwarded-For", "203.0.113.1, 10.0.0.2"),
        ("cookie", "a=1, b=2"),
        # present but empty is not absent
        ("accept-language", ""),
        ("Referer", None), ("", None),
    ],
)
def test_header_lookup(name: str, value: str | None) -> None:
    facts = Facts(ip="192.0.2.1", user_agent="curl/8.7.1", headers=HEADERS)
    assert facts.header(name) == value


def test_headers_keep_the_clients_order_and_casing() -> None:
    facts = Facts(ip="192.0.2.1", user_agent="curl/8.7.1", headers=HEADERS)
    assert facts.headers == HEADERS
    assert facts.header("accept") == "*/*"  # the lookup does not disturb them
    assert facts.headers == HEADERS


def test_defaults() -> None:
    facts = Facts(ip="192.0.2.1", user_agent=None)
    assert (facts.path, facts.method, facts.headers, facts.secure, facts.kind) == ("/", "GET", (), False, PAGE)
    assert facts.header("accept") is None
