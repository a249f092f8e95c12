"""Record the exact request headers of real HTTP clients and browsers, as test fixtures.

Run: `.venv/bin/python tests/record_headers.py [OUTDIR]` (default tests/fixtures/headers/).
A tiny aiohttp server on 127.0.0.1 keeps each request's raw headers in the order and
casing they arrived (request.raw_headers); every client below really runs against it.
127.0.0.1 is a secure context, so browsers send Sec-Fetch-* and client hints to it.
Also converts a few curl-impersonate browser captures (HTTP/2, lower-case) from
../shared/reference-data into the same format: {client, kind, secure_context, source, headers}.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import json
import os
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Callable
from datetime import date
from pathlib import Path

import aiohttp
import httpx
import requests
import yaml
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser import CHROMIUM, CHROMIUM_ARGS, desktop_user_agent  # noqa: E402

HERE = Path(__file__).resolve().parent
OUT = HERE / "fixtures" / "headers"
SIGNATURES = HERE.parents[1] / "shared/reference-data/user-agents/curl-impersonate-browser-signatures"
PLAIN_HOST = "gallery.example"  # resolved to 127.0.0.1 inside Chromium: plain HTTP, not a secure context
# A 1x1 PNG: enough for a browser to count the <img> as loaded.
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")
PAGE = b'<!doctype html><title>work</title><h1>A work</h1><img src="/images/work.png" alt="work">'
CAPTURES = {  # curl-impersonate file -> fixture name (navigation requests over HTTPS/2)
    "chrome_150.0.7871.127_macOS.yaml": "capture-chrome-150-macos",
    "chrome_131.0.6778.81_android.yaml": "capture-chrome-131-android",
    "edge_120.0.2210.61_linux.yaml": "capture-edge-120-linux",
    "firefox_144.0.0_linux.yaml": "capture-firefox-144",
    "safari_26.0.1_macOS.yaml": "capture-safari-26-macos",
    "safari_26.0_iOS.yaml": "capture-safari-26-ios",
}


class Recorder:
    """An aiohttp server in a thread that remembers every request's raw headers."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, list[list[str]]]] = []
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self.runner, port = asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)
        self.url = f"http://127.0.0.1:{port}"

    async def _start(self) -> tuple[web.AppRunner, int]:
        app = web.Application()
        app.router.add_get("/{tail:.*}", self._handle)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        return runner, site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def _handle(self, request: web.Request) -> web.Response:
        headers = [[k.decode("latin-1"), v.decode("latin-1")] for k, v in request.raw_headers]
        self.seen.append((request.path, headers))
        if request.path.startswith("/images/"):
            return web.Response(body=PNG, content_type="image/png")
        return web.Response(body=PAGE, content_type="text/html")

    def take(self, path: str) -> list[list[str]]:
        """The headers of the most recent request for path, removed from the record."""
        for i in range(len(self.seen) - 1, -1, -1):
            if self.seen[i][0] == path:
                return self.seen.pop(i)[1]
        raise LookupError(f"no request for {path} was recorded")

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)


def save(out: Path, name: str, client: str, kind: str, headers: list[list[str]], source: str,
         secure_context: bool = True) -> None:
    meta = {"client": client, "kind": kind, "secure_context": secure_context, "source": source}
    lines = ",\n".join(f"  {json.dumps(pair)}" for pair in headers)  # one header a line, in order
    text = json.dumps(meta, indent=1)[:-2] + f',\n "headers": [\n{lines}\n ]\n}}\n'
    json.loads(text)
    (out / f"{name}.json").write_text(text, encoding="utf-8")
    print(f"{name}: {len(headers)} headers")


