"""The event log: every decision, in SQLite (WAL) in the state dir, with bounded retention.

Writes never block the proxy: events go to a bounded queue that a writer thread
commits in batches. If the queue is full the event is counted as dropped.

The writer shares the interpreter lock with the proxy's event loop: each time it lets go (SQLite
releases it around every statement it runs) and takes it back, the loop may wait. So rows go in
as multi-row INSERTs, ROWS_PER_INSERT at a time, and the queue is a SimpleQueue (no lock of its
own around put and get). Recording every decision cost about a twentieth of the proxy's page
throughput with one INSERT per row (bench/README.md).
"""

from __future__ import annotations

import json
import logging
import queue
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, NamedTuple

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    ts REAL NOT NULL,
    client TEXT NOT NULL,
    ip TEXT NOT NULL,
    user_agent TEXT,
    method TEXT NOT NULL,
    host TEXT,
    path TEXT NOT NULL,
    kind TEXT NOT NULL,
    verdict TEXT NOT NULL,
    score INTEGER NOT NULL,
    treatment TEXT NOT NULL,
    applied INTEGER NOT NULL,
    status INTEGER,
    reasons TEXT NOT NULL,
    site TEXT
);
CREATE INDEX IF NOT EXISTS events_ts ON events (ts);
CREATE INDEX IF NOT EXISTS events_verdict_ts ON events (verdict, ts);
"""
COLUMNS = ("ts", "client", "ip", "user_agent", "method", "host", "path", "kind", "verdict", "score",
           "treatment", "applied", "status", "reasons", "site")
_STOP = object()
ROWS_PER_INSERT = 64  # 960 parameters: under SQLite's oldest limit (999)
_INSERT = f"INSERT INTO events ({', '.join(COLUMNS)}) VALUES "
_ROW = f"({', '.join('?' * len(COLUMNS))})"


class Event(NamedTuple):
    """One decision as recorded. `applied` is False in observe mode (original served).
    A NamedTuple: one is made for every request, at a third of a frozen dataclass's cost."""

    ts: float
    client: str
    ip: str
    user_agent: str | None
    method: str
    host: str | None
    path: str
    kind: str
    verdict: str
    score: int
    treatment: str
    applied: bool
    status: int | None
    reasons: tuple[str, ...]
    site: str | None = None  # the site's name with `sites:` ("-" for a Host no site has); None with one site

    def row(self) -> tuple[Any, ...]:
        t = sqlite_text
        return (self.ts, t(self.client), t(self.ip), t(self.user_agent), t(self.method), t(self.host),
                t(self.path), self.kind, self.verdict, self.score, self.treatment, int(self.applied), self.status,
                _reasons_json(self.reasons), t(self.site))


_JSON: dict[tuple[str, ...], str] = {}


def _reasons_json(reasons: tuple[str, ...]) -> str:
    """The reasons as JSON, remembered: a Decision's reasons repeat for every request it is given to."""
    text = _JSON.get(reasons)
    if text is None:
        if len(_JSON) >= 4096:
            _JSON.clear()
        text = _JSON[reasons] = json.dumps(list(reasons))
    return text


def sqlite_text(value: str | None) -> str | None:
    """Text SQLite can store: request bytes mitmproxy decoded with surrogates (a binary path or
    User-Agent) are kept as backslash escapes instead of failing the whole batch."""
    if value is None or value.isascii():
        return value
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        return value.encode("utf-8", "backslashreplace").decode("utf-8")


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating if needed) the event database in WAL mode."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=10, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.executescript(SCHEMA)
    if "site" not in {row[1] for row in conn.execute("PRAGMA table_info(events)")}:
        conn.execute("ALTER TABLE events ADD COLUMN site TEXT")  # a log from before `sites:`
    conn.execute("CREATE INDEX IF NOT EXISTS events_site_ts ON events (site, ts)")
    return conn


class EventLog:
    """Bounded, batched, threaded writer plus simple readers."""

    def __init__(self, path: Path, retention_days: float = 30, max_rows: int = 1_000_000,
                 flush_interval: float = 0.25, queue_size: int = 100_000):
        self.path = path
        self.retention_days = retention_days
        self.max_rows = max_rows
        self.flush_interval = flush_interval
        self.dropped = 0
        self.written = 0
        self.queue_size = queue_size
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        connect(path).close()  # fail early, at start-up, if the state dir is unusable

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="fixative-events", daemon=True)
            self._thread.start()

    def record(self, event: Event) -> None:
        """Queue one event; never blocks."""
        if self._queue.qsize() < self.queue_size:
            self._queue.put(event)
        else:
            self.dropped += 1

    def close(self) -> None:
        """Flush what is queued and stop the writer."""
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join(timeout=10)
            self._thread = None

    def _run(self) -> None:
        # Not at a lower CPU priority, as the render threads are: this thread holds the interpreter lock
        # for its Python work, and descheduled while holding it, it would stall the event loop.
        conn = connect(self.path)
        last_prune = 0.0
        try:
            while True:
                batch, stop = self._take_batch()
                if batch:
                    self._write(conn, batch)
                if time.time() - last_prune > 60:
                    self._prune(conn)
                    last_prune = time.time()
                if stop:
                    return
        finally:
            conn.close()

    def _take_batch(self) -> tuple[list[Event], bool]:
        batch: list[Event] = []
        try:
            item = self._queue.get(timeout=self.flush_interval)
        except queue.Empty:
            return batch, False
        if item is not _STOP and self._queue.qsize() < 100:
            # Let a whole interval's events gather: each batch costs the event loop some handoffs of the
            # interpreter lock. Waiting a fifth of it, the writer woke ~210 times a second under the
            # benchmark's image load, and ~50 with the whole interval (/proc context switches).
            time.sleep(self.flush_interval)
        while item is not _STOP:
            batch.append(item)
            if len(batch) >= 2000:
                return batch, False
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return batch, False
        return batch, True

    def _write(self, conn: sqlite3.Connection, batch: list[Event]) -> None:
        try:
            with conn:
                for start in range(0, len(batch), ROWS_PER_INSERT):
                    chunk = batch[start:start + ROWS_PER_INSERT]
                    conn.execute(_INSERT + ", ".join([_ROW] * len(chunk)),
                                 [value for event in chunk for value in event.row()])
            self.written += len(batch)
        except (sqlite3.Error, ValueError, OverflowError) as e:  # never let one batch stop the writer
            self.dropped += len(batch)
            log.error("could not write %d events to %s: %s", len(batch), self.path, e)

    def _prune(self, conn: sqlite3.Connection) -> None:
        cutoff = time.time() - self.retention_days * 86400
        try:
            with conn:
                conn.execute("DELETE FROM events WHERE ts < ?", (cutoff,))
                conn.execute("DELETE FROM events WHERE id <= (SELECT MAX(id) FROM events) - ?",
                             (self.max_rows,))
        except sqlite3.Error as e:
            log.error("could not prune the event log %s: %s", self.path, e)


def read_events(path: Path, limit: int = 100, verdict: str | None = None) -> list[dict[str, Any]]:
    """The most recent events, newest first."""
    conn = connect(path)
    try:
        conn.row_factory = sqlite3.Row
        sql = "SELECT * FROM events"
        args: list[Any] = []
        if verdict:
            sql += " WHERE verdict = ?"
            args.append(verdict)
        sql += " ORDER BY id DESC LIMIT ?"
        args.append(limit)
        rows = [dict(r) for r in conn.execute(sql, args)]
    finally:
        conn.close()
    for row in rows:
        row["reasons"] = json.loads(row["reasons"])
    return rows
