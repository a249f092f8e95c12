"""HookTable does what mitmproxy's own AddonManager does, event for event: the same script of addons
(sync, async, failing, halting, with children that change, added and removed between events) runs
through both, and the calls and the logged errors must be the same."""

from __future__ import annotations

import asyncio
import logging
import types

import pytest
from fixative.config import load_config
from fixative.hooktable import HookTable
from fixative.runtime import build_runtime
from fixative.server import make_master
from mitmproxy import addonmanager, exceptions
from mitmproxy.hooks import RunningHook
from mitmproxy.proxy.layers.http import HttpRequestHook, HttpResponseHook
from mitmproxy.test import taddons, tflow


class Calls:
    def __init__(self, name: str, log: list[str]):
        self.name, self.log = name, log

    def request(self, flow) -> None:  # type: ignore[no-untyped-def]
        self.log.append(f"{self.name}.request")

    def response(self, flow) -> None:  # type: ignore[no-untyped-def]
        self.log.append(f"{self.name}.response")

    def update(self, flows) -> None:  # type: ignore[no-untyped-def]
        self.log.append(f"{self.name}.update {len(flows)}")


class Slow(Calls):
    def request(self, flow):  # type: ignore[no-untyped-def]
        self.log.append(f"{self.name}.request")
        return self._later()

    async def _later(self) -> None:
        await asyncio.sleep(0.005)
        self.log.append(f"{self.name}.request done")


class Broken(Calls):
    def request(self, flow) -> None:  # type: ignore[no-untyped-def]
        self.log.append(f"{self.name}.request")
        raise RuntimeError(f"{self.name} broke")


class BrokenLater(Calls):
    async def response(self, flow) -> None:  # type: ignore[no-untyped-def]
        self.log.append(f"{self.name}.response")
        raise ValueError(f"{self.name} broke later")


class Halting(Calls):
    def response(self, flow) -> None:  # type: ignore[no-untyped-def]
        self.log.append(f"{self.name}.response")
        raise exceptions.AddonHalt()


class Parent(Calls):
    """Like mitmproxy's script loader: children that come and go while running."""

    def __init__(self, name: str, log: list[str]):
        super().__init__(name, log)
        self.addons: list[object] = []


class Oddities:
    """Attributes named like hooks that are not handlers: a module, a non-callable, a falsy value."""

    name = "oddities"
    request = types.ModuleType("request")
    response = 0


class NotCallable:
    name = "notcallable"
    response = "surprise"

    def __repr__(self) -> str:  # the same in both runs' error messages
        return "NotCallable"


def script(tctx: taddons.context, log: list[str]):  # type: ignore[no-untyped-def]
    """Drive one addon manager through the scenario; returns the coroutine to run."""
    manager = tctx.master.addons
    flow = tflow.tflow(resp=True)
    parent = Parent("parent", log)
    later = Calls("later", log)

    async def run() -> None:
        manager.add(Calls("a", log), Slow("b", log), Broken("c", log), parent, Oddities(),
                    BrokenLater("d", log), Calls("e", log))
        for step in range(2):  # the second time from the table
            log.append(f"-- step {step}")
            await manager.handle_lifecycle(HttpRequestHook(flow))
            await manager.handle_lifecycle(HttpResponseHook(flow))
        log.append("-- children and a new addon")
        parent.addons.append(Calls("child", log))
        manager.add(later)
        await manager.handle_lifecycle(HttpRequestHook(flow))
        log.append("-- a halting addon, an odd one, one removed")
        manager.add(NotCallable(), Halting("h", log), Calls("after-halt", log))
        manager.remove(later)
        parent.addons.clear()
        await manager.handle_lifecycle(HttpResponseHook(flow))
        await manager.handle_lifecycle(HttpRequestHook(flow))
    return run()


async def play(install: bool, caplog: pytest.LogCaptureFixture) -> tuple[list[str], list[str]]:
    log: list[str] = []
    caplog.clear()
    with taddons.context() as tctx:
        if install:
            HookTable.install(tctx.master.addons)
        with caplog.at_level(logging.ERROR, logger=addonmanager.logger.name):
            await script(tctx, log)
    errors = [r.getMessage() for r in caplog.records if r.name == addonmanager.logger.name]
    return log, errors


@pytest.mark.asyncio
async def test_same_calls_and_errors_as_mitmproxys_manager(caplog: pytest.LogCaptureFixture) -> None:
    mitmproxy_log, mitmproxy_errors = await play(False, caplog)
    table_log, table_errors = await play(True, caplog)
    assert table_log == mitmproxy_log
    assert table_errors == mitmproxy_errors
    # and the scenario did exercise what it is for
    assert "b.request done" in table_log and "child.request" in table_log and "later.request" in table_log
    assert table_log.count("later.request") == 1  # removed before the last request
    assert "after-halt.response" not in table_log and "after-halt.request" in table_log
    assert "e.update 1" in table_log
    assert any("c broke" in e for e in table_errors) and any("d broke later" in e for e in table_errors)
    assert any("not callable" in e for e in table_errors)


@pytest.mark.asyncio
async def test_options_error_reaches_the_caller() -> None:
    class Strict:
        def running(self) -> None:
            raise exceptions.OptionsError("bad option")

    with taddons.context(Strict()) as tctx:
        HookTable.install(tctx.master.addons)
        with pytest.raises(exceptions.OptionsError):
            await tctx.master.addons.trigger_event(RunningHook())


@pytest.mark.asyncio
async def test_install_refuses_a_manager_it_does_not_know() -> None:
    class Other(addonmanager.AddonManager):
        pass

    with taddons.context() as tctx:
        HookTable.install(tctx.master.addons)
        with pytest.raises(TypeError, match="HookTable"):
            HookTable.install(tctx.master.addons)  # already one
        tctx.master.addons.__class__ = Other
        with pytest.raises(TypeError, match="Other"):
            HookTable.install(tctx.master.addons)


@pytest.mark.asyncio
async def test_fixative_run_builds_its_master_with_the_table(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """What `fixative run` starts (server.make_master): the table is mitmproxy's manager, and an event
    reaches Fixative's addons through it (a request gets its decision)."""
    runtime = build_runtime(load_config(None, state_dir=tmp_path, upstream="http://127.0.0.1:9"))
    try:
        master = make_master(runtime, "http://127.0.0.1:9", "127.0.0.1", 0, lambda addrs: "up")
        assert type(master.addons) is HookTable
        assert master.addons.get("fixative") is not None
        flow = tflow.tflow()
        flow.request.headers["User-Agent"] = "curl/8.7.1"
        await master.addons.handle_lifecycle(HttpRequestHook(flow))
        decision = flow.metadata.get("fixative.decision")
        assert decision is not None and decision.verdict == "scraper"
    finally:
        runtime.close()
