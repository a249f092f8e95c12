"""Throughput benchmark: bare mitmproxy vs Fixative in front of the demo origin, on loopback.

One run builds the demo site, starts the origin, a bare `mitmdump --mode reverse:` and
`fixative run` (each its own process), then drives each with a keep-alive load generator
(its own process) for: a gallery page and a full-size JPEG as Chrome asks for them (human
path, both proxies) and the same JPEG as curl asks for it (scraper path, Fixative only).
Prints a table, checks the human-path ratio against the target, and writes
bench/results/<timestamp>.json. See bench/README.md.

    .venv/bin/python bench/proxy_throughput.py [--duration 6] [--rounds 2] [--connections 16]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import http.client
import json
import multiprocessing
import os
import platform
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from queue import Empty
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
VENV_BIN = Path(sys.executable).parent
TARGET_RATIO = 0.90
BUSY_OTHER = 15.0  # % of one core used by unrelated programs above which a run is flagged
HOST = "127.0.0.1"
CLK_TCK = os.sysconf("SC_CLK_TCK")

# A current desktop Chrome on Linux (Chrome 155, Nov 2026; UA reduction: minor version .0.0.0).
# Header sets and order follow ../shared/reference-data/user-agents/ua-samples.yaml:
# curl-impersonate's Chrome navigation capture, and MDN's <img> Accept for Chrome >= 121.
CHROME_UA = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
             "Chrome/155.0.0.0 Safari/537.36")
CHROME_HINTS = [
    ("sec-ch-ua", '"Chromium";v="155", "Google Chrome";v="155", "Not_A Brand";v="99"'),
    ("sec-ch-ua-mobile", "?0"),
    ("sec-ch-ua-platform", '"Linux"'),
]
CHROME_TAIL = [("Accept-Encoding", "gzip, deflate, br, zstd"), ("Accept-Language", "en-US,en;q=0.9")]
NAV_ACCEPT = ("text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
              "image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7")
IMG_ACCEPT = "image/avif,image/webp,image/apng,image/*,*/*;q=0.8"
SCRAPER_UA = "curl/8.7.1"
CASES = ("page", "image", "scraper")
# "table": bare mitmdump plus the hook table `fixative run` installs (hooktable_only.py), so Fixative's
# own cost shows apart from what the table saves.
CONFIGS = {"page": ("bare", "table", "fixative"), "image": ("bare", "table", "fixative"), "scraper": ("fixative",)}
LABELS = {"page": "page /gallery/1.html", "image": "image (Chrome <img>)", "scraper": "scraper image (curl)"}
# Runs `fixative` with cProfile switched on only while a window is measured: the load generator
# sends PROFILE_ON at its start and PROFILE_OFF at its end (which also writes the stats so far).
PROFILE_ON, PROFILE_OFF = signal.SIGRTMIN + 3, signal.SIGRTMIN + 4
PROFILE_WRAPPER = f"""
import cProfile, signal, sys, time
out, clock = sys.argv[1], sys.argv[2]
prof = cProfile.Profile(time.thread_time) if clock == "cpu" else cProfile.Profile()
def off(*_):
    prof.disable()
    prof.dump_stats(out)
signal.signal({int(PROFILE_ON)}, lambda *_: prof.enable())
signal.signal({int(PROFILE_OFF)}, off)
from fixative.cli import main
sys.exit(main(sys.argv[3:]))
"""

Headers = list[tuple[str, str]]


@dataclass
class Run:
    """One measured window: a case against one proxy."""

    order: int
    round: int
    case: str
    config: str
    requests: int = 0
    errors: int = 0  # connection failures, non-200 answers and unexpected bodies
    unexpected: int = 0  # 200s whose body size or ETag differ from the checked answer
    rps: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    mb_per_s: float = 0.0
    connections_opened: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    cpu_pct: dict[str, float] = field(default_factory=dict)  # % of one core, per process
    proxy_cpu_us: float = 0.0  # the proxy's CPU time per completed response
    attempts: int = 1  # measurements made; the quietest was kept


@dataclass(frozen=True)
class Expect:
    """What every response of a case must look like: the answer checked before measuring."""

    size: int
    etag: bool


# ---------------------------------------------------------------- requests


def page_headers(authority: str, cookie: str | None) -> Headers:
    """Chrome following a same-origin link to a page (a navigation)."""
    return [("Host", authority), ("Connection", "keep-alive"), *CHROME_HINTS,
            ("Upgrade-Insecure-Requests", "1"), ("User-Agent", CHROME_UA), ("Accept", NAV_ACCEPT),
            ("Sec-Fetch-Site", "same-origin"), ("Sec-Fetch-Mode", "navigate"), ("Sec-Fetch-User", "?1"),
            ("Sec-Fetch-Dest", "document"), ("Referer", f"http://{authority}/"), *CHROME_TAIL,
            *_cookie(cookie)]


def image_headers(authority: str, referer_path: str, cookie: str | None) -> Headers:
    """Chrome loading an <img> of the page at referer_path."""
    return [("Host", authority), ("Connection", "keep-alive"), *CHROME_HINTS[:2], ("User-Agent", CHROME_UA),
            CHROME_HINTS[2], ("Accept", IMG_ACCEPT), ("Sec-Fetch-Site", "same-origin"),
            ("Sec-Fetch-Mode", "no-cors"), ("Sec-Fetch-Dest", "image"),
            ("Referer", f"http://{authority}{referer_path}"), *CHROME_TAIL, *_cookie(cookie)]


def scraper_headers(authority: str) -> Headers:
    """curl's defaults (it sends no Connection header; HTTP/1.1 keeps the connection alive)."""
    return [("Host", authority), ("User-Agent", SCRAPER_UA), ("Accept", "*/*")]


