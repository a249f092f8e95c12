"""The pure classifier: facts in, a Decision with reasons out. No I/O."""

from __future__ import annotations

from .facts import Facts
from .network.asn import AsnDatabase
from .rules.ruleset import RuleSet
from .signals import collect_signals
from .verdict import Decision


class Classifier:
    """Applies signals and rule packs to one request's facts."""

    def __init__(self, rules: RuleSet, asn: AsnDatabase | None = None):
        self.rules = rules
        self.asn = asn

    def classify(self, facts: Facts, extra_signals: dict[str, str] | None = None) -> Decision:
        signals = collect_signals(facts, self.asn)
        if extra_signals:
            signals.update(extra_signals)
        return self.rules.evaluate(facts, signals)

    def rdns_domains(self, facts: Facts, extra_signals: dict[str, str] | None = None) -> frozenset[str]:
        """The domains forward-confirmed reverse DNS would have to verify to change this request's
        verdict (see RuleSet.rdns_domains); empty, at the cost of one cache hit, for nearly every client."""
        if not self.rules.tests_rdns(facts.user_agent):
            return frozenset()
        signals = collect_signals(facts, self.asn)
        if extra_signals:
            signals.update(extra_signals)
        return self.rules.rdns_domains(facts, signals)
