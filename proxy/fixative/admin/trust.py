"""The trusted-browser cookie: a signed, long-lived value that makes one browser always see originals.

Same HMAC idea as session.py, with its own purpose string, so a session cookie can
never pass as a trust cookie. Value: `id.issued.mac`. Not bound to the User-Agent:
browsers update themselves, and the artist's browser should stay trusted.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

COOKIE = "fx_trusted"
MAX_AGE = 400 * 86400  # browsers cap cookie lifetimes at about 400 days
PURPOSE = "trusted-browser"


def _mac(secret: bytes, body: str) -> str:
    digest = hmac.new(secret, f"{PURPOSE}\0{body}".encode(), hashlib.sha256).digest()[:18]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def issue(secret: bytes, now: float) -> str:
    """A new trust cookie value."""
    body = f"{secrets.token_hex(8)}.{int(now)}"
    return f"{body}.{_mac(secret, body)}"


def is_trusted(secret: bytes, value: str | None, now: float) -> bool:
    """True for an unexpired value this install signed."""
    if not value or len(value) > 120:
        return False
    parts = value.split(".")
    if len(parts) != 3 or not parts[1].isdigit():
        return False
    body = f"{parts[0]}.{parts[1]}"
    if not hmac.compare_digest(_mac(secret, body), parts[2]):
        return False
    return 0 <= now - int(parts[1]) <= MAX_AGE


def cookie_value(cookie_header: str | None) -> str | None:
    """The fx_trusted value from a Cookie header, if present."""
    if not cookie_header or COOKIE not in cookie_header:
        return None
    for item in cookie_header.split(";"):
        name, _, value = item.strip().partition("=")
        if name == COOKIE:
            return value.strip()
    return None


def set_cookie_header(value: str, secure: bool) -> str:
    flags = "; Secure" if secure else ""
    return f"{COOKIE}={value}; Path=/; Max-Age={MAX_AGE}; HttpOnly; SameSite=Lax{flags}"
