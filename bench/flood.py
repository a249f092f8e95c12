"""Address-rotation flood: N distinct clients, each from its own 127.x.y.z address, one request each.

Starts the demo origin and `fixative run` (with its admin backend), then opens N new connections
from N different loopback addresses, `--concurrency` at a time: half are curl fetching a thumbnail
(scrapers, decoys), half Chrome opening a gallery page (people, a session cookie each). Prints the
proxy's resident memory every 10 s, and at the end: RSS before/peak/after, the tracked-clients gauge
against the store's cap, statuses and errors. Exits 1 if the store exceeded its cap or any request
failed.

    .venv/bin/python bench/flood.py [--clients 100000] [--concurrency 48] [--max-clients N --max-mb M]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from proxy_throughput import page_headers, scraper_headers  # noqa: E402
from stack import HOST, Stack, client_address, exchange, raw_request, start_stack  # noqa: E402

APPROX_ENTRY_BYTES = 12_000  # fixative.behaviour.store: the byte cap counts entries at this size


def flood_requests(port: int, thumb: str, page: str) -> list[bytes]:
    authority = f"{HOST}:{port}"
    return [raw_request(thumb, [*scraper_headers(authority), ("Connection", "close")]),
            raw_request(page, [*page_headers(authority, None)[:1], *page_headers(authority, None)[2:],
                               ("Connection", "close")])]


async def flood(port: int, clients: int, concurrency: int, requests: list[bytes], first: int = 0,
                progress=None) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """Client i (first <= i < first + clients) sends requests[i % len(requests)] from client_address(i)."""
    statuses: Counter[str] = Counter()
    latencies: list[float] = []
    next_client = first
    end = first + clients

    async def worker() -> None:
        nonlocal next_client
        while next_client < end:
            i = next_client
            next_client += 1
            try:
                status, _, _, seconds = await exchange(port, requests[i % len(requests)], client_address(i))
                statuses[str(status)] += 1
                latencies.append(seconds)
            except (OSError, ValueError, IndexError, asyncio.IncompleteReadError, asyncio.TimeoutError) as e:
                statuses[type(e).__name__] += 1

    started = time.monotonic()
    workers = [asyncio.create_task(worker()) for _ in range(concurrency)]
    if progress is not None:
        reporter = asyncio.create_task(progress(statuses))
    await asyncio.gather(*workers)
    if progress is not None:
        reporter.cancel()
    elapsed = time.monotonic() - started
    latencies.sort()
    n = len(latencies)
    return {"clients": clients, "seconds": elapsed, "per_second": clients / elapsed, "statuses": dict(statuses),
            "errors": sum(v for k, v in statuses.items() if not k.isdigit() or int(k) >= 400),
            "p50_ms": 1000 * latencies[n // 2] if n else 0.0, "p99_ms": 1000 * latencies[int(0.99 * (n - 1))] if n else 0.0}


def store_cap(max_clients: int, max_mb: int) -> int:
    return min(max_clients, max(1, (max_mb << 20) // APPROX_ENTRY_BYTES))


def run(args: argparse.Namespace) -> int:
    config = f"behaviour: {{max_clients: {args.max_clients}, max_mb: {args.max_mb}}}\n"
    stack = start_stack(config)
    try:
        return report(stack, args)
    finally:
        stack.stop()


def report(stack: Stack, args: argparse.Namespace) -> int:
    from fixative.demo.site import list_works

    work = list_works()[0]
    requests = flood_requests(stack.port, work.thumb_url, "/gallery/1.html")
    asyncio.run(flood(stack.port, 20, 4, requests, first=0))  # warm up: caches, renders
    rss_before = stack.rss_mb()
    tracked_before = stack.metrics().get("fixative_clients_tracked", 0)
    cap = store_cap(args.max_clients, args.max_mb)
    print(f"fixative pid {stack.proxy.popen.pid}: RSS {rss_before:.1f} MB after warm-up; "
          f"store cap {cap} clients (max_clients {args.max_clients}, max_mb {args.max_mb}); "
          f"{args.clients} clients, {args.concurrency} at a time", flush=True)
    peak = [rss_before]

    async def progress(statuses: Counter[str]) -> None:
        started = time.monotonic()
        while True:
            await asyncio.sleep(10)
            rss = stack.rss_mb()
            peak[0] = max(peak[0], rss)
            print(f"  {time.monotonic() - started:5.0f} s  {sum(statuses.values()):7d} done  RSS {rss:6.1f} MB  "
                  f"{dict(statuses)}", flush=True)

    result = asyncio.run(flood(stack.port, args.clients, args.concurrency, requests, first=1000,
                               progress=progress))
    time.sleep(1)  # let the event writer and the last hooks finish
    rss_after = stack.rss_mb()
    peak[0] = max(peak[0], rss_after)
    metrics = stack.metrics()
    tracked = int(metrics.get("fixative_clients_tracked", -1))
    alive = stack.proxy.popen.poll() is None
    print(f"done: {result['clients']} clients in {result['seconds']:.0f} s ({result['per_second']:.0f}/s), "
          f"p50 {result['p50_ms']:.0f} ms, p99 {result['p99_ms']:.0f} ms")
    print(f"statuses: {result['statuses']}; errors: {result['errors']}")
    print(f"RSS: before {rss_before:.1f} MB, peak {peak[0]:.1f} MB, after {rss_after:.1f} MB "
          f"(growth {rss_after - rss_before:+.1f} MB; behaviour.max_mb {args.max_mb})")
    print(f"tracked clients: {tracked_before:.0f} before, {tracked} after (cap {cap}); "
          f"events written {metrics.get('fixative_events_written_total', 0):.0f}, "
          f"dropped {metrics.get('fixative_events_dropped_total', 0):.0f}; proxy alive: {alive}")
    ok = alive and 0 <= tracked <= cap and result["errors"] == 0 and rss_after - rss_before < args.max_mb
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--clients", type=int, default=100_000)
    p.add_argument("--concurrency", type=int, default=48)
    p.add_argument("--max-clients", type=int, default=100_000, help="behaviour.max_clients (default 100000)")
    p.add_argument("--max-mb", type=int, default=256, help="behaviour.max_mb (default 256)")
    return run(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
