"""Header consistency: does the request carry what the browser its User-Agent claims really sends?

A scraper can copy a User-Agent in one line; copying everything else a browser sends, for
this kind of request, in a secure context or not, is where forgeries slip. Each signal's
detail says what the claimed browser sends and what came. Nothing fires without a browser
User-Agent, or when only the User-Agent is known (`fixative explain --ua`): then the headers
are unknown, not missing.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

from ..facts import IMAGE, PAGE, Facts
from .browsers import NOT_BROWSER_SIGNALS, browser_version
from .useragent import useragent_signals

CHROMIUM, GECKO, WEBKIT = "chromium", "gecko", "webkit"
# (major, minor) from which each engine sends Sec-Fetch-Site/-Mode/-Dest to secure origins
# (mdn/browser-compat-data: Chrome 76, -Dest 80; Firefox 90; Safari 16.4), and before which
# it never sent them (Safari 16.0-16.3 are left out of both).
SEC_FETCH_SINCE = {CHROMIUM: (80, 0), GECKO: (90, 0), WEBKIT: (16, 4)}
SEC_FETCH_BEFORE = {CHROMIUM: (76, 0), GECKO: (90, 0), WEBKIT: (16, 0)}
CLIENT_HINTS_SINCE = 89  # sec-ch-ua, sec-ch-ua-mobile by default; -platform from 93
CLIENT_HINTS_PLATFORM_SINCE = 93
CLIENT_HINTS_BEFORE = 84  # field trials sent them from 84; none earlier

FETCH_HEADERS = ("sec-fetch-site", "sec-fetch-mode", "sec-fetch-dest")
HINT_HEADERS = ("sec-ch-ua", "sec-ch-ua-mobile", "sec-ch-ua-platform")
DESTS = frozenset("audio audioworklet document embed empty fencedframe font frame iframe image json manifest "
                  "object paintworklet report script serviceworker sharedworker speculationrules style track "
                  "video webidentity websocket worker xslt".split())
MODES = frozenset("cors navigate no-cors same-origin websocket".split())
SITES = frozenset("cross-site same-origin same-site none".split())
NAVIGATION_DESTS = frozenset("document embed empty fencedframe frame iframe object".split())
# sec-ch-ua-platform values a real browser may send with each User-Agent platform: Chrome on
# an Android tablet in desktop mode sends a Linux User-Agent with "Android".
PLATFORM_HINTS = {"Windows": {"Windows"}, "macOS": {"macOS"}, "Android": {"Android"},
                  "Chrome OS": {"Chrome OS", "Chromium OS", "Linux"},
                  "Linux": {"Linux", "Android", "Chrome OS", "Chromium OS"}}
PROXY_HEADERS = ("via", "x-forwarded-for", "forwarded")
# Every header header_signals reads (tests/test_decision_cache.py checks it): with the User-Agent, method,
# kind, secure context and headers_known, all its signals depend on.
HEADERS_READ = (*FETCH_HEADERS, "sec-fetch-user", *HINT_HEADERS, "accept", "accept-encoding", "range",
                "accept-language", "connection", *PROXY_HEADERS)

_CHROME = re.compile(r"(?<![A-Za-z])(Headless)?Chrome/(\d+)")
_FIREFOX = re.compile(r"\bFirefox/(\d+)")
_IOS = re.compile(r"\b(?:iPhone|iPad|iPod)\b.*? OS (\d+)(?:_(\d+))?")
_SAFARI = re.compile(r"\bVersion/(\d+)(?:\.(\d+))?.*\bSafari/")
_PLATFORM = (("Windows NT", "Windows"), ("Android", "Android"), ("CrOS", "Chrome OS"), ("iPhone", "iOS"),
             ("iPad", "iOS"), ("iPod", "iOS"), ("Macintosh", "macOS"), ("Linux", "Linux"), ("X11", "Linux"))
_BRAND = re.compile(r'"([^"]*)"\s*;\s*v\s*=\s*"(\d+)')


class Claim(NamedTuple):
    """The browser a User-Agent claims, as far as its headers depend on it."""

    label: str  # e.g. "Chrome 156", for details
    engine: str  # chromium, gecko or webkit
    version: tuple[int, int]  # the engine's: Chromium major, Firefox major, Safari or iOS version
    platform: str | None  # Windows, macOS, Linux, Android, Chrome OS, iOS
    webview: bool  # Android WebView (in-app browsers): no client hints
    headless: bool


@lru_cache(maxsize=8192)
def claim_of(user_agent: str | None) -> Claim | None:
    """The claimed browser, or None for no User-Agent or one that is not a browser's; cached."""
    if not user_agent or any(n in NOT_BROWSER_SIGNALS for n, _ in useragent_signals(user_agent)):
        return None
    family, major = browser_version(user_agent)
    label = f"{family} {major}" if major is not None else family
    platform = next((name for token, name in _PLATFORM if token in user_agent), None)
    if platform == "iOS" and "AppleWebKit/" in user_agent and (ios := _IOS.search(user_agent)):
        return Claim(label, WEBKIT, (int(ios.group(1)), int(ios.group(2) or 0)), platform, False, False)
    if (firefox := _FIREFOX.search(user_agent)) and "Gecko/" in user_agent:
        return Claim(label, GECKO, (int(firefox.group(1)), 0), platform, False, False)
    if chrome := _CHROME.search(user_agent):
        return Claim(label, CHROMIUM, (int(chrome.group(2)), 0), platform, "; wv)" in user_agent,
                     bool(chrome.group(1)))
    if (safari := _SAFARI.search(user_agent)) and "AppleWebKit/" in user_agent:
        return Claim(label, WEBKIT, (int(safari.group(1)), int(safari.group(2) or 0)), platform, False, False)
    return None


