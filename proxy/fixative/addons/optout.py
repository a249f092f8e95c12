"""OptOut: noai headers on every page and image, and the merged robots.txt."""

from __future__ import annotations

from mitmproxy import http

from ..facts import OTHER, kind_of_content_type
from ..optout import merge_robots_txt, optout_headers, parse_robots, tdmrep_json
from ..responses import make_text_response
from .settings import Settings

WATCHED = frozenset({b"content-type", b"tdm-reservation", b"x-robots-tag"})  # what _add_headers reads
BOTH = tuple((name.encode(), value.encode()) for name, value in optout_headers(None).items())


class OptOut:
    def __init__(self, settings: Settings):
        self.settings = settings

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        if flow.response is not None and "fixative.decision" in flow.metadata:
            _add_headers(flow.response)
            flow.metadata["fixative.optout"] = flow.response

    def response(self, flow: http.HTTPFlow) -> None:
        rt = self.settings.runtime_for(flow)
        if flow.response is None or rt is None or "fixative.decision" not in flow.metadata:
            return
        special = flow.metadata.get("fixative.special")
        if special == "robots" and flow.request.method in ("GET", "HEAD"):
            origin_text = None
            if flow.response.status_code == 200:
                origin_text = flow.response.get_text(strict=False)
            extra = [rt.trap_prefix] if rt.trap_prefix else []
            merged = merge_robots_txt(origin_text, rt.robots_agents, extra)
            if rt.robots is None or rt.robots_text != merged:
                rt.robots_text, rt.robots = merged, parse_robots(merged)
            flow.response = make_text_response(merged)
        elif special == "tdmrep" and flow.response.status_code == 404:
            flow.response = make_text_response(tdmrep_json(), "application/json")
        if flow.metadata.pop("fixative.optout", None) is not flow.response:  # replaced (Treat, robots)
            _add_headers(flow.response)


def _add_headers(response: http.Response) -> None:
    """tdm-reservation and X-Robots-Tag as optout_headers says, for what the Content-Type makes it: read
    in one pass over the headers, added at the end (as Headers' item assignment and add() would)."""
    found: dict[bytes, list[bytes]] = {}
    for name, value in response.headers.fields:
        key = name.lower()
        if key in WATCHED:
            found.setdefault(key, []).append(value)
    kind = kind_of_content_type(_joined(found.get(b"content-type")))
    if kind is None or kind == OTHER:
        if b"tdm-reservation" not in found:
            response.headers.fields += ((b"tdm-reservation", b"1"),)
        return
    if not found.keys() - {b"content-type"}:  # the usual case: neither header yet
        response.headers.fields += BOTH
        return
    robots = _joined(found.get(b"x-robots-tag"))
    if b"tdm-reservation" in found and "noai" in (robots or ""):
        return
    added = tuple((name.encode(), value.encode()) for name, value in optout_headers(robots).items()
                  if name.lower() == "x-robots-tag" or name.lower().encode() not in found)
    response.headers.fields += added


def _joined(values: list[bytes] | None) -> str | None:
    """What Headers.get gives for these values: decoded as UTF-8 (surrogates for the rest), joined by ', '."""
    if values is None:
        return None
    return ", ".join(v.decode("utf-8", "surrogateescape") for v in values)
