"""`fixative rules export`: the User-Agent part of the rules as other servers' configuration.

Exported: rules that only look at the User-Agent (user_agent, user_agent_token, user_agent_regex)
and decide `deny` or weigh at least the scraper threshold. Left out: everything that needs the
client's address, headers or history, and every allow rule; a comment in each output says so,
because a verified search engine (allowed by its IP range in Fixative) cannot be told from a
forgery by User-Agent alone. Every target matches case-insensitively, as Fixative does; a token
keeps its whole-word meaning as `(^|non-alphanumeric)TOKEN(non-alphanumeric|$)`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from re import _constants as C  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

import yaml

from ..optout import merge_robots_txt
from ..yamlsource import LineDict, LineList, load_yaml
from .ruleset import RuleSet

FORMATS = ("robots", "nginx", "apache", "caddy", "haproxy", "anubis")
UA_KEYS = ("user_agent", "user_agent_token", "user_agent_regex")
NGINX_IF = "if ($fixative_block) { return 403; }"
_RE2_UNSUPPORTED = {C.ASSERT, C.ASSERT_NOT, C.GROUPREF, C.GROUPREF_EXISTS,
                    getattr(C, "ATOMIC_GROUP", None), getattr(C, "POSSESSIVE_REPEAT", None)}
_META = set(".^$*+?()[]{}|\\")


@dataclass(frozen=True)
class UaRule:
    """One exportable rule: its name and what it looks for in the User-Agent."""

    name: str
    description: str
    substrings: tuple[str, ...] = ()
    tokens: tuple[str, ...] = ()
    regexes: tuple[str, ...] = ()

    def patterns(self, re2: bool = False) -> list[str]:
        """Each alternative as a regex (matched case-insensitively); RE2 targets drop what RE2 lacks."""
        found = [literal(s) for s in self.substrings]
        found += [f"(?:^|[^A-Za-z0-9]){literal(t)}(?:[^A-Za-z0-9]|$)" for t in self.tokens]
        found += [r for r in self.regexes if not re2 or re2_compatible(r)]
        return found


@dataclass
class Selection:
    rules: list[UaRule]
    left_out: list[str]   # deny/heavy rules that need more than the User-Agent
    allowed: list[str]    # allow rules, never exported
    source: str


def literal(text: str) -> str:
    """`text` as a regex matching itself, in syntax PCRE and RE2 share (no `\\ ` or `\\-`)."""
    return "".join(f"\\{c}" if c in _META else c for c in text)


def re2_compatible(pattern: str) -> bool:
    """Does the pattern avoid what Go's RE2 (Caddy, Anubis) cannot do: lookaround, backreferences?"""
    try:
        return not _uses(list(sre_parse.parse(pattern)), _RE2_UNSUPPORTED)
    except re.error:
        return False


def _uses(items: list[Any], ops: set[Any]) -> bool:
    for op, av in items:
        if op in ops:
            return True
        children = [av[-1]] if op is C.SUBPATTERN else av[1] if op is C.BRANCH else \
            [av[2]] if op in (C.MAX_REPEAT, C.MIN_REPEAT) else []
        if any(_uses(list(child), ops) for child in children):
            return True
    return False


def hex_escaped(pattern: str, chars: str = " \t\"'") -> str:
    """The pattern with these characters (escaped or not) written as `\\xNN`, which PCRE reads alike."""
    out, i = [], 0
    while i < len(pattern):
        pair = pattern[i:i + 2] if pattern[i] == "\\" else pattern[i]
        char = pair[-1]
        out.append(f"\\x{ord(char):02x}" if char in chars and (len(pair) == 1 or not char.isalnum()) else pair)
        i += len(pair)
    return "".join(out)


def select(rules: RuleSet, source: str = "") -> Selection:
    """The rules a User-Agent-only server config can carry, in evaluation order."""
    chosen: list[UaRule] = []
    left_out: list[str] = []
    allowed: list[str] = []
    for info in rules.packs:
        doc = load_yaml(Path(info.path))
        items = doc.get("rules") if isinstance(doc, LineDict) else None
        for item in items if isinstance(items, LineList) else []:
            match, name = item.get("match") or {}, f"{info.name}/{item.get('id')}"
            action, weight = item.get("action"), item.get("weight")
            if action == "allow":
                allowed.append(name)
                continue
            if action != "deny" and not (isinstance(weight, int) and weight >= rules.thresholds.scraper):
                continue
            if not set(match) <= set(UA_KEYS) or not match:
                left_out.append(name)
                continue
            chosen.append(UaRule(name, str(item.get("description", "")),
                                 *(tuple(_strings(match.get(k))) for k in UA_KEYS)))
    return Selection(chosen, left_out, allowed, source)


def _strings(value: Any) -> list[str]:
    return [str(value)] if isinstance(value, (str, int, float)) else [str(v) for v in value or []]


