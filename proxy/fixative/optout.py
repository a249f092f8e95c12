"""Opt-out signals every response carries, and the robots.txt the proxy serves.

The origin's robots.txt is kept; a group disallowing the loaded packs' AI agents
is appended (RFC 9309: a crawler obeys the most specific group naming it).
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.robotparser import RobotFileParser

X_ROBOTS_TAG = "noai, noimageai"
TDM_RESERVATION = "1"
MARKER = "# --- added by Fixative"


def optout_headers(existing_robots_tag: str | None) -> dict[str, str]:
    """Headers to add to an image or page response (X-Robots-Tag only if not already saying noai)."""
    headers = {"tdm-reservation": TDM_RESERVATION}
    if not existing_robots_tag or "noai" not in existing_robots_tag.lower():
        headers["X-Robots-Tag"] = X_ROBOTS_TAG
    return headers


def merge_robots_txt(origin_text: str | None, agents: Iterable[str], extra_disallow: Iterable[str] = ()) -> str:
    """The origin's robots.txt (if any) followed by a Disallow-all group for the AI agents.

    `extra_disallow` paths (e.g. trap links) are added to a `User-agent: *` group of their own.
    """
    base = (origin_text or "").replace("\r\n", "\n")
    if MARKER in base:  # already merged upstream (a Fixative behind a Fixative)
        return base
    parts = [base.rstrip("\n")] if base.strip() else []
    tokens = [a for a in dict.fromkeys(a.strip() for a in agents) if a and "\n" not in a]
    extra = list(extra_disallow)
    section = [MARKER + ": AI agents may not crawl this site (its works are not licensed for AI training)"]
    if tokens:  # a Disallow with no User-agent line would join the origin's last group
        section += [f"User-agent: {t}" for t in tokens] + ["Disallow: /"]
    if extra:
        section += ["", "User-agent: *"] + [f"Disallow: {p}" for p in extra]
    if len(section) == 1:
        return base if base.endswith("\n") or not base else base + "\n"
    parts.append("\n".join(section))
    return "\n\n".join(parts) + "\n"


def tdmrep_json() -> str:
    """/.well-known/tdmrep.json reserving text-and-data-mining rights for the whole site."""
    return '[{"location": "/*", "tdm-reservation": 1}]\n'


def parse_robots(text: str) -> RobotFileParser:
    """A parser answering can_fetch(user_agent, path) for the robots.txt the proxy serves."""
    parser = RobotFileParser()
    parser.parse(text.splitlines())
    return parser
