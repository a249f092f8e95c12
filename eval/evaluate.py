#!/usr/bin/env python3
"""Labelled evaluation: real scrapers and real people through one real Fixative proxy.

Builds the demo site, starts the demo origin and ONE `fixative run` (enforce mode, balanced preset)
on loopback, drives labelled clients through it, then reads the proxy's event log and reports, per
client, how many image fetches got the original. A measurement: exits 0 even when a target is
missed, non-zero only when the harness itself fails. Usage and figures: eval/README.md.

    .venv/bin/python eval/evaluate.py [--quick] [--json OUT] [--seed N] [--keep-events DB]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
import yaml
from requests.adapters import HTTPAdapter

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # reuse the test harness: process runner and Chromium settings

from browser import CHROMIUM, CHROMIUM_ARGS, desktop_user_agent  # noqa: E402
from harness import VENV_BIN, ProxyProcess, free_port  # noqa: E402

from fixative.demo.catalog import gallery_pages, gallery_url, page_of  # noqa: E402
from fixative.demo.site import Work, build_site, list_works  # noqa: E402

SIGNATURES = ROOT.parent / "shared/reference-data/user-agents/curl-impersonate-browser-signatures"
FORGED_SIGNATURE = "chrome_150.0.7871.127_macOS.yaml"  # the newest desktop Chrome capture there
# What Chrome sends for an <img> (Accept from the recorded Chromium fixture minus jxl, which Chrome 150 lacks).
CHROME_IMG_ACCEPT = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"
IMG2DATASET_UA = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:72.0) Gecko/20100101 Firefox/72.0"
MOBILE_UA = ("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
             "Chrome/{major}.0.0.0 Mobile Safari/537.36")
SCRAPER, PERSON = "scraper", "person"
TARGETS = {"scraper_original_share_below": 0.02, "img2dataset_originals": 0,
           "people_original_share": 1.0, "people_image_loads_at_least": 300}
# Every bindable client gets its own loopback source address, so its events are its own.
ADDR = {"curl": "127.0.0.11", "requests": "127.0.0.12", "wget": "127.0.0.13", "curl-forged": "127.0.0.14",
        "curl-forged-pages": "127.0.0.15", "requests-forged": "127.0.0.16", "requests-forged-pages": "127.0.0.17",
        "img2dataset": "127.0.0.21", "img2dataset-ignoring-noai": "127.0.0.22"}
BROWSER_ADDR = "127.0.0.1"  # Chromium cannot bind: told apart by User-Agent and time windows
BLOG_ADDR = "127.0.0.2"     # the hotlinking blog's own origin
# The proxy stamps an event when it handles the request, which can lag the browser under load: a window
# stays open this long after its session closes, and people's sessions are this far apart (and more).
WINDOW_LAG = 1.0
UNSET = "unset: filled in when the client runs"  # a User-Agent no request carries
# Loaded first in img2dataset's (spawned) processes via PYTHONPATH: binds its sockets to a source address.
BIND_SITECUSTOMIZE = '''\
import os, socket
_source = os.environ.get("FIXATIVE_EVAL_SOURCE")
if _source:
    _create = socket.create_connection
    def create_connection(address, timeout=socket._GLOBAL_DEFAULT_TIMEOUT, source_address=None, **kw):
        return _create(address, timeout, source_address or (_source, 0), **kw)
    socket.create_connection = create_connection
'''


@dataclass(frozen=True)
class Plan:
    """How much each kind of person does; --quick shrinks it and speeds the pace up."""

    desktop_sessions: int
    mobile_sessions: int
    blog_visits: int
    galleries: tuple[int, int]        # gallery pages a person looks at (min, max)
    works_per_gallery: tuple[int, int]
    pace: float                       # think time is uniform(0.3, 1.5) s times this
    headless_works: int
    list_step: int                    # list-driven scrapers take every n-th work (decoys cost the proxy CPU)


FULL = Plan(desktop_sessions=6, mobile_sessions=5, blog_visits=3, galleries=(2, 3), works_per_gallery=(2, 3),
            pace=1.0, headless_works=24, list_step=1)
QUICK = Plan(desktop_sessions=1, mobile_sessions=1, blog_visits=1, galleries=(1, 2), works_per_gallery=(2, 2),
             pace=0.5, headless_works=6, list_step=2)


@dataclass
class Client:
    """One labelled client. Its events: source address `ip`, and for browsers (which cannot bind an
    address) also its User-Agent `ua`, or (people, who share theirs) User-Agent + time windows."""

    name: str
    label: str
    what: str
    ip: str
    windows: list[tuple[str, float, float]] | None = None  # (user agent, start, end); None: no windows
    ua: str | None = None
    seen: dict[str, Any] = field(default_factory=dict)     # what the client itself observed
    error: str | None = None

    def owns(self, ip: str, ua: str | None, ts: float) -> bool:
        if ip != self.ip or (self.ua is not None and ua != self.ua):
            return False
        return self.windows is None or any(
            ua == w_ua and start <= ts <= end + WINDOW_LAG for w_ua, start, end in self.windows)

    @contextmanager
    def window(self, ua: str) -> Iterator[None]:
        """Everything from this address with this User-Agent inside the block is this client's."""
        start = time.time()
        try:
            yield
        finally:
            assert self.windows is not None
            self.windows.append((ua, start, time.time()))


