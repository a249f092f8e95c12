"""User-agent signals: does the User-Agent look like a real browser at all?

Named tools are matched by rule packs; these signals catch the class: anything
that does not parse as a browser, or parses as a bot, whatever it calls itself.
"""

from __future__ import annotations

from functools import lru_cache

import user_agents

BROWSER_PREFIXES = ("Mozilla/5.0 (", "Opera/9.80 (")


@lru_cache(maxsize=8192)
def useragent_signals(user_agent: str | None) -> tuple[tuple[str, str], ...]:
    """Signals for one User-Agent string (cached: parsing costs ~100 µs)."""
    ua = (user_agent or "").strip()
    if not ua:
        return (("ua.missing", "no User-Agent header"),)
    if len(ua) > 1024:
        return (("ua.not_a_browser", f"a {len(ua)}-character User-Agent, far longer than any browser's"),)
    parsed = user_agents.parse(ua)
    family = parsed.browser.family
    found: list[tuple[str, str]] = []
    if parsed.is_bot:
        found.append(("ua.bot", f"parsed as {family}"))
    if not ua.startswith(BROWSER_PREFIXES) or family == "Other":
        found.append(("ua.not_a_browser", f"parsed family {family!r}"))
    return tuple(found)


def browser_of(user_agent: str | None) -> tuple[str, int | None]:
    """Browser family and major version, e.g. ('Chrome', 131); ('Other', None) if unknown."""
    parsed = user_agents.parse(user_agent or "")
    version = parsed.browser.version
    return parsed.browser.family, (version[0] if version and isinstance(version[0], int) else None)
