"""Stale and impossible browsers: what a User-Agent claims that no real browser could be.

Which versions count as stale is data in a rule pack (the `browser_older_than` matcher),
so pack updates move it; this module holds the cached parse the matcher uses and the
`ua.impossible` signal: token combinations and versions no browser has ever sent.
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache

from .useragent import browser_of, useragent_signals

NOT_BROWSER_SIGNALS = ("ua.missing", "ua.bot", "ua.not_a_browser")

# Chrome, Edge and Firefox ship a major version every 4 weeks: gallery-dl's util.py
# estimates the current one as (date.toordinal() - EPOCH) // 28. Nightly and Canary run
# about 2 ahead; more than AHEAD beyond the estimate is no release at all.
RELEASE_EPOCH = {"Chrome": 735599, "Firefox": 735513}
AHEAD = 8
# Safari is numbered by year since Safari 26 (2025); the next one is in beta from June.
SAFARI_AHEAD = 2

# Platform tokens that exclude one another (X11 and Linux are not here: Android and
# ChromeOS User-Agents carry them too).
_PLATFORMS = {"iPhone": "iOS", "iPad": "iOS", "iPod": "iOS", "Windows NT": "Windows", "Android": "Android",
              "Macintosh": "macOS", "CrOS": "ChromeOS"}
_PLATFORM = re.compile(r"\b(iPhone|iPad|iPod|Windows NT|Android|Macintosh|CrOS)\b")
_CHROME = re.compile(r"(?<![A-Za-z])Chrome/(\d+)")
_FIREFOX = re.compile(r"\bFirefox/(\d+)")
_EDGE_HTML = re.compile(r"\bEdge/(\d+)")
_SAFARI_VERSION = re.compile(r"\bVersion/(\d+)(?:\.\d+)*(?: Mobile/\S+)? Safari/")


@lru_cache(maxsize=8192)
def browser_version(user_agent: str | None) -> tuple[str, int | None]:
    """(family, major) as user-agents parses it, e.g. ('Firefox', 72); cached per User-Agent."""
    return browser_of(user_agent)


def newest_plausible(today: date | None = None) -> dict[str, int]:
    """The highest major version of Chrome, Firefox and Safari that could exist on this date."""
    day = today or date.today()
    newest = {name: (day.toordinal() - epoch) // 28 + AHEAD for name, epoch in RELEASE_EPOCH.items()}
    newest["Safari"] = day.year - 1999 + SAFARI_AHEAD
    return newest


NEWEST = newest_plausible()


def impossible_reasons(user_agent: str, newest: dict[str, int] = NEWEST) -> list[str]:
    """Why this browser User-Agent cannot be real (empty when it can)."""
    reasons: list[str] = []
    platforms = sorted({_PLATFORMS[token] for token in _PLATFORM.findall(user_agent)})
    if len(platforms) > 1:
        reasons.append(f"claims both {' and '.join(platforms)}")
    ios = "iOS" in platforms
    chrome = _CHROME.search(user_agent)
    firefox = _FIREFOX.search(user_agent)
    if ios and chrome:
        reasons.append("Chrome on iOS says CriOS/ (it is WebKit), never Chrome/")
    if firefox and chrome:
        reasons.append("a Firefox User-Agent never carries a Chrome/ token")
    edge = _EDGE_HTML.search(user_agent)
    if edge and int(edge.group(1)) > 19:
        reasons.append(f"Edge/{edge.group(1)}: Chromium Edge says Edg/; the old Edge/ token stopped at 18")
    for name, match in (("Chrome", chrome), ("Firefox", firefox)):
        if match and int(match.group(1)) > newest[name]:
            reasons.append(f"{name}/{match.group(1)}: no such version yet (newest plausible {newest[name]})")
    safari = _SAFARI_VERSION.search(user_agent)
    if safari and not chrome and int(safari.group(1)) > newest["Safari"]:
        reasons.append(f"Safari {safari.group(1)}: no such version yet (newest plausible {newest['Safari']})")
    return reasons


@lru_cache(maxsize=8192)
def browser_signals(user_agent: str | None) -> tuple[tuple[str, str], ...]:
    """`ua.impossible` for a User-Agent that claims a browser no one could be running; cached."""
    if not user_agent or any(name in NOT_BROWSER_SIGNALS for name, _ in useragent_signals(user_agent)):
        return ()
    reasons = impossible_reasons(user_agent)
    return (("ua.impossible", "; ".join(reasons)),) if reasons else ()
