"""TLS handshake signals: does the ClientHello fit the browser the User-Agent claims?

Only when Fixative terminates TLS itself (`fixative run --cert`); otherwise the handshake
is not seen and nothing fires. Which fingerprints belong to which library is data, in
rules/tls-fingerprints.yaml (`ja4:` matcher); these signals are the structural checks
that need no list: a browser's handshake looks like a browser's whatever its version.
"""

from __future__ import annotations

from ..facts import Facts
from .headers import CHROMIUM, claim_of

HEADERS_READ = ("upgrade",)  # with the handshake and the User-Agent, all tls_signals depends on


def tls_signals(facts: Facts) -> dict[str, str]:
    """tls.* signals for one request; empty without a handshake or a browser User-Agent."""
    tls = facts.tls
    if tls is None:
        return {}
    claim = claim_of(facts.user_agent)
    if claim is None:
        return {}
    found: dict[str, str] = {}
    # Chromium has sent GREASE values (RFC 8701) in every ClientHello since version 55 (2016).
    if claim.engine == CHROMIUM and not tls.grease:
        found["tls.grease_missing"] = f"{claim.label} always sends GREASE; this handshake ({tls.ja4}) has none"
    # Every current browser offers HTTP/2; a WebSocket connection may offer only http/1.1.
    if "h2" not in tls.alpn and facts.header("upgrade") is None:
        offered = ", ".join(tls.alpn) or "no ALPN"
        found["tls.no_http2"] = f"{claim.label} offers h2; this handshake offers {offered}"
    return found
