"""`fixative rules test PACK... --cases FILE`: request cases a pack must decide as expected.

A cases file is a YAML list. Each case names a request, optionally the client's earlier requests
(fed through the same behaviour, session and trap code as the proxy, see simulate.py), and what
must come out:

    - name: gptbot-declared
      request: {ua: 'Mozilla/5.0 ... GPTBot/1.2 ...', ip: 203.0.113.7, path: /images/a.jpg}
      history: [{path: /robots.txt}, {path: '{trap}x.html', after_seconds: 2}]
      cookies: true          # optional: the client keeps the session cookie pages set
      expect: {verdict: scraper, rule: ai-agents/gptbot, not_rule: [search-engines/verified-googlebot]}

`{trap}` in a path is the simulated install's trap prefix, `{n}` the repetition (`repeat: N`).
`rdns: NAME` states what forward-confirmed reverse DNS gave for the address (`false`: looked up,
not verified; absent: not looked up), as the proxy would find it before classifying.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..facts import Facts, ReverseDns
from ..ja4 import TlsFingerprint
from ..verdict import VERDICTS, Decision
from ..yamlsource import LineDict, LineList, YamlSourceError, load_yaml
from .ruleset import RuleSet
from .simulate import Visitor

START = 1_750_000_000.0
REQUEST_FIELDS = {"ua", "ip", "path", "method", "headers", "secure", "host", "tls", "rdns"}
HISTORY_FIELDS = REQUEST_FIELDS | {"after_seconds", "repeat", "shows"}
CASE_FIELDS = {"name", "request", "history", "expect", "cookies", "note"}
EXPECT_FIELDS = {"verdict", "rule", "not_rule", "score", "decided_by"}
_INHERIT = object()


class CaseFileError(ValueError):
    """Problems in a cases file, each `file:line: problem`."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class Step:
    """One request of a case: the last one, or one of the history before it."""

    ua: Any = _INHERIT
    ip: str | None = None
    path: str = "/"
    method: str = "GET"
    headers: tuple[tuple[str, str], ...] | None = None
    secure: bool | None = None
    host: str | None = None
    rdns: Any = _INHERIT  # the forward-confirmed name; False: not verified; None: not looked up
    after_seconds: float = 1.0
    repeat: int = 1
    shows: tuple[str, ...] = ()
    tls: TlsFingerprint | None = None


@dataclass(frozen=True)
class Case:
    name: str
    where: str
    request: Step
    history: tuple[Step, ...] = ()
    cookies: bool = False
    verdict: str | None = None
    rules: tuple[str, ...] = ()
    not_rules: tuple[str, ...] = ()
    score: int | None = None
    decided_by: str | None = None


@dataclass
class Outcome:
    case: Case
    decision: Decision
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


def load_cases(path: Path) -> list[Case]:
    """Parse a cases file; raise CaseFileError listing every problem with its line."""
    try:
        doc = load_yaml(path)
    except YamlSourceError as e:
        raise CaseFileError([str(e)]) from e
    problems: list[str] = []
    if not isinstance(doc, LineList):
        raise CaseFileError([f"{path}:1: a cases file is a list of cases (- name: ..., request: ..., expect: ...)"])
    cases = []
    for index, item in enumerate(doc):
        where = f"{path}:{doc.line_of(index)}"
        if not isinstance(item, LineDict):
            problems.append(f"{where}: case #{index + 1}: expected a mapping with name, request and expect")
            continue
        before = len(problems)
        case = _case(item, where, problems)
        if len(problems) == before:
            cases.append(case)
    names = [c.name for c in cases]
    problems += [f"{c.where}: case {c.name!r}: name used twice" for i, c in enumerate(cases) if c.name in names[:i]]
    if problems:
        raise CaseFileError(problems)
    return cases


