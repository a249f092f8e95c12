"""Replay: classify log lines in order as the proxy would have, client by client, and tally the outcome.

Each line becomes Facts with from_log=True (only the User-Agent and Referer are known; nothing counts
against a client for headers a log cannot show) and goes the proxy's per-client way: observe_client
(the same behaviour store and signals as addons/classify.py), the rules, the policy's treatment.
A log has no cookies: each client (address + User-Agent) is taken to keep the session cookie the
proxy would have set on its first page, as browsers do (keep_cookies=False: none does). A log has
no HTML either, so no site map (no referer-mismatch) and no trap links. Lines must come in log
order; results depend only on each client's own lines (see run.py), except when more than
behaviour.max_clients clients are active at once and the oldest are forgotten, as in the proxy.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .. import session
from ..behaviour.client import observe_client
from ..behaviour.signals import is_direct_image_open, is_orphan_image
from ..behaviour.store import ClientStore
from ..config import Config
from ..facts import IMAGE, PAGE, Facts, resource_kind
from ..network.asn import AsnDatabase
from ..optout import merge_robots_txt, parse_robots
from ..policy import DECOY, ORIGINAL, WATERMARK, Policy
from ..rules.ruleset import RuleSet
from ..signals import collect_signals
from ..verdict import HUMAN, SCRAPER, SUSPECT, Decision
from .decide import CachedRules
from .parse import LogLine

SECRET = b"fixative replay: logs carry no cookies, so this secret never signs one" + bytes(8)
VERDICT_INDEX = {HUMAN: 0, SUSPECT: 1, SCRAPER: 2}
ALTERED_STATUSES = (200, 206, 304)  # the proxy drops Range and conditionals for clients it alters
_NO_NAMES: frozenset[str] = frozenset()


_TEMPLATE = dict(Facts(ip="", user_agent=None, kind="other", from_log=True).__dict__)


def log_facts(line: LogLine, kind: str, cookie: str | None = None) -> Facts:
    """The Facts of a log line, equal to Facts(..., from_log=True) with its header map filled in,
    built without the frozen dataclass's __init__ (a third of a line's time). cookie: the session
    cookie's value the client would have sent."""
    ua, referer = line.user_agent, line.referer
    headers: tuple[tuple[str, str], ...] = (("User-Agent", ua),) if ua is not None else ()
    known = {"user-agent": ua} if ua is not None else {}
    if referer is not None:
        headers = (*headers, ("Referer", referer))
        known["referer"] = referer
    if cookie is not None:
        headers = (*headers, ("Cookie", known.setdefault("cookie", f"{session.COOKIE}={cookie}")))
    values = dict(_TEMPLATE)
    values.update(ip=line.ip, user_agent=ua, path=line.path, method=line.method, headers=headers,
                  time=line.time, kind=kind, _header_map=known)
    facts = object.__new__(Facts)
    object.__setattr__(facts, "__dict__", values)
    return facts


def treatment_of(policy: Policy, verdict: str, kind: str, method: str, status: int) -> str:
    """What the response would have been, as addons/treat.py decides: images are only altered when the
    origin sends one (status 200, or 206/304 that would have been 200 without Range or conditionals)."""
    treatment = policy.treatment(verdict, kind)
    if treatment in (DECOY, WATERMARK) and (kind != IMAGE or method == "HEAD" or status not in ALTERED_STATUSES):
        return ORIGINAL
    return treatment


class CachedRobots:
    """A robots.txt parser's can_fetch, remembered per (User-Agent, path): the file never changes here."""

    def __init__(self, parser: Any):
        self.parser = parser
        self.answers: dict[tuple[str, str], bool] = {}

    def can_fetch(self, user_agent: str, url: str) -> bool:
        key = (user_agent, url)
        answer = self.answers.get(key)
        if answer is None:
            if len(self.answers) >= 100_000:
                self.answers.clear()
            answer = self.answers[key] = bool(self.parser.can_fetch(user_agent, url))
        return answer


