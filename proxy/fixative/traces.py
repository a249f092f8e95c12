"""Which client each trace tag was served to: SQLite in the state dir, written off the event loop.

`TraceLog.record` never blocks: sightings go to a bounded queue that a writer thread
folds into one row per (tag, client) with first/last seen and a count. `TraceBudget`
decides which clients get a traced copy of their own, so a flood of new clients costs
a bounded number of renders (see `allow`).
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .events import sqlite_text

log = logging.getLogger(__name__)

DB_NAME = "traces.sqlite3"
SCHEMA = """
CREATE TABLE IF NOT EXISTS traces (
    tag INTEGER NOT NULL,
    client TEXT NOT NULL,
    ip TEXT NOT NULL,
    user_agent TEXT,
    first_seen REAL NOT NULL,
    last_seen REAL NOT NULL,
    served INTEGER NOT NULL DEFAULT 1,
    last_path TEXT,
    PRIMARY KEY (tag, client)
);
CREATE INDEX IF NOT EXISTS traces_last_seen ON traces (last_seen);
"""
_UPSERT = """
INSERT INTO traces (tag, client, ip, user_agent, first_seen, last_seen, served, last_path)
VALUES (?, ?, ?, ?, ?, ?, 1, ?)
ON CONFLICT (tag, client) DO UPDATE SET
    last_seen = max(last_seen, excluded.last_seen), ip = excluded.ip,
    user_agent = excluded.user_agent, served = served + 1, last_path = excluded.last_path
"""
_STOP = object()


@dataclass(frozen=True)
class Sighting:
    """One traced copy served: to whom (client key, address, User-Agent), when, for which path."""

    tag: int
    client: str
    ip: str
    user_agent: str | None
    ts: float
    path: str


def connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=10, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.executescript(SCHEMA)
    return conn


class TraceLog:
    """Bounded queue and one writer thread; rows older than `retention_days` are pruned."""

    def __init__(self, path: Path, retention_days: float = 365, queue_size: int = 50_000):
        self.path = path
        self.retention_days = retention_days
        self.dropped = 0
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=queue_size)
        self._thread: threading.Thread | None = None
        connect(path).close()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="fixative-traces", daemon=True)
            self._thread.start()

    def record(self, sighting: Sighting) -> None:
        try:
            self._queue.put_nowait(sighting)
        except queue.Full:
            self.dropped += 1

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join(timeout=10)
            self._thread = None

    def _run(self) -> None:
        conn = connect(self.path)
        last_prune = 0.0
        try:
            while True:
                batch, stop = self._take()
                if batch:
                    self._write(conn, batch)
                if time.time() - last_prune > 3600:
                    self._prune(conn)
                    last_prune = time.time()
                if stop:
                    return
        finally:
            conn.close()

    def _take(self) -> tuple[list[Sighting], bool]:
        batch: list[Sighting] = []
        try:
            item = self._queue.get(timeout=0.25)
            while item is not _STOP:
                batch.append(item)
                if len(batch) >= 1000:
                    return batch, False
                item = self._queue.get_nowait()
        except queue.Empty:
            return batch, False
        return batch, True

    def _write(self, conn: sqlite3.Connection, batch: list[Sighting]) -> None:
        try:
            with conn:
                conn.executemany(_UPSERT, [(s.tag, sqlite_text(s.client), sqlite_text(s.ip),
                                            sqlite_text(s.user_agent), s.ts, s.ts, sqlite_text(s.path))
                                           for s in batch])
        except (sqlite3.Error, ValueError, OverflowError) as e:  # never let one batch stop the writer
            self.dropped += len(batch)
            log.error("could not write %d trace sightings to %s: %s", len(batch), self.path, e)

    def _prune(self, conn: sqlite3.Connection) -> None:
        try:
            with conn:
                conn.execute("DELETE FROM traces WHERE last_seen < ?", (time.time() - self.retention_days * 86400,))
        except sqlite3.Error as e:
            log.error("could not prune %s: %s", self.path, e)


def lookup(path: Path, tag: int) -> list[dict[str, Any]]:
    """Every client that was served `tag`, most recently seen first (several if tags collide)."""
    if not path.exists():
        return []
    conn = connect(path)
    try:
        conn.row_factory = sqlite3.Row
        rows = conn.execute("SELECT * FROM traces WHERE tag = ? ORDER BY last_seen DESC", (tag,))
        return [dict(r) for r in rows]
    finally:
        conn.close()


class TraceBudget:
    """Who gets a traced copy of their own: the first `per_image` distinct tags per image and hour,
    and at most `per_hour` new traced copies in all. Everyone else shares the untraced copy.

    A traced copy costs a render (tens of ms to a second); an untraced one is a cache hit.
    Memory is bounded by `max_images` (least recently used images are forgotten).
    """

    def __init__(self, per_image: int, per_hour: int, max_images: int = 20_000):
        self.per_image = per_image
        self.per_hour = per_hour
        self.max_images = max_images
        self.refused = 0
        self._images: OrderedDict[str, tuple[int, set[int]]] = OrderedDict()
        self._hour = -1
        self._spent = 0

    def allow(self, image: str, tag: int, now: float) -> bool:
        hour = int(now // 3600)
        if hour != self._hour:
            self._hour, self._spent = hour, 0
        window, tags = self._images.get(image, (hour, set()))
        if window != hour:
            tags = set()
        self._images[image] = (hour, tags)
        self._images.move_to_end(image)
        while len(self._images) > self.max_images:
            self._images.popitem(last=False)
        if tag in tags:
            return True
        if len(tags) >= self.per_image or self._spent >= self.per_hour:
            self.refused += 1
            return False
        tags.add(tag)
        self._spent += 1
        return True
