"""Classify: turns each request into Facts and a Decision, and answers blocks early."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from functools import lru_cache
from typing import Any

from mitmproxy import http
from mitmproxy.net.http import url

from ..behaviour.client import observe_client
from ..behaviour.signals import behaviour_signals, is_direct_image_open, is_orphan_image
from ..behaviour.store import ClientState
from ..clientaddr import client_address
from ..facts import IMAGE, Facts, facts_with_header_map, header_map
from ..ipset import IPSet
from ..policy import BLOCK, TARPIT
from ..responses import make_block_response, make_text_response
from ..runtime import Runtime
from ..traps import is_trap, trap_page
from ..verdict import HUMAN
from .settings import Settings

SPECIAL_PATHS = {"/robots.txt": "robots", "/.well-known/tdmrep.json": "tdmrep"}
CONDITIONAL = ("If-None-Match", "If-Modified-Since", "If-Range", "Range", "If-Match")
MAX_TARPITS = 100
PREFACTS = "fixative.prefacts"  # Facts an earlier addon (ReverseDns, Sharing) already built for this request
NO_PROXIES = IPSet(())


def facts_from_flow(flow: http.HTTPFlow, trusted: IPSet) -> Facts:
    """Normalise what the request says, once."""
    req = flow.request
    headers, merged = _read_headers(req.headers.fields)
    peer = flow.client_conn.peername[0] if flow.client_conn.peername else "0.0.0.0"
    ip = client_address(peer, headers, trusted) if len(trusted) else _peer_address(peer)
    secure = flow.client_conn.tls_established
    host = _header(req, merged, "host") or req.authority or None
    if ip != peer:  # behind a trusted proxy, its X-Forwarded-Proto/Host tell what the browser used
        secure = req.headers.get("x-forwarded-proto", "").lower() == "https"
        host = req.headers.get("x-forwarded-host") or host
    return facts_with_header_map(
        merged, ip=ip, user_agent=_header(req, merged, "user-agent"), path=req.path, method=req.method,
        headers=headers, secure=secure, time=time.time(), host=host,
        rdns=flow.metadata.get("fixative.rdns"),  # addons/rdns.py, for claimed crawlers
        tls=flow.metadata.get("fixative.tls"))  # addons/tls.py, when Fixative terminates TLS


RawFields = tuple[tuple[bytes, bytes], ...]
_read: dict[RawFields, tuple[tuple[tuple[str, str], ...], dict[str, str]]] = {}
MAX_READ = 2048
MAX_READ_SIZE = 8192


def _read_headers(fields: RawFields) -> tuple[tuple[tuple[str, str], ...], dict[str, str]]:
    """The headers as text, and Facts.header's map (lower-case names, repeats joined by ', '). Remembered
    for the last MAX_READ header sets: a browser sends the same ones for a page's images, and on its
    keep-alive connection. Nothing may change the map: Facts share it."""
    known = _read.get(fields)
    if known is not None:
        return known
    headers = tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in fields)
    known = (headers, header_map(headers))
    if sum(len(k) + len(v) for k, v in fields) <= MAX_READ_SIZE:  # a few kB at most, so the memory stays bounded
        if len(_read) >= MAX_READ:
            del _read[next(iter(_read))]  # the oldest
        _read[fields] = known
    return known


def request_facts(flow: http.HTTPFlow, rt: Runtime) -> Facts:
    """The request's Facts, read once for all the addons before Classify (which takes them)."""
    facts = flow.metadata.get(PREFACTS)
    if facts is None:
        facts = flow.metadata[PREFACTS] = facts_from_flow(flow, rt.trusted)
    return facts


def _header(req: http.Request, merged: dict[str, str], name: str) -> str | None:
    """req.headers.get(name) (which decodes UTF-8) from the latin-1 map, which agrees with it on ASCII."""
    value = merged.get(name)
    return value if value is None or value.isascii() else req.headers.get(name)


@lru_cache(maxsize=4096)
def _peer_address(peer: str) -> str:
    """The client's address when no proxy is trusted: the peer's, normalised; cached (clients repeat)."""
    return client_address(peer, (), NO_PROXIES)


