"""The rules reference: signals and tags a pack may name, and the generated parts of rules/README.md.

The matcher section is built from the matcher docstrings (rules/matchers.py), the signal and tag
tables from SIGNALS and TAGS below; `fixative rules docs --write` refreshes them in the README and
a test fails when they are stale. A signal listed here must be produced somewhere in proxy/fixative.
"""

from __future__ import annotations

import inspect
import re
from functools import lru_cache
from pathlib import Path

from .loader import SHIPPED_RULES
from .matchers import MATCHERS

README = SHIPPED_RULES / "README.md"
PACKAGE = Path(__file__).resolve().parents[1]

SIGNALS: dict[str, str] = {
    "ua.missing": "no User-Agent header, or an empty one",
    "ua.not_a_browser": "the User-Agent does not parse as a browser's (or is longer than any browser's)",
    "ua.bot": "the User-Agent parses as a bot, crawler or spider",
    "ua.impossible": "a User-Agent no browser sends: contradictory platforms or tokens, a version not yet released",
    "headers.sec_fetch_missing": "a browser User-Agent without the Sec-Fetch-* headers it sends to a secure origin",
    "headers.sec_fetch_contradicts": "Sec-Fetch-* values that contradict each other, the request or the browser",
    "headers.client_hints_missing": "a Chromium User-Agent without the client hints (sec-ch-ua) it sends",
    "headers.client_hints_impossible": "client hints from a browser that never sends them",
    "headers.client_hints_mismatch": "client hints naming another browser version or platform than the User-Agent",
    "headers.accept_not_browser": "an Accept header no browser sends for this kind of request",
    "headers.accept_encoding_not_browser": "a browser User-Agent offering no compression (no gzip)",
    "headers.no_accept_language": "a browser User-Agent without Accept-Language",
    "headers.connection_close": "a browser User-Agent asking to close the connection (not through a proxy)",
    "network.hosting": "the address is in a cloud, hosting or PaaS network (shipped ASN table)",
    "network.cdn": "the address is in a CDN's network (edge workers, some VPN users)",
    "network.vpn": "the address is in a VPN provider's network",
    "network.privacy_relay": "the address is an iCloud Private Relay exit (people on Apple devices)",
    "network.crawler_operator": "the address is in the own network of a company that runs AI crawlers",
    "tls.grease_missing": "a Chromium User-Agent whose TLS handshake has no GREASE values (Chromium always sends them)",
    "tls.no_http2": "a browser User-Agent whose TLS handshake does not offer HTTP/2 (every current browser does)",
    "trap.hit": "the client requested a hidden trap link (this request or before)",
    "behaviour.rate": "more requests in 10 s than a person browsing makes",
    "behaviour.orphan_image": "an embedded-style image load with no Referer from a client that loaded no page",
    "behaviour.image_spree": "several images opened directly in a tab, without any page of the site, within two minutes",
    "behaviour.referer_mismatch": "the Referer names a page of this site that does not show this image",
    "behaviour.breadth": "far more distinct images than pages seen",
    "behaviour.robots_ignored": "read robots.txt, then requested a path it disallows",
    "behaviour.optout_ignored": "keeps downloading images marked X-Robots-Tag: noai without loading a page",
    "session.valid": "carries a valid session cookie issued on a page of this site",
    "session.forged": "carries a session cookie this install never issued, or a tampered one",
    "session.replayed": "carries a session cookie issued to another User-Agent",
}

SIGNAL_SOURCES = {
    "ua": "proxy/fixative/signals/useragent.py, browsers.py (ua.impossible)",
    "headers": "proxy/fixative/signals/headers.py",
    "network": "proxy/fixative/signals/network.py",
    "tls": "proxy/fixative/signals/tls.py",
    "trap": "proxy/fixative/behaviour/signals.py",
    "behaviour": "proxy/fixative/behaviour/signals.py",
    "session": "proxy/fixative/addons/classify.py (from proxy/fixative/session.py)",
}

