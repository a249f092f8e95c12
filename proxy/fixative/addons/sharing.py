"""Sharing: with `shared:` in the config, this instance's behaviour state, overrides and counters are
the gallery's, through Redis. Without it, this addon does nothing.

Its request hook runs before Classify: it fetches the client's shared state (everything every instance
has seen it do) into the local store, so the ordinary signals judge the whole client. Changes go back
through the TrackedState/DeltaLog machinery (sharing/tracked.py) in batches. Redis down: requests are
judged on local state, changes wait, status and metrics say so.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from typing import Any

from mitmproxy import ctx, http
from redis.exceptions import WatchError

from ..admin.overrides import read_overrides
from ..behaviour.client import client_key
from ..runtime import Runtime
from ..sharing import overrides as shared_overrides
from ..sharing import registry
from ..sharing.delta import adopt
from ..sharing.link import RedisLink
from ..sharing.redisops import text
from ..sharing.tracked import SharingClientStore
from .classify import request_facts
from .settings import Settings

log = logging.getLogger(__name__)
SYNC_SECONDS = 1.0
HEARTBEAT_SECONDS = 5.0


class Sharing:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.link: RedisLink | None = None
        self.attached: Runtime | None = None
        self.base: list[Any] | None = None  # the overrides both this instance and Redis last agreed on
        self.sync_error: str | None = None
        self._task: asyncio.Task[None] | None = None
        self.started = time.time()
        self.mode_pending: dict[str, str] = {}  # mode changes made here, to write: field ("*" or a site) -> value
        self.mode_seen: dict[str, float] = {}   # the newest change applied, by field

    def running(self) -> None:
        rt = self.settings.runtime
        if rt is None or rt.config.shared is None:
            return
        shared = rt.config.shared
        self.link = RedisLink(shared, rt.config.client_ttl, shared.instance_name(rt.config.listen))
        self._attach(rt)
        self.link.start()
        self._task = asyncio.create_task(self._sync_loop())

    def _attach(self, rt: Runtime) -> None:
        assert self.link is not None
        self.link.logs = []
        for target in (rt, *rt.sites.values()):
            if isinstance(target.clients, SharingClientStore):
                self.link.attach(target.clients.log)
        self.attached = rt
        rt.sharing = self  # the admin's status and metrics read it from the Runtime

    def request(self, flow: http.HTTPFlow) -> Coroutine[Any, Any, None] | None:
        """Without `shared:` (or with Redis down) nothing to wait for: no coroutine on the hot path."""
        link = self.link
        if link is None or not link.up or flow.response or not flow.live:
            return None
        return self._load(link, flow)

    async def _load(self, link: RedisLink, flow: http.HTTPFlow) -> None:
        if self.settings.runtime is not self.attached and self.settings.runtime is not None:
            self._attach(self.settings.runtime)
        rt = self.settings.runtime_for(flow)
        if rt is None or not isinstance(rt.clients, SharingClientStore):
            return
        facts = request_facts(flow, rt)  # Classify uses these rather than reading the request again
        key, _ = client_key(facts, rt.secret)
        store = rt.clients
        known = store.peek(key)
        if known is not None and facts.time - known.__dict__.get("_read_at", 0.0) < link.settings.fresh_for:
            return  # read a moment ago: a page's burst of images costs one read, not one each
        view = await link.load(store.log.scope, key)
        if view is not None:
            state = store.get(key, facts.time)
            adopt(state, view, store.log.unwritten(key))
            object.__setattr__(state, "_read_at", facts.time)

    def response(self, flow: http.HTTPFlow) -> None:
        if self.link is not None:
            self._count(flow)

    def error(self, flow: http.HTTPFlow) -> None:
        if self.link is not None:
            self._count(flow)

    def _count(self, flow: http.HTTPFlow) -> None:
        decision = flow.metadata.get("fixative.decision")
        if self.link is None or decision is None or flow.metadata.get("fixative.shared_counted"):
            return
        flow.metadata["fixative.shared_counted"] = True
        rt = self.settings.runtime_for(flow)
        site = (rt.site if rt is not None else None) or "-"
        self.link.count(f"{site}\t{decision.verdict}\t{flow.metadata.get('fixative.treatment', 'original')}")

    async def done(self) -> None:
        if self._task is not None:
            self._task.cancel()
        if self.link is not None:  # its registry entry stays: its event log is still worth reading
            await self.link.stop()

    # -- overrides and the registry, in the background
    async def _sync_loop(self) -> None:
        beat = 0.0
        while True:
            link, rt = self.link, self.settings.runtime
            if link is not None and rt is not None and link.up:
                try:
                    await self._sync_mode(link, rt)
                    await self._sync_overrides(link, rt)
                    if time.monotonic() - beat >= HEARTBEAT_SECONDS:
                        await self._heartbeat(link, rt)
                        beat = time.monotonic()
                    self.sync_error = None
                except (ConnectionError, ValueError) as e:
                    self.sync_error = str(e)[:300]
                except Exception as e:  # noqa: BLE001 - a rebuild that fails must not end the loop
                    self.sync_error = f"{type(e).__name__}: {e}"[:300]
                    log.warning("fixative: shared state: overrides not synchronised: %s", self.sync_error)
            await asyncio.sleep(SYNC_SECONDS)

    def share_mode(self, mode: str, site: str | None) -> None:
        """A mode switched from this instance's dashboard: every running instance follows (written now, or
        when Redis answers again). Instances started later go by their own config, as after a restart."""
        field, now = site or "*", time.time()
        self.mode_pending[field] = f"{mode}|{now!r}|{self.link.instance if self.link else ''}"
        self.mode_seen[field] = now

    async def _sync_mode(self, link: RedisLink, rt: Runtime) -> None:
        key = f"{link.prefix}:mode"
        if self.mode_pending:
            pending, self.mode_pending = self.mode_pending, {}
            try:
                await link.call(lambda client: client.hset(key, mapping=pending))
            except ConnectionError:
                self.mode_pending = {**pending, **self.mode_pending}
                raise
        changes = []
        for raw_field, raw in (await link.call(lambda client: client.hgetall(key))).items():
            field = text(raw_field)
            try:
                mode, at, _ = text(raw).split("|", 2)
                when = float(at)
            except ValueError:
                continue
            if when > self.mode_seen.get(field, self.started) and mode in ("observe", "enforce") \
                    and (field == "*" or field in rt.sites):
                changes.append((when, field, mode))
        for when, field, mode in sorted(changes):  # in the order they were made, as on the instance that made them
            rt.set_mode(mode, None if field == "*" else field)
            self.mode_seen[field] = when
            log.info("fixative: shared state: mode %s%s, as switched on another instance", mode,
                     "" if field == "*" else f" for site {field}")

    async def _sync_overrides(self, link: RedisLink, rt: Runtime) -> None:
        local = read_overrides(rt.config.state_dir)  # ValueError: a broken file stays local, reported
        key = f"{link.prefix}:{shared_overrides.KEY}"

        async def exchange(client: Any) -> list[Any] | None:
            async with client.pipeline(transaction=True) as pipe:
                await pipe.watch(key)
                remote = shared_overrides.decode(await pipe.get(key))
                if remote is not None and shared_overrides.same(local, remote):
                    await pipe.reset()
                    return local
                merged = local if remote is None else shared_overrides.merge(self.base or [], local, remote)
                if remote is None or not shared_overrides.same(merged, remote):
                    pipe.multi()
                    pipe.set(key, shared_overrides.encode(merged, link.instance))
                    try:
                        await pipe.execute()
                    except WatchError:  # another instance wrote meanwhile: merge again next round
                        return None
                return merged

        merged = await link.call(exchange)
        if merged is None:
            return
        if not shared_overrides.same(merged, local):
            log.info("fixative: shared state: applying the gallery's allow/deny list (%d entries)", len(merged))
            await self.settings.rule_control().rebuild(rt, overrides=merged, why="shared")
        self.base = merged

    async def _heartbeat(self, link: RedisLink, rt: Runtime) -> None:
        admin = getattr(ctx.options, "fixative_admin", None) if hasattr(ctx, "options") else None
        value = registry.heartbeat(link.instance, rt.config.listen, admin,
                                   str((rt.config.state_dir / "events.sqlite3").resolve()), rt.started)
        await link.call(lambda client: client.hset(f"{link.prefix}:{registry.KEY}", link.instance, value))

    async def instances(self) -> list[dict[str, Any]]:
        assert self.link is not None
        raw = await self.link.call(lambda client: client.hgetall(f"{self.link.prefix}:{registry.KEY}"))
        return registry.parse_instances(raw, time.time())

    async def report(self) -> dict[str, Any]:
        """For /api/status: the link's state, the instances and the gallery-wide counts (when Redis answers)."""
        assert self.link is not None
        out: dict[str, Any] = {**self.link.status(), "overrides_sync_error": self.sync_error,
                               "instances": [], "totals": {}}
        try:
            out["instances"] = await self.instances()
            totals: dict[str, dict[str, int]] = {}
            for field, n in (await self.link.call(lambda client: client.hgetall(
                    f"{self.link.prefix}:counts"))).items():  # type: ignore[union-attr]
                site, verdict, _treatment = text(field).split("\t")
                by_verdict = totals.setdefault(site, {})
                by_verdict[verdict] = by_verdict.get(verdict, 0) + int(n)
            out["totals"] = totals
        except (ConnectionError, ValueError):
            pass  # the link's own state already says Redis is down
        return out

