"""Which address is the client: X-Forwarded-For and Forwarded only from trusted proxies."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence

from .ipset import IPSet

_FOR_VALUE = re.compile(r'for\s*=\s*("[^"]*"|[^;,\s]*)', re.IGNORECASE)


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
    nearest = peer
    for hop in reversed(chain):
        if hop is None:  # "unknown", "_hidden", garbage: whatever is further out was written by the client
            return nearest
        if hop not in trusted:
            return hop
        nearest = hop
    return nearest


def _forwarded_chain(headers: Sequence[tuple[str, str]]) -> list[str | None]:
    """Hops from X-Forwarded-For, or from Forwarded (RFC 7239) when there is none; oldest first,
    None where unparsable.

    X-Forwarded-For wins because nginx, Caddy, HAProxy and the CDNs write it and pass a client's own
    Forwarded header through untouched: preferring Forwarded would let any client name its address.
    """
    xff = [v for k, v in headers if k.lower() == "x-forwarded-for"]
    if xff:
        parts = ",".join(xff).split(",")
        return [_normalise(p) for p in parts if p.strip()][-64:]
    forwarded = [v for k, v in headers if k.lower() == "forwarded"]
    found = [_FOR_VALUE.search(element) for element in ",".join(forwarded).split(",")] if forwarded else []
    return [_normalise(m.group(1)) if m else None for m in found][-64:]


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
