"""End to end: one `fixative run --config` in front of two artists' sites, chosen by Host.

Each site's origin is the demo gallery built for its own artist, counting the requests it gets.
"""

from __future__ import annotations

import asyncio
import io
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from aiohttp import web
from PIL import Image

from fixative.demo.origin import make_app
from fixative.demo.site import build_site, list_works
from harness import VENV_BIN, ProxyProcess, browser_headers, browser_session, free_port

WORK = next(w for w in list_works() if w.fmt == "jpeg")
ARTISTS = {"a": "Mara Ilves", "b": "Joss Okafor"}
HOSTS = {"a": "a.localhost", "b": "gallery-b.example"}


class CountingOrigin:
    """The demo origin for one artist, in a thread, noting each request's path and Host."""

    def __init__(self, root: Path):
        self.seen: list[tuple[str, str]] = []

        @web.middleware
        async def note(request: web.Request, handler):  # type: ignore[no-untyped-def]
            self.seen.append((request.path, request.headers.get("Host", "")))
            return await handler(request)

        app = make_app(root)
        app.middlewares.append(note)
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self.runner = web.AppRunner(app)

        async def start() -> int:
            await self.runner.setup()
            site = web.TCPSite(self.runner, "127.0.0.1", 0)
            await site.start()
            return int(self.runner.addresses[0][1])

        self.port = asyncio.run_coroutine_threadsafe(start(), self.loop).result(15)
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(15)
        self.loop.call_soon_threadsafe(self.loop.stop)


