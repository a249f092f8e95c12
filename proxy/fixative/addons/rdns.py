"""ReverseDns: before Classify, verifies a claimed crawler's address by forward-confirmed reverse DNS.

It looks up only when a loaded rule tests reverse DNS for this User-Agent and could still decide the
request (Googlebot from outside its published ranges, say), and the cache has no answer; every other
request costs one cached User-Agent check (on the request's Facts, which Classify then takes over). The
outcome reaches Classify as flow.metadata["fixative.rdns"] (a facts.ReverseDns), so the classifier itself
stays free of I/O.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

from mitmproxy import http

from ..facts import ReverseDns as ReverseDnsResult
from ..network.rdns import RdnsSettings, ReverseDnsVerifier
from ..runtime import Runtime
from .classify import PREFACTS, request_facts
from .settings import Settings

METADATA = "fixative.rdns"


class ReverseDns:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.verifier: ReverseDnsVerifier | None = None
        self._retired: list[ReverseDnsVerifier] = []
        self._settings: RdnsSettings | None = None

    def verifier_for(self, rt: Runtime) -> ReverseDnsVerifier | None:
        """The verifier for the runtime's `rdns:` settings (a new one, with an empty cache, when they change)."""
        wanted = rt.config.rdns
        if not wanted.enabled:
            return None
        if self.verifier is None or self._settings != wanted:
            if self.verifier is not None:
                self._retired.append(self.verifier)  # its lookups finish; closed in done()
            self.verifier, self._settings = ReverseDnsVerifier(wanted), wanted
        return self.verifier

    def request(self, flow: http.HTTPFlow) -> Coroutine[Any, Any, None] | None:
        if flow.response or flow.error or not flow.live:
            return None
        rt = self.settings.runtime_for(flow)
        if rt is None:
            return None
        facts = request_facts(flow, rt)
        if not rt.rules.tests_rdns(facts.user_agent):
            return None
        verifier = self.verifier_for(rt)
        if verifier is None:
            return None
        domains = rt.classifier.rdns_domains(facts)
        if not domains:  # e.g. already verified by its published ranges
            return None
        cached = verifier.cached(facts.ip, domains)
        if cached is not None:
            _found(flow, cached)
            return None
        return self._verify(flow, verifier, facts.ip, domains)

    @staticmethod
    async def _verify(flow: http.HTTPFlow, verifier: ReverseDnsVerifier, ip: str, domains: frozenset[str]) -> None:
        _found(flow, await verifier.verify(ip, domains))

    async def done(self) -> None:
        for verifier in [*self._retired, *([self.verifier] if self.verifier else [])]:
            await verifier.close()


def _found(flow: http.HTTPFlow, result: ReverseDnsResult) -> None:
    flow.metadata[METADATA] = result
    flow.metadata.pop(PREFACTS, None)  # read before the lookup: the next addon reads them again, with it
