"""A realistic synthetic access log of the demo gallery, for `fixative replay` benchmarks.

Visits by people (browsers from residential addresses: a page, its stylesheet and thumbnails with
the page as Referer, then works and their full-size images, with pauses), search engines from their
published ranges, declared AI crawlers, download tools (curl, wget mirrors, python-requests,
img2dataset, Scrapy), a forged-Chrome scraper rotating cloud addresses, link previews, vulnerability
scanners, and a few lines that are not log lines at all. Lines are written in time order in nginx's
combined format, deterministic for a seed.

    .venv/bin/python bench/replay_log.py OUT.log[.gz] [--lines 1000000] [--seed 7]
"""

from __future__ import annotations

import argparse
import gzip
import heapq
import random
import time
from collections.abc import Iterator
from pathlib import Path

from fixative.demo.catalog import gallery_pages, gallery_url, list_works
from fixative.network import shipped_database

WORKS = list_works()
NETWORKS = shipped_database()
GALLERIES = [gallery_url(n) for n in range(1, len(gallery_pages(WORKS)) + 1)]
PAGES = ["/", *GALLERIES, *(w.page_url for w in WORKS), "/about.html", "/contact.html"]
BY_PAGE = {w.page_url: w for w in WORKS}
SITE = "https://mara-ilves.example"
START = 1_793_491_200.0  # 2026-11-01 00:00:00 UTC

BROWSERS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
]
AI_CRAWLERS = [  # (User-Agent, address prefix)
    ("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)", "20.171.207."),
    ("CCBot/2.0 (https://commoncrawl.org/faq/)", "18.97.9."),
    ("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0; +claudebot@anthropic.com)", "34.162.27."),
    ("Mozilla/5.0 (Linux; Android 5.0) AppleWebKit/537.36 (KHTML, like Gecko) Mobile Safari/537.36 (compatible; Bytespider; spider-feedback@bytedance.com)", "47.128.21."),
]
SEARCH = [("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "66.249.66."),
          ("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", "40.77.167.")]
TOOLS = ["curl/8.7.1", "Wget/1.21.3", "python-requests/2.32.3", "Scrapy/2.11.2 (+https://scrapy.org)",
         "Python-urllib/3.11", "Go-http-client/1.1", "okhttp/4.12.0"]
PREVIEWS = ["facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
            "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", "Twitterbot/1.0"]
CLOUD = ["88.198.", "51.68.", "167.99.", "52.20.", "3.90.", "5.9."]
PROBES = ["/wp-login.php", "/.env", "/xmlrpc.php", "/admin/", "/.git/config", "/phpmyadmin/"]
GARBAGE = ['\\x16\\x03\\x01\\x02\\x00\\x01\\x00\\x01\\xfc\\x03\\x03', "-", "GET /?%s HTTP/1.1 extra words"]

Event = tuple[float, str, str, str, int, int, str, str]  # time, ip, method, path, status, size, referer, ua


def home_address(rnd: random.Random) -> str:
    """An address of an ordinary (not hosting, VPN or cloud) network, as the shipped table knows them."""
    while True:
        ip = f"{rnd.choice((81, 86, 90, 2, 78, 92, 109))}.{rnd.randrange(256)}.{rnd.randrange(256)}.{rnd.randrange(1, 255)}"
        info = NETWORKS.lookup(ip)
        if info is None or info.category is None:
            return ip


def person(rnd: random.Random, t: float) -> Iterator[Event]:
    """A person: a landing page with its assets, then a few works and some full-size images."""
    ip = home_address(rnd)
    ua = rnd.choice(BROWSERS)
    referer = rnd.choice(("-", "https://www.google.com/", "https://www.instagram.com/", "-"))
    page = rnd.choice(["/", *GALLERIES])
    for _ in range(rnd.randint(1, 8)):
        yield t, ip, "GET", page, 200, rnd.randint(3000, 9000), referer, ua
        here = SITE + page
        yield t + 0.2, ip, "GET", "/style.css", rnd.choice((200, 304)), 1800, here, ua
        if page == "/" or page in GALLERIES:
            for n, work in enumerate(rnd.sample(WORKS, 8)):
                yield t + 0.3 + n * 0.05, ip, "GET", work.thumb_url, rnd.choice((200, 200, 304)), 22000, here, ua
            nxt = rnd.choice(WORKS).page_url
        else:
            work = BY_PAGE.get(page)
            if work is not None:
                yield t + 0.3, ip, "GET", work.full_url, 200, 480000, here, ua
            nxt = rnd.choice(PAGES)
        t += rnd.uniform(4, 90)
        referer, page = here, nxt


def crawler(rnd: random.Random, t: float, ua: str, prefix: str, pause: float, images: bool) -> Iterator[Event]:
    """A crawler: robots.txt, then pages (and their images) at its own pace."""
    ip = prefix + str(rnd.randrange(1, 255))
    yield t, ip, "GET", "/robots.txt", 200, 420, "-", ua
    for page in rnd.sample(PAGES, rnd.randint(5, len(PAGES))):
        t += rnd.uniform(pause / 2, pause * 1.5)
        yield t, ip, "GET", page, 200, 6000, "-", ua
        if images:
            for work in rnd.sample(WORKS, 4):
                t += rnd.uniform(0.05, pause)
                yield t, ip, "GET", work.full_url, 200, 480000, "-", ua


def tool(rnd: random.Random, t: float) -> Iterator[Event]:
    """A download tool or script taking every image, from home or a cloud server."""
    ua = rnd.choice(TOOLS)
    ip = rnd.choice(CLOUD) + f"{rnd.randrange(256)}.{rnd.randrange(1, 255)}"
    if ua.startswith("Wget"):
        yield t, ip, "GET", "/robots.txt", 200, 420, "-", ua
    for work in rnd.sample(WORKS, rnd.randint(6, len(WORKS))):
        t += rnd.uniform(0.05, 0.6)
        yield t, ip, "GET", work.full_url, 200, 480000, "-", ua


def stealth(rnd: random.Random, t: float) -> Iterator[Event]:
    """A scraper posing as Chrome, a few images per cloud address, never a page."""
    ua = BROWSERS[0]
    for _ in range(rnd.randint(3, 12)):
        ip = rnd.choice(CLOUD) + f"{rnd.randrange(256)}.{rnd.randrange(1, 255)}"
        for work in rnd.sample(WORKS, 5):
            t += rnd.uniform(0.2, 2.0)
            yield t, ip, "GET", work.full_url, 200, 480000, "-", ua


def other(rnd: random.Random, t: float) -> Iterator[Event]:
    """Link previews and vulnerability scanners."""
    if rnd.random() < 0.5:
        ip = f"31.13.{rnd.randrange(64, 128)}.{rnd.randrange(1, 255)}"
        yield t, ip, "GET", rnd.choice(PAGES), 200, 6000, "-", rnd.choice(PREVIEWS)
        yield t + 0.5, ip, "GET", rnd.choice(WORKS).full_url, 200, 480000, "-", rnd.choice(PREVIEWS)
        return
    ip = rnd.choice(CLOUD) + f"{rnd.randrange(256)}.{rnd.randrange(1, 255)}"
    ua = rnd.choice((BROWSERS[2], "-", "Mozilla/5.0 zgrab/0.x"))
    for path in PROBES:
        t += rnd.uniform(0.1, 1)
        yield t, ip, "GET", path, 404, 150, "-", ua


def visits(rnd: random.Random, t: float) -> Iterator[Event]:
    """One visit of someone or something, chosen by how often each comes."""
    pick = rnd.random()
    if pick < 0.70:
        return person(rnd, t)
    if pick < 0.76:
        ua, prefix = rnd.choice(SEARCH)
        return crawler(rnd, t, ua, prefix, 20.0, images=False)
    if pick < 0.82:
        ua, prefix = rnd.choice(AI_CRAWLERS)
        return crawler(rnd, t, ua, prefix, 2.0, images=True)
    if pick < 0.90:
        return tool(rnd, t)
    if pick < 0.94:
        return stealth(rnd, t)
    return other(rnd, t)


def combined_line(event: Event) -> str:
    t, ip, method, path, status, size, referer, ua = event
    stamp = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(t))
    return f'{ip} - - [{stamp}] "{method} {path} HTTP/1.1" {status} {size} "{referer}" "{ua}"\n'


