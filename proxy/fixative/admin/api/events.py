"""GET /api/events (newest first, paged by id) and GET /api/events/stream (Server-Sent Events),
each of every site or, with ?site=NAME, of one.

The stream polls the SQLite log by id every half second from its own connection:
events reach the log within a quarter second of their response, so the feed is
about a second behind the traffic, and the proxy's hot path is never touched.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time

from aiohttp import web

from ...verdict import VERDICTS
from .. import eventstore
from ..keys import STATE, STREAMS
from ..validate import choice, fail, int_param, query, site_param
from .instances import events_path

MAX_LIMIT = 500
POLL = 0.5
KEEPALIVE = 15.0
MAX_ID = 10**15


async def get_events(request: web.Request) -> web.Response:
    params = query(request, ("verdict", "limit", "before", "site", "instance"))
    verdict = choice(params, "verdict", VERDICTS, None)
    limit = int_param(params, "limit", 50, 1, MAX_LIMIT)
    before = int_param(params, "before", None, 1, MAX_ID)
    rt = request.app[STATE].runtime()
    site = site_param(params, rt.sites)
    path = await events_path(rt, params)
    result = await asyncio.to_thread(eventstore.page, path, limit or 50, before, verdict, site)
    return web.json_response(result)


async def stream_events(request: web.Request) -> web.StreamResponse:
    """`event: decision` with the event as JSON, `id:` its row id; resumes after Last-Event-ID or ?after=;
    ?site=NAME: only that site's events (as /api/events)."""
    params = query(request, ("after", "site", "instance"))
    after = int_param(params, "after", None, 0, MAX_ID)
    resume = request.headers.get("Last-Event-ID")
    if after is None and resume is not None:
        if not resume.isascii() or not resume.isdigit() or len(resume) > 15:
            fail("Last-Event-ID", "expected an event id")
        after = int(resume)
    rt = request.app[STATE].runtime()
    site = site_param(params, rt.sites)
    path = await events_path(rt, params)
    last = after if after is not None else await asyncio.to_thread(eventstore.last_id, path)
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
        }
    )
    task = asyncio.current_task()
    assert task is not None
    request.app[STREAMS].add(task)
    try:
        await response.prepare(request)
        await response.write(b"retry: 2000\n: connected\n\n")
        quiet_since = time.monotonic()
        while True:
            try:
                batch = await asyncio.to_thread(eventstore.after, path, last, 200, site)
            except sqlite3.Error:
                batch = []
            for event in batch:
                last = event["id"]
                await response.write(
                    f"id: {last}\nevent: decision\ndata: {json.dumps(event)}\n\n".encode()
                )
            if batch:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since > KEEPALIVE:
                await response.write(b": keepalive\n\n")
                quiet_since = time.monotonic()
            await asyncio.sleep(POLL)
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        request.app[STREAMS].discard(task)
    return response
