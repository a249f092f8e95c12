"""Treatment benchmark: what altering an image costs, how well traces survive, and what a cached
variant costs through the real proxy compared with passing the original through.

1. First-time render time (no cache) per format for a 2400 px work: each decoy style, the
   watermark, and the traced variants (decoy and watermark with a client's trace).
2. Trace robustness over 20 works: the share of identifiers read back after nothing, JPEG q75,
   half size + q75, 256 px + q75, and a centre crop of 10 %.
3. Through `fixative run` in front of the demo origin (each its own process), a keep-alive load
   generator (its own process): Chrome's <img> request, with the session cookie its page view
   got (the original, streamed), against curl's (a cached, traced decoy), alternating order
   per round. Target: cached variant / pass-through >= 0.90.
4. Worker pool under a burst: 200 distinct 1600x1200 JPEGs requested at once by a scraper (one
   connection each), while a person loads a page every 0.2 s: how many decoys and how many blocks
   (the pool's queue bound and per-image time limit), how long the burst takes, and whether the
   person's page waits behind it (it must not: image work is off the event loop). Then the same
   200 again, now from the render cache.

    .venv/bin/python bench/treatments.py [--works 20] [--duration 6] [--skip-throughput] [--burst 200]
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import io
import multiprocessing
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

VENV_BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "AVIF")
STYLES = ("generated", "blurred", "notice", "folder", "watermark")
TRACED = ("generated", "watermark")
TARGET = 0.90


def source_2400(site: Path) -> Image.Image:
    """A demo work blown up to 2400 px wide, with a little noise so files have realistic sizes."""
    from fixative.demo.site import list_works

    work = list_works()[0]
    img = Image.open(site / work.full_url.lstrip("/")).convert("RGB").resize((2400, 1800), Image.Resampling.LANCZOS)
    noise = np.random.default_rng(0).normal(0, 4, (1800, 2400, 3))
    return Image.fromarray(np.clip(np.asarray(img, np.float32) + noise, 0, 255).astype(np.uint8))


def encode(img: Image.Image, fmt: str) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **({"quality": 90} if fmt in ("JPEG", "WEBP") else {"quality": 80} if fmt == "AVIF" else {}))
    return buf.getvalue()


def render_times(site: Path, workdir: Path) -> None:
    from fixative.config import Config
    from fixative.policy import DecoyStyles
    from fixative.treatments.apply import render

    folder = workdir / "decoy-folder"
    folder.mkdir()
    for name in sorted((site / "images/full").iterdir())[:3]:
        (folder / name.name).write_bytes(name.read_bytes())
    config = Config(artist="Mara Ilves", decoy=DecoyStyles("generated"), decoy_folder=folder)
    secret, source = b"b" * 32, source_2400(site)
    columns = [*STYLES, *(f"{s}+trace" for s in TRACED)]
    print("\n1. First-time render, 2400x1800 work, ms (output size / original size)")
    print(f"{'format':<6} {'original':>9}  " + "  ".join(f"{c:>16}" for c in columns))
    for fmt in FORMATS:
        data = encode(source, fmt)
        cells = []
        for column in columns:
            style, traced = column.removesuffix("+trace"), column.endswith("+trace")
            start = time.perf_counter()
            out = render(data, f"http://bench/{fmt}", secret, config, style, 0x5EED1234 if traced else None,
                         folder=tuple(sorted(folder.iterdir())))
            ms = 1000 * (time.perf_counter() - start)
            cells.append(f"{ms:7.0f} ({len(out) / len(data):4.2f}x)")
        print(f"{fmt:<6} {len(data) / 1e3:7.0f}kB  " + "  ".join(f"{c:>16}" for c in cells), flush=True)


ATTACKS = ("none", "JPEG q75", "half + q75", "256 px + q75", "crop 10%")


def attack(img: Image.Image, name: str) -> Image.Image:
    def jpeg(im: Image.Image, q: int = 75) -> Image.Image:
        buf = io.BytesIO()
        im.convert("RGB").save(buf, "JPEG", quality=q)
        return Image.open(io.BytesIO(buf.getvalue()))

    w, h = img.size
    if name == "JPEG q75":
        return jpeg(img)
    if name == "half + q75":
        return jpeg(img.resize((w // 2, h // 2), Image.Resampling.LANCZOS))
    if name == "256 px + q75":
        s = 256 / max(w, h)
        return jpeg(img.resize((round(w * s), round(h * s)), Image.Resampling.LANCZOS))
    if name == "crop 10%":  # the central 90 % of each side, saved as a good JPEG
        return jpeg(img.crop((w // 20, h // 20, w - w // 20, h - h // 20)), 90)
    return img


def robustness(site: Path, works: int) -> None:
    from fixative.config import Config
    from fixative.demo.site import list_works
    from fixative.treatments.apply import render, trace_key
    from fixative.treatments.tracemark import read_tag

    secret, config = b"r" * 32, Config(artist="Mara Ilves")
    key = trace_key(secret)
    chosen = list_works()[:works]
    rows = ("generated", "blurred", "notice", "watermark")
    found = {(r, a): 0 for r in rows for a in ATTACKS}
    rng = np.random.default_rng(7)
    start = time.perf_counter()
    for work in chosen:
        data = (site / work.full_url.lstrip("/")).read_bytes()
        for style in rows:
            tag = int(rng.integers(0, 2**32))
            served = Image.open(io.BytesIO(render(data, work.full_url, secret, config, style, tag)))
            served.load()
            for name in ATTACKS:
                reading = read_tag(attack(served, name), key)
                found[(style, name)] += int(reading is not None and reading.tag == tag)
    print(f"\n2. Trace robustness: identifiers read back, of {len(chosen)} works "
          f"({', '.join(sorted({w.fmt for w in chosen}))}, {chosen[0].width}x{chosen[0].height} and similar; "
          f"{time.perf_counter() - start:.0f} s)")
    print(f"{'copy':<10} " + " ".join(f"{a:>13}" for a in ATTACKS))
    for style in rows:
        print(f"{style:<10} " + " ".join(f"{found[(style, a)]:>7}/{len(chosen):<5}" for a in ATTACKS))
    print("crop 10%: read by trying centre crops of 80-99.5 % per side (`fixative trace` does the same)")


CHROME_UA = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
             "Chrome/131.0.0.0 Safari/537.36")
CHROME_HINTS = [("sec-ch-ua", '"Google Chrome";v="131", "Chromium";v="131", "Not_A Brand";v="24"'),
                ("sec-ch-ua-mobile", "?0"), ("sec-ch-ua-platform", '"Linux"')]
NAV_ACCEPT = ("text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
              "image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7")
CHROME_TAIL = [("Accept-Encoding", "gzip, deflate, br, zstd"), ("Accept-Language", "en-GB,en;q=0.9")]


def chrome_page(authority: str) -> list[tuple[str, str]]:
    """Chrome navigating to a page of the site (loopback is a secure context: Sec-Fetch and hints)."""
    return [("Host", authority), ("Connection", "keep-alive"), *CHROME_HINTS, ("Upgrade-Insecure-Requests", "1"),
            ("User-Agent", CHROME_UA),
            ("Accept", NAV_ACCEPT),
            ("Sec-Fetch-Site", "same-origin"), ("Sec-Fetch-Mode", "navigate"), ("Sec-Fetch-User", "?1"),
            ("Sec-Fetch-Dest", "document"), ("Referer", f"http://{authority}/"), *CHROME_TAIL]


def chrome_img(authority: str, page: str, cookie: str | None) -> list[tuple[str, str]]:
    """Chrome loading an <img> of `page`, with the session cookie the page set."""
    return [("Host", authority), ("Connection", "keep-alive"), *CHROME_HINTS[:2], ("User-Agent", CHROME_UA),
            CHROME_HINTS[2], ("Accept", "image/avif,image/webp,image/apng,image/*,*/*;q=0.8"),
            ("Sec-Fetch-Site", "same-origin"), ("Sec-Fetch-Mode", "no-cors"), ("Sec-Fetch-Dest", "image"),
            ("Referer", f"http://{authority}{page}"), *CHROME_TAIL, *([("Cookie", cookie)] if cookie else [])]


def curl(authority: str) -> list[tuple[str, str]]:
    return [("Host", authority), ("User-Agent", "curl/8.7.1"), ("Accept", "*/*")]


def get(port: int, path: str, headers: list[tuple[str, str]]) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=60)
    try:
        conn.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)
        for k, v in headers:
            conn.putheader(k, v)
        conn.endheaders()
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


async def _drive(port: int, request: bytes, connections: int, warmup: float, duration: float) -> dict[str, float]:
    """`connections` keep-alive clients sending `request` back to back; counts what completes in the window."""
    loop = asyncio.get_running_loop()
    t0 = loop.time() + warmup
    t1 = t0 + duration
    done: list[float] = []
    errors = [0]

    async def client() -> None:
        reader: asyncio.StreamReader | None = None
        writer: asyncio.StreamWriter | None = None
        while loop.time() < t1:
            try:
                if reader is None or writer is None:
                    reader, writer = await asyncio.open_connection(HOST, port, limit=1 << 20)
                sent = loop.time()
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head.split(b" ", 2)[1])
                length = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
                if length is None:
                    raise ValueError("no Content-Length")
                await reader.readexactly(int(length.group(1)))
                if t0 <= loop.time() <= t1:
                    done.append(loop.time() - sent)
                    errors[0] += status != 200
            except (OSError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                errors[0] += 1
                if writer is not None:
                    writer.close()
                reader = writer = None
                await asyncio.sleep(0.01)
        if writer is not None:
            writer.close()

    await asyncio.gather(*(client() for _ in range(connections)))
    done.sort()
    return {"rps": len(done) / duration, "p50_ms": 1000 * done[len(done) // 2] if done else 0.0,
            "errors": errors[0]}


def _loadgen(queue: Any, args: tuple[Any, ...]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    queue.put(asyncio.run(_drive(*args)))


def cpu_seconds(pid: int) -> float:
    """user + system CPU of a process (all threads), from /proc."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        fields = f.read().rsplit(b")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(port: int, request: bytes, args: argparse.Namespace, proxy_pid: int) -> dict[str, float]:
    """One window, from a load generator in its own process (never in the proxy's interpreter);
    also the proxy's CPU per response over the whole run (warm-up included, both sides alike)."""
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_loadgen, args=(queue, (port, request, args.connections, args.warmup,
                                                      args.duration)))
    cpu0 = cpu_seconds(proxy_pid)
    proc.start()
    try:
        result: dict[str, float] = queue.get(timeout=args.warmup + args.duration + 60)
    finally:
        proc.join(10)
        if proc.is_alive():
            proc.kill()
    result["proxy_cpu_pct"] = 100 * (cpu_seconds(proxy_pid) - cpu0) / (args.warmup + args.duration)
    result["proxy_cpu_ms"] = result["proxy_cpu_pct"] * 10 / result["rps"] if result["rps"] else 0.0
    return result


