"""Load rule packs and presets from YAML, reporting every problem at once.

Messages read `file:line: rule "id": field: problem`, so an author can fix a
whole file in one pass. Nothing is half-loaded: any problem fails the load.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..yamlsource import LineDict, LineList, YamlSourceError, load_yaml
from .matchers import MATCHERS
from .ruleset import Rule, PackInfo, RuleSet, Thresholds

PACK_FIELDS = {"name", "version", "description", "licence", "source"}
RULE_FIELDS = {"id", "description", "match", "weight", "action", "tags"}
ACTION_NAMES = ("allow", "deny")
_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
SHIPPED_RULES = Path(__file__).resolve().parents[3] / "rules"


class RulePackError(ValueError):
    """One or more problems in rule packs; `problems` lists each as file:line: message."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


def load_pack(path: Path) -> tuple[PackInfo, list[Rule]]:
    """Parse and compile one pack file; raise RulePackError listing every problem."""
    problems: list[str] = []
    try:
        doc = load_yaml(path)
    except YamlSourceError as e:
        raise RulePackError([str(e)]) from e
    if not isinstance(doc, LineDict):
        raise RulePackError([f"{path}:1: a rule pack is a mapping with `pack:` and `rules:`"])
    for key in doc:
        if key not in ("pack", "rules", "$schema"):
            problems.append(f"{path}:{doc.line_of(key)}: unknown top-level key {key!r}; "
                            "a pack has `pack:` (metadata) and `rules:`")
    info = _pack_info(path, doc, problems)
    rules = _rules(path, info.name, doc.get("rules"), doc.line_of("rules"), problems)
    if problems:
        raise RulePackError(problems)
    return PackInfo(**{**info.__dict__, "rule_count": len(rules)}), rules


def _pack_info(path: Path, doc: LineDict, problems: list[str]) -> PackInfo:
    meta = doc.get("pack")
    where = f"{path}:{doc.line_of('pack')}: pack"
    if not isinstance(meta, LineDict):
        problems.append(f"{where}: missing `pack:` block with name, version, description, licence, source")
        return PackInfo(path.stem, "", "", "", "", str(path))
    for key in meta:
        if key not in PACK_FIELDS:
            problems.append(f"{path}:{meta.line_of(key)}: pack: {key}: unknown field; "
                            f"use {', '.join(sorted(PACK_FIELDS))}")
    for key in sorted(PACK_FIELDS):
        value = meta.get(key)
        if value is None or str(value).strip() == "":
            problems.append(f"{path}:{meta.line}: pack: {key}: missing (required)")
    name = str(meta.get("name") or path.stem)
    if not _ID.match(name):
        problems.append(f"{path}:{meta.line_of('name')}: pack: name: {name!r} must be lower-case "
                        "letters, digits, '-', '_' or '.'")
    return PackInfo(name, str(meta.get("version", "")), str(meta.get("description", "")),
                    str(meta.get("licence", "")), str(meta.get("source", "")), str(path))


def _rules(path: Path, pack: str, items: Any, line: int, problems: list[str]) -> list[Rule]:
    if not isinstance(items, LineList):
        problems.append(f"{path}:{line}: rules: expected a list of rules")
        return []
    rules: list[Rule] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        item_line = items.line_of(index)
        if not isinstance(item, LineDict):
            problems.append(f"{path}:{item_line}: rule #{index + 1}: expected a mapping with id, "
                            "description, match and weight or action")
            continue
        rule_id = str(item.get("id", f"#{index + 1}"))
        def where(line: int, rule_id: str = rule_id) -> str:
            return f'{path}:{line}: rule "{rule_id}"'
        before = len(problems)
        if rule_id in seen:
            problems.append(f'{where(item.line_of("id"))}: id: duplicate '
                            f"(first used on line {seen[rule_id]})")
        seen.setdefault(rule_id, item_line)
        rule = _rule(item, pack, rule_id, where, problems)
        if rule is not None and len(problems) == before:
            rules.append(rule)
    return rules