def case_headers(case: str, authority: str, image_page: str, cookie: str | None) -> Headers:
    """The headers of one case's request; scrapers send no cookie."""
    if case == "page":
        return page_headers(authority, cookie)
    if case == "image":
        return image_headers(authority, image_page, cookie)
    return scraper_headers(authority)


def _cookie(cookie: str | None) -> Headers:
    return [("Cookie", cookie)] if cookie else []


def raw_request(path: str, headers: Headers) -> bytes:
    lines = [f"GET {path} HTTP/1.1", *(f"{k}: {v}" for k, v in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def visitor_address(i: int) -> str:
    """Loopback source address of simulated browser i (Linux routes all of 127/8 to lo)."""
    return f"127.1.{i // 250}.{i % 250 + 1}"


# ---------------------------------------------------------------- load generator (own process)


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent not idle (incl. steal), from /proc/stat."""
    with open("/proc/stat", "rb") as f:
        user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, f.readline().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / CLK_TCK


def cpu_seconds(pid: int) -> float:
    """user + system CPU time of a process (all its threads), from /proc."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        fields = f.read().rsplit(b")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


async def read_response(reader: asyncio.StreamReader) -> tuple[int, int, bool, bool]:
    """Read one response, discarding the body: (status, body bytes, has ETag, connection reusable)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length, chunked, keep, etag = None, False, True, False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
        elif name == b"connection":
            keep = b"close" not in value.lower()
        elif name == b"etag":
            etag = True
    if chunked:
        total = 0
        while size := int((await reader.readline()).split(b";")[0], 16):
            total += len(await reader.readexactly(size + 2)) - 2
        while await reader.readline() not in (b"\r\n", b""):
            pass  # trailers
        return status, total, etag, keep
    if length is None:  # delimited by close
        total = 0
        while chunk := await reader.read(1 << 20):
            total += len(chunk)
        return status, total, etag, False
    remaining = length
    while remaining:
        chunk = await reader.read(min(remaining, 1 << 20))
        if not chunk:
            raise asyncio.IncompleteReadError(b"", remaining)
        remaining -= len(chunk)
    return status, length, etag, keep


async def drive(port: int, visitors: list[tuple[str, bytes]], visit_requests: int, expect: Expect,
                connections: int, warmup: float, duration: float, pids: dict[str, int],
                profile: bool = False) -> dict[str, Any]:
    """`connections` clients, each running visits back to back: a visit is one simulated client
    (a source address and its request bytes, e.g. with its cookie), taken in turn from `visitors`,
    sending up to `visit_requests` requests over one keep-alive connection. Measures only the completions inside
    [warmup, warmup + duration], and the CPU the given processes use in that window (and, with
    `profile`, has the proxy profile itself during that window)."""
    loop = asyncio.get_running_loop()
    t0 = loop.time() + warmup
    t1 = t0 + duration
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    counts = {"errors": 0, "unexpected": 0, "bytes": 0, "opened": 0, "next": 0}
    cpu: dict[str, dict[str, float]] = {}
    pids = {**pids, "loadgen": os.getpid()}

    async def sample(at: float, key: str) -> None:
        await asyncio.sleep(max(0.0, at - loop.time()))
        if profile:
            os.kill(pids["proxy"], PROFILE_ON if key == "start" else PROFILE_OFF)
        cpu[key] = {name: cpu_seconds(pid) for name, pid in pids.items()}
        cpu[key]["_machine"] = machine_busy_seconds()
        cpu[key]["_wall"] = loop.time()

    async def visit(visitor: int) -> None:
        """One browser's visit; returns early on a closed or failed connection."""
        address, request = visitors[visitor]
        reader, writer = await asyncio.open_connection(HOST, port, limit=1 << 20, local_addr=(address, 0))
        if t0 <= loop.time() <= t1:
            counts["opened"] += 1
        try:
            for _ in range(visit_requests):
                if loop.time() >= t1:
                    return
                sent = loop.time()
                writer.write(request)
                status, size, etag, keep = await read_response(reader)
                done = loop.time()
                if t0 <= done <= t1:
                    latencies.append(done - sent)
                    statuses[status] += 1
                    counts["bytes"] += size
                    if status != 200:
                        counts["errors"] += 1
                    elif size != expect.size or (expect.etag and not etag):
                        counts["unexpected"] += 1
                if not keep:
                    return
        finally:
            writer.close()

    async def client() -> None:
        while loop.time() < t1:
            visitor = counts["next"] % len(visitors)
            counts["next"] += 1
            try:
                await visit(visitor)
            except (OSError, ValueError, IndexError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                if t0 <= loop.time() <= t1:
                    counts["errors"] += 1
                await asyncio.sleep(0.01)

    tasks = [asyncio.create_task(c) for c in
             (sample(t0, "start"), sample(t1, "end"), *(client() for _ in range(connections)))]
    _, pending = await asyncio.wait(tasks, timeout=warmup + duration + 15)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    latencies.sort()
    n = len(latencies)
    measured = len(cpu) == 2
    wall = cpu["end"]["_wall"] - cpu["start"]["_wall"] if measured else duration
    return {
        "requests": n,
        "errors": counts["errors"] + counts["unexpected"],
        "unexpected": counts["unexpected"],
        "rps": n / duration,
        "p50_ms": 1000 * latencies[(n - 1) // 2] if n else 0.0,
        "p99_ms": 1000 * latencies[int(0.99 * (n - 1))] if n else 0.0,
        "mb_per_s": counts["bytes"] / duration / 1e6,
        "connections_opened": counts["opened"],
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "cpu_pct": cpu_shares(cpu, wall, list(pids)) if measured else {},
        "proxy_cpu_us": 1e6 * (cpu["end"]["proxy"] - cpu["start"]["proxy"]) / n if measured and n else 0.0,
    }


def cpu_shares(cpu: dict[str, dict[str, float]], wall: float, names: list[str]) -> dict[str, float]:
    """% of one core per process over the window, and "other": everything else on the machine."""
    shares = {name: 100 * (cpu["end"][name] - cpu["start"][name]) / wall for name in names}
    machine = 100 * (cpu["end"]["_machine"] - cpu["start"]["_machine"]) / wall
    shares["other"] = max(0.0, machine - sum(shares.values()))
    return shares


def loadgen_main(queue: Any, args: tuple[Any, ...]) -> None:
    """Entry point of the load generator process; Ctrl-C is the parent's to handle."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    queue.put(asyncio.run(drive(*args)))


def measure(ctx: Any, port: int, visitors: list[tuple[str, bytes]], expect: Expect, args: argparse.Namespace,
            pids: dict[str, int], profile: bool = False) -> dict[str, Any]:
    """One window, driven from a fresh load-generator process."""
    queue = ctx.Queue()
    proc = ctx.Process(target=loadgen_main, name="loadgen", args=(queue, (
        port, visitors, args.visit_requests, expect, args.connections, args.warmup, args.duration, pids,
        profile)))
    proc.start()
    deadline = time.monotonic() + args.warmup + args.duration + 60
    try:
        while time.monotonic() < deadline:
            try:
                result: dict[str, Any] = queue.get(timeout=0.5)
            except Empty:
                if not proc.is_alive():
                    raise RuntimeError(f"the load generator died (exit code {proc.exitcode})") from None
                continue
            proc.join(10)
            return result
        raise RuntimeError("the load generator did not finish in time")
    finally:
        if proc.is_alive():
            proc.kill()
            proc.join()


def measure_quietest(ctx: Any, port: int, visitors: list[tuple[str, bytes]], expect: Expect,
                     args: argparse.Namespace, pids: dict[str, int], **labels: Any) -> Run:
    """Measure; while other programs took more than BUSY_OTHER of a core, measure again (up to
    --retries times) and keep the quietest attempt."""
    best: Run | None = None
    for attempt in range(1 + args.retries):
        profile = bool(args.profile_fixative) and labels["config"] == "fixative"
        run = Run(**labels, **measure(ctx, port, visitors, expect, args, pids, profile), attempts=attempt + 1)
        if best is None or run.cpu_pct.get("other", 0) < best.cpu_pct.get("other", 0):
            best = run
        print(f"  run {run.order:2d}  round {run.round}  {run.case:<8} {run.config:<9} {run.rps:8.1f} req/s  "
              f"p50 {run.p50_ms:6.1f} ms  p99 {run.p99_ms:6.1f} ms  errors {run.errors}  "
              f"CPU proxy {run.cpu_pct.get('proxy', 0):3.0f}% origin {run.cpu_pct.get('origin', 0):3.0f}% "
              f"loadgen {run.cpu_pct.get('loadgen', 0):3.0f}% other {run.cpu_pct.get('other', 0):3.0f}%", flush=True)
        if best.cpu_pct.get("other", 0) <= BUSY_OTHER:
            break
        again = "measuring again" if attempt < args.retries else "keeping the quietest attempt"
        print(f"           other programs used {run.cpu_pct['other']:.0f}% of a core: noisy; {again}", flush=True)
    assert best is not None
    return best


# ---------------------------------------------------------------- processes


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def tail(self, lines: int = 20) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def start(name: str, cmd: list[str], workdir: Path) -> Proc:
    """Start cmd in its own session (process group), output to workdir/name.log."""
    log = workdir / f"{name}.log"
    with open(log, "wb") as out:
        popen = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 cwd=workdir, start_new_session=True,
                                 env={**os.environ, "PYTHONUNBUFFERED": "1"})
    return Proc(name, popen, log)


def wait_for(proc: Proc, pattern: str | None, port: int | None, timeout: float = 90) -> re.Match[str] | None:
    """Wait until the log matches pattern (if given) and port accepts connections (if given)."""
    deadline = time.monotonic() + timeout
    match = None
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise RuntimeError(f"{proc.name} exited with {proc.popen.returncode}:\n{proc.tail()}")
        if pattern and match is None:
            match = re.search(pattern, proc.log.read_text(errors="replace"))
        if match or not pattern:
            if port is None:
                return match
            try:
                socket.create_connection((HOST, port), timeout=1).close()
                return match
            except OSError:
                pass
        time.sleep(0.1)
    raise RuntimeError(f"{proc.name} not ready after {timeout:.0f} s:\n{proc.tail()}")


def stop(proc: Proc) -> None:
    """SIGINT to the process group (a clean exit: logs flushed, profiles written), then SIGKILL."""
    if proc.popen.poll() is not None:
        return
    for sig, grace in ((signal.SIGINT, 10), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.popen.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.popen.wait(grace)
            return
        except subprocess.TimeoutExpired:
            pass


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def fetch(port: int, path: str, headers: Headers, source: str = HOST) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=60, source_address=(source, 0))
    try:
        conn.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)
        for k, v in headers:
            conn.putheader(k, v)
        conn.endheaders()
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


# ---------------------------------------------------------------- orchestration


def start_all(args: argparse.Namespace, workdir: Path, site: Path, procs: list[Proc]) -> tuple[Proc, dict[str, Proc], dict[str, int]]:
    """The origin, bare mitmdump and Fixative, each ready; returns them and the proxies' ports."""
    origin = start("origin", [sys.executable, "-m", "fixative.demo.origin", "--root", str(site),
                              "--host", HOST, "--port", "0"], workdir)
    procs.append(origin)
    m = wait_for(origin, r"origin listening on http://[^:]+:(\d+)", None)
    assert m is not None
    origin_port = int(m.group(1))
    wait_for(origin, None, origin_port)
    upstream = f"http://{HOST}:{origin_port}"

    ports = {"bare": free_port(), "table": free_port(), "fixative": free_port()}
    bare_cmd = [str(VENV_BIN / "mitmdump"), "--mode", f"reverse:{upstream}", "--listen-host", HOST,
                "--listen-port", str(ports["bare"]), "-q", "--set", "stream_large_bodies=2m",
                "--set", "connection_strategy=lazy"]
    table_cmd = [*bare_cmd, "-s", str(BENCH_DIR / "hooktable_only.py")]
    table_cmd[table_cmd.index(str(ports["bare"]))] = str(ports["table"])
    fix_cmd = [str(VENV_BIN / "fixative"), "run", "--upstream", upstream,
               "--listen", f"{HOST}:{ports['fixative']}", "--state-dir", str(workdir / "fixative-state")]
    help_text = subprocess.run(fix_cmd[:2] + ["--help"], capture_output=True, text=True).stdout
    if "--admin" in help_text:  # its own free port, so a dashboard already on the default cannot clash
        fix_cmd += ["--admin", f"{HOST}:{free_port()}"]
    if args.profile_fixative:
        fix_cmd = [sys.executable, "-c", PROFILE_WRAPPER, str(Path(args.profile_fixative).resolve()),
                   args.profile_clock, *fix_cmd[1:]]
    proxies = {"bare": start("mitmdump", bare_cmd, workdir), "table": start("mitmdump+table", table_cmd, workdir),
               "fixative": start("fixative", fix_cmd, workdir)}
    procs.extend(proxies.values())
    wait_for(proxies["bare"], None, ports["bare"])
    wait_for(proxies["table"], None, ports["table"])
    wait_for(proxies["fixative"], "protecting", ports["fixative"])
    return origin, proxies, ports


def browser_cookies(port: int, page_path: str, count: int) -> list[str | None]:
    """Each simulated browser opens a page through Fixative once, from its own address, and keeps
    the cookie it is given (None where none is set), as a browser would."""
    cookies: list[str | None] = []
    for i in range(count):
        status, headers, _ = fetch(port, page_path, page_headers(f"{HOST}:{port}", None), visitor_address(i))
        if status != 200:
            raise RuntimeError(f"fixative: a browser's first page view got status {status}")
        set_cookie = headers.get("set-cookie")
        cookies.append(set_cookie.split(";", 1)[0].strip() if set_cookie else None)
    return cookies


def check_and_expect(config: str, port: int, case: str, path: str, headers: Headers, original: bytes) -> Expect:
    """Before measuring: people get the origin's bytes, curl gets a decoy (this also renders it).
    Returns what every response of the case must then look like."""
    status, response_headers, body = fetch(port, path, headers, visitor_address(0))
    if status != 200:
        raise RuntimeError(f"{config}: {case} answered {status}")
    if case == "scraper":
        if hashlib.sha256(body).digest() == hashlib.sha256(original).digest() or not body.startswith(b"\xff\xd8"):
            raise RuntimeError(f"fixative: curl did not get a JPEG decoy ({response_headers.get('content-type')}, "
                               f"{len(body)} bytes)")
    elif body != original:
        if case == "image":
            raise RuntimeError(f"{config}: Chrome's image request did not get the original ({len(body)} bytes)")
        print(f"note: {config} changed the page's HTML ({len(original)} -> {len(body)} bytes)")
    return Expect(size=len(body), etag="etag" in response_headers)


def run_benchmark(args: argparse.Namespace, workdir: Path, procs: list[Proc]) -> dict[str, Any]:
    from fixative.demo.site import build_site, list_works

    t_build = time.monotonic()
    site = build_site(workdir / "site")
    work = next(w for w in list_works() if w.fmt == "jpeg")
    image_file = site / work.full_url.lstrip("/")
    print(f"demo site built in {time.monotonic() - t_build:.1f} s; image {work.full_url} "
          f"({image_file.stat().st_size / 1e3:.0f} kB)", flush=True)
    origin, proxies, ports = start_all(args, workdir, site, procs)

    # One cookie per simulated browser, from a view of the page that shows the image;
    # the same request bytes (bar the port) then go to both proxies.
    t_cookies = time.monotonic()
    cookies = browser_cookies(ports["fixative"], work.page_url, args.visitors)
    paths = {"page": "/gallery/1.html", "image": work.full_url, "scraper": work.full_url}
    originals = {"page": (site / "gallery" / "1.html").read_bytes(), "image": image_file.read_bytes(),
                 "scraper": image_file.read_bytes()}
    visitors: dict[tuple[str, str], list[tuple[str, bytes]]] = {}
    expect: dict[tuple[str, str], Expect] = {}
    for config, port in ports.items():
        authority = f"{HOST}:{port}"
        for case in (c for c in CASES if config in CONFIGS[c]):
            if case == "scraper":  # one scraper, as in a crawl: its decoy is rendered once, then cached
                request = raw_request(paths[case], case_headers(case, authority, work.page_url, None))
                visitors[config, case] = [(visitor_address(0), request)]
            else:
                visitors[config, case] = [
                    (visitor_address(i), raw_request(paths[case], case_headers(case, authority, work.page_url, c)))
                    for i, c in enumerate(cookies)]
            first = case_headers(case, authority, work.page_url, cookies[0])
            expect[config, case] = check_and_expect(config, port, case, paths[case], first, originals[case])
    have = sum(c is not None for c in cookies)
    print(f"bare mitmproxy :{ports['bare']}, with the hook table :{ports['table']}, fixative :{ports['fixative']}; "
          f"{args.visitors} browsers ({have} with a session cookie) in {time.monotonic() - t_cookies:.1f} s; "
          "answers checked (originals for Chrome, a JPEG decoy for curl)", flush=True)

    ctx = multiprocessing.get_context("spawn")
    runs: list[Run] = []
    for rnd in range(1, args.rounds + 1):
        order = ["bare", "table", "fixative"] if rnd % 2 else ["fixative", "table", "bare"]  # first in turn
        for case in CASES:
            for config in (c for c in order if c in CONFIGS[case]):
                pids = {"proxy": proxies[config].popen.pid, "origin": origin.popen.pid}
                runs.append(measure_quietest(ctx, ports[config], visitors[config, case], expect[config, case],
                                             args, pids, order=len(runs) + 1, round=rnd, case=case,
                                             config=config))
    memory = {config: round(rss_mb(p.popen.pid), 1) for config, p in proxies.items()}
    return {"runs": runs, "memory_mb": memory, "image": work.full_url, "cookies": have}


def event_log_summary(state_dir: Path) -> list[dict[str, Any]]:
    """How Fixative classified the benchmark's requests, from its event log (empty if unreadable)."""
    db = state_dir / "events.sqlite3"
    if not db.exists():
        return []
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            rows = conn.execute("SELECT user_agent, kind, verdict, treatment, COUNT(*) FROM events "
                                "GROUP BY user_agent, kind, verdict, treatment ORDER BY 5 DESC").fetchall()
        finally:
            conn.close()
    except sqlite3.Error:
        return []
    client = {CHROME_UA: "chrome", SCRAPER_UA: "curl"}
    return [{"client": client.get(ua, ua), "kind": kind, "verdict": verdict, "treatment": treatment, "count": n}
            for ua, kind, verdict, treatment, n in rows]


def mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def quiet(run: Run) -> bool:
    return run.cpu_pct.get("other", 0.0) <= BUSY_OTHER


def summarise(runs: list[Run]) -> dict[str, Any]:
    """Mean rates per case and the ratios, over the rounds in which every compared run was quiet
    (all rounds if none was); also the ratio of proxy CPU per response, which other programs on
    the machine disturb less than the rate."""
    def pick(case: str, config: str, rounds: set[int]) -> list[Run]:
        return [r for r in runs if r.case == case and r.config == config and r.round in rounds]

    def usable(case: str, partner: str) -> tuple[set[int], bool]:
        """Rounds whose case runs (and the partner case's fixative run) were all quiet."""
        rounds = {r.round for r in runs}
        calm = {n for n in rounds if all(quiet(r) for r in runs if r.round == n and (
            r.case == case or (r.case == partner and r.config == "fixative")))}
        return (calm, False) if calm else (rounds, True)

    summary: dict[str, Any] = {}
    for case in ("page", "image"):
        rounds, noisy = usable(case, case)
        bare, fix = pick(case, "bare", rounds), pick(case, "fixative", rounds)
        table = pick(case, "table", rounds)
        rb, rf, rt = mean([r.rps for r in bare]), mean([r.rps for r in fix]), mean([r.rps for r in table])
        cb, cf = mean([r.proxy_cpu_us for r in bare]), mean([r.proxy_cpu_us for r in fix])
        ct = mean([r.proxy_cpu_us for r in table])
        summary[case] = {"bare_rps": rb, "fixative_rps": rf, "ratio": rf / rb if rb else 0.0,
                         "bare_cpu_us": cb, "fixative_cpu_us": cf, "cpu_ratio": cb / cf if cf else 0.0,
                         "table_rps": rt, "table_cpu_us": ct, "ratio_to_table": rf / rt if rt else 0.0,
                         "rounds": sorted(rounds), "noisy": noisy}
    rounds, noisy = usable("scraper", "image")
    scraper, human = pick("scraper", "fixative", rounds), pick("image", "fixative", rounds)
    rs, rh = mean([r.rps for r in scraper]), mean([r.rps for r in human])
    summary["scraper"] = {"fixative_rps": rs, "ratio_to_human_image": rs / rh if rh else 0.0,
                          "fixative_cpu_us": mean([r.proxy_cpu_us for r in scraper]),
                          "rounds": sorted(rounds), "noisy": noisy}
    summary["target"] = TARGET_RATIO
    summary["human_path_pass"] = all(summary[c]["ratio"] >= TARGET_RATIO for c in ("page", "image"))
    return summary


def print_table(runs: list[Run], summary: dict[str, Any], memory: dict[str, float],
                events: list[dict[str, Any]]) -> None:
    def pair(b: str, f: str) -> str:
        return f"{b}/{f}"

    def ms(r: Run | None) -> str:
        return f"{r.p50_ms:.1f}/{r.p99_ms:.1f}" if r else "-"

    def pct(r: Run | None) -> str:
        return f"{r.cpu_pct.get('proxy', 0):.0f}" if r else "-"

    def us(r: Run | None) -> str:
        return f"{r.proxy_cpu_us:.0f}" if r else "-"

    head = (f"{'case':<22} {'round':>5} {'bare req/s':>10} {'fix req/s':>10} {'ratio':>6} "
            f"{'bare p50/p99 ms':>15} {'fix p50/p99 ms':>15} {'errors b/f':>10} {'proxy CPU% b/f':>14} "
            f"{'CPU us/req b/f':>14}")
    print()
    print(head)
    print("-" * len(head))
    blank = f"{'':>15} {'':>15} {'':>10} {'':>14}"
    for case in CASES:
        for rnd in sorted({r.round for r in runs}):
            bare = next((r for r in runs if r.case == case and r.config == "bare" and r.round == rnd), None)
            fix = next((r for r in runs if r.case == case and r.config == "fixative" and r.round == rnd), None)
            if fix is None:
                continue
            if case == "scraper":
                human = next(r for r in runs if r.case == "image" and r.config == "fixative" and r.round == rnd)
                ratio, bare_rps = fix.rps / human.rps if human.rps else 0.0, "-"
            else:
                ratio = fix.rps / bare.rps if bare and bare.rps else 0.0
                bare_rps = f"{bare.rps:.1f}" if bare else "-"
            errors = pair(str(bare.errors) if bare else "-", str(fix.errors))
            mark = "" if all(quiet(r) for r in (bare, fix) if r) else "*"
            print(f"{LABELS[case]:<22} {str(rnd) + mark:>5} {bare_rps:>10} {fix.rps:>10.1f} {ratio:>6.2f} "
                  f"{ms(bare):>15} {ms(fix):>15} {errors:>10} {pair(pct(bare), pct(fix)):>14} "
                  f"{pair(us(bare), us(fix)):>14}")
        s = summary[case]
        fix_us = f"{s['fixative_cpu_us']:.0f}"
        label = "  mean, noisy" if s["noisy"] else f"  mean, rounds {','.join(map(str, s['rounds']))}"
        if case == "scraper":
            print(f"{label:<22} {'':>5} {'-':>10} {s['fixative_rps']:>10.1f} "
                  f"{s['ratio_to_human_image']:>6.2f} {blank} {pair('-', fix_us):>14}")
        else:
            print(f"{label:<22} {'':>5} {s['bare_rps']:>10.1f} {s['fixative_rps']:>10.1f} {s['ratio']:>6.2f} "
                  f"{blank} {pair(str(round(s['bare_cpu_us'])), fix_us):>14}")
    print("ratio: fixative/bare req/s; for the scraper row, fixative scraper / fixative human image req/s.")
    print(f"mean: over the rounds in which no compared run was noisy (other programs > {BUSY_OTHER:.0f}% "
          "of a core); over all rounds, marked noisy, if there were none.")
    print("proxy CPU%: of one core during the window; CPU us/req: the proxy's CPU time per response; "
          "*: a noisy run.")
    busiest = max(runs, key=lambda r: r.cpu_pct.get("other", 0.0))
    print(f"other programs used at most {busiest.cpu_pct.get('other', 0.0):.0f}% of a core during a kept run "
          f"(run {busiest.order}); the load generator at most "
          f"{max(r.cpu_pct.get('loadgen', 0.0) for r in runs):.0f}%")
    print(f"proxy resident memory at the end: bare {memory['bare']:.0f} MB, with the hook table "
          f"{memory['table']:.0f} MB, fixative {memory['fixative']:.0f} MB")
    if events:
        parts = [f"{e['client']} {e['kind']}: {e['verdict']}/{e['treatment']} x{e['count']}" for e in events[:6]]
        print("fixative's event log: " + "; ".join(parts))
    verdict = "PASS" if summary["human_path_pass"] else "FAIL"
    print(f"human path fixative/bare (target >= {TARGET_RATIO:.2f}): page {summary['page']['ratio']:.2f}, "
          f"image {summary['image']['ratio']:.2f} -> {verdict}  (by proxy CPU per response: page "
          f"{summary['page']['cpu_ratio']:.2f}, image {summary['image']['cpu_ratio']:.2f})")
    own = ", ".join(f"{c} {summary[c]['ratio_to_table']:.2f} ({summary[c]['table_rps']:.1f} req/s, "
                    f"{summary[c]['table_cpu_us']:.0f} us/req)" for c in ("page", "image"))
    print(f"fixative / mitmproxy with the same hook table (Fixative's own addons alone): {own}")
    if summary["page"]["noisy"] or summary["image"]["noisy"]:
        print("  noisy: other programs were busy in every round of a human case; rerun on a quiet machine")


def print_profile(path: Path, responses: int, top: int = 25) -> None:
    """The functions that cost Fixative most, per response, over all its measured windows."""
    import pstats

    if not path.exists() or not responses:
        print(f"no profile was written to {path}")
        return
    stats = pstats.Stats(str(path)).stats  # type: ignore[attr-defined]
    rows = sorted(stats.items(), key=lambda kv: -kv[1][3])
    site = str(Path(sys.executable).parent.parent / "lib")

    def name(key: tuple[str, int, str]) -> str:
        where = key[0].replace(str(REPO) + "/", "").replace(site, "lib")
        return f"{where}:{key[1]}({key[2]})"

    print(f"\nprofile of fixative's main thread over {responses} measured responses: {path}")
    print(f"{'cumulative us/resp':>18} {'own us/resp':>11} {'calls/resp':>10}  function")
    shown = 0
    for key, (_, calls, own, cumulative, _) in rows:
        if "/fixative/" not in key[0] or "/demo/" in key[0]:
            continue  # Fixative's own code, biggest first; its callees are in `cumulative`
        print(f"{1e6 * cumulative / responses:>18.1f} {1e6 * own / responses:>11.1f} {calls / responses:>10.2f}  "
              f"{name(key)}")
        shown += 1
        if shown == top:
            break
    print(f"(more: {Path(sys.executable).name} -m pstats {path})")


def environment() -> dict[str, Any]:
    import mitmproxy.version

    import fixative

    def git(*cmd: str) -> str:
        try:
            return subprocess.run(["git", *cmd], cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return ""

    cpu_model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                      if line.startswith("model name")), platform.processor())
    return {"python": platform.python_version(), "mitmproxy": mitmproxy.version.VERSION,
            "fixative": fixative.__version__, "cpus": os.cpu_count(), "cpu_model": cpu_model,
            "git_commit": git("rev-parse", "HEAD"), "git_dirty": bool(git("status", "--porcelain"))}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--duration", type=float, default=6.0, help="measured seconds per run (default 6)")
    p.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds before each run (default 2)")
    p.add_argument("--connections", type=int, default=16, help="concurrent connections (default 16)")
    p.add_argument("--rounds", type=int, default=2,
                   help="times each case runs per proxy; the order alternates each round (default 2)")
    p.add_argument("--visitors", type=int, default=1000,
                   help="simulated browsers, each with its own loopback address and session cookie (default 1000)")
    p.add_argument("--visit-requests", type=int, default=30,
                   help="requests a browser sends over one keep-alive connection before the next browser "
                        "takes the slot (default 30: under Fixative's 40 per 10 s rate signal)")
    p.add_argument("--retries", type=int, default=1,
                   help=f"measure a run again when other programs used more than {BUSY_OTHER:.0f}%% of a core "
                        "during it, up to this many times (default 1)")
    p.add_argument("--results-dir", type=Path, default=BENCH_DIR / "results",
                   help="where the JSON goes (default bench/results)")
    p.add_argument("--profile-fixative", metavar="OUT.prof",
                   help="profile Fixative (its main thread) during its measured windows and write the stats "
                        "here; the profiler slows it, so that run's rates and ratios are not meaningful")
    p.add_argument("--profile-clock", choices=("wall", "cpu"), default="wall",
                   help="wall: cProfile's default, low overhead, needs a quiet machine; cpu: the thread's CPU "
                        "time, unaffected by other programs but with a higher overhead (default wall)")
    args = p.parse_args(argv)
    if args.visitors < 1 or args.visitors > 250 * 250 or args.visit_requests < 1:
        p.error("--visitors must be 1..62500 and --visit-requests at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    # Ctrl-C raises KeyboardInterrupt even when started from a shell that ignores SIGINT (as
    # non-interactive shells do for background jobs); the proxies, started after this, then get
    # the default SIGINT disposition too, so `stop` can shut them down cleanly.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    procs: list[Proc] = []
    started = datetime.now(timezone.utc)
    with tempfile.TemporaryDirectory(prefix="fixative-bench-") as tmp:
        try:
            outcome = run_benchmark(args, Path(tmp), procs)
        except KeyboardInterrupt:
            print("\ninterrupted; stopping everything", file=sys.stderr)
            return 130
        except RuntimeError as e:
            print(f"benchmark failed: {e}", file=sys.stderr)
            return 1
        finally:
            for proc in reversed(procs):
                stop(proc)
        events = event_log_summary(Path(tmp) / "fixative-state")  # complete once Fixative has stopped
    runs: list[Run] = outcome["runs"]
    summary = summarise(runs)
    print_table(runs, summary, outcome["memory_mb"], events)
    args.results_dir.mkdir(parents=True, exist_ok=True)
    out = args.results_dir / f"{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    out.write_text(json.dumps({
        "started": started.isoformat(), "environment": environment(), "settings": settings,
        "image": outcome["image"], "browsers_with_cookie": outcome["cookies"], "memory_mb": outcome["memory_mb"],
        "summary": summary, "fixative_event_log": events, "runs": [asdict(r) for r in runs],
    }, indent=2) + "\n")
    print(f"results: {out.relative_to(REPO) if out.is_relative_to(REPO) else out}")
    if args.profile_fixative:
        print_profile(Path(args.profile_fixative), sum(r.requests for r in runs if r.config == "fixative"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