@pytest.fixture(scope="module")
def roots(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return {name: build_site(tmp_path_factory.mktemp(f"site-{name}"), artist=artist)
            for name, artist in ARTISTS.items()}


@pytest.fixture(scope="module")
def origins(roots: dict[str, Path]) -> Iterator[dict[str, CountingOrigin]]:
    servers = {name: CountingOrigin(root) for name, root in roots.items()}
    yield servers
    for server in servers.values():
        server.stop()


@pytest.fixture(scope="module")
def multi(origins: dict[str, CountingOrigin], tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    state = tmp_path_factory.mktemp("state-sites")
    config = state.parent / "sites.yaml"
    config.write_text(f"""\
mode: enforce
sites:
  - name: a
    hosts: [{HOSTS['a']}]
    upstream: {origins['a'].url}
    artist: {ARTISTS['a']}
  - name: b
    hosts: ['{HOSTS['b'].upper()}']
    upstream: {origins['b'].url}
    artist: {ARTISTS['b']}
    policy: {{scraper: {{image: block}}}}
unknown_host: {{status: 421, message: "No gallery by that name here."}}
""", encoding="utf-8")
    port, admin = free_port(), free_port()
    proc = ProxyProcess([str(VENV_BIN / "fixative"), "run", "--config", str(config), "--listen",
                         f"127.0.0.1:{port}", "--state-dir", str(state), "--admin", f"127.0.0.1:{admin}"],
                        "protecting", port)
    proc.state = state  # type: ignore[attr-defined]
    proc.admin = f"http://127.0.0.1:{admin}"  # type: ignore[attr-defined]
    yield proc
    proc.stop()


def get(proxy: ProxyProcess, site: str, path: str, **headers: str) -> requests.Response:
    return requests.get(proxy.url + path, headers={"Host": HOSTS[site], **headers}, timeout=30)


def curl(proxy: ProxyProcess, host: str, path: str, out: Path) -> tuple[int, bytes]:
    code = subprocess.run(["curl", "-sS", "-o", str(out), "-w", "%{http_code}", "-H", f"Host: {host}",
                           proxy.url + path], check=True, capture_output=True, text=True).stdout
    return int(code), out.read_bytes()


def xmp_of(data: bytes) -> str:
    img = Image.open(io.BytesIO(data))
    xmp = img.info.get("xmp", b"")
    return xmp.decode("utf-8") if isinstance(xmp, bytes) else str(xmp)


@pytest.mark.parametrize("site", ["a", "b"])
def test_people_get_each_site_from_its_own_origin(multi, roots, origins, site):
    s = browser_session()
    base = multi.url
    page = s.get(base + WORK.page_url, headers={"Host": HOSTS[site], **browser_headers("page")}, timeout=30)
    assert page.status_code == 200 and ARTISTS[site] in page.text
    assert page.content == (roots[site] / WORK.page_url.lstrip("/")).read_bytes()
    image = s.get(base + WORK.full_url, timeout=30,
                  headers={"Host": HOSTS[site], **browser_headers("image", referer=base + WORK.page_url)})
    assert image.status_code == 200
    assert image.content == (roots[site] / WORK.full_url.lstrip("/")).read_bytes()
    assert WORK.full_url in [path for path, _ in origins[site].seen]
    other = "b" if site == "a" else "a"
    assert all(HOSTS[site] not in host for _, host in origins[other].seen)


def test_curl_gets_a_decoy_with_site_a_artist(multi, roots, tmp_path):
    status, data = curl(multi, HOSTS["a"], WORK.full_url, tmp_path / "a.jpg")
    assert status == 200 and data != (roots["a"] / WORK.full_url.lstrip("/")).read_bytes()
    img = Image.open(io.BytesIO(data))
    assert img.format == "JPEG" and img.size == (WORK.width, WORK.height)
    assert ARTISTS["a"] in xmp_of(data) and ARTISTS["b"] not in xmp_of(data)


def test_curl_is_blocked_on_site_b_by_its_own_policy(multi, tmp_path):
    status, data = curl(multi, HOSTS["b"], WORK.full_url, tmp_path / "b.jpg")
    assert status == 403 and b"not available to automated clients" in data


def test_watermark_on_site_b_carries_its_artist(multi, roots):
    """A suspect (a browser User-Agent without a browser's other headers) gets site b's watermark."""
    r = get(multi, "b", WORK.full_url, **{"User-Agent": browser_headers()["User-Agent"]})
    assert r.status_code == 200, r.text
    assert r.content != (roots["b"] / WORK.full_url.lstrip("/")).read_bytes()
    assert ARTISTS["b"] in xmp_of(r.content) and ARTISTS["a"] not in xmp_of(r.content)


def test_unknown_host_gets_the_configured_answer_and_reaches_no_origin(multi, origins, tmp_path):
    before = {name: len(o.seen) for name, o in origins.items()}
    for host in ("other.example", "127.0.0.1", "a.localhost.evil.example"):
        status, data = curl(multi, host, "/secret-path-xyz", tmp_path / "x")
        assert (status, data) == (421, b"No gallery by that name here.\n")
    r = requests.get(multi.url + "/", headers={"Host": "nowhere.example"}, timeout=30)
    assert r.status_code == 421 and r.headers["Cache-Control"] == "private, no-store"
    assert {name: len(o.seen) for name, o in origins.items()} == before
    assert not any("secret-path-xyz" in path for o in origins.values() for path, _ in o.seen)


def _rows(multi, paths: set[str]) -> list[tuple[str | None, str | None, str, str]]:
    """The event log's rows once those for `paths` are in (written within a second of the response)."""
    deadline = time.monotonic() + 10
    while True:
        with sqlite3.connect(multi.state / "events.sqlite3") as conn:
            rows = conn.execute("SELECT site, host, path, treatment FROM events").fetchall()
        if paths <= {r[2] for r in rows} or time.monotonic() > deadline:
            return rows
        time.sleep(0.2)


def test_event_log_rows_carry_the_site(multi, tmp_path):
    curl(multi, HOSTS["a"], "/events-a", tmp_path / "1")
    curl(multi, HOSTS["b"], "/events-b", tmp_path / "2")
    curl(multi, "stranger.example", "/events-none", tmp_path / "3")
    rows = _rows(multi, {"/events-a", "/events-b", "/events-none"})
    by_path = {path: (site, host, treatment) for site, host, path, treatment in rows}
    assert by_path["/events-a"][:2] == ("a", HOSTS["a"])
    assert by_path["/events-b"][:2] == ("b", HOSTS["b"])
    assert by_path["/events-none"] == ("-", "stranger.example", "misdirected")


def test_admin_api_counts_per_site(multi, tmp_path):
    for i in range(3):
        curl(multi, HOSTS["a"], f"/stats-a-{i}", tmp_path / "a")
    curl(multi, HOSTS["b"], "/stats-b-0", tmp_path / "b")
    curl(multi, "stranger.example", "/stats-none", tmp_path / "n")
    _rows(multi, {"/stats-a-2", "/stats-b-0", "/stats-none"})
    auth = {"Authorization": f"Bearer {(multi.state / 'admin-token').read_text().strip()}"}

    def api(path: str, **params: str) -> requests.Response:
        return requests.get(multi.admin + path, params=params, headers=auth, timeout=30)

    with sqlite3.connect(multi.state / "events.sqlite3") as conn:
        expected = dict(conn.execute("SELECT site, COUNT(*) FROM events GROUP BY site").fetchall())
    totals = {site: api("/api/stats", site=site).json()["total"] for site in ("a", "b", "-")}
    assert totals == {site: expected[site] for site in ("a", "b", "-")}
    assert totals["a"] >= 3 and totals["b"] >= 1 and totals["-"] >= 1
    assert api("/api/stats").json()["total"] == sum(expected.values())
    events = api("/api/events", site="b", limit="500").json()["events"]
    assert events and {e["site"] for e in events} == {"b"} and "/stats-b-0" in {e["path"] for e in events}
    bad = api("/api/stats", site="c")
    assert bad.status_code == 404 and bad.json()["field"] == "site"
    status = api("/api/status").json()
    assert [(s["name"], s["hosts"], s["artist"]) for s in status["hosted_sites"]] == [
        ("a", [HOSTS["a"]], ARTISTS["a"]), ("b", [HOSTS["b"]], ARTISTS["b"])]
    assert all(s["health"]["ok"] and s["health"]["status"] == 200 for s in status["hosted_sites"])
    assert [s["health"]["url"] for s in status["hosted_sites"]] == [s["upstream"] for s in status["hosted_sites"]]
