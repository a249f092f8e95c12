"""Signals: pure functions from facts to named observations that rules can weigh.

A signal is a name (e.g. `ua.not_a_browser`) with a short human-readable detail.
Signals never decide: rule packs give them weight.
"""

from __future__ import annotations

from typing import Any

from ..facts import Facts
from ..network.asn import AsnDatabase
from . import headers, tls
from .browsers import browser_signals
from .headers import header_signals, headers_known
from .network import network_signals
from .tls import tls_signals
from .useragent import useragent_signals

HEADERS_READ = tuple(dict.fromkeys((*headers.HEADERS_READ, *tls.HEADERS_READ)))


def collect_signals(facts: Facts, asn: AsnDatabase | None = None) -> dict[str, str]:
    """Every stateless signal that fires for these facts, name → detail."""
    signals = dict(useragent_signals(facts.user_agent))
    signals.update(browser_signals(facts.user_agent))
    signals.update(header_signals(facts))
    signals.update(network_signals(facts.ip, asn))
    if facts.tls is not None:
        signals.update(tls_signals(facts))
    return signals


def signals_key(facts: Facts) -> tuple[Any, ...]:
    """Everything of the facts collect_signals reads: equal keys, equal signals (for one ASN database)."""
    return (facts.user_agent, facts.ip, facts.method, facts.kind, facts.tls, facts.from_log,
            facts.secure_context, headers_known(facts), facts.header_values(HEADERS_READ))