@dataclass
class Env:
    tmp: Path
    site: Path
    works: list[Work]        # what list-driven scrapers take (all works, or every n-th with --quick)
    proxy: str
    blog: str
    hashes: dict[str, str]  # URL path -> sha256 of the origin's file
    galleries: int          # gallery pages on the site

    def original(self, path: str, body: bytes) -> bool:
        return self.hashes.get(path) == hashlib.sha256(body).hexdigest()


# ---------------------------------------------------------------- servers

def start_servers(tmp: Path, plan: Plan) -> tuple[Env, list[ProxyProcess], ThreadingHTTPServer]:
    site = build_site(tmp / "site")
    works = list_works()
    origin_port, proxy_port = free_port(), free_port()
    origin = ProxyProcess([str(VENV_BIN / "python"), "-m", "fixative.demo.origin", "--root", str(site),
                           "--port", str(origin_port)], "origin listening on", origin_port)
    proxy = ProxyProcess([str(VENV_BIN / "fixative"), "run", "--upstream", origin.url,
                          "--listen", f"127.0.0.1:{proxy_port}", "--state-dir", str(tmp / "state"),
                          "--mode", "enforce"], "protecting", proxy_port)
    blog_dir = tmp / "blog"
    blog_dir.mkdir()
    for n in range(1, 4):
        (blog_dir / f"post-{n}.html").write_text(blog_post(proxy.url, works, n))
    handler = partial(QuietHandler, directory=str(blog_dir))
    blog = ThreadingHTTPServer((BLOG_ADDR, 0), handler)
    threading.Thread(target=blog.serve_forever, daemon=True).start()
    hashes = {"/" + str(p.relative_to(site)): hashlib.sha256(p.read_bytes()).hexdigest()
              for p in (site / "images").rglob("*") if p.is_file()}
    blog_url = f"http://{BLOG_ADDR}:{blog.server_address[1]}"
    env = Env(tmp, site, works[:: plan.list_step], proxy.url, blog_url, hashes, len(gallery_pages(works)))
    return env, [proxy, origin], blog


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def blog_post(proxy: str, works: list[Work], n: int) -> str:
    """Someone else's blog post embedding the artist's images straight from the artist's site."""
    rng = random.Random(f"blog-{n}")
    picks = rng.sample(works, 10)
    figures = []
    for i, w in enumerate(picks):
        src, width = (w.full_url, 640) if i < 3 else (w.thumb_url, 300)
        figures.append(f'<figure><a href="{proxy}{w.page_url}"><img src="{proxy}{src}" width="{width}" '
                       f'style="max-width:100%;height:auto" alt="{w.title}"></a>'
                       f'<figcaption>{w.title}</figcaption></figure>')
    return ("<!doctype html><html lang=en><head><meta charset=utf-8><title>Studio trail, part "
            f"{n}</title></head><body><h1>Studio trail, part {n}</h1><p>Paintings I loved this week, "
            "straight from the artist's site.</p>" + "\n".join(figures) + "</body></html>")


# ---------------------------------------------------------------- scrapers: command-line tools and libraries

class SourceAddressAdapter(HTTPAdapter):
    """requests from a chosen local address."""

    def __init__(self, ip: str):
        self.ip = ip
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["source_address"] = (self.ip, 0)
        super().init_poolmanager(*args, **kwargs)


def requests_session(ip: str, headers: dict[str, str] | None = None) -> requests.Session:
    s = requests.Session()
    s.mount("http://", SourceAddressAdapter(ip))
    if headers is not None:
        s.headers.clear()
        s.headers.update(headers)
    return s


def forged_chrome_headers() -> dict[str, str]:
    """Chrome's navigation header set, copied from a curl-impersonate capture (names as sent over HTTP/1.1)."""
    doc = yaml.safe_load((SIGNATURES / FORGED_SIGNATURE).read_text())
    frame = next(f for f in doc["signature"]["http2"]["frames"] if f["frame_type"] == "HEADERS")
    headers = {"Connection": "keep-alive"}
    for line in frame["headers"]:
        name, _, value = line.partition(": ")
        if name != "priority":  # HTTP/2 only
            # HTTP/1.1 Chrome writes client hints in lower case and the rest capitalised
            title = "-".join(p.capitalize() for p in name.split("-"))
            headers[name if name.startswith("sec-ch-") else title] = value
    return headers


