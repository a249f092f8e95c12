"""Catastrophic backtracking in rule regexes: suspected from the pattern's shape, proven by timing.

A regex with a repeat around something that can match the same text several ways ((a+)+, (a|a)*,
(.*)*) may take exponential time on a crafted User-Agent or path, and a rule runs on every request.
The shape check (on Python's own parse tree) picks the suspects and the input to try: a string
the repeat can swallow many ways, then a character that makes the match fail. The timing check
runs that input in a child process that is killed after a second, so a bad pattern cannot hang lint.
"""

from __future__ import annotations

import json
import re
import string
import subprocess
import sys
from functools import lru_cache
from re import _constants as C  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

PUMP_LENGTH = 40          # exponential in this: (a+)+ would need ~2**40 steps
FAILING_ENDS = ("!", "\x00", "\n", "")
TIME_LIMIT = 1.0          # seconds of matching, after the child has started
_REPEATS = (C.MAX_REPEAT, C.MIN_REPEAT)
_ALPHABET = "a1 A_-./!x" + string.printable
_CATEGORY_TESTS = {
    "CATEGORY_DIGIT": str.isdigit, "CATEGORY_NOT_DIGIT": lambda c: not c.isdigit(),
    "CATEGORY_SPACE": str.isspace, "CATEGORY_NOT_SPACE": lambda c: not c.isspace(),
    "CATEGORY_WORD": lambda c: c.isalnum() or c == "_",
    "CATEGORY_NOT_WORD": lambda c: not (c.isalnum() or c == "_"),
    "CATEGORY_LINEBREAK": lambda c: c == "\n", "CATEGORY_NOT_LINEBREAK": lambda c: c != "\n",
}
_CHILD = r"""
import json, re, sys
pattern, flags, inputs = json.loads(sys.stdin.read())
rx = re.compile(pattern, flags)
print("ready", flush=True)
for text in inputs:
    rx.search(text)
print("done", flush=True)
"""


def suspects(pattern: str, flags: int = re.IGNORECASE) -> list[tuple[str, str]]:
    """(prefix, pump) pairs for each repeat whose body can match one text in several ways."""
    try:
        tree = sre_parse.parse(pattern, flags)
    except re.error:
        return []
    found: list[tuple[str, str]] = []
    _walk(list(tree), "", found)
    return list(dict.fromkeys(found))


def _walk(items: list[Any], prefix: str, found: list[tuple[str, str]]) -> None:
    for op, av in items:
        if op in _REPEATS:
            _, high, body = av
            if high > 1 and _ambiguous(list(body)):
                for choice in range(_branching(list(body)) + 1):
                    for shortest in (False, True):
                        found.append((prefix, _sample(list(body), choice, shortest) or "a"))
            _walk(list(body), prefix, found)
        elif op is C.SUBPATTERN:
            _walk(list(av[-1]), prefix, found)
        elif op is C.BRANCH:
            for alternative in av[1]:
                _walk(list(alternative), prefix, found)
        prefix += _sample([(op, av)], 0)


def _ambiguous(items: list[Any]) -> bool:
    """Does this repeated body hold a variable repeat or an alternation (at any depth)?"""
    for op, av in items:
        if op in _REPEATS and av[1] > 1 and av[0] != av[1]:
            return True
        if op is C.BRANCH:
            return True
        if op is C.SUBPATTERN and _ambiguous(list(av[-1])):
            return True
        if op in _REPEATS and _ambiguous(list(av[2])):
            return True
    return False


def _branching(items: list[Any]) -> int:
    most = 0
    for op, av in items:
        if op is C.BRANCH:
            most = max(most, len(av[1]) - 1, *(_branching(list(a)) for a in av[1]))
        elif op is C.SUBPATTERN:
            most = max(most, _branching(list(av[-1])))
        elif op in _REPEATS:
            most = max(most, _branching(list(av[2])))
    return most


def _sample(items: list[Any], choice: int, shortest: bool = False) -> str:
    """A short text these parse items match, taking alternative `choice` (or the last) at branches;
    optional parts once, or (shortest) not at all."""
    out = []
    for op, av in items:
        if op is C.LITERAL:
            out.append(chr(av))
        elif op is C.NOT_LITERAL:
            out.append("a" if av != ord("a") else "b")
        elif op is C.ANY:
            out.append("a")
        elif op is C.IN:
            out.append(next((c for c in _ALPHABET if _in_set(av, c)), "a"))
        elif op is C.SUBPATTERN:
            out.append(_sample(list(av[-1]), choice, shortest))
        elif op is C.BRANCH:
            alternatives = av[1]
            out.append(_sample(list(alternatives[min(choice, len(alternatives) - 1)]), choice, shortest))
        elif op in _REPEATS or op is getattr(C, "POSSESSIVE_REPEAT", None):
            times = min(av[0] if shortest else max(av[0], 1), 50)
            out.append(_sample(list(av[2]), choice, shortest) * times)
        elif op is getattr(C, "ATOMIC_GROUP", None):
            out.append(_sample(list(av), choice, shortest))
    return "".join(out)


def _in_set(items: list[Any], ch: str) -> bool:
    negate = bool(items) and items[0][0] is C.NEGATE
    hit = False
    for op, av in items:
        if op is C.LITERAL:
            hit = hit or ch.lower() == chr(av).lower()
        elif op is C.RANGE:
            hit = hit or av[0] <= ord(ch) <= av[1]
        elif op is C.CATEGORY:
            hit = hit or _CATEGORY_TESTS.get(str(av), lambda c: False)(ch)
    return hit != negate


def adversarial_inputs(prefix: str, pump: str) -> list[str]:
    return [prefix + pump * PUMP_LENGTH + end for end in FAILING_ENDS]


def too_slow(pattern: str, inputs: list[str], flags: int = re.IGNORECASE,
             time_limit: float = TIME_LIMIT) -> bool:
    """Does searching these inputs take longer than time_limit? Runs in a child process, killed if so."""
    child = subprocess.Popen([sys.executable, "-I", "-S", "-c", _CHILD], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert child.stdin is not None and child.stdout is not None
        child.stdin.write(json.dumps([pattern, flags, inputs]))
        child.stdin.close()
        if child.stdout.readline().strip() != "ready":
            return False
        child.wait(time_limit)
        return False
    except subprocess.TimeoutExpired:
        return True
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
        if child.stdout is not None:
            child.stdout.close()


@lru_cache(maxsize=1024)
def catastrophic(pattern: str, flags: int = re.IGNORECASE) -> str | None:
    """None if the pattern is safe; else what input made it backtrack for over a second."""
    for prefix, pump in suspects(pattern, flags):
        if too_slow(pattern, adversarial_inputs(prefix, pump), flags):
            shown = f"{prefix!r} + " if prefix else ""
            return f"{shown}{pump!r} × {PUMP_LENGTH} and a character that does not fit took over {TIME_LIMIT:g} s"
    return None
