"""Pages: the session cookie and trap links on HTML pages, and what the site's pages show.

Runs after Treat (which leaves pages unstreamed) and before OptOut.
"""

from __future__ import annotations

from mitmproxy import http

from .. import session
from ..facts import IMAGE, PAGE, Facts
from ..rewrites import Rewrites
from ..traps import inject_trap, trap_link_html
from .settings import Settings


class Pages:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.rewrites = Rewrites()

    def response(self, flow: http.HTTPFlow) -> None:
        rt = self.settings.runtime_for(flow)
        facts: Facts | None = flow.metadata.get("fixative.facts")
        response = flow.response
        if rt is None or facts is None or response is None or flow.metadata.get("fixative.treatment") == "trap":
            return
        kind = flow.metadata.get("fixative.kind")
        client = flow.metadata.get("fixative.client")
        if kind == IMAGE and client and _says_noai(flow):
            state = rt.clients.peek(client)
            if state is not None:
                state.optout_seen += 1
        if kind != PAGE or response.status_code != 200 or flow.request.method != "GET" or response.stream:
            return
        path = facts.path.split("?", 1)[0]
        link = trap_link_html(rt.trap_prefix, path, rt.secret) if rt.trap_prefix is not None else None
        origin_raw = response.raw_content or b""
        encoding = response.headers.get("content-encoding")
        known = self.rewrites.get((origin_raw, encoding, link)) if encoding else None
        if known is not None:  # a compressed page seen lately: not decoded (and compressed) again
            html, raw = known
            if link is not None:
                response.raw_content = raw
                if "transfer-encoding" not in response.headers:  # as mitmproxy's content setter does
                    response.headers["content-length"] = str(len(raw))
        else:
            try:
                html = (response.content or b"") if encoding else origin_raw
            except ValueError:  # undecodable Content-Encoding: leave the page alone
                return
            if link is not None:
                response.content = inject_trap(html, link)
            if encoding and response.headers.get("content-encoding") == encoding:
                self.rewrites.put((origin_raw, encoding, link), html, response.raw_content or b"")
        rt.sitemap.learn(path, html)
        if rt.config.session_cookie and flow.metadata.get("fixative.session") is not session.CookieState.VALID:
            value = session.issue(rt.secret, facts.user_agent, facts.time)
            response.headers.add("Set-Cookie", session.set_cookie_header(value, facts.secure))
            # The images of this page will arrive with the new cookie: their client has seen this page.
            rt.clients.get(f"s:{value.split('.', 1)[0]}", facts.time).pages += 1


def _says_noai(flow: http.HTTPFlow) -> bool:
    """Does the image's answer carry noai? OptOut added it at the headers unless the origin had said so
    (OptOut's marker is this response until it checks again, after us); else the header decides."""
    response = flow.response
    if response is None:
        return False
    return flow.metadata.get("fixative.optout") is response or "noai" in response.headers.get("x-robots-tag", "noai")
