"""Network signals from the ASN database, and the hosting-networks pack's weights against the
balanced thresholds: a data centre alone is at most suspect, with a tool's marks it is a scraper,
and iCloud Private Relay (people) is never weighed as hosting."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixative.facts import Facts
from fixative.network import AsnDatabase, load_asn_database, shipped_database
from fixative.rules.loader import load_pack
from fixative.rules.presets import load_rules
from fixative.rules.ruleset import RuleSet
from fixative.signals import collect_signals
from fixative.signals.network import is_public, network_signals
from fixative.verdict import HUMAN, SCRAPER, SUSPECT

PACK = Path(__file__).resolve().parents[1] / "rules" / "hosting-networks.yaml"
CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/131.0.0.0 Safari/537.36")
SAFARI = ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
          "Version/18.1 Mobile/15E148 Safari/604.1")

AWS, HETZNER, CLOUDFLARE, PROTON, RELAY = "3.5.140.1", "94.130.1.1", "103.21.244.1", "2.58.241.66", "104.28.28.1"


@pytest.fixture(scope="module")
def db() -> AsnDatabase:
    return shipped_database()


@pytest.mark.parametrize(
    ("ip", "name", "detail"),
    [
        (AWS, "network.hosting", "AS16509 AMAZON-02 - Amazon.com, Inc., US (AWS), cloud"),
        ("::ffff:" + AWS, "network.hosting", "AS16509 AMAZON-02 - Amazon.com, Inc., US (AWS), cloud"),
        (HETZNER, "network.hosting", "AS24940 HETZNER-AS, DE, hosting"),
        ("2a01:4f8::1", "network.hosting", "AS24940 HETZNER-AS, DE, hosting"),
        ("74.220.56.1", "network.hosting", "paas"),  # Render
        (CLOUDFLARE, "network.cdn", "AS13335 Cloudflare, cdn"),
        (PROTON, "network.vpn", "Proton VPN, vpn"),
        (RELAY, "network.privacy_relay", "iCloud Private Relay egress (Apple), privacy-relay"),
        ("2a02:26f7:b00a:4000::1", "network.privacy_relay", "iCloud Private Relay"),
    ],
)
def test_one_signal_per_network(db: AsnDatabase, ip: str, name: str, detail: str) -> None:
    signals = network_signals(ip, db)
    assert list(signals) == [name] and detail in signals[name]


@pytest.mark.parametrize("ip", ["198.51.100.7", "127.0.0.1", "::1", "10.1.2.3",
                                "192.168.0.10", "fe80::1", "100.64.0.1", "", "not-an-ip", "::ffff:127.0.0.1"])
def test_nothing_for_unknown_or_non_public_addresses(db: AsnDatabase, ip: str) -> None:
    assert network_signals(ip, db) == {}


def test_no_db_no_signals() -> None:
    assert network_signals(AWS, None) == {}


def test_private_addresses_stay_silent_even_if_a_database_lists_them(tmp_path: Path) -> None:
    tsv = tmp_path / "odd.tsv"
    tsv.write_text("10.0.0.0\t10.255.255.255\t16509\tUS\tAMAZON-02\n127.0.0.0\t127.255.255.255\t16509\tUS\tX\n")
    db = load_asn_database([tsv], shipped=False)
    assert db.lookup("10.1.2.3").category == "cloud"
    assert network_signals("10.1.2.3", db) == {} and network_signals("127.0.0.1", db) == {}


def test_ordinary_network_from_a_full_database_fires_nothing(tmp_path: Path) -> None:
    tsv = tmp_path / "ip2asn.tsv"
    tsv.write_text("81.0.0.0\t81.0.255.255\t3320\tDE\tDTAG Deutsche Telekom AG\n")
    db = load_asn_database([tsv])
    assert db.lookup("81.0.1.2").category is None and network_signals("81.0.1.2", db) == {}


@pytest.mark.parametrize(("ip", "public"), [(AWS, True), ("::ffff:" + AWS, True), ("10.0.0.1", False),
                                            ("::ffff:10.0.0.1", False), ("2001:db8::1", False), ("x", False)])
def test_is_public(ip: str, public: bool) -> None:
    assert is_public(ip) is public


# --- the pack ---------------------------------------------------------------------------------

def test_pack_loads_with_expected_weights() -> None:
    info, rules = load_pack(PACK)
    assert info.name == "hosting-networks"
    weights = {r.id: r.weight for r in rules}
    assert weights == {"hosting": 35, "crawler-operator": 30, "cdn": 20, "vpn": 10, "privacy-relay": 0}
    assert max(weights.values()) < 70  # no network alone makes a scraper


@pytest.fixture(scope="module")
def balanced_with_pack() -> RuleSet:
    return load_rules("balanced")  # the preset imports hosting-networks.yaml


def classify(rules: RuleSet, db: AsnDatabase, ip: str, ua: str | None, headers: tuple[tuple[str, str], ...] = ()
             ) -> tuple[str, list[str]]:
    facts = Facts(ip=ip, user_agent=ua, path="/", headers=(("User-Agent", ua), *headers) if ua else headers)
    signals = {**collect_signals(facts), **network_signals(ip, db)}
    decision = rules.evaluate(facts, signals)
    return decision.verdict, [r.name for r in decision.reasons]


BROWSER_HEADERS = (("Accept", "text/html,application/xhtml+xml"), ("Accept-Language", "en-GB,en;q=0.9"),
                   ("Accept-Encoding", "gzip, deflate, br"))


@pytest.mark.parametrize(
    ("ip", "ua", "verdict", "rule"),
    [
        (AWS, CHROME, SUSPECT, "hosting-networks/hosting"),           # a browser in a data centre: watermark
        (HETZNER, CHROME, SUSPECT, "hosting-networks/hosting"),
        (CLOUDFLARE, CHROME, HUMAN, "hosting-networks/cdn"),
        (PROTON, CHROME, HUMAN, "hosting-networks/vpn"),
        (RELAY, SAFARI, HUMAN, "hosting-networks/privacy-relay"),     # named, weighs nothing
        ("81.0.1.2", CHROME, HUMAN, None),
        (AWS, "Mozilla/5.0 (compatible; MyFetcher/1.0)", SCRAPER, "hosting-networks/hosting"),  # + not a browser
        (AWS, "python-requests/2.32.3", SCRAPER, "hosting-networks/hosting"),
        # verified crawlers live in clouds: the decisive allow still wins over the weight
        ("66.249.66.1", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", HUMAN,
         "hosting-networks/hosting"),
    ],
)
def test_pack_against_balanced_thresholds(balanced_with_pack: RuleSet, db: AsnDatabase, ip: str, ua: str,
                                          verdict: str, rule: str | None) -> None:
    got, reasons = classify(balanced_with_pack, db, ip, ua, BROWSER_HEADERS)
    assert got == verdict, reasons
    network = [r for r in reasons if r.startswith("hosting-networks/")]
    assert network == ([rule] if rule else [])


def test_balanced_and_strict_import_the_pack():
    for preset in ("balanced", "strict"):
        assert "hosting-networks" in [p.name for p in load_rules(preset).packs]
