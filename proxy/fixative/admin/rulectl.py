"""Rule control at run time: which packs are on, the overrides pack, and swapping rebuilt rules in.

A rebuild compiles every file again with the ordinary loader, off the event loop. Only
when the whole set loads are the new rules swapped into the Runtime (rules, classifier,
robots agents) and the change saved (new overrides, pack choices, a subscription's new
copy); otherwise the loader's problems are raised and the running rules stay. The admin
API, hot reload and subscriptions share one RuleControl, so rebuilds never interleave.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from ..classify import Classifier
from ..config import Config
from ..rules.loader import RulePackError, load_pack, load_ruleset
from ..rules.presets import read_preset, resolve_preset
from ..rules.ruleset import RuleSet
from ..runtime import Runtime
from ..subscriptions.cache import Staged, load_leaving_out_bad_copies, pack_path, subscribed_packs
from .overrides import PACK_FILE, PACK_NAME, Override, read_overrides, write_overrides, write_pack

PACKS_FILE = "admin-packs.yaml"
log = logging.getLogger(__name__)


class RuleControl:
    """Owns overrides.yaml, admin-packs.yaml (disabled packs) and the generated pack, per state dir."""

    def __init__(self, state_dir: Path):
        self.state_dir = state_dir
        self.lock = asyncio.Lock()
        self._info_cache: dict[tuple[str, float], dict[str, Any]] = {}
        self.last_rebuild: dict[str, Any] | None = None  # when, why, whether it loaded, the problems
        self.subscriptions: dict[str, dict[str, Any]] = {}  # per subscription name, kept by the addon

    # -- saved state ---------------------------------------------------------------------------
    def overrides(self) -> list[Override]:
        return read_overrides(self.state_dir)

    def disabled(self) -> set[str]:
        try:
            doc = yaml.safe_load((self.state_dir / PACKS_FILE).read_text("utf-8")) or {}
        except (FileNotFoundError, yaml.YAMLError):
            return set()
        names = doc.get("disabled", []) if isinstance(doc, dict) else []
        return {str(n) for n in names} if isinstance(names, list) else set()

    def _save_disabled(self, names: set[str]) -> None:
        path = self.state_dir / PACKS_FILE
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(
            "# Fixative: packs turned off from the dashboard.\n"
            + yaml.safe_dump({"disabled": sorted(names)}),
            "utf-8",
        )
        os.replace(tmp, path)

    # -- building ------------------------------------------------------------------------------
    @staticmethod
    def pack_files(config: Config) -> list[Path]:
        """The preset's packs, then the config's extra packs, in evaluation order."""
        packs, _ = read_preset(resolve_preset(config.preset))
        return [*packs, *config.packs]

    def build(self, config: Config, overrides: list[Override], disabled: set[str],
              staged: dict[str, Path] | None = None) -> RuleSet:
        """Compile local-overrides + enabled packs + subscriptions (staged copies instead of cached
        ones); RulePackError lists every problem."""
        packs, preset_thresholds = read_preset(resolve_preset(config.preset))
        subscribed, problems = subscribed_packs(self.state_dir, config.subscriptions, staged)
        for problem in problems:
            log.warning("fixative subscriptions: %s", problem)
        files = [write_pack(self.state_dir, overrides)]
        for path in [*packs, *config.packs]:
            if self._name_of(path) not in disabled:
                files.append(path)
        subscribed = [p for p in subscribed if self._name_of(p) not in disabled]
        return load_leaving_out_bad_copies(
            lambda subs: load_ruleset([*files, *subs], config.thresholds or preset_thresholds),
            subscribed, keep=(staged or {}).values())

    def _name_of(self, path: Path) -> str:
        return str(self.describe(path).get("name") or path.stem)

    def describe(self, path: Path) -> dict[str, Any]:
        """A pack file's metadata (cached by mtime), or its problems if it does not load."""
        try:
            key = (str(path), path.stat().st_mtime)
        except OSError:
            return {"name": path.stem, "path": str(path), "problems": [f"{path}: file not found"]}
        if key not in self._info_cache:
            try:
                info, rules = load_pack(path)
                self._info_cache[key] = {
                    "name": info.name,
                    "version": info.version,
                    "description": info.description,
                    "licence": info.licence,
                    "source": info.source,
                    "path": str(path),
                    "rules": len(rules),
                }
            except RulePackError as e:
                self._info_cache[key] = {
                    "name": path.stem,
                    "path": str(path),
                    "problems": e.problems,
                }
        return self._info_cache[key]

    def catalog(self, rt: Runtime) -> list[dict[str, Any]]:
        """Every pack the proxy could load, first the overrides, with whether it is in force."""
        loaded = {p.name: p for p in rt.rules.packs}
        disabled = self.disabled()
        items: list[dict[str, Any]] = []
        own = loaded.get(PACK_NAME)
        items.append(
            {
                "name": PACK_NAME,
                "version": "local",
                "path": str(self.state_dir / PACK_FILE),
                "description": "Your own allow and deny list (highest priority)",
                "licence": "local",
                "source": "overrides.yaml",
                "rules": own.rule_count if own else 0,
                "enabled": True,
                "loaded": own is not None,
                "origin": "local",
            }
        )
        preset_files = set(map(str, self.pack_files(replace(rt.config, packs=()))))
        subscribed = {str(pack_path(self.state_dir, s)) for s in rt.config.subscriptions}
        for path in [*self.pack_files(rt.config), *map(Path, sorted(subscribed))]:
            info = dict(self.describe(path))
            if str(path) in subscribed and not path.exists():
                info["problems"] = ["no verified copy yet; see the proxy's log or /api/status"]
            name = info["name"]
            if name in loaded:
                info["rules"] = loaded[name].rule_count
            info.update(
                enabled=name not in disabled,
                loaded=name in loaded,
                origin="preset" if str(path) in preset_files
                else "subscription" if str(path) in subscribed else "config",
            )
            items.append(info)
        return items

    # -- applying ------------------------------------------------------------------------------
    @staticmethod
    def swap(rt: Runtime, rules: RuleSet) -> None:
        """Put new rules in force; the hot path reads these attributes per request."""
        rt.classifier = Classifier(rules, rt.asn)
        rt.rules = rules
        rt.robots_agents = rules.robots_tokens()

    async def rebuild(
        self,
        rt: Runtime,
        overrides: list[Override] | None = None,
        disabled: set[str] | None = None,
        staged: Sequence[Staged] = (),
        why: str = "admin",
    ) -> RuleSet:
        """Rebuild with new overrides, disabled packs and/or staged subscription copies; save or
        commit them only if the rules load. `why` is recorded in last_rebuild."""
        async with self.lock:
            try:
                old_overrides = self.overrides()
            except ValueError as e:
                self._record(why, [str(e)])
                raise
            use_overrides = old_overrides if overrides is None else overrides
            use_disabled = self.disabled() if disabled is None else disabled
            candidates = {s.name: s.candidate for s in staged}
            try:
                # with `sites:`, every site's rules too (its own preset and packs, the same overrides)
                built = await asyncio.to_thread(lambda: [
                    (target, self.build(target.config, use_overrides, use_disabled, candidates))
                    for target in (rt, *rt.sites.values())])
            except (RulePackError, ValueError) as e:
                self._record(why, getattr(e, "problems", None) or [str(e)])
                await asyncio.to_thread(write_pack, self.state_dir, old_overrides)
                raise
            for copy in staged:
                await asyncio.to_thread(copy.commit)
            if overrides is not None:
                write_overrides(self.state_dir, overrides)
            if disabled is not None:
                self._save_disabled(disabled)
            for target, target_rules in built:
                self.swap(target, target_rules)
            rules = built[0][1]
            self._record(why, [], len(rules.rules))
            return rules

    def _record(self, why: str, problems: list[str], rules: int | None = None) -> None:
        self.last_rebuild = {"at": time.time(), "trigger": why, "ok": not problems, "problems": problems,
                             "rules": rules}