def forged_image_headers(nav: dict[str, str], referer: str) -> dict[str, str]:
    """What the same Chrome sends for an <img> on a page of the site: a careful liar."""
    keep = ("Connection", "sec-ch-ua-platform", "User-Agent", "sec-ch-ua", "sec-ch-ua-mobile")
    headers = {k: nav[k] for k in keep if k in nav}
    headers.update({"Accept": CHROME_IMG_ACCEPT, "Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "no-cors",
                    "Sec-Fetch-Dest": "image", "Referer": referer,
                    "Accept-Encoding": nav.get("Accept-Encoding", "gzip, deflate, br, zstd"),
                    "Accept-Language": nav.get("Accept-Language", "en-US,en;q=0.9")})
    return headers


SEEN_LOCK = threading.Lock()  # one client (shared links) is driven from two browser threads


def note_image(seen: dict[str, Any], result: str) -> None:
    """Count one image response the client received: identical_to_origin, different, or unread."""
    with SEEN_LOCK:
        seen["images"] = seen.get("images", 0) + 1
        seen[result] = seen.get(result, 0) + 1


def outcome(env: Env, path: str, status: int, body: bytes | None) -> str:
    if body is None:
        return "unread"
    return "identical_to_origin" if status == 200 and env.original(path, body) else "different"


def tally(client: Client, env: Env, path: str, status: int, body: bytes) -> None:
    if urlsplit(path).path.startswith("/images/"):
        note_image(client.seen, outcome(env, path, status, body))


def curl(env: Env, client: Client, path: str, headers: dict[str, str] | None = None,
         jar: Path | None = None) -> bytes:
    out = env.tmp / f"curl-{client.name}.out"
    args = ["curl", "-s", "--interface", client.ip, "-o", str(out), "-w", "%{http_code}"]
    for k, v in (headers or {}).items():
        args += ["-H", f"{k}: {v}"]
    if jar is not None:
        args += ["-b", str(jar), "-c", str(jar)]
    done = subprocess.run([*args, env.proxy + path], capture_output=True, text=True, timeout=60, check=True)
    body = out.read_bytes() if out.exists() else b""
    tally(client, env, path, int(done.stdout or 0), body)
    return body


def get(env: Env, client: Client, s: requests.Session, path: str, headers: dict[str, str] | None = None) -> bytes:
    r = s.get(env.proxy + path, headers=headers, timeout=60)
    tally(client, env, path, r.status_code, r.content)
    return r.content


def run_curl(env: Env, c: Client) -> None:
    for w in env.works:
        curl(env, c, w.full_url)


def run_requests(env: Env, c: Client) -> None:
    s = requests_session(c.ip)
    for w in env.works:
        get(env, c, s, w.full_url)
        get(env, c, s, w.thumb_url)


def run_curl_forged(env: Env, c: Client) -> None:
    for w in env.works:
        curl(env, c, w.full_url, forged_chrome_headers())


def run_requests_forged(env: Env, c: Client) -> None:
    s = requests_session(c.ip, forged_chrome_headers())
    for w in env.works:
        get(env, c, s, w.full_url)


def gallery_then_images(env: Env, c: Client, fetch: Callable[[str, dict[str, str]], bytes]) -> None:
    """Read the gallery pages like a browser, then take every full-size image with a Referer."""
    nav = forged_chrome_headers()
    pages = [gallery_url(n) for n in range(1, env.galleries + 1)]
    for i, path in enumerate(pages):
        headers = dict(nav)
        if i:
            headers.update({"Sec-Fetch-Site": "same-origin", "Referer": env.proxy + pages[i - 1]})
        fetch(path, headers)
    for w in env.works:
        fetch(w.full_url, forged_image_headers(nav, env.proxy + gallery_url(page_of(w))))


def run_curl_forged_pages(env: Env, c: Client) -> None:
    jar = env.tmp / "curl-forged-pages.cookies"
    gallery_then_images(env, c, lambda path, headers: curl(env, c, path, headers, jar))


def run_requests_forged_pages(env: Env, c: Client) -> None:
    s = requests_session(c.ip, {})
    gallery_then_images(env, c, lambda path, headers: get(env, c, s, path, headers))


