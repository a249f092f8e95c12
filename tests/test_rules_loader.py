"""Rule packs as data: good packs load, bad packs fail with the expected message, shipped packs parse;
the ruleset's evaluation order; the User-Agent candidate cache."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fixative.facts import Facts, ReverseDns
from fixative.rules.loader import RulePackError, load_pack, load_ruleset
from fixative.rules.presets import load_rules, preset_names, read_preset
from fixative.rules.ruleset import Rule, RuleSet, Thresholds
from fixative.signals import collect_signals
from fixative.verdict import HUMAN, SCRAPER, SUSPECT, Decision, Reason

HERE = Path(__file__).resolve().parent
GOOD = HERE / "rules" / "good"
BAD = HERE / "rules" / "bad"
GOOD_PRESET = GOOD / "presets" / "all-good.yaml"
SHIPPED = HERE.parent / "rules"
SHIPPED_PACKS = sorted(SHIPPED.glob("*.yaml"))

_EXPECT = re.compile(r"^#\s*expect(?:@(\d+))?:\s*(.+?)\s*$")


def _expectations(path: Path) -> list[tuple[int | None, str]]:
    """The `# expect: text` / `# expect@LINE: text` comments at the top of a bad file."""
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        m = _EXPECT.match(line)
        if m:
            found.append((int(m.group(1)) if m.group(1) else None, m.group(2)))
    return found


# --- good, bad and shipped packs --------------------------------------------------------------

@pytest.mark.parametrize("path", sorted(GOOD.glob("*.yaml")), ids=lambda p: p.name)
def test_good_pack_loads(path: Path) -> None:
    info, rules = load_pack(path)
    assert info.rule_count == len(rules) > 0
    assert all(r.pack == info.name and r.description for r in rules)


def test_good_packs_use_every_matcher_kind() -> None:
    from fixative.rules.matchers import MATCHERS

    text = "\n".join(p.read_text() for p in GOOD.glob("*.yaml"))
    used = {k for k in MATCHERS if re.search(rf"^\s+{k}:", text, re.MULTILINE)}
    assert used == set(MATCHERS)


def test_good_preset_loads_its_packs_in_order() -> None:
    rules = load_rules(str(GOOD_PRESET))
    assert [p.name for p in rules.packs] == ["good-ua", "good-network", "good-headers"]
    assert rules.thresholds == Thresholds(30, 70)
    assert rules.robots_tokens() == ["test-client"]  # evil-bot is a regex: no plain token


@pytest.mark.parametrize("path", sorted(BAD.glob("*.yaml")), ids=lambda p: p.name)
def test_bad_pack_reports_expected_problems(path: Path) -> None:
    expected = _expectations(path)
    assert expected, f"{path.name} has no `# expect:` line"
    with pytest.raises(RulePackError) as info:
        load_pack(path)
    message = str(info.value)
    assert message == "\n".join(info.value.problems)
    for line, text in expected:
        if line is None:
            assert text in message
        else:
            prefix = f"{path}:{line}: "
            assert any(p.startswith(prefix) and text in p for p in info.value.problems), (
                f"no problem starting {prefix!r} containing {text!r} in:\n{message}")


def test_several_problems_are_reported_in_one_pass() -> None:
    path = BAD / "several-problems.yaml"
    with pytest.raises(RulePackError) as info:
        load_pack(path)
    assert len(info.value.problems) == len(_expectations(path)) == 12
    # each problem says file:line: and, for rules, which rule
    assert all(re.match(rf"{re.escape(str(path))}:\d+: ", p) for p in info.value.problems)


def test_problems_of_several_packs_are_reported_together() -> None:
    with pytest.raises(RulePackError) as info:
        load_ruleset([BAD / "bad-id.yaml", GOOD / "ua-matchers.yaml", BAD / "unknown-kind.yaml"])
    text = str(info.value)
    assert "bad-id.yaml:9:" in text and "unknown-kind.yaml:13:" in text


def test_two_packs_with_one_name_are_refused(tmp_path: Path) -> None:
    copy = tmp_path / "copy.yaml"
    copy.write_text((GOOD / "ua-matchers.yaml").read_text())
    with pytest.raises(RulePackError, match=r"copy\.yaml:1: pack: name: 'good-ua' is also the name of"):
        load_ruleset([GOOD / "ua-matchers.yaml", copy])


def test_missing_pack_file() -> None:
    with pytest.raises(RulePackError, match="nope.yaml: file not found"):
        load_pack(HERE / "rules" / "nope.yaml")


@pytest.mark.parametrize("path", SHIPPED_PACKS, ids=lambda p: p.name)
def test_shipped_pack_loads(path: Path) -> None:
    info, rules = load_pack(path)
    assert info.rule_count == len(rules) > 0
    assert info.source.startswith("https://"), "the source must be linked at the top"
    assert info.licence and info.version and info.description


def test_every_shipped_pack_is_found() -> None:
    names = {p.stem for p in SHIPPED_PACKS}
    assert {"ai-agents", "ai-crawler-networks", "headless-browsers", "http-libraries",
            "link-previews", "search-engines", "ua-basics"} <= names


PRESETS = {
    "strict": (Thresholds(20, 50), {"link-previews"}),
    "balanced": (Thresholds(30, 70), set()),
    "permissive": (Thresholds(50, 120), {"http-libraries", "headless-browsers"}),
}


def test_preset_names() -> None:
    assert preset_names() == sorted(PRESETS)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_shipped_preset_loads(name: str) -> None:
    thresholds, left_out = PRESETS[name]
    rules = load_rules(name)
    packs = [p.name for p in rules.packs]
    assert rules.thresholds == thresholds
    assert packs[0] == "search-engines", "verified search engines must be allowed before anything denies"
    assert not left_out & set(packs)
    assert {"ai-agents", "ai-crawler-networks", "ua-basics"} <= set(packs)
    assert len(rules.rules) == sum(p.rule_count for p in rules.packs)
    assert "GPTBot" in rules.robots_tokens()


def test_preset_thresholds_can_be_overridden() -> None:
    assert load_rules("balanced", thresholds=Thresholds(10, 20)).thresholds == Thresholds(10, 20)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("imports: [../missing.yaml]\n", ":1: imports: ../missing.yaml: file not found"),
        ("imports: []\n", ":1: imports: expected a list of pack files"),
        ("imports: [a.yaml]\nrules: []\n", ":2: unknown key 'rules'; a preset only imports packs"),
        ("imports: [a.yaml]\nthresholds: {suspect: 80, scraper: 20}\n",
         ":2: thresholds: need whole numbers with 0 < suspect <= scraper"),
        ("imports: [a.yaml]\nthresholds: {bot: 3}\n", ":2: thresholds: expected {suspect: N, scraper: M}"),
        ("- a.yaml\n", ":1: a preset is a mapping"),
    ],
)
def test_bad_preset(tmp_path: Path, text: str, problem: str) -> None:
    (tmp_path / "a.yaml").write_text((GOOD / "ua-matchers.yaml").read_text())
    preset = tmp_path / "preset.yaml"
    preset.write_text(text)
    with pytest.raises(RulePackError) as info:
        read_preset(preset)
    assert f"{preset}{problem}" in str(info.value)


def test_unknown_preset_names_the_choices() -> None:
    with pytest.raises(ValueError, match="unknown preset 'medium': use one of balanced, permissive, strict"):
        load_rules("medium")


# --- evaluation order -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def good_rules() -> RuleSet:
    return load_rules(str(GOOD_PRESET))


def _decide(rules: RuleSet, ua: str | None, ip: str = "203.0.113.5", path: str = "/",
            method: str = "GET", headers: tuple[tuple[str, str], ...] = ()) -> Decision:
    if ua is not None:
        headers = (("User-Agent", ua), *headers)
    facts = Facts(ip=ip, user_agent=ua, path=path, method=method, headers=headers)
    return rules.evaluate(facts, collect_signals(facts))


BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:158.0) Gecko/20100101 Firefox/158.0"
LANG = (("Accept-Language", "en-GB,en;q=0.7"),)
MARKED = (("X-Test-Scraper", "yes"),)
OUT = "203.0.113.5"

# Under the good preset (suspect 30, scraper 70), in pack order good-ua, good-network, good-headers.
EVALUATION = [
    # id, ua, ip, path, method, extra headers, verdict, score, decided_by, reasons in evaluation order
    ("nothing-matches", BROWSER, OUT, "/", "GET", LANG, HUMAN, 0, None, []),
    ("allow-decides-despite-score", "FriendlyTestBot/2", OUT, "/", "GET", LANG, HUMAN, 30,
     "good-ua/friendly-bot", ["good-ua/friendly-bot", "good-headers/not-a-browser"]),
    ("first-decisive-wins", "FriendlyTestBot/2", OUT, "/", "GET", LANG + MARKED, HUMAN, 30,
     "good-ua/friendly-bot",
     ["good-ua/friendly-bot", "good-headers/not-a-browser", "good-headers/marked-scraper"]),
    ("deny-decides-despite-low-score", "EvilTestBot/1", "192.0.2.10", "/", "GET", LANG, SCRAPER, 10,
     "good-ua/evil-bot", ["good-ua/evil-bot", "good-network/office", "good-headers/not-a-browser"]),
    ("weights-add-up", "test-client/1.0", OUT, "/", "GET", (), SCRAPER, 100, None,
     ["good-ua/test-client", "good-network/client-outside-lab", "good-headers/no-accept-language",
      "good-headers/not-a-browser"]),
    ("negative-weight", "test-client/1.0", "192.0.2.99", "/", "GET", LANG, SUSPECT, 60, None,
     ["good-ua/test-client", "good-network/office", "good-network/client-outside-lab",
      "good-headers/not-a-browser"]),
    ("not-ip-excluded-range-and-scraper-threshold-inclusive", "test-client/1.0", "198.51.100.3", "/", "GET",
     LANG, SCRAPER, 70, None, ["good-ua/test-client", "good-headers/not-a-browser"]),
    ("suspect-threshold-inclusive", BROWSER, OUT, "/wp-admin/", "GET", LANG, SUSPECT, 30, None,
     ["good-network/admin-probe"]),
    ("path-regex-second-pattern", BROWSER, OUT, "/.env", "POST", LANG, SUSPECT, 30, None,
     ["good-network/admin-probe"]),
    ("path-without-method", BROWSER, OUT, "/wp-admin/", "HEAD", LANG, HUMAN, 0, None, []),
    ("method-any-case", BROWSER, OUT, "/a", "delete", LANG, HUMAN, 20, None, ["good-network/writes"]),
    ("path-glob-and-kind", BROWSER, OUT, "/images/full/cat.jpg", "GET", (), SUSPECT, 35, None,
     ["good-network/full-size-images", "good-headers/no-accept-language"]),
    ("path-glob-ignores-query", BROWSER, OUT, "/images/full/cat.jpg?w=2000", "GET", LANG, HUMAN, 15, None,
     ["good-network/full-size-images"]),
    ("path-glob-other-folder", BROWSER, OUT, "/images/thumbs/cat.jpg", "GET", LANG, HUMAN, 0, None, []),
    ("glob-needs-kind-image", BROWSER, OUT, "/images/full/list.json", "GET", LANG, HUMAN, 0, None, []),
    ("header-regex-any-case", BROWSER, OUT, "/", "GET", LANG + (("accept-encoding", "IDENTITY"),), HUMAN, 25,
     None, ["good-headers/identity-encoding"]),
    ("no-ua-from-office-v6", None, "2001:db8::5", "/", "GET", (("Accept-Encoding", "identity"),), SCRAPER, 85,
     None, ["good-ua/no-user-agent", "good-network/office", "good-headers/no-accept-language",
            "good-headers/identity-encoding"]),
    ("empty-ua-is-missing", "", OUT, "/", "GET", LANG, SUSPECT, 60, None, ["good-ua/no-user-agent"]),
    ("ipv4-mapped-office", BROWSER, "::ffff:192.0.2.7", "/", "GET", LANG, HUMAN, -20, None,
     ["good-network/office"]),
]


@pytest.mark.parametrize(
    ("ua", "ip", "path", "method", "headers", "verdict", "score", "decided_by", "reasons"),
    [pytest.param(*case[1:], id=case[0]) for case in EVALUATION],
)
def test_evaluation_order(good_rules: RuleSet, ua: str | None, ip: str, path: str, method: str,
                          headers: tuple[tuple[str, str], ...], verdict: str, score: int,
                          decided_by: str | None, reasons: list[str]) -> None:
    decision = _decide(good_rules, ua, ip, path, method, headers)
    assert (decision.verdict, decision.score) == (verdict, score)
    assert (decision.decided_by.name if decision.decided_by else None) == decided_by
    assert [r.name for r in decision.reasons] == reasons


def test_pack_order_decides_between_decisive_rules() -> None:
    rules = load_ruleset([GOOD / "headers-and-signals.yaml", GOOD / "ua-matchers.yaml"])
    decision = _decide(rules, "FriendlyTestBot/2", headers=LANG + MARKED)
    assert decision.verdict == SCRAPER
    assert decision.decided_by is not None and decision.decided_by.name == "good-headers/marked-scraper"
    assert [r.name for r in decision.reasons] == [
        "good-headers/not-a-browser", "good-headers/marked-scraper", "good-ua/friendly-bot"]


@pytest.mark.parametrize(
    ("thresholds", "verdict"),
    [(Thresholds(100, 100), SCRAPER), (Thresholds(100, 101), SUSPECT), (Thresholds(101, 200), HUMAN),
     (Thresholds(1, 1), SCRAPER)],
)
def test_thresholds_decide(thresholds: Thresholds, verdict: str) -> None:
    rules = load_ruleset(sorted(GOOD.glob("*.yaml")), thresholds)
    decision = _decide(rules, "test-client/1.0")
    assert (decision.score, decision.verdict) == (100, verdict)


def test_reasons_name_pack_and_rule_and_explain() -> None:
    rules = load_rules(str(GOOD_PRESET))
    decision = _decide(rules, "EvilTestBot/1", ip="192.0.2.10", headers=LANG)
    evil, office, not_browser = decision.reasons
    assert evil == Reason("good-ua", "evil-bot", "a test bot that is always refused", 0, "deny")
    assert str(evil) == "good-ua/evil-bot: a test bot that is always refused [deny]"
    assert str(office) == "good-network/office: from the artist's own office network [-20]"
    # a signal rule's reason carries the signal's detail
    assert str(not_browser) == ("good-headers/not-a-browser: the User-Agent is not a browser's "
                                "(parsed family 'EvilTestBot') [+30]")
    assert decision.as_dict()["decided_by"] == "good-ua/evil-bot"
    assert decision.as_dict()["reasons"][1] == {"rule": "good-network/office",
                                               "text": "from the artist's own office network",
                                               "weight": -20, "action": None}


# --- the User-Agent candidate cache ---------------------------------------------------------------

def _uncached(rules: RuleSet, facts: Facts, signals: dict[str, str]) -> Decision:
    """The documented order, applied to every rule without the per-User-Agent shortcut."""
    reasons: list[Reason] = []
    decided: Reason | None = None
    score = 0
    for rule in rules.rules:
        if all(t(facts, signals) for t in (*rule.ua_tests, *rule.other_tests)):
            reason = Reason(rule.pack, rule.id, _explain(rule, facts, signals), rule.weight, rule.action)
            reasons.append(reason)
            if rule.action:
                decided = decided or reason
            else:
                score += rule.weight
    if decided:
        verdict = HUMAN if decided.action == "allow" else SCRAPER
    else:
        t = rules.thresholds
        verdict = SCRAPER if score >= t.scraper else SUSPECT if score >= t.suspect else HUMAN
    return Decision(verdict, score, tuple(reasons), decided)


def _explain(rule: Rule, facts: Facts, signals: dict[str, str]) -> str:
    details = [signals[s] for s in rule.signals if signals.get(s)]
    if rule.rdns_tests:  # a rule testing reverse DNS says what the lookup found
        details.append(f"reverse DNS: {facts.rdns.detail if facts.rdns else 'not looked up'}")
    return f"{rule.description} ({'; '.join(details)})" if details else rule.description


CACHE_UAS = [
    None, "", "   ", BROWSER, BROWSER.upper(), "curl/8.7.1", "test-client/1.0", "FriendlyTestBot/2",
    "EvilTestBot/1", "EvilBot/x", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.0; +https://openai.com/gptbot)",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/74.0.3729.169 "
    "Safari/537.36", "facebookexternalhit/1.1", "python-requests/2.34.2", "RdnsTestBot/1",
]
CACHE_REQUESTS = [
    ("203.0.113.5", "/", "GET", ()),
    ("66.249.66.1", "/images/full/a.jpg", "GET", LANG),
    ("20.171.206.10", "/wp-admin", "POST", MARKED),
    ("2001:db8::1", "/x.zip", "DELETE", (("Accept-Encoding", "identity"),)),
    ("198.51.100.3", "/", "GET", LANG + MARKED),
]

CACHE_RDNS = [None, ReverseDns("crawl-1.googlebot.com", "confirmed"), ReverseDns("a.bot.example.org", "confirmed"),
              ReverseDns(None, "no answer"), None]


@pytest.mark.parametrize("preset", [str(GOOD_PRESET), "balanced", "strict"],
                         ids=["good", "balanced", "strict"])
def test_ua_candidate_cache_matches_uncached_evaluation(preset: str) -> None:
    rules = load_rules(preset)
    for _ in range(2):  # the second pass is served from the cache
        for ua in CACHE_UAS:
            for (ip, path, method, extra), rdns in zip(CACHE_REQUESTS, CACHE_RDNS):
                headers = ((("User-Agent", ua),) if ua is not None else ()) + extra
                facts = Facts(ip=ip, user_agent=ua, path=path, method=method, headers=headers, rdns=rdns)
                signals = collect_signals(facts)
                assert rules.evaluate(facts, signals) == _uncached(rules, facts, signals), (ua, ip, path)


@pytest.mark.parametrize(
    ("user_agent", "fires"),
    [("Spider/1.0 (+https://example.org)", True), ("Mozilla/5.0 (compatible; spider; x)", True),
     ("Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)", False),
     ("360Spider", False), ("Spiderman", False)],
)
def test_user_agent_token_matches_whole_words_only(user_agent: str, fires: bool) -> None:
    rules = load_rules(str(GOOD_PRESET))
    decision = rules.evaluate(Facts(ip="192.0.2.1", user_agent=user_agent), {})
    assert ("good-ua/whole-token" in [r.name for r in decision.reasons]) is fires
