"""Network signals: is the client in a data centre, a VPN, or Apple's iCloud Private Relay?

A User-Agent is whatever the client says; the network it connects from is harder to fake.
People rarely browse from a cloud or hosting network, so packs weigh `network.hosting`;
Private Relay exits are real people on Apple devices and get their own signal, which a
pack can weigh at zero or below.
"""

from __future__ import annotations

import ipaddress

from ..network import AsnDatabase
from ..network.ranges import RangeTable, Span, ip_key

SIGNAL_OF_CATEGORY = {
    "cloud": "network.hosting",
    "hosting": "network.hosting",
    "paas": "network.hosting",
    "cdn": "network.cdn",  # edge workers, but also Cloudflare WARP users
    "vpn": "network.vpn",
    "privacy-relay": "network.privacy_relay",
    "ai-crawler-operator": "network.crawler_operator",  # Meta, ByteDance, Apple's own networks
}


def network_signals(ip: str, db: AsnDatabase | None) -> dict[str, str]:
    """Signals for the client address, name → detail; nothing without a db or for non-public addresses."""
    if db is None:
        return {}
    info = db.lookup(ip)
    if info is None or info.category is None or not is_public(ip):
        return {}
    name = SIGNAL_OF_CATEGORY.get(info.category)
    return {name: info.describe()} if name else {}


def is_public(ip: str) -> bool:
    """False for loopback, private, link-local, CGNAT, documentation and other special addresses."""
    key = ip_key(ip)
    return key is not None and _SPECIAL.find(*key) is None


def _special_table() -> RangeTable[bool]:
    spans: dict[int, list[Span[bool]]] = {4: [], 6: []}
    for text in SPECIAL_PURPOSE:
        net = ipaddress.ip_network(text)
        spans[net.version].append((int(net.network_address), int(net.broadcast_address), (0,), True))
    return RangeTable.from_spans(spans[4], spans[6])


# IANA special-purpose registries (RFC 6890 and successors): never a client on the public Internet.
SPECIAL_PURPOSE = (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
    "203.0.113.0/24", "224.0.0.0/3",  # multicast, reserved and broadcast
    "::/127", "100::/64", "2001:2::/48", "2001:10::/28", "2001:20::/28", "2001:db8::/32", "fc00::/7",
    "fe80::/10", "ff00::/8",
)
_SPECIAL = _special_table()
