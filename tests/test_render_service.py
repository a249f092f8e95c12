"""RenderService: the pool's queue bound, the per-image time limit, shared renders and the cache."""

from __future__ import annotations

import asyncio
import threading
import time

from fixative.treatments.service import RenderService


def _sleeper(seconds: float, value: bytes, calls: list[str] | None = None):
    def work() -> bytes:
        if calls is not None:
            calls.append(threading.current_thread().name)
        time.sleep(seconds)
        return value
    return work


def test_time_limit_runs_from_the_start_of_the_work_not_from_the_queue():
    # One worker, a 1 s limit, three 0.4 s images queued at once: the last waits 0.8 s and ends at 1.2 s,
    # past the limit counted from the queue, within it counted from its start.
    async def main() -> list[bytes | None]:
        service = RenderService(workers=1, time_limit=1.0)
        try:
            return await asyncio.gather(*(service.render((i,), _sleeper(0.4, b"ok%d" % i)) for i in range(3)))
        finally:
            service.close()

    assert asyncio.run(main()) == [b"ok0", b"ok1", b"ok2"]


def test_work_over_the_limit_is_a_block_and_counted():
    async def main() -> tuple[bytes | None, int]:
        service = RenderService(workers=1, time_limit=0.2)
        try:
            return await service.render(("slow",), _sleeper(0.6, b"late")), service.timeouts
        finally:
            service.close()

    assert asyncio.run(main()) == (None, 1)


def test_beyond_max_pending_is_refused_at_once():
    async def main() -> tuple[list[bytes | None], int]:
        service = RenderService(workers=1, time_limit=5, max_pending=2)
        try:
            results = await asyncio.gather(*(service.render((i,), _sleeper(0.1, b"x")) for i in range(4)))
            return list(results), service.overloaded
        finally:
            service.close()

    results, overloaded = asyncio.run(main())
    assert results == [b"x", b"x", None, None] and overloaded == 2


def test_identical_requests_share_one_render_and_then_the_cache():
    calls: list[str] = []

    async def main() -> list[bytes | None]:
        service = RenderService(workers=2, time_limit=5)
        try:
            first = await asyncio.gather(*(service.render(("same",), _sleeper(0.1, b"v", calls)) for _ in range(5)))
            again = await service.render(("same",), _sleeper(0.1, b"other", calls))
            return [*first, again]
        finally:
            service.close()

    assert asyncio.run(main()) == [b"v"] * 6
    assert len(calls) == 1


def test_a_failing_render_is_a_block_not_an_exception():
    def broken() -> bytes:
        raise ValueError("not an image")

    async def main() -> tuple[bytes | None, int]:
        service = RenderService(workers=1, time_limit=5)
        try:
            return await service.render(("bad",), broken), service.failures
        finally:
            service.close()

    assert asyncio.run(main()) == (None, 1)


def test_render_threads_run_at_a_lower_priority_than_the_event_loop():
    """So a burst of renders for scrapers cannot starve the loop that serves people (bench/soak.py)."""
    import os

    service = RenderService(workers=1)

    def priority() -> bytes:
        return str(os.getpriority(os.PRIO_PROCESS, threading.get_native_id())).encode()

    try:
        rendered = asyncio.run(service.render(("nice",), priority))
    finally:
        service.close()
    assert rendered is not None and int(rendered) > os.getpriority(os.PRIO_PROCESS, 0)


def test_a_render_past_its_limit_is_not_started_again_and_its_late_result_is_kept():
    """The caller gets a block; requests meanwhile get a block without a second render; the result,
    when it lands, is cached (found by bench/soak.py: abandoned renders piled up under CPU starvation)."""
    calls: list[str] = []

    async def scenario() -> tuple[bytes | None, bytes | None, bytes | None]:
        service = RenderService(workers=1, time_limit=0.1)
        try:
            first = await service.render(("late",), _sleeper(0.4, b"late", calls))
            meanwhile = await service.render(("late",), _sleeper(0.4, b"again", calls))
            await asyncio.sleep(0.6)
            after = await service.render(("late",), _sleeper(0.4, b"again", calls))
            return first, meanwhile, after
        finally:
            service.close()

    assert asyncio.run(scenario()) == (None, None, b"late")
    assert len(calls) == 1


def test_an_image_that_waits_too_long_for_a_worker_is_a_block_and_never_runs():
    # One worker busy for 1.5 s, a 0.5 s limit: the queued image gives up after 0.5 s and is cancelled.
    calls: list[str] = []

    async def main() -> tuple[list[bytes | None], int]:
        service = RenderService(workers=1, time_limit=0.5)
        try:
            busy = asyncio.ensure_future(service.render(("busy",), _sleeper(1.5, b"slow")))
            await asyncio.sleep(0.05)
            queued = await service.render(("queued",), _sleeper(0.1, b"q", calls))
            return [queued, await busy], service.overloaded
        finally:
            service.close()

    results, overloaded = asyncio.run(main())
    assert results == [None, None] and overloaded == 1
    time.sleep(0.3)
    assert calls == []  # the queued render was cancelled, not run later for nobody