def run_wget(env: Env, c: Client) -> None:
    out = env.tmp / "wget"
    done = subprocess.run(["wget", "-q", "-r", "-l", "3", f"--bind-address={c.ip}", "-P", str(out),
                           env.proxy + gallery_url(1)], capture_output=True, text=True, timeout=180)
    c.seen["exit_code"] = done.returncode  # 8 when some link 404s: normal for a mirror
    files = [p for p in out.rglob("*") if p.is_file() and "/images/" in p.as_posix()]
    for f in files:
        path = "/" + f.relative_to(out).as_posix().split("/", 1)[1]  # drop wget's host:port folder
        note_image(c.seen, outcome(env, path, 200, f.read_bytes()))


def run_img2dataset(env: Env, c: Client, ignore_optout: bool) -> None:
    urls = env.tmp / "urls.txt"
    urls.write_text("".join(f"{env.proxy}{w.full_url}\n" for w in env.works))
    bind = env.tmp / "bind"
    bind.mkdir(exist_ok=True)
    (bind / "sitecustomize.py").write_text(BIND_SITECUSTOMIZE)
    out = env.tmp / c.name
    extra = ["--disallowed_header_directives", "[]"] if ignore_optout else []
    python_path = os.pathsep.join(filter(None, [str(bind), os.environ.get("PYTHONPATH")]))
    done = subprocess.run([str(VENV_BIN / "img2dataset"), "--url_list", str(urls), "--output_folder", str(out),
                           *extra], capture_output=True, text=True, timeout=240,
                          env={**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1", "PYTHONPATH": python_path,
                               "FIXATIVE_EVAL_SOURCE": c.ip, "WANDB_MODE": "disabled"})
    if done.returncode:
        raise RuntimeError(f"img2dataset exited {done.returncode}: {done.stderr[-800:]}")
    stats = json.loads((out / "00000_stats.json").read_text())
    c.seen.update(count=stats["count"], kept=stats["successes"], status=stats["status_dict"])


# ---------------------------------------------------------------- browsers

def watch_images(context: Any, env: Env, seen: dict[str, Any]) -> None:
    """Cross-check from the browser's side: image responses from the artist's site, byte-compared."""

    def on_response(response: Any) -> None:
        path = urlsplit(response.url).path
        if not response.url.startswith(env.proxy + "/images/"):
            return
        try:
            body: bytes | None = response.body()
        except Exception:  # body gone (page navigated away, or a revalidation): counted, not compared
            body = None
        note_image(seen, outcome(env, path, response.status, body))

    context.on("response", on_response)


class Person:
    """One person in one browser session: reads pages, scrolls, clicks, pauses like a person."""

    def __init__(self, page: Any, env: Env, rng: random.Random, plan: Plan, mobile: bool):
        self.page, self.env, self.rng, self.plan, self.mobile = page, env, rng, plan, mobile

    def think(self, low: float = 0.3, high: float = 1.5) -> None:
        self.page.wait_for_timeout(1000 * self.rng.uniform(low, high) * self.plan.pace)

    def scroll_through(self, page: Any | None = None) -> None:
        page = page or self.page
        height = page.evaluate("document.documentElement.scrollHeight")
        y = 0
        while y < height:
            step = self.rng.randint(350, 800)
            page.evaluate(f"window.scrollBy(0, {step})")
            y += step
            self.think(0.15, 0.6)

    def activate(self, locator: Any) -> None:
        locator.scroll_into_view_if_needed()
        self.think(0.2, 0.6)
        # Wait for the navigation the tap starts, not for the current page's load state: after a tap the old
        # page can still be "loaded" for a moment, and reading it then fails once the new one replaces it.
        with self.page.expect_navigation(wait_until="load"):
            locator.tap() if self.mobile else locator.click()
        self.think()

    def back(self) -> None:
        self.page.go_back(wait_until="load")
        self.think()

    def browse(self) -> None:
        """Home page, then a few gallery pages; open some works; sometimes the full-size image."""
        self.page.goto(self.env.proxy + "/", wait_until="load")
        self.think()
        self.scroll_through()
        self.activate(self.page.locator("p.more a"))
        galleries = self.rng.randint(*self.plan.galleries)
        for g in range(galleries):
            self.scroll_through()
            tiles = self.page.locator("section.grid figure a")
            for i in sorted(self.rng.sample(range(tiles.count()), self.rng.randint(*self.plan.works_per_gallery))):
                self.open_work(tiles.nth(i))
            following = self.page.locator('nav.pages a[rel="next"]')
            if g + 1 < galleries and following.count():
                self.activate(following)

    def open_work(self, tile: Any) -> None:
        self.activate(tile)
        self.scroll_through()
        full = self.page.locator("a.full")
        roll = self.rng.random()
        if roll < 0.35:                     # "Open full size" in the same tab, then back
            self.activate(full)
            self.back()
        elif roll < 0.6 and not self.mobile:  # middle-click: the full-size image in a new tab
            with self.page.context.expect_page() as opened:
                full.click(button="middle")
            tab = opened.value
            tab.wait_for_load_state("load")
            self.think()
            tab.close()
        self.back()


