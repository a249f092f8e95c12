"""Packs, overrides and mode: GET/POST /api/packs, GET/POST/DELETE /api/overrides, POST /api/mode.

Changes to rules go through RuleControl.rebuild: compiled in full first, swapped in
only if everything loads; a refused change answers 422 with the loader's problems.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict

from aiohttp import web

from ...config import MODES
from ...rules.loader import RulePackError
from ...runtime import Runtime
from ..keys import STATE
from ..overrides import MAX_OVERRIDES, Override, parse_override
from ..validate import fail, json_body, query, site_of

PACK_ACTIONS = ("enable", "disable", "reload")


def refused(problems: list[str]) -> web.HTTPException:
    return web.HTTPUnprocessableEntity(
        text=json.dumps(
            {
                "error": "the rules did not load; the running rules stay in force",
                "problems": problems,
            }
        ),
        content_type="application/json",
    )


async def get_packs(request: web.Request) -> web.Response:
    query(request, ())
    state = request.app[STATE]
    rt = state.runtime()
    packs = await asyncio.to_thread(state.rules.catalog, rt)
    return web.json_response({"packs": packs, "rules": len(rt.rules.rules)})


async def post_packs(request: web.Request) -> web.Response:
    """{action: enable|disable, name} or {action: reload}: reload re-reads every pack file from disk."""
    body = await json_body(request, {"action": str, "name": str}, required=("action",))
    action = body["action"]
    if action not in PACK_ACTIONS:
        fail("action", f"expected one of {', '.join(PACK_ACTIONS)}")
    if body.get("name") == "":
        fail("name", "empty: give a pack's name, or leave name out to reload")
    state = request.app[STATE]
    rt = state.runtime()
    disabled = None
    if action in ("enable", "disable"):
        name = body.get("name")
        if not name:
            fail("name", "required for enable and disable")
        catalog = await asyncio.to_thread(state.rules.catalog, rt)
        if name not in {p["name"] for p in catalog if p["origin"] != "local"}:
            fail(
                "name", "no such pack (the local overrides cannot be turned off)", web.HTTPNotFound
            )
        disabled = state.rules.disabled()
        (disabled.add if action == "disable" else disabled.discard)(name)
    try:
        await state.rules.rebuild(rt, disabled=disabled)
    except (RulePackError, ValueError) as e:
        raise refused(getattr(e, "problems", None) or [str(e)]) from None
    packs = await asyncio.to_thread(state.rules.catalog, rt)
    return web.json_response({"packs": packs, "rules": len(rt.rules.rules)})


def _listing(overrides: list[Override]) -> dict[str, object]:
    return {"overrides": [{"id": o.id, **asdict(o)} for o in overrides]}


async def get_overrides(request: web.Request) -> web.Response:
    query(request, ())
    state = request.app[STATE]
    try:
        overrides = state.rules.overrides()
    except ValueError as e:
        raise refused([str(e)]) from None
    return web.json_response(_listing(overrides))


async def post_overrides(request: web.Request) -> web.Response:
    """{kind: ip|user_agent, value, action: allow|deny, note?}; replaces an entry with the same kind and value."""
    body = await json_body(
        request,
        {"kind": str, "value": str, "action": str, "note": str},
        required=("kind", "value", "action"),
    )
    try:
        new = parse_override(body["kind"], body["value"], body["action"], body.get("note", ""))
    except ValueError as e:
        field, _, problem = str(e).partition(": ")
        fail(field, problem)
    state = request.app[STATE]
    rt = state.runtime()
    try:
        current = state.rules.overrides()
    except ValueError as e:
        raise refused([str(e)]) from None
    kept = [o for o in current if (o.kind, o.value.lower()) != (new.kind, new.value.lower())]
    if len(kept) >= MAX_OVERRIDES:
        fail("value", f"at most {MAX_OVERRIDES} overrides; remove some first")
    try:
        await state.rules.rebuild(rt, overrides=[*kept, new])
    except (RulePackError, ValueError) as e:
        raise refused(getattr(e, "problems", None) or [str(e)]) from None
    return web.json_response({**_listing(state.rules.overrides()), "added": new.id}, status=201)


async def delete_overrides(request: web.Request) -> web.Response:
    params = query(request, ("id",))
    wanted = params.get("id")
    if not wanted:
        fail("id", "required: the id of the override to remove")
    state = request.app[STATE]
    rt = state.runtime()
    try:
        current = state.rules.overrides()
    except ValueError as e:
        raise refused([str(e)]) from None
    kept = [o for o in current if o.id != wanted]
    if len(kept) == len(current):
        fail("id", "no such override", web.HTTPNotFound)
    try:
        await state.rules.rebuild(rt, overrides=kept)
    except (RulePackError, ValueError) as e:
        raise refused(getattr(e, "problems", None) or [str(e)]) from None
    return web.json_response(_listing(kept))


def site_modes(rt: Runtime) -> list[dict[str, object]]:
    """With `sites:`, each site's mode and whether it is its own (kept when the whole proxy's changes)."""
    return [{"name": name, "mode": site.config.mode, "enforcing": site.enforcing, "own_mode": site.own_mode}
            for name, site in rt.sites.items()]


async def post_mode(request: web.Request) -> web.Response:
    """{mode: observe|enforce, site?: NAME}: in force at once, until the proxy restarts (then --mode/config
    decide). Without `site`: the whole proxy's, and every site's without a mode of its own."""
    body = await json_body(request, {"mode": str, "site": str}, required=("mode",))
    if body["mode"] not in MODES:
        fail("mode", f"expected one of {', '.join(MODES)}")
    rt = request.app[STATE].runtime()
    site = body.get("site")
    target = site_of(rt, site, None)
    rt.set_mode(body["mode"], site)
    if rt.sharing is not None:  # with `shared:`, every running instance switches too
        rt.sharing.share_mode(body["mode"], site)
    return web.json_response({"mode": target.config.mode, "enforcing": target.enforcing, "site": site,
                              "sites": site_modes(rt)})
