"""Decisive rules that can never decide: an earlier rule with the other action always matches first.

Rule A covers rule B when every request B matches, A matches too: each of A's matchers is implied
by B's (A's User-Agent token found in each of B's, B's addresses inside A's ranges, or the same
value). Only what can be shown is claimed; a regex is implied only by the same regex.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..facts import Facts
from .matchers import MATCHERS

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
UA_TEXT_KEYS = ("user_agent", "user_agent_token")


@dataclass
class Decisive:
    """A rule with an action, as written, with where it came from."""

    file: str
    pack: str
    id: str
    line: int
    action: str
    match: Mapping[str, Any]
    _tests: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        return f"{self.pack}/{self.id}"

    def test(self, key: str) -> Any:
        if key not in self._tests:
            try:
                self._tests[key] = MATCHERS[key].compile(self.match[key])
            except (ValueError, KeyError):
                self._tests[key] = None
        return self._tests[key]


def never_decides(rules: list[Decisive]) -> list[tuple[Decisive, Decisive]]:
    """(later, earlier) pairs: `earlier` has the other action and covers `later`, in evaluation order."""
    found = []
    for i, later in enumerate(rules):
        for earlier in rules[:i]:
            if earlier.action != later.action and covers(earlier, later):
                found.append((later, earlier))
                break
    return found


def covers(a: Decisive, b: Decisive) -> bool:
    """Does `a` match every request `b` matches?"""
    return all(_implied(a, key, b) for key in a.match)


def _implied(a: Decisive, key: str, b: Decisive) -> bool:
    if key in b.match and _same(a.match[key], b.match[key]):
        return True
    if key in UA_TEXT_KEYS:
        test = a.test(key)
        return test is not None and any(_all_ua_imply(test, b_key, b.match[b_key])
                                        for b_key in UA_TEXT_KEYS if b_key in b.match)
    if key == "ip":
        mine, theirs = _nets(a.match[key]), _nets(b.match.get("ip"))
        return bool(mine and theirs) and all(covered(n, mine) for n in theirs)
    if key == "not_ip":
        excluded = _nets(a.match[key])
        inside, also_excluded = _nets(b.match.get("ip")), _nets(b.match.get("not_ip"))
        if inside and not any(_overlap(n, excluded) for n in inside):
            return True
        return bool(excluded and also_excluded) and all(covered(n, also_excluded) for n in excluded)
    return False


def _all_ua_imply(test: Any, b_key: str, value: Any) -> bool:
    """Does every User-Agent that b's `b_key` accepts also pass a's test? Checked on the worst case:
    b's substring surrounded by letters, b's whole-word token surrounded by spaces."""
    strings = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    if not strings:
        return False
    pad = "a" if b_key == "user_agent" else " "
    return all(bool(test(Facts(ip="", user_agent=f"{pad}{s}{pad}", kind="other"), {})) for s in map(str, strings))


def _same(x: Any, y: Any) -> bool:
    return _norm(x) == _norm(y)


def _norm(value: Any) -> Any:
    if isinstance(value, list):
        return sorted(str(v).lower() for v in value)
    if isinstance(value, dict):
        return sorted((str(k).lower(), str(v)) for k, v in value.items())
    if isinstance(value, str):
        return [value.lower()]
    return value


def _nets(value: Any) -> list[Network]:
    items = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    try:
        return [ipaddress.ip_network(str(v).strip(), strict=False) for v in items]
    except ValueError:
        return []


def _overlap(net: Network, others: list[Network]) -> bool:
    return any(o.version == net.version and net.overlaps(o) for o in others)


def covered(net: Network, by: list[Network]) -> bool:
    """Is every address of `net` in one of `by`?"""
    remaining: list[Network] = [net]
    for other in by:
        if other.version != net.version:
            continue
        left: list[Network] = []
        for part in remaining:
            if part.subnet_of(other):  # type: ignore[arg-type]
                continue
            if other.subnet_of(part):  # type: ignore[arg-type]
                left.extend(part.address_exclude(other))  # type: ignore[arg-type]
            else:
                left.append(part)
        remaining = left
        if not remaining:
            return True
    return not remaining
