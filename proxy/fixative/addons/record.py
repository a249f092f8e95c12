"""Record: writes every decision to the event log, with the treatment actually given."""

from __future__ import annotations

import hashlib
from functools import lru_cache

from mitmproxy import http

from ..events import Event
from ..facts import Facts
from ..policy import ORIGINAL
from ..verdict import Decision
from .settings import Settings

NO_SITE = "-"  # with `sites:`, a request no site serves (an unknown Host)


def client_id(facts: Facts) -> str:
    """address + a short hash of the User-Agent: who sends requests, in the event log."""
    return f"{facts.ip}/{_ua_digest(facts.user_agent)}"


@lru_cache(maxsize=4096)  # clients repeat their User-Agent
def _ua_digest(user_agent: str | None) -> str:
    return hashlib.blake2s((user_agent or "").encode("utf-8", "replace"), digest_size=4).hexdigest()


class Record:
    def __init__(self, settings: Settings):
        self.settings = settings

    def response(self, flow: http.HTTPFlow) -> None:
        self._record(flow, flow.response.status_code if flow.response else None)

    def error(self, flow: http.HTTPFlow) -> None:
        self._record(flow, None)

    def _record(self, flow: http.HTTPFlow, status: int | None) -> None:
        rt = self.settings.runtime_for(flow)
        decision: Decision | None = flow.metadata.get("fixative.decision")
        facts: Facts | None = flow.metadata.get("fixative.facts")
        if rt is None or decision is None or facts is None or flow.metadata.get("fixative.recorded"):
            return
        flow.metadata["fixative.recorded"] = True
        rt.events.record(Event(
            ts=facts.time, client=client_id(facts), ip=facts.ip, user_agent=facts.user_agent,
            method=facts.method, host=facts.host, path=facts.path[:2048],
            kind=flow.metadata.get("fixative.kind", facts.kind), verdict=decision.verdict, score=decision.score,
            treatment=flow.metadata.get("fixative.treatment", ORIGINAL),
            applied=bool(flow.metadata.get("fixative.applied")), status=status,
            reasons=decision.texts,
            site=rt.site if rt.site is not None else NO_SITE if rt.sites else None,
        ))
