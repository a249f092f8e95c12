"""Forward-confirmed reverse DNS: domain matching, the bounded TTL cache, settings, which requests need a
lookup, and the verifier against a real DNS server on loopback (tests/dnsserver.py)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from dnsserver import LoopbackDns, ptr_name
from fixative.config import ConfigError, load_config
from fixative.facts import Facts, ReverseDns
from fixative.network.rdns import RdnsSettings, ReverseDnsVerifier, TtlCache, parse_nameserver
from fixative.rules.matchers import name_in_domains, parse_domains
from fixative.rules.presets import load_rules

GOOGLE = frozenset({"googlebot.com", "google.com"})
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"


@pytest.mark.parametrize("name, expected", [
    ("crawl-66-249-66-1.googlebot.com", True),
    ("crawl-66-249-66-1.googlebot.com.", True),
    ("CRAWL-66-249-66-1.GoogleBot.COM", True),
    ("geo-crawl-1.geo.googlebot.com", True),
    ("googlebot.com", True),
    ("rate-limited-proxy-1.google.com", True),
    ("crawl.evilgooglebot.com", False),  # a suffix, not a label boundary
    ("googlebot.com.evil.example", False),
    ("crawl.googlebot.co", False),
    ("1.2.3.4.bc.googleusercontent.com", False),
    ("", False),
    (None, False),
])
def test_name_in_domains_on_label_boundaries(name, expected):
    assert name_in_domains(name, tuple(GOOGLE)) is expected


@pytest.mark.parametrize("value, expected", [
    ("googlebot.com", ("googlebot.com",)),
    (["GoogleBot.com.", ".google.com"], ("googlebot.com", "google.com")),
    (["search.msn.com"], ("search.msn.com",)),
])
def test_parse_domains(value, expected):
    assert parse_domains(value) == expected


@pytest.mark.parametrize("value, problem", [
    ("*.googlebot.com", "without '*.'"),
    ("com", "at least two labels"),
    ("googlebot com", "at least two labels"),
    ("66.249.66.1", "at least two labels"),
    ([], "non-empty list"),
])
def test_parse_domains_rejects(value, problem):
    with pytest.raises(ValueError, match=problem.replace("*", r"\*")):
        parse_domains(value)


def test_cache_expires_and_stays_bounded():
    cache: TtlCache[str] = TtlCache(3)
    cache.put("a", "A", ttl=10, now=100)
    assert cache.get("a", now=109.9) == "A"
    assert cache.get("a", now=110) is None and len(cache) == 0  # expired entries go
    for n, key in enumerate("bcdef"):
        cache.put(key, key.upper(), ttl=60, now=200 + n)
    assert len(cache) == 3  # never more than its size
    assert [cache.get(k, now=210) for k in "bcdef"] == [None, None, "D", "E", "F"]  # oldest evicted
    cache.get("d", now=211)  # used: the least recently used is now e
    cache.put("g", "G", ttl=60, now=212)
    assert cache.get("e", now=213) is None and cache.get("d", now=213) == "D"


@pytest.mark.parametrize("text, expected", [
    ("192.0.2.53", ("192.0.2.53", 53)),
    ("127.0.0.1:5353", ("127.0.0.1", 5353)),
    ("2001:db8::53", ("2001:db8::53", 53)),
    ("[2001:db8::53]:5353", ("2001:db8::53", 5353)),
])
def test_parse_nameserver(text, expected):
    assert parse_nameserver(text) == expected


@pytest.mark.parametrize("text", ["dns.example", "127.0.0.1:0", "127.0.0.1:99999", "[2001:db8::53", "1.2.3.4:x"])
def test_parse_nameserver_rejects(text):
    with pytest.raises(ValueError):
        parse_nameserver(text)


def test_config_rdns_section(tmp_path: Path):
    path = tmp_path / "fixative.yaml"
    path.write_text("rdns:\n  timeout: 1.5\n  cache_size: 50\n  nameservers: [127.0.0.1:5353, 192.0.2.1]\n")
    config = load_config(path)
    assert config.rdns == RdnsSettings(timeout=1.5, cache_size=50,
                                       nameservers=(("127.0.0.1", 5353), ("192.0.2.1", 53)))
    path.write_text("rdns: false\n")
    assert load_config(path).rdns.enabled is False
    assert load_config(None).rdns == RdnsSettings()  # on, system resolver, 2 s


def test_config_rdns_problems_name_file_and_line(tmp_path: Path):
    path = tmp_path / "fixative.yaml"
    path.write_text("mode: enforce\nrdns:\n  timeout: 0\n  nameservers: [dns.example]\n  ttls: 5\n")
    with pytest.raises(ConfigError) as e:
        load_config(path)
    problems = e.value.problems
    assert any(p.startswith(f"{path}:3: rdns: timeout:") for p in problems), problems
    assert any(p.startswith(f"{path}:4: rdns: nameservers:") and "dns.example" in p for p in problems), problems
    assert any(p.startswith(f"{path}:5: rdns: ttls: unknown") for p in problems), problems


# --- which requests need a lookup ------------------------------------------------------------------

@pytest.fixture(scope="module")
def balanced():
    return load_rules("balanced", [], None)


@pytest.mark.parametrize("ua, ip, expected", [
    (GOOGLEBOT, "66.249.66.1", frozenset()),  # verified by its published ranges: no lookup
    (GOOGLEBOT, "198.51.100.7", GOOGLE),
    ("Googlebot-Image/1.0", "127.0.0.31", GOOGLE),  # the same for every address, loopback too
    ("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", "198.51.100.7",
     frozenset({"search.msn.com"})),
    ("Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)", "198.51.100.7",
     frozenset({"yandex.ru", "yandex.net", "yandex.com"})),
    ("DuckDuckBot/1.1; (+http://duckduckgo.com/duckduckbot.html)", "198.51.100.7", frozenset()),  # IPs only
    (CHROME, "198.51.100.7", frozenset()),
    ("curl/8.7.1", "198.51.100.7", frozenset()),
    (None, "198.51.100.7", frozenset()),
])
def test_lookup_only_where_a_rule_could_decide(balanced, ua, ip, expected):
    from fixative.classify import Classifier

    facts = Facts(ip=ip, user_agent=ua)
    assert Classifier(balanced).rdns_domains(facts) == expected


@pytest.mark.parametrize("ua, expected", [(GOOGLEBOT, True), ("Applebot/0.1", True), (CHROME, False),
                                          ("DuckDuckBot/1.1", False), (None, False)])
def test_only_claimed_crawlers_get_past_the_user_agent_check(balanced, ua, expected):
    assert balanced.tests_rdns(ua) is expected


def test_verdicts_follow_the_stated_outcome(balanced):
    from fixative.classify import Classifier

    classify = Classifier(balanced).classify
    verified = classify(Facts(ip="198.51.100.7", user_agent=GOOGLEBOT,
                              rdns=ReverseDns("crawl-1.googlebot.com", "forward-confirmed")))
    assert verified.verdict == "human" and verified.decided_by.name == "search-engines/verified-googlebot-rdns"
    assert "reverse DNS: forward-confirmed" in verified.decided_by.text
    failed = classify(Facts(ip="198.51.100.7", user_agent=GOOGLEBOT, rdns=ReverseDns(None, "no answer within 2 s")))
    assert failed.verdict == "scraper" and failed.decided_by.name == "search-engines/fake-googlebot"
    assert failed.decided_by.text.endswith("(reverse DNS: no answer within 2 s)")


# --- the verifier against a real DNS server ------------------------------------------------------

RECORDS = {
    (ptr_name("127.0.0.31"), "PTR"): ["crawl-127-0-0-31.googlebot.com"],
    ("crawl-127-0-0-31.googlebot.com", "A"): ["127.0.0.31"],
    (ptr_name("127.0.0.32"), "PTR"): ["crawl-127-0-0-32.googlebot.com"],
    ("crawl-127-0-0-32.googlebot.com", "A"): ["127.0.0.99"],  # does not come back to .32
    (ptr_name("127.0.0.35"), "PTR"): ["host-35.isp.example", "crawl-127-0-0-35.googlebot.com"],
    ("crawl-127-0-0-35.googlebot.com", "A"): ["127.0.0.35"],
    (ptr_name("127.0.0.36"), "PTR"): ["crawl-127-0-0-36.evilgooglebot.com"],
    ("crawl-127-0-0-36.evilgooglebot.com", "A"): ["127.0.0.36"],
    (ptr_name("::1"), "PTR"): ["crawl-ipv6.googlebot.com"],
    ("crawl-ipv6.googlebot.com", "AAAA"): ["::1"],
}


@pytest.fixture
def server():
    dns_server = LoopbackDns(RECORDS, silent={ptr_name("127.0.0.33")})
    yield dns_server
    dns_server.close()


def verifier_for(server: LoopbackDns, **settings) -> ReverseDnsVerifier:
    return ReverseDnsVerifier(RdnsSettings(nameservers=(parse_nameserver(server.address),), **settings))


@pytest.mark.parametrize("ip, name, detail", [
    ("127.0.0.31", "crawl-127-0-0-31.googlebot.com", "127.0.0.31 → crawl-127-0-0-31.googlebot.com → 127.0.0.31"),
    ("127.0.0.35", "crawl-127-0-0-35.googlebot.com", "forward-confirmed"),  # the second PTR name is Google's
    ("::1", "crawl-ipv6.googlebot.com", "forward-confirmed"),
    ("127.0.0.32", None, "crawl-127-0-0-32.googlebot.com, which does not resolve back to 127.0.0.32"),
    ("127.0.0.34", None, "127.0.0.34 has no PTR record"),
    ("127.0.0.36", None, "crawl-127-0-0-36.evilgooglebot.com, not under google.com, googlebot.com"),
])
def test_verify_against_a_real_server(server, ip, name, detail):
    async def main():
        verifier = verifier_for(server)
        return await verifier.verify(ip, GOOGLE)

    outcome = asyncio.run(main())
    assert outcome.name == name
    assert detail in outcome.detail


def test_forward_lookup_only_for_names_under_the_wanted_domains(server):
    asyncio.run(verifier_for(server).verify("127.0.0.36", GOOGLE))
    assert server.asked(ptr_name("127.0.0.36")) == 1
    assert server.asked("crawl-127-0-0-36.evilgooglebot.com") == 0


def test_silent_server_times_out_within_the_timeout(server):
    async def main():
        verifier = verifier_for(server, timeout=0.5)
        started = time.monotonic()
        outcome = await verifier.verify("127.0.0.33", GOOGLE)
        return outcome, time.monotonic() - started, verifier

    outcome, took, verifier = asyncio.run(main())
    assert outcome == ReverseDns(None, "no answer within 0.5 s")
    assert took < 1.0
    assert verifier.cached("127.0.0.33", GOOGLE) == outcome  # remembered (briefly): a flood asks once


def test_answers_are_cached_and_concurrent_asks_share_one_lookup(server):
    async def main():
        verifier = verifier_for(server)
        outcomes = await asyncio.gather(*(verifier.verify("127.0.0.31", GOOGLE) for _ in range(20)))
        again = await verifier.verify("127.0.0.31", GOOGLE)
        return verifier, outcomes, again

    verifier, outcomes, again = asyncio.run(main())
    assert {o.name for o in outcomes} == {"crawl-127-0-0-31.googlebot.com"} and again == outcomes[0]
    assert verifier.lookups == 1
    assert server.asked(ptr_name("127.0.0.31")) == 1


def test_negative_answers_are_cached_until_their_ttl(server):
    async def main():
        verifier = verifier_for(server, ttl=0.3)
        first = await verifier.verify("127.0.0.32", GOOGLE)
        cached = verifier.cached("127.0.0.32", GOOGLE)
        await asyncio.sleep(0.4)
        return first, cached, verifier.cached("127.0.0.32", GOOGLE)

    first, cached, expired = asyncio.run(main())
    assert first.name is None and cached == first and expired is None


def test_a_flood_of_distinct_addresses_is_bounded(server):
    """More claimed crawlers than lookups may wait: the rest are not verified at once, none is cached."""
    async def main():
        verifier = verifier_for(server, timeout=0.5, max_lookups=2)  # so at most 16 waiting
        ips = [f"127.0.1.{n}" for n in range(1, 41)]
        for n in range(1, 41):
            server.silent.add(ptr_name(f"127.0.1.{n}"))
        started = time.monotonic()
        outcomes = await asyncio.gather(*(verifier.verify(ip, GOOGLE) for ip in ips))
        return verifier, outcomes, time.monotonic() - started

    verifier, outcomes, took = asyncio.run(main())
    assert all(o.name is None for o in outcomes)
    refused = [o for o in outcomes if "already pending" in o.detail]
    assert len(refused) == 40 - 16
    assert verifier.lookups <= 16 and took < 1.5
    assert len(verifier.cache) <= 16


def test_unreachable_server_is_not_verified_with_the_reason():
    async def main():
        verifier = ReverseDnsVerifier(RdnsSettings(timeout=0.5, nameservers=(("127.0.0.1", 9),)))
        return await verifier.verify("127.0.0.31", GOOGLE)

    outcome = asyncio.run(main())
    assert outcome.name is None
    assert outcome.detail in ("no answer within 0.5 s", "lookup failed: the name servers failed (SERVFAIL or refused)")