def generate(lines: int, seed: int = 7) -> Iterator[str]:
    """`lines` log lines in time order: visits start over the day and interleave as they would."""
    rnd = random.Random(seed)
    heap: list[tuple[float, int, Event, Iterator[Event]]] = []
    started = 0
    rate = lines / 86400 / 14  # visits per second, about 14 lines a visit
    next_visit = START
    made = 0
    while made < lines:
        if not heap or next_visit <= heap[0][0]:
            gen = visits(rnd, next_visit)
            first = next(gen, None)
            if first is not None:
                heapq.heappush(heap, (first[0], started, first, gen))
                started += 1
            next_visit += rnd.expovariate(rate)
            continue
        _, order, event, gen = heapq.heappop(heap)
        if rnd.random() < 2e-5:
            made += 1
            yield (f'{event[1]} - - [{time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(event[0]))}] '
                   f'"{rnd.choice(GARBAGE)}" 400 0 "-" "-"\n') if rnd.random() < 0.7 else "\x00\x01 not a log line\n"
            if made >= lines:
                break
        yield combined_line(event)
        made += 1
        following = next(gen, None)
        if following is not None:
            heapq.heappush(heap, (max(following[0], event[0]), order, following, gen))


def write_log(path: Path, lines: int, seed: int = 7) -> Path:
    """Write the log (gzip if the name ends .gz) and return its path."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", encoding="utf-8") as out:  # type: ignore[operator]
        out.writelines(generate(lines, seed))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    started = time.perf_counter()
    write_log(args.out, args.lines, args.seed)
    print(f"wrote {args.lines:,} lines to {args.out} in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
