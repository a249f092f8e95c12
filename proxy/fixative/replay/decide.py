"""Cached rule evaluation for replayed log lines: the same Decision as RuleSet.evaluate, reused.

A log line's facts that rules can read are few: the client (address, User-Agent), path, method, kind,
Referer, and the signals. Most lines repeat the same combination once each rule test is reduced to
what it reads, so `CachedRules.evaluate` keys a cache by
  (User-Agent, results of the client tests, results of the path tests, results of the header tests,
   method, kind, names of the signals that fired)
and computes a miss with RuleSet.evaluate itself. Which fact a test reads comes from its matcher
(the loader compiles each test inside its matcher class's compile(), so the closure's qualified name
names it); a rule with a test of a matcher not listed here turns the cache off, never wrong.
Signal details (counts) only change reason texts, not the verdict: a hit keeps the cached texts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..facts import Facts
from ..rules.ruleset import RuleSet
from ..verdict import Decision

CLIENT = "client"    # reads what is fixed for one client of a log: address, User-Agent, TLS, reverse DNS
PATH = "path"
HEADERS = "headers"  # reads headers: for a log line, the User-Agent and Referer only
IN_KEY = "in key"    # reads what the key holds as it is: User-Agent, method, kind, signal names

MATCHER_READS = {
    "UserAgent": IN_KEY, "UserAgentToken": IN_KEY, "UserAgentRegex": IN_KEY, "UserAgentMissing": IN_KEY,
    "BrowserOlderThan": IN_KEY, "Method": IN_KEY, "Kind": IN_KEY, "Signal": IN_KEY,
    "Ip": CLIENT, "NotIp": CLIENT, "ReverseDnsName": CLIENT, "NotReverseDnsName": CLIENT, "Ja4": CLIENT,
    "Path": PATH, "PathRegex": PATH,
    "Header": HEADERS, "HeaderAbsent": HEADERS, "HeaderOrder": HEADERS, "HeadersKnown": HEADERS,
}
MAX_ENTRIES = 200_000  # per cache; cleared when full (bounded memory whatever the log)
Test = Callable[[Facts, Mapping[str, str]], bool]


def matcher_of(test: Any) -> str:
    """The matcher class that compiled this test ('Ip'), from the closure's qualified name."""
    return str(getattr(test, "__qualname__", "")).split(".", 1)[0]


class CachedRules:
    """RuleSet.evaluate with a cache for log lines (facts with from_log=True); see the module docstring."""

    def __init__(self, rules: RuleSet):
        self.rules = rules
        tests: dict[str, list[Test]] = {CLIENT: [], PATH: [], HEADERS: []}
        self.enabled = True
        for rule in rules.rules:
            for test in (*rule.ua_tests, *rule.other_tests):
                reads = MATCHER_READS.get(matcher_of(test))
                if reads is None:
                    self.enabled = False  # a matcher we cannot place: evaluate every line in full
                elif reads != IN_KEY and test not in tests[reads]:
                    tests[reads].append(test)
        self.client_tests = tuple(tests[CLIENT])
        self.path_tests = tuple(tests[PATH])
        self.header_tests = tuple(tests[HEADERS])
        self._paths: dict[str, tuple[bool, ...]] = {}
        self._headers: dict[tuple[str | None, str | None], tuple[bool, ...]] = {}
        self._decisions: dict[tuple[Any, ...], Decision] = {}
        self.hits = 0
        self.misses = 0

    def client_key(self, facts: Facts, signal_names: frozenset[str]) -> tuple[Any, ...]:
        """What the rules can see of this line's client: compute once per client, pass to evaluate."""
        return (facts.user_agent, tuple(t(facts, {}) for t in self.client_tests), signal_names)

    def evaluate(self, facts: Facts, signals: Mapping[str, str], client_key: tuple[Any, ...],
                 extra_names: frozenset[str]) -> Decision:
        """The Decision RuleSet.evaluate gives for these facts and signals. `client_key` comes from
        client_key() for this client; `extra_names` are the signals not in it (behaviour, session)."""
        if not self.enabled:
            return self.rules.evaluate(facts, signals)
        path_key = self._paths.get(facts.path)
        if path_key is None:
            path_key = self._remember(self._paths, facts.path, tuple(t(facts, {}) for t in self.path_tests))
        referer = facts.header("referer")
        header_key = self._headers.get((facts.user_agent, referer))
        if header_key is None:
            header_key = self._remember(self._headers, (facts.user_agent, referer),
                                        tuple(t(facts, {}) for t in self.header_tests))
        key = (client_key, path_key, header_key, facts.method, facts.kind, extra_names)
        decision = self._decisions.get(key)
        if decision is not None:
            self.hits += 1
            return decision
        self.misses += 1
        decision = self.rules.evaluate(facts, signals)
        return self._remember(self._decisions, key, decision)

    @staticmethod
    def _remember(cache: dict[Any, Any], key: Any, value: Any) -> Any:
        if len(cache) >= MAX_ENTRIES:
            cache.clear()
        cache[key] = value
        return value
