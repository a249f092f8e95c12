"""GET /api/status: mode, uptime, versions, packs in force, the last rules reload, subscriptions,
and whether the upstream answers; with `sites:`, each site's mode, rules and upstream too."""

from __future__ import annotations

import platform
import time
from typing import Any

import aiohttp
import mitmproxy.version
from aiohttp import web

from ... import __version__
from ..keys import CLIENT, STATE
from ..state import AdminState
from ..validate import query


async def upstream_health(
    state: AdminState, client: aiohttp.ClientSession, upstream: str | None = None
) -> dict[str, Any]:
    """A HEAD to the upstream (or, with `sites:`, a site's) with a short timeout, cached for a few seconds."""
    url = (upstream or state.upstream).rstrip("/")
    async with state.health_lock:
        cached = state.health if url == state.upstream else state.site_health.get(url, {})
        if cached and time.monotonic() - cached["_at"] < state.health_ttl:
            return {k: v for k, v in cached.items() if k != "_at"}
        started = time.monotonic()
        result: dict[str, Any] = {"url": url, "checked": time.time()}
        try:
            async with client.head(
                url + "/", allow_redirects=False, timeout=aiohttp.ClientTimeout(total=2)
            ) as response:
                result.update(ok=response.status < 500, status=response.status, error=None)
        except (aiohttp.ClientError, TimeoutError) as e:
            result.update(
                ok=False, status=None, error=type(e).__name__ if str(e) == "" else str(e)[:200]
            )
        result["latency_ms"] = round((time.monotonic() - started) * 1000, 1)
        if url == state.upstream:
            state.health = {**result, "_at": time.monotonic()}
        else:
            state.site_health[url] = {**result, "_at": time.monotonic()}
        return result


async def get_status(request: web.Request) -> web.Response:
    query(request, ())
    state = request.app[STATE]
    rt = state.runtime()
    health = await upstream_health(state, request.app[CLIENT])
    site_health = {name: await upstream_health(state, request.app[CLIENT], site.config.upstream)
                   for name, site in rt.sites.items()}
    return web.json_response(
        {
            "mode": rt.config.mode,
            "enforcing": rt.enforcing,
            "uptime": round(time.time() - rt.started, 1),
            "started": rt.started,
            "versions": {
                "fixative": __version__,
                "mitmproxy": mitmproxy.version.VERSION,
                "python": platform.python_version(),
                "aiohttp": aiohttp.__version__,
            },
            "preset": rt.config.preset,
            "thresholds": {
                "suspect": rt.rules.thresholds.suspect,
                "scraper": rt.rules.thresholds.scraper,
            },
            "packs": [
                {"name": p.name, "version": p.version, "rules": p.rule_count}
                for p in rt.rules.packs
            ],
            "rules": len(rt.rules.rules),
            "upstream": health,
            "sites": state.site_urls,
            "hosted_sites": [
                {"name": name, "hosts": list(next(s.hosts for s in rt.config.sites if s.name == name)),
                 "upstream": site.config.upstream, "artist": site.config.artist, "preset": site.config.preset,
                 "mode": site.config.mode, "enforcing": site.enforcing, "own_mode": site.own_mode,
                 "rules": len(site.rules.rules), "clients_tracked": len(site.clients),
                 "health": site_health[name]}
                for name, site in rt.sites.items()
            ],
            "events": {"written": rt.events.written, "dropped": rt.events.dropped},
            "clients_tracked": len(rt.clients) + sum(len(site.clients) for site in rt.sites.values()),
            "last_reload": state.rules.last_rebuild,
            "subscriptions": list(state.rules.subscriptions.values()),
            # with `shared:`: Redis up or down, the backlog, the other instances, gallery-wide counts
            "shared": await rt.sharing.report() if rt.sharing is not None else None,
        }
    )
