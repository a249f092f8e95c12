"""Pages the origin compresses (gzip, brotli, zstd) get their trap link and stay compressed, through the
real proxy; the rewrite is remembered per page (rewrites.py), so repeat views get the same bytes."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import brotli
import pytest
import requests
import zstandard
from fixative.rewrites import Rewrites
from harness import ProxyProcess, browser_headers, start_fixative

PAGE = (b"<!doctype html><html><head><title>Works</title></head><body>"
        + b"<p>" + b"A study in ink and wash. " * 400 + b"</p></body></html>")
ENCODERS = {"gzip": gzip.compress, "br": brotli.compress, "zstd": zstandard.ZstdCompressor().compress}


class CompressingOrigin(BaseHTTPRequestHandler):
    """/page-ENCODING.html: PAGE compressed that way, with its Content-Length."""

    def do_GET(self) -> None:
        encoding = self.path.removeprefix("/page-").removesuffix(".html")
        if encoding not in ENCODERS:
            self.send_error(404)
            return
        body = ENCODERS[encoding](PAGE)
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Encoding", encoding)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def compressing_origin() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), CompressingOrigin)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def proxy_with(origin: str, config: str, state: Path) -> ProxyProcess:
    (state / "fixative.yaml").write_text(config)
    return start_fixative(origin, state / "state", "--config", str(state / "fixative.yaml"))


@pytest.fixture(scope="module")
def trap_proxy(compressing_origin: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    proc = proxy_with(compressing_origin, "traps: true\n", tmp_path_factory.mktemp("compressed"))
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def plain_proxy(compressing_origin: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    proc = proxy_with(compressing_origin, "traps: false\n", tmp_path_factory.mktemp("plain"))
    yield proc
    proc.stop()


def fetch_raw(proxy: ProxyProcess, encoding: str) -> tuple[requests.Response, bytes]:
    r = requests.get(f"{proxy.url}/page-{encoding}.html", stream=True, timeout=30,
                     headers=browser_headers("page", **{"Accept-Encoding": "gzip, deflate, br, zstd"}))
    raw = r.raw.read(decode_content=False)
    assert r.status_code == 200 and r.headers["Content-Encoding"] == encoding
    assert int(r.headers["Content-Length"]) == len(raw)
    return r, raw


def decode(encoding: str, raw: bytes) -> bytes:
    if encoding == "gzip":
        return gzip.decompress(raw)
    if encoding == "br":
        return brotli.decompress(raw)
    return zstandard.ZstdDecompressor().decompressobj().decompress(raw)


@pytest.mark.parametrize("encoding", sorted(ENCODERS))
def test_a_compressed_page_gets_its_trap_and_stays_compressed(trap_proxy: ProxyProcess, encoding: str):
    answers = [fetch_raw(trap_proxy, encoding)[1] for _ in range(3)]  # rewritten once, then remembered
    html = decode(encoding, answers[0])
    assert html.count(b'rel="nofollow noindex"') == 1 and html.endswith(b"</body></html>")
    assert html.replace(html[html.index(b"<a href="):html.index(b"</a>") + 4], b"") == PAGE
    assert answers[1] == answers[2] and decode(encoding, answers[1]) == html


def test_rewrites_are_bounded_by_bytes_held():
    rewrites = Rewrites(max_bytes=10_000)
    for i in range(10):
        rewrites.put((bytes([i]) * 1000, "br", b"<a>"), b"h" * 1000, b"r" * 1000)
    assert rewrites.held <= 10_000 and len(rewrites) == 3
    assert rewrites.get((bytes([9]) * 1000, "br", b"<a>")) == (b"h" * 1000, b"r" * 1000)
    assert rewrites.get((bytes([0]) * 1000, "br", b"<a>")) is None
    rewrites.put((b"x" * (2 << 20), "br", b"<a>"), b"", b"")  # larger than a page is held
    assert len(rewrites) == 3


@pytest.mark.parametrize("encoding", sorted(ENCODERS))
def test_with_traps_off_a_compressed_page_passes_untouched(plain_proxy: ProxyProcess, encoding: str):
    """Pages still reads it (the site map), from what it remembered after the first view: the bytes stay
    the origin's."""
    for _ in range(3):
        _, raw = fetch_raw(plain_proxy, encoding)
        assert decode(encoding, raw) == PAGE