def people(env: Env, plan: Plan, mobile: bool, clients: dict[str, Client], seed: int) -> None:
    """All sessions of one device kind, one after another, each in a fresh browser context."""
    from playwright.sync_api import sync_playwright

    rng = random.Random(seed)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        major = browser.version.split(".")[0]
        ua = MOBILE_UA.format(major=major) if mobile else desktop_user_agent(browser.version)
        device: dict[str, Any] = {"viewport": {"width": 1366, "height": 900}}
        if mobile:
            device = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
                      "device_scale_factor": 3}

        def session(client: Client, act: Callable[[Any, Person], None]) -> None:
            """One person, fresh browser profile. A crash is recorded on the client and the run goes on."""
            context = browser.new_context(user_agent=ua, **device)
            watch_images(context, env, client.seen)
            with client.window(ua):
                try:
                    act(context, Person(context.new_page(), env, rng, plan, mobile))
                except Exception as e:
                    traceback.print_exc()
                    client.error = f"{client.error + '; ' if client.error else ''}{type(e).__name__}: {e}"
                finally:
                    context.close()
            client.seen["sessions"] = client.seen.get("sessions", 0) + 1
            time.sleep(WINDOW_LAG + 0.2)  # the next person arrives later: no two windows overlap

        def cold_open(context: Any, person: Person) -> None:  # links pasted into a chat, each in a new tab
            for w in rng.sample(env.works, 2):
                tab = context.new_page()
                tab.goto(env.proxy + w.full_url, wait_until="load")
                person.think()
                tab.close()

        def blog(context: Any, person: Person) -> None:
            person.page.goto(f"{env.blog}/post-{rng.randint(1, 3)}.html", wait_until="load")
            person.scroll_through()
            if rng.random() < 0.7:  # follows one image to the artist's site, then comes back
                person.activate(person.page.locator("figure a").nth(rng.randrange(10)))
                person.back()

        try:
            session(clients["person-shared-link"], cold_open)
            visits = (plan.blog_visits + 1) // 2 if not mobile else plan.blog_visits // 2
            for _ in range(visits):
                session(clients["person-hotlinking-blog"], blog)
            name = "person-mobile" if mobile else "person-desktop"
            for _ in range(plan.mobile_sessions if mobile else plan.desktop_sessions):
                session(clients[name], lambda context, person: person.browse())
        finally:
            browser.close()


