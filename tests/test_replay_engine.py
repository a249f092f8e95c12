"""replay/engine.py: log lines classified as the proxy would, client by client, without counting what a
log cannot show against anyone."""

from __future__ import annotations

import dataclasses

import pytest

from fixative.config import load_config
from fixative.facts import Facts
from fixative.policy import BLOCK, DECOY, ORIGINAL, WATERMARK, parse_policy
from fixative.replay.engine import log_facts, treatment_of
from fixative.replay.parse import LogLine
from fixative.signals import collect_signals
from fixative.verdict import HUMAN, SCRAPER
from replay_helpers import replay, replayer

CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
SITE = "https://art.example"
PERSON_IP = "81.2.69.160"  # an ordinary network
T0 = 1_793_491_200.0


def line(path: str, ua: str | None = CHROME, t: float = 0, referer: str | None = None, ip: str = PERSON_IP,
         status: int = 200, method: str = "GET") -> LogLine:
    return LogLine(ip, T0 + t, method, path, status, 100, referer, ua)


def visit(ua: str, start: float = 0, ip: str = PERSON_IP) -> list[LogLine]:
    """A person: the home page, its stylesheet and thumbnails, then a work and its full-size image."""
    page = f"{SITE}/"
    out = [line("/", ua, start, None, ip), line("/style.css", ua, start + 0.2, page, ip)]
    out += [line(f"/images/thumbs/{n}.jpg", ua, start + 0.3, page, ip) for n in range(8)]
    out += [line("/works/3.html", ua, start + 20, page, ip),
            line("/images/full/3.jpg", ua, start + 20.3, f"{SITE}/works/3.html", ip),
            line("/favicon.ico", ua, start + 20.4, None, ip)]
    return out


def test_log_facts_equal_the_constructed_facts() -> None:
    item = line("/a.jpg?x=1", CHROME, referer="https://r.example/")
    fast = log_facts(item, "image", cookie="abc")
    slow = Facts(ip=item.ip, user_agent=CHROME, path=item.path, method="GET", time=item.time, kind="image",
                 headers=(("User-Agent", CHROME), ("Referer", "https://r.example/"), ("Cookie", "fx_session=abc")),
                 from_log=True)
    assert fast == slow and dataclasses.asdict(fast) == dataclasses.asdict(slow)
    for name in ("user-agent", "Referer", "cookie", "accept", "sec-fetch-dest"):
        assert fast.header(name) == slow.header(name)
    bare = log_facts(line("/", None), "page")
    assert bare == Facts(ip=PERSON_IP, user_agent=None, path="/", time=T0, kind="page", from_log=True)


@pytest.mark.parametrize("ua", [CHROME, FIREFOX, "curl/8.7.1", None])
def test_stateless_signals_of_a_log_line_depend_only_on_its_client(ua: str | None) -> None:
    """The engine computes them once per client (address + User-Agent): nothing else may change them."""
    r = replayer()
    signals = [collect_signals(log_facts(line(path, ua, referer=ref, method=m), kind), r.asn)
               for path, kind in (("/", "page"), ("/a.jpg", "image"), ("/x.zip", "other"))
               for ref in (None, SITE + "/") for m in ("GET", "HEAD", "POST")]
    assert all(s == signals[0] for s in signals)
    assert not any(name.startswith("headers.") for name in signals[0])


@pytest.mark.parametrize("ua", [CHROME, FIREFOX,
                                "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
                                "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"])
def test_people_are_human_though_the_log_shows_none_of_their_headers(ua: str) -> None:
    r = replayer()
    decisions = [r.feed(item) for item in visit(ua)]
    assert {d.verdict for d in decisions} == {HUMAN}
    fired = {reason.name for d in decisions for reason in d.reasons}
    assert fired <= {"behaviour/valid-session"}, fired  # nothing about headers, order or fingerprints
    assert "behaviour/valid-session" in fired  # the cookie the proxy would have set on the first page


