"""The Classifier's decision cache (classify.py): keyed by everything signals and rules read, so a cached
Decision is always the one computing it would give."""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path
from typing import Any

import pytest
from fixative.classify import Classifier
from fixative.facts import IMAGE, OTHER, PAGE, Facts, ReverseDns
from fixative.ja4 import TlsFingerprint
from fixative.network.asn import load_asn_database
from fixative.rules.matchers import MATCHERS
from fixative.rules.presets import load_rules
from fixative.rules.ruleset import RuleSet
from fixative.signals import HEADERS_READ, collect_signals, signals_key
from fixative.signals.headers import header_signals
from fixative.signals.tls import tls_signals

# Rules with no User-Agent test, so every request meets them: each reads one more part of the facts.
EVERY_PART = """\
pack: {name: every-part, version: '1', description: test, licence: CC0-1.0, source: test}
rules:
  - {id: path, description: d, weight: 35, match: {path: ['/private/*']}}
  - {id: path-regex, description: d, weight: 5, match: {path_regex: 'q=1'}}
  - {id: method, description: d, weight: 31, match: {method: [POST]}}
  - {id: header, description: d, weight: 7, match: {header: {X-Test: '^yes$'}}}
  - {id: absent, description: d, weight: 3, match: {header_absent: [X-Other]}}
  - {id: known, description: d, weight: 2, match: {headers_known: false}}
  - {id: ja4, description: d, weight: 40, match: {ja4: ['t13d*']}}
  - {id: rdns, description: d, action: allow, match: {rdns: [example.com]}}
  - {id: not-rdns, description: d, weight: 1, match: {not_rdns: [example.com], kind: [image]}}
  - {id: image-rate, description: d, weight: 50, match: {signal: [behaviour.rate], kind: [image]}}
"""

CHROME = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
          "Safari/537.36")
USER_AGENTS = [CHROME, "curl/8.7.1", None, "Googlebot/2.1 (+http://www.google.com/bot.html)",
               "Mozilla/5.0 (compatible; GPTBot/1.2; +https://openai.com/gptbot)",
               "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"]
HEADER_POOL = [("Accept", "text/html,*/*"), ("Accept", "image/avif,image/*"), ("Accept-Language", "en"),
               ("Accept-Encoding", "gzip, br"), ("Sec-Fetch-Dest", "document"), ("Sec-Fetch-Dest", "image"),
               ("Sec-Fetch-Mode", "navigate"), ("Sec-Fetch-Site", "same-origin"), ("Connection", "close"),
               ("sec-ch-ua", '"Chromium";v="131"'), ("X-Test", "yes"), ("X-Other", "1"), ("Upgrade", "websocket"),
               ("Referer", "http://a/"), ("Referer", "http://b/"), ("Cookie", "x=1"), ("Range", "bytes=0-")]


@pytest.fixture(scope="module")
def rules(tmp_path_factory: pytest.TempPathFactory) -> RuleSet:
    pack = tmp_path_factory.mktemp("packs") / "every-part.yaml"
    pack.write_text(EVERY_PART, encoding="utf-8")
    return load_rules("strict", [pack])


def random_facts(rng: random.Random) -> Facts:
    ua = rng.choice(USER_AGENTS)
    headers = [("Host", "localhost:8080")] if rng.random() < 0.9 else []
    if ua is not None:
        headers.append(("User-Agent", ua))
    headers += rng.sample(HEADER_POOL, rng.randint(0, 8))
    rng.shuffle(headers)
    return Facts(
        ip=rng.choice(["127.0.0.1", "66.249.66.1", "20.15.240.64", "203.0.113.9", "52.1.2.3"]), user_agent=ua,
        path=rng.choice(["/", "/gallery/1.html", "/private/a.jpg", "/a.jpg?q=1", "/x.css"]),
        method=rng.choice(["GET", "GET", "POST", "OPTIONS"]), headers=tuple(headers),
        secure=rng.random() < 0.3, time=rng.random() * 1e9, host=rng.choice(["localhost:8080", "example.org"]),
        tls=rng.choice([None, TlsFingerprint("t13d1516h2_x_y", True, ("h2",)), TlsFingerprint("q", False, ())]),
        from_log=rng.random() < 0.1, kind=rng.choice(["", PAGE, IMAGE, OTHER]),
        rdns=rng.choice([None, ReverseDns("crawl.example.com", "ok"), ReverseDns(None, "no PTR")]))


def random_extra(rng: random.Random) -> dict[str, str] | None:
    return rng.choice([None, {}, {"session.valid": "v"}, {"behaviour.rate": "41 requests"},
                       {"behaviour.rate": "50 requests", "session.valid": "v"}, {"ua.bot": "overridden"}])


