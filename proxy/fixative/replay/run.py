"""Replay a whole log file, in one process or split by client address across several.

Results depend only on each client's own lines in order (engine.py), so worker w takes the lines
whose client address hashes to w: every worker reads the whole file, parses only its own lines
(JSON lines are parsed by all, to find the address) and the tallies are merged. The outcome equals
one process's, unless more than behaviour.max_clients clients are active at once (the cap is per
process) — then the merged replay forgets fewer clients.
"""

from __future__ import annotations

import multiprocessing
import os
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import Config
from ..network.asn import AsnDatabase
from ..rules.ruleset import RuleSet
from .engine import Replayer, Tally
from .parse import AUTO, COMBINED, JSON, PARSERS, TRUNCATED, BadLine, LogFile, Malformed, detect_format
from .progress import Progress

PARALLEL_FROM = 16 << 20  # bytes on disk: smaller logs replay faster than processes start
CHECK_EVERY = 1024  # lines between progress updates (drawn at most a few times a second)


@dataclass
class ReplayResult:
    """A finished replay: the tally, what was skipped, and how it went."""

    path: Path
    format: str
    compressed: bool
    tally: Tally
    malformed: Malformed
    lines_read: int = 0  # non-blank lines, parsed or not
    seconds: float = 0.0
    workers: int = 1
    cache: dict[str, int] = field(default_factory=dict)

    @property
    def lines_per_second(self) -> float:
        return self.lines_read / self.seconds if self.seconds > 0 else 0.0


def first_format(path: Path) -> str:
    """combined or json, from the first non-blank line of the (possibly gzip) file."""
    log = LogFile(path)
    try:
        for line in log.lines():
            if line.strip():
                return detect_format(line)
        return COMBINED
    finally:
        log.close()


def default_workers(path: Path) -> int:
    """1 for small logs or without fork(), else one per idle CPU (at most 4): on a busy machine more
    processes than free CPUs only add the cost of each reading the whole file."""
    if path.stat().st_size < PARALLEL_FROM or "fork" not in multiprocessing.get_all_start_methods():
        return 1
    busy = round(os.getloadavg()[0]) if hasattr(os, "getloadavg") else 0
    return max(1, min(4, (os.cpu_count() or 1) - busy))


def replay_file(path: Path, fmt: str, config: Config, rules: RuleSet, asn: AsnDatabase | None,
                robots_txt: str | None = None, workers: int = 1, progress: Progress | None = None,
                keep_cookies: bool = True) -> ReplayResult:
    """Replay `path` (fmt: auto, combined or json). OSError if it cannot be read."""
    started = time.perf_counter()
    if progress is not None:
        progress.update(0, 0, force=True)
    chosen = first_format(path) if fmt == AUTO else fmt
    if "fork" not in multiprocessing.get_all_start_methods():
        workers = 1
    setup = (chosen, config, rules, asn, robots_txt, keep_cookies)
    if workers <= 1:
        tally, malformed, read, compressed = _replay_part(path, setup, 0, 1, progress, None)
        results = [(tally, malformed, read, compressed)]
    else:
        results = _parallel(path, setup, workers, progress)
    if progress is not None:
        progress.close()
    tally, malformed, read, compressed = results[0]
    for other, bad, lines, _ in results[1:]:
        tally.merge(other)
        malformed.merge(bad)
        read += lines
    cache = {"hits": tally.cache_hits, "misses": tally.cache_misses}
    return ReplayResult(path, chosen, compressed, tally, malformed, read, time.perf_counter() - started,
                        max(workers, 1), cache)


Setup = tuple[str, Config, RuleSet, "AsnDatabase | None", "str | None", bool]


def _replay_part(path: Path, setup: Setup, part: int, parts: int, progress: Progress | None,
                 shared: Any) -> tuple[Tally, Malformed, int, bool]:
    """Replay the lines of client partition `part` of `parts`; report progress to a bar or a shared array."""
    fmt, config, rules, asn, robots_txt, keep_cookies = setup
    parse = PARSERS[fmt]
    replayer = Replayer(config, rules, asn, robots_txt, keep_cookies)
    malformed = Malformed()
    by_entry = parts > 1 and fmt == JSON  # the address is only known once the line is parsed
    by_line = parts > 1 and not by_entry  # combined: the address is the line's first word
    log = LogFile(path)
    read = 0
    try:
        for number, line in enumerate(log.lines(), 1):
            if not line.strip():
                continue
            if by_line and zlib.crc32(line[:line.find(" ")].encode()) % parts != part:
                continue
            try:
                entry = parse(line)
            except BadLine as e:
                if not by_entry or part == 0:  # JSON: every worker parses every line; one counts it
                    read += 1
                    malformed.note(str(e.args[0]), number, line)
                continue
            if by_entry and zlib.crc32(entry.ip.encode()) % parts != part:
                continue
            read += 1
            replayer.feed(entry)
            if read % CHECK_EVERY == 0:
                if progress is not None:
                    progress.update(log.position(), read)
                elif shared is not None:
                    shared[2 * part], shared[2 * part + 1] = log.position(), read
        if log.truncated and part == 0:
            malformed.note(TRUNCATED, 0, f"{path.name}: the gzip stream ends before its end marker")
    finally:
        log.close()
    tally = replayer.tally
    tally.cache_hits, tally.cache_misses = replayer.cached.hits, replayer.cached.misses
    tally.finish()
    for client in tally.clients.values():  # only the counts travel back from a worker
        client.signals, client.rules_key, client.cookie = {}, (), None
    if shared is not None:
        shared[2 * part], shared[2 * part + 1] = log.size, read
    return tally, malformed, read, log.compressed


def _parallel(path: Path, setup: Setup, workers: int, progress: Progress | None) -> list[Any]:
    """One forked process per partition (the rules and databases are inherited, not pickled)."""
    context = multiprocessing.get_context("fork")
    shared = context.RawArray("q", 2 * workers)  # per worker: bytes read, lines taken
    pipes, processes = [], []
    for w in range(workers):
        receive, send = context.Pipe(duplex=False)
        process = context.Process(target=_worker, args=(path, setup, w, workers, shared, send), daemon=True)
        process.start()
        send.close()
        pipes.append(receive)
        processes.append(process)
    results: list[Any] = [None] * workers
    try:
        waiting = set(range(workers))
        while waiting:
            for w in list(waiting):
                if pipes[w].poll():
                    results[w] = pipes[w].recv()
                    waiting.discard(w)
                elif not processes[w].is_alive() and not pipes[w].poll():
                    raise RuntimeError(f"replay worker {w} died (exit code {processes[w].exitcode})")
            if progress is not None:
                progress.update(min(shared[2 * w] for w in range(workers)),
                                sum(shared[2 * w + 1] for w in range(workers)))
            if waiting:
                time.sleep(0.05)
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
            process.join()
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results


def _worker(path: Path, setup: Setup, part: int, parts: int, shared: Any, send: Any) -> None:
    try:
        result: Any = _replay_part(path, setup, part, parts, None, shared)
    except BaseException as e:  # noqa: BLE001 - handed to the parent, which raises it
        result = e
    send.send(result)
    send.close()