# A tag ending in ":*" is a family: any value after the colon is allowed.
TAGS: dict[str, str] = {
    "ai-agent": "a declared AI crawler, assistant or data scraper",
    "robots:disallow": "its plain User-Agent tokens go into the proxy's robots.txt Disallow group",
    "operator:*": "who runs the agent, e.g. `operator:OpenAI`",
    "purpose:*": "what the agent is for, e.g. `purpose:training`",
    "bot:*": "the crawler a rule is about, e.g. `bot:Googlebot`",
    "tool": "an HTTP library or download tool",
    "automation": "a headless or automated browser",
    "class": "a check of the request's class rather than a named client",
    "behaviour": "what a client did over time",
    "session": "the session cookie",
    "trap": "hidden trap links",
    "search-engine": "a search crawler (verified or forged)",
    "impersonation": "a client claiming to be someone it is not",
    "verified": "identity confirmed by published IP ranges",
    "rdns": "identity checked by forward-confirmed reverse DNS, which the proxy looks up",
    "network": "the network a request comes from",
    "link-preview": "a chat or social link-preview fetcher",
    "people": "traffic that is mostly real people (e.g. privacy relays), weighed down or not at all",
    "scraper": "a scraping framework or bulk downloader",
    "language:*": "the programming language of a tool, e.g. `language:python`",
    "test": "test fixtures",
    "allow": "a rule that lets a client through",
}


def known_tag(tag: str) -> bool:
    if tag in TAGS:
        return True
    family, sep, value = tag.partition(":")
    return bool(sep and value.strip()) and f"{family}:*" in TAGS


def known_signal(name: str) -> bool:
    return name in SIGNALS


def produced_in_source(name: str, root: Path = PACKAGE) -> bool:
    """Does code under `root` produce this signal name? A quoted `"ua.bot"`, or a prefix written as
    `f"session.{...}"` beside a quoted `"forged"` value, counts."""
    prefix, _, suffix = name.partition(".")
    text = _source_text(root)
    if re.search(rf"""["']{re.escape(name)}["']""", text):
        return True
    return (re.search(rf"""f["']{re.escape(prefix)}\.\{{""", text) is not None
            and re.search(rf"""["']{re.escape(suffix)}["']""", text) is not None)


@lru_cache(maxsize=4)
def _source_text(root: Path) -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(root.rglob("*.py"))
                     if p.name != "reference.py")


# --- generated documentation ---------------------------------------------------------------------

def matcher_doc(cls: type) -> tuple[str, str]:
    """(example, description) from a matcher docstring written as "`key: example` — description"."""
    text = " ".join(line.strip() for line in (inspect.getdoc(cls) or "").splitlines()).strip()
    match = re.match(r"^`([^`]+)`\s*(?:—|--|-|:)?\s*(.*)$", text)
    if match:
        return match.group(1), match.group(2)
    return f"{cls.key}: ...", text  # type: ignore[attr-defined]


def matchers_markdown() -> str:
    """One entry per matcher kind, in MATCHERS order, from its docstring."""
    entries = []
    for key, cls in MATCHERS.items():
        example, description = matcher_doc(cls)
        tested = ("the User-Agent alone" if getattr(cls, "on_user_agent", False) else
                  "the address's reverse DNS, looked up by the proxy" if getattr(cls, "on_rdns", False) else
                  "the request")
        entries.append(f"#### `{key}`\n\n```yaml\n{example}\n```\n\n{description} *(tests {tested})*")
    return "\n\n".join(entries)


def signals_markdown() -> str:
    lines = ["| signal | fires when | produced by |", "|---|---|---|"]
    for name, description in SIGNALS.items():
        source = SIGNAL_SOURCES.get(name.partition(".")[0], "proxy/fixative")
        lines.append(f"| `{name}` | {_cell(description)} | `{source}` |")
    return "\n".join(lines)


def tags_markdown() -> str:
    lines = ["| tag | meaning |", "|---|---|"]
    lines += [f"| `{tag}` | {_cell(text)} |" for tag, text in TAGS.items()]
    return "\n".join(lines)


SECTIONS = {"matchers": matchers_markdown, "signals": signals_markdown, "tags": tags_markdown}


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render(text: str) -> str:
    """The README text with every `<!-- NAME:begin -->…<!-- NAME:end -->` section regenerated."""
    for name, make in SECTIONS.items():
        begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
        pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
        if not pattern.search(text):
            raise ValueError(f"the README has no {begin} … {end} section")
        section = f"{begin}\n{make()}\n{end}"
        text = pattern.sub(lambda _m: section, text)  # noqa: B023 - used at once, inside the loop
    return text


def generated_text() -> str:
    """Every generated section, for `fixative rules docs` to print."""
    return "\n\n".join(f"## {name}\n\n{make()}" for name, make in SECTIONS.items()) + "\n"


def readme_is_current(path: Path = README) -> bool:
    text = path.read_text(encoding="utf-8")
    return render(text) == text


def refresh_readme(path: Path = README) -> bool:
    """Rewrite the generated sections; True if the file changed."""
    text = path.read_text(encoding="utf-8")
    new = render(text)
    if new != text:
        path.write_text(new, encoding="utf-8")
    return new != text