def point_host_at_origin(flow: http.HTTPFlow) -> None:
    """With keep_host_header on (so we could read the client's Host), send the origin its own name."""
    req = flow.request
    value = _hostport(req.scheme, req.host, req.port)
    if req.is_http2 or req.is_http3:
        req.host_header = value
        return
    # What req.host_header = value does over HTTP/1 (Headers.set_all), in one pass: the first Host
    # header gets the value, any others go, none means one is added at the end.
    raw = value.encode("utf-8", "surrogateescape")
    fields = []
    done = False
    for name, old in req.headers.fields:
        if name.lower() != b"host":
            fields.append((name, old))
        elif not done:
            fields.append((name, raw))
            done = True
    if not done:
        fields.append((b"Host", raw))
    req.headers.fields = tuple(fields)


@lru_cache(maxsize=64)  # one per upstream
def _hostport(scheme: str, host: str, port: int) -> str:
    return url.hostport(scheme, host, port)


def client_signals(rt: Runtime, facts: Facts, metadata: dict[str, Any]) -> tuple[ClientState, dict[str, str]]:
    """Find the client and what its history says; note who it is for the other addons."""
    state, key, signals, status = observe_client(facts, rt.secret, rt.clients, rt.sitemap, rt.robots)
    metadata["fixative.client"] = key
    metadata["fixative.session"] = status
    return state, signals


class Classify:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.tarpits = 0
        self.rewrite_host = False

    def configure(self, updated: set[str]) -> None:
        if "keep_host_header" in updated or "fixative_pass_host" in updated:
            # Fixative turns keep_host_header on only to see the client's Host; the origin still
            # gets its own name unless the user asked mitmproxy to keep the Host.
            from mitmproxy import ctx
            self.rewrite_host = bool(ctx.options.keep_host_header) and not ctx.options.fixative_pass_host

    def running(self) -> None:
        # `fixative run` sets keep_host_header before adding the addons, and mitmproxy does not call
        # configure for options set before an addon was added: read them once here too.
        self.configure({"keep_host_header"})

    def request(self, flow: http.HTTPFlow) -> Coroutine[Any, Any, None] | None:
        if flow.response or flow.error or not flow.live:
            return None
        rt = self.settings.runtime_for(flow)
        if rt is None:
            return None
        facts = flow.metadata.pop(PREFACTS, None) or facts_from_flow(flow, rt.trusted)
        if self.rewrite_host:
            point_host_at_origin(flow)
        path = facts.path.split("?", 1)[0]
        state, extra = client_signals(rt, facts, flow.metadata)
        trapped = rt.trap_prefix is not None and is_trap(path, rt.trap_prefix)
        if trapped:
            state.trapped = path
            extra.update(behaviour_signals(facts, state))
        decision = rt.classifier.classify(facts, extra)
        state.note_request(facts.time, facts.kind, path, is_orphan_image(facts, state),
                           is_direct_image_open(facts, state))
        flow.metadata["fixative.facts"] = facts
        flow.metadata["fixative.decision"] = decision
        special = SPECIAL_PATHS.get(path)
        if special:
            state.robots_read = state.robots_read or special == "robots"
            flow.metadata["fixative.special"] = special
            return None
        if trapped:  # never reaches the origin; the client is a scraper from now on
            flow.metadata["fixative.treatment"] = "trap"
            flow.response = make_text_response(trap_page().decode(), "text/html; charset=utf-8")
            return None
        if decision.verdict == HUMAN or not rt.enforcing:
            return None
        early = rt.config.policy.treatment(decision.verdict, facts.kind)
        if early in (BLOCK, TARPIT):
            flow.metadata["fixative.treatment"] = early
            flow.metadata["fixative.applied"] = True
            if early == TARPIT and self.tarpits < MAX_TARPITS:
                return self._tarpit(flow, rt.config.tarpit_seconds)
            flow.response = make_block_response()
        elif facts.kind == IMAGE:
            # The treatment needs the whole body: no 304s or ranges for altered clients.
            for name in CONDITIONAL:
                flow.request.headers.pop(name, None)
        return None

    async def _tarpit(self, flow: http.HTTPFlow, seconds: float) -> None:
        """Hold the request for a while before refusing it: costs a scraper time, us almost nothing."""
        self.tarpits += 1
        try:
            await asyncio.sleep(seconds)
        finally:
            self.tarpits -= 1
        flow.response = make_block_response()
