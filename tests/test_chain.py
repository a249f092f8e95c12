"""Chain: Fixative's addons as one entry in mitmproxy's addon manager (the real one, via taddons)."""

from __future__ import annotations

import asyncio
import logging

import pytest
from fixative.addons import make_addons
from fixative.addons.chain import Chain
from fixative.addons.classify import Classify
from fixative.addons.settings import Settings
from mitmproxy import exceptions, hooks
from mitmproxy.proxy.layers.http import HttpRequestHook, HttpResponseHook
from mitmproxy.test import taddons, tflow


class Calls:
    """Addons that write what they are called with into one shared list."""

    def __init__(self, name: str, log: list[str]):
        self.name_, self.log = name, log

    def request(self, flow) -> None:  # type: ignore[no-untyped-def]
        self.log.append(f"{self.name_}.request")

    def response(self, flow) -> None:  # type: ignore[no-untyped-def]
        self.log.append(f"{self.name_}.response")


class Slow(Calls):
    def request(self, flow):  # type: ignore[no-untyped-def]
        self.log.append(f"{self.name_}.request")
        return self._later()

    async def _later(self) -> None:
        await asyncio.sleep(0.01)
        self.log.append(f"{self.name_}.request done")


class Broken(Calls):
    def request(self, flow) -> None:  # type: ignore[no-untyped-def]
        self.log.append(f"{self.name_}.request")
        raise RuntimeError("boom")


class BrokenLater(Calls):
    async def request(self, flow) -> None:  # type: ignore[no-untyped-def]
        self.log.append(f"{self.name_}.request")
        raise RuntimeError("boom later")


class StrictOption:
    def configure(self, updated: set[str]) -> None:
        raise exceptions.OptionsError("fixative_config: bad")


async def trigger(tctx: taddons.context, *hooks) -> None:  # type: ignore[no-untyped-def]
    for hook in hooks:
        await tctx.master.addons.handle_lifecycle(hook)


@pytest.mark.asyncio
async def test_each_member_gets_each_event_once_in_order() -> None:
    log: list[str] = []
    flow = tflow.tflow(resp=True)
    with taddons.context(Chain([Calls("a", log), Calls("b", log)])) as tctx:
        await trigger(tctx, HttpRequestHook(flow), HttpResponseHook(flow))
    assert log == ["a.request", "b.request", "a.response", "b.response"]


@pytest.mark.asyncio
async def test_an_async_hook_finishes_before_the_next_member_runs() -> None:
    log: list[str] = []
    with taddons.context(Chain([Calls("a", log), Slow("b", log), Calls("c", log)])) as tctx:
        await trigger(tctx, HttpRequestHook(tflow.tflow()))
    assert log == ["a.request", "b.request", "b.request done", "c.request"]


@pytest.mark.asyncio
@pytest.mark.parametrize("broken", [Broken, BrokenLater])
async def test_one_member_failing_is_logged_and_the_others_still_run(
        broken: type, caplog: pytest.LogCaptureFixture) -> None:
    log: list[str] = []
    members = [Calls("a", log), broken("x", log), Slow("b", log), Calls("c", log)]
    with taddons.context(Chain(members)) as tctx, caplog.at_level(logging.ERROR):
        await trigger(tctx, HttpRequestHook(tflow.tflow()))
    assert log == ["a.request", "x.request", "b.request", "b.request done", "c.request"]
    assert any("Addon error" in r.getMessage() and f"{broken.__name__}.request" in r.getMessage()
               and "boom" in r.getMessage() for r in caplog.records)


def test_an_invalid_option_still_reaches_the_user() -> None:
    with taddons.context(Chain([StrictOption()])) as tctx, \
            pytest.raises(exceptions.OptionsError, match="fixative_config: bad"):
        tctx.master.addons.trigger(hooks.ConfigureHook({"fixative_config"}))


def test_events_no_member_handles_are_not_offered() -> None:
    chain = Chain([Calls("a", [])])
    assert callable(chain.request) and not hasattr(chain, "update") and not hasattr(chain, "tcp_message")


def test_mitmproxy_holds_fixative_as_one_addon_with_every_member() -> None:
    settings = Settings()
    addons = make_addons(settings, extra=["extra"])
    assert len(addons) == 1 and isinstance(addons[0], Chain)
    members = addons[0].members
    assert members[0] is settings and members[-1] == "extra"
    assert addons[0].find(Classify) is not None
    # mitmproxy walks an `addons` attribute itself: the members must not be offered to it twice
    assert not hasattr(addons[0], "addons")