class ClientTally:
    """One client's (address + User-Agent) lines: counts by verdict, reasons, times."""

    __slots__ = ("id", "ip", "user_agent", "signals", "rules_key", "requests", "verdicts", "altered",
                 "first", "last", "reasons", "decisions", "cookie")

    def __init__(self, number: int, ip: str, user_agent: str | None, signals: dict[str, str],
                 rules_key: tuple[Any, ...], now: float):
        self.id = number
        self.ip = ip
        self.user_agent = user_agent
        self.signals = signals  # its stateless signals (User-Agent, network): fixed for a log line's client
        self.rules_key = rules_key
        self.requests = 0
        self.verdicts = [0, 0, 0]  # human, suspect, scraper
        self.altered = 0  # responses that would not have been the original
        self.first = now
        self.last = now
        self.reasons: dict[str, list[Any]] = {}  # rule → [lines, weight or action, text of its first line]
        self.decisions: dict[int, list[Any]] = {}  # id → [decision, lines, reason names], not yet in reasons
        self.cookie: str | None = None  # the session cookie it would carry

    def flush(self) -> None:
        """Add the lines counted per decision to the reasons' counts."""
        for _decision, lines, names in self.decisions.values():
            for name in names:
                self.reasons[name][0] += lines
        self.decisions.clear()

    @property
    def worst(self) -> str:
        """scraper if any line was, else suspect if any was, else human."""
        return SCRAPER if self.verdicts[2] else SUSPECT if self.verdicts[1] else HUMAN

    def as_dict(self) -> dict[str, Any]:
        self.flush()
        return {"ip": self.ip, "user_agent": self.user_agent, "requests": self.requests,
                "human": self.verdicts[0], "suspect": self.verdicts[1], "scraper": self.verdicts[2],
                "altered": self.altered, "first": self.first, "last": self.last,
                "reasons": [{"rule": name, "lines": n, "effect": effect, "text": text}
                            for name, (n, effect, text) in sorted(self.reasons.items(), key=lambda i: -i[1][0])]}


@dataclass
class Tally:
    """Everything a replay found: totals, treatments, clients and the works non-humans asked for."""

    treatments: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # (verdict, kind, treatment)
    clients: dict[tuple[str, str | None], ClientTally] = field(default_factory=dict)
    works: dict[str, list[Any]] = field(default_factory=dict)  # image path → [requests, {client ids}]
    first: float | None = None
    last: float | None = None
    cache_hits: int = 0
    cache_misses: int = 0

    @property
    def lines(self) -> int:
        return sum(self.treatments.values())

    @property
    def verdicts(self) -> Counter[str]:
        out: Counter[str] = Counter()
        for (verdict, _kind, _treatment), n in self.treatments.items():
            out[verdict] += n
        return out

    def finish(self) -> None:
        """Settle every client's reason counts (before reporting or sending the tally elsewhere)."""
        for client in self.clients.values():
            client.flush()

    def merge(self, other: Tally) -> None:
        """Add another tally of disjoint clients (another partition of the same log)."""
        self.treatments.update(other.treatments)
        offset = len(self.clients)
        for key, client in other.clients.items():
            client.id += offset
            self.clients[key] = client
        for path, (n, ids) in other.works.items():
            mine = self.works.setdefault(path, [0, set()])
            mine[0] += n
            mine[1].update(i + offset for i in ids)
        for t in (other.first, other.last):
            if t is not None:
                self.first = t if self.first is None else min(self.first, t)
                self.last = t if self.last is None else max(self.last, t)
        self.cache_hits += other.cache_hits
        self.cache_misses += other.cache_misses


