"""Route: with `sites:`, picks the request's site by its Host and sends the request to that site's upstream.

Runs first after Settings. The site's Runtime goes to flow.metadata["fixative.site"], where
Settings.runtime_for(flow) finds it for the other addons. A Host no site has (and no default_site)
gets the configured `unknown_host` answer at once and never reaches an origin; it is still recorded,
as site "-", with the top-level rules' verdict. Without `sites:` this addon does nothing.
"""

from __future__ import annotations

import logging

from mitmproxy import ctx, http
from mitmproxy.net.http import url

from ..responses import NO_STORE
from ..runtime import Runtime
from ..siteconfig import UnknownHost
from .classify import facts_from_flow
from .settings import SITE, Settings

log = logging.getLogger(__name__)
MISDIRECTED = "misdirected"  # the treatment recorded for a Host no site has


def make_unknown_host_response(answer: UnknownHost) -> http.Response:
    """The configured status with its short plain message; names nothing of the sites behind."""
    return http.Response.make(answer.status, answer.message.encode("utf-8"),
                              {"Content-Type": "text/plain; charset=utf-8", **NO_STORE})


def point_at_upstream(flow: http.HTTPFlow, upstream: str) -> None:
    """Send the request to `upstream` (scheme, host, port); the client's Host header stays for now."""
    scheme, host, port, _ = url.parse(upstream)
    req = flow.request
    client_host = req.host_header
    req.scheme, req.host, req.port = scheme.decode(), host.decode(), port
    req.host_header = client_host


class Route:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.warned = False

    def configure(self, updated: set[str]) -> None:
        top = self.settings.runtime
        if top is not None and top.sites and not ctx.options.keep_host_header and not self.warned:
            # mitmproxy's reverse mode would put the upstream's name in Host before we see it
            self.warned = True
            log.warning("fixative: `sites:` chooses each site by the client's Host; run mitmproxy with "
                        "--set keep_host_header=true (fixative run does), or every request is an unknown Host")

    def request(self, flow: http.HTTPFlow) -> None:
        if flow.response or flow.error or not flow.live:
            return
        top = self.settings.runtime
        if top is None or not top.sites:
            return
        facts = facts_from_flow(flow, top.trusted)
        site: Runtime | None = top.for_host(facts.host)
        if site is not None:
            flow.metadata[SITE] = site
            assert site.config.upstream is not None  # checked by load_config
            point_at_upstream(flow, site.config.upstream)
            return
        flow.metadata["fixative.facts"] = facts
        flow.metadata["fixative.decision"] = top.classifier.classify(facts)
        flow.metadata["fixative.treatment"] = MISDIRECTED
        flow.metadata["fixative.applied"] = True
        flow.response = make_unknown_host_response(top.config.unknown_host)
