"""Network signals: is the client in a data centre, a VPN, or Apple's iCloud Private Relay?

A User-Agent is whatever the client says; the network it connects from is harder to fake.
People rarely browse from a cloud or hosting network, so packs weigh `network.hosting`;
Private Relay exits are real people on Apple devices and get their own signal, which a
pack can weigh at zero or below.
"""

from __future__ import annotations

import ipaddress

from ..network import AsnDatabase

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
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global
