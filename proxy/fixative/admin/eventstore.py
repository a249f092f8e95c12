"""Read-only queries over the event log, for the API. Blocking: call them through asyncio.to_thread.

Each call opens its own connection (SQLite in WAL mode lets readers and the writer
thread work side by side), so nothing here is shared between threads.
"""

from __future__ import annotations

import ipaddress
import json
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..verdict import VERDICTS

FIELDS = (
    "id",
    "ts",
    "client",
    "ip",
    "user_agent",
    "method",
    "host",
    "path",
    "kind",
    "verdict",
    "score",
    "treatment",
    "applied",
    "status",
    "reasons",
    "site",
)
TOP = 10


@contextmanager
def reader(path: Path) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    conn.row_factory = sqlite3.Row
    try:
        yield conn
    finally:
        conn.close()


def _event(row: sqlite3.Row) -> dict[str, Any]:
    item = {k: row[k] for k in FIELDS}
    item["applied"] = bool(item["applied"])
    item["reasons"] = json.loads(item["reasons"])
    return item


def page(
    path: Path, limit: int, before: int | None = None, verdict: str | None = None,
    site: str | None = None,
) -> dict[str, Any]:
    """Events newest first (of one site, with `sites:`); `next_before` pages further back (None at the end)."""
    sql, args = "SELECT * FROM events WHERE 1=1", list[Any]()
    if site is not None:
        sql += " AND site = ?"
        args.append(site)
    if before is not None:
        sql += " AND id < ?"
        args.append(before)
    if verdict:
        sql += " AND verdict = ?"
        args.append(verdict)
    sql += " ORDER BY id DESC LIMIT ?"
    args.append(limit)
    with reader(path) as conn:
        events = [_event(r) for r in conn.execute(sql, args)]
    more = len(events) == limit and events[-1]["id"] > 1
    return {"events": events, "next_before": events[-1]["id"] if more else None}


def after(path: Path, last_id: int, limit: int = 200, site: str | None = None) -> list[dict[str, Any]]:
    """Events newer than last_id, oldest first (for the live stream); of one site, with `sites:`."""
    args: list[Any] = [last_id]
    sql = "SELECT * FROM events WHERE id > ?"
    if site is not None:
        sql, args = sql + " AND site = ?", [*args, site]
    with reader(path) as conn:
        return [_event(r) for r in conn.execute(sql + " ORDER BY id LIMIT ?", (*args, limit))]


def last_id(path: Path) -> int:
    with reader(path) as conn:
        return int(conn.execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()[0])


def network_of(ip: str) -> str:
    """The /24 (IPv4) or /48 (IPv6) an address belongs to: one network for "top networks"."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def stats(
    path: Path,
    since: float,
    until: float,
    buckets: int = 48,
    describe_network: Callable[[str], str | None] | None = None,
    site: str | None = None,
) -> dict[str, Any]:
    """Counts by verdict and treatment, a time series, and the top agents, networks and works
    (of one site, with `sites:`); last_id: the newest event in the log when they were counted."""
    span = max(until - since, 1.0)
    step = span / buckets
    args: tuple[Any, ...] = (since, until)
    where = "ts >= ? AND ts < ?"
    if site is not None:
        where, args = where + " AND site = ?", (*args, site)
    with reader(path) as conn:
        # One snapshot for every count and for last_id: the dashboard adds live events newer than last_id
        # to these counts, so an event written between two of the queries is neither missed nor counted twice.
        conn.execute("BEGIN")
        last = int(conn.execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()[0])
        verdicts = {v: 0 for v in VERDICTS}
        for row in conn.execute(
            f"SELECT verdict, COUNT(*) n FROM events WHERE {where} GROUP BY verdict", args
        ):
            verdicts[row["verdict"]] = row["n"]
        treatments = [
            {"treatment": r["treatment"], "applied": bool(r["applied"]), "count": r["n"]}
            for r in conn.execute(
                f"SELECT treatment, applied, COUNT(*) n FROM events WHERE {where} "
                "GROUP BY treatment, applied ORDER BY n DESC",
                args,
            )
        ]
        series = [{"start": since + i * step, **{v: 0 for v in VERDICTS}} for i in range(buckets)]
        for row in conn.execute(
            f"SELECT CAST((ts - ?) / ? AS INTEGER) b, verdict, COUNT(*) n FROM events "
            f"WHERE {where} GROUP BY b, verdict",
            (since, step, *args),
        ):
            if 0 <= row["b"] < buckets and row["verdict"] in VERDICTS:
                series[row["b"]][row["verdict"]] += row["n"]
        agents = [
            {"user_agent": r["user_agent"], "count": r["n"], "scraper": r["s"], "suspect": r["q"]}
            for r in conn.execute(
                f"SELECT user_agent, COUNT(*) n, SUM(verdict = 'scraper') s, SUM(verdict = 'suspect') q "
                f"FROM events WHERE {where} GROUP BY user_agent ORDER BY s DESC, q DESC, n DESC LIMIT ?",
                (*args, TOP),
            )
        ]
        by_ip = conn.execute(
            f"SELECT ip, verdict, COUNT(*) n FROM events WHERE {where} "
            "GROUP BY ip, verdict ORDER BY n DESC LIMIT 20000",
            args,
        ).fetchall()
        works = [
            {"path": r["path"], "count": r["n"], "treatments": json.loads(r["t"])}
            for r in conn.execute(
                f"SELECT path, COUNT(*) n, json_group_array(DISTINCT treatment) t FROM events "
                f"WHERE {where} AND verdict != 'human' GROUP BY path ORDER BY n DESC LIMIT ?",
                (*args, TOP),
            )
        ]
    return {
        "since": since,
        "until": until,
        "step": step,
        "total": sum(verdicts.values()),
        "last_id": last,
        "verdicts": verdicts,
        "treatments": treatments,
        "series": series,
        "top_agents": agents,
        "top_networks": _networks(by_ip, describe_network),
        "top_works": works,
    }


def _networks(
    rows: list[sqlite3.Row], describe: Callable[[str], str | None] | None
) -> list[dict[str, Any]]:
    totals: Counter[str] = Counter()
    per: dict[str, Counter[str]] = defaultdict(Counter)
    addresses: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        net = network_of(row["ip"])
        totals[net] += row["n"]
        per[net][row["verdict"]] += row["n"]
        addresses[net].add(row["ip"])
    ranked = sorted(totals, key=lambda n: (-per[n]["scraper"], -per[n]["suspect"], -totals[n]))[
        :TOP
    ]
    out = []
    for net in ranked:
        sample = next(iter(addresses[net]))
        out.append(
            {
                "network": net,
                "count": totals[net],
                "addresses": len(addresses[net]),
                "scraper": per[net]["scraper"],
                "suspect": per[net]["suspect"],
                "as": describe(sample) if describe else None,
            }
        )
    return out
