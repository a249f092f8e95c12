"""GET /api/instances, and `?instance=NAME` on /api/events and /api/stats: with `shared:`, any instance's
dashboard reads the others' event logs (where this machine can read them: the same host, or a shared
volume). Each instance still writes only its own log."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp import web

from ...runtime import Runtime
from ..keys import STATE
from ..validate import fail, query


async def instances_of(rt: Runtime) -> list[dict[str, Any]]:
    """The registry; 503 while Redis is down (this instance's own log can still be read)."""
    if rt.sharing is None:
        fail("instance", "this proxy shares no state with other instances (`shared:` or `run --redis`)",
             web.HTTPNotFound)
    try:
        return await rt.sharing.instances()  # type: ignore[no-any-return]
    except ConnectionError as e:
        fail("instance", f"Redis does not answer ({e}); only this instance's own log can be read now",
             web.HTTPServiceUnavailable)


async def events_path(rt: Runtime, params: dict[str, str]) -> Path:
    """The event log to read: this instance's, or with `instance=NAME` that instance's."""
    name = params.get("instance")
    if name is None or (rt.sharing is not None and name == rt.sharing.link.instance):
        return rt.events.path
    found = {i["name"]: i for i in await instances_of(rt)}
    if name not in found:
        fail("instance", f"no such instance; the instances are {', '.join(found) or 'none yet'}",
             web.HTTPNotFound)
    item = found[name]
    if not item["events_readable"]:
        where = f" at http://{item['admin']}/" if item.get("admin") else ""
        fail("instance", f"its event log {item.get('events')} cannot be read from this machine; open that "
                         f"instance's own dashboard{where}", web.HTTPNotFound)
    return Path(item["events"])


async def get_instances(request: web.Request) -> web.Response:
    query(request, ())
    rt = request.app[STATE].runtime()
    own = rt.sharing.link.instance if rt.sharing is not None else None
    return web.json_response({"self": own, "instances": await instances_of(rt)})
