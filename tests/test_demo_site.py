"""The demo portfolio: generated artworks, the static site, and the origin server serving it."""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from PIL import Image

from fixative.demo.artworks import render_files
from fixative.demo.origin import resolve, start_origin
from fixative.demo.site import Work, build_site, list_works

PROXY_DIR = Path(__file__).resolve().parents[1] / "proxy"
PIL_FORMATS = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP"}
CONTENT_TYPES = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
WORKS = list_works()
ONE_PER_FORMAT = [next(w for w in WORKS if w.fmt == fmt) for fmt in PIL_FORMATS]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo site, built once for this module."""
    return build_site(tmp_path_factory.mktemp("demo-site"))


@pytest.fixture(scope="module")
def origin(site: Path) -> Iterator[str]:
    """Base URL of a real origin server for the site, run on its own loop in a thread."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    runner, port = asyncio.run_coroutine_threadsafe(start_origin(site), loop).result(10)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


def local_file(site: Path, url: str) -> Path:
    """The file a root-relative URL names in the built site ("/" and "dir/" mean index.html)."""
    path = urlsplit(url).path
    if path.endswith("/"):
        path += "index.html"
    return site / path.lstrip("/")


class LinkCollector(HTMLParser):
    """Collects href/src attributes, the <title> text and whether a meta charset is present."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.title = ""
        self.charset = False
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        self.links += [v for k, v in attrs if k in ("href", "src") and v is not None]
        self.charset |= tag == "meta" and values.get("charset") == "utf-8"
        self._in_title = tag == "title"

    def handle_endtag(self, tag: str) -> None:
        self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data


def parse_page(path: Path) -> LinkCollector:
    collector = LinkCollector()
    collector.feed(path.read_text(encoding="utf-8"))
    return collector


# --- catalogue ---------------------------------------------------------------------------


def test_catalogue_has_eight_works_per_format() -> None:
    assert len(WORKS) == 24
    assert {fmt: sum(w.fmt == fmt for w in WORKS) for fmt in PIL_FORMATS} == {
        "jpeg": 8, "png": 8, "webp": 8}
    assert len({w.slug for w in WORKS}) == 24


def test_every_format_has_landscape_portrait_and_square() -> None:
    for fmt in PIL_FORMATS:
        shapes = {(w.width > w.height) - (w.width < w.height) for w in WORKS if w.fmt == fmt}
        assert shapes == {-1, 0, 1}, fmt


def test_slugs_are_ascii() -> None:
    assert "low-tide-at-parnu" in {w.slug for w in WORKS}


# --- images ------------------------------------------------------------------------------


@pytest.mark.parametrize("work", WORKS, ids=lambda w: w.slug)
def test_full_image_matches_catalogue(site: Path, work: Work) -> None:
    path = local_file(site, work.full_url)
    assert 120_000 < path.stat().st_size < 1_600_000
    with Image.open(path) as img:
        assert img.format == PIL_FORMATS[work.fmt]
        assert img.size == (work.width, work.height)


@pytest.mark.parametrize("work", WORKS, ids=lambda w: w.slug)
def test_thumbnail_matches_catalogue(site: Path, work: Work) -> None:
    with Image.open(local_file(site, work.thumb_url)) as img:
        assert img.format == PIL_FORMATS[work.fmt]
        assert img.size == (work.thumb_width, work.thumb_height)
        assert max(img.size) == 360


@pytest.mark.parametrize("work", ONE_PER_FORMAT, ids=lambda w: w.fmt)
def test_rendering_again_gives_identical_bytes(site: Path, work: Work) -> None:
    full, thumb = render_files(work.index)
    assert full == local_file(site, work.full_url).read_bytes()
    assert thumb == local_file(site, work.thumb_url).read_bytes()


def test_rendering_is_identical_in_another_process(site: Path) -> None:
    work = ONE_PER_FORMAT[1]
    script = (f"import hashlib; from fixative.demo.artworks import render_files; "
              f"print(hashlib.sha256(render_files({work.index})[0]).hexdigest())")
    env = {**os.environ, "PYTHONPATH": str(PROXY_DIR), "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                         text=True, check=True, timeout=60).stdout.strip()
    assert out == hashlib.sha256(local_file(site, work.full_url).read_bytes()).hexdigest()


def test_second_build_is_a_fast_no_op(site: Path) -> None:
    before = local_file(site, WORKS[0].full_url).stat().st_mtime_ns
    assert build_site(site) == site
    assert local_file(site, WORKS[0].full_url).stat().st_mtime_ns == before


# --- pages and other files ---------------------------------------------------------------


def test_every_link_in_every_page_resolves(site: Path) -> None:
    html_files = sorted(site.rglob("*.html"))
    assert len(html_files) >= 1 + 3 + 24 + 2
    for page in html_files:
        parsed = parse_page(page)
        assert page.read_text(encoding="utf-8").startswith("<!DOCTYPE html>"), page
        assert parsed.charset and parsed.title.strip(), page
        for link in parsed.links:
            if link.startswith("mailto:"):
                continue
            assert link.startswith("/"), f"{page}: {link} is not root-relative"
            assert local_file(site, link).is_file(), f"{page}: {link} is broken"


@pytest.mark.parametrize("number", [1, 2, 3])
def test_gallery_page_links_its_eight_works(site: Path, number: int) -> None:
    links = parse_page(site / "gallery" / f"{number}.html").links
    expected = WORKS[(number - 1) * 8 : number * 8]
    assert [link for link in links if link.startswith("/works/")] == [w.page_url for w in expected]
    assert [link for link in links if link.startswith("/images/")] == [
        w.thumb_url for w in expected]


@pytest.mark.parametrize("work", ONE_PER_FORMAT, ids=lambda w: w.fmt)
def test_work_page_shows_full_image(site: Path, work: Work) -> None:
    text = local_file(site, work.page_url).read_text(encoding="utf-8")
    assert f'<img src="{work.full_url}" width="{work.width}" height="{work.height}"' in text
    assert f'href="{work.full_url}">Open full size</a>' in text


def test_robots_has_origin_rules_and_sitemap(site: Path) -> None:
    lines = (site / "robots.txt").read_text(encoding="utf-8").splitlines()
    assert "User-agent: *" in lines
    assert "Disallow: /private/" in lines
    sitemap = [line for line in lines if line.startswith("Sitemap: ")]
    assert len(sitemap) == 1 and sitemap[0].endswith("/sitemap.xml")
    assert urlsplit(sitemap[0].split(" ", 1)[1]).scheme == "https"


def test_sitemap_lists_every_work_page_and_image(site: Path) -> None:
    tree = ET.parse(site / "sitemap.xml")
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9",
          "image": "http://www.google.com/schemas/sitemap-image/1.1"}
    pages = {urlsplit(e.text or "").path for e in tree.findall("s:url/s:loc", ns)}
    images = {urlsplit(e.text or "").path for e in tree.findall("s:url/image:image/image:loc", ns)}
    assert {w.page_url for w in WORKS} <= pages
    assert {"/", "/gallery/1.html", "/about.html"} <= pages
    assert images == {w.full_url for w in WORKS}


def test_press_kit_is_a_large_valid_zip(site: Path) -> None:
    path = site / "downloads" / "press-kit.zip"
    assert path.stat().st_size > 1_500_000
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        assert "README.txt" in archive.namelist()


def test_favicon_is_an_icon(site: Path) -> None:
    with Image.open(site / "favicon.ico") as img:
        assert img.format == "ICO"


# --- origin server -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url_path", "expected"),
    [
        ("", "index.html"),
        ("gallery/1.html", "gallery/1.html"),
        ("private", "private/index.html"),
        ("private/", "private/index.html"),
        ("missing.html", None),
        (".fixative-demo-site", None),
        ("../etc/passwd", None),
        ("images/../robots.txt", None),
    ],
)
def test_resolve(site: Path, url_path: str, expected: str | None) -> None:
    root = site.resolve()
    assert resolve(root, url_path) == (root / expected if expected else None)


@pytest.mark.parametrize("work", ONE_PER_FORMAT, ids=lambda w: w.fmt)
def test_origin_serves_image_bytes(origin: str, site: Path, work: Work) -> None:
    response = requests.get(origin + work.full_url, timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == CONTENT_TYPES[work.fmt]
    assert response.content == local_file(site, work.full_url).read_bytes()
    assert response.headers["ETag"] and response.headers["Last-Modified"]


def test_origin_answers_conditional_request(origin: str) -> None:
    first = requests.get(origin + WORKS[0].full_url, timeout=10)
    again = requests.get(origin + WORKS[0].full_url, timeout=10,
                         headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.content == b""


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/", "text/html; charset=utf-8"),
        ("/style.css", "text/css; charset=utf-8"),
        ("/robots.txt", "text/plain; charset=utf-8"),
        ("/sitemap.xml", "application/xml; charset=utf-8"),
        ("/favicon.ico", "image/x-icon"),
        ("/downloads/press-kit.zip", "application/zip"),
        ("/private/", "text/html; charset=utf-8"),
    ],
)
def test_origin_serves_site_files(origin: str, site: Path, path: str, content_type: str) -> None:
    response = requests.get(origin + path, timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == content_type
    assert response.content == local_file(site, path).read_bytes()


def test_origin_redirects_bare_directory(origin: str) -> None:
    response = requests.get(origin + "/private", timeout=10, allow_redirects=False)
    assert response.status_code == 301
    assert response.headers["Location"].endswith("/private/")


@pytest.mark.parametrize("path", ["/missing.png", "/works/nope.html", "/.fixative-demo-site"])
def test_origin_404_is_html(origin: str, path: str) -> None:
    response = requests.get(origin + path, timeout=10)
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "<h1>Not found</h1>" in response.text


def test_command_line_serves_site(site: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(PROXY_DIR)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "fixative.demo.origin", "--root", str(site), "--port", "0"],
        env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("origin listening on http://127.0.0.1:")
        response = requests.get(line.rsplit(" ", 1)[1] + "/", timeout=10)
        assert response.content == (site / "index.html").read_bytes()
    finally:
        proc.terminate()
        proc.wait(10)