def test_without_cookies_people_still_human_but_no_session() -> None:
    r = replayer(keep_cookies=False)
    decisions = [r.feed(item) for item in visit(CHROME)]
    assert {d.verdict for d in decisions} == {HUMAN} and not any(d.reasons for d in decisions)


def test_tools_and_declared_crawlers_are_scrapers() -> None:
    r = replay([line(f"/images/full/{n}.jpg", "curl/8.7.1", n, ip="203.0.113.9") for n in range(3)]
               + [line("/", "Mozilla/5.0 (compatible; GPTBot/1.2; +https://openai.com/gptbot)", 5, ip="192.0.2.1")])
    clients = {c.user_agent: c for c in r.tally.clients.values()}
    assert clients["curl/8.7.1"].verdicts == [0, 0, 3]
    assert "http-libraries/curl-wget" in clients["curl/8.7.1"].as_dict()["reasons"][0]["rule"]
    gptbot = next(c for ua, c in clients.items() if "GPTBot" in (ua or ""))
    assert gptbot.worst == SCRAPER and gptbot.altered == 0  # a page: the original, by the default policy


def test_a_forged_browser_taking_images_without_pages_is_caught_by_behaviour() -> None:
    r = replayer()
    verdicts = [r.feed(line(f"/images/full/{n}.jpg", CHROME, n * 2.0, ip="198.51.100.20")).verdict
                for n in range(60)]
    assert verdicts[0] == HUMAN  # one image opened directly is what people do too
    assert verdicts[-1] == SCRAPER
    reasons = {x["rule"] for x in next(iter(r.tally.clients.values())).as_dict()["reasons"]}
    assert {"behaviour/image-spree", "behaviour/breadth"} <= reasons


def test_clients_are_address_and_user_agent_and_in_log_order() -> None:
    r = replayer()
    burst = [line(f"/images/thumbs/{n}.jpg", CHROME, n * 0.1, f"{SITE}/") for n in range(45)]
    first = [r.feed(item).verdict for item in burst]
    assert first[-1] != HUMAN  # 45 requests in 4.5 s: faster than a person browses
    other = r.feed(line("/images/thumbs/0.jpg", FIREFOX, 4.6, f"{SITE}/"))
    assert other.verdict == HUMAN and len(r.tally.clients) == 2


def test_robots_txt_of_the_site_judges_who_disregards_it() -> None:
    r = replayer(robots_txt="User-agent: *\nDisallow: /private/\n")
    r.feed(line("/robots.txt", "Mozilla/5.0 (compatible; ExampleBot/1.0)", 0, ip="192.0.2.50"))
    decision = r.feed(line("/private/index.html", "Mozilla/5.0 (compatible; ExampleBot/1.0)", 1, ip="192.0.2.50"))
    assert "behaviour/robots-ignored" in {reason.name for reason in decision.reasons}


@pytest.mark.parametrize("verdict, kind, method, status, expected", [
    ("human", "image", "GET", 200, ORIGINAL),
    ("scraper", "image", "GET", 200, DECOY),
    ("scraper", "image", "GET", 304, DECOY),  # the proxy drops conditionals for clients it alters
    ("scraper", "image", "GET", 404, ORIGINAL),  # nothing to alter
    ("scraper", "image", "HEAD", 200, ORIGINAL),
    ("scraper", "page", "GET", 200, ORIGINAL),
    ("suspect", "image", "GET", 200, WATERMARK),
])
def test_treatment_as_the_proxy_decides(verdict: str, kind: str, method: str, status: int, expected: str) -> None:
    assert treatment_of(load_config(None).policy, verdict, kind, method, status) == expected


def test_block_policy_applies_whatever_the_status() -> None:
    policy = parse_policy({"scraper": {"page": "block", "image": "block"}})
    assert treatment_of(policy, "scraper", "page", "GET", 404) == BLOCK
    assert treatment_of(policy, "scraper", "image", "HEAD", 200) == BLOCK
