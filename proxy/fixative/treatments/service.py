"""Renders altered images off the event loop: bounded workers, a time limit, a byte-bounded cache.

A result of None means "could not render safely" and the caller falls back to a block.
Identical concurrent requests share one render, so a flood of scrapers on one work costs one.
An optional DiskCache (attach with `use_disk`) is consulted after memory and before rendering,
on its own I/O thread so disk never waits behind renders.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..background import yield_to_the_proxy
from .diskcache import DiskCache

log = logging.getLogger(__name__)


class ByteLRU:
    """An LRU cache of bytes values bounded by their total size."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self.size = 0
        self.hits = 0
        self.misses = 0
        self._items: OrderedDict[tuple, bytes] = OrderedDict()

    def get(self, key: tuple) -> bytes | None:
        value = self._items.get(key)
        if value is None:
            self.misses += 1
            return None
        self.hits += 1
        self._items.move_to_end(key)
        return value

    def put(self, key: tuple, value: bytes) -> None:
        if len(value) > self.max_bytes // 4:
            return  # one huge item would flush everything else
        old = self._items.pop(key, None)
        if old is not None:
            self.size -= len(old)
        self._items[key] = value
        self.size += len(value)
        while self.size > self.max_bytes:
            _, evicted = self._items.popitem(last=False)
            self.size -= len(evicted)

    def __len__(self) -> int:
        return len(self._items)


class RenderService:
    """Runs image work in a small thread pool with a deadline and a cache."""

    def __init__(self, workers: int = 2, time_limit: float = 10.0, cache_bytes: int = 128 << 20,
                 max_pending: int = 64):
        self.time_limit = time_limit
        self.max_pending = max_pending
        self.cache = ByteLRU(cache_bytes)
        self.timeouts = 0
        self.failures = 0
        self.overloaded = 0
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fixative-image",
                                        initializer=yield_to_the_proxy)
        self._inflight: dict[tuple, asyncio.Future[bytes | None]] = {}
        self._late: set[tuple] = set()  # renders past their time limit, still running in a worker
        self.disk: DiskCache | None = None
        self._io: ThreadPoolExecutor | None = None

    def use_disk(self, disk: DiskCache | None) -> None:
        """Keep rendered variants in `disk` too (None: memory only)."""
        self.disk = disk
        if disk is not None and self._io is None:
            self._io = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fixative-variant-io")

    async def render(self, key: tuple, work: Callable[[], bytes]) -> bytes | None:
        """The cached result for key, or work() run in the pool; None on failure, timeout or overload."""
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        running = self._inflight.get(key)
        if running is not None:
            return await asyncio.shield(running)
        if key in self._late:
            return None  # its render is still running late: a block now, the cached result when it lands
        if len(self._inflight) >= self.max_pending:
            self.overloaded += 1
            return None
        future: asyncio.Future[bytes | None] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            result = await self._from_disk(key)
            if result is None:
                result = await self._run(work, key)
                if result is not None and self.disk is not None and self._io is not None:
                    self._io.submit(self.disk.put, key, result)  # fire and forget: a miss costs a render
            if result is not None:
                self.cache.put(key, result)
            future.set_result(result)
            return result
        finally:
            if not future.done():
                future.set_result(None)
            del self._inflight[key]

    async def _from_disk(self, key: tuple) -> bytes | None:
        if self.disk is None or self._io is None:
            return None
        try:
            return await asyncio.get_running_loop().run_in_executor(self._io, self.disk.get, key)
        except Exception as e:  # noqa: BLE001 - a broken disk cache only costs renders
            log.warning("variant cache read failed: %s", e)
            return None

    async def _run(self, work: Callable[[], bytes], key: tuple) -> bytes | None:
        # Two bounds of time_limit each: waiting for a worker, then rendering. The render's limit runs from
        # when a worker picks the image up, so a burst's queued images do not all time out; the wait has
        # its own, so when the workers are starved of CPU a scraper gets a block instead of waiting forever.
        loop = asyncio.get_running_loop()
        started = asyncio.Event()

        def timed() -> bytes:
            loop.call_soon_threadsafe(started.set)
            return work()

        future = loop.run_in_executor(self._pool, timed)
        waiting = asyncio.ensure_future(started.wait())
        either: set[asyncio.Future[Any]] = {future, waiting}
        try:
            try:
                await asyncio.wait(either, timeout=self.time_limit, return_when=asyncio.FIRST_COMPLETED)
            finally:
                waiting.cancel()
            if not future.done() and not started.is_set() and future.cancel():
                self.overloaded += 1  # never started: no worker came free in time
                log.info("no image worker free within %.1f s; serving a block instead", self.time_limit)
                return None
            return await asyncio.wait_for(asyncio.shield(future), self.time_limit)
        except TimeoutError:
            # A thread cannot be stopped: let the render finish and keep its result, rather than start
            # the same render again on the next request (under CPU starvation that became a treadmill of
            # abandoned renders that kept the workers busy, produced nothing and starved the event loop).
            self.timeouts += 1
            self._late.add(key)
            future.add_done_callback(functools.partial(self._landed, key))
            log.warning("image treatment took longer than %.1f s; serving a block instead", self.time_limit)
        except Exception as e:  # a hostile image must never take the proxy down
            self.failures += 1
            log.info("image treatment failed (%s: %s); serving a block instead", type(e).__name__, e)
        return None

    def _landed(self, key: tuple, future: asyncio.Future[bytes]) -> None:
        self._late.discard(key)
        if not future.cancelled() and future.exception() is None:
            self.cache.put(key, future.result())

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self._io is not None:
            self._io.shutdown(wait=True)  # let pending writes land: they are small and few
