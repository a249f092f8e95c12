"""What the admin app needs, gathered in one value so make_app(state) has a single argument."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from aiohttp import web

from ..runtime import Runtime
from .metrics import Metrics
from .rulectl import RuleControl


class RuntimeHolder(Protocol):
    """Anything with a current Runtime: the Settings addon (which may rebuild it), or a test's stand-in."""

    runtime: Runtime | None


@dataclass
class Holder:
    runtime: Runtime | None


@dataclass
class AdminState:
    holder: RuntimeHolder
    upstream: str
    token: str
    state_dir: Path
    metrics: Metrics
    rules: RuleControl
    extension_origins: tuple[
        str, ...
    ] = ()  # pinned chrome-extension://ID origins; empty: any extension
    health_ttl: float = 5.0
    site_urls: list[str] = field(
        default_factory=list
    )  # where the proxy listens, a hint for the extension
    started: float = field(default_factory=time.time)
    health: dict[str, Any] = field(default_factory=dict)
    site_health: dict[str, dict[str, Any]] = field(default_factory=dict)  # with `sites:`, by upstream URL
    health_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def runtime(self) -> Runtime:
        rt = self.holder.runtime
        if rt is None:
            raise web.HTTPServiceUnavailable(
                text='{"error": "the proxy is not configured yet"}', content_type="application/json"
            )
        return rt


def make_state(
    holder: RuntimeHolder,
    upstream: str,
    token: str,
    extension_origins: tuple[str, ...] = (),
    rules: RuleControl | None = None,
) -> AdminState:
    """State for a holder whose runtime is already built (its state dir holds the admin files);
    `rules` is the proxy's shared RuleControl (a new one by default)."""
    rt = holder.runtime
    assert rt is not None
    state_dir = rt.config.state_dir
    return AdminState(
        holder=holder,
        upstream=upstream.rstrip("/"),
        token=token,
        state_dir=state_dir,
        metrics=Metrics(lambda: holder.runtime),
        rules=rules or RuleControl(state_dir),
        extension_origins=extension_origins,
    )
