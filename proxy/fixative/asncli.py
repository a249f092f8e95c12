"""`fixative asn IP [IP ...]`: what is known about an address's network, and which published
crawler ranges of the rule packs contain it."""

from __future__ import annotations

import argparse
import ipaddress
import json
import sys
from pathlib import Path
from typing import Any

from .facts import OTHER, Facts
from .network import AsnDatabase, load_asn_database
from .rules.loader import RulePackError
from .rules.ruleset import Rule, RuleSet
from .signals.network import network_signals

EXIT_USAGE = 2
RANGE_TAGS = ("operator:", "bot:")
OUTSIDE_EVERY_RANGE = "0.0.0.0"


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the `asn` subcommand to the `fixative` command's subparsers."""
    p: argparse.ArgumentParser = subparsers.add_parser("asn", help="what is known about an address's network: AS, hosting, "
                                           "VPN or relay, published crawler ranges")
    p.add_argument("ips", nargs="+", metavar="IP", help="IPv4 or IPv6 address")
    p.add_argument("--db", action="append", type=Path, default=[], metavar="FILE",
                   help="ip2asn TSV (.tsv, .tsv.gz) or GeoLite2-ASN/DB-IP ASN .mmdb, in priority order "
                        "(repeatable); the shipped hosting/VPN/relay table is always consulted")
    p.add_argument("--preset", default="balanced",
                   help="rule preset whose published IP ranges are checked (default balanced)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_asn)
    return p


def cmd_asn(args: argparse.Namespace) -> int:
    from .rules.presets import load_rules

    bad = [ip for ip in args.ips if _parse(ip) is None]
    if bad:
        return _fail(f"{bad[0]!r} is not an IP address (e.g. 192.0.2.7 or 2001:db8::7)")
    try:
        db = load_asn_database(args.db)
        rules = load_rules(args.preset)
    except (RulePackError, ValueError, OSError) as e:
        return _fail(str(e))
    reports = [describe_ip(ip, db, rules) for ip in args.ips]
    if args.json:
        print(json.dumps(reports, indent=2))
    else:
        print("\n\n".join(format_report(r) for r in reports))
    return 0


def describe_ip(ip: str, db: AsnDatabase, rules: RuleSet) -> dict[str, Any]:
    """Everything known about one (valid) address, as a JSON-ready dict."""
    address = _parse(ip)
    assert address is not None
    info = db.lookup(ip)
    return {
        "ip": ip,
        "scope": _scope(address),
        "asn": info.asn if info and info.asn else None,
        "org": info.org if info else None,
        "brand": info.brand if info else None,
        "category": info.category if info else None,
        "source": info.source if info else None,
        "signals": network_signals(ip, db),
        "published_ranges": crawler_ranges(ip, rules),
    }


def crawler_ranges(ip: str, rules: RuleSet) -> list[dict[str, Any]]:
    """Rules tagged operator:/bot: whose IP ranges contain the address.

    Each rule is tried with its own User-Agent token (or none) from `ip` and from 0.0.0.0, which
    no published range contains: a rule that fires only from `ip` matched on its range.
    """
    out = []
    for rule in rules.rules:
        labels = [t for t in rule.tags if t.startswith(RANGE_TAGS)]
        if not labels:
            continue
        agent = rule.user_agents[0] if rule.user_agents else None
        if _fires(rule, ip, agent) and not _fires(rule, OUTSIDE_EVERY_RANGE, agent):
            out.append({"rule": rule.name, "tags": labels, "text": rule.description, "action": rule.action,
                        "weight": rule.weight, "user_agent": agent})
    return out


def _fires(rule: Rule, ip: str, user_agent: str | None) -> bool:
    facts = Facts(ip=ip, user_agent=user_agent, kind=OTHER)
    return all(test(facts, {}) for test in (*rule.ua_tests, *rule.other_tests))


def format_report(r: dict[str, Any]) -> str:
    lines = [f"{r['ip']}  ({r['scope']})"]
    if r["org"]:
        asn = f"AS{r['asn']} " if r["asn"] else ""
        brand = f" ({r['brand']})" if r["brand"] else ""
        lines.append(f"  network:   {asn}{r['org']}{brand}")
        lines.append(f"  category:  {r['category'] or 'none (not a known hosting, VPN or relay network)'}")
        lines.append(f"  source:    {r['source']}")
    else:
        lines.append("  network:   unknown (give a full ip2asn or GeoLite2-ASN database with --db)")
    for name, detail in r["signals"].items():
        lines.append(f"  signal:    {name} ({detail})")
    for hit in r["published_ranges"]:
        effect = hit["action"] or f"{hit['weight']:+d}"
        agent = f" with User-Agent {hit['user_agent']!r}" if hit["user_agent"] else ""
        lines.append(f"  in range:  {hit['rule']} [{', '.join(hit['tags'])}; {effect}{agent}]: {hit['text']}")
    if not r["published_ranges"]:
        lines.append("  in range:  no published crawler range of the preset")
    return "\n".join(lines)


SCOPES = [(ipaddress.ip_network(n), name) for n, name in (
    ("10.0.0.0/8", "private"), ("172.16.0.0/12", "private"), ("192.168.0.0/16", "private"),
    ("fc00::/7", "private"), ("100.64.0.0/10", "shared (carrier-grade NAT)"),
    ("192.0.2.0/24", "documentation"), ("198.51.100.0/24", "documentation"),
    ("203.0.113.0/24", "documentation"), ("2001:db8::/32", "documentation"))]


def _scope(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """public, or which kind of non-public address (loopback, private, documentation, ...)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for name in ("loopback", "link_local", "multicast", "unspecified"):
        if getattr(address, f"is_{name}"):
            return name.replace("_", "-")
    for net, name in SCOPES:
        if address in net:
            return name
    return "public" if address.is_global else "special-purpose"


def _parse(ip: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(ip)
    except ValueError:
        return None


def _fail(message: str) -> int:
    print(f"fixative asn: {message}", file=sys.stderr)
    return EXIT_USAGE
