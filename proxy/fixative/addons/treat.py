"""Treat: gives each response what its verdict earns: original, decoy, watermark or block.

Originals pass untouched: buffered up to PEOPLE_BUFFER (announced Content-Length), as mitmproxy
does by default, streamed beyond it or when the length is unannounced. Streaming a body costs
mitmproxy about a tenth more CPU than buffering it (bench/README.md); buffering every original
up to images.max_bytes would cost memory. Responses to be altered are buffered, and JPEG/PNG/WebP
originals when `originals: {add_rights_metadata: true}` asks for XMP in them.
Altered copies carry an invisible trace of the client, within a TraceBudget (see traces.py).
An altered image the proxy cannot buffer (size unannounced, or above what mitmproxy
buffers) is refused at its headers: mitmproxy would otherwise stream the original through.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mitmproxy import ctx, http
from mitmproxy.utils import human

from .. import __version__
from ..facts import IMAGE, PAGE, Facts, kind_of_content_type
from ..policy import BLOCK, DECOY, FOLDER, ORIGINAL, TARPIT, WATERMARK
from ..responses import make_block_response, mark_altered
from ..runtime import Runtime
from ..traces import DB_NAME, Sighting, TraceBudget, TraceLog
from ..treatments.apply import NOTICE, WATERMARK_STYLE, render
from ..treatments.diskcache import DiskCache
from ..treatments.folder import folder_images
from ..treatments.rights import rights_xmp
from ..treatments.tracemark import tag_for
from ..treatments.xmpinsert import insert_xmp
from ..verdict import Decision
from .settings import Settings

log = logging.getLogger(__name__)

RIGHTS_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})
DEFAULT_BUFFER_LIMIT = 2 << 20  # mitmproxy's stream_large_bodies as `fixative run` sets it
PEOPLE_BUFFER = 2 << 20  # originals up to this size are buffered, larger ones streamed


@dataclass
class Extras:
    """What Treat keeps per Runtime: the trace log and budget, the decoy folder, the variant recipe."""

    runtime: Runtime
    traces: TraceLog | None
    budget: TraceBudget
    folder: tuple[Path, ...] | None
    recipe: str  # digest of every setting that changes a rendered variant, for cache keys
    xmp: bytes
    owns_traces: bool = True  # a site's Extras share the top level's trace log

    @classmethod
    def build(cls, rt: Runtime, shared: Extras | None = None) -> Extras:
        c = rt.config
        folder = folder_images(c.decoy_folder) if c.decoy_folder and FOLDER in c.decoy.all else None
        if shared is not None:
            traces = shared.traces
        else:
            traces = TraceLog(c.state_dir / DB_NAME, c.trace_retention_days) if c.trace_enabled else None
            if traces is not None:
                traces.start()
        if c.disk_cache_mb > 0 and rt.renderer.disk is None:
            rt.renderer.use_disk(DiskCache(c.state_dir / "variants", c.disk_cache_mb << 20))
        parts = (__version__, c.decoy, c.artist, c.notice_headline, c.mark_text, c.watermark_max_side,
                 c.watermark_quality, c.watermark_opacity, c.max_pixels,
                 [(p.name, p.stat().st_size) for p in folder or ()])
        recipe = hashlib.sha256(repr(parts).encode()).hexdigest()[:16]
        return cls(rt, traces, TraceBudget(c.trace_per_image, c.trace_per_hour), folder, recipe,
                   rights_xmp(c.artist, NOTICE), shared is None)

    def close(self) -> None:
        if self.traces is not None and self.owns_traces:
            self.traces.close()


class Treat:
    def __init__(self, settings: Settings):
        self.settings = settings
        self._extras: dict[str | None, Extras] = {}  # by site name; None: the top level's

    def running(self) -> None:
        if self.settings.runtime is not None:
            self._extras_for(self.settings.runtime)

    def done(self) -> None:
        for extras in self._extras.values():
            extras.close()
        self._extras = {}

    def request(self, flow: http.HTTPFlow) -> None:
        if flow.response or flow.error or not flow.live:
            return
        rt = self.settings.runtime_for(flow)
        facts: Facts | None = flow.metadata.get("fixative.facts")
        if rt is not None and rt.config.rights_on_originals and facts is not None and facts.kind == IMAGE:
            # An original with XMP added is longer than the origin's: its byte ranges would not fit.
            flow.request.headers.pop("Range", None)
            flow.request.headers.pop("If-Range", None)

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        decision: Decision | None = flow.metadata.get("fixative.decision")
        rt = self.settings.runtime_for(flow)
        response = flow.response
        if decision is None or rt is None or "fixative.treatment" in flow.metadata or response is None:
            return
        facts: Facts = flow.metadata["fixative.facts"]
        ctype, size = header_values(response, (b"content-type", b"content-length"))
        kind = kind_of_content_type(ctype) or facts.kind
        treatment = rt.config.policy.treatment(decision.verdict, kind)
        if treatment in (DECOY, WATERMARK) and (response.status_code != 200 or kind != IMAGE
                                                 or flow.request.method == "HEAD"):
            treatment = ORIGINAL  # nothing to alter: an error page, a redirect, a HEAD
        flow.metadata["fixative.kind"] = kind
        flow.metadata["fixative.treatment"] = treatment
        flow.metadata["fixative.applied"] = applied = rt.enforcing and treatment != ORIGINAL
        if not applied and "fixative.special" not in flow.metadata and kind != PAGE:
            # pages stay buffered: Pages reads them (cookie, site map, traps)
            if rt.config.rights_on_originals and wants_rights(flow, rt, kind, _buffer_limit()):
                flow.metadata["fixative.rights"] = True  # buffered, to add XMP in response()
            elif kind != IMAGE or not (size and size.isdigit() and int(size) <= PEOPLE_BUFFER):
                response.stream = True
        elif applied and treatment in (DECOY, WATERMARK):
            size = size or ""
            if not size.isdigit() or int(size) > min(rt.config.max_image_bytes, _buffer_limit()):
                flow.metadata["fixative.treatment"] = BLOCK  # cannot buffer it: never stream the original
                refuse_at_headers(response)

    def response(self, flow: http.HTTPFlow) -> Coroutine[Any, Any, None] | None:
        if flow.response is None:
            return None
        if flow.metadata.pop("fixative.rights", False):
            self._add_rights(flow)
            return None
        if not flow.metadata.get("fixative.applied") or callable(flow.response.stream):
            return None
        treatment = flow.metadata.get("fixative.treatment")
        if treatment in (BLOCK, TARPIT):
            if flow.response.status_code != 403 or "fixative.kind" in flow.metadata:
                flow.response = make_block_response()
            return None
        if treatment in (DECOY, WATERMARK) and flow.response.content is not None:
            return self._alter(flow, treatment)
        return None

    def _extras_for(self, rt: Runtime) -> Extras:
        top = self.settings.runtime or rt
        base = self._extras.get(None)
        if base is None or base.runtime is not top:  # a new Runtime (options changed): start afresh
            self.done()
            base = self._extras[None] = Extras.build(top)
        if rt is top:
            return base
        extras = self._extras.get(rt.site)
        if extras is None or extras.runtime is not rt:
            extras = self._extras[rt.site] = Extras.build(rt, base)
        return extras

    def _add_rights(self, flow: http.HTTPFlow) -> None:
        rt = self.settings.runtime_for(flow)
        assert flow.response is not None
        if rt is None or flow.response.raw_content is None:
            return
        edited = insert_xmp(flow.response.raw_content, self._extras_for(rt).xmp)
        if edited is not None:
            flow.response.content = edited  # no Content-Encoding (checked); updates Content-Length
            flow.response.headers.pop("Accept-Ranges", None)

    async def _alter(self, flow: http.HTTPFlow, treatment: str) -> None:
        rt = self.settings.runtime_for(flow)
        assert rt is not None and flow.response is not None
        try:
            data = flow.response.content or b""
        except ValueError:  # undecodable Content-Encoding
            data = b""
        extras = self._extras_for(rt)
        url = flow.request.pretty_url
        decision: Decision = flow.metadata["fixative.decision"]
        style = rt.config.decoy.style_for(decision.verdict) if treatment == DECOY else WATERMARK_STYLE
        client: str | None = flow.metadata.get("fixative.client")
        now = time.time()
        tag = tag_for(rt.secret, client) if extras.traces is not None and client else None
        if tag is not None and not extras.budget.allow(url, tag, now):
            tag = None  # over the budget: this client shares the untraced copy
        work: Callable[[], bytes] = functools.partial(render, data, url, rt.secret, rt.config, style, tag,
                                                      extras.folder)
        validator = flow.response.headers.get("etag") or flow.response.headers.get("last-modified") or ""
        key = (treatment, style, url, validator, len(data), tag, extras.recipe)
        result = await rt.renderer.render(key, work) if data else None
        if result is None:
            flow.metadata["fixative.treatment"] = BLOCK
            flow.response = make_block_response()
            return
        if tag is not None and extras.traces is not None and client:
            facts: Facts = flow.metadata["fixative.facts"]
            extras.traces.record(Sighting(tag, client, facts.ip, facts.user_agent, now, facts.path))
            flow.metadata["fixative.trace"] = f"{tag:08x}"
        flow.response.headers.pop("content-encoding", None)
        flow.response.content = result
        mark_altered(flow.response)


def wants_rights(flow: http.HTTPFlow, rt: Runtime, kind: str, limit: int) -> bool:
    """Buffer this original to add XMP? Only a whole, unencoded, announced-size JPEG/PNG/WebP."""
    resp = flow.response
    if not rt.config.rights_on_originals or kind != IMAGE or resp is None or resp.status_code != 200:
        return False
    ctype = resp.headers.get("content-type", "").split(";")[0].strip().lower()
    size = resp.headers.get("content-length", "")
    return (flow.request.method == "GET" and ctype in RIGHTS_TYPES and "content-encoding" not in resp.headers
            and size.isdigit() and int(size) <= limit)


def refuse_at_headers(response: http.Response) -> None:
    """Turn a response whose body has not arrived into the block answer; the body is dropped."""
    block = make_block_response()
    response.status_code, response.reason = block.status_code, block.reason
    response.headers = block.headers.copy()
    body = block.content or b""
    sent = False

    def stream(chunk: bytes) -> bytes:
        nonlocal sent
        if chunk or sent:
            return b""
        sent = True  # called with b"" once the origin's body has ended: now our own
        return body

    response.stream = stream


def header_values(message: http.Message, names: tuple[bytes, ...]) -> list[str | None]:
    """message.headers.get(name) for each lower-case name, in one pass over the raw fields."""
    found: list[str | None] = [None] * len(names)
    for name, value in message.headers.fields:
        key = name.lower()
        if key in names:
            i = names.index(key)
            text = value.decode("utf-8", "surrogateescape")
            found[i] = text if found[i] is None else f"{found[i]}, {text}"
    return found


def _buffer_limit() -> int:
    """The largest body mitmproxy buffers (its stream_large_bodies); beyond it, it streams."""
    try:
        return _parsed_limit(ctx.options.stream_large_bodies)
    except (AttributeError, ValueError):
        return DEFAULT_BUFFER_LIMIT


@functools.lru_cache(maxsize=8)
def _parsed_limit(option: str | None) -> int:
    size = human.parse_size(option)
    return size if size is not None else 1 << 62
