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
import time
from typing import Any

from mitmproxy import ctx, http
from mitmproxy.connection import ConnectionState

from .. import errorpages
from .settings import Settings

log = logging.getLogger(__name__)

TIMED_OUT = "fixative.origin_timed_out"


class OriginTimeout:
    def __init__(self, settings: Settings):
        self.settings = settings
        self._watches: dict[str, asyncio.Task[None]] = {}

    def request(self, flow: http.HTTPFlow) -> None:
        """Runs after the other addons' request hooks: a flow still without a response goes upstream."""
        if flow.response or flow.error or not flow.live:
            return
        rt = self.settings.runtime_for(flow)
        timeout = rt.config.origin_timeout if rt is not None else 0
        if timeout and flow.id not in self._watches:
            self._watches[flow.id] = asyncio.get_running_loop().create_task(self._watch(flow, timeout))

    def response(self, flow: http.HTTPFlow) -> None:
        self._stop(flow)

    def error(self, flow: http.HTTPFlow) -> None:
        self._stop(flow)
        if detail := flow.metadata.get(TIMED_OUT):
            # the page for this error is built right after the error hooks, in this same task
            errorpages.ORIGIN_TIMED_OUT.set(detail)

    def done(self) -> None:
        for task in self._watches.values():
            task.cancel()
        self._watches.clear()

    def _stop(self, flow: http.HTTPFlow) -> None:
        task = self._watches.pop(flow.id, None)
        if task is not None and task is not asyncio.current_task():
            task.cancel()

    async def _watch(self, flow: http.HTTPFlow, timeout: float) -> None:
        started = time.time()
        try:
            while True:
                if flow.response is not None and flow.response.timestamp_end:
                    return  # the origin has sent everything; what is left is ours (rendering) or the client's
                quiet_since = max(started, self._last_activity(flow))
                wait = quiet_since + timeout - time.time()
                if wait <= 0:
                    break
                await asyncio.sleep(wait)
            self._expire(flow, timeout)
        except asyncio.CancelledError:
            pass
        finally:
            if self._watches.get(flow.id) is asyncio.current_task():
                del self._watches[flow.id]

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