def variants(facts: Facts, rng: random.Random) -> list[Facts]:
    """The facts, and copies differing in one part each: a cache key that missed that part would mix them."""
    headers = list(facts.headers)
    swapped = headers[::-1]
    out = [facts, dataclasses.replace(facts, headers=tuple(swapped)),
           dataclasses.replace(facts, headers=(*headers, rng.choice(HEADER_POOL))),
           dataclasses.replace(facts, headers=tuple(headers[1:])),
           dataclasses.replace(facts, headers=tuple((n, v + "x") for n, v in headers))]
    for name, pool in (("path", ["/", "/private/a.jpg", "/a.jpg?q=1"]), ("method", ["GET", "POST", "OPTIONS"]),
                       ("ip", ["127.0.0.1", "66.249.66.1", "20.15.240.64"]), ("secure", [True, False]),
                       ("host", ["localhost:8080", "example.org"]), ("time", [1.0, 2e9]),
                       ("kind", [PAGE, IMAGE, OTHER]), ("from_log", [True, False]),
                       ("tls", [None, TlsFingerprint("t13d1516h2_x_y", True, ("h2",)), TlsFingerprint("q", False)]),
                       ("rdns", [None, ReverseDns("crawl.example.com", "ok"), ReverseDns(None, "no PTR")])):
        out.append(dataclasses.replace(facts, **{name: rng.choice(pool)}))
    return out


def test_a_cached_decision_is_the_computed_one(rules: RuleSet) -> None:
    asn = load_asn_database([])
    cached = Classifier(rules, asn, max_decisions=3000)
    rng = random.Random(7)
    hits = 0
    for _ in range(600):
        for facts in variants(random_facts(rng), rng):
            extra = random_extra(rng)
            before = len(cached._decisions)
            signals = collect_signals(facts, asn)
            signals.update(extra or {})
            assert cached.classify(facts, extra) == rules.evaluate(facts, signals), facts
            hits += len(cached._decisions) == before
    assert hits > 500  # variants that change nothing the rules read hit the cache
    assert len(cached._decisions) <= 3000


@pytest.mark.parametrize("signals", [{}, {"behaviour.rate": "41 requests"}, {"ua.bot": "b", "session.valid": "v"}])
def test_equal_rule_keys_give_equal_decisions(rules: RuleSet, signals: dict[str, str]) -> None:
    rng = random.Random(11)
    seen: dict[Any, Any] = {}
    for _ in range(400):
        for facts in variants(random_facts(rng), rng):
            decision = rules.evaluate(facts, signals)
            assert seen.setdefault(rules.facts_key(facts), decision) == decision, facts


def test_equal_signal_keys_give_equal_signals() -> None:
    asn = load_asn_database([])
    rng = random.Random(13)
    seen: dict[Any, Any] = {}
    for _ in range(400):
        for facts in variants(random_facts(rng), rng):
            signals = collect_signals(facts, asn)
            assert seen.setdefault(signals_key(facts), signals) == signals, facts


def test_every_matcher_says_what_it_reads() -> None:
    samples: dict[str, Any] = {"ip": "192.0.2.1", "not_ip": "192.0.2.1", "rdns": "example.com",
                               "not_rdns": "example.com", "path": "/a", "path_regex": "a", "method": "GET",
                               "kind": "page", "header": {"Accept": ".*"}, "header_absent": "Accept",
                               "signal": "ua.bot", "browser_older_than": {"Chrome": 100},
                               "header_order": ["Host"], "headers_known": True, "ja4": "t13*",
                               "user_agent": "x", "user_agent_regex": "x", "user_agent_token": "x",
                               "user_agent_missing": True}
    assert set(samples) == set(MATCHERS)
    for key, matcher in MATCHERS.items():
        assert isinstance(getattr(matcher.compile(samples[key]), "reads", None), frozenset), key


def test_a_test_that_does_not_say_is_never_cached(rules: RuleSet) -> None:
    rule = rules.rules[0]
    silent = type(rule)(**{**rule.__dict__, "ua_tests": (), "other_tests": (lambda facts, signals: True,)})
    bare = RuleSet([silent, *rules.rules], rules.thresholds)
    facts = Facts(ip="192.0.2.1", user_agent=CHROME)
    assert bare.facts_key(facts) is None and rules.facts_key(facts) is not None
    classifier = Classifier(bare)
    classifier.classify(facts)
    assert classifier._decisions == {}


ASKED: set[str] = set()


class Recording(Facts):
    def header(self, name: str) -> str | None:
        ASKED.add(name.lower())
        return super().header(name)


def test_the_header_signals_read_only_the_headers_they_declare() -> None:
    rng = random.Random(3)
    for _ in range(3000):
        f = random_facts(rng)
        facts = Recording(**{k: getattr(f, k) for k in f.__dataclass_fields__})
        header_signals(facts)
        tls_signals(facts)
    assert ASKED and set(HEADERS_READ) >= ASKED, ASKED - set(HEADERS_READ)


def test_the_shipped_packs_are_cached(rules: RuleSet) -> None:
    for ua in USER_AGENTS:
        assert rules.facts_key(Facts(ip="192.0.2.1", user_agent=ua)) is not None, ua


def test_a_new_classifier_after_a_reload_starts_empty(tmp_path: Path) -> None:
    first = Classifier(load_rules("balanced"))
    first.classify(Facts(ip="192.0.2.1", user_agent=CHROME))
    assert len(first._decisions) == 1 and Classifier(first.rules)._decisions == {}
