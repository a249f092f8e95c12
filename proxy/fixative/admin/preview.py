"""Preview: what the protected site gives one kind of client, computed by the real pipeline.

Pure parts live here: checking the requested path, the clients' request headers
(profiles), and the headers a treated response carries. The handler fetches the
path from the configured upstream only and renders with the Runtime's own pool.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote

from ..behaviour.signals import behaviour_signals
from ..behaviour.sitemap import SiteMap
from ..behaviour.store import ClientState
from ..facts import IMAGE, OTHER, PAGE, Facts
from ..optout import optout_headers
from ..responses import NO_STORE

CHROME_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
CLIENT_IP = "203.0.113.7"  # a documentation address: no network rule singles it out
MAX_PATH = 2048
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "content-encoding",
    "proxy-connection",
    "upgrade",
    "te",
    "trailer",
}
_CONTROL = re.compile(r"[\x00-\x20\x7f\\#]")


@dataclass(frozen=True)
class Profile:
    name: str
    label: str
    user_agent: str | None
    has_loaded_pages: bool = False  # a person who opened the page that shows the work


PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile(
            "person", "A person in Chrome who opened the page", CHROME_UA, has_loaded_pages=True
        ),
        Profile(
            "gptbot",
            "OpenAI's GPTBot",
            "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; "
            "GPTBot/1.2; +https://openai.com/gptbot",
        ),
        Profile(
            "img2dataset",
            "img2dataset 1.47 with its defaults (LAION's downloader)",
            "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:72.0) Gecko/20100101 Firefox/72.0",
        ),
        Profile("curl", "curl 8", "curl/8.7.1"),
        Profile("forged-chrome", "A script (python-requests) claiming to be Chrome", CHROME_UA),
    )
}


def check_path(path: object) -> str:
    """A path on the protected site; ValueError for anything that could name another host or escape."""
    if not isinstance(path, str) or not path:
        raise ValueError("path: required, e.g. /images/full/work.jpg")
    if len(path) > MAX_PATH:
        raise ValueError(f"path: longer than {MAX_PATH} characters")
    if not path.startswith("/") or path.startswith("//"):
        raise ValueError(
            "path: must start with a single '/' (a path on the protected site, no scheme or host)"
        )
    decoded = unquote(unquote(path.split("?", 1)[0]))
    if _CONTROL.search(path) or _CONTROL.search(decoded):
        raise ValueError("path: spaces, control characters, '\\' and '#' are not allowed")
    if decoded.startswith("//") or any(seg in (".", "..") for seg in decoded.split("/")):
        raise ValueError("path: '.' and '..' segments and '//' are not allowed")
    return path


def request_headers(profile: Profile, kind: str, host: str) -> tuple[tuple[str, str], ...]:
    """The headers this client sends for a page or an image, in its own order."""
    ua = profile.user_agent or ""
    if profile.name == "person":
        accept = (
            "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"
            if kind == IMAGE
            else "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
        )
        dest, mode, site = (
            ("image", "no-cors", "same-origin")
            if kind == IMAGE
            else ("document", "navigate", "none")
        )
        return (
            ("Host", host),
            ("Connection", "keep-alive"),
            ("sec-ch-ua-platform", '"Linux"'),
            ("User-Agent", ua),
            ("sec-ch-ua", '"Chromium";v="131", "Not_A Brand";v="24"'),
            ("sec-ch-ua-mobile", "?0"),
            ("Accept", accept),
            ("Sec-Fetch-Site", site),
            ("Sec-Fetch-Mode", mode),
            ("Sec-Fetch-Dest", dest),
            ("Accept-Encoding", "gzip, deflate, br, zstd"),
            ("Accept-Language", "en-GB,en;q=0.9"),
        )
    if profile.name == "img2dataset":
        return (
            ("Accept-Encoding", "identity"),
            ("Host", host),
            ("User-Agent", ua),
            ("Connection", "close"),
        )
    if profile.name == "curl":
        return (("Host", host), ("User-Agent", ua), ("Accept", "*/*"))
    if profile.name == "forged-chrome":
        return (
            ("Host", host),
            ("User-Agent", ua),
            ("Accept-Encoding", "gzip, deflate"),
            ("Accept", "*/*"),
            ("Connection", "keep-alive"),
        )
    return (
        ("Host", host),
        ("User-Agent", ua),
        ("Accept", "*/*"),
        ("Accept-Encoding", "gzip, deflate, br"),
    )


def profile_facts(profile: Profile, path: str, host: str, now: float) -> Facts:
    """The request this client would send, as the classifier sees it (over HTTPS, as a real site is)."""
    guess = Facts(ip=CLIENT_IP, user_agent=profile.user_agent, path=path)
    headers = request_headers(profile, guess.kind, host)
    return Facts(
        ip=CLIENT_IP,
        user_agent=profile.user_agent,
        path=path,
        headers=headers,
        secure=True,
        time=now,
        host=host,
        kind=guess.kind,
    )


def profile_signals(profile: Profile, facts: Facts, sitemap: SiteMap | None) -> dict[str, str]:
    """What a first visit says: a scraper working from a list has no history; the person has a page and a session."""
    state = ClientState(first_seen=facts.time, last_seen=facts.time)
    if profile.has_loaded_pages:
        state.pages = 1
    found = behaviour_signals(facts, state, sitemap)
    if profile.has_loaded_pages:
        found["session.valid"] = "carries a session cookie from a page it loaded here"
    return found


def response_headers(
    origin: Mapping[str, str] | list[tuple[str, str]],
    kind: str | None,
    altered: bool,
    content_type: str | None = None,
) -> list[tuple[str, str]]:
    """The origin's headers as the proxy passes them on: treated responses lose validators and get
    no-store; pages and images get the opt-out headers."""
    items = list(origin.items()) if isinstance(origin, Mapping) else list(origin)
    out = [(k, v) for k, v in items if k.lower() not in HOP_BY_HOP]
    if altered:
        dropped = {
            "etag",
            "last-modified",
            "content-range",
            "accept-ranges",
            "content-disposition",
            *(k.lower() for k in NO_STORE),
        }
        out = [(k, v) for k, v in out if k.lower() not in dropped] + list(NO_STORE.items())
        if content_type:
            out = [(k, v) for k, v in out if k.lower() != "content-type"] + [
                ("Content-Type", content_type)
            ]
    names = {k.lower() for k, _ in out}
    if kind in (PAGE, IMAGE):
        robots = ", ".join(v for k, v in out if k.lower() == "x-robots-tag") or None
        for name, value in optout_headers(robots).items():
            if name.lower() not in names or name.lower() == "x-robots-tag":
                out.append((name, value))
    elif kind == OTHER and "tdm-reservation" not in names:
        out.append(("tdm-reservation", "1"))
    return out
