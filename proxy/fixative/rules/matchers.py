"""Matcher kinds: the `match:` keys a rule may use.

Each kind declares its YAML key, documents itself in its docstring (the rules
reference is generated from these), compiles its YAML value once, raising
ValueError with a readable problem, and then tests facts cheaply. All matchers
of a rule must match; a list value matches when any of its items does.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping
from typing import Any

from ..facts import KINDS, LOGGED_HEADERS, Facts
from ..ipset import IPSet
from ..signals.browsers import browser_version
from ..signals.headers import headers_known

Signals = Mapping[str, str]
Test = Callable[[Facts, Signals], bool]


def reading(*parts: str) -> Callable[[Test], Test]:
    """Note on a compiled test what of the facts it reads, as `test.reads` (a frozenset): "user_agent", "ip",
    "rdns", "path", "method", "kind", "tls", "from_log", "signals", "header_names" (their order), or
    "header:NAME" (lower case). RuleSet caches decisions by exactly these; a test without them is never cached."""

    def mark(test: Test) -> Test:
        test.reads = frozenset(parts)  # type: ignore[attr-defined]
        return test

    return mark


def _strings(value: Any, what: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise ValueError(f"expected {what} or a non-empty list of them")
    out = []
    for item in value:
        if not isinstance(item, (str, int, float)) or isinstance(item, bool) or str(item) == "":
            raise ValueError(f"expected {what}, got {item!r}")
        out.append(str(item))
    return out


def _regex(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as e:
        raise ValueError(f"invalid regular expression {pattern!r}: {e}") from None


class UserAgent:
    """`user_agent: [GPTBot, CCBot]` — the User-Agent contains one of these substrings (any case)."""

    key = "user_agent"
    on_user_agent = True

    @staticmethod
    def compile(value: Any) -> Test:
        tokens = tuple(t.lower() for t in _strings(value, "a user-agent substring"))

        @reading("user_agent")
        def test(facts: Facts, signals: Signals) -> bool:
            ua = (facts.user_agent or "").lower()
            return any(t in ua for t in tokens)

        return test


class UserAgentRegex:
    """`user_agent_regex: 'Headless(Chrome|Shell)'` — a regular expression (any case) found in the User-Agent."""

    key = "user_agent_regex"
    on_user_agent = True

    @staticmethod
    def compile(value: Any) -> Test:
        compiled = [_regex(p) for p in _strings(value, "a regular expression")]

        @reading("user_agent")
        def test(facts: Facts, signals: Signals) -> bool:
            ua = facts.user_agent or ""
            return any(p.search(ua) for p in compiled)

        return test


class UserAgentToken:
    """`user_agent_token: [GPTBot, Spider]` — the User-Agent names this product token as a whole word (any case):
    `Spider` matches `Spider/1.0` but not `Baiduspider` nor the URL `/spider.html`, so short tokens do not catch
    other crawlers."""

    key = "user_agent_token"
    on_user_agent = True

    @staticmethod
    def compile(value: Any) -> Test:
        tokens = _strings(value, "a product token")
        pattern = re.compile("|".join(rf"(?<![A-Za-z0-9/.@_-]){re.escape(t)}(?![A-Za-z0-9@_.-])" for t in tokens),
                             re.IGNORECASE)

        @reading("user_agent")
        def test(facts: Facts, signals: Signals) -> bool:
            return pattern.search(facts.user_agent or "") is not None

        return test


class UserAgentMissing:
    """`user_agent_missing: true` — the request has no User-Agent, or an empty one."""

    key = "user_agent_missing"
    on_user_agent = True

    @staticmethod
    def compile(value: Any) -> Test:
        if not isinstance(value, bool):
            raise ValueError("expected true or false")

        @reading("user_agent")
        def test(facts: Facts, signals: Signals) -> bool:
            return (not (facts.user_agent or "").strip()) == value

        return test


class Ip:
    """`ip: [192.0.2.0/24, 2001:db8::/32]` — the client address is in one of these ranges."""

    key = "ip"
    on_user_agent = False

    @staticmethod
    def compile(value: Any) -> Test:
        nets = IPSet(_strings(value, "an IP address or CIDR range"))

        @reading("ip")
        def test(facts: Facts, signals: Signals) -> bool:
            return facts.ip in nets

        return test


class NotIp:
    """`not_ip: [66.249.64.0/19]` — the client address is in none of these ranges (e.g. a fake Googlebot)."""

    key = "not_ip"
    on_user_agent = False

    @staticmethod
    def compile(value: Any) -> Test:
        nets = IPSet(_strings(value, "an IP address or CIDR range"))

        @reading("ip")
        def test(facts: Facts, signals: Signals) -> bool:
            return facts.ip not in nets

        return test


_DOMAIN = re.compile(r"^(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$")


def parse_domains(value: Any) -> tuple[str, ...]:
    """DNS domains as written in a pack (`googlebot.com`), lower case; ValueError for anything else."""
    out = []
    for item in _strings(value, "a domain such as googlebot.com"):
        domain = item.strip().lower().rstrip(".")
        if domain.startswith("*."):
            raise ValueError(f"{item!r}: write the domain without '*.' ({domain[2:]}): names under it match")
        domain = domain.removeprefix(".")
        if not _DOMAIN.match(domain) or "." not in domain:
            raise ValueError(f"{item!r} is not a domain of at least two labels, such as googlebot.com")
        out.append(domain)
    return tuple(out)


def name_in_domains(name: str | None, domains: tuple[str, ...]) -> bool:
    """Is the host name one of these domains or under one of them, on a label boundary?
    `crawl-1.googlebot.com` is under `googlebot.com`; `evilgooglebot.com` is not."""
    if not name:
        return False
    name = name.lower().rstrip(".")
    return any(name == d or name.endswith("." + d) for d in domains)


class ReverseDnsName:
    """`rdns: [googlebot.com, google.com]` — the client address is verified by forward-confirmed reverse DNS
    under one of these domains: its PTR record names a host in them, and that host's A/AAAA records include
    the address again. The proxy looks it up (with a timeout and a cache) only for requests a rule with this
    matcher could decide; `fixative explain --rdns NAME` and rule-pack cases state the outcome instead."""

    key = "rdns"
    on_user_agent = False
    on_rdns = True

    @staticmethod
    def domains(value: Any) -> tuple[str, ...]:
        return parse_domains(value)

    @staticmethod
    def compile(value: Any) -> Test:
        domains = parse_domains(value)

        @reading("rdns")
        def test(facts: Facts, signals: Signals) -> bool:
            return facts.rdns is not None and name_in_domains(facts.rdns.name, domains)

        return test


class NotReverseDnsName(ReverseDnsName):
    """`not_rdns: [googlebot.com, google.com]` — the address is not verified by forward-confirmed reverse DNS
    under any of these domains: no PTR record, a name elsewhere, a name that does not resolve back to the
    address, a lookup that failed or timed out, or no lookup at all (e.g. a fake Googlebot)."""

    key = "not_rdns"

    @staticmethod
    def compile(value: Any) -> Test:
        domains = parse_domains(value)

        @reading("rdns")
        def test(facts: Facts, signals: Signals) -> bool:
            return facts.rdns is None or not name_in_domains(facts.rdns.name, domains)

        return test


class Path:
    """`path: ['/images/full/*', '*.zip']` — the path (without query) matches one of these glob patterns."""

    key = "path"
    on_user_agent = False

    @staticmethod
    def compile(value: Any) -> Test:
        globs = _strings(value, "a path glob such as /images/*")
        pattern = re.compile("|".join(fnmatch.translate(g) for g in globs))

        @reading("path")
        def test(facts: Facts, signals: Signals) -> bool:
            return pattern.match(facts.path.split("?", 1)[0]) is not None

        return test


class PathRegex:
    """`path_regex: '^/(wp-admin|xmlrpc)'` — a regular expression found in the path (with query)."""

    key = "path_regex"
    on_user_agent = False

    @staticmethod
    def compile(value: Any) -> Test:
        patterns = _strings(value, "a regular expression")
        compiled = [_regex(p) for p in patterns]

        @reading("path")
        def test(facts: Facts, signals: Signals) -> bool:
            return any(p.search(facts.path) for p in compiled)

        return test


class Method:
    """`method: [POST, PUT]` — the request method is one of these."""

    key = "method"
    on_user_agent = False

    @staticmethod
    def compile(value: Any) -> Test:
        methods = frozenset(m.upper() for m in _strings(value, "an HTTP method"))

        @reading("method")
        def test(facts: Facts, signals: Signals) -> bool:
            return facts.method.upper() in methods

        return test


class Kind:
    """`kind: [image]` — the resource kind is one of page, image, other."""

    key = "kind"
    on_user_agent = False

    @staticmethod
    def compile(value: Any) -> Test:
        kinds = _strings(value, "a resource kind")
        unknown = [k for k in kinds if k not in KINDS]
        if unknown:
            raise ValueError(f"unknown kind {unknown[0]!r}; use one of {', '.join(KINDS)}")
        wanted = frozenset(kinds)

        @reading("kind")
        def test(facts: Facts, signals: Signals) -> bool:
            return facts.kind in wanted

        return test


class Header:
    """`header: {Accept-Language: '^$'}` — each named header is present and matches its regular expression."""

    key = "header"
    on_user_agent = False

    @staticmethod
    def compile(value: Any) -> Test:
        if not isinstance(value, dict) or not value:
            raise ValueError("expected a mapping of header name to regular expression")
        empty = [name for name, pattern in value.items() if pattern is None]
        if empty:
            raise ValueError(f"{empty[0]}: no regular expression given (use '.*' for any value)")
        checks = [(str(name), _regex(str(pattern))) for name, pattern in value.items()]

        @reading(*(f"header:{name.lower()}" for name, _ in checks))
        def test(facts: Facts, signals: Signals) -> bool:
            for name, pattern in checks:
                got = facts.header(name)
                if got is None or not pattern.search(got):
                    return False
            return True

        return test


class HeaderAbsent:
    """`header_absent: [Accept-Language, Accept]` — none of these headers is present. Never matches an
    access-log line (`fixative replay`) for headers a log does not show: there they are unknown, not absent."""

    key = "header_absent"
    on_user_agent = False

    @staticmethod
    def compile(value: Any) -> Test:
        names = _strings(value, "a header name")
        logged = all(n.lower() in LOGGED_HEADERS for n in names)

        @reading("from_log", *(f"header:{n.lower()}" for n in names))
        def test(facts: Facts, signals: Signals) -> bool:
            if facts.from_log and not logged:
                return False
            return all(facts.header(n) is None for n in names)

        return test


class Signal:
    """`signal: [ua.not_a_browser]` — one of these named signals fired for the request (see the signals reference)."""

    key = "signal"
    on_user_agent = False

    @staticmethod
    def compile(value: Any) -> Test:
        names = _strings(value, "a signal name")

        @reading("signals")
        def test(facts: Facts, signals: Signals) -> bool:
            return any(n in signals for n in names)

        return test


class BrowserOlderThan:
    """`browser_older_than: {Chrome: 109, Firefox: 115, Safari: 15}` — the User-Agent parses (user-agents
    library) as one of these browser families with a major version below its number. The numbers are the
    oldest versions still plausible for a person: about two years behind current releases, or the last
    release of a platform people still use if that is older. They live in the pack, so pack updates move them."""

    key = "browser_older_than"
    on_user_agent = True

    @staticmethod
    def compile(value: Any) -> Test:
        if not isinstance(value, dict) or not value:
            raise ValueError("expected a mapping of browser family to major version, e.g. {Chrome: 109}")
        oldest: dict[str, int] = {}
        for family, version in value.items():
            if not isinstance(version, int) or isinstance(version, bool) or version < 1:
                raise ValueError(f"{family}: expected a whole major version such as 109, got {version!r}")
            oldest[str(family).lower()] = version

        @reading("user_agent")
        def test(facts: Facts, signals: Signals) -> bool:
            family, major = browser_version(facts.user_agent)
            limit = oldest.get(family.lower())
            return limit is not None and major is not None and major < limit

        return test


class HeaderOrder:
    """`header_order: [Accept-Encoding, Host, User-Agent]` — the request's header names (any case) begin with
    exactly this sequence: the order an HTTP library writes its headers in, kept when it forges a browser's.
    Never matches an access-log line, which does not show the order."""

    key = "header_order"
    on_user_agent = False

    @staticmethod
    def compile(value: Any) -> Test:
        names = tuple(n.lower() for n in _strings(value, "a header name"))
        count = len(names)

        @reading("header_names", "from_log")
        def test(facts: Facts, signals: Signals) -> bool:
            return not facts.from_log and facts.header_names[:count] == names

        return test


class HeadersKnown:
    """`headers_known: true` — the request carries headers besides User-Agent. Every real request does; a
    verdict asked from the User-Agent alone (`fixative explain --ua`) does not, and there headers are unknown."""

    key = "headers_known"
    on_user_agent = False

    @staticmethod
    def compile(value: Any) -> Test:
        if not isinstance(value, bool):
            raise ValueError("expected true or false")

        @reading("header_names", "from_log")
        def test(facts: Facts, signals: Signals) -> bool:
            return headers_known(facts) == value

        return test


class Ja4:
    """`ja4: ['*_e8f1e7e78f70_b26ce05bbdd6']` — the JA4 fingerprint of the client's TLS handshake matches one of
    these glob patterns (any case). Seen only when Fixative terminates TLS itself (`fixative run --cert`);
    behind another server that terminates TLS there is no handshake to see and this never matches."""

    key = "ja4"
    on_user_agent = False

    @staticmethod
    def compile(value: Any) -> Test:
        globs = _strings(value, "a JA4 fingerprint or glob pattern")
        pattern = re.compile("|".join(fnmatch.translate(g.lower()) for g in globs))

        @reading("tls")
        def test(facts: Facts, signals: Signals) -> bool:
            return facts.tls is not None and pattern.match(facts.tls.ja4) is not None

        return test


MATCHERS: dict[str, Any] = {
    m.key: m
    for m in (
        UserAgent, UserAgentToken, UserAgentRegex, UserAgentMissing, Ip, NotIp, ReverseDnsName,
        NotReverseDnsName, Path, PathRegex,
        Method, Kind, Header, HeaderAbsent, Signal, BrowserOlderThan, HeaderOrder, HeadersKnown,
        Ja4,
    )
}
