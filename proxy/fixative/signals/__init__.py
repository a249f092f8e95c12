"""Signals: pure functions from facts to named observations that rules can weigh.

A signal is a name (e.g. `ua.not_a_browser`) with a short human-readable detail.
Signals never decide: rule packs give them weight.
"""

from __future__ import annotations

from ..facts import Facts
from .useragent import useragent_signals


def collect_signals(facts: Facts) -> dict[str, str]:
    """Every stateless signal that fires for these facts, name → detail."""
    return dict(useragent_signals(facts.user_agent))
