"""Input checks for the API: every refusal is a 400 whose message names the field."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, NoReturn

from aiohttp import web

if TYPE_CHECKING:
    from ..runtime import Runtime

MAX_HOST = 260
HOST_FORBIDDEN = " /\\\r\n\t\0@?#"


def fail(
    field: str, problem: str, status: type[web.HTTPException] = web.HTTPBadRequest
) -> NoReturn:
    raise status(
        text=json.dumps({"error": f"{field}: {problem}", "field": field}),
        content_type="application/json",
    )


async def json_body(
    request: web.Request,
    fields: dict[str, type | tuple[type, ...]],
    required: Iterable[str] = (),
    empty_ok: bool = False,
) -> dict[str, Any]:
    """The JSON object in the body, with only known fields of the right JSON types."""
    raw = await request.read()
    if not raw.strip():
        if empty_ok:
            return {}
        fail("body", "expected a JSON object")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        fail("body", "not valid JSON")
    if not isinstance(body, dict):
        fail("body", "expected a JSON object")
    for key, value in body.items():
        if key not in fields:
            fail(key, f"unknown field; expected {', '.join(fields) or 'none'}")
        expected = fields[key]
        if isinstance(value, bool) and bool not in (
            expected if isinstance(expected, tuple) else (expected,)
        ):
            fail(key, "wrong type")
        if not isinstance(value, expected):
            fail(key, f"wrong type; expected {_type_name(expected)}")
    for key in required:
        if key not in body:
            fail(key, "required")
    return body


def _type_name(expected: type | tuple[type, ...]) -> str:
    names = {
        str: "string",
        int: "integer",
        float: "number",
        bool: "boolean",
        list: "array",
        dict: "object",
        type(None): "null",
    }
    types = expected if isinstance(expected, tuple) else (expected,)
    return " or ".join(names.get(t, t.__name__) for t in types)


def query(request: web.Request, known: Iterable[str]) -> dict[str, str]:
    """The query parameters, refusing unknown or repeated ones."""
    known = set(known)
    out: dict[str, str] = {}
    for key, value in request.query.items():
        if key not in known:
            fail(key, f"unknown parameter; expected {', '.join(sorted(known)) or 'none'}")
        if key in out:
            fail(key, "given more than once")
        out[key] = value
    return out


def int_param(
    params: dict[str, str], name: str, default: int | None, low: int, high: int
) -> int | None:
    if name not in params:
        return default
    text = params[name]
    if not text.isascii() or not text.isdigit() or len(text) > 16:
        fail(name, f"expected a whole number from {low} to {high}")
    value = int(text)
    if not low <= value <= high:
        fail(name, f"expected a whole number from {low} to {high}")
    return value


def float_param(
    params: dict[str, str], name: str, default: float, low: float, high: float
) -> float:
    if name not in params:
        return default
    try:
        value = float(params[name])
    except ValueError:
        fail(name, "expected a number (unix time in seconds)")
    if not low <= value <= high:  # also refuses nan and inf
        fail(name, f"expected a number from {low:.0f} to {high:.0f}")
    return value


def site_param(params: dict[str, str], sites: Iterable[str]) -> str | None:
    """`site=NAME`: one of the configured sites, or "-" for requests no site served; 404 for another."""
    value = params.get("site")
    names = tuple(sites)
    if value is not None and not names:
        fail("site", "no such site: this proxy serves one site (`site` needs `sites:` in the config)",
             web.HTTPNotFound)
    if value is not None and value not in (*names, "-"):
        fail("site", f"no such site; the sites are {', '.join((*names, '-'))}", web.HTTPNotFound)
    return value


def site_of(rt: Runtime, site: str | None, host: str | None) -> Runtime:
    """The Runtime of one site, by its name and/or by a Host as a request would send it (default_site
    included); the top-level Runtime with neither. 404 for a site or host the proxy does not serve,
    or a host that reaches another site than the one named."""
    found = rt
    if host is not None:
        if not host or len(host) > MAX_HOST or any(c in host for c in HOST_FORBIDDEN):
            fail("host", "expected a host name as in a Host header, e.g. mara.example or mara.example:8080")
        by_host = rt.for_host(host)
        if by_host is None:
            fail("host", f"no site answers to {host!r} and there is no default_site; the sites' hosts are "
                         f"{', '.join(sorted(rt.hosts))}", web.HTTPNotFound)
        found = by_host
    if site is not None:
        if site not in rt.sites:
            fail("site", f"no such site; the sites are {', '.join(rt.sites)}" if rt.sites else
                 "no such site: this proxy serves one site (`site` needs `sites:` in the config)", web.HTTPNotFound)
        if host is not None and found is not rt.sites[site]:
            fail("host", f"{host!r} reaches site {found.site!r}, not {site!r}; give one of the two",
                 web.HTTPNotFound)
        found = rt.sites[site]
    return found


def choice(
    params: dict[str, str], name: str, options: Iterable[str], default: str | None
) -> str | None:
    options = tuple(options)
    value = params.get(name, default)
    if value is not None and value not in options:
        fail(name, f"expected one of {', '.join(options)}")
    return value