class Replayer:
    """Feed it LogLines in log order; `tally` holds the outcome so far."""

    def __init__(self, config: Config, rules: RuleSet, asn: AsnDatabase | None = None,
                 robots_txt: str | None = None, keep_cookies: bool = True):
        self.policy = config.policy
        self.keep_cookies = keep_cookies and config.session_cookie
        self.rules = rules
        self.asn = asn
        self.cached = CachedRules(rules)
        self.store = ClientStore(config.max_clients, config.client_ttl, config.behaviour_mb << 20)
        self.robots_text = merge_robots_txt(robots_txt, rules.robots_tokens())
        self.robots: Any = None  # as in the proxy: known once some client has asked for robots.txt
        self.tally = Tally()
        self._kinds: dict[str, str] = {}

    def feed(self, line: LogLine) -> Decision:
        """Classify one line as the proxy would have, note what it leaves behind, count it."""
        ua = line.user_agent
        path = line.path
        kind = self._kinds.get(path)
        if kind is None:
            if len(self._kinds) > 100_000:
                self._kinds.clear()
            kind = self._kinds[path] = resource_kind(path)
        tally = self.tally
        client = tally.clients.get((line.ip, ua))
        if client is None:
            facts = log_facts(line, kind)
            client = self._new_client(facts)
        else:
            facts = log_facts(line, kind, client.cookie)
        state, _key, extra, status = observe_client(facts, SECRET, self.store, None, self.robots)
        if extra:
            signals = {**client.signals, **extra}
            decision = self.cached.evaluate(facts, signals, client.rules_key, frozenset(extra))
        else:
            signals = client.signals
            decision = self.cached.evaluate(facts, signals, client.rules_key, _NO_NAMES)
        bare = path.split("?", 1)[0]
        state.note_request(line.time, kind, bare, is_orphan_image(facts, state), is_direct_image_open(facts, state))
        if bare == "/robots.txt":
            state.robots_read = True
            if self.robots is None:
                self.robots = CachedRobots(parse_robots(self.robots_text))
        elif kind == IMAGE:  # every image the proxy serves carries X-Robots-Tag: noai
            state.optout_seen += 1
        elif kind == PAGE and self.keep_cookies and line.status == 200 and line.method == "GET" \
                and status is not session.CookieState.VALID:  # as addons/pages.py sets it
            client.cookie = session.issue(SECRET, ua, line.time)
            self.store.get(f"s:{client.cookie.split('.', 1)[0]}", line.time).pages += 1
        self._count(client, facts, decision, signals, line.status)
        return decision

    def _new_client(self, facts: Facts) -> ClientTally:
        signals = collect_signals(facts, self.asn)
        key = self.cached.client_key(facts, frozenset(signals))
        client = ClientTally(len(self.tally.clients), facts.ip, facts.user_agent, signals, key, facts.time)
        self.tally.clients[(facts.ip, facts.user_agent)] = client
        return client

    def _count(self, client: ClientTally, facts: Facts, decision: Decision, signals: dict[str, str],
               status: int) -> None:
        tally = self.tally
        verdict = decision.verdict
        treatment = treatment_of(self.policy, verdict, facts.kind, facts.method, status)
        tally.treatments[(verdict, facts.kind, treatment)] += 1
        if tally.first is None:
            tally.first = facts.time
        tally.last = facts.time
        client.requests += 1
        client.verdicts[VERDICT_INDEX[verdict]] += 1
        client.last = facts.time
        if treatment != ORIGINAL:
            client.altered += 1
        if verdict != HUMAN and facts.kind == IMAGE:
            work = tally.works.get(facts.path)
            if work is None:
                work = tally.works[facts.path] = [0, set()]
            work[0] += 1
            work[1].add(client.id)
        if decision.reasons:
            entry = client.decisions.get(id(decision))
            if entry is None or entry[0] is not decision:
                entry = self._new_decision(client, facts, decision, signals)
            entry[1] += 1

    def _new_decision(self, client: ClientTally, facts: Facts, decision: Decision,
                      signals: dict[str, str]) -> list[Any]:
        """Start counting lines of a (cached) decision for this client; note the texts of rules new to it."""
        if len(client.decisions) >= 32:
            client.flush()
        names = tuple(r.name for r in decision.reasons)
        reasons = client.reasons
        if any(name not in reasons for name in names):
            # the first line a rule fires on for this client: its own texts, not the cached ones
            for r in (*self.rules.evaluate(facts, signals).reasons, *decision.reasons):
                reasons.setdefault(r.name, [0, r.action or r.weight, r.text])
        entry = client.decisions[id(decision)] = [decision, 0, names]
        return entry
