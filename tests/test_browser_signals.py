"""Stale and impossible browsers, and the matchers behind them: browser_older_than, header_order, headers_known."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from fixative.classify import Classifier
from fixative.facts import Facts
from fixative.rules.matchers import BrowserOlderThan, HeaderOrder, HeadersKnown
from fixative.rules.presets import load_rules
from fixative.signals.browsers import browser_signals, impossible_reasons, newest_plausible
from test_header_signals import BROWSERS, FIXTURES, IMG2DATASET_UA, fixture_facts

UA_TABLE = yaml.safe_load((Path(__file__).parent / "data" / "user_agents.yaml").read_text(encoding="utf-8"))
REAL_BROWSER_UAS = [c["ua"] for c in UA_TABLE["cases"] if c.get("browser")] + [
    c["ua"] for c in UA_TABLE["curl_impersonate"]] + [
    next(v for k, v in FIXTURES[name]["headers"] if k.lower() == "user-agent") for name in BROWSERS]
CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/155.0.0.0 Safari/537.36")


def ua_facts(user_agent: str | None, *headers: tuple[str, str]) -> Facts:
    return Facts(ip="203.0.113.7", user_agent=user_agent, headers=headers)


# --- browser_older_than ------------------------------------------------------------------------

STALE = BrowserOlderThan.compile({"Chrome": 109, "Firefox": 115, "Safari": 15, "mobile safari": 15})


@pytest.mark.parametrize(
    ("user_agent", "stale"),
    [
        (IMG2DATASET_UA, True),
        ("Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 Firefox/115.0", False),
        (CHROME, False),
        (CHROME.replace("155", "108"), True),
        ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
         "Version/14.1.2 Safari/605.1.15", True),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 15_8 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
         "Version/15.6 Mobile/15E148 Safari/604.1", False),  # iOS 15 is the last for an iPhone 7: a person
        (CHROME.replace("155", "108") + " Edg/108.0.0.0", False),  # Edge: not in this mapping
        ("curl/8.7.1", False),
        (None, False),
    ],
)
def test_browser_older_than(user_agent: str | None, stale: bool) -> None:
    assert STALE(ua_facts(user_agent), {}) is stale


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ([109], "expected a mapping of browser family to major version"),
        ({}, "expected a mapping of browser family to major version"),
        ({"Chrome": "109"}, "Chrome: expected a whole major version such as 109, got '109'"),
        ({"Chrome": True}, "Chrome: expected a whole major version"),
        ({"Chrome": 0}, "Chrome: expected a whole major version"),
    ],
)
def test_browser_older_than_rejects(value: object, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        BrowserOlderThan.compile(value)


def test_matcher_kinds_declare_what_they_depend_on() -> None:
    assert BrowserOlderThan.on_user_agent is True
    assert HeaderOrder.on_user_agent is False and HeadersKnown.on_user_agent is False


# --- the stale-browser rule in the shipped packs --------------------------------------------------

def test_img2dataset_user_agent_is_stale_on_a_real_request_not_from_the_user_agent_alone() -> None:
    balanced = Classifier(load_rules("balanced"))
    with_headers = balanced.classify(fixture_facts("img2dataset-image"))
    assert "browser-versions/stale-browser" in [r.name for r in with_headers.reasons]
    alone = balanced.classify(ua_facts(IMG2DATASET_UA, ("User-Agent", IMG2DATASET_UA)))
    assert (alone.verdict, alone.reasons) == ("human", ())


@pytest.mark.parametrize("preset", ["balanced", "strict"])
def test_shipped_stale_versions_spare_current_browsers(preset: str) -> None:
    rules = load_rules(preset)
    stale = next(r for r in rules.rules if r.name == "browser-versions/stale-browser")
    for ua in REAL_BROWSER_UAS:
        if any(f"{token}/{v}" in ua for token in ("Chrome", "Edg") for v in range(90, 109)) or "Version/15" in ua:
            continue  # the curl-impersonate archive's 2022 captures are stale now
        assert not all(t(ua_facts(ua, ("Host", "x")), {}) for t in (*stale.ua_tests, *stale.other_tests)), ua


# --- ua.impossible -----------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("user_agent", "reason"),
    [
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X; Windows NT 10.0) AppleWebKit/605.1.15 "
         "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1", "claims both Windows and iOS"),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/537.36 (KHTML, like Gecko) "
         "Chrome/120.0.0.0 Mobile Safari/537.36", "Chrome on iOS says CriOS/"),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:120.0) Gecko/20100101 Firefox/120.0 Chrome/120.0.0.0",
         "a Firefox User-Agent never carries a Chrome/ token"),
        (CHROME + " Edge/131.0.0.0", "Chromium Edge says Edg/"),
        (CHROME.replace("155", "999"), "Chrome/999: no such version yet"),
        ("Mozilla/5.0 (X11; Linux x86_64; rv:400.0) Gecko/20100101 Firefox/400.0", "Firefox/400: no such version"),
        ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
         "Version/99.0 Safari/605.1.15", "Safari 99: no such version yet"),
        ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) "
         "Chrome/150.0.0.0 Safari/537.36", "claims both Android and macOS"),
    ],
)
def test_impossible_user_agents(user_agent: str, reason: str) -> None:
    signals = dict(browser_signals(user_agent))
    assert reason in signals["ua.impossible"]


@pytest.mark.parametrize("user_agent", REAL_BROWSER_UAS + [
    IMG2DATASET_UA,
    "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/155.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/70.0.3538.102 "
    "Safari/537.36 Edge/18.18363",  # the old EdgeHTML Edge: stale, not impossible
    "Mozilla/5.0 (Linux; Android 13; SM-S901B; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 "
    "Chrome/131.0.6778.39 Mobile Safari/537.36",
])
def test_real_browsers_are_never_impossible(user_agent: str) -> None:
    assert browser_signals(user_agent) == ()


@pytest.mark.parametrize("user_agent", [None, "", "curl/8.7.1",
                                        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"])
def test_impossible_is_only_asked_of_browser_user_agents(user_agent: str | None) -> None:
    assert browser_signals(user_agent) == ()


def test_newest_plausible_follows_the_calendar() -> None:
    newest = newest_plausible(date(2026, 11, 25))
    assert 155 < newest["Chrome"] <= 165 and 158 < newest["Firefox"] <= 168 and newest["Safari"] == 29
    assert impossible_reasons(CHROME.replace("155", "170"), newest) != []
    assert impossible_reasons(CHROME.replace("155", "160"), newest) == []  # Canary runs ahead


def test_impossible_rule_weighs_in_the_shipped_packs() -> None:
    ua = CHROME.replace("155", "999")
    decision = Classifier(load_rules("balanced")).classify(ua_facts(ua, ("User-Agent", ua)))
    assert [r.name for r in decision.reasons] == ["browser-versions/impossible"]
    assert decision.verdict == "suspect" and "Chrome/999" in decision.reasons[0].text


# --- header_order and headers_known --------------------------------------------------------------

@pytest.mark.parametrize(
    ("names", "fires"),
    [
        (("Accept-Encoding", "Host", "User-Agent", "Connection"), True),
        (("accept-encoding", "host", "user-agent"), True),  # names compare in any case
        (("Accept-Encoding", "Host", "User-Agent", "Connection", "Accept"), True),  # more may follow
        (("Host", "Accept-Encoding", "User-Agent"), False),
        (("Accept-Encoding", "Host"), False),  # shorter than the fingerprint
    ],
)
def test_header_order(names: tuple[str, ...], fires: bool) -> None:
    test = HeaderOrder.compile(["Accept-Encoding", "Host", "User-Agent"])
    assert test(ua_facts(None, *((n, "x") for n in names)), {}) is fires


def test_header_order_rejects_an_empty_list() -> None:
    with pytest.raises(ValueError, match="a non-empty list"):
        HeaderOrder.compile([])


@pytest.mark.parametrize(("headers", "known"), [
    ((), False), ((("User-Agent", CHROME),), False), ((("User-Agent", CHROME), ("Host", "x")), True),
    ((("Accept", "*/*"),), True)])
def test_headers_known(headers: tuple[tuple[str, str], ...], known: bool) -> None:
    assert HeadersKnown.compile(True)(ua_facts(CHROME, *headers), {}) is known
    assert HeadersKnown.compile(False)(ua_facts(CHROME, *headers), {}) is not known
    with pytest.raises(ValueError, match="expected true or false"):
        HeadersKnown.compile("yes")
