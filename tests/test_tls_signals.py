"""TLS handshake signals, the `ja4` matcher, the pack in the presets, and --cert/--key checking."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from fixative.config import ConfigError
from fixative.facts import Facts
from fixative.ja4 import TlsFingerprint, parse_client_hello
from fixative.rules.matchers import Ja4
from fixative.rules.presets import load_rules
from fixative.signals import collect_signals
from fixative.signals.tls import tls_signals
from fixative.tlscert import prepare_certificate
from harness import CHROME_UA, browser_headers
from tlshelp import make_certificate

FIXTURES = Path(__file__).parent / "fixtures" / "tls"
FIREFOX_UA = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"


def recorded(name: str) -> TlsFingerprint:
    record = json.loads((FIXTURES / f"{name}.json").read_text())
    return TlsFingerprint.of(parse_client_hello(bytes.fromhex(record["client_hello_hex"])))


def facts(ua: str | None, tls: TlsFingerprint | None, kind: str = "image", **headers: str) -> Facts:
    sent = {**browser_headers(kind), **headers} if ua == CHROME_UA else {"User-Agent": ua or "", **headers}
    return Facts(ip="203.0.113.7", user_agent=ua, path="/images/full/a.jpg", headers=tuple(sent.items()),
                 secure=True, host="art.example", tls=tls)


@pytest.mark.parametrize("client, ua, expected", [
    ("chromium", CHROME_UA, set()),
    ("curl", CHROME_UA, {"tls.grease_missing"}),
    ("python-requests", CHROME_UA, {"tls.grease_missing", "tls.no_http2"}),
    ("python-requests", FIREFOX_UA, {"tls.no_http2"}),  # Firefox never greases
    ("node-fetch", CHROME_UA, {"tls.grease_missing", "tls.no_http2"}),
    ("wget", "Wget/1.21.3", set()),  # not a browser: the other packs' business
    ("curl", None, set()),
])
def test_signals(client: str, ua: str | None, expected: set[str]) -> None:
    assert set(tls_signals(facts(ua, recorded(client)))) == expected


def test_no_handshake_no_signal_and_details_name_the_fingerprint() -> None:
    assert tls_signals(facts(CHROME_UA, None)) == {}
    detail = collect_signals(facts(CHROME_UA, recorded("curl")))["tls.grease_missing"]
    assert "Chrome 131" in detail and recorded("curl").ja4 in detail


def test_websocket_upgrade_may_offer_only_http1() -> None:
    chromium_ws = TlsFingerprint(recorded("chromium").ja4, True, ("http/1.1",))
    assert tls_signals(facts(CHROME_UA, chromium_ws, Upgrade="websocket")) == {}
    assert set(tls_signals(facts(CHROME_UA, chromium_ws))) == {"tls.no_http2"}


def test_ja4_matcher_globs_any_case_and_never_without_handshake() -> None:
    test = Ja4.compile(["*_E8F1E7E78F70_b26ce05bbdd6", "t13d1812h1_*"])
    assert test(facts(CHROME_UA, recorded("curl")), {})
    assert test(facts(CHROME_UA, recorded("python-requests")), {})
    assert not test(facts(CHROME_UA, recorded("chromium")), {})
    assert not test(facts(CHROME_UA, None), {})
    with pytest.raises(ValueError, match="JA4 fingerprint"):
        Ja4.compile([])


@pytest.mark.parametrize("preset", ["balanced", "strict"])
def test_presets_keep_chromium_human_and_catch_forged_chrome(preset: str) -> None:
    rules = load_rules(preset, [], None)
    person = rules.evaluate(facts(CHROME_UA, recorded("chromium")), collect_signals(facts(CHROME_UA, recorded("chromium"))))
    assert person.verdict == "human" and not any(r.pack == "tls-fingerprints" for r in person.reasons)
    for client in ("curl", "python-requests", "node-fetch"):
        forged = facts(CHROME_UA, recorded(client))  # Chromium's whole header set, a library's handshake
        decision = rules.evaluate(forged, collect_signals(forged))
        assert decision.verdict in ("suspect", "scraper"), (client, decision)
        assert any(r.pack == "tls-fingerprints" for r in decision.reasons)
        # Without the handshake the same headers pass as a person: the handshake is what gives it away.
        plain = facts(CHROME_UA, None)
        assert rules.evaluate(plain, collect_signals(plain)).verdict == "human"


# --- --cert / --key ------------------------------------------------------------------------------

def test_certificate_and_key_are_combined_owner_only(tmp_path: Path) -> None:
    cert, key = make_certificate(tmp_path / "in")
    combined = prepare_certificate(cert, key, tmp_path / "state")
    assert stat.S_IMODE(combined.stat().st_mode) == 0o600
    assert stat.S_IMODE(combined.parent.stat().st_mode) == 0o700
    text = combined.read_text()
    assert text.startswith("-----BEGIN PRIVATE KEY-----") and "-----BEGIN CERTIFICATE-----" in text


def test_certificate_problems_name_the_file_and_what_to_do(tmp_path: Path) -> None:
    cert, key = make_certificate(tmp_path / "a")
    other_cert, other_key = make_certificate(tmp_path / "b")
    locked_cert, locked_key = make_certificate(tmp_path / "c", passphrase=b"secret")
    old_cert, old_key = make_certificate(tmp_path / "d", days=-0.5)
    state = tmp_path / "state"
    cases = [
        ((cert, None), "--cert needs --key too"),
        ((None, key), "--key needs --cert too"),
        ((tmp_path / "nope.pem", key), f"--cert {tmp_path / 'nope.pem'}: no such file"),
        ((cert, tmp_path), f"--key {tmp_path}: is a folder"),
        ((key, key), f"--cert {key}: no PEM certificate in it"),
        ((cert, cert), f"--key {cert}: no PEM private key in it"),
        ((cert, other_key), f"--key {other_key}: this key does not belong to the certificate in {cert}"),
        ((locked_cert, locked_key), f"--key {locked_key}: the key is protected by a passphrase"),
        ((old_cert, old_key), f"--cert {old_cert}: the certificate expired on"),
    ]
    for (c, k), message in cases:
        with pytest.raises(ConfigError) as info:
            prepare_certificate(c, k, state)
        assert message in str(info.value)
    assert not (state / "tls" / "site.pem").exists()
    del other_cert
