"""replay/decide.py: the cached evaluation gives exactly RuleSet.evaluate's decisions."""

from __future__ import annotations

import re

import pytest

from fixative.replay.decide import MATCHER_READS, CachedRules, matcher_of
from fixative.rules.loader import load_ruleset
from fixative.rules.matchers import MATCHERS
from replay_helpers import ROOT, loaded, replayer, synthetic_lines

LINES = synthetic_lines(4000, seed=11)


@pytest.mark.parametrize("preset", ["balanced", "strict", "permissive"])
def test_cached_decisions_equal_full_evaluation(preset: str) -> None:
    cached, full = replayer(preset), replayer(preset)
    full.cached.enabled = False
    assert cached.cached.enabled, "a shipped matcher is missing from MATCHER_READS: the cache is off"
    for item in LINES:
        a, b = cached.feed(item), full.feed(item)
        assert (a.verdict, a.score, [r.name for r in a.reasons]) == (b.verdict, b.score, [r.name for r in b.reasons])
    assert cached.cached.hits > 10 * cached.cached.misses  # it does cache
    for key, client in cached.tally.clients.items():  # and each client's reason texts are its own
        assert client.as_dict() == full.tally.clients[key].as_dict()


def test_every_matcher_is_placed() -> None:
    """A new matcher must say what it reads (MATCHER_READS), or replay evaluates every line in full."""
    assert {m.__name__ for m in MATCHERS.values()} <= set(MATCHER_READS)


def test_an_unknown_matcher_turns_the_cache_off() -> None:
    _, rules, _ = loaded()

    def mystery(facts, signals):  # not compiled by any matcher class
        return facts.time > 0

    rule = rules.rules[0]
    odd = type(rules)([type(rule)(**{**rule.__dict__, "other_tests": (*rule.other_tests, mystery)})])
    assert matcher_of(mystery) not in MATCHER_READS and not CachedRules(odd).enabled
    assert CachedRules(rules).enabled


def test_matchers_are_named_by_their_class() -> None:
    pack = load_ruleset([ROOT / "rules" / "client-fingerprints.yaml"])
    names = {matcher_of(t) for rule in pack.rules for t in (*rule.ua_tests, *rule.other_tests)}
    assert names == {"HeaderOrder", "HeaderAbsent"}
    assert all(re.fullmatch(r"[A-Z][A-Za-z]+", n) for n in names)
