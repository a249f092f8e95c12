"""The admin app: one route table, auth and CORS as middlewares, thin handlers in api/.

Public: the dashboard page and its static files, and the OpenAPI document. Everything
else needs `Authorization: Bearer <token>`. Cross-origin calls are answered only for
browser-extension origins (any `chrome-extension://` or `moz-extension://`, or only the
pinned ones when `fixative_admin_origins` is set) and the dashboard's own origin; the
token, never a cookie, is what grants access, so a page elsewhere can do nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from .api import events, explain, instances, preview, rules, stats, status, trust
from .keys import CLIENT, STATE, STREAMS
from .state import AdminState
from .tokens import bearer_matches

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
OPENAPI = HERE / "openapi.yaml"
PUBLIC = ("/", "/openapi.yaml", "/favicon.ico")
EXTENSION_SCHEMES = ("chrome-extension://", "moz-extension://")
UNAUTHORIZED = (
    "unauthorized: send the admin token as `Authorization: Bearer <token>`; "
    "it is in the file admin-token in the state dir"
)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})


async def openapi(request: web.Request) -> web.FileResponse:
    return web.FileResponse(OPENAPI, headers={"Content-Type": "application/yaml"})


async def favicon(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "favicon.svg", headers={"Content-Type": "image/svg+xml"})


async def metrics(request: web.Request) -> web.Response:
    body = request.app[STATE].metrics.render()
    return web.Response(
        body=body, headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"}
    )


ROUTES = [
    web.get("/", index),
    web.get("/openapi.yaml", openapi),
    web.get("/favicon.ico", favicon),
    web.get("/metrics", metrics),
    web.get("/api/status", status.get_status),
    web.get("/api/instances", instances.get_instances),
    web.get("/api/stats", stats.get_stats),
    web.get("/api/events", events.get_events),
    web.get("/api/events/stream", events.stream_events),
    web.post("/api/explain", explain.post_explain),
    web.get("/api/preview", preview.get_preview),
    web.get("/api/packs", rules.get_packs),
    web.post("/api/packs", rules.post_packs),
    web.get("/api/overrides", rules.get_overrides),
    web.post("/api/overrides", rules.post_overrides),
    web.delete("/api/overrides", rules.delete_overrides),
    web.post("/api/mode", rules.post_mode),
    web.post("/api/trust-browser", trust.post_trust_browser),
]


def origin_allowed(request: web.Request, origin: str) -> bool:
    """The dashboard's own origin, or a browser extension's (pinned ones only, if configured)."""
    if origin == f"{request.scheme}://{request.host}":
        return True
    pinned = request.app[STATE].extension_origins
    if pinned:
        return origin in pinned
    return origin.startswith(EXTENSION_SCHEMES) and len(origin) < 100


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every refusal as JSON `{"error": ...}`; an unexpected failure is a 500 without details."""
    try:
        return await handler(request)
    except web.HTTPException as e:
        if e.content_type == "application/json" or e.status < 400:
            raise
        text = e.text or ""
        message = e.reason.lower() if not text or text.startswith(str(e.status)) else text
        keep = {k: v for k, v in e.headers.items() if k.lower() in ("allow", "www-authenticate")}
        return web.json_response({"error": message}, status=e.status, headers=keep)
    except (asyncio.CancelledError, ConnectionResetError):
        raise
    except Exception:
        log.exception("admin: %s %s failed", request.method, request.path)
        raise web.HTTPInternalServerError(
            text='{"error": "internal error; see the proxy log"}', content_type="application/json"
        ) from None


@web.middleware
async def cors(request: web.Request, handler: Handler) -> web.StreamResponse:
    origin = request.headers.get("Origin")
    if origin is None:
        return await handler(request)
    if not origin_allowed(request, origin):
        raise web.HTTPForbidden(
            text='{"error": "origin not allowed"}', content_type="application/json"
        )
    allow = {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
    if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
        return web.Response(
            status=204,
            headers={
                **allow,
                "Access-Control-Allow-Methods": "GET, POST, DELETE",
                "Access-Control-Allow-Headers": "Authorization, Content-Type, Last-Event-ID",
                "Access-Control-Max-Age": "600",
            },
        )
    try:
        response = await handler(request)
    except web.HTTPException as e:
        e.headers.update(allow)
        raise
    if not response.prepared:
        response.headers.update(allow)
    return response


@web.middleware
async def auth(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path in PUBLIC or request.path.startswith("/static/"):
        return await handler(request)
    if not bearer_matches(request.headers.get("Authorization"), request.app[STATE].token):
        raise web.HTTPUnauthorized(
            text=json.dumps({"error": UNAUTHORIZED}),
            content_type="application/json",
            headers={"WWW-Authenticate": 'Bearer realm="fixative"'},
        )
    return await handler(request)


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    if not response.prepared:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        if request.path == "/":
            response.headers["Content-Security-Policy"] = (
                "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
                "connect-src 'self'; frame-ancestors 'none'"
            )
    return response


async def http_client(app: web.Application) -> AsyncIterator[None]:
    """One client session for upstream checks and previews; redirects are never followed."""
    app[CLIENT] = aiohttp.ClientSession(
        auto_decompress=True, trust_env=False, timeout=aiohttp.ClientTimeout(total=15, connect=3)
    )
    yield
    await app[CLIENT].close()


async def close_streams(app: web.Application) -> None:
    """Live streams would hold shutdown for as long as the client stays: end them."""
    streams: set[asyncio.Task[Any]] = app[STREAMS]
    for task in list(streams):
        task.cancel()


def make_runner(app: web.Application) -> web.AppRunner:
    """No access log (nothing about the artist's use of the API goes to logs); long preview URLs fit."""
    return web.AppRunner(app, access_log=None, shutdown_timeout=2.0, max_line_size=32768)


def make_app(state: AdminState) -> web.Application:
    app = web.Application(
        middlewares=[errors, cors, auth, security_headers], client_max_size=64 * 1024
    )
    app[STATE] = state
    app[STREAMS] = set()
    app.add_routes(ROUTES)
    app.router.add_static("/static/", STATIC, append_version=False)
    app.cleanup_ctx.append(http_client)
    app.on_shutdown.append(close_streams)
    return app
