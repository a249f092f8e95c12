"""Subscriptions: keeps subscribed rule packs fresh, in the background.

The proxy starts with each pack's last good copy from the cache (see runtime.build_runtime),
so it works offline. Here each subscription is fetched at start (unless checked less than
one interval ago) and then every `refresh`. A new copy must verify (pin or signature), load
on its own, and load with every other pack (RuleControl.rebuild); only then is it cached and
put in force. Any failure is logged as a warning naming the URL and the reason, and the
previous copy stays; after a failure the next try comes sooner (at most RETRY_SECONDS).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import aiohttp

from .. import __version__
from ..admin.rulectl import RuleControl
from ..rules.loader import RulePackError
from ..runtime import Runtime
from ..subscriptions.cache import CacheError, mark_checked, read_copy, stage
from ..subscriptions.fetch import MAX_SIGNATURE_BYTES, FetchError, fetch
from ..subscriptions.spec import Subscription
from ..subscriptions.verify import VerificationError, parse_signature, sha256_hex, verify
from .settings import Settings

log = logging.getLogger(__name__)
RETRY_SECONDS = 300.0
USER_AGENT = f"Fixative/{__version__} (rule-pack subscription)"


def describe(sub: Subscription) -> dict[str, Any]:
    checks = [name for name, on in (("sha256", sub.sha256), ("ed25519", sub.public_key)) if on]
    return {"name": sub.name, "url": sub.url, "verify": "+".join(checks), "refresh": sub.refresh,
            "ok": None, "error": None, "checked": None, "fetched": None, "sha256": None, "pack": None,
            "version": None}


def first_delay(meta: dict[str, Any] | None, refresh: float, now: float) -> float:
    """Seconds until the first fetch: now, unless the cached copy was checked less than `refresh` ago."""
    checked = meta.get("checked") if meta else None
    if not isinstance(checked, (int, float)):
        return 0.0
    return max(0.0, min(refresh, checked + refresh - now))


class Subscriptions:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.tasks: list[asyncio.Task[None]] = []
        self.session: aiohttp.ClientSession | None = None

    async def running(self) -> None:
        rt = self.settings.runtime
        if rt is None or not rt.config.subscriptions or self.tasks:
            return
        control = self.settings.rule_control()
        self.session = aiohttp.ClientSession(headers={"User-Agent": USER_AGENT})
        for sub in rt.config.subscriptions:
            status = control.subscriptions[sub.name] = describe(sub)
            meta = await asyncio.to_thread(self._cached_meta, rt, sub)
            if meta:
                status.update({k: meta.get(k) for k in ("checked", "fetched", "sha256", "pack", "version")})
            else:
                log.info("fixative subscriptions: %s: no verified copy yet; fetching it", sub.url)
            delay = first_delay(meta, sub.refresh, time.time())
            self.tasks.append(asyncio.create_task(self._follow(rt, control, sub, delay),
                                                  name=f"fixative subscription {sub.name}"))

    async def done(self) -> None:
        tasks, self.tasks = self.tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self.session is not None:
            session, self.session = self.session, None
            await session.close()

    @staticmethod
    def _cached_meta(rt: Runtime, sub: Subscription) -> dict[str, Any] | None:
        try:
            copy = read_copy(rt.config.state_dir, sub)
        except CacheError:
            return None  # startup_rules has said why
        return copy[1] if copy else None

    async def _follow(self, rt: Runtime, control: RuleControl, sub: Subscription, delay: float) -> None:
        while True:
            await asyncio.sleep(delay)
            rt = self.settings.runtime or rt  # mitmproxy options may have rebuilt it
            ok = await self.refresh(rt, control, sub)
            delay = sub.refresh if ok else min(sub.refresh, RETRY_SECONDS)

    async def refresh(self, rt: Runtime, control: RuleControl, sub: Subscription) -> bool:
        """One check of one subscription; True if the copy in force is the upstream's current one."""
        assert self.session is not None
        status = control.subscriptions.setdefault(sub.name, describe(sub))
        state_dir = rt.config.state_dir
        meta = await asyncio.to_thread(self._cached_meta, rt, sub)
        try:
            got = await fetch(self.session, sub.url, etag=meta.get("etag") if meta else None,
                              last_modified=meta.get("last_modified") if meta else None)
            body = got.body
            if body is not None:
                signature = None
                if sub.public_key is not None:
                    sig = await fetch(self.session, sub.signature_url, limit=MAX_SIGNATURE_BYTES)
                    signature = parse_signature(sig.body or b"")
                verify(body, sub.sha256, sub.public_key, signature)
            if meta and (body is None or sha256_hex(body) == meta.get("sha256")):  # unchanged
                meta = await asyncio.to_thread(mark_checked, state_dir, sub, meta, etag=got.etag,
                                               last_modified=got.last_modified)
                status.update(ok=True, error=None, checked=meta["checked"])
                return True
            assert body is not None  # conditional requests are only made for a cached copy
            staged = await asyncio.to_thread(stage, state_dir, sub, body, signature, etag=got.etag,
                                             last_modified=got.last_modified)
            try:
                await control.rebuild(rt, staged=[staged], why=f"subscription {sub.name}")
            finally:
                await asyncio.to_thread(staged.discard)
        except (FetchError, VerificationError, RulePackError, OSError) as e:
            reason, details = refusal(e)
            again = status.get("error") == reason  # the same failure as last time: said once is enough
            status.update(ok=False, error=reason, checked=time.time())
            fetched = meta.get("fetched") if meta else None
            kept = (f"still using the copy fetched {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(fetched))}"
                    if isinstance(fetched, (int, float)) else "no copy yet, the pack is not in force")
            log.log(logging.INFO if again else logging.WARNING, "fixative subscriptions: %s: %s; %s%s",
                    sub.url, reason, kept, "".join(f"\n  {d}" for d in details))
            return False
        status.update(ok=True, error=None, **{k: staged.meta[k] for k in ("checked", "fetched", "sha256", "pack",
                                                                          "version")})
        log.info("fixative subscriptions: %s: %s %s in force", sub.url, staged.meta["pack"], staged.meta["version"])
        return True


def refusal(e: Exception) -> tuple[str, list[str]]:
    """The logged reason in a sentence, and details (a pack's problems, one per line)."""
    if isinstance(e, FetchError):
        return f"could not fetch: {e}", []
    if isinstance(e, VerificationError):
        return f"refused, it does not verify: {e}", []
    if isinstance(e, RulePackError):
        return "refused, the new copy does not load", list(e.problems)
    return f"could not save the new copy: {e}", []