def run_headless(env: Env, c: Client, plan: Plan) -> None:
    """Playwright's headless Chromium as shipped (HeadlessChrome in its UA) crawling the whole gallery."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context()
        page = context.new_page()
        c.ua = page.evaluate("navigator.userAgent")  # on about:blank: no request to us yet
        watch_images(context, env, c.seen)
        works: list[str] = []
        for n in range(1, env.galleries + 1):
            page.goto(env.proxy + gallery_url(n), wait_until="load")
            page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
            page.wait_for_load_state("networkidle")
            works += page.eval_on_selector_all("section.grid figure a", "els => els.map(e => e.href)")
        for url in works[: plan.headless_works]:
            page.goto(url, wait_until="load")
        page.wait_for_load_state("networkidle")
        context.close()
        browser.close()


# ---------------------------------------------------------------- the run

def make_clients() -> dict[str, Client]:
    scrapers = [
        Client("img2dataset", SCRAPER, "img2dataset 1.47, defaults (honours X-Robots-Tag noai)", ADDR["img2dataset"]),
        Client("img2dataset-ignoring-noai", SCRAPER, "img2dataset --disallowed_header_directives '[]'",
               ADDR["img2dataset-ignoring-noai"]),
        Client("wget-mirror", SCRAPER, "wget -r -l 3 of the gallery, default UA, robots.txt on", ADDR["wget"]),
        Client("curl", SCRAPER, "curl, default UA, every full-size image", ADDR["curl"]),
        Client("requests", SCRAPER, "python-requests, default UA, every full-size image and thumbnail",
               ADDR["requests"]),
        Client("curl-forged", SCRAPER, "curl with a forged Chrome 150 header set, full-size images only",
               ADDR["curl-forged"]),
        Client("curl-forged-pages", SCRAPER, "curl, forged Chrome headers + cookies: gallery pages, then "
               "full-size images as <img> with Referer", ADDR["curl-forged-pages"]),
        Client("requests-forged", SCRAPER, "python-requests with a forged Chrome 150 header set, full-size only",
               ADDR["requests-forged"]),
        Client("requests-forged-pages", SCRAPER, "python-requests, forged Chrome headers + cookies: gallery "
               "pages, then full-size images as <img> with Referer", ADDR["requests-forged-pages"]),
        Client("headless-chromium", SCRAPER, "Playwright headless Chromium, default UA, crawling every gallery "
               "and work page", BROWSER_ADDR, ua=UNSET),
    ]
    persons = [
        Client("person-desktop", PERSON, "Chromium, desktop UA: home, galleries (scrolling), works, full size, "
               "back, new tabs", BROWSER_ADDR, windows=[]),
        Client("person-mobile", PERSON, "Chromium, Android phone (390x844, touch): the same by tapping",
               BROWSER_ADDR, windows=[]),
        Client("person-shared-link", PERSON, "a full-size image URL opened directly in a new tab (desktop and "
               "mobile, fresh browser)", BROWSER_ADDR, windows=[]),
        Client("person-hotlinking-blog", PERSON, f"reading a blog on {BLOG_ADDR} that embeds the artist's images "
               "(fresh browser), sometimes following one", BROWSER_ADDR, windows=[]),
    ]
    return {c.name: c for c in scrapers + persons}


def guarded(c: Client, fn: Callable[[], None]) -> float:
    """Run one client; a crash is recorded on it (a harness failure, reported with the table). Seconds taken."""
    start = time.monotonic()
    try:
        fn()
    except Exception as e:
        c.error = f"{type(e).__name__}: {e}"
        traceback.print_exc()
    return round(time.monotonic() - start, 1)


def drive(env: Env, plan: Plan, clients: dict[str, Client], seed: int) -> dict[str, float]:
    """People (desktop and mobile in parallel) browse while the scrapers run, as on a real site.

    Returns the seconds each of the four threads took."""
    seconds: dict[str, float] = {}

    def scrapers(name: str, runs: list[tuple[str, Callable[[Env, Client], None]]]) -> None:
        start = time.monotonic()
        for client, fn in runs:
            clients[client].seen["seconds"] = guarded(clients[client], partial(fn, env, clients[client]))
        seconds[name] = round(time.monotonic() - start, 1)

    # Two scraper threads: first-time decoys cost the proxy CPU, so this balances the wait.
    bulk = [("img2dataset-ignoring-noai", partial(run_img2dataset, ignore_optout=True)),
            ("img2dataset", partial(run_img2dataset, ignore_optout=False)),
            ("headless-chromium", partial(run_headless, plan=plan))]
    tools = [("wget-mirror", run_wget), ("curl", run_curl), ("requests", run_requests),
             ("curl-forged", run_curl_forged), ("requests-forged", run_requests_forged),
             ("curl-forged-pages", run_curl_forged_pages), ("requests-forged-pages", run_requests_forged_pages)]

    def device(mobile: bool) -> None:
        def go() -> None:
            people(env, plan, mobile, clients, seed + int(mobile))
        seconds["people-mobile" if mobile else "people-desktop"] = guarded(
            clients["person-mobile" if mobile else "person-desktop"], go)

    jobs = [partial(scrapers, "scrapers-1", bulk), partial(scrapers, "scrapers-2", tools),
            partial(device, False), partial(device, True)]
    threads = [threading.Thread(target=job, daemon=True) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return seconds


def read_events(db: Path) -> list[sqlite3.Row]:
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        return conn.execute("SELECT * FROM events ORDER BY id").fetchall()


def summarise(events: list[sqlite3.Row],
              clients: dict[str, Client]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Per-client figures. An image request the proxy never answered (status NULL: the client went away,
    e.g. a favicon as a tab closed) received nothing, so it is listed apart and not counted."""
    per: dict[str, list[sqlite3.Row]] = {name: [] for name in clients}
    stray = []
    for e in events:
        owner = next((c.name for c in clients.values() if c.owns(e["ip"], e["user_agent"], e["ts"])), None)
        if owner is None:
            stray.append({k: e[k] for k in ("ts", "ip", "user_agent", "path", "kind", "verdict", "treatment")})
        else:
            per[owner].append(e)
    rows = []
    for name, c in clients.items():
        asked = [e for e in per[name] if e["kind"] == "image"]
        images = [e for e in asked if e["status"] is not None]
        originals = [e for e in images if e["treatment"] == "original"]
        wrong = originals if c.label == SCRAPER else [e for e in images if e["treatment"] != "original"]
        scores = [e["score"] for e in images]
        rows.append({
            "client": name, "label": c.label, "what": c.what, "address": c.ip,
            "user_agents": sorted({e["user_agent"] or "" for e in per[name]}),
            "requests": len(per[name]), "image_fetches": len(images), "originals": len(originals),
            "artwork_fetches": sum(e["path"].startswith("/images/") for e in images),  # not favicon.ico
            "artwork_originals": sum(e["path"].startswith("/images/") for e in originals),
            "original_share": len(originals) / len(images) if images else None,
            "verdicts": dict(Counter(e["verdict"] for e in images).most_common()),
            "treatments": dict(Counter(e["treatment"] for e in images).most_common()),
            "statuses": dict(Counter(str(e["status"]) for e in images).most_common()),
            "score_range": [min(scores), max(scores)] if scores else None,
            "rules_on_images": dict(Counter(reason.split(":", 1)[0] for e in images
                                            for reason in json.loads(e["reasons"])).most_common()),
            "unanswered": [{"path": e["path"], "verdict": e["verdict"], "treatment": e["treatment"]}
                           for e in asked if e["status"] is None],
            "client_side": c.seen, "error": c.error,
            "misjudged": [fetch(e) for e in wrong],
            # a person's right answers that came closest to a wrong one: the highest scores
            "closest_calls": [fetch(e) for e in sorted(images, key=lambda e: -e["score"])[:5]
                              if e["score"] > 0 and e not in wrong] if c.label == PERSON else [],
        })
    return rows, stray


