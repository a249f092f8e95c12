"""End to end: `fixative run` verifies claimed crawlers by forward-confirmed reverse DNS against a real DNS
server on loopback (tests/dnsserver.py), for clients on distinct loopback addresses (127.0.0.31 ...).

The same rules serve every address: loopback is verified exactly as a public address would be, by what its
PTR record says and whether that name resolves back to it.
"""

from __future__ import annotations

import http.client
import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from dnsserver import LoopbackDns, ptr_name
from fixative.demo.site import list_works
from harness import CHROME_UA, OriginThread, ProxyProcess, browser_headers, start_fixative

GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
WORK = next(w for w in list_works() if w.fmt == "jpeg")
RECORDS = {
    (ptr_name("127.0.0.31"), "PTR"): ["crawl-127-0-0-31.googlebot.com"],
    ("crawl-127-0-0-31.googlebot.com", "A"): ["127.0.0.31"],
    (ptr_name("127.0.0.32"), "PTR"): ["crawl-127-0-0-32.googlebot.com"],  # says Google's name...
    ("crawl-127-0-0-32.googlebot.com", "A"): ["127.0.0.99"],  # ...which is not this address
    (ptr_name("127.0.0.34"), "PTR"): ["crawl-127-0-0-34.googlebot.com"],
    ("crawl-127-0-0-34.googlebot.com", "A"): ["127.0.0.34"],
}
SILENT = {ptr_name("127.0.0.33")}  # the server never answers for this one: slow or down
TIMEOUT = 1.0


@pytest.fixture(scope="module")
def dns_server() -> Iterator[LoopbackDns]:
    server = LoopbackDns(RECORDS, silent=SILENT)
    yield server
    server.close()


@pytest.fixture(scope="module")
def rdns_proxy(origin: OriginThread, dns_server: LoopbackDns, tmp_path_factory) -> Iterator[ProxyProcess]:
    state = tmp_path_factory.mktemp("rdns-state")
    config = state / "fixative.yaml"
    config.write_text(f"rdns:\n  timeout: {TIMEOUT}\n  nameservers: ['{dns_server.address}']\n")
    proc = start_fixative(origin.url, state, "--config", str(config))
    proc.state = state  # type: ignore[attr-defined]
    yield proc
    proc.stop()


def get_from(source: str, proxy: ProxyProcess, path: str, headers: dict[str, str]) -> tuple[int, bytes, float]:
    """GET through the proxy from a chosen loopback source address; (status, body, seconds taken)."""
    conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=30, source_address=(source, 0))
    started = time.monotonic()
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        return response.status, response.read(), time.monotonic() - started
    finally:
        conn.close()


def event_for(state: Path, ip: str, path: str, minimum: int = 1) -> dict[str, str]:
    """The latest logged decision for this address and path, once the event writer has it; its reasons
    joined into one text."""
    deadline = time.monotonic() + 15
    while True:
        with sqlite3.connect(state / "events.sqlite3") as conn:
            conn.row_factory = sqlite3.Row
            rows = conn.execute("SELECT * FROM events WHERE ip = ? AND path = ? ORDER BY id", (ip, path)).fetchall()
        if len(rows) >= minimum or time.monotonic() > deadline:
            assert len(rows) >= minimum, f"no event for {ip} {path}"
            return {**dict(rows[-1]), "reasons": "\n".join(json.loads(rows[-1]["reasons"]))}
        time.sleep(0.1)


def original(site: Path) -> bytes:
    return (site / WORK.full_url.lstrip("/")).read_bytes()


def test_forward_confirmed_googlebot_gets_the_original(rdns_proxy, dns_server, site):
    status, body, _ = get_from("127.0.0.31", rdns_proxy, WORK.full_url, {"User-Agent": GOOGLEBOT})
    assert status == 200
    assert body == original(site)
    event = event_for(rdns_proxy.state, "127.0.0.31", WORK.full_url)
    assert event["verdict"] == "human" and event["treatment"] == "original"
    assert "search-engines/verified-googlebot-rdns" in event["reasons"]
    assert "127.0.0.31 → crawl-127-0-0-31.googlebot.com → 127.0.0.31, forward-confirmed" in event["reasons"]
    assert "fake-googlebot" not in event["reasons"]
    assert dns_server.asked(ptr_name("127.0.0.31")) == 1
    assert dns_server.asked("crawl-127-0-0-31.googlebot.com") == 1


def test_the_answer_is_cached(rdns_proxy, dns_server, site):
    get_from("127.0.0.34", rdns_proxy, "/", {"User-Agent": GOOGLEBOT})
    status, body, _ = get_from("127.0.0.34", rdns_proxy, WORK.full_url, {"User-Agent": GOOGLEBOT})
    assert status == 200 and body == original(site)
    assert dns_server.asked(ptr_name("127.0.0.34")) == 1  # two requests, one lookup


def test_ptr_that_does_not_resolve_back_is_a_fake(rdns_proxy, dns_server, site):
    status, body, _ = get_from("127.0.0.32", rdns_proxy, WORK.full_url, {"User-Agent": GOOGLEBOT})
    assert status == 200
    assert body != original(site)  # a decoy
    event = event_for(rdns_proxy.state, "127.0.0.32", WORK.full_url)
    assert event["verdict"] == "scraper" and event["treatment"] == "decoy"
    assert "search-engines/fake-googlebot" in event["reasons"]
    assert "crawl-127-0-0-32.googlebot.com, which does not resolve back to 127.0.0.32" in event["reasons"]
    assert "verified-googlebot-rdns" not in event["reasons"]
    assert dns_server.asked("crawl-127-0-0-32.googlebot.com") == 1


def test_silent_dns_server_answers_within_the_timeout_not_verified(rdns_proxy, dns_server, site):
    status, body, took = get_from("127.0.0.33", rdns_proxy, WORK.full_url, {"User-Agent": GOOGLEBOT})
    assert status == 200
    assert body != original(site)
    assert took < TIMEOUT + 2.0  # the lookup's deadline, plus rendering the decoy
    event = event_for(rdns_proxy.state, "127.0.0.33", WORK.full_url)
    assert event["verdict"] == "scraper"
    assert "search-engines/fake-googlebot" in event["reasons"]
    assert f"no answer within {TIMEOUT:g} s" in event["reasons"]
    assert dns_server.asked(ptr_name("127.0.0.33")) >= 1


def test_people_pay_nothing(rdns_proxy, dns_server, site):
    """A browser's request makes no lookup, whatever its address."""
    before = sum(dns_server.questions.values())
    page = get_from("127.0.0.35", rdns_proxy, WORK.page_url, browser_headers("page"))
    assert page[0] == 200
    status, body, _ = get_from("127.0.0.35", rdns_proxy, WORK.full_url,
                               browser_headers("image", referer=rdns_proxy.url + WORK.page_url))
    assert status == 200 and body == original(site)
    assert sum(dns_server.questions.values()) == before
    assert dns_server.asked(ptr_name("127.0.0.35")) == 0
    assert CHROME_UA in browser_headers("page").values()