def _case(item: LineDict, where: str, problems: list[str]) -> Case:
    name = str(item.get("name", ""))
    label = f"{where}: case {name!r}" if name else f"{where}: case"

    def fields(value: Any, allowed: set[str], what: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            problems.append(f"{label}: {what}: expected a mapping")
            return {}
        for key in value:
            if key not in allowed:
                problems.append(f"{label}: {what}.{key}: unknown field; use {', '.join(sorted(allowed))}")
        return value

    fields(item, CASE_FIELDS, "case")
    if not name:
        problems.append(f"{label}: name: missing (required)")
    request = _step(fields(item.get("request", {}), REQUEST_FIELDS, "request"), label, "request", problems)
    history_items = item.get("history", [])
    if not isinstance(history_items, list):
        problems.append(f"{label}: history: expected a list of earlier requests")
        history_items = []
    history = tuple(_step(fields(h, HISTORY_FIELDS, f"history[{i}]"), label, f"history[{i}]", problems)
                    for i, h in enumerate(history_items))
    expect = fields(item.get("expect"), EXPECT_FIELDS, "expect")
    if not expect:
        problems.append(f"{label}: expect: give at least one of {', '.join(sorted(EXPECT_FIELDS))}")
    verdict = expect.get("verdict")
    if verdict is not None and verdict not in VERDICTS:
        problems.append(f"{label}: expect.verdict: {verdict!r} is not one of {', '.join(VERDICTS)}")
    score = expect.get("score")
    if score is not None and (not isinstance(score, int) or isinstance(score, bool)):
        problems.append(f"{label}: expect.score: expected a whole number")
    return Case(name=name, where=where, request=request, history=history, cookies=bool(item.get("cookies")),
                verdict=verdict, rules=_names(expect.get("rule")), not_rules=_names(expect.get("not_rule")),
                score=score, decided_by=expect.get("decided_by"))


def _names(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in ([] if value is None else [value] if isinstance(value, str) else value))


def _step(value: dict[str, Any], label: str, what: str, problems: list[str]) -> Step:
    headers = value.get("headers")
    if headers is not None and not isinstance(headers, dict):
        problems.append(f"{label}: {what}.headers: expected a mapping of header name to value")
        headers = None
    ua = value.get("ua", _INHERIT if what != "request" else None)
    if ua is not None and ua is not _INHERIT and not isinstance(ua, str):
        problems.append(f"{label}: {what}.ua: expected a string, or null for no User-Agent")
    repeat, after = value.get("repeat", 1), value.get("after_seconds", 1.0)
    if not isinstance(repeat, int) or isinstance(repeat, bool) or not 1 <= repeat <= 10_000:
        problems.append(f"{label}: {what}.repeat: expected a whole number from 1 to 10000")
        repeat = 1
    if not isinstance(after, (int, float)) or isinstance(after, bool) or after < 0:
        problems.append(f"{label}: {what}.after_seconds: expected a number of seconds, 0 or more")
        after = 1.0
    rdns = value.get("rdns", _INHERIT if what != "request" else None)
    if rdns not in (None, False, _INHERIT) and (not isinstance(rdns, str) or not rdns.strip()):
        problems.append(f"{label}: {what}.rdns: expected the host name forward-confirmed reverse DNS gives "
                        "(e.g. crawl-66-249-66-1.googlebot.com), or false: looked up, not verified")
        rdns = None
    return Step(ua=ua, ip=_str(value.get("ip")), rdns=rdns, path=str(value.get("path", "/")),
                method=str(value.get("method", "GET")).upper(),
                headers=tuple((str(k), str(v)) for k, v in headers.items()) if headers is not None else None,
                secure=value.get("secure"), host=_str(value.get("host")), after_seconds=float(after),
                repeat=repeat, shows=tuple(str(s) for s in value.get("shows", []) or []),
                tls=_tls(value.get("tls"), f"{label}: {what}.tls", problems))


def _tls(value: Any, label: str, problems: list[str]) -> TlsFingerprint | None:
    """The TLS handshake a case states: {ja4: t13d1516h2_..., grease: true, alpn: [h2, http/1.1]}."""
    if value is None:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("ja4"), str):
        problems.append(f"{label}: expected a mapping with ja4 (a JA4 fingerprint), grease and alpn")
        return None
    unknown = sorted(set(value) - {"ja4", "grease", "alpn"})
    if unknown:
        problems.append(f"{label}.{unknown[0]}: unknown field; use alpn, grease, ja4")
    alpn = value.get("alpn", [])
    if not isinstance(alpn, list) or not isinstance(value.get("grease", False), bool):
        problems.append(f"{label}: alpn is a list of protocols (e.g. [h2, http/1.1]) and grease true or false")
        return None
    return TlsFingerprint(value["ja4"].lower(), value.get("grease", False), tuple(str(a) for a in alpn))


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def run_case(rules: RuleSet, case: Case) -> Outcome:
    """Replay the history, classify the request, compare with what the case expects."""
    visitor = Visitor(rules, keep_cookies=case.cookies)
    now = START
    decision: Decision | None = None
    steps = [*case.history, case.request]
    for step in steps:
        for n in range(1, step.repeat + 1):
            if decision is not None:
                now += step.after_seconds
            facts = _facts(step, case.request, visitor, now, n)
            decision = visitor.send(facts, step.shows)
    assert decision is not None
    return Outcome(case, decision, _compare(rules, case, decision))