def fetch(e: sqlite3.Row) -> dict[str, Any]:
    return {"ts": e["ts"], "client_key": e["client"], "path": e["path"], "verdict": e["verdict"],
            "score": e["score"], "treatment": e["treatment"], "status": e["status"],
            "reasons": json.loads(e["reasons"])}


def totals(rows: list[dict[str, Any]], quick: bool) -> dict[str, Any]:
    def share(label: str, only: str | None = None) -> dict[str, Any]:
        sel = [r for r in rows if r["label"] == label and (only is None or r["client"].startswith(only))]
        n, o = sum(r["image_fetches"] for r in sel), sum(r["originals"] for r in sel)
        return {"image_fetches": n, "originals": o, "original_share": o / n if n else None,
                "artwork_fetches": sum(r["artwork_fetches"] for r in sel),
                "artwork_originals": sum(r["artwork_originals"] for r in sel)}

    scrapers, people_, i2d = share(SCRAPER), share(PERSON), share(SCRAPER, "img2dataset")
    scrapers["target"] = f"< {TARGETS['scraper_original_share_below']:.0%}"
    scrapers["met"] = scrapers["original_share"] is not None and \
        scrapers["original_share"] < TARGETS["scraper_original_share_below"]
    i2d["target"] = "0 originals"
    i2d["met"] = i2d["image_fetches"] > 0 and i2d["originals"] == TARGETS["img2dataset_originals"]
    people_["target"] = f"100% over >= {TARGETS['people_image_loads_at_least']} loads"
    people_["met_share"] = people_["original_share"] == TARGETS["people_original_share"]
    people_["met_count"] = people_["image_fetches"] >= TARGETS["people_image_loads_at_least"]
    people_["met"] = people_["met_share"] and (people_["met_count"] or quick)
    return {"scrapers": scrapers, "img2dataset": i2d, "people": people_}


def pct(x: float | None) -> str:
    return "  n/a" if x is None else f"{100 * x:5.1f}%"


