"""client_address: forwarding headers are believed only from trusted proxies."""

from __future__ import annotations

import pytest

from fixative.clientaddr import client_address
from fixative.ipset import IPSet

NONE = IPSet([])
LAN = IPSet(["10.0.0.0/8", "fd00::/8"])
XFF = "X-Forwarded-For"


@pytest.mark.parametrize(
    ("peer", "headers", "trusted", "expected"),
    [
        # no trusted proxies: the peer, whatever the headers say
        ("198.51.100.7", [], NONE, "198.51.100.7"),
        ("198.51.100.7", [(XFF, "66.249.66.1")], NONE, "198.51.100.7"),
        ("198.51.100.7", [("Forwarded", "for=66.249.66.1")], NONE, "198.51.100.7"),
        # an untrusted peer's headers are ignored: anyone can write them
        ("198.51.100.7", [(XFF, "66.249.66.1")], LAN, "198.51.100.7"),
        # a trusted proxy: the hop before it
        ("10.0.0.2", [(XFF, "203.0.113.9")], LAN, "203.0.113.9"),
        ("10.0.0.2", [("x-forwarded-for", "203.0.113.9")], LAN, "203.0.113.9"),
        # walk from the nearest hop outwards while hops are trusted; the client's own claims stop there
        ("10.0.0.2", [(XFF, "66.249.66.1, 203.0.113.9, 10.1.1.1")], LAN, "203.0.113.9"),
        ("10.0.0.2", [(XFF, "66.249.66.1,203.0.113.9"), (XFF, "10.1.1.1")], LAN, "203.0.113.9"),
        # every hop trusted: the oldest one
        ("10.0.0.2", [(XFF, "10.9.9.9, 10.1.1.1")], LAN, "10.9.9.9"),
        # trusted peer, no header: the peer
        ("10.0.0.2", [], LAN, "10.0.0.2"),
        ("10.0.0.2", [(XFF, "")], LAN, "10.0.0.2"),
        # garbage entries are skipped
        ("10.0.0.2", [(XFF, "garbage, 203.0.113.9")], LAN, "203.0.113.9"),
        ("10.0.0.2", [(XFF, "not an address")], LAN, "10.0.0.2"),
        # ports and brackets are removed
        ("10.0.0.2", [(XFF, "203.0.113.9:51234")], LAN, "203.0.113.9"),
        ("10.0.0.2", [(XFF, "[2001:db8::5]:443")], LAN, "2001:db8::5"),
        ("10.0.0.2", [(XFF, "2001:db8::5")], LAN, "2001:db8::5"),
        # X-Forwarded-For wins over Forwarded: nginx and Caddy write the one and pass a client's own
        # Forwarded through, so a client could otherwise name any address
        ("10.0.0.2", [("Forwarded", "for=203.0.113.9;proto=https"), (XFF, "198.51.100.1")], LAN, "198.51.100.1"),
        ("10.0.0.2", [("Forwarded", 'for="[2001:db8:cafe::17]:4711"')], LAN, "2001:db8:cafe::17"),
        ("10.0.0.2", [("Forwarded", "for=192.0.2.43, for=198.51.100.17;by=10.0.0.2")], LAN, "198.51.100.17"),
        ("10.0.0.2", [("Forwarded", "for=192.0.2.43"), ("forwarded", "For = 10.3.3.3")], LAN, "192.0.2.43"),
        ("10.0.0.2", [("Forwarded", 'for="192.0.2.60:8080"')], LAN, "192.0.2.60"),
        # IPv4-mapped IPv6 addresses are the IPv4 address, for the peer and for hops
        ("::ffff:10.0.0.2", [(XFF, "203.0.113.9")], LAN, "203.0.113.9"),
        ("::ffff:198.51.100.7", [], NONE, "198.51.100.7"),
        ("10.0.0.2", [(XFF, "::ffff:203.0.113.9")], LAN, "203.0.113.9"),
        # IPv6 proxies
        ("fd00::1", [(XFF, "2001:db8::9")], LAN, "2001:db8::9"),
        ("[fd00::1]", [(XFF, "203.0.113.9")], LAN, "203.0.113.9"),
    ],
)
def test_client_address(peer: str, headers: list[tuple[str, str]], trusted: IPSet, expected: str) -> None:
    assert client_address(peer, headers, trusted) == expected


def test_unparsable_peer_is_returned_as_given() -> None:
    assert client_address("not-an-ip", [(XFF, "203.0.113.9")], LAN) == "not-an-ip"


@pytest.mark.parametrize(
    "headers",
    [
        [("Forwarded", "for=66.249.66.1, for=_hidden")],  # RFC 7239 obfuscated identifier
        [("Forwarded", "for=66.249.66.1, for=unknown")],  # RFC 7239 unknown
        [(XFF, "66.249.66.1, unknown")],
    ],
    ids=["obfuscated", "unknown", "xff-unknown"],
)
def test_an_unknown_hop_ends_the_walk(headers: list[tuple[str, str]]) -> None:
    """The nearest untrusted hop is the client even when the proxy could not name it; the entries
    before it were written by the client itself (here: a forged Google address)."""
    assert client_address("10.0.0.2", headers, LAN) != "66.249.66.1"