def _facts(step: Step, last: Step, visitor: Visitor, now: float, n: int) -> Facts:
    ua = last.ua if step.ua is _INHERIT else step.ua
    given = step.headers if step.headers is not None else (last.headers or ())
    headers = tuple((k, v.replace("{trap}", visitor.trap_prefix)) for k, v in given)
    if not any(k.lower() == "user-agent" for k, _ in headers):
        headers = ((("User-Agent", ua),) if ua is not None else ()) + headers
    else:
        ua = next(v for k, v in headers if k.lower() == "user-agent")
    path = step.path.replace("{trap}", visitor.trap_prefix).replace("{n}", str(n))
    secure = step.secure if step.secure is not None else bool(last.secure or last.tls)
    host = step.host or last.host or next((v for k, v in headers if k.lower() == "host"), None)
    name = last.rdns if step.rdns is _INHERIT else step.rdns
    rdns = (ReverseDns(name.lower().rstrip("."), f"{name}, forward-confirmed (as the case states)") if name
            else ReverseDns(None, "not verified (as the case states)") if name is False else None)
    return Facts(ip=step.ip or last.ip or "203.0.113.7", user_agent=ua, path=path, method=step.method,
                 headers=visitor.with_cookie(headers), secure=secure, time=now, host=host, rdns=rdns,
                 tls=step.tls or last.tls)


def _compare(rules: RuleSet, case: Case, decision: Decision) -> list[str]:
    failures = []
    fired = [r.name for r in decision.reasons]
    known = {r.name for r in rules.rules}
    if case.verdict and decision.verdict != case.verdict:
        failures.append(f"verdict: expected {case.verdict}, got {decision.verdict} (score {decision.score})")
    if case.score is not None and decision.score != case.score:
        failures.append(f"score: expected {case.score}, got {decision.score}")
    decided = decision.decided_by.name if decision.decided_by else None
    if case.decided_by is not None and not _is(case.decided_by, decided):
        failures.append(f"decided by: expected {case.decided_by}, got {decided or 'no decisive rule'}")
    for name in (*case.rules, *case.not_rules):
        if not any(_is(name, k) for k in known):
            failures.append(f"? {name}: no such rule in the packs under test")
    failures += [f"- {name}  (expected to fire)" for name in case.rules
                 if any(_is(name, k) for k in known) and not any(_is(name, f) for f in fired)]
    failures += [f"+ {f}  (fired, expected not to)" for name in case.not_rules for f in fired if _is(name, f)]
    return failures


def _is(wanted: str, name: str | None) -> bool:
    """`pack/rule` names one rule; a bare `rule` id matches that id in any pack."""
    return name is not None and (wanted == name or ("/" not in wanted and name.endswith("/" + wanted)))


def format_outcome(outcome: Outcome) -> str:
    if outcome.passed:
        return f"PASS {outcome.case.name}"
    lines = [f"FAIL {outcome.case.name} ({outcome.case.where})"]
    lines += [f"    {failure}" for failure in outcome.failures]
    lines.append(f"    got: {outcome.decision.verdict} (score {outcome.decision.score}), reasons:")
    lines += [f"      {reason}" for reason in outcome.decision.reasons] or ["      none"]
    return "\n".join(lines)


def run_files(rules: RuleSet, files: Iterable[Path], out: Callable[[str], None],
              quiet: bool = False) -> tuple[int, int]:
    """Run every case of every file, printing as a test runner does; (passed, failed)."""
    passed = failed = 0
    for path in files:
        for case in load_cases(path):
            outcome = run_case(rules, case)
            passed, failed = passed + outcome.passed, failed + (not outcome.passed)
            if not (quiet and outcome.passed):
                out(format_outcome(outcome))
    out(f"{passed} passed, {failed} failed")
    return passed, failed
