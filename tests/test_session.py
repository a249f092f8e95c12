"""The signed session cookie."""

from __future__ import annotations

from fixative import session
from fixative.session import CookieState

SECRET = b"k" * 32
UA = "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"


def test_issued_cookie_is_valid_for_its_browser():
    value = session.issue(SECRET, UA, now=1000)
    state, sid = session.check(SECRET, value, UA, now=2000)
    assert state is CookieState.VALID and sid == value.split(".")[0]


def test_other_browser_other_install_tampering_and_age():
    value = session.issue(SECRET, UA, now=1000)
    assert session.check(SECRET, value, "curl/8.7.1", 2000)[0] is CookieState.REPLAYED
    assert session.check(b"z" * 32, value, UA, 2000)[0] is CookieState.FORGED
    tampered = ("1" if value[0] == "0" else "0") + value[1:]  # a changed first character, whatever it was
    assert session.check(SECRET, tampered, UA, 2000)[0] is CookieState.FORGED
    assert session.check(SECRET, "garbage", UA, 2000)[0] is CookieState.FORGED
    assert session.check(SECRET, value, UA, 1000 + session.MAX_AGE + 1)[0] is CookieState.EXPIRED
    assert session.check(SECRET, None, UA, 2000)[0] is CookieState.ABSENT


def test_cookie_header_parsing_and_set_cookie():
    assert session.cookie_value("a=1; fx_session=abc.1.2.3; b=2") == "abc.1.2.3"
    assert session.cookie_value("a=1") is None
    header = session.set_cookie_header("v", secure=True)
    assert header.startswith("fx_session=v;") and "HttpOnly" in header and "Secure" in header
