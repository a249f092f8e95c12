"""Soak: people and scrapers mixed at a fixed rate for a while; memory, errors and latency over time.

Starts the demo origin and `fixative run`, then sends `--rate` requests a second (open loop: a
request starts on schedule whether or not earlier ones finished), each on its own connection from
its client's own 127.x address. Half the requests are people (200 of them, Chrome's headers, each
keeping the fx_session cookie its first page gave it: a gallery page, three of its thumbnails, a
work's page, its full-size image), half scrapers (200 addresses, curl fetching thumbnails and
full-size images one after another). Every --every seconds it prints the proxy's resident memory,
requests, errors and p50/p95/p99 latency of people and of scrapers; at the end a summary, and whether RSS was flat after warm-up (the last third's mean within
10 % of the middle third's). A scraper given a block because the render pool was full (403) is counted apart, not as an error.
Exits 1 on any error or if RSS was not flat.

    .venv/bin/python bench/soak.py [--minutes 10] [--rate 40] [--every 30] [--config fixative.yaml]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fixative.demo.catalog import gallery_url  # noqa: E402
from proxy_throughput import (cpu_seconds, image_headers, machine_busy_seconds, page_headers,  # noqa: E402
                              scraper_headers)
from stack import HOST, Stack, exchange, raw_request, start_stack  # noqa: E402

PEOPLE = 200
SCRAPERS = 200


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1) + 0.5))]


class Traffic:
    """The request stream: request n is person or scraper n % 2's next step."""

    def __init__(self, port: int):
        from fixative.demo.catalog import gallery_pages, list_works

        self.authority = f"{HOST}:{port}"
        self.works = list_works()
        self.pages = gallery_pages(self.works)
        self.cookies: dict[int, str] = {}
        self.step: Counter[int] = Counter()

    def person(self, k: int) -> tuple[str, bytes, str]:
        """Person k's next request, as a browser browses: a gallery page, three of the thumbnails it
        shows (Referer: that page), one work's page, its full-size image (Referer: the work page); again.
        Each request is a new connection (as from a browser's pool), with a browser's headers."""
        step = self.step[k]
        self.step[k] += 1
        cookie = self.cookies.get(k)
        number = 1 + (k + step // 6) % len(self.pages)
        shown = self.pages[number - 1]
        work = shown[(k + step // 6) % len(shown)]
        phase = step % 6
        if phase == 0 or cookie is None:
            path, headers = gallery_url(number), page_headers(self.authority, cookie)
        elif phase < 4:
            path = shown[(k + phase) % len(shown)].thumb_url
            headers = image_headers(self.authority, gallery_url(number), cookie)
        elif phase == 4:
            path, headers = work.page_url, page_headers(self.authority, cookie)
        else:
            path, headers = work.full_url, image_headers(self.authority, work.page_url, cookie)
        return f"127.2.{k // 250}.{k % 250 + 1}", raw_request(path, headers), "person"

    def scraper(self, k: int) -> tuple[str, bytes, str]:
        step = self.step[-1 - k]
        self.step[-1 - k] += 1
        work = self.works[(k + step) % len(self.works)]
        path = work.full_url if step % 3 == 0 else work.thumb_url
        address = f"127.3.{k // 250}.{k % 250 + 1}"
        return address, raw_request(path, [*scraper_headers(self.authority), ("Connection", "close")]), "scraper"

    def next(self, n: int) -> tuple[int, str, bytes, str]:
        k = (n // 2) % (PEOPLE if n % 2 == 0 else SCRAPERS)
        return (k, *(self.person(k) if n % 2 == 0 else self.scraper(k)))


async def soak(stack: Stack, minutes: float, rate: float, every: float) -> dict[str, object]:
    traffic = Traffic(stack.port)
    window: dict[str, list[float]] = {"person": [], "scraper": []}
    everything: dict[str, list[float]] = {"person": [], "scraper": []}
    errors: Counter[str] = Counter()
    blocked: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    rss: list[tuple[float, float]] = []
    tasks: set[asyncio.Task[None]] = set()

    async def one(k: int, address: str, request: bytes, who: str) -> None:
        try:
            status, headers, _, seconds = await exchange(stack.port, request, address)
        except (OSError, ValueError, IndexError, asyncio.IncompleteReadError, asyncio.TimeoutError) as e:
            errors[f"{who} {type(e).__name__}"] += 1
            return
        if status == 403 and who == "scraper":
            blocked["scraper 403"] += 1  # a block instead of a decoy: the render pool was busy (by design)
            return
        if status != 200:
            errors[f"{who} {status}"] += 1
            return
        if who == "person" and "set-cookie" in headers and k not in traffic.cookies:
            traffic.cookies[k] = headers["set-cookie"].split(";", 1)[0]
        kinds[who] += 1
        window[who].append(seconds)
        everything[who].append(seconds)

    loop = asyncio.get_running_loop()
    t0 = loop.time()
    end = t0 + minutes * 60
    next_report = t0 + every
    n = 0
    print(f"{'':26}{'people (ms)':^23} {'scrapers (ms)':^23}  {'CPU % of a core':^16}\n"
          f"{'time':>5} {'RSS MB':>7} {'done':>5} {'err':>5}  {'p50':>7}{'p95':>8}{'p99':>8}  {'p50':>7}{'p95':>8}{'p99':>8}"
          f"  {'proxy':>6} {'others':>7}", flush=True)
    pid = stack.proxy.popen.pid
    cpu = (loop.time(), cpu_seconds(pid), machine_busy_seconds())
    while True:
        now = loop.time()
        due = t0 + n / rate
        if now >= next_report or due >= end:
            rss.append((now - t0, stack.rss_mb()))
            now_cpu = (now, cpu_seconds(pid), machine_busy_seconds())
            wall = max(1e-6, now_cpu[0] - cpu[0])
            proxy_pct = 100 * (now_cpu[1] - cpu[1]) / wall
            others_pct = 100 * (now_cpu[2] - cpu[2]) / wall - proxy_pct  # incl. the origin and this script
            cpu = now_cpu
            print(f"{now - t0:5.0f} {rss[-1][1]:7.1f} {sum(map(len, window.values())):5d} "
                  f"{sum(errors.values()):5d}  {spread(window['person'])}  {spread(window['scraper'])}"
                  f"  {proxy_pct:6.0f} {others_pct:7.0f}", flush=True)
            for values in window.values():
                values.clear()
            next_report += every
        if due >= end:
            break
        if due > now:
            await asyncio.sleep(min(due, next_report) - now)
            continue
        task = asyncio.create_task(one(*traffic.next(n)))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        n += 1
    if tasks:
        await asyncio.wait(tasks, timeout=60)
    return {"sent": n, "ok": dict(kinds), "errors": dict(errors), "blocked": dict(blocked), "latencies": everything, "rss": rss,
            "seconds": loop.time() - t0}


def spread(values: list[float]) -> str:
    return f"{percentile(values, .5):7.1f}{percentile(values, .95):8.1f}{percentile(values, .99):8.1f}"


def flat(rss: list[tuple[float, float]], tolerance: float = 0.10) -> tuple[bool, float, float]:
    """Last third's mean RSS against the middle third's (the first third is warm-up)."""
    values = [v for _, v in rss]
    third = max(1, len(values) // 3)
    middle, last = values[third:2 * third] or values, values[2 * third:] or values
    m, l_ = sum(middle) / len(middle), sum(last) / len(last)
    return abs(l_ - m) <= tolerance * m, m, l_


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=10)
    p.add_argument("--rate", type=float, default=40, help="requests per second (default 40)")
    p.add_argument("--every", type=float, default=30, help="seconds between reports (default 30)")
    p.add_argument("--config", type=Path, help="a Fixative config file for the proxy (default: none)")
    args = p.parse_args(argv)
    stack = start_stack(args.config.read_text() if args.config else "")
    try:
        print(f"fixative pid {stack.proxy.popen.pid}, RSS {stack.rss_mb():.1f} MB at start; {args.rate:g} req/s "
              f"for {args.minutes:g} min, people and scrapers alternating", flush=True)
        result = asyncio.run(soak(stack, args.minutes, args.rate, args.every))
        alive = stack.proxy.popen.poll() is None
        metrics = stack.metrics() if alive else {}
    finally:
        stack.stop()
    lat = result["latencies"]
    assert isinstance(lat, dict)
    is_flat, middle, last = flat(result["rss"])  # type: ignore[arg-type]
    errors = sum(result["errors"].values())  # type: ignore[union-attr]
    print(f"summary: {result['sent']} requests sent in {result['seconds']:.0f} s "
          f"({result['sent'] / result['seconds']:.1f}/s), answered 200: {result['ok']}, "
          f"scrapers blocked (render pool busy): {result['blocked'] or 0}, errors: {errors} {result['errors'] or ''}")
    for who, values in lat.items():
        print(f"latency, {who}s: p50 {percentile(values, .5):.1f} ms, p95 {percentile(values, .95):.1f} ms, "
              f"p99 {percentile(values, .99):.1f} ms, max {percentile(values, 1):.1f} ms")
    print(f"RSS: middle third mean {middle:.1f} MB, last third mean {last:.1f} MB "
          f"({100 * (last - middle) / middle:+.1f} %): {'flat' if is_flat else 'NOT flat'}; "
          f"min {min(v for _, v in result['rss']):.1f}, max {max(v for _, v in result['rss']):.1f} MB")  # type: ignore[union-attr]
    print(f"proxy alive at the end: {alive}; tracked clients {metrics.get('fixative_clients_tracked', 0):.0f}, "
          f"events written {metrics.get('fixative_events_written_total', 0):.0f}, "
          f"dropped {metrics.get('fixative_events_dropped_total', 0):.0f}, "
          f"render failures (timeouts, overload) {metrics.get('fixative_render_failures_total', 0):.0f}")
    ok = alive and errors == 0 and is_flat
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
