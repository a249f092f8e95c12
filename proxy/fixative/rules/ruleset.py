"""Compiled rules and the fixed evaluation order that turns them into a Decision.

Order (documented in rules/README.md): rules are taken in pack order, then file
order. The first decisive rule that matches decides (allow → human, deny →
scraper). Weight rules that match all add to the score; if nothing decided,
the score against the thresholds gives the verdict. Every matching rule is a reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, NamedTuple

from ..facts import Facts
from ..verdict import HUMAN, SCRAPER, SUSPECT, Decision, Reason
from .matchers import Test

ACTIONS = {"allow": HUMAN, "deny": SCRAPER}
ALWAYS_KEYED = frozenset({"user_agent", "ip", "method", "kind", "tls", "from_log", "signals"})
_Candidates = tuple[list[tuple[int, "Rule", Test]], dict[str, list[tuple[int, "Rule"]]]]


@dataclass(frozen=True)
class Rule:
    """One compiled rule of a pack."""

    pack: str
    id: str
    description: str
    ua_tests: tuple[Test, ...]
    other_tests: tuple[Test, ...]
    weight: int = 0
    action: str | None = None
    tags: tuple[str, ...] = ()
    signals: tuple[str, ...] = ()
    user_agents: tuple[str, ...] = ()  # plain substrings, for robots.txt and exports
    line: int = 0
    rdns_tests: tuple[Test, ...] = ()  # the reverse-DNS tests, also in other_tests
    rdns_domains: tuple[str, ...] = ()  # the domains they name: what a lookup must verify

    @property
    def name(self) -> str:
        return f"{self.pack}/{self.id}"


@dataclass(frozen=True)
class PackInfo:
    """A pack's metadata as written in its `pack:` block."""

    name: str
    version: str
    description: str
    licence: str
    source: str
    path: str
    rule_count: int = 0


@dataclass(frozen=True)
class Thresholds:
    suspect: int = 30
    scraper: int = 70


class KeySpec(NamedTuple):
    """What of the facts the rules a User-Agent could meet read, beyond ALWAYS_KEYED (see facts_key)."""

    headers: tuple[str, ...]  # lower-case names whose values they read
    path: bool
    header_names: bool
    rdns: bool


