"""Pure parts of the control plane: overrides and their generated pack, the trust cookie, preview path checks."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixative.admin import trust
from fixative.admin.overrides import parse_override, read_overrides, write_overrides, write_pack
from fixative.admin.preview import check_path
from fixative.admin.tokens import bearer_matches
from fixative.facts import Facts
from fixative.rules.loader import load_ruleset

CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"


@pytest.mark.parametrize(
    "value", ['say "hi": #1', "a: b", "{x}", "- item", "&anchor *alias", "'quoted'"]
)
def test_any_user_agent_substring_compiles_through_the_ordinary_loader(tmp_path: Path, value: str):
    rules = load_ruleset([write_pack(tmp_path, [parse_override("user_agent", value, "deny")])])
    decision = rules.evaluate(Facts(ip="192.0.2.1", user_agent=f"x {value} y"), {})
    assert decision.verdict == "scraper" and decision.decided_by is not None
    assert decision.decided_by.pack == "local-overrides" and value in decision.decided_by.text


def test_allows_win_over_denies_and_trusted_browsers_are_allowed(tmp_path: Path):
    overrides = [
        parse_override("ip", "198.51.100.0/24", "deny"),
        parse_override("ip", "198.51.100.7", "allow"),
    ]
    rules = load_ruleset([write_pack(tmp_path, overrides)])
    assert rules.evaluate(Facts(ip="198.51.100.7", user_agent=CHROME), {}).verdict == "human"
    assert rules.evaluate(Facts(ip="198.51.100.8", user_agent=CHROME), {}).verdict == "scraper"
    trusted = rules.evaluate(
        Facts(ip="198.51.100.8", user_agent=CHROME), {"session.trusted": "cookie"}
    )
    assert (
        trusted.verdict == "human" and trusted.decided_by.name == "local-overrides/trusted-browser"
    )


@pytest.mark.parametrize(
    "kind, value, action, note, field",
    [
        ("ip", "300.1.1.1", "deny", "", "value"),
        ("ip", "", "deny", "", "value"),
        ("asn", "AS1", "deny", "", "kind"),
        ("ip", "10.0.0.1", "block", "", "action"),
        ("user_agent", "ab", "deny", "", "value"),
        ("user_agent", "bad\nline", "deny", "", "value"),
        ("user_agent", "GPTBot", "deny", "x" * 201, "note"),
        ("user_agent", "GPTBot", "deny", 7, "note"),
    ],
)
def test_bad_overrides_name_the_field(kind, value, action, note, field):
    with pytest.raises(ValueError, match=f"^{field}: "):
        parse_override(kind, value, action, note)


def test_overrides_round_trip_and_a_broken_file_names_itself(tmp_path: Path):
    saved = [
        parse_override("ip", "2001:db8::/32", "deny", "a v6 farm"),
        parse_override("user_agent", "Bot/", "allow"),
    ]
    write_overrides(tmp_path, saved)
    assert [(o.kind, o.value, o.action, o.note) for o in read_overrides(tmp_path)] == [
        (o.kind, o.value, o.action, o.note) for o in saved
    ]
    (tmp_path / "overrides.yaml").write_text(
        "overrides:\n  - {kind: ip, value: nope, action: deny}\n"
    )
    with pytest.raises(ValueError, match=r"overrides.yaml: override #1: value"):
        read_overrides(tmp_path)
    assert read_overrides(tmp_path / "missing") == []


def test_trust_cookie_is_signed_expires_and_is_found_among_others():
    secret, now = b"k" * 32, 1_800_000_000.0
    value = trust.issue(secret, now)
    assert trust.is_trusted(secret, value, now + 86400)
    assert not trust.is_trusted(secret, value, now + trust.MAX_AGE + 1)
    assert not trust.is_trusted(b"j" * 32, value, now)
    assert not trust.is_trusted(secret, value.replace(".", "x", 1), now)
    assert trust.cookie_value(f"a=1; fx_trusted={value}; b=2") == value
    assert trust.cookie_value("fx_session=1") is None


@pytest.mark.parametrize(
    "path, ok",
    [
        ("/images/full/a.jpg", True),
        ("/a.jpg?size=2", True),
        ("/", True),
        ("/%2e%2e/x", False),
        ("/a/../b", False),
        ("/%252e%252e/x", False),
        ("//evil.example/", False),
        ("/%2F%2Fevil", False),
        ("http://evil.example/", False),
        ("a.jpg", False),
        ("/a b", False),
        ("/a\\b", False),
        ("/a#b", False),
        ("/" + "a" * 3000, False),
    ],
)
def test_preview_paths(path: str, ok: bool):
    if ok:
        assert check_path(path) == path
    else:
        with pytest.raises(ValueError, match="^path: "):
            check_path(path)


@pytest.mark.parametrize(
    "header, ok",
    [
        ("Bearer tok", True),
        ("bearer tok", True),
        ("Bearer  tok ", True),
        ("Bearer tok2", False),
        ("Basic tok", False),
        ("tok", False),
        (None, False),
        ("Bearer ", False),
    ],
)
def test_bearer_header(header, ok):
    assert bearer_matches(header, "tok") is ok
