"""Reload: rule files changed on disk, or SIGHUP, rebuild the rules; the last good ones stay on failure.

Watched: the preset file, the packs it imports, the config's `packs:`, and STATE_DIR/overrides.yaml,
polled every POLL_SECONDS by size, mtime and inode (portable, no extra dependency). A change is
acted on once the files stop changing. The rebuild goes through the shared RuleControl, so a pack
that does not load is logged with the loader's file:line messages and the running rules stay.
Subscribed packs are not watched: the Subscriptions addon owns them. Other config settings
need a restart.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from pathlib import Path

from ..admin.overrides import OVERRIDES_FILE
from ..admin.rulectl import RuleControl
from ..rules.loader import RulePackError
from ..rules.presets import resolve_preset
from ..runtime import Runtime
from .settings import Settings

log = logging.getLogger(__name__)
POLL_SECONDS = 2.0
SETTLE_SECONDS = 0.3

Snapshot = dict[str, tuple[int, int, int] | None]


def watched_files(rt: Runtime, control: RuleControl) -> list[Path]:
    """The files whose change means a reload (every site's, with `sites:`); a preset that does not load
    still has its own file watched."""
    files: list[Path] = []
    for config in (rt.config, *(site.config for site in rt.sites.values())):
        try:
            files.append(resolve_preset(config.preset))
            files += control.pack_files(config)
        except (RulePackError, ValueError):
            files += list(config.packs)
    files.append(rt.config.state_dir / OVERRIDES_FILE)
    return list(dict.fromkeys(files))


def snapshot(files: list[Path]) -> Snapshot:
    """Size, mtime (ns) and inode of each file; None for a missing one."""
    out: Snapshot = {}
    for path in files:
        try:
            st = os.stat(path)
        except OSError:
            out[str(path)] = None
        else:
            out[str(path)] = (st.st_size, st.st_mtime_ns, st.st_ino)
    return out


def changed(old: Snapshot, new: Snapshot) -> list[str]:
    return sorted(name for name in old.keys() | new.keys() if old.get(name) != new.get(name))


class Reload:
    def __init__(self, settings: Settings, poll: float = POLL_SECONDS):
        self.settings = settings
        self.poll = poll
        self.watcher: asyncio.Task[None] | None = None
        self.pending: set[asyncio.Task[bool]] = set()
        self.on_sighup = False

    async def running(self) -> None:
        rt = self.settings.runtime
        if rt is None or self.watcher is not None:
            return
        # The baseline now, before the proxy says it is ready (a few stat calls): taken later in the
        # watcher task, an edit made right after start could already be in it and never be noticed.
        seen = snapshot(watched_files(rt, self.settings.rule_control()))
        self.watcher = asyncio.create_task(self._watch(seen), name="fixative reload watcher")
        try:
            asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self._sighup)
            self.on_sighup = True
        except (AttributeError, NotImplementedError, RuntimeError):  # no SIGHUP (Windows), or not the main thread
            log.info("fixative: SIGHUP reload is not available here; file changes are still watched")

    async def done(self) -> None:
        if self.on_sighup:
            asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
            self.on_sighup = False
        tasks = [t for t in (self.watcher, *self.pending) if t is not None]
        self.watcher, self.pending = None, set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _sighup(self) -> None:
        task = asyncio.create_task(self.reload("SIGHUP"))
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)

    async def _state(self) -> Snapshot:
        rt = self.settings.runtime
        assert rt is not None
        return await asyncio.to_thread(lambda: snapshot(watched_files(rt, self.settings.rule_control())))

    async def _watch(self, seen: Snapshot) -> None:
        while True:
            await asyncio.sleep(self.poll)
            now = await self._state()
            if now == seen:
                continue
            while True:  # editors write in steps: act once the files have settled
                await asyncio.sleep(SETTLE_SECONDS)
                settled = await self._state()
                if settled == now:
                    break
                now = settled
            names = [Path(n).name for n in changed(seen, now)]
            seen = now
            await self.reload(f"file change: {', '.join(names)}")

    async def reload(self, why: str) -> bool:
        """Rebuild every pack from disk; on failure log the loader's problems and keep the running rules."""
        rt = self.settings.runtime
        if rt is None:
            return False
        try:
            rules = await self.settings.rule_control().rebuild(rt, why=why)
        except (RulePackError, ValueError) as e:
            problems = getattr(e, "problems", None) or [str(e)]
            log.error("fixative: reload (%s) refused, the running rules stay in force:\n  %s", why,
                      "\n  ".join(problems))
            return False
        log.info("fixative: rules reloaded (%s): %d rules from %s", why, len(rules.rules),
                 ", ".join(p.name for p in rules.packs))
        return True