def report(rows: list[dict[str, Any]], tot: dict[str, Any], stray: list[dict[str, Any]], quick: bool) -> None:
    head = (f"{'client':<26} {'label':<7} {'imgs':>5} {'orig':>5} {'%orig':>6}  {'score':>9}  "
            f"{'client saw':<24} verdicts")
    print(head)
    print("-" * len(head))
    for r in rows:
        cs = r["client_side"]
        saw = (f"{cs.get('identical_to_origin', 0)}/{cs['images']} same"
               + (f", {cs['unread']} n/r" if cs.get("unread") else "") if "images" in cs
               else f"kept {cs['kept']}/{cs['count']}" if "kept" in cs else "")
        sr = r["score_range"]
        score = "" if not sr else str(sr[0]) if sr[0] == sr[1] else f"{sr[0]}..{sr[1]}"
        verdicts = ", ".join(f"{k} {v}" for k, v in r["verdicts"].items())
        print(f"{r['client']:<26} {r['label']:<7} {r['image_fetches']:>5} {r['originals']:>5} "
              f"{pct(r['original_share'])}  {score:>9}  {saw:<24} {verdicts}{'  ERROR' if r['error'] else ''}")
    print()
    s, i, p = tot["scrapers"], tot["img2dataset"], tot["people"]
    mark = {True: "PASS", False: "MISS"}
    print(f"scrapers got the original: {s['originals']}/{s['image_fetches']} = {pct(s['original_share']).strip()}"
          f"  (target {s['target']})  {mark[s['met']]}")
    print(f"img2dataset (both modes) got the original: {i['originals']}/{i['image_fetches']}"
          f"  (target {i['target']})  {mark[i['met']]}")
    count_note = "" if p["met_count"] else (" (quick run: fewer loads by design)" if quick else " - too few loads")
    print(f"people got the original: {p['originals']}/{p['image_fetches']} = {pct(p['original_share']).strip()}"
          f"  (target {p['target']}){count_note}  {mark[p['met']]}")
    print(f"  of which artworks under /images/ (the rest is /favicon.ico): "
          f"{p['artwork_originals']}/{p['artwork_fetches']}")
    unanswered = sum(len(r["unanswered"]) for r in rows)
    if unanswered:
        print(f"  ({unanswered} image requests were never answered - the client went away - and are not counted)")
    if stray:
        print(f"  ({len(stray)} events matched no labelled client: "
              f"{', '.join(sorted({e['ip'] + ' ' + e['path'] for e in stray})[:5])})")
    close = [r for r in rows if r["closest_calls"]]
    if close:
        print("\nPeople's closest calls (an original, but with a positive score), the highest of each:")
    for r in close:
        top = r["closest_calls"][0]
        print(f"  {r['client']}: score {top['score']} on {top['path']}: {'; '.join(top['reasons'])}")
    wrong = [r for r in rows if r["misjudged"]]
    if wrong:
        print("\nMisjudged image fetches (scraper got the original, or a person did not), "
              "with the event log's reasons:")
    for r in wrong:
        groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
        for m in r["misjudged"]:  # same verdict and same rules: one group (reason texts carry counters)
            rules = tuple(reason.split(":", 1)[0] for reason in m["reasons"])
            groups.setdefault((m["verdict"], m["treatment"], rules), []).append(m)
        print(f"  {r['client']} ({r['label']}): {len(r['misjudged'])} of {r['image_fetches']}")
        for (verdict, treatment, _), ms in groups.items():
            scores = sorted({m["score"] for m in ms})
            score = str(scores[0]) if len(scores) == 1 else f"{scores[0]}..{scores[-1]}"
            paths = [m["path"] for m in ms]
            print(f"    {len(ms)} x verdict {verdict} (score {score}), got {treatment}: {', '.join(paths[:3])}"
                  f"{' ...' if len(paths) > 3 else ''}")
            for reason in ms[-1]["reasons"] or ["(no rule matched)"]:
                print(f"        {reason}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer sessions and a faster pace (about a minute)")
    parser.add_argument("--json", type=Path, metavar="OUT", help="also write every figure and misjudgement here")
    parser.add_argument("--seed", type=int, default=7, help="seed for the people's choices (default 7)")
    parser.add_argument("--keep-events", type=Path, metavar="DB", help="copy the proxy's events.sqlite3 here")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    started = time.time()
    clients = make_clients()
    with tempfile.TemporaryDirectory(prefix="fixative-eval-") as tmp_name:
        tmp = Path(tmp_name)
        try:
            env, procs, blog = start_servers(tmp, plan)
        except Exception as e:
            print(f"evaluate: could not start the demo origin and proxy: {e}", file=sys.stderr)
            return 2
        proxy = procs[0]
        try:
            print(f"proxy {env.proxy} (enforce, balanced), blog {env.blog}; "
                  f"{'quick' if args.quick else 'full'} run, seed {args.seed}", flush=True)
            seconds = drive(env, plan, clients, args.seed)
            died = proxy.proc.poll() is not None
        finally:
            for proc in procs:
                proc.stop()  # the proxy flushes its event queue on the way out
            blog.shutdown()
        events = read_events(tmp / "state" / "events.sqlite3")
        if args.keep_events:
            shutil.copyfile(tmp / "state" / "events.sqlite3", args.keep_events)
    elapsed = time.time() - started
    rows, stray = summarise(events, clients)
    tot = totals(rows, args.quick)
    print()
    report(rows, tot, stray, args.quick)
    print(f"\n{len(events)} events, {elapsed:.0f} s in all (threads: "
          f"{', '.join(f'{k} {v:.0f} s' for k, v in seconds.items())})")
    failures = [f"{r['client']}: {r['error']}" for r in rows if r["error"]]
    failures += [f"{r['client']}: no image fetch in the event log" for r in rows if not r["image_fetches"]]
    if died:
        failures.append("the proxy died during the run")
    if args.json:
        args.json.write_text(json.dumps({
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "quick": args.quick,
            "seed": args.seed, "duration_s": round(elapsed, 1), "thread_seconds": seconds,
            "plan": asdict(plan), "targets": TARGETS,
            "events": len(events), "unattributed_events": stray, "clients": rows, "totals": tot,
            "harness_failures": failures}, indent=1))
    if failures:
        print("evaluate: the harness failed:\n  " + "\n  ".join(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
