"""Signals: pure functions from facts to named observations that rules can weigh.

A signal is a name (e.g. `ua.not_a_browser`) with a short human-readable detail.
Signals never decide: rule packs give them weight.
"""

from __future__ import annotations

from ..facts import Facts
from ..network.asn import AsnDatabase
from .browsers import browser_signals
from .headers import header_signals
from .network import network_signals
from .tls import tls_signals
from .useragent import useragent_signals


def collect_signals(facts: Facts, asn: AsnDatabase | None = None) -> dict[str, str]:
    """Every stateless signal that fires for these facts, name → detail."""
    signals = dict(useragent_signals(facts.user_agent))
    signals.update(browser_signals(facts.user_agent))
    signals.update(header_signals(facts))
    signals.update(network_signals(facts.ip, asn))
    if facts.tls is not None:
        signals.update(tls_signals(facts))
    return signals
