"""A set of IP networks with O(log n) membership, for rule matching.

Published crawler ranges run to thousands of prefixes; a sorted list of merged
integer intervals and one bisect per lookup keeps each check to microseconds.
"""

from __future__ import annotations

import bisect
import ipaddress
from collections.abc import Iterable
from functools import lru_cache


def parse_network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """Parse an address or CIDR ('192.0.2.0/24', '2001:db8::1'); raise ValueError if invalid."""
    text = str(text).strip()
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise ValueError(f"{text!r} is not an IP address or CIDR range (e.g. 192.0.2.0/24)") from None


class IPSet:
    """Immutable set of IPv4 and IPv6 networks."""

    __slots__ = ("_starts4", "_ends4", "_starts6", "_ends6", "size")

    def __init__(self, networks: Iterable[str | ipaddress.IPv4Network | ipaddress.IPv6Network]):
        v4: list[tuple[int, int]] = []
        v6: list[tuple[int, int]] = []
        count = 0
        for net in networks:
            if isinstance(net, str):
                net = parse_network(net)
            count += 1
            span = (int(net.network_address), int(net.broadcast_address))
            (v4 if net.version == 4 else v6).append(span)
        self._starts4, self._ends4 = _merge(v4)
        self._starts6, self._ends6 = _merge(v6)
        self.size = count

    def __contains__(self, address: str) -> bool:
        key = address_key(address)
        if key is None:
            return False
        version, value = key
        starts, ends = (self._starts4, self._ends4) if version == 4 else (self._starts6, self._ends6)
        i = bisect.bisect_right(starts, value) - 1
        return i >= 0 and value <= ends[i]

    def __len__(self) -> int:
        return self.size


@lru_cache(maxsize=65536)
def address_key(address: str) -> tuple[int, int] | None:
    """(version, integer) of an address, IPv4-mapped IPv6 as IPv4; None if invalid.

    Cached: one request's address is tested against several ranges, and clients repeat.
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.version, int(ip)


def _merge(spans: list[tuple[int, int]]) -> tuple[list[int], list[int]]:
    starts: list[int] = []
    ends: list[int] = []
    for start, end in sorted(spans):
        if ends and start <= ends[-1] + 1:
            ends[-1] = max(ends[-1], end)
        else:
            starts.append(start)
            ends.append(end)
    return starts, ends
