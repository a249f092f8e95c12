"""GET /api/preview?path=&profile=: the bytes and headers the protected site gives one kind of client.

The path is fetched from the configured upstream only (never another host), then
classified and treated by the running pipeline: the same rules, policy, mode and
render pool (and cache) as live traffic. ?raw=1 answers with the bytes themselves.
With `sites:`, ?site=NAME or ?host=HOST picks the site (its upstream, rules, policy and
mode); without either, the default_site, else the first site.
"""

from __future__ import annotations

import base64
import functools
import time

import aiohttp
from aiohttp import web
from yarl import URL

from ...facts import IMAGE, kind_of_content_type
from ...policy import BLOCK, DECOY, ORIGINAL, TARPIT, WATERMARK
from ...responses import make_block_response
from ...treatments.apply import decoy_image, watermarked_image
from ..keys import CLIENT, STATE
from ..preview import PROFILES, check_path, profile_facts, profile_signals, response_headers
from ..validate import choice, fail, query, site_of

BLOCK_BODY = make_block_response().content or b""


def upstream_url(upstream: str, path: str) -> URL:
    """upstream + path, refused unless it still names the upstream's scheme, host and port."""
    base = URL(upstream)
    url = URL(upstream.rstrip("/") + path, encoded=True)
    if (url.scheme, url.host, url.port) != (base.scheme, base.host, base.port):
        fail("path", "must stay on the protected site")
    return url


async def read_at_most(stream: aiohttp.StreamReader, limit: int) -> bytes:
    """The body up to `limit` bytes (read() alone returns one chunk)."""
    chunks, size = [], 0
    while size < limit:
        chunk = await stream.read(min(65536, limit - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


async def get_preview(request: web.Request) -> web.StreamResponse:
    params = query(request, ("path", "profile", "raw", "site", "host"))
    try:
        path = check_path(params.get("path"))
    except ValueError as e:
        fail("path", str(e).removeprefix("path: "))
    profile = PROFILES[choice(params, "profile", PROFILES, "person") or "person"]
    raw = choice(params, "raw", ("0", "1"), "0") == "1"
    state = request.app[STATE]
    top = state.runtime()
    rt = site_of(top, params.get("site"), params.get("host"))
    if top.sites and rt is top:
        rt = top.sites[top.config.default_site or next(iter(top.sites))]
    url = upstream_url(rt.config.upstream if top.sites and rt.config.upstream else state.upstream, path)
    hosts = next((s.hosts for s in top.config.sites if s.name == rt.site), ())
    host = params.get("host") or (hosts[0] if hosts else url.raw_authority or "")
    facts = profile_facts(profile, path, host, time.time())
    decision = rt.classifier.classify(facts, profile_signals(profile, facts, rt.sitemap))
    send = {
        k: v for k, v in facts.headers if k.lower() not in ("host", "connection", "accept-encoding")
    }
    try:
        async with request.app[CLIENT].get(
            url, headers=send, allow_redirects=False, timeout=aiohttp.ClientTimeout(total=15)
        ) as upstream:
            limit = rt.config.max_image_bytes
            data = await read_at_most(upstream.content, limit + 1)
            status, origin_headers = upstream.status, list(upstream.headers.items())
    except (aiohttp.ClientError, TimeoutError) as e:
        fail(
            "upstream",
            f"the protected site did not answer ({type(e).__name__})",
            web.HTTPBadGateway,
        )
    kind = (
        kind_of_content_type({k.lower(): v for k, v in origin_headers}.get("content-type"))
        or facts.kind
    )
    treatment = rt.config.policy.treatment(decision.verdict, kind)
    if treatment in (DECOY, WATERMARK) and (status != 200 or kind != IMAGE):
        treatment = ORIGINAL
    applied = rt.enforcing and treatment != ORIGINAL
    body, content_type = data, None
    if applied and treatment in (DECOY, WATERMARK) and len(data) > limit:
        treatment = BLOCK
    if applied and treatment in (DECOY, WATERMARK):
        validator = next(
            (v for k, v in origin_headers if k.lower() in ("etag", "last-modified")), ""
        )
        work = (
            functools.partial(decoy_image, data, str(url), rt.secret, rt.config)
            if treatment == DECOY
            else functools.partial(watermarked_image, data, rt.config)
        )
        rendered = (
            await rt.renderer.render((treatment, str(url), validator, len(data)), work)
            if data
            else None
        )
        if rendered is None:
            treatment = BLOCK
        else:
            body = rendered
    if applied and treatment in (BLOCK, TARPIT):
        status, body, content_type = 403, BLOCK_BODY, "text/plain; charset=utf-8"
    headers = response_headers(origin_headers, kind, applied, content_type)
    if status in (204, 304) or not 200 <= status < 600:
        body = b""
    if raw:
        out = web.Response(status=status, body=body)
        for name, value in headers:
            out.headers.add(name, value)
        out.headers["Content-Length"] = str(len(body))
        out.headers["Content-Security-Policy"] = "sandbox"  # never run what the site served, here
        out.headers["X-Fixative-Verdict"] = decision.verdict
        out.headers["X-Fixative-Treatment"] = treatment
        out.headers["X-Fixative-Applied"] = "1" if applied else "0"
        if rt.site is not None:
            out.headers["X-Fixative-Site"] = rt.site
        return out
    return web.json_response(
        {
            "path": path,
            "site": rt.site,
            "profile": profile.name,
            "label": profile.label,
            "verdict": decision.verdict,
            "score": decision.score,
            "reasons": [r.as_dict() for r in decision.reasons],
            "kind": kind,
            "treatment": treatment,
            "applied": applied,
            "mode": rt.config.mode,
            "status": status,
            "headers": [[k, v] for k, v in headers],
            "size": len(body),
            "body_base64": base64.b64encode(body).decode(),
        }
    )
