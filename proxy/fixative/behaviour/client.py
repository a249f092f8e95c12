"""Who the client is (session cookie, else address + User-Agent) and what its history says.

One pure function shared by the proxy (addons/classify.py) and rule-pack cases (rules/simulate.py),
so the two cannot drift apart.
"""

from __future__ import annotations

from typing import Any

from .. import session
from ..facts import Facts
from .signals import behaviour_signals
from .sitemap import SiteMap
from .store import ClientState, ClientStore


def client_key(facts: Facts, secret: bytes) -> tuple[str, session.CookieState]:
    """Who the client is: its session if its cookie is good, else its address and User-Agent."""
    cookie = session.cookie_value(facts.header("cookie"))
    status, session_id = session.check(secret, cookie, facts.user_agent, facts.time)
    key = f"s:{session_id}" if session_id else f"a:{facts.ip} {facts.user_agent or ''}"[:600]
    return key, status


def observe_client(facts: Facts, secret: bytes, clients: ClientStore, sitemap: SiteMap | None,
                   robots: Any) -> tuple[ClientState, str, dict[str, str], session.CookieState]:
    """The client's state and key, its behaviour and session signals, and its cookie's state."""
    key, status = client_key(facts, secret)
    state = clients.get(key, facts.time)
    disallowed = bool(state.robots_read and robots is not None
                      and not robots.can_fetch(facts.user_agent or "*", facts.path))
    signals = behaviour_signals(facts, state, sitemap, disallowed)
    if status is session.CookieState.VALID:
        signals["session.valid"] = "carries a session cookie from a page it loaded here"
    elif status in (session.CookieState.FORGED, session.CookieState.REPLAYED):
        signals[f"session.{status.value}"] = f"its session cookie is {status.value}"
    return state, key, signals, status