def headers_known(facts: Facts) -> bool:
    """Does the request carry any header besides User-Agent? Real requests do; a UA-only question does not,
    nor does an access-log line (`from_log`), which shows only the User-Agent and Referer."""
    return not facts.from_log and any(name.lower() != "user-agent" for name, _ in facts.headers)


@lru_cache(maxsize=1024)
def brands(sec_ch_ua: str) -> dict[str, int]:
    """sec-ch-ua's brand list: {'Chromium': 156, 'Not:A-Brand': 8}."""
    return {name: int(version) for name, version in _BRAND.findall(sec_ch_ua)}


def header_signals(facts: Facts) -> dict[str, str]:
    """headers.* signals: what the claimed browser would send for this request, against what came."""
    claim = claim_of(facts.user_agent)
    if claim is None or facts.method == "OPTIONS" or not headers_known(facts):
        return {}
    header = facts.header
    found: dict[str, str] = {}
    fetch = [header(n) for n in FETCH_HEADERS]
    _sec_fetch(facts, claim, fetch, found)
    _client_hints(facts, claim, found)
    if facts.kind in (PAGE, IMAGE):
        _accept(facts.kind, header("accept"), fetch[2], found)
    encoding = header("accept-encoding")
    if (encoding is None or "gzip" not in encoding.lower()) and header("range") is None:
        found["headers.accept_encoding_not_browser"] = (
            f"browsers send Accept-Encoding: gzip, deflate, br; saw {_seen(encoding)}")
    language = header("accept-language")
    if language is None or language.strip() in ("", "*"):
        found["headers.no_accept_language"] = f"every browser sends Accept-Language; saw {_seen(language)}"
    connection = header("connection")
    if connection and "close" in connection.lower() and not any(header(n) for n in PROXY_HEADERS):
        found["headers.connection_close"] = "browsers keep HTTP/1.1 connections alive; saw Connection: close"
    return found


