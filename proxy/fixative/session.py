"""The Fixative session cookie: proves a page of this site was loaded by this browser.

Value: `id.issued.ua.mac` — a random id, the issue time, a short hash of the User-Agent
it was issued to, and an HMAC over all three with the per-install secret. A forged
value fails the MAC; a value copied to another client fails the User-Agent check.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from enum import Enum
from functools import lru_cache

COOKIE = "fx_session"
MAX_AGE = 30 * 86400


class CookieState(Enum):
    ABSENT = "absent"
    VALID = "valid"
    FORGED = "forged"      # not made by this install, or tampered with
    REPLAYED = "replayed"  # made by this install for another browser
    EXPIRED = "expired"


@lru_cache(maxsize=4096)  # a browser sends the same cookie and User-Agent with every request
def _ua_tag(user_agent: str | None) -> str:
    return hashlib.blake2s((user_agent or "").encode("utf-8", "replace"), digest_size=4).hexdigest()


@lru_cache(maxsize=4096)
def _mac(secret: bytes, body: str) -> str:
    digest = hmac.new(secret, f"session\0{body}".encode(), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def issue(secret: bytes, user_agent: str | None, now: float) -> str:
    """A new cookie value for this browser."""
    body = f"{secrets.token_hex(8)}.{int(now)}.{_ua_tag(user_agent)}"
    return f"{body}.{_mac(secret, body)}"


def check(secret: bytes, value: str | None, user_agent: str | None, now: float) -> tuple[CookieState, str | None]:
    """The cookie's state and, when valid, the session id."""
    if not value:
        return CookieState.ABSENT, None
    parts = value.split(".")
    if len(parts) != 4 or len(value) > 200:
        return CookieState.FORGED, None
    body = ".".join(parts[:3])
    if not hmac.compare_digest(_mac(secret, body), parts[3]):
        return CookieState.FORGED, None
    session_id, issued, ua = parts[0], parts[1], parts[2]
    if not issued.isdigit() or now - int(issued) > MAX_AGE:
        return CookieState.EXPIRED, None
    if not hmac.compare_digest(ua, _ua_tag(user_agent)):
        return CookieState.REPLAYED, None
    return CookieState.VALID, session_id


def cookie_value(headers_cookie: str | None) -> str | None:
    """The fx_session value from a Cookie header, if present."""
    if not headers_cookie:
        return None
    for item in headers_cookie.split(";"):
        name, _, value = item.strip().partition("=")
        if name == COOKIE:
            return value.strip()
    return None


def set_cookie_header(value: str, secure: bool) -> str:
    flags = "; Secure" if secure else ""
    return f"{COOKIE}={value}; Path=/; Max-Age={MAX_AGE}; HttpOnly; SameSite=Lax{flags}"
