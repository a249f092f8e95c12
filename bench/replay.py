"""Throughput of `fixative replay`: lines per second on a realistic synthetic access log.

Writes the log once (bench/replay_log.py, default one million lines, reused while it exists), then
replays it with the balanced preset in one process and with --workers processes, and prints lines/s
by the wall clock and the CPU seconds used. The two replays must agree (the script checks the
verdict counts); the machine's load is printed, since a busy machine slows everything.

    .venv/bin/python bench/replay.py [--lines 1000000] [--workers 2] [--log /tmp/fixative-replay-1m.log]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from replay_log import write_log  # noqa: E402

from fixative.config import load_config  # noqa: E402
from fixative.replay.run import replay_file  # noqa: E402
from fixative.rules.presets import load_rules  # noqa: E402
from fixative.runtime import load_asn  # noqa: E402


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (the workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1))
    parser.add_argument("--log", type=Path, default=None, help="where the log is written (default: /tmp)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    log = args.log or Path("/tmp") / f"fixative-replay-{args.lines}-{args.seed}.log"
    if not log.exists():
        started = time.perf_counter()
        write_log(log, args.lines, args.seed)
        print(f"wrote {args.lines:,} lines ({log.stat().st_size / 1e6:.0f} MB) to {log} "
              f"in {time.perf_counter() - started:.0f} s")
    config = load_config(None)
    rules = load_rules(config.preset)
    asn = load_asn(config)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    verdicts = []
    for workers in sorted({1, args.workers}):
        cpu, wall = cpu_seconds(), time.perf_counter()
        result = replay_file(log, "auto", config, rules, asn, workers=workers)
        wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
        verdicts.append(dict(result.tally.verdicts))
        print(f"  {workers} worker{'s' if workers > 1 else ' '}: {result.lines_read:,} lines in {wall:5.1f} s = "
              f"{result.lines_read / wall:7,.0f} lines/s  (CPU {cpu:5.1f} s = {result.lines_read / cpu:6,.0f} lines "
              f"per CPU second; cache hits {result.cache['hits']:,}, misses {result.cache['misses']:,})")
    print(f"  verdicts: {verdicts[0]}")
    if any(v != verdicts[0] for v in verdicts):
        sys.exit(f"the replays disagree: {verdicts}")


if __name__ == "__main__":
    main()
