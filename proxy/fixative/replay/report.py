"""The replay summary: one JSON-ready dict (`summarise`) and its text rendering (`format_text`).

Keys of the summary (also the `--json` output):
  file, format, compressed, truncated, seconds, lines_per_second, workers, preset, mode, thresholds
  lines: {read, replayed, skipped, skipped_by_reason, skipped_examples}
  time: {first, last} (epoch seconds of the first and last replayed line, or null)
  verdicts: {human, suspect, scraper} (lines); treatments: {original, watermark, decoy, block, tarpit}
  by_kind: {page|image|other: {human, suspect, scraper}}
  clients: {total, human, suspect, scraper} (address + User-Agent, by the worst verdict of their lines)
  top_agents, top_networks: [{user_agent | network+as+addresses, requests, clients, human, suspect, scraper}]
  top_works: [{path, requests, clients}] (images asked for by suspects and scrapers)
  scrapers: [{ip, user_agent, requests, human, suspect, scraper, altered, first, last,
              reasons: [{rule, lines, effect, text}]}] (the `top` clients with the most scraper lines)
Lists are sorted by count, then by name, so a replay split across processes prints the same.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta, timezone
from typing import Any

from ..admin.eventstore import network_of
from ..facts import KINDS
from ..network.asn import AsnDatabase
from ..policy import TREATMENTS
from ..verdict import HUMAN, SCRAPER, SUSPECT, VERDICTS
from .engine import ClientTally
from .parse import TRUNCATED
from .run import ReplayResult


def summarise(result: ReplayResult, preset: str, mode: str, thresholds: tuple[int, int],
              asn: AsnDatabase | None = None, top: int = 10) -> dict[str, Any]:
    """Everything the report prints, as plain data (see the module docstring for the keys)."""
    tally = result.tally
    clients = list(tally.clients.values())
    treatments = dict.fromkeys(TREATMENTS, 0)
    by_kind = {kind: dict.fromkeys(VERDICTS, 0) for kind in KINDS}
    for (verdict, kind, treatment), n in tally.treatments.items():
        treatments[treatment] = treatments.get(treatment, 0) + n
        by_kind.setdefault(kind, dict.fromkeys(VERDICTS, 0))[verdict] += n
    worst = dict.fromkeys(VERDICTS, 0)
    for client in clients:
        worst[client.worst] += 1
    scrapers = sorted((c for c in clients if c.verdicts[2]),
                      key=lambda c: (-c.verdicts[2], -c.requests, c.ip, c.user_agent or ""))
    return {
        "file": str(result.path), "format": result.format, "compressed": result.compressed,
        "truncated": TRUNCATED in result.malformed.counts,
        "seconds": round(result.seconds, 3), "lines_per_second": round(result.lines_per_second),
        "workers": result.workers, "preset": preset, "mode": mode,
        "thresholds": {"suspect": thresholds[0], "scraper": thresholds[1]},
        "lines": {"read": result.lines_read, "replayed": tally.lines, "skipped": result.malformed.total,
                  "skipped_by_reason": dict(sorted(result.malformed.counts.items())),
                  "skipped_examples": [f"line {n}: {text}" if n else text for n, text in result.malformed.examples]},
        "time": {"first": tally.first, "last": tally.last},
        "verdicts": {v: tally.verdicts.get(v, 0) for v in VERDICTS},
        "treatments": treatments,
        "by_kind": by_kind,
        "clients": {"total": len(clients), **worst},
        "top_agents": _top_groups(clients, lambda c: c.user_agent, "user_agent", top),
        "top_networks": _networks(clients, asn, top),
        "top_works": [{"path": path, "requests": n, "clients": len(ids)}
                      for path, (n, ids) in sorted(tally.works.items(), key=lambda i: (-i[1][0], i[0]))[:top]],
        "scrapers": [c.as_dict() for c in scrapers[:top]],
    }


def _top_groups(clients: list[ClientTally], key: Any, name: str, top: int) -> list[dict[str, Any]]:
    groups: dict[Any, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])  # requests, clients, h, s, x
    for client in clients:
        g = groups[key(client)]
        g[0] += client.requests
        g[1] += 1
        for i in range(3):
            g[2 + i] += client.verdicts[i]
    ranked = sorted(groups.items(), key=lambda i: (-i[1][0], str(i[0])))[:top]
    return [{name: k, "requests": g[0], "clients": g[1], HUMAN: g[2], SUSPECT: g[3], SCRAPER: g[4]}
            for k, g in ranked]


def _networks(clients: list[ClientTally], asn: AsnDatabase | None, top: int) -> list[dict[str, Any]]:
    addresses: dict[str, set[str]] = defaultdict(set)
    for client in clients:
        addresses[network_of(client.ip)].add(client.ip)
    of_ip = {ip: net for net, ips in addresses.items() for ip in ips}
    out = _top_groups(clients, lambda c: of_ip[c.ip], "network", top)
    for row in out:
        sample = min(addresses[row["network"]])
        info = asn.lookup(sample) if asn is not None else None
        row["as"] = info.describe() if info is not None else None
        row["addresses"] = len(addresses[row["network"]])
    return out


def format_text(s: dict[str, Any]) -> str:
    """The summary for people: totals, treatments, clients, top lists, and the scrapers with reasons."""
    lines = s["lines"]
    kind = f"{s['format']}{', gzip' if s['compressed'] else ''}"
    span = (f" from {epoch_to_text(s['time']['first'])} to {epoch_to_text(s['time']['last'])}"
            if s["time"]["first"] is not None else "")
    out = [f"fixative replay: {s['file']} ({kind}): {lines['replayed']:,} requests{span}",
           f"  read {lines['read']:,} lines in {s['seconds']:.1f} s ({s['lines_per_second']:,} lines/s, "
           f"{s['workers']} worker{'s' if s['workers'] != 1 else ''})"]
    if lines["skipped"] or s["truncated"]:
        why = ", ".join(f"{n:,} {reason}" for reason, n in lines["skipped_by_reason"].items() if reason != TRUNCATED)
        out.append(f"  skipped {lines['skipped']:,} malformed line{'s' if lines['skipped'] != 1 else ''}"
                   + (f": {why}" if why else ""))
        out += [f"    {example}" for example in lines["skipped_examples"][:3]]
        if s["truncated"]:
            out.append("  the gzip stream is cut short: the lines before the cut were replayed")
    t = s["thresholds"]
    out.append(f"  rules: preset {s['preset']} (suspect at {t['suspect']}, scraper at {t['scraper']}); "
               f"{'observe mode: only logged, everyone would have got originals' if s['mode'] == 'observe' else 'enforce mode'}")
    total = max(lines["replayed"], 1)
    out += ["", "requests by verdict"]
    out += [f"  {v:<10}{s['verdicts'][v]:>12,}  {s['verdicts'][v] / total:6.1%}" for v in VERDICTS]
    out += ["", "what they would have got"]
    out += [f"  {name:<10}{n:>12,}  {n / total:6.1%}" for name, n in s["treatments"].items() if n]
    c = s["clients"]
    out += ["", f"clients (address + User-Agent): {c['total']:,} ({c[HUMAN]:,} human, {c[SUSPECT]:,} suspect, "
                f"{c[SCRAPER]:,} scraper at least once)"]
    out += _table("top agents", s["top_agents"], "user_agent", 60)
    out += _table("top networks", s["top_networks"], "network", 20, extra=lambda r: f"  {r['addresses']:,} addr"
                  + (f"  {r['as']}" if r["as"] else ""))
    out += ["", "works most targeted (images asked for by suspects and scrapers)"]
    out += [f"  {w['requests']:>10,}  from {w['clients']:>6,} client{'s' if w['clients'] != 1 else ' '}  {w['path']}"
            for w in s["top_works"]] or ["  none"]
    out += ["", f"clients Fixative would have treated as scrapers: {c[SCRAPER]:,}"
                + (f" (the {len(s['scrapers'])} with most scraper lines)" if c[SCRAPER] > len(s["scrapers"]) else "")]
    for client in s["scrapers"]:
        out.append(f"  {client['ip']}  {_clip(client['user_agent'] or '(no User-Agent)', 70)}")
        out.append(f"      {client['requests']:,} requests: {client['scraper']:,} scraper, {client['suspect']:,} "
                   f"suspect, {client['human']:,} human; {client['altered']:,} altered; "
                   f"{epoch_to_text(client['first'])} to {epoch_to_text(client['last'])[11:]}")
        for reason in client["reasons"][:4]:
            effect = reason["effect"] if isinstance(reason["effect"], str) else f"{reason['effect']:+d}"
            out.append(f"      {reason['rule']} [{effect}] on {reason['lines']:,}: {_clip(reason['text'], 90)}")
    return "\n".join(out)


def _table(title: str, rows: list[dict[str, Any]], key: str, width: int, extra: Any = None) -> list[str]:
    out = ["", f"{title:<{width + 2}}{'requests':>11}{'clients':>9}{'human':>8}{'suspect':>8}{'scraper':>8}"]
    for row in rows:
        n = max(row["requests"], 1)
        label = _clip(str(row[key] if row[key] is not None else "(none)"), width)
        out.append(f"  {label:<{width}}{row['requests']:>11,}{row['clients']:>9,}"
                   f"{row[HUMAN] / n:>8.0%}{row[SUSPECT] / n:>8.0%}{row[SCRAPER] / n:>8.0%}"
                   + (extra(row) if extra else ""))
    return out


def epoch_to_text(seconds: float) -> str:
    """UTC time for reports: '2026-11-01 13:55:36 UTC'."""
    moment = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=seconds)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"
