"""The served robots.txt (origin's rules kept, one group for the AI agents) and the opt-out headers."""

from __future__ import annotations

import json

import pytest

from fixative.optout import MARKER, TDM_RESERVATION, X_ROBOTS_TAG, merge_robots_txt, optout_headers, tdmrep_json

AGENTS = ["GPTBot", "CCBot", "ClaudeBot", "Google-Extended"]
ORIGIN = """# robots.txt for an artist's portfolio
User-agent: *
Disallow: /drafts/
Allow: /drafts/public/

User-agent: Googlebot-Image
Disallow: /private/

Sitemap: https://example.org/sitemap.xml
"""


def rfc9309_groups(text: str) -> dict[str, list[tuple[str, str]]]:
    """Rules per user-agent token as RFC 9309 reads them: a group is one or more user-agent lines and
    the rules after them, up to the next user-agent line; blank lines and comments do not end a group;
    groups naming the same agent are combined."""
    groups: dict[str, list[tuple[str, str]]] = {}
    agents: list[str] = []
    in_rules = False
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if ":" not in line:
            continue
        key, value = (part.strip() for part in line.split(":", 1))
        key = key.lower()
        if key == "user-agent":
            if in_rules:
                agents, in_rules = [], False
            agents.append(value.lower())
            groups.setdefault(value.lower(), [])
        elif key in ("allow", "disallow"):
            in_rules = True
            for agent in agents:
                groups[agent].append((key, value))
    return groups


def test_no_origin_file() -> None:
    text = merge_robots_txt(None, ["GPTBot", "CCBot"])
    assert text == (f"{MARKER}: AI agents may not crawl this site (its works are not licensed for AI training)\n"
                    "User-agent: GPTBot\nUser-agent: CCBot\nDisallow: /\n")


@pytest.mark.parametrize("origin", [None, "", "\n\n", "   \n"])
def test_empty_origin_is_no_origin(origin: str | None) -> None:
    assert merge_robots_txt(origin, AGENTS) == merge_robots_txt(None, AGENTS)


def test_origin_rules_are_kept_verbatim() -> None:
    text = merge_robots_txt(ORIGIN, AGENTS)
    assert text.startswith(ORIGIN)
    added = text[len(ORIGIN):]
    assert added.startswith("\n" + MARKER)
    assert added.count("Disallow: /\n") == 1
    assert [line for line in added.splitlines() if line.startswith("User-agent:")] == [
        f"User-agent: {a}" for a in AGENTS]
    assert text.endswith("\n") and not text.endswith("\n\n")


def test_origin_without_final_newline() -> None:
    text = merge_robots_txt("User-agent: *\nDisallow: /tmp/", ["GPTBot"])
    assert text.startswith("User-agent: *\nDisallow: /tmp/\n\n" + MARKER)


def test_crlf_origin() -> None:
    text = merge_robots_txt(ORIGIN.replace("\n", "\r\n"), AGENTS)
    assert "\r" not in text
    assert text == merge_robots_txt(ORIGIN, AGENTS)


def test_already_merged_file_is_left_alone() -> None:
    once = merge_robots_txt(ORIGIN, AGENTS)
    assert merge_robots_txt(once, ["SomeOtherBot"]) == once
    assert merge_robots_txt(once.replace("\n", "\r\n"), AGENTS) == once


def test_one_group_with_every_token_once() -> None:
    text = merge_robots_txt(None, [" GPTBot ", "CCBot", "GPTBot", "", "Evil\nDisallow:", "CCBot"])
    assert [line for line in text.splitlines() if line.startswith("User-agent:")] == [
        "User-agent: GPTBot", "User-agent: CCBot"]
    assert "Evil" not in text


def test_extra_disallow_paths_get_their_own_group() -> None:
    text = merge_robots_txt(ORIGIN, ["GPTBot"], extra_disallow=["/trap/a", "/trap/b"])
    assert text.endswith("User-agent: GPTBot\nDisallow: /\n\nUser-agent: *\nDisallow: /trap/a\nDisallow: /trap/b\n")


@pytest.mark.parametrize(
    ("origin", "agents", "extra"),
    [
        (None, AGENTS, []),
        (ORIGIN, AGENTS, []),
        (ORIGIN, AGENTS, ["/trap/"]),
        ("User-agent: *\nAllow: /\n", ["GPTBot"], []),
        # no AI agents loaded (a custom preset without ai-agents): nothing may change for anyone else
        ("User-agent: *\nAllow: /\n", [], []),
        (ORIGIN, [], []),
    ],
    ids=["no-origin", "origin", "origin-and-traps", "allow-all", "allow-all-no-agents", "origin-no-agents"],
)
def test_other_crawlers_keep_the_origin_rules(origin: str | None, agents: list[str], extra: list[str]) -> None:
    """Read as RFC 9309 does, the merged file gives every AI agent `Disallow: /` and leaves every other
    crawler's rules as the origin wrote them (plus any trap paths for `*`)."""
    before = rfc9309_groups(origin or "")
    after = rfc9309_groups(merge_robots_txt(origin, agents, extra))
    for agent in agents:
        assert after[agent.lower()] == [("disallow", "/")]
    expected = dict(before)
    if extra:
        expected["*"] = before.get("*", []) + [("disallow", p) for p in extra]
    others = {k: v for k, v in after.items() if k not in {a.lower() for a in agents}}
    assert others == expected


@pytest.mark.parametrize(
    ("existing", "expected"),
    [
        (None, {"tdm-reservation": TDM_RESERVATION, "X-Robots-Tag": X_ROBOTS_TAG}),
        ("", {"tdm-reservation": "1", "X-Robots-Tag": "noai, noimageai"}),
        ("noindex", {"tdm-reservation": "1", "X-Robots-Tag": "noai, noimageai"}),
        ("noimageindex, nofollow", {"tdm-reservation": "1", "X-Robots-Tag": "noai, noimageai"}),
        ("noai", {"tdm-reservation": "1"}),
        ("NoAI, NoImageAI", {"tdm-reservation": "1"}),
        ("googlebot: noindex, otherbot: noai", {"tdm-reservation": "1"}),
    ],
)
def test_optout_headers(existing: str | None, expected: dict[str, str]) -> None:
    assert optout_headers(existing) == expected


def test_tdmrep_json() -> None:
    assert json.loads(tdmrep_json()) == [{"location": "/*", "tdm-reservation": 1}]
