"""POST /api/explain: the verdict and reasons for a described request, as `fixative explain --json`;
with `sites:`, by one site's rules, policy and mode (`site`, or the site a `host` reaches; it only
picks the site); without either, by the top-level settings every site inherits."""

from __future__ import annotations

import ipaddress
import re

from aiohttp import web

from ...facts import Facts
from ..keys import STATE
from ..validate import fail, json_body, site_of

FIELDS: dict[str, type | tuple[type, ...]] = {
    "user_agent": (str, type(None)),
    "ip": str,
    "path": str,
    "method": str,
    "headers": (list, dict),
    "site": str,
    "host": str,
}
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$")
MAX_HEADERS = 100


def parse_headers(value: object) -> list[tuple[str, str]]:
    """Headers as [[name, value], ...] or {name: value}; names must be HTTP tokens."""
    items = list(value.items()) if isinstance(value, dict) else value
    if not isinstance(items, list) or len(items) > MAX_HEADERS:
        fail("headers", f"expected at most {MAX_HEADERS} headers")
    out = []
    for item in items:
        if isinstance(item, (list, tuple)) and len(item) == 2:
            name, text = item
        else:
            fail("headers", "each header is [name, value]")
        if not isinstance(name, str) or not _TOKEN.match(name):
            fail("headers", "a header name is a token such as Accept-Language")
        if not isinstance(text, str) or len(text) > 8192 or any(c in text for c in "\r\n\0"):
            fail("headers", f"{name}: expected a one-line value of at most 8192 characters")
        out.append((name, text))
    return out


async def post_explain(request: web.Request) -> web.Response:
    body = await json_body(request, FIELDS)
    ua = body.get("user_agent")
    if ua is not None and (len(ua) > 2048 or any(c in ua for c in "\r\n\0")):
        fail("user_agent", "expected one line of at most 2048 characters")
    ip = body.get("ip", "203.0.113.7")
    try:
        ip = str(ipaddress.ip_address(ip))
    except ValueError:
        fail("ip", "expected an IPv4 or IPv6 address")
    path = body.get("path", "/")
    if not path.startswith("/") or len(path) > 2048 or any(c in path for c in " \r\n\0"):
        fail("path", "expected a path starting with '/'")
    method = body.get("method", "GET")
    if not method.isascii() or not method.isalpha() or len(method) > 16:
        fail("method", "expected an HTTP method such as GET")
    headers = parse_headers(body.get("headers", []))
    if ua is not None and not any(n.lower() == "user-agent" for n, _ in headers):
        headers.insert(0, ("User-Agent", ua))
    rt = site_of(request.app[STATE].runtime(), body.get("site"), body.get("host"))
    facts = Facts(ip=ip, user_agent=ua, path=path, method=method.upper(), headers=tuple(headers))
    decision = rt.classifier.classify(facts)
    return web.json_response(
        {
            **decision.as_dict(),
            "kind": facts.kind,
            "site": rt.site,
            "mode": rt.config.mode,
            "treatment": rt.config.policy.treatment(decision.verdict, facts.kind),
        }
    )
