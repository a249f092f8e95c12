"""Settings: declares the fixative_* options and builds the Runtime when they change."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Optional

from mitmproxy import ctx, exceptions, http

from .. import errorpages
from ..admin.rulectl import RuleControl
from ..config import ConfigError, load_config
from ..rules.loader import RulePackError
from ..runtime import Runtime, build_runtime

log = logging.getLogger(__name__)
SITE = "fixative.site"  # the flow's site Runtime, with `sites:` (addons/route.py)


class Settings:
    def __init__(self, runtime: Runtime | None = None):
        self.runtime = runtime  # pre-built by the CLI, which validates before starting
        self._rules: RuleControl | None = None

    def runtime_for(self, flow: http.HTTPFlow) -> Runtime | None:
        """The Runtime serving this flow: its site's with `sites:`, else the one Runtime."""
        site: Runtime | None = flow.metadata.get(SITE)
        return site if site is not None else self.runtime

    def rule_control(self) -> RuleControl:
        """The one RuleControl of the running state dir: Admin, Reload and Subscriptions rebuild through it."""
        assert self.runtime is not None
        state_dir = self.runtime.config.state_dir
        if self._rules is None or self._rules.state_dir != state_dir:
            self._rules = RuleControl(state_dir)
        return self._rules

    def load(self, loader) -> None:  # type: ignore[no-untyped-def]
        errorpages.install()
        loader.add_option("fixative_config", Optional[str], None,
                          "Fixative config file (YAML). Default: built-in defaults.")
        loader.add_option("fixative_mode", Optional[str], None,
                          "observe (log only) or enforce. Default: the config's, else enforce.")
        loader.add_option("fixative_state_dir", Optional[str], None,
                          "Folder for the event log and secret. Default: ./fixative-state.")
        loader.add_option("fixative_trusted_proxies", Sequence[str], [],
                          "CIDRs whose X-Forwarded-For/Forwarded is believed. Default: none.")
        loader.add_option("fixative_pass_host", bool, False,
                          "Pass the client's Host header to the origin (for name-based virtual hosts).")
        loader.add_option("fixative_preset", Optional[str], None,
                          "Rule preset: strict, balanced (default) or permissive, or a preset file.")

    def configure(self, updated: set[str]) -> None:
        if not any(name.startswith("fixative_") for name in updated):
            return
        if self.runtime is not None and not updated & {"fixative_config", "fixative_mode", "fixative_state_dir",
                                                         "fixative_trusted_proxies", "fixative_preset"}:
            return
        opts = ctx.options
        if self.runtime is not None and opts.fixative_config is None and opts.fixative_mode is None \
                and opts.fixative_state_dir is None and not opts.fixative_trusted_proxies \
                and opts.fixative_preset is None:
            return  # built by the CLI; nothing set the mitmproxy way
        try:
            config = load_config(
                Path(opts.fixative_config) if opts.fixative_config else None,
                mode=opts.fixative_mode,
                state_dir=Path(opts.fixative_state_dir) if opts.fixative_state_dir else None,
                trusted_proxies=tuple(opts.fixative_trusted_proxies) or None,
                preset=opts.fixative_preset,
            )
            runtime = build_runtime(config)
        except (ConfigError, RulePackError) as e:
            raise exceptions.OptionsError(f"fixative: {e}") from e
        old, self.runtime = self.runtime, runtime
        runtime.events.start()
        if old is not None:
            old.close()
        log.info("fixative: %s mode, %d rules from %s", config.mode, len(runtime.rules.rules),
                 ", ".join(p.name for p in runtime.rules.packs))

    def running(self) -> None:
        if self.runtime is not None:
            self.runtime.events.start()

    def done(self) -> None:
        if self.runtime is not None:
            self.runtime.close()
