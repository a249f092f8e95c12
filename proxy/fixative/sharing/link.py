"""The connection to the gallery's Redis: reads a client's shared state, writes what changed, and
notices when Redis goes away and comes back.

While Redis is down every request is judged on this instance's own state and every change waits in
the DeltaLogs (bounded); when Redis answers again the backlog is written, so nothing is lost short
of the cap (which `lost` counts).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from . import redisops
from .delta import SharedView
from .settings import SharedSettings, redact
from .tracked import DeltaLog

log = logging.getLogger(__name__)
BATCH = 200          # clients per pipeline
PROBE_SECONDS = 1.0  # how often a down Redis is tried again
FAILURES = (aioredis.RedisError, OSError, asyncio.TimeoutError)


class RedisLink:
    def __init__(self, settings: SharedSettings, ttl: float, instance: str):
        self.settings = settings
        self.prefix = settings.prefix
        self.ttl = max(1, int(ttl))
        self.instance = instance
        pool = aioredis.BlockingConnectionPool.from_url(
            settings.redis, max_connections=32, timeout=settings.timeout,
            socket_timeout=max(settings.timeout, 1.0), socket_connect_timeout=max(settings.timeout, 1.0),
            retry=Retry(NoBackoff(), 0))
        self.client = aioredis.Redis(connection_pool=pool)
        self._read = self.client.register_script(redisops.READ_LUA)  # EVALSHA, loaded again if Redis restarted
        self.logs: list[DeltaLog] = []
        self.counts: Counter[str] = Counter()
        self.up = False
        self.changed_at = time.time()
        self.last_error: str | None = "not connected yet"
        self.outages = 0
        self.loads = self.load_failures = self.writes = 0
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    # -- lifecycle
    def attach(self, delta_log: DeltaLog) -> None:
        delta_log.on_change = self._wake.set
        self.logs.append(delta_log)

    def start(self) -> None:
        if not self._tasks:
            self._tasks = [asyncio.create_task(self._writer()), asyncio.create_task(self._prober())]

    async def stop(self) -> None:
        """Write what is pending (briefly), then close."""
        for task in self._tasks:
            task.cancel()
        self._tasks = []
        if self.up:
            try:
                await asyncio.wait_for(self._flush_all(), 2.0)
            except FAILURES:
                pass
        await self.client.aclose()

    # -- state
    def mark_down(self, error: BaseException | str) -> None:
        text = error if isinstance(error, str) else (str(error) or type(error).__name__)
        self.last_error = text[:300]
        if self.up:
            self.up = False
            self.changed_at = time.time()
            self.outages += 1
            log.warning("fixative: shared state: Redis at %s unreachable (%s); judging on this instance's "
                        "own state until it answers again", redact(self.settings.redis), self.last_error)

    def mark_up(self) -> None:
        if not self.up:
            self.up = True
            self.changed_at = time.time()
            self.last_error = None
            if self.outages or self.backlog():  # a first connection is not news; a return is
                log.warning("fixative: shared state: Redis at %s answers again; writing %d clients' changes",
                            redact(self.settings.redis), self.backlog())
            self._wake.set()

    def backlog(self) -> int:
        return sum(len(d) for d in self.logs)

    def lost(self) -> int:
        return sum(d.lost for d in self.logs)

    # -- reading one client
    async def load(self, scope: str, key: str) -> SharedView | None:
        """The client as Redis holds it, or None (unknown there, or Redis down: use local state)."""
        if not self.up:
            return None
        self.loads += 1
        try:
            async with asyncio.timeout(self.settings.timeout):  # no extra task per request, unlike wait_for
                reply = await self._read(keys=[redisops.client_key(self.prefix, scope, key)])
        except FAILURES as e:
            self.load_failures += 1
            self.mark_down(e)
            return None
        return redisops.parse_read(reply)

    def count(self, field: str) -> None:
        """One decision for the gallery-wide counters (written with the next batch)."""
        self.counts[field] += 1
        if len(self.counts) == 1:
            self._wake.set()

    # -- background
    async def _writer(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            if not self.up:
                continue
            try:
                await self._flush_all()
            except FAILURES as e:
                self.mark_down(e)
            await asyncio.sleep(0.005)  # gather a few more changes into the next pipeline

    async def _flush_all(self) -> None:
        for delta_log in self.logs:
            while delta_log.pending and self.up:
                items = delta_log.take(BATCH)
                try:
                    # EVAL, not EVALSHA: a pipeline of scripts would ask Redis whether it knows them first,
                    # an extra round trip per batch; Redis caches the compiled script by its text anyway.
                    pipe = self.client.pipeline(transaction=False)
                    for key, delta in items:
                        pipe.eval(redisops.WRITE_LUA, 1, redisops.client_key(self.prefix, delta_log.scope, key),
                                  *redisops.write_args(delta, self.ttl))
                    async with asyncio.timeout(max(self.settings.timeout * 8, 2.0)):
                        await pipe.execute()
                except BaseException:
                    delta_log.put_back(items)
                    raise
                delta_log.written(items)
                self.writes += len(items)
        if self.counts:
            counts, self.counts = self.counts, Counter()
            try:
                pipe = self.client.pipeline(transaction=False)
                for field, n in counts.items():
                    pipe.hincrby(f"{self.prefix}:counts", field, n)
                await asyncio.wait_for(pipe.execute(), max(self.settings.timeout * 8, 2.0))
            except BaseException:
                self.counts.update(counts)
                raise

    async def _prober(self) -> None:
        while True:
            if not self.up:
                try:
                    await asyncio.wait_for(self.client.ping(), max(self.settings.timeout, 1.0))
                except FAILURES as e:
                    self.mark_down(e)
                else:
                    self.mark_up()
            await asyncio.sleep(PROBE_SECONDS)

    async def call(self, make: Any, timeout: float = 2.0) -> Any:
        """Run one command (a callable taking the client) for the other sharing parts; marks down on failure."""
        if not self.up:
            raise ConnectionError(self.last_error or "Redis is down")
        try:
            return await asyncio.wait_for(make(self.client), timeout)
        except FAILURES as e:
            self.mark_down(e)
            raise ConnectionError(str(e) or type(e).__name__) from e

    def status(self) -> dict[str, Any]:
        return {"redis": redact(self.settings.redis), "prefix": self.prefix, "instance": self.instance,
                "up": self.up, "since": self.changed_at, "last_error": self.last_error,
                "outages": self.outages, "pending_clients": self.backlog(), "lost_clients": self.lost(),
                "loads": self.loads, "load_failures": self.load_failures, "writes": self.writes}

