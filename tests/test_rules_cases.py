"""Rule-pack cases: every shipped pack passes its rules/cases/<pack>.cases.yaml (through the function and
through `fixative rules test`), the cases format, and the simulated client against the proxy's own code."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from fixative.facts import Facts
from fixative.rules.casetest import CaseFileError, load_cases, run_case, run_files
from fixative.rules.loader import SHIPPED_RULES, load_pack, load_ruleset
from fixative.rules.simulate import Visitor
from fixative.rulescli import main as rules_main

CASES = SHIPPED_RULES / "cases"
PACKS = sorted(SHIPPED_RULES.glob("*.yaml"))
SMALL = 30  # packs with fewer rules must fire every rule in some case
CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/155.0.0.0 Safari/537.36"


def test_every_shipped_pack_has_cases_and_every_cases_file_a_pack() -> None:
    assert {p.stem for p in PACKS} == {c.name.removesuffix(".cases.yaml") for c in CASES.glob("*.cases.yaml")}


@pytest.mark.parametrize("pack", PACKS, ids=lambda p: p.stem)
def test_shipped_pack_passes_its_cases(pack: Path) -> None:
    rules = load_ruleset([pack])
    cases = load_cases(CASES / f"{pack.stem}.cases.yaml")
    assert len(cases) >= 5
    outcomes = [run_case(rules, case) for case in cases]
    failures = [o for o in outcomes if not o.passed]
    assert not failures, "\n".join(str(o.failures) + f" {o.case.name}: {[r.name for r in o.decision.reasons]}"
                                   for o in failures)
    _, pack_rules = load_pack(pack)
    if len(pack_rules) < SMALL:
        fired = {r.name for o in outcomes for r in o.decision.reasons}
        assert not {r.name for r in pack_rules} - fired, "every rule of a small pack fires in some case"


def test_cli_runs_a_packs_cases(capsys: pytest.CaptureFixture[str]) -> None:
    pack = SHIPPED_RULES / "http-libraries.yaml"
    assert rules_main(["test", str(pack), "--cases", str(CASES / "http-libraries.cases.yaml")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "PASS curl" and lines[-1] == f"{len(lines) - 1} passed, 0 failed"


def test_cli_with_a_preset_and_a_failing_case(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cases = tmp_path / "mine.cases.yaml"
    cases.write_text(
        "- name: gptbot\n  request: {ua: 'GPTBot/1.2'}\n  expect: {verdict: scraper, decided_by: ai-agents/gptbot}\n"
        "- name: wrong\n  request: {ua: curl/8.7.1}\n"
        "  expect: {verdict: human, rule: http-libraries/python, not_rule: curl-wget}\n")
    assert rules_main(["test", "--preset", "balanced", "--cases", str(cases), "-q"]) == 1
    out = capsys.readouterr().out
    assert "PASS gptbot" not in out  # -q: failures only
    assert f"FAIL wrong ({cases}:4)" in out
    assert "    verdict: expected human, got scraper (score " in out
    assert "    - http-libraries/python  (expected to fire)" in out
    assert "    + http-libraries/curl-wget  (fired, expected not to)" in out
    assert "      ua-basics/not-a-browser: the User-Agent is not a browser's (parsed family 'curl') [+50]" in out
    assert out.splitlines()[-1] == "1 passed, 1 failed"


@pytest.mark.parametrize(("text", "problem"), [
    ("name: x\n", ":1: a cases file is a list of cases"),
    ("- name: a\n  expect: {verdict: maybe}\n", ":1: case 'a': expect.verdict: 'maybe' is not one of human"),
    ("- name: a\n  request: {agent: x}\n  expect: {score: 1}\n", ":1: case 'a': request.agent: unknown field"),
    ("- request: {}\n  expect: {score: 1}\n", ":1: case: name: missing (required)"),
    ("- name: a\n  expect: {}\n", ":1: case 'a': expect: give at least one of"),
    ("- name: a\n  history: [{path: /, repeat: 0}]\n  expect: {score: 0}\n",
     ":1: case 'a': history[0].repeat: expected a whole number from 1 to 10000"),
    ("- name: a\n  expect: {score: 0}\n- name: a\n  expect: {score: 0}\n", ":3: case 'a': name used twice"),
    ("- name: a\n  request: {headers: [Accept]}\n  expect: {score: 0}\n",
     ":1: case 'a': request.headers: expected a mapping"),
])
def test_bad_cases_file(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "bad.cases.yaml"
    path.write_text(text)
    with pytest.raises(CaseFileError) as info:
        load_cases(path)
    assert any(p.startswith(str(path)) and problem in p for p in info.value.problems), info.value.problems


def test_cli_reports_a_broken_cases_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.cases.yaml"
    path.write_text("- name: a\n  expect: {verdict: maybe}\n")
    assert rules_main(["test", str(SHIPPED_RULES / "ua-basics.yaml"), "--cases", str(path)]) == 2
    assert "expect.verdict: 'maybe'" in capsys.readouterr().err


def test_unknown_rule_in_expect_fails_rather_than_passing(tmp_path: Path) -> None:
    path = tmp_path / "typo.cases.yaml"
    path.write_text("- name: typo\n  request: {ua: curl/8.7.1}\n  expect: {not_rule: http-libraries/curl}\n")
    printed: list[str] = []
    assert run_files(load_ruleset([SHIPPED_RULES / "http-libraries.yaml"]), [path], printed.append) == (0, 1)
    assert "\n    ? http-libraries/curl: no such rule in the packs under test\n" in "\n".join(printed)


def test_history_defaults_follow_the_request(tmp_path: Path) -> None:
    """History items take the request's User-Agent, address and headers unless they give their own;
    `ua: null` sends none; `{n}` counts repetitions and `{trap}` is the trap prefix."""
    from fixative.rules.casetest import _facts

    path = tmp_path / "h.cases.yaml"
    path.write_text("- name: h\n  request: {ua: Bot/1, ip: 192.0.2.1, headers: {Accept: image/png}, host: a.example}\n"
                    "  history: [{path: '/p/{n}'}, {ua: null, path: '{trap}x', headers: {}}]\n"
                    "  expect: {score: 0}\n")
    (case,) = load_cases(path)
    visitor = Visitor(load_ruleset([SHIPPED_RULES / "ua-basics.yaml"]))
    first = _facts(case.history[0], case.request, visitor, 5.0, 3)
    assert (first.user_agent, first.ip, first.path, first.host, first.time) == ("Bot/1", "192.0.2.1", "/p/3",
                                                                                "a.example", 5.0)
    assert first.headers == (("User-Agent", "Bot/1"), ("Accept", "image/png"))
    second = _facts(case.history[1], case.request, visitor, 6.0, 1)
    assert (second.user_agent, second.headers, second.path) == (None, (), f"{visitor.trap_prefix}x")


# --- the simulation against the proxy's own client_signals -----------------------------------

def test_visitor_signals_match_the_proxy_addon() -> None:
    """The simulated client's behaviour and session signals equal addons.classify.client_signals on the same
    state, request by request (a drift check: the proxy's code is the reference)."""
    from fixative.addons.classify import client_signals

    visitor = Visitor(load_ruleset([SHIPPED_RULES / "behaviour.yaml"]), keep_cookies=True)
    steps = [("/robots.txt", "text/plain"), ("/works/evening/", "text/html"),
             *((f"/images/full/{n}.jpg", "image/webp") for n in range(8)),
             (f"{visitor.trap_prefix}x.html", "text/html"), ("/images/full/last.jpg", "image/webp")]
    for i, (path, accept) in enumerate(steps):
        headers = visitor.with_cookie((("User-Agent", CHROME), ("Accept", accept)))
        facts = Facts(ip="203.0.113.7", user_agent=CHROME, path=path, headers=headers, time=1e9 + i * 0.5)
        runtime = SimpleNamespace(secret=visitor.secret, clients=visitor.clients, robots=visitor.robots,
                                  sitemap=visitor.sitemap)
        metadata: dict[str, object] = {}
        _, theirs = client_signals(runtime, facts, metadata)  # type: ignore[arg-type]
        _, key, mine, status = visitor.client_signals(facts)
        assert (mine, key, status) == (theirs, metadata["fixative.client"], metadata["fixative.session"]), path
        visitor.send(facts)
    assert "session.valid" in mine and "behaviour.robots_ignored" not in mine
