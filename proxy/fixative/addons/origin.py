"""OriginTimeout: a stalled origin gets the client a worded 504, not a connection held for 10 minutes.

mitmproxy 11.0.2 has no upstream connect or read timeout (only a 600 s idle timeout per client
connection). Each request that goes upstream gets `origin_timeout` seconds of silence at most: to
connect and send its response headers, then between pieces of the body. On expiry the server
connection is cancelled; a client that has received nothing yet gets errorpages' 504 page, one
that is already receiving a streamed body sees its connection closed (a truncated body, not a hang).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from typing import Any

from mitmproxy import ctx, http
from mitmproxy.connection import ConnectionState

from .. import errorpages
from .settings import Settings

log = logging.getLogger(__name__)

TIMED_OUT = "fixative.origin_timed_out"


class OriginTimeout:
    """One timer for all requests waiting on the origin, set for the earliest deadline among them:
    a request costs a dict entry, not a task and a timer of its own."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._waiting: dict[str, tuple[http.HTTPFlow, float, float]] = {}  # flow id: (flow, timeout, started)
        self._timer: asyncio.TimerHandle | None = None

    def request(self, flow: http.HTTPFlow) -> None:
        """Runs after the other addons' request hooks: a flow still without a response goes upstream."""
        if flow.response or flow.error or not flow.live:
            return
        rt = self.settings.runtime_for(flow)
        timeout = rt.config.origin_timeout if rt is not None else 0
        if timeout and flow.id not in self._waiting:
            started = time.time()
            self._waiting[flow.id] = (flow, timeout, started)
            self._wake_by(started + timeout)

    def response(self, flow: http.HTTPFlow) -> None:
        self._waiting.pop(flow.id, None)

    def error(self, flow: http.HTTPFlow) -> None:
        self._waiting.pop(flow.id, None)
        if detail := flow.metadata.get(TIMED_OUT):
            # the page for this error is built right after the error hooks, in this same task
            errorpages.ORIGIN_TIMED_OUT.set(detail)

    def done(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._waiting.clear()

    def _wake_by(self, deadline: float) -> None:
        """Make sure the sweep runs no later than `deadline` (time.time())."""
        if self._timer is not None and self._timer.when() <= self._loop_time(deadline):
            return
        if self._timer is not None:
            self._timer.cancel()
        loop = asyncio.get_running_loop()
        self._timer = loop.call_at(self._loop_time(deadline), self._sweep)

    @staticmethod
    def _loop_time(wall: float) -> float:
        return asyncio.get_running_loop().time() + (wall - time.time())

    def _sweep(self) -> None:
        """Expire the requests whose origin has been silent too long; sleep until the next deadline."""
        self._timer = None
        now = time.time()
        earliest = None
        for flow_id, (flow, timeout, started) in list(self._waiting.items()):
            if flow.response is not None and flow.response.timestamp_end:
                del self._waiting[flow_id]  # the origin has sent everything; the rest is ours or the client's
                continue
            deadline = max(started, self._last_activity(flow)) + timeout
            if deadline <= now:
                del self._waiting[flow_id]
                self._expire(flow, timeout)
            elif deadline != math.inf and (earliest is None or deadline < earliest):
                earliest = deadline  # inf: an HTTP/2 stream past its headers, watched no further
        if earliest is not None:
            self._wake_by(earliest)

    def _handler(self, flow: http.HTTPFlow) -> Any:
        proxyserver = ctx.master.addons.get("proxyserver")
        return proxyserver.connections.get(flow.client_conn.id) if proxyserver else None

    def _last_activity(self, flow: http.HTTPFlow) -> float:
        """When bytes last moved on this client's connection (either side). Over HTTP/2 other streams
        share it, so only the wait for the response headers is bounded there."""
        if flow.request.http_version.startswith("HTTP/2"):
            return 0.0 if flow.response is None else float("inf")
        handler = self._handler(flow)
        return handler.timeout_watchdog.last_activity if handler is not None else 0.0

    def _expire(self, flow: http.HTTPFlow, timeout: float) -> None:
        """Cancel the server connection this flow waits on (open, or still connecting)."""
        handler = self._handler(flow)
        if handler is None or not flow.live:
            return
        waiting = [io.handler for conn, io in handler.transports.items()
                   if conn is not handler.client and io.handler is not None
                   and (conn is flow.server_conn or conn.state is ConnectionState.CLOSED)]  # or connecting
        if not waiting:
            return
        what = "send its answer" if flow.response is None else "send the rest of its answer"
        flow.metadata[TIMED_OUT] = f"The site did not {what} within {timeout:g} seconds (origin_timeout)."
        log.warning("origin timeout after %gs: %s %s", timeout, flow.request.method, flow.request.path[:200])
        for task in waiting:
            task.cancel("fixative: origin timeout")
