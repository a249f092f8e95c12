"""GET /api/stats?since=&until=: counts by verdict and treatment, a series, top agents, networks and works."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from functools import lru_cache

from aiohttp import web

from .. import eventstore
from ..keys import STATE
from ..validate import fail, float_param, int_param, query, site_param
from .instances import events_path

log = logging.getLogger(__name__)
DAY = 86400.0
MAX_SPAN = 400 * DAY
EARLIEST = 946684800.0  # 2000-01-01
LATEST = 4102444800.0  # 2100-01-01


@lru_cache(maxsize=1)
def network_describer() -> Callable[[str], str | None] | None:
    """AS and network type from the shipped hosting/cloud table, if it loads (once, off the loop)."""
    try:
        from ...network import shipped_database

        db = shipped_database()
    except Exception as e:  # noqa: BLE001 - the table is an extra: stats work without it
        log.info("admin: no network table for top networks (%s)", e)
        return None

    def describe(ip: str) -> str | None:
        info = db.lookup(ip)
        return info.describe() if info else None

    return describe


async def get_stats(request: web.Request) -> web.Response:
    params = query(request, ("since", "until", "buckets", "site", "instance"))
    now = time.time()
    until = float_param(params, "until", now, EARLIEST, LATEST)
    since = float_param(params, "since", until - DAY, EARLIEST, LATEST)
    buckets = int_param(params, "buckets", 48, 1, 500) or 48
    if since >= until:
        fail("since", "must be before until")
    if until - since > MAX_SPAN:
        fail("since", "the range may span at most 400 days")
    rt = request.app[STATE].runtime()
    site = site_param(params, rt.sites)
    path = await events_path(rt, params)
    describe = await asyncio.to_thread(network_describer)
    result = await asyncio.to_thread(
        eventstore.stats, path, since, until, buckets, describe, site
    )
    return web.json_response(result)
