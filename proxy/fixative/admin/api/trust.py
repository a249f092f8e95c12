"""POST /api/trust-browser: a signed cookie value that makes the browser carrying it always see originals."""

from __future__ import annotations

import time

from aiohttp import web

from .. import trust
from ..keys import STATE
from ..validate import json_body


async def post_trust_browser(request: web.Request) -> web.Response:
    """The caller (the extension, or the dashboard) sets it as a cookie on the protected site."""
    body = await json_body(request, {"secure": bool}, empty_ok=True)
    rt = request.app[STATE].runtime()
    value = trust.issue(rt.secret, time.time())
    return web.json_response(
        {
            "name": trust.COOKIE,
            "value": value,
            "max_age": trust.MAX_AGE,
            "path": "/",
            "http_only": True,
            "same_site": "lax",
            "set_cookie": trust.set_cookie_header(value, bool(body.get("secure", False))),
        }
    )
