"""`fixative rules lint`: everything the loader reports, plus what a pack means.

The loader says whether a pack is well formed (and is reused here for that, message for message).
Lint adds the mistakes that load fine: regexes that backtrack catastrophically, CIDRs with host
bits set, rules that can never fire, decisive rules an earlier one always pre-empts with the
opposite action, and tags outside the vocabulary. Packs are taken in the order given (a preset
contributes its imports in order), as the proxy evaluates them.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..facts import KINDS, Facts, resource_kind
from ..yamlsource import LineDict, LineList, YamlSourceError, load_yaml
from .loader import RulePackError, load_pack
from .matchers import MATCHERS
from .overlap import Decisive, Network, covered, never_decides
from .presets import read_preset
from .redos import catastrophic
from .reference import known_signal, known_tag

ERROR, WARNING = "error", "warning"
REGEX_KEYS = ("user_agent_regex", "path_regex")
UA_CONTENT_KEYS = tuple(k for k, m in MATCHERS.items() if m.on_user_agent and k != "user_agent_missing")
_LOADER_LINE = re.compile(r'^(?P<line>\d+): (?:rule "(?P<rule>[^"]*)": )?(?P<message>.*)$', re.DOTALL)


@dataclass(frozen=True, order=True)
class Problem:
    """One finding, printed `file:line: rule "id": problem`."""

    file: str
    line: int
    rule: str | None
    severity: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}: " if self.line else f"{self.file}: "
        return where + (f'rule "{self.rule}": ' if self.rule else "") + self.message


@dataclass
class _Pack:
    path: Path
    name: str | None = None
    rules: list[LineDict] = field(default_factory=list)


def lint_paths(paths: Iterable[str | Path]) -> list[Problem]:
    """Lint pack files, preset files and folders of them; every problem, in file and line order."""
    problems: list[Problem] = []
    packs: dict[Path, Path] = {}  # resolved → as shown
    for path in _expand([Path(p) for p in paths], problems):
        if is_preset(path):
            try:
                imports, _ = read_preset(path)
            except RulePackError as e:
                problems += [_from_loader(path, text) for text in e.problems]
                continue
            for target in imports:
                packs.setdefault(target.resolve(), _shown(target))
        else:
            packs.setdefault(path.resolve(), _shown(path))
    loaded = [_lint_pack(shown, problems) for shown in packs.values()]
    problems += _cross_pack([p for p in loaded if p is not None])
    order = {str(shown): i for i, shown in enumerate(packs.values())}
    return sorted(dict.fromkeys(problems), key=lambda p: (order.get(p.file, -1), p.file, p.line, p.message))


def _expand(paths: list[Path], problems: list[Problem]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml")
                              and not p.name.endswith((".cases.yaml", ".cases.yml")))
        elif path.exists():
            yield path
        else:
            problems.append(Problem(str(path), 0, None, ERROR, "file not found"))


def is_preset(path: Path) -> bool:
    """Is this YAML file a preset (imports packs) rather than a pack?"""
    try:
        doc = load_yaml(path)
    except YamlSourceError:
        return False
    return isinstance(doc, LineDict) and ("imports" in doc or "preset" in doc) and "rules" not in doc


def _shown(path: Path) -> Path:
    relative = os.path.relpath(path)
    return Path(relative) if not relative.startswith("..") else path


def _from_loader(path: Path, text: str) -> Problem:
    prefix = f"{path}:"
    if text.startswith(prefix):
        match = _LOADER_LINE.match(text[len(prefix):])
        if match:
            return Problem(str(path), int(match["line"]), match["rule"], ERROR, match["message"])
        return Problem(str(path), 0, None, ERROR, text[len(prefix):].strip())
    return Problem(str(path), 0, None, ERROR, text)


def _lint_pack(path: Path, problems: list[Problem]) -> _Pack | None:
    try:
        load_pack(path)
    except RulePackError as e:
        problems += [_from_loader(path, text) for text in e.problems]
    try:
        doc = load_yaml(path)
    except YamlSourceError:
        return None
    if not isinstance(doc, LineDict):
        return None
    meta = doc.get("pack")
    pack = _Pack(path, str(meta.get("name")) if isinstance(meta, LineDict) and meta.get("name") else None)
    items = doc.get("rules")
    for item in items if isinstance(items, LineList) else []:
        if isinstance(item, LineDict):
            pack.rules.append(item)
            problems += _lint_rule(path, item)
    return pack


def _lint_rule(path: Path, item: LineDict) -> list[Problem]:
    rule_id = str(item.get("id", "?"))
    found: list[Problem] = []

    def report(severity: str, line: int, message: str) -> None:
        found.append(Problem(str(path), line, rule_id, severity, message))

    tags = item.get("tags")
    if isinstance(tags, LineList):
        for i, tag in enumerate(tags):
            if isinstance(tag, str) and not known_tag(tag):
                report(WARNING, tags.line_of(i), f"tags: unknown tag {tag!r} (see rules/README.md#tags)")
    match = item.get("match")
    if not isinstance(match, LineDict):
        return found
    for key in REGEX_KEYS:
        for pattern in _values(match.get(key)):
            _check_regex(key, pattern, match.line_of(key), report)
    header = match.get("header")
    if isinstance(header, dict):
        for name, pattern in header.items():
            _check_regex(f"header.{name}", str(pattern), match.line_of("header"), report)
    for key in ("ip", "not_ip"):
        for value in _values(match.get(key)):
            try:
                ipaddress.ip_network(value, strict=True)
            except ValueError as e:
                if "host bits set" in str(e):
                    net = ipaddress.ip_network(value, strict=False)
                    report(WARNING, match.line_of(key), f"match.{key}: {value} has host bits set: "
                                                        f"it means {net}; write that")
    for line, severity, problem in never_fires(match):
        report(severity, line, problem)
    for line, name, alone in _unknown_signals(match):
        if not alone:
            report(WARNING, line, f"match.signal: no code produces {name!r} (see rules/README.md#signals)")
    return found


def _check_regex(key: str, pattern: str, line: int, report: Any) -> None:
    try:
        re.compile(pattern)
    except re.error:
        return  # the loader reports it
    slow = catastrophic(pattern)
    if slow:
        report(ERROR, line, f"match.{key}: '{pattern}' backtracks catastrophically "
                            f"(nested or overlapping repeats): {slow}")


def _values(value: Any) -> list[str]:
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return [str(value)]
    if isinstance(value, list):
        return [str(v) for v in value if isinstance(v, (str, int, float)) and not isinstance(v, bool)]
    return []


def _compiled(key: str, value: Any) -> Any:
    try:
        return MATCHERS[key].compile(value)
    except (ValueError, KeyError):
        return None


def never_fires(match: LineDict) -> list[tuple[int, str, str]]:
    """(line, severity, problem) for each contradiction among one rule's matchers: an error when the
    rule can never fire, a warning when it fires only in odd cases."""
    found: list[tuple[int, str, str]] = []

    def never(line: int, why: str) -> None:
        found.append((line, ERROR, f"can never fire: {why}"))

    if match.get("user_agent_missing") is True:
        probes = [Facts(ip="", user_agent=ua, kind="other") for ua in (None, "", "   ")]
        for key in UA_CONTENT_KEYS:
            test = _compiled(key, match.get(key)) if key in match else None
            if test is not None and not any(test(f, {}) for f in probes):
                never(match.line_of(key), f"`user_agent_missing: true` with `{key}`, which needs a User-Agent")
    kinds, globs = _values(match.get("kind")), _values(match.get("path"))
    if kinds and globs and set(kinds) <= set(KINDS):
        possible = set().union(*(glob_kinds(g)[0] for g in globs))
        without_accept = set().union(*(glob_kinds(g)[1] for g in globs))
        plain = ", ".join(sorted(without_accept))
        if not possible & set(kinds):
            never(match.line_of("kind"), f"`kind: {kinds}` but `path` only matches {plain} paths")
        elif not without_accept & set(kinds):
            found.append((match.line_of("kind"), WARNING, (
                f"match.kind: `kind: {kinds}` with `path` for {plain} paths: fires only when the client "
                "sends Accept: image/… for them")))
    ip, not_ip = _networks(match.get("ip")), _networks(match.get("not_ip"))
    if ip and not_ip and all(covered(net, not_ip) for net in ip):
        never(match.line_of("not_ip"), "every address in `ip` is excluded by `not_ip`")
    header = match.get("header")
    absent = {h.lower() for h in _values(match.get("header_absent"))}
    if isinstance(header, dict):
        both = sorted(str(name) for name in header if str(name).lower() in absent)
        if both:
            never(match.line_of("header_absent"),
                  f"header {both[0]!r} is both required (`header`) and forbidden (`header_absent`)")
    for line, name, alone in _unknown_signals(match):
        if alone:
            never(line, f"no code produces signal {name!r} (see rules/README.md#signals)")
    return found


def _unknown_signals(match: LineDict) -> list[tuple[int, str, bool]]:
    names = _values(match.get("signal"))
    unknown = [n for n in names if not known_signal(n)]
    alone = len(unknown) == len(names)
    return [(match.line_of("signal"), n, alone) for n in unknown]


def glob_kinds(glob: str) -> tuple[set[str], set[str]]:
    """(kinds a path matching the glob can have, kinds it has without an image Accept header)."""
    tail = glob.rsplit("/", 1)[-1]
    ext = re.search(r"\.[A-Za-z0-9]+$", tail)
    if glob.endswith("/"):
        sample = "/x/"
    elif ext and not any(c in tail[ext.start():] for c in "*?[]"):
        sample = "/x" + ext.group(0)
    else:
        return set(KINDS), set(KINDS)
    plain = {resource_kind(sample)}
    return plain | {resource_kind(sample, "image/png")}, plain



def _networks(value: Any) -> list[Network]:
    nets = []
    for text in _values(value):
        try:
            nets.append(ipaddress.ip_network(text.strip(), strict=False))
        except ValueError:
            return []  # the loader reports it; no meaning check on a broken list
    return nets


def _cross_pack(packs: list[_Pack]) -> list[Problem]:
    found: list[Problem] = []
    names: dict[str, Path] = {}
    decisive: list[Decisive] = []
    for pack in packs:
        if pack.name in names:
            found.append(Problem(str(pack.path), 1, None, ERROR,
                                 f"pack: name: {pack.name!r} is also the name of {names[pack.name]}"))
            continue
        if pack.name:
            names[pack.name] = pack.path
        for item in pack.rules:
            if item.get("action") in ("allow", "deny") and isinstance(item.get("match"), LineDict):
                decisive.append(Decisive(str(pack.path), pack.name or pack.path.stem, str(item.get("id")),
                                         item.line, str(item["action"]), item["match"]))
    for later, earlier in never_decides(decisive):
        found.append(Problem(later.file, later.line, later.id, WARNING,
                             f'never decides: "{earlier.name}" ({earlier.file}:{earlier.line}, '
                             f"{earlier.action}) matches every request this rule matches and comes first"))
    return found
