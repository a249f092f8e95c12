"""The event and trace writers: a hostile request's text never stops them (found by Hypothesis)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from fixative.events import Event, EventLog, read_events, sqlite_text
from fixative.traces import Sighting, TraceLog, lookup

SURROGATE = "/images/\udc95\udcff.jpg"  # how mitmproxy decodes the path bytes b"/images/\x95\xff.jpg"


def event(path: str, user_agent: str | None = "curl/8.7.1", n: int = 0) -> Event:
    return Event(ts=time.time() + n, client="127.0.0.1/abcd", ip="127.0.0.1", user_agent=user_agent,
                 method="GET", host="x", path=path, kind="image", verdict="scraper", score=130,
                 treatment="decoy", applied=True, status=200, reasons=("a/b: c",))


def test_sqlite_text_keeps_good_text_and_escapes_surrogates():
    assert sqlite_text(None) is None
    assert sqlite_text("/a") == "/a" and sqlite_text("/café") == "/café"
    assert sqlite_text(SURROGATE) == "/images/\\udc95\\udcff.jpg"


def wait_until(check, timeout: float = 10):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not (result := check()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return result


def test_a_path_or_user_agent_with_surrogates_is_written_and_the_writer_lives_on(tmp_path: Path):
    log = EventLog(tmp_path / "events.sqlite3", flush_interval=0.05)
    log.start()
    try:
        log.record(event(SURROGATE))
        log.record(event("/ok", user_agent="\udc80bin", n=1))
        assert wait_until(lambda: log.written >= 2)
        log.record(event("/after", n=2))  # the writer thread is still there
        assert wait_until(lambda: log.written >= 3)
    finally:
        log.close()
    rows = read_events(tmp_path / "events.sqlite3")
    assert [r["path"] for r in rows] == ["/after", "/ok", "/images/\\udc95\\udcff.jpg"]
    assert rows[1]["user_agent"] == "\\udc80bin" and log.dropped == 0


def test_a_trace_sighting_with_surrogates_is_written(tmp_path: Path):
    traces = TraceLog(tmp_path / "traces.sqlite3")
    traces.start()
    try:
        traces.record(Sighting(tag=7, client="127.0.0.1/ab", ip="127.0.0.1", user_agent="\udcff",
                               ts=time.time(), path=SURROGATE))
        traces.record(Sighting(tag=8, client="127.0.0.1/ab", ip="127.0.0.1", user_agent="curl",
                               ts=time.time(), path="/b.jpg"))
    finally:
        traces.close()
    with sqlite3.connect(tmp_path / "traces.sqlite3") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert lookup(tmp_path / "traces.sqlite3", 7) and lookup(tmp_path / "traces.sqlite3", 8)