def combined(selection: Selection, re2: bool = False) -> str:
    """One alternation of every exported pattern (for a single-regex target)."""
    return "|".join(p for r in selection.rules for p in r.patterns(re2))


def export(rules: RuleSet, fmt: str, source: str = "") -> str:
    """The configuration text for one target format."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    selection = select(rules, source)
    if fmt == "robots":
        return _header(selection, fmt, robots=True) + merge_robots_txt(None, rules.robots_tokens())
    return _header(selection, fmt) + _RENDER[fmt](selection)


def _header(sel: Selection, fmt: str, robots: bool = False) -> str:
    lines = [f"Generated by `fixative rules export --format {fmt}`" + (f" from {sel.source}" if sel.source else ""),
             "Edit the rule packs and export again rather than editing this."]
    if robots:
        lines.append("Agents of the rules tagged robots:disallow; a polite crawler obeys, the others are "
                     "what the proxy is for.")
    else:
        lines.append(f"{len(sel.rules)} rules by User-Agent (case-insensitive).")
        if sel.left_out:
            lines.append(f"Left out, as they need the address, headers or history: {_few(sel.left_out)}.")
        if sel.allowed:
            lines.append("Not expressible by User-Agent: Fixative's IP-verified allowances "
                         f"({_few(sel.allowed)}); by User-Agent alone a verified crawler and a forgery "
                         "look the same, so this neither allows nor blocks them.")
    return "".join(f"# {line}\n" for line in lines) + "\n"


def _few(names: list[str], most: int = 6) -> str:
    return ", ".join(names[:most]) + (f" and {len(names) - most} more" if len(names) > most else "")


def _nginx(sel: Selection) -> str:
    def quoted(text: str) -> str:  # nginx unescapes \\ and \" (and \t \n \r) inside quotes
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = ["# In the http {} block:", "map $http_user_agent $fixative_block {", "    default 0;"]
    for rule in sel.rules:
        lines += [f"    {quoted('~*' + p)} 1;  # {rule.name}" for p in rule.patterns()]
    lines += ["}", "", "# In each server {} (or location {}) block to protect:", f"# {NGINX_IF}", ""]
    return "\n".join(lines)


def _apache(sel: Selection) -> str:
    # mod_rewrite reads its arguments raw: a quote cannot be escaped and backslashes stay as
    # written, so the patterns go unquoted with whitespace and quotes as regex escapes.
    patterns = [(p, r.name) for r in sel.rules for p in r.patterns()]
    lines = ["# mod_rewrite, in a <VirtualHost>, <Directory> or .htaccess:", "RewriteEngine On"]
    for i, (pattern, name) in enumerate(patterns):
        flags = "[NC]" if i == len(patterns) - 1 else "[NC,OR]"
        lines.append(f"RewriteCond %{{HTTP_USER_AGENT}} {hex_escaped(pattern)} {flags}")
    lines += ["RewriteRule .* - [F,L]", ""] if patterns else [""]
    return "\n".join(lines)


def _caddy(sel: Selection) -> str:
    pattern = "(?i)(?:" + combined(sel, re2=True) + ")"
    lines = ["# Caddyfile, inside the site block:",
             '@aibots header_regexp User-Agent "' + pattern.replace('"', '\\"') + '"',
             "respond @aibots 403", ""]
    return "\n".join(lines)


def _haproxy(sel: Selection) -> str:
    lines = ["# In a frontend (or listen) section:"]
    for rule in sel.rules:
        plain = [s for s in rule.substrings if "'" not in s]
        if plain:
            lines.append("acl fixative_block hdr_sub(user-agent) -i " + " ".join(f"'{s}'" for s in plain)
                         + f"  # {rule.name}")
        regexes = [literal(s) for s in rule.substrings if "'" in s] + rule.patterns()[len(rule.substrings):]
        for pattern in regexes:
            lines.append(f"acl fixative_block hdr_reg(user-agent) -i '{pattern.replace(chr(39), chr(92) + 'x27')}'"
                         f"  # {rule.name}")
    lines += ["http-request deny deny_status 403 if fixative_block", ""]
    return "\n".join(lines)


def _anubis(sel: Selection) -> str:
    bots = [{"name": f"fixative-{r.name.replace('/', '-')}",
             "user_agent_regex": "(?i)(?:" + "|".join(r.patterns(re2=True)) + ")", "action": "DENY"}
            for r in sel.rules if r.patterns(re2=True)]
    intro = "# Anubis bot policies: list them under `bots:` in your policy file, or save and `- import:` it.\n"
    return intro + yaml.safe_dump(bots, sort_keys=False, allow_unicode=True, width=100000)


_RENDER = {"nginx": _nginx, "apache": _apache, "caddy": _caddy, "haproxy": _haproxy, "anubis": _anubis}
