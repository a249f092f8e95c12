"""Fuzz the admin API against its OpenAPI document with Schemathesis, over a real backend and origin."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from aiohttp import web
from fixative.admin.app import OPENAPI, make_app, make_runner
from fixative.admin.state import Holder, make_state
from fixative.config import load_config
from fixative.runtime import build_runtime
from harness import OriginThread, free_port
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance
from schemathesis.core.parameters import ParameterLocation

TOKEN = "s" * 43
AUTH = {"Authorization": f"Bearer {TOKEN}"}
schema = schemathesis.openapi.from_path(OPENAPI)


@pytest.fixture(scope="module")
def backend(origin: OriginThread, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The admin app on a real port, in its own thread and loop (as inside mitmproxy)."""
    state_dir: Path = tmp_path_factory.mktemp("admin-fuzz")
    rt = build_runtime(load_config(None, state_dir=state_dir, upstream=origin.url))
    rt.events.start()
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    port = free_port()

    async def start() -> web.AppRunner:
        state = make_state(Holder(rt), origin.url, TOKEN)
        runner = make_runner(make_app(state))
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        return runner

    runner = asyncio.run_coroutine_threadsafe(start(), loop).result(15)
    yield f"http://127.0.0.1:{port}"
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(15)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    rt.close()


@schema.exclude(path="/api/events/stream").parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_matches_its_openapi_document(case, backend):
    # since < until is a constraint between two parameters that a schema cannot state
    excluded = [positive_data_acceptance] if case.path == "/api/stats" else []
    # A negative case that drops the Authorization header must go out without our token, or the
    # "invalid" request it meant to send becomes a valid one (and its 200 looks like a bug).
    dropped_auth = case.meta is not None and case.meta.is_negative_at(ParameterLocation.HEADER)
    case.call_and_validate(base_url=backend, headers={} if dropped_auth else AUTH, timeout=30,
                           excluded_checks=excluded)
