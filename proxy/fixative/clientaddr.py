"""Which address is the client: X-Forwarded-For and Forwarded only from trusted proxies."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence

from .ipset import IPSet

_FORWARDED_FOR = re.compile(r'for\s*=\s*"?\[?([0-9a-fA-F:.]+)', re.IGNORECASE)


def client_address(peer: str, headers: Sequence[tuple[str, str]], trusted: IPSet) -> str:
    """The client's address.

    Walk the forwarding chain from the nearest hop outwards while each hop is a
    trusted proxy; the first untrusted hop is the client. Untrusted peers' headers
    are ignored entirely, since anyone can write them.
    """
    peer = _normalise(peer) or peer
    if not len(trusted) or peer not in trusted:
        return peer
    chain = _forwarded_chain(headers)
    for hop in reversed(chain):
        if hop not in trusted:
            return hop
    return chain[0] if chain else peer


def _forwarded_chain(headers: Sequence[tuple[str, str]]) -> list[str]:
    """Addresses from Forwarded (preferred, RFC 7239) or X-Forwarded-For, oldest first."""
    forwarded = [v for k, v in headers if k.lower() == "forwarded"]
    if forwarded:
        found = _FORWARDED_FOR.findall(",".join(forwarded))
        return [a for a in (_normalise(x) for x in found) if a]
    xff = [v for k, v in headers if k.lower() == "x-forwarded-for"]
    parts = ",".join(xff).split(",") if xff else []
    return [a for a in (_normalise(p) for p in parts) if a]


def _normalise(text: str) -> str | None:
    text = text.strip().strip('"')
    if text.startswith("[") and "]" in text:
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # IPv4 with port
        text = text.split(":", 1)[0]
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if ip.version == 6 and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ip)