def start(cmd: list[str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})


def wait_for(log: Path, pattern: str, proc: subprocess.Popen[bytes], timeout: float = 90) -> re.Match[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited:\n{log.read_text(errors='replace')[-2000:]}")
        m = re.search(pattern, log.read_text(errors="replace"))
        if m:
            return m
        time.sleep(0.1)
    raise RuntimeError(f"not ready: {proc.args!r}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGINT to its process group (a clean exit), then SIGKILL."""
    for sig, grace in ((signal.SIGINT, 10), (signal.SIGKILL, 5)):
        if proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
            proc.wait(grace)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def throughput(args: argparse.Namespace, workdir: Path) -> None:
    from fixative.demo.site import build_site, list_works

    site = build_site(workdir / "site")
    work = next(w for w in list_works() if w.fmt == "jpeg")
    procs: list[subprocess.Popen[bytes]] = []
    try:
        procs.append(start([sys.executable, "-m", "fixative.demo.origin", "--root", str(site), "--host", HOST,
                            "--port", "0"], workdir / "origin.log"))
        m = wait_for(workdir / "origin.log", r"origin listening on http://[^:]+:(\d+)", procs[-1])
        port = free_port()
        procs.append(start([str(VENV_BIN / "fixative"), "run", "--upstream", f"http://{HOST}:{m.group(1)}",
                            "--listen", f"{HOST}:{port}", "--state-dir", str(workdir / "state"), "--admin", "none"],
                           workdir / "fixative.log"))
        wait_for(workdir / "fixative.log", "protecting", procs[-1])
        authority = f"{HOST}:{port}"
        page = get(port, work.page_url, chrome_page(authority))
        cookie = page[1].get("set-cookie", "").split(";", 1)[0] or None
        cases = {"pass-through (Chrome <img>, original)": chrome_img(authority, work.page_url, cookie),
                 "cached variant (curl, traced decoy)": curl(authority)}
        original = (site / work.full_url.lstrip("/")).read_bytes()
        person, scraper = (get(port, work.full_url, h) for h in cases.values())
        if person[2] != original or scraper[2] == original or not scraper[2].startswith(b"\xff\xd8"):
            raise RuntimeError("check failed: Chrome must get the original and curl a JPEG decoy")
        print(f"\n3. Through the proxy: {work.full_url} ({len(original) / 1e3:.0f} kB; decoy "
              f"{len(scraper[2]) / 1e3:.0f} kB), {args.connections} keep-alive connections, "
              f"{args.rounds} rounds x {args.duration:.0f} s", flush=True)
        rates: dict[str, list[float]] = {name: [] for name in cases}
        cpu: dict[str, list[float]] = {name: [] for name in cases}
        for rnd in range(1, args.rounds + 1):
            for name in (list(cases) if rnd % 2 else list(reversed(cases))):
                lines = [f"GET {work.full_url} HTTP/1.1", *(f"{k}: {v}" for k, v in cases[name])]
                run = measure(port, ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"), args, procs[-1].pid)
                rates[name].append(run["rps"])
                cpu[name].append(run["proxy_cpu_ms"])
                print(f"  round {rnd}  {name:<40} {run['rps']:7.1f} req/s  p50 {run['p50_ms']:6.1f} ms  "
                      f"errors {run['errors']:.0f}  proxy CPU {run['proxy_cpu_pct']:3.0f}% of a core, "
                      f"{run['proxy_cpu_ms']:.2f} ms/response", flush=True)
        means = {name: statistics.mean(r) for name, r in rates.items()}
        cached, passing = "cached variant (curl, traced decoy)", "pass-through (Chrome <img>, original)"
        ratio = means[cached] / means[passing]
        cpu_ratio = statistics.mean(cpu[passing]) / statistics.mean(cpu[cached])
        print(f"cached variant / pass-through (target >= {TARGET:.2f}): {ratio:.2f} by req/s, "
              f"{cpu_ratio:.2f} by the proxy's CPU per response -> {'PASS' if ratio >= TARGET else 'FAIL'}")
    finally:
        for proc in reversed(procs):
            stop(proc)


def burst_site(root: Path, count: int) -> list[str]:
    """`count` distinct 1600x1200 JPEGs (smooth gradients with noise, ~300 kB each) and a page."""
    rng = np.random.default_rng(11)
    full = root / "images" / "full"
    full.mkdir(parents=True)
    yy, xx = np.mgrid[0:1200, 0:1600].astype(np.float32)
    paths = []
    for i in range(count):
        a, b, c = rng.uniform(0.002, 0.02, 3)
        base = np.stack([128 + 100 * np.sin(a * xx + i), 128 + 100 * np.cos(b * yy), 128 + 90 * np.sin(c * (xx + yy))], -1)
        pixels = np.clip(base + rng.normal(0, 6, base.shape), 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(full / f"b{i:03d}.jpg", "JPEG", quality=88)
        paths.append(f"/images/full/b{i:03d}.jpg")
    (root / "index.html").write_text("<!doctype html><title>burst</title><p>a page</p>", "utf-8")
    return paths


async def _burst(port: int, paths: list[str], authority: str) -> dict[str, Any]:
    """Every path at once as curl (own connection each) while a person fetches / every 0.2 s."""
    loop = asyncio.get_running_loop()

    async def fetch(path: str, headers: list[tuple[str, str]]) -> tuple[int, float, bytes]:
        start = loop.time()
        reader, writer = await asyncio.open_connection(HOST, port, limit=1 << 22)
        try:
            lines = [f"GET {path} HTTP/1.1", *(f"{k}: {v}" for k, v in headers), "Connection: close"]
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
            head = await reader.readuntil(b"\r\n\r\n")
            length = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
            body = await (reader.readexactly(int(length.group(1))) if length else reader.read())
            return int(head.split(b" ", 2)[1]), loop.time() - start, body
        finally:
            writer.close()

    person: list[float] = []
    finished = asyncio.Event()

    async def browse() -> None:
        while not finished.is_set():
            status, seconds, _ = await fetch("/", chrome_page(authority))
            person.append(seconds)
            await asyncio.sleep(0.2)

    browsing = asyncio.create_task(browse())
    start = loop.time()
    results = await asyncio.gather(*(fetch(p, curl(authority)) for p in paths), return_exceptions=True)
    wall = loop.time() - start
    finished.set()
    await browsing
    ok = [r for r in results if not isinstance(r, BaseException)]
    return {"wall": wall, "decoys": sum(1 for s, _, b in ok if s == 200 and b.startswith(b"\xff\xd8")),
            "blocks": sum(1 for s, _, _ in ok if s == 403), "other": sum(1 for s, _, _ in ok if s not in (200, 403)),
            "errors": len(results) - len(ok), "latency": sorted(t for _, t, _ in ok), "person": sorted(person)}


def burst(args: argparse.Namespace, workdir: Path) -> None:
    root = workdir / "burst-site"
    paths = burst_site(root, args.burst)
    originals = {p: (root / p.lstrip("/")).read_bytes() for p in paths}
    procs: list[subprocess.Popen[bytes]] = []
    try:
        procs.append(start([sys.executable, "-m", "fixative.demo.origin", "--root", str(root), "--host", HOST,
                            "--port", "0"], workdir / "burst-origin.log"))
        m = wait_for(workdir / "burst-origin.log", r"origin listening on http://[^:]+:(\d+)", procs[-1])
        port = free_port()
        procs.append(start([str(VENV_BIN / "fixative"), "run", "--upstream", f"http://{HOST}:{m.group(1)}",
                            "--listen", f"{HOST}:{port}", "--state-dir", str(workdir / "burst-state"),
                            "--admin", "none"], workdir / "burst-fixative.log"))
        wait_for(workdir / "burst-fixative.log", "protecting", procs[-1])
        size = sum(map(len, originals.values())) / len(originals) / 1e3
        print(f"\n4. Burst: {len(paths)} distinct 1600x1200 JPEGs (mean {size:.0f} kB) at once from one scraper, "
              "default pool (images.workers 2, time_limit 10 s, 64 pending at most)", flush=True)
        for wave in ("first (renders)", "again (cache)"):
            cpu0 = cpu_seconds(procs[-1].pid)
            r = asyncio.run(_burst(port, paths, f"{HOST}:{port}"))
            lat, person = r["latency"], r["person"]

            def pct(xs: list[float], q: float) -> float:
                return 1000 * xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")

            print(f"  {wave:<16} {r['wall']:5.1f} s: decoys {r['decoys']}, blocks {r['blocks']}, other "
                  f"{r['other']}, errors {r['errors']}; scraper latency p50 {pct(lat, .5):.0f} ms p90 "
                  f"{pct(lat, .9):.0f} ms max {pct(lat, 1):.0f} ms; person's page p50 {pct(person, .5):.0f} ms "
                  f"max {pct(person, 1):.0f} ms over {len(person)} loads; proxy CPU "
                  f"{cpu_seconds(procs[-1].pid) - cpu0:.1f} s", flush=True)
    finally:
        for proc in reversed(procs):
            stop(proc)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--works", type=int, default=20, help="works in the robustness table (default 20)")
    p.add_argument("--duration", type=float, default=6.0, help="measured seconds per throughput run")
    p.add_argument("--warmup", type=float, default=2.0)
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--skip-throughput", action="store_true")
    p.add_argument("--burst", type=int, default=200, help="distinct images in the burst (0: skip it)")
    p.add_argument("--only-burst", action="store_true", help="run only the burst (section 4)")
    args = p.parse_args(argv)
    from fixative.demo.site import build_site

    with tempfile.TemporaryDirectory(prefix="fixative-bench-treat-") as tmp:
        workdir = Path(tmp)
        if not args.only_burst:
            site = build_site(workdir / "site")
            render_times(site, workdir)
            robustness(site, args.works)
            if not args.skip_throughput:
                throughput(args, workdir)
        if args.burst:
            burst(args, workdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
