"""OptOut: noai headers on every page and image, and the merged robots.txt."""

from __future__ import annotations

from mitmproxy import http

from ..facts import OTHER, kind_of_content_type
from ..optout import merge_robots_txt, optout_headers, parse_robots, tdmrep_json
from ..responses import make_text_response
from .settings import Settings


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
    kind = kind_of_content_type(response.headers.get("content-type"))
    if kind is None or kind == OTHER:
        if "tdm-reservation" not in response.headers:
            response.headers["tdm-reservation"] = "1"
        return
    if "tdm-reservation" in response.headers and "noai" in response.headers.get("x-robots-tag", ""):
        return
    for name, value in optout_headers(response.headers.get("x-robots-tag")).items():
        if name not in response.headers:
            response.headers[name] = value
        elif name.lower() == "x-robots-tag":
            response.headers.add(name, value)
