"""Treat: gives each response what its verdict earns: original, decoy, watermark or block.

Originals are streamed through untouched; only responses to be altered are buffered.
"""

from __future__ import annotations

import functools
from collections.abc import Coroutine
from typing import Any

from mitmproxy import http

from ..facts import IMAGE, PAGE, Facts, kind_of_content_type
from ..policy import BLOCK, DECOY, ORIGINAL, TARPIT, WATERMARK
from ..responses import make_block_response, mark_altered
from ..treatments.apply import decoy_image, watermarked_image
from ..verdict import Decision
from .settings import Settings


class Treat:
    def __init__(self, settings: Settings):
        self.settings = settings

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        decision: Decision | None = flow.metadata.get("fixative.decision")
        rt = self.settings.runtime
        if decision is None or rt is None or "fixative.treatment" in flow.metadata or flow.response is None:
            return
        facts: Facts = flow.metadata["fixative.facts"]
        kind = kind_of_content_type(flow.response.headers.get("content-type")) or facts.kind
        treatment = rt.config.policy.treatment(decision.verdict, kind)
        if treatment in (DECOY, WATERMARK) and (flow.response.status_code != 200 or kind != IMAGE
                                                 or flow.request.method == "HEAD"):
            treatment = ORIGINAL  # nothing to alter: an error page, a redirect, a HEAD
        flow.metadata["fixative.kind"] = kind
        flow.metadata["fixative.treatment"] = treatment
        flow.metadata["fixative.applied"] = applied = rt.enforcing and treatment != ORIGINAL
        if not applied and "fixative.special" not in flow.metadata and kind != PAGE:
            flow.response.stream = True  # pages stay buffered: Pages reads them (cookie, site map, traps)
        elif applied and treatment in (DECOY, WATERMARK):
            size = flow.response.headers.get("content-length", "")
            if size.isdigit() and int(size) > rt.config.max_image_bytes:
                flow.metadata["fixative.treatment"] = BLOCK  # too large to render safely
                flow.response.stream = _discard

    def response(self, flow: http.HTTPFlow) -> Coroutine[Any, Any, None] | None:
        if not flow.metadata.get("fixative.applied") or flow.response is None:
            return None
        treatment = flow.metadata.get("fixative.treatment")
        if treatment in (BLOCK, TARPIT):
            if flow.response.status_code != 403 or "fixative.kind" in flow.metadata:
                flow.response = make_block_response()
            return None
        if treatment in (DECOY, WATERMARK) and flow.response.content is not None:
            return self._alter(flow, treatment)
        return None

    async def _alter(self, flow: http.HTTPFlow, treatment: str) -> None:
        rt = self.settings.runtime
        assert rt is not None and flow.response is not None
        try:
            data = flow.response.content or b""
        except ValueError:  # undecodable Content-Encoding
            data = b""
        url = flow.request.pretty_url
        if treatment == DECOY:
            work = functools.partial(decoy_image, data, url, rt.secret, rt.config)
        else:
            work = functools.partial(watermarked_image, data, rt.config)
        validator = flow.response.headers.get("etag") or flow.response.headers.get("last-modified") or ""
        result = await rt.renderer.render((treatment, url, validator, len(data)), work) if data else None
        if result is None:
            flow.metadata["fixative.treatment"] = BLOCK
            flow.response = make_block_response()
            return
        flow.response.headers.pop("content-encoding", None)
        flow.response.content = result
        mark_altered(flow.response)


def _discard(chunk: bytes) -> bytes:
    return b""