def _rule(item: LineDict, pack: str, rule_id: str, where: Any, problems: list[str]) -> Rule | None:
    def problem(field: str, message: str, line: int | None = None) -> None:
        problems.append(f"{where(line or item.line_of(field))}: {field}: {message}")

    for key in item:
        if key not in RULE_FIELDS:
            hint = " (matchers go under `match:`)" if key in MATCHERS else ""
            problem(key, f"unknown field{hint}; a rule has {', '.join(sorted(RULE_FIELDS))}")
    if "id" not in item:
        problem("id", "missing (required)")
    elif not _ID.match(rule_id):
        problem("id", "use lower-case letters, digits, '-', '_' or '.'")
    description = item.get("description")
    if not isinstance(description, str) or not description.strip():
        problem("description", "missing: say in a few words why this rule fires (it is the reason shown)")
    weight, action = item.get("weight"), item.get("action")
    if (weight is None) == (action is None):
        problem("weight", "give exactly one of `weight: N` or `action: allow|deny`")
    if weight is not None and (not isinstance(weight, int) or isinstance(weight, bool)):
        problem("weight", f"expected a whole number, got {weight!r}")
    if action is not None and action not in ACTION_NAMES:
        problem("action", f"expected allow or deny, got {action!r}")
    tags = item.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        problem("tags", "expected a list of words")
        tags = []
    ua_tests, other_tests, signals, agents, rdns = _compile_match(item, problem)
    if ua_tests is None:
        return None
    return Rule(pack=pack, id=rule_id, description=str(description or "").strip(),
                ua_tests=tuple(ua_tests), other_tests=tuple(other_tests),
                weight=weight if isinstance(weight, int) and action is None else 0,
                action=action if action in ACTION_NAMES else None,
                tags=tuple(tags), signals=tuple(signals), user_agents=tuple(agents), line=item.line,
                rdns_tests=tuple(t for t, _ in rdns), rdns_domains=tuple(d for _, ds in rdns for d in ds))


def _compile_match(item: LineDict, problem: Any) -> tuple[Any, Any, list[str], list[str], list[Any]]:
    match = item.get("match")
    if not isinstance(match, LineDict) or not match:
        problem("match", f"expected a mapping of matchers: {', '.join(MATCHERS)}")
        return None, None, [], [], []
    ua_tests: list[Any] = []
    other_tests: list[Any] = []
    signals: list[str] = []
    agents: list[str] = []
    rdns: list[Any] = []
    for key, value in match.items():
        kind = MATCHERS.get(key)
        if kind is None:
            problem(f"match.{key}", f"unknown matcher; use one of {', '.join(MATCHERS)}",
                    match.line_of(key))
            continue
        try:
            test = kind.compile(value)
        except ValueError as e:
            problem(f"match.{key}", str(e), match.line_of(key))
            continue
        (ua_tests if kind.on_user_agent else other_tests).append(test)
        if getattr(kind, "on_rdns", False):  # also noted apart: the proxy looks these up before classifying
            rdns.append((test, kind.domains(value)))
        values = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        if key == "signal":
            signals.extend(str(v) for v in values)
        if key in ("user_agent", "user_agent_token"):
            agents.extend(str(v) for v in values)
    return ua_tests, other_tests, signals, agents, rdns


def load_ruleset(packs: Iterable[Path], thresholds: Thresholds | None = None) -> RuleSet:
    """Compile packs in order into one RuleSet; every problem in every pack is reported together."""
    problems: list[str] = []
    infos: list[PackInfo] = []
    rules: list[Rule] = []
    names: dict[str, str] = {}
    for path in packs:
        try:
            info, pack_rules = load_pack(path)
        except RulePackError as e:
            problems.extend(e.problems)
            continue
        if info.name in names:
            problems.append(f"{path}:1: pack: name: {info.name!r} is also the name of {names[info.name]}")
            continue
        names[info.name] = str(path)
        infos.append(info)
        rules.extend(pack_rules)
    if problems:
        raise RulePackError(problems)
    return RuleSet(rules, thresholds or Thresholds(), infos)