@dataclass
class RuleSet:
    """Every loaded rule in evaluation order, with thresholds."""

    rules: Sequence[Rule]
    thresholds: Thresholds = field(default_factory=Thresholds)
    packs: Sequence[PackInfo] = ()

    def __post_init__(self) -> None:
        # Browsers send few distinct User-Agents: cache which rules survive the
        # UA tests so the hot path only runs the cheap remaining matchers.
        self._ua_candidates = lru_cache(maxsize=4096)(self._compute_ua_candidates)
        self._rdns_candidates = lru_cache(maxsize=4096)(self._compute_rdns_candidates)
        self._key_spec = lru_cache(maxsize=4096)(self._compute_key_spec)

    def _compute_ua_candidates(self, user_agent: str | None) -> _Candidates:
        """Rules whose UA tests pass: those needing only a signal, indexed by signal; the rest in order,
        each with one test standing for all its other tests."""
        probe = Facts(ip="", user_agent=user_agent, kind="other")
        by_signal: dict[str, list[tuple[int, Rule]]] = {}
        general: list[tuple[int, Rule, Test]] = []
        for index, rule in enumerate(self.rules):
            if not all(t(probe, {}) for t in rule.ua_tests):
                continue
            if rule.signals and len(rule.other_tests) == 1:  # its one remaining test is the signal
                for name in rule.signals:
                    by_signal.setdefault(name, []).append((index, rule))
            else:
                general.append((index, rule, _all_of(rule.other_tests)))
        return general, by_signal

    def _compute_rdns_candidates(self, user_agent: str | None) -> tuple[tuple[Rule, tuple[Test, ...]], ...]:
        """For this User-Agent: the rules up to the last that tests reverse DNS, each with its tests
        other than reverse DNS; empty when no rule that could fire tests it (nearly every client)."""
        general, by_signal = self._ua_candidates(user_agent)
        by_index = {i: r for rules in by_signal.values() for i, r in rules}
        ordered = sorted([*((i, r) for i, r, _ in general), *by_index.items()], key=lambda pair: pair[0])
        last = max((n for n, (_, rule) in enumerate(ordered) if rule.rdns_tests), default=-1)
        return tuple((rule, tuple(t for t in rule.other_tests if t not in rule.rdns_tests))
                     for _, rule in ordered[:last + 1])

    def _compute_key_spec(self, user_agent: str | None) -> KeySpec | None:
        """What the rules this User-Agent could meet read of the facts (matchers.reading); None when a test
        does not say."""
        general, by_signal = self._ua_candidates(user_agent)
        parts: set[str] = set()
        for rule in [*(r for _, r, _ in general), *(r for rules in by_signal.values() for _, r in rules)]:
            for test in rule.other_tests:
                reads = getattr(test, "reads", None)
                if reads is None:
                    return None
                parts.update(reads)
            if rule.rdns_tests:
                parts.add("rdns")  # _explain reads facts.rdns.detail
        headers = tuple(sorted(p.removeprefix("header:") for p in parts if p.startswith("header:")))
        known = ALWAYS_KEYED | {"path", "header_names", "rdns"}
        if any(p not in known and not p.startswith("header:") for p in parts):
            return None
        return KeySpec(headers, "path" in parts, "header_names" in parts, "rdns" in parts)

    def facts_key(self, facts: Facts) -> tuple[Any, ...] | None:
        """Everything of the facts evaluate() reads (signals apart): equal keys and equal signals give equal
        Decisions. None when a rule's test does not say what it reads."""
        spec = self._key_spec(facts.user_agent)
        if spec is None:
            return None
        return (facts.user_agent, facts.ip, facts.method, facts.kind, facts.tls, facts.from_log,
                facts.path if spec.path else None, facts.header_names if spec.header_names else None,
                facts.rdns if spec.rdns else None, facts.header_values(spec.headers))

    def tests_rdns(self, user_agent: str | None) -> bool:
        """Could a rule testing reverse DNS fire for this User-Agent? Cached: false for nearly everyone."""
        return bool(self._rdns_candidates(user_agent))

    def rdns_domains(self, facts: Facts, signals: Mapping[str, str]) -> frozenset[str]:
        """The domains a reverse-DNS lookup would have to verify to change this request's outcome:
        those of the rules testing reverse DNS that match otherwise, up to the first decisive rule that
        matches without it (e.g. a crawler already verified by its published ranges). Empty: no lookup."""
        domains: set[str] = set()
        for rule, tests in self._rdns_candidates(facts.user_agent):
            if not all(t(facts, signals) for t in tests):
                continue
            if rule.rdns_tests:
                domains.update(rule.rdns_domains)
            elif rule.action:
                break
        return frozenset(domains)

    def evaluate(self, facts: Facts, signals: Mapping[str, str]) -> Decision:
        """Apply every rule to the facts and signals; return the verdict with its reasons."""
        reasons: list[Reason] = []
        decided: Reason | None = None
        score = 0
        general, by_signal = self._ua_candidates(facts.user_agent)
        matched = [(i, r) for i, r, test in general if test(facts, signals)]
        if signals:
            fired = {i: r for name in signals for i, r in by_signal.get(name, ())}
            if fired:
                matched = sorted([*matched, *fired.items()], key=lambda pair: pair[0])
        for _, rule in matched:
            reason = Reason(rule.pack, rule.id, _explain(rule, facts, signals), rule.weight, rule.action)
            reasons.append(reason)
            if rule.action:
                decided = decided or reason
            else:
                score += rule.weight
        if decided is not None:
            verdict = ACTIONS[decided.action or ""]
        elif score >= self.thresholds.scraper:
            verdict = SCRAPER
        elif score >= self.thresholds.suspect:
            verdict = SUSPECT
        else:
            verdict = HUMAN
        return Decision(verdict, score, tuple(reasons), decided)

    def robots_tokens(self) -> list[str]:
        """User-agent tokens of rules tagged robots:disallow, for the robots.txt group."""
        seen: dict[str, None] = {}
        for rule in self.rules:
            if "robots:disallow" in rule.tags:
                for token in rule.user_agents:
                    seen.setdefault(token, None)
        return list(seen)


def _all_of(tests: tuple[Test, ...]) -> Test:
    """One test passing when all of these do (a rule with one test is that test: no extra call)."""
    if len(tests) == 1:
        return tests[0]

    def test(facts: Facts, signals: Mapping[str, str]) -> bool:
        return all(t(facts, signals) for t in tests)

    return test


def _explain(rule: Rule, facts: Facts, signals: Mapping[str, str]) -> str:
    details = [signals[s] for s in rule.signals if signals.get(s)]
    if rule.rdns_tests:
        details.append(f"reverse DNS: {facts.rdns.detail if facts.rdns else 'not looked up'}")
    return f"{rule.description} ({'; '.join(details)})" if details else rule.description
