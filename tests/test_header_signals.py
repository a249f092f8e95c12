"""Header consistency over real recorded header sets: browsers pass untouched, libraries that lie do not.

Fixtures in fixtures/headers/ are real: recorded by record_headers.py from curl, wget, requests,
urllib, img2dataset, aiohttp, httpx, Node fetch and Playwright-driven Chromium, plus browser
captures converted from curl-impersonate's signatures.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
import requests
from PIL import Image

from fixative.classify import Classifier
from fixative.demo.site import list_works
from fixative.facts import IMAGE, OTHER, PAGE, Facts
from fixative.rules.presets import load_rules
from fixative.rules.ruleset import RuleSet
from fixative.signals import collect_signals
from fixative.signals.headers import header_signals, headers_known

FIXTURE_DIR = Path(__file__).parent / "fixtures" / "headers"
FIXTURES: dict[str, dict[str, Any]] = {
    p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(FIXTURE_DIR.glob("*.json"))}
BROWSERS = sorted(n for n in FIXTURES if n.startswith(("capture-", "chromium-desktop")))
HEADLESS = sorted(n for n in FIXTURES if n.startswith("chromium-headless"))
CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/155.0.0.0 Safari/537.36")
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:158.0) Gecko/20100101 Firefox/158.0"
CRIOS = ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
         "CriOS/155.0.7710.60 Mobile/15E148 Safari/604.1")
WEBVIEW = ("Mozilla/5.0 (Linux; Android 13; SM-S901B; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 "
           "Chrome/155.0.0.0 Mobile Safari/537.36")
IMG2DATASET_UA = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:72.0) Gecko/20100101 Firefox/72.0"

MISSING = {"headers.sec_fetch_missing", "headers.client_hints_missing", "headers.accept_not_browser",
           "headers.no_accept_language"}
# Each library's recorded headers, its User-Agent replaced by a current Chrome's:
# the header signals that must fire and the client-fingerprints rule that must match.
LIBRARIES = {
    "curl-image": (MISSING | {"headers.accept_encoding_not_browser"}, "curl"),
    "wget-image": (MISSING | {"headers.accept_encoding_not_browser"}, "wget"),
    "requests-image": (MISSING, "python-requests"),
    "urllib-image": (MISSING | {"headers.accept_encoding_not_browser", "headers.connection_close"},
                     "python-urllib"),
    "aiohttp-image": (MISSING, "python-aiohttp"),
    "httpx-image": (MISSING, "python-httpx"),
    "node-fetch-image": (MISSING, "node-fetch"),
}


def fixture_facts(name: str, user_agent: str | None = None, drop: tuple[str, ...] = ()) -> Facts:
    """Facts for a fixture as the proxy would see it; user_agent replaces the recorded one."""
    doc = FIXTURES[name]
    headers = tuple((k, user_agent if user_agent and k.lower() == "user-agent" else v)
                    for k, v in doc["headers"] if k.lower() not in drop)
    ua = next((v for k, v in headers if k.lower() == "user-agent"), None)
    host = next((v for k, v in headers if k.lower() == "host"), None)
    # HTTP/1.1 recordings went to 127.0.0.1 (or a name for plain HTTP); HTTP/2 captures came over TLS.
    secure = host is None and doc["secure_context"]
    path = "/images/full/work.png" if doc["kind"] == IMAGE else "/gallery/"
    return Facts(ip="203.0.113.7", user_agent=ua, path=path, headers=headers, secure=secure,
                 host=host or "gallery.example", kind=doc["kind"])


def headers_only(signals: dict[str, str]) -> set[str]:
    return {n for n in signals if n.startswith("headers.")}


@pytest.fixture(scope="module")
def balanced() -> RuleSet:
    return load_rules("balanced")


def test_fixtures_are_well_formed() -> None:
    assert len(BROWSERS) >= 10 and len(LIBRARIES) == 7
    for name, doc in FIXTURES.items():
        assert set(doc) == {"client", "kind", "secure_context", "source", "headers"}, name
        assert doc["kind"] in (PAGE, IMAGE) and doc["source"], name
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in doc["headers"]), name
        assert fixture_facts(name).secure_context == doc["secure_context"], name


# --- real browsers: nothing fires, score 0 -----------------------------------------------------

@pytest.mark.parametrize("name", BROWSERS)
def test_real_browser_headers_raise_no_signal_and_score_zero(balanced: RuleSet, name: str) -> None:
    facts = fixture_facts(name)
    assert collect_signals(facts) == {}
    decision = Classifier(balanced).classify(facts)
    assert (decision.verdict, decision.score, decision.reasons) == ("human", 0, ())


@pytest.mark.parametrize("name", HEADLESS)
def test_headless_chromium_headers_are_consistent_its_user_agent_gives_it_away(balanced: RuleSet,
                                                                              name: str) -> None:
    facts = fixture_facts(name)
    assert headers_only(collect_signals(facts)) == set()
    decision = Classifier(balanced).classify(facts)
    assert decision.verdict == "scraper"
    assert [r.name for r in decision.reasons] == ["headless-browsers/headless-chrome"]


@pytest.mark.parametrize("name", ["chromium-desktop-plain-http-page", "chromium-desktop-plain-http-image"])
def test_plain_http_to_a_named_host_needs_no_sec_fetch_or_client_hints(name: str) -> None:
    facts = fixture_facts(name)  # recorded: Chromium sends neither outside a secure context
    assert not facts.secure_context and facts.header("sec-fetch-dest") is None
    assert collect_signals(facts) == {}


@pytest.mark.parametrize("name", ["capture-chrome-150-macos", "capture-firefox-144", "capture-safari-26-ios",
                                  "chromium-desktop-image"])
def test_sec_fetch_and_hints_stripped_over_plain_http_are_fine_but_not_over_https(name: str) -> None:
    drop = ("sec-fetch-site", "sec-fetch-mode", "sec-fetch-dest", "sec-fetch-user", "sec-ch-ua",
            "sec-ch-ua-mobile", "sec-ch-ua-platform", "host")
    plain = fixture_facts(name, drop=drop)
    plain = Facts(ip=plain.ip, user_agent=plain.user_agent, path=plain.path, headers=plain.headers,
                  secure=False, host="gallery.example", kind=plain.kind)
    assert headers_only(collect_signals(plain)) == set()
    secure = Facts(ip=plain.ip, user_agent=plain.user_agent, path=plain.path, headers=plain.headers,
                   secure=True, host="gallery.example", kind=plain.kind)
    fired = headers_only(collect_signals(secure))
    assert "headers.sec_fetch_missing" in fired
    assert ("headers.client_hints_missing" in fired) == ("Chrom" in (plain.user_agent or ""))


# --- libraries ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(LIBRARIES))
def test_library_with_its_own_user_agent_is_a_scraper_and_its_order_is_recognised(balanced: RuleSet,
                                                                                  name: str) -> None:
    facts = fixture_facts(name)
    assert headers_only(collect_signals(facts)) == set()  # not a browser: the UA rules handle it
    decision = Classifier(balanced).classify(facts)
    assert decision.verdict == "scraper"
    fingerprints = [r.rule for r in decision.reasons if r.pack == "client-fingerprints"]
    assert fingerprints == [LIBRARIES[name][1]]


@pytest.mark.parametrize("name", sorted(LIBRARIES))
def test_library_forging_a_chrome_user_agent_is_a_scraper(balanced: RuleSet, name: str) -> None:
    facts = fixture_facts(name, user_agent=CHROME)
    expected, fingerprint = LIBRARIES[name]
    assert headers_only(collect_signals(facts)) == expected
    decision = Classifier(balanced).classify(facts)
    assert decision.verdict == "scraper", decision.reasons
    assert f"client-fingerprints/{fingerprint}" in [r.name for r in decision.reasons]


def test_img2dataset_defaults_are_a_scraper(balanced: RuleSet) -> None:
    facts = fixture_facts("img2dataset-image")
    assert headers_only(collect_signals(facts)) == {
        "headers.accept_not_browser", "headers.accept_encoding_not_browser", "headers.no_accept_language",
        "headers.connection_close"}  # Firefox 72 predates Sec-Fetch: their absence is no signal
    decision = Classifier(balanced).classify(facts)
    names = [r.name for r in decision.reasons]
    assert decision.verdict == "scraper"
    assert {"browser-versions/stale-browser", "client-fingerprints/python-urllib"} <= set(names)


def test_requests_with_a_whole_copied_chrome_header_set_is_caught_by_its_order(balanced: RuleSet) -> None:
    facts = fixture_facts("requests-forged-chrome-image")
    assert collect_signals(facts) == {}  # every header a real Chromium sent, values and all
    decision = Classifier(balanced).classify(facts)
    assert (decision.verdict, [r.name for r in decision.reasons]) == (
        "suspect", ["client-fingerprints/python-requests"])
    assert Classifier(load_rules("strict")).classify(facts).verdict == "scraper"


def test_no_browser_matches_a_library_fingerprint(balanced: RuleSet) -> None:
    rules = [r for r in balanced.rules if r.pack == "client-fingerprints"]
    for name in [*BROWSERS, *HEADLESS, "img2dataset-image"]:
        facts = fixture_facts(name)
        matching = [r.id for r in rules if all(t(facts, {}) for t in r.other_tests)]
        assert matching == ([] if name != "img2dataset-image" else ["python-urllib"]), name


# --- the individual checks ---------------------------------------------------------------------

def facts(user_agent: str = CHROME, kind: str = PAGE, secure: bool = True, method: str = "GET",
          **headers: str) -> Facts:
    """A request with exactly these headers (underscores become dashes) plus the User-Agent."""
    pairs = (("Host", "gallery.example"), ("User-Agent", user_agent),
             *((k.replace("_", "-"), v) for k, v in headers.items()))
    return Facts(ip="203.0.113.7", user_agent=user_agent, path="/a.png" if kind == IMAGE else "/gallery/",
                 method=method, headers=pairs, secure=secure, host="gallery.example", kind=kind)


CHROME_HINTS = {"sec_ch_ua": '"Chromium";v="155", "Google Chrome";v="155", "Not?A_Brand";v="24"',
                "sec_ch_ua_mobile": "?0", "sec_ch_ua_platform": '"Windows"'}
COMMON = {"Accept_Encoding": "gzip, deflate, br, zstd", "Accept_Language": "en-GB,en;q=0.9"}
NAVIGATE = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8", "Sec_Fetch_Site": "none",
            "Sec_Fetch_Mode": "navigate", "Sec_Fetch_User": "?1", "Sec_Fetch_Dest": "document"}
IMG = {"Accept": "image/avif,image/webp,image/apng,image/*,*/*;q=0.8", "Sec_Fetch_Site": "same-origin",
       "Sec_Fetch_Mode": "no-cors", "Sec_Fetch_Dest": "image"}


@pytest.mark.parametrize(
    ("case", "request_facts", "fired"),
    [
        ("chrome page", facts(**CHROME_HINTS, **NAVIGATE, **COMMON), set()),
        ("chrome img", facts(kind=IMAGE, **CHROME_HINTS, **IMG, **COMMON), set()),
        ("chrome opens the image in a tab", facts(kind=IMAGE, **CHROME_HINTS, **NAVIGATE, **COMMON), set()),
        ("site script fetches with */*", facts(**CHROME_HINTS, **{**IMG, "Accept": "*/*", "Sec_Fetch_Dest": "empty",
                                                                  "Sec_Fetch_Mode": "cors"}, **COMMON), set()),
        ("image fetch on a page", facts(**CHROME_HINTS, **{**IMG, "Accept": "text/html"}, **COMMON),
         {"headers.sec_fetch_contradicts"}),
        ("invented Sec-Fetch-Mode", facts(**CHROME_HINTS, **{**NAVIGATE, "Sec_Fetch_Mode": "browse"}, **COMMON),
         {"headers.sec_fetch_contradicts"}),
        ("Sec-Fetch-User on an <img>", facts(kind=IMAGE, **CHROME_HINTS, **IMG, Sec_Fetch_User="?1", **COMMON),
         {"headers.sec_fetch_contradicts"}),
        ("document without navigate", facts(**CHROME_HINTS, **{**NAVIGATE, "Sec_Fetch_Mode": "no-cors"},
                                            **COMMON), {"headers.sec_fetch_contradicts"}),
        ("only Sec-Fetch-Mode", facts(**CHROME_HINTS, Accept="text/html", Sec_Fetch_Mode="navigate", **COMMON),
         {"headers.sec_fetch_missing"}),
        ("Firefox 72 with Sec-Fetch", facts(IMG2DATASET_UA, **NAVIGATE, **COMMON),
         {"headers.sec_fetch_contradicts"}),
        ("Firefox with client hints", facts(FIREFOX, **CHROME_HINTS, **NAVIGATE, **COMMON),
         {"headers.client_hints_impossible"}),
        ("Chrome on iOS with client hints", facts(CRIOS, **CHROME_HINTS, **NAVIGATE, **COMMON),
         {"headers.client_hints_impossible"}),
        ("hints of another version", facts(**{**CHROME_HINTS, "sec_ch_ua": '"Chromium";v="131"'}, **NAVIGATE,
                                           **COMMON), {"headers.client_hints_mismatch"}),
        ("hints of another platform", facts(**{**CHROME_HINTS, "sec_ch_ua_platform": '"macOS"'}, **NAVIGATE,
                                            **COMMON), {"headers.client_hints_mismatch"}),
        ("HeadlessChrome brand under a Chrome UA",
         facts(**{**CHROME_HINTS, "sec_ch_ua": '"HeadlessChrome";v="155", "Chromium";v="155"'}, **NAVIGATE,
               **COMMON), {"headers.client_hints_mismatch"}),
        ("Android tablet in desktop mode", facts(CHROME.replace("Windows NT 10.0; Win64; x64", "X11; Linux x86_64"),
                                                 **{**CHROME_HINTS, "sec_ch_ua_platform": '"Android"'}, **NAVIGATE,
                                                 **COMMON), set()),
        ("partial client hints", facts(sec_ch_ua=CHROME_HINTS["sec_ch_ua"], **NAVIGATE, **COMMON),
         {"headers.client_hints_missing"}),
        ("Android WebView sends no hints", facts(WEBVIEW, **NAVIGATE, **COMMON), set()),
        ("Accept */* on a page", facts(**CHROME_HINTS, **{**NAVIGATE, "Accept": "*/*"}, **COMMON),
         {"headers.accept_not_browser"}),
        ("no Accept for an image", facts(kind=IMAGE, **CHROME_HINTS, **{k: v for k, v in IMG.items() if k != "Accept"},
                                         **COMMON), {"headers.accept_not_browser"}),
        ("Accept-Encoding identity", facts(**CHROME_HINTS, **NAVIGATE, Accept_Encoding="identity",
                                           Accept_Language="en"), {"headers.accept_encoding_not_browser"}),
        ("identity for a media range", facts(kind=OTHER, **CHROME_HINTS, **{**IMG, "Sec_Fetch_Dest": "video"},
                                             Range="bytes=0-", Accept_Encoding="identity;q=1, *;q=0",
                                             Accept_Language="en"), set()),
        ("Accept-Language: *", facts(**CHROME_HINTS, **NAVIGATE, Accept_Encoding="gzip", Accept_Language="*"),
         {"headers.no_accept_language"}),
        ("Connection: close", facts(**CHROME_HINTS, **NAVIGATE, **COMMON, Connection="close"),
         {"headers.connection_close"}),
        ("Connection: close from a front proxy", facts(**CHROME_HINTS, **NAVIGATE, **COMMON, Connection="close",
                                                       X_Forwarded_For="198.51.100.4"), set()),
        ("CORS preflight", facts(method="OPTIONS", Accept="*/*"), set()),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_header_checks(case: str, request_facts: Facts, fired: set[str]) -> None:
    found = header_signals(request_facts)
    assert set(found) == fired, found


@pytest.mark.parametrize("ua", [None, "", "curl/8.7.1", "python-requests/2.34.2",
                                "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"])
def test_nothing_for_no_user_agent_or_one_that_is_not_a_browser(ua: str | None) -> None:
    request = Facts(ip="203.0.113.7", user_agent=ua, headers=(("Host", "x"), ("Accept", "*/*")), secure=True)
    assert header_signals(request) == {}


@pytest.mark.parametrize("headers", [(), (("User-Agent", CHROME),), (("user-agent", CHROME),)])
def test_user_agent_alone_means_headers_unknown(headers: tuple[tuple[str, str], ...]) -> None:
    request = Facts(ip="203.0.113.7", user_agent=CHROME, headers=headers, secure=True)
    assert not headers_known(request)
    assert header_signals(request) == {}
    assert headers_known(Facts(ip="203.0.113.7", user_agent=CHROME, headers=(*headers, ("Accept", "*/*"))))


def test_details_say_what_was_expected_and_what_came() -> None:
    found = header_signals(fixture_facts("urllib-image", user_agent=CHROME))
    assert found["headers.accept_encoding_not_browser"] == (
        "browsers send Accept-Encoding: gzip, deflate, br; saw 'identity'")
    assert found["headers.sec_fetch_missing"] == (
        "Chrome 155 sends Sec-Fetch-Site, -Mode and -Dest to a secure origin; saw none")
    assert found["headers.no_accept_language"] == "every browser sends Accept-Language; saw none"


# --- end to end: the real proxy ----------------------------------------------------------------

WORKS = list_works()
# A User-Agent no other test uses (fresh behaviour state), on the recorded Chromium's platform.
FORGED_UA = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
             "Chrome/154.0.0.0 Safari/537.36")


def chromium_headers(kind: str, page_url: str) -> list[tuple[str, str]]:
    """The recorded Chromium headers for kind, made to claim FORGED_UA, without Host and Connection."""
    name = "chromium-desktop-image" if kind == IMAGE else "chromium-desktop-page"
    out = []
    for k, v in FIXTURES[name]["headers"]:
        if k.lower() in ("host", "connection"):
            continue
        if k.lower() == "user-agent":
            v = FORGED_UA
        elif k.lower() == "sec-ch-ua":
            v = v.replace("156", "154")
        elif k.lower() == "referer":
            v = page_url
        out.append((k, v))
    return out


def original(site: Path, url: str) -> bytes:
    return (site / url.lstrip("/")).read_bytes()


def test_requests_forging_a_whole_chrome_header_set_gets_no_original(proxy, site: Path) -> None:
    work = WORKS[11]
    page = requests.get(proxy.url + work.page_url, headers=dict(chromium_headers(PAGE, "")), timeout=30)
    assert page.status_code == 200
    r = requests.get(proxy.url + work.full_url, headers=dict(chromium_headers(IMAGE, proxy.url + work.page_url)),
                     timeout=30)
    assert r.status_code == 200
    assert r.content != original(site, work.full_url)  # a watermark (suspect) or a decoy
    Image.open(io.BytesIO(r.content)).load()


def test_the_same_headers_in_chromiums_order_pass(proxy, site: Path) -> None:
    """The control: requests sending exactly Chromium's headers in its order gets the original.

    Header checks cannot see past a perfect copy; the order was what gave the forgery away.
    """
    work = WORKS[12]
    session = requests.Session()
    session.headers.clear()  # no defaults: http.client writes Host first, then these in order
    headers = [("Connection", "keep-alive"), *chromium_headers(IMAGE, proxy.url + work.page_url)]
    session.get(proxy.url + work.page_url, headers=dict([("Connection", "keep-alive"),
                                                         *chromium_headers(PAGE, "")]), timeout=30)
    r = session.get(proxy.url + work.full_url, headers=dict(headers), timeout=30)
    assert r.content == original(site, work.full_url)


def test_img2dataset_defaults_through_urllib_get_no_original(proxy, site: Path) -> None:
    import urllib.request

    work = WORKS[13]
    request = urllib.request.Request(proxy.url + work.full_url, headers={"User-Agent": IMG2DATASET_UA})
    with urllib.request.urlopen(request, timeout=30) as response:
        body = response.read()
    assert body != original(site, work.full_url)
