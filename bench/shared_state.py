"""What sharing state through Redis costs a visitor: one Fixative with state in memory against one with
`shared:` pointed at a real redis-server, same origin, same traffic, measured in the same run.

People only (the human path): 200 browsers from their own 127.x addresses, each keeping its session
cookie, browsing as in bench/soak.py (a gallery page, three thumbnails, a work page, its full image),
each request on a new connection, `--connections` at a time (closed loop) for `--duration` seconds
after `--warmup`. Prints requests/s, p50/p99 latency and the proxy's CPU per response for both, and
the ratios shared/local. With Redis, every request waits for one read of its client's shared state
(a pipelined round trip) and changes are written in batches in the background.

    .venv/bin/python bench/shared_state.py [--duration 20] [--warmup 5] [--connections 8] [--rounds 2]

Needs redis-server (scripts/setup --test installs it). Not a test: it asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from proxy_throughput import cpu_seconds, free_port, machine_busy_seconds  # noqa: E402
from soak import Traffic, percentile  # noqa: E402
from stack import HOST, Stack, exchange, start_stack  # noqa: E402

PEOPLE = 200


async def drive(stack: Stack, duration: float, warmup: float, connections: int) -> dict[str, float]:
    traffic = Traffic(stack.port)
    latencies: list[float] = []
    errors = 0
    counter = iter(range(10**9))
    measuring = False

    async def worker() -> None:
        nonlocal errors
        while not stop.is_set():
            k = next(counter) % PEOPLE
            address, request, _ = traffic.person(k)
            try:
                status, headers, _, seconds = await exchange(stack.port, request, address)
            except (OSError, ValueError, asyncio.IncompleteReadError, TimeoutError):
                errors += measuring
                continue
            if "set-cookie" in headers and k not in traffic.cookies:
                traffic.cookies[k] = headers["set-cookie"].split(";", 1)[0]
            if not measuring:
                continue
            if status != 200:
                errors += 1
            latencies.append(seconds)

    stop = asyncio.Event()
    workers = [asyncio.create_task(worker()) for _ in range(connections)]
    await asyncio.sleep(warmup)
    measuring = True
    pid = stack.proxy.popen.pid
    cpu0, busy0, t0 = cpu_seconds(pid), machine_busy_seconds(), time.monotonic()
    await asyncio.sleep(duration)
    cpu1, busy1, t1 = cpu_seconds(pid), machine_busy_seconds(), time.monotonic()
    measuring = False
    stop.set()
    await asyncio.gather(*workers)
    done = len(latencies)
    wall = t1 - t0
    return {"requests": done, "errors": errors, "rps": done / wall, "p50_ms": percentile(latencies, .5),
            "p99_ms": percentile(latencies, .99), "cpu_ms_per_response": 1000 * (cpu1 - cpu0) / max(done, 1),
            "machine_busy_cores": (busy1 - busy0) / wall}


def start_redis() -> tuple[subprocess.Popen[bytes], str]:
    server = shutil.which("redis-server")
    if server is None:
        sys.exit("bench/shared_state.py needs redis-server: run scripts/setup --test (or apt-get install redis-server)")
    port = free_port()
    proc = subprocess.Popen([server, "--port", str(port), "--bind", HOST, "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL)
    for _ in range(100):
        if subprocess.run(["redis-cli", "-p", str(port), "PING"], capture_output=True, text=True,
                          check=False).stdout.strip() == "PONG":
            return proc, f"redis://{HOST}:{port}/0"
        time.sleep(0.1)
    proc.kill()
    sys.exit("redis-server did not start")


def shared_status(stack: Stack) -> dict[str, object]:
    import urllib.request

    token = (stack.state_dir / "admin-token").read_text().strip()
    req = urllib.request.Request(f"http://{HOST}:{stack.admin_port}/api/status",
                                 headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())["shared"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=20)
    parser.add_argument("--warmup", type=float, default=5)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    redis, url = start_redis()
    results: dict[str, list[dict[str, float]]] = {"local": [], "shared": []}
    try:
        for round_ in range(args.rounds):
            for name, config in (("local", ""), ("shared", f"shared: {url}\n")):
                stack = start_stack(config)
                try:
                    result = asyncio.run(drive(stack, args.duration, args.warmup, args.connections))
                    if name == "shared":
                        status = shared_status(stack)
                        result.update(redis_up=float(bool(status["up"])), redis_loads=float(status["loads"]),  # type: ignore[arg-type]
                                      redis_load_failures=float(status["load_failures"]))  # type: ignore[arg-type]
                finally:
                    stack.stop()
                results[name].append(result)
                print(f"round {round_ + 1} {name:6}: {result['rps']:7.1f} req/s  p50 {result['p50_ms']:6.1f} ms  "
                      f"p99 {result['p99_ms']:6.1f} ms  proxy CPU {result['cpu_ms_per_response']:5.2f} ms/response  "
                      f"errors {result['errors']:.0f}  machine busy {result['machine_busy_cores']:.2f} cores"
                      + (f"  Redis reads {result['redis_loads']:.0f} (failed {result['redis_load_failures']:.0f})"
                         if name == "shared" else ""), flush=True)
    finally:
        redis.terminate()
        redis.wait(10)

    def best(name: str, key: str, low: bool = False) -> float:
        values = [r[key] for r in results[name]]
        return min(values) if low else max(values)

    print("\nbest of the rounds (shared / local):")
    print(f"  requests/s          {best('shared', 'rps'):8.1f} / {best('local', 'rps'):8.1f} = "
          f"{best('shared', 'rps') / best('local', 'rps'):.2f}")
    print(f"  p50 ms              {best('shared', 'p50_ms', True):8.1f} / {best('local', 'p50_ms', True):8.1f}")
    print(f"  p99 ms              {best('shared', 'p99_ms', True):8.1f} / {best('local', 'p99_ms', True):8.1f}")
    print(f"  proxy CPU ms/resp.  {best('shared', 'cpu_ms_per_response', True):8.2f} / "
          f"{best('local', 'cpu_ms_per_response', True):8.2f} = "
          f"{best('shared', 'cpu_ms_per_response', True) / best('local', 'cpu_ms_per_response', True):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