def _sec_fetch(facts: Facts, claim: Claim, fetch: list[str | None], found: dict[str, str]) -> None:
    site, mode, dest = fetch
    if not (site or mode or dest):
        if facts.secure_context and claim.version >= SEC_FETCH_SINCE[claim.engine]:
            found["headers.sec_fetch_missing"] = (f"{claim.label} sends Sec-Fetch-Site, -Mode and -Dest to a "
                                                  "secure origin; saw none")
        return
    problems = []
    if claim.version < SEC_FETCH_BEFORE[claim.engine]:
        problems.append(f"{claim.label} predates Sec-Fetch-* yet sent them")
    for name, value, allowed in (("Dest", dest, DESTS), ("Mode", mode, MODES), ("Site", site, SITES)):
        if value is not None and value not in allowed:
            problems.append(f"Sec-Fetch-{name}: {value[:40]!r} is no value a browser sends")
    user = facts.header("sec-fetch-user")
    if user is not None and (user != "?1" or mode != "navigate"):
        problems.append(f"Sec-Fetch-User: {user[:10]} with Sec-Fetch-Mode: {mode} (only ?1, on navigations)")
    if mode == "navigate" and dest is not None and dest not in NAVIGATION_DESTS:
        problems.append(f"Sec-Fetch-Mode: navigate with Sec-Fetch-Dest: {dest[:20]}")
    if dest in ("document", "frame", "iframe") and mode is not None and mode != "navigate":
        problems.append(f"Sec-Fetch-Dest: {dest} with Sec-Fetch-Mode: {mode[:20]} (expected navigate)")
    if facts.kind == PAGE and dest == "image":
        problems.append("Sec-Fetch-Dest: image on a page request")
    if problems:
        found["headers.sec_fetch_contradicts"] = "; ".join(problems)
    elif facts.secure_context and claim.version >= SEC_FETCH_SINCE[claim.engine]:
        missing = [n for n, v in zip(("Sec-Fetch-Site", "Sec-Fetch-Mode", "Sec-Fetch-Dest"), fetch) if v is None]
        if missing:
            found["headers.sec_fetch_missing"] = (f"{claim.label} sends Sec-Fetch-Site, -Mode and -Dest together;"
                                                  f" missing {', '.join(missing)}")


def _client_hints(facts: Facts, claim: Claim, found: dict[str, str]) -> None:
    hints = [facts.header(n) for n in HINT_HEADERS]
    sent = [n for n, v in zip(HINT_HEADERS, hints) if v is not None]
    if claim.engine != CHROMIUM:
        if sent:
            why = "every iOS browser, Chrome too, is WebKit" if claim.platform == "iOS" else "only Chromium does"
            found["headers.client_hints_impossible"] = (f"{claim.label} sends no client hints ({why}); "
                                                        f"saw {', '.join(sent)}")
        return
    major = claim.version[0]
    if sent and major < CLIENT_HINTS_BEFORE:
        found["headers.client_hints_impossible"] = (f"{claim.label} predates client hints (Chrome 89); "
                                                    f"saw {', '.join(sent)}")
        return
    if not sent:
        if facts.secure_context and major >= CLIENT_HINTS_SINCE and not claim.webview:
            found["headers.client_hints_missing"] = (f"{claim.label} sends sec-ch-ua, sec-ch-ua-mobile and "
                                                     "sec-ch-ua-platform to a secure origin; saw none")
        return
    problems = []
    ua_hint, _, platform = hints
    listed = brands(ua_hint) if ua_hint else {}
    chromium = listed.get("Chromium")
    if chromium is not None and chromium != major:
        problems.append(f"sec-ch-ua says Chromium {chromium}, the User-Agent Chrome {major}")
    if "HeadlessChrome" in listed and not claim.headless:
        problems.append("sec-ch-ua names HeadlessChrome, the User-Agent does not")
    if platform is not None and claim.platform in PLATFORM_HINTS:
        value = platform.strip().strip('"')
        if value not in PLATFORM_HINTS[claim.platform]:
            problems.append(f"sec-ch-ua-platform {value[:20]!r}, the User-Agent {claim.platform}")
    if problems:
        found["headers.client_hints_mismatch"] = "; ".join(problems)
    elif facts.secure_context and major >= CLIENT_HINTS_SINCE and not claim.webview:
        wanted = HINT_HEADERS if major >= CLIENT_HINTS_PLATFORM_SINCE else HINT_HEADERS[:2]
        missing = [n for n in wanted if n not in sent]
        if missing:
            found["headers.client_hints_missing"] = (f"{claim.label} sends {', '.join(wanted)} together; "
                                                     f"missing {', '.join(missing)}")


def _accept(kind: str, accept: str | None, dest: str | None, found: dict[str, str]) -> None:
    if accept and dest == "empty":  # fetch() or XMLHttpRequest from the site's own scripts
        return
    if kind == PAGE:
        if accept is None or "text/html" not in accept:
            found["headers.accept_not_browser"] = (f"a browser navigation sends Accept: text/html,…; "
                                                   f"saw {_seen(accept)}")
    elif accept is None or not (accept.startswith("image/") or "text/html" in accept):
        found["headers.accept_not_browser"] = ("a browser sends Accept: image/… for an <img>, text/html,… "
                                               f"when the image is opened directly; saw {_seen(accept)}")


def _seen(value: str | None) -> str:
    if value is None:
        return "none"
    return repr(value[:60]) if value.strip() else "an empty value"