def record_tools(rec: Recorder, out: Path) -> None:
    image = rec.url + "/images/work.png"
    today = date.today().isoformat()

    def run(name: str, client: str, action: Callable[[], object], version: str) -> None:
        action()
        save(out, name, client, "image", rec.take("/images/work.png"),
             f"recorded by tests/record_headers.py on {today}: {version}")

    def version_of(*command: str) -> str:  # "curl 7.88.1", "GNU Wget 1.21.3"
        first = subprocess.run(command, capture_output=True, text=True).stdout.split("\n")[0]
        return " ".join(first.split()[:3 if first.startswith("GNU") else 2])

    run("curl-image", "curl", lambda: subprocess.run(["curl", "-sS", "-o", "/dev/null", image], check=True),
        version_of("curl", "--version"))
    run("wget-image", "wget", lambda: subprocess.run(["wget", "-q", "-O", "/dev/null", image], check=True),
        version_of("wget", "--version"))
    run("requests-image", "python-requests", lambda: requests.get(image, timeout=10),
        f"requests {requests.__version__}")
    run("urllib-image", "python-urllib", lambda: urllib.request.urlopen(image, timeout=10).read(),
        f"urllib.request.urlopen, Python {sys.version.split()[0]}")

    def img2dataset() -> None:
        os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")  # no network check on import
        from img2dataset.downloader import download_image  # img2dataset's own fetch, default options
        *_, err = download_image((0, image), 10, None, ["noai", "noimageai", "noindex", "noimageindex"])
        assert err is None, err

    run("img2dataset-image", "img2dataset", img2dataset, f"img2dataset {importlib.metadata.version('img2dataset')} "
        "downloader.download_image (default UA, no token)")

    async def aio() -> None:
        async with aiohttp.ClientSession() as s, s.get(image) as r:
            await r.read()

    run("aiohttp-image", "aiohttp", lambda: asyncio.run(aio()), f"aiohttp {aiohttp.__version__} ClientSession")
    run("httpx-image", "httpx", lambda: httpx.get(image, timeout=10), f"httpx {httpx.__version__}")
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    run("node-fetch-image", "node-fetch", lambda: subprocess.run(
        ["node", "-e", f"fetch({image!r}).then(r => r.arrayBuffer())"], check=True), f"Node.js {node} fetch()")


def record_chromium(rec: Recorder, out: Path) -> list[list[str]]:
    """Chromium loading a page that embeds an <img>, and opening the image directly.

    Desktop UA and headless default to 127.0.0.1 (a secure context), and the desktop UA over
    plain HTTP to a non-local name. Returns the desktop image request's headers (secure context).
    """
    from playwright.sync_api import sync_playwright

    today = date.today().isoformat()
    port = rec.url.rsplit(":", 1)[1]
    args = [*CHROMIUM_ARGS, f"--host-resolver-rules=MAP {PLAIN_HOST} 127.0.0.1"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=args, headless=True)
        source = f"recorded by tests/record_headers.py on {today}: Debian Chromium {browser.version} via Playwright"
        runs = (("desktop", rec.url, {"user_agent": desktop_user_agent(browser.version)}, True),
                ("headless", rec.url, {}, True),
                ("desktop-plain-http", f"http://{PLAIN_HOST}:{port}",
                 {"user_agent": desktop_user_agent(browser.version)}, False))
        for label, base, options, secure in runs:
            context = browser.new_context(**options)
            page = context.new_page()
            page.goto(base + "/page.html", wait_until="networkidle")
            save(out, f"chromium-{label}-page", f"chromium-{label}", "page", rec.take("/page.html"), source,
                 secure)
            save(out, f"chromium-{label}-image", f"chromium-{label}", "image", rec.take("/images/work.png"),
                 source + " (<img> in the page)", secure)
            if label == "desktop":
                page.goto(base + "/images/work.png")
                save(out, "chromium-desktop-direct-image", "chromium-desktop", "image",
                     rec.take("/images/work.png"), source + " (image URL opened in the tab)")
            context.close()
        browser.close()
    return json.loads((out / "chromium-desktop-image.json").read_text())["headers"]


def record_forged(rec: Recorder, out: Path, chrome_image: list[list[str]]) -> None:
    """python-requests sending every header the real Chromium sent for the <img> (but Host/Connection)."""
    forged = {k: v for k, v in chrome_image if k.lower() not in ("host", "connection")}
    requests.get(rec.url + "/images/work.png", headers=forged, timeout=10)
    save(out, "requests-forged-chrome-image", "python-requests (forged Chrome)", "image",
         rec.take("/images/work.png"),
         f"recorded by tests/record_headers.py on {date.today().isoformat()}: requests {requests.__version__} "
         "with the headers of chromium-desktop-image.json")


def convert_captures(out: Path) -> None:
    for filename, name in CAPTURES.items():
        doc = yaml.safe_load((SIGNATURES / filename).read_text(encoding="utf-8"))
        frames = doc["signature"]["http2"]["frames"]
        lines = next(f["headers"] for f in frames if f.get("frame_type") == "HEADERS")
        headers = [[k, v] for k, _, v in (line.partition(": ") for line in lines)]
        browser = doc["browser"]
        save(out, name, f"{browser['name']} {browser['version']} {browser['os']}", "page", headers,
             f"lexiforest/curl-impersonate tests/signatures/{filename} (MIT): HTTP/2 navigation, lower-case")


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else OUT
    out.mkdir(parents=True, exist_ok=True)
    rec = Recorder()
    try:
        record_tools(rec, out)
        chrome_image = record_chromium(rec, out)
        record_forged(rec, out, chrome_image)
    finally:
        rec.stop()
    convert_captures(out)


if __name__ == "__main__":
    main()
