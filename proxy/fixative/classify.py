"""The pure classifier: facts in, a Decision with reasons out. No I/O."""

from __future__ import annotations

from typing import Any

from .facts import Facts
from .network.asn import AsnDatabase
from .rules.ruleset import RuleSet
from .signals import collect_signals, signals_key
from .verdict import Decision

MAX_DECISIONS = 8192


class Classifier:
    """Applies signals and rule packs to one request's facts.

    A Decision is a pure function of what collect_signals and the rules read of the facts, and of the
    extra (behaviour, session) signals: the last MAX_DECISIONS are remembered by exactly that, so a
    client's repeated requests (a person's page and its images) skip the work.
    """

    def __init__(self, rules: RuleSet, asn: AsnDatabase | None = None, max_decisions: int = MAX_DECISIONS):
        self.rules = rules
        self.asn = asn
        self.max_decisions = max_decisions
        self._decisions: dict[tuple[Any, ...], Decision] = {}

    def classify(self, facts: Facts, extra_signals: dict[str, str] | None = None) -> Decision:
        rules_key = self.rules.facts_key(facts)
        if rules_key is None:
            return self._classify(facts, extra_signals)
        key = (rules_key, signals_key(facts), tuple(extra_signals.items()) if extra_signals else ())
        decision = self._decisions.get(key)
        if decision is None:
            decision = self._classify(facts, extra_signals)
            if len(self._decisions) >= self.max_decisions:
                del self._decisions[next(iter(self._decisions))]  # the oldest
            self._decisions[key] = decision
        return decision

    def _classify(self, facts: Facts, extra_signals: dict[str, str] | None) -> Decision:
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
