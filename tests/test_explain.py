"""`fixative explain` over real User-Agents, and the guard that no tool or AI-agent rule matches a browser."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from fixative.cli import main
from fixative.facts import Facts
from fixative.rules.presets import load_rules
from fixative.rules.ruleset import RuleSet

FIXTURE = yaml.safe_load((Path(__file__).parent / "data" / "user_agents.yaml").read_text(encoding="utf-8"))
CASES: list[dict[str, Any]] = FIXTURE["cases"]
DEFAULT_IP = "203.0.113.7"

BROWSER_UAS: list[tuple[str, str]] = [(c["name"], c["ua"]) for c in CASES if c.get("browser")] + [
    (Path(c["source"]).stem, c["ua"]) for c in FIXTURE["curl_impersonate"]
]

# Packs that name tools, automation and AI agents: none of their rules may match a person's browser.
NOT_FOR_BROWSERS = ("ai-agents", "http-libraries", "headless-browsers")


def _explain(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["explain", "--preset", "balanced", *args])
    out, err = capsys.readouterr()
    return code, out, err


def _args(case: dict[str, Any]) -> list[str]:
    args = ["--ip", str(case.get("ip", DEFAULT_IP))]
    if case["ua"] is not None:
        args += ["--ua", case["ua"]]
    return args


def test_fixture_is_well_formed() -> None:
    names = [c["name"] for c in CASES]
    assert len(names) == len(set(names)) >= 40
    for case in CASES:
        assert case["verdict"] in ("human", "suspect", "scraper"), case["name"]
        assert case.get("source"), case["name"]
        assert set(case) <= {"name", "ua", "ip", "verdict", "decided_by", "browser", "source", "note"}
    assert len(FIXTURE["curl_impersonate"]) >= 40
    assert all(c["ua"].startswith("Mozilla/5.0 (") for c in FIXTURE["curl_impersonate"])


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_explain_verdict(capsys: pytest.CaptureFixture[str], case: dict[str, Any]) -> None:
    code, out, err = _explain(capsys, *_args(case), "--json")
    assert (code, err) == (0, "")
    result = json.loads(out)
    assert result["verdict"] == case["verdict"], result["reasons"]
    if "decided_by" in case:
        assert result["decided_by"] == case["decided_by"]
    if case.get("browser"):
        assert result["reasons"] == [] and result["score"] == 0


def test_explain_json_shape(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _explain(capsys, "--ua", "curl/8.7.1", "--path", "/images/full/a.jpg", "--json")
    result = json.loads(out)
    assert code == 0
    assert set(result) == {"verdict", "score", "decided_by", "reasons", "kind", "treatment", "mode", "site"}
    assert result["site"] is None  # the top-level settings (no --site or --host)
    assert (result["verdict"], result["kind"], result["treatment"], result["mode"]) == (
        "scraper", "image", "decoy", "enforce")
    assert {"rule": "http-libraries/curl-wget", "weight": 80, "action": None,
            "text": "a command-line download tool (curl, wget, HTTPie, aria2, lwp)"} in result["reasons"]


@pytest.mark.parametrize(
    ("args", "kind", "treatment"),
    [
        (["--ua", "curl/8.7.1", "--path", "/gallery/"], "page", "original"),
        (["--ua", "curl/8.7.1", "--path", "/a.webp"], "image", "decoy"),
        (["--ua", "curl/8.7.1", "--path", "/img", "--header", "Accept: image/avif,image/webp"], "image", "decoy"),
        (["--ua", "PostmanRuntime/7.26.5", "--path", "/a.png"], "image", "watermark"),  # suspect
        (["--ua", CASES[0]["ua"], "--path", "/a.png"], "image", "original"),
    ],
)
def test_explain_treatment(capsys: pytest.CaptureFixture[str], args: list[str], kind: str,
                           treatment: str) -> None:
    _, out, _ = _explain(capsys, *args, "--json")
    result = json.loads(out)
    assert (result["kind"], result["treatment"]) == (kind, treatment)


REASON_LINE = re.compile(r"^  [a-z0-9][a-z0-9_.-]*/[a-z0-9][a-z0-9_.-]*: \S.* \[(allow|deny|[+-]\d+)\]$")


def test_explain_human_readable(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _explain(capsys, "--ua", "CCBot/2.0 (https://commoncrawl.org/faq/)", "--path", "/a.jpg")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].startswith("verdict: scraper (score ")
    assert lines[0].endswith("; suspect at 30, scraper at 70)")
    assert "decided by: ai-agents/ccbot (deny)" in lines
    assert "treatment: decoy for this image (enforce mode)" in lines
    reasons = lines[lines.index("reasons:") + 1:]
    assert reasons and all(REASON_LINE.match(r) for r in reasons), reasons
    assert reasons[0].startswith("  ai-agents/ccbot: declares itself CCBot (Common Crawl")
    assert reasons[0].endswith(" [deny]")
    assert "  ua-basics/not-a-browser: the User-Agent is not a browser's (parsed family 'CCBot') [+50]" in reasons


def test_explain_human_readable_no_reasons(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = _explain(capsys, "--ua", CASES[0]["ua"])
    assert out.splitlines() == [
        "verdict: human (score 0; suspect at 30, scraper at 70)",
        "treatment: original for this page (enforce mode)",
        "reasons: none (no rule matched)",
    ]


@pytest.mark.parametrize("header", ["NoColonHere", ": value without a name", "  : x"])
def test_explain_bad_header(capsys: pytest.CaptureFixture[str], header: str) -> None:
    code, out, err = _explain(capsys, "--ua", "curl/8.7.1", "--header", header)
    assert code == 2
    assert out == ""
    assert f"--header {header!r}: write it as 'Name: value'" in err


def test_explain_headers_reach_the_rules(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    pack = Path(__file__).parent / "rules" / "good" / "headers-and-signals.yaml"
    config = tmp_path / "fixative.yaml"
    config.write_text(f"packs: [{pack}]\n")
    _, out, _ = _explain(capsys, "--config", str(config), "--ua", CASES[0]["ua"], "--header",
                         "X-Test-Scraper: yes", "--header", "Accept-Language: en", "--json")
    result = json.loads(out)
    assert (result["verdict"], result["decided_by"]) == ("scraper", "good-headers/marked-scraper")


# --- no tool, automation or AI-agent rule may match a real browser -------------------------------

@pytest.fixture(scope="module")
def balanced() -> RuleSet:
    return load_rules("balanced")


def test_guarded_packs_are_loaded(balanced: RuleSet) -> None:
    packs = {r.pack for r in balanced.rules}
    assert set(NOT_FOR_BROWSERS) <= packs


@pytest.mark.parametrize(("name", "ua"), BROWSER_UAS, ids=[n for n, _ in BROWSER_UAS])
def test_no_tool_or_agent_rule_matches_a_browser(balanced: RuleSet, name: str, ua: str) -> None:
    facts = Facts(ip=DEFAULT_IP, user_agent=ua, headers=(("User-Agent", ua),))
    # the User-Agent tests alone: a rule that also needs e.g. an address must not hinge on it
    matching = [r.name for r in balanced.rules
                if r.pack in NOT_FOR_BROWSERS and r.ua_tests and all(t(facts, {}) for t in r.ua_tests)]
    assert matching == []


@pytest.mark.parametrize(("name", "ua"), BROWSER_UAS, ids=[n for n, _ in BROWSER_UAS])
def test_browser_is_human_under_balanced(balanced: RuleSet, name: str, ua: str) -> None:
    from fixative.classify import Classifier

    decision = Classifier(balanced).classify(Facts(ip=DEFAULT_IP, user_agent=ua, headers=(("User-Agent", ua),)))
    assert (decision.verdict, decision.reasons) == ("human", ())


def test_explain_with_prior_history_shows_behaviour(capsys: pytest.CaptureFixture[str]) -> None:
    ua = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
    nav = ["--header", "Sec-Fetch-Dest: document", "--header", "Accept: text/html",
           "--header", "Accept-Language: en", "--header", "Accept-Encoding: gzip, deflate, br"]
    base = ["explain", "--ua", ua, "--path", "/images/full/c.jpg", "--json", *nav]
    assert main(base) == 0
    alone = json.loads(capsys.readouterr().out)
    assert main([*base, "--after", "GET /images/full/a.jpg", "--after", "/images/full/b.jpg"]) == 0
    after = json.loads(capsys.readouterr().out)
    assert "behaviour/image-spree" not in [r["rule"] for r in alone["reasons"]]
    assert "behaviour/image-spree" in [r["rule"] for r in after["reasons"]]
    assert main([*base, "--after", "nonsense"]) == 2
