"""One simulated client in front of a simulated proxy: what the proxy would decide, request by request.

A pure replay of the per-client path of the proxy (addons/classify.py `client_signals` and the trap
check of `Classify.request`, and what addons/pages.py and addons/optout.py note after a response),
using the same behaviour store, behaviour signals, session cookie and trap code, without mitmproxy:
rule-pack cases can then describe a client's history as well as its last request.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from .. import session
from ..behaviour.client import observe_client
from ..behaviour.signals import behaviour_signals, is_direct_image_open, is_orphan_image
from ..behaviour.sitemap import SiteMap
from ..behaviour.store import ClientStore
from ..classify import Classifier
from ..facts import IMAGE, PAGE, Facts
from ..optout import merge_robots_txt, parse_robots
from ..traps import is_trap, trap_prefix
from ..verdict import Decision
from .ruleset import RuleSet

CASE_SECRET = b"fixative rule-pack cases: a fixed secret, so runs repeat" + bytes(8)


@lru_cache(maxsize=1)
def _network_database() -> Any:
    try:
        from ..network import shipped_database
    except ImportError:  # pragma: no cover - the network signals are optional
        return None
    return shipped_database()


def network_signals(ip: str) -> dict[str, str]:
    """network.* signals from the shipped ASN table, as the proxy adds them."""
    try:
        from ..signals.network import network_signals as signals
    except ImportError:  # pragma: no cover
        return {}
    return signals(ip, _network_database())


class Visitor:
    """One site behind the proxy, visited by clients; `send` classifies a request and notes it."""

    def __init__(self, rules: RuleSet, secret: bytes = CASE_SECRET, keep_cookies: bool = False):
        self.classifier = Classifier(rules)
        self.robots_agents = rules.robots_tokens()
        self.secret = secret
        self.clients = ClientStore()
        self.sitemap = SiteMap()
        self.trap_prefix = trap_prefix(secret)
        self.robots: Any = None
        self.keep_cookies = keep_cookies
        self.cookie: str | None = None

    def with_cookie(self, headers: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
        """The headers a cookie-keeping browser sends: its session cookie added, unless one is given."""
        if not self.keep_cookies or self.cookie is None or any(k.lower() == "cookie" for k, _ in headers):
            return headers
        return (*headers, ("Cookie", f"{session.COOKIE}={self.cookie}"))

    def client_signals(self, facts: Facts) -> tuple[Any, str, dict[str, str], session.CookieState]:
        """The client's state, key, behaviour and session signals (as addons/classify.py finds them)."""
        return observe_client(facts, self.secret, self.clients, self.sitemap, self.robots)

    def send(self, facts: Facts, shows: Iterable[str] = ()) -> Decision:
        """Classify one request as the proxy would, then note what its response would leave behind.
        `shows`: for a page, the images its HTML shows (the proxy learns them from the page)."""
        path = facts.path.split("?", 1)[0]
        state, _key, extra, status = self.client_signals(facts)
        extra.update(network_signals(facts.ip))
        trapped = is_trap(path, self.trap_prefix)
        if trapped:
            state.trapped = path
            extra.update(behaviour_signals(facts, state))
        decision = self.classifier.classify(facts, extra)
        state.note_request(facts.time, facts.kind, path, is_orphan_image(facts, state),
                           is_direct_image_open(facts, state))
        if path == "/robots.txt":
            state.robots_read = True
            self.robots = parse_robots(merge_robots_txt(None, self.robots_agents, [self.trap_prefix]))
            return decision
        if trapped:
            return decision
        if facts.kind == IMAGE:  # every image the proxy serves carries X-Robots-Tag: noai
            state.optout_seen += 1
        elif facts.kind == PAGE and facts.method == "GET":
            links = "".join(f'<img src="{src}">' for src in shows)
            if links:
                self.sitemap.learn(path, links.encode())
            if status is not session.CookieState.VALID:
                self.cookie = session.issue(self.secret, facts.user_agent, facts.time)
                self.clients.get(f"s:{self.cookie.split('.', 1)[0]}", facts.time).pages += 1
        return decision
