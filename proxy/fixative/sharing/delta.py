"""What one instance changed in one client's state since it last told Redis, and how to merge views.

Pure: no I/O. The Redis commands that carry a delta are in redisops.py.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from ..behaviour.store import MAX_PATHS, RECENT, ClientState

COUNTS = ("pages", "images", "orphan_images", "optout_seen")
DIRECT_KEPT = 16


@dataclass
class ClientDelta:
    """Changes not yet written to Redis. Counters add up, flags only turn on, lists append."""

    first_seen: float
    last_seen: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)
    robots_read: bool = False
    trapped: str | None = None
    times: list[float] = field(default_factory=list)
    paths: set[str] = field(default_factory=set)
    direct: list[float] = field(default_factory=list)

    def add(self, name: str, n: int) -> None:
        self.counts[name] = self.counts.get(name, 0) + n

    def absorb(self, later: ClientDelta) -> None:
        """Fold a later delta of the same client into this one (a failed write put back)."""
        self.first_seen = min(self.first_seen, later.first_seen)
        self.last_seen = max(self.last_seen, later.last_seen)
        for name, n in later.counts.items():
            self.add(name, n)
        self.robots_read = self.robots_read or later.robots_read
        self.trapped = self.trapped or later.trapped
        self.times = (self.times + later.times)[-RECENT:]
        self.paths |= later.paths
        self.direct = (self.direct + later.direct)[-DIRECT_KEPT:]


@dataclass(frozen=True)
class SharedView:
    """One client as Redis holds it: every instance's writes."""

    first_seen: float
    last_seen: float
    counts: dict[str, int]
    robots_read: bool
    trapped: str | None
    times: list[float]
    paths: set[str]
    direct: list[float]


def adopt(state: ClientState, view: SharedView, pending: ClientDelta | None) -> None:
    """Make the local state the shared view plus what this instance has not written yet."""
    extra = pending or ClientDelta(first_seen=view.first_seen)
    object.__setattr__(state, "first_seen", min(view.first_seen, extra.first_seen, state.first_seen))
    object.__setattr__(state, "last_seen", max(view.last_seen, extra.last_seen, state.last_seen))
    for name in COUNTS:
        object.__setattr__(state, name, view.counts.get(name, 0) + extra.counts.get(name, 0))
    object.__setattr__(state, "robots_read", view.robots_read or extra.robots_read)
    object.__setattr__(state, "trapped", view.trapped or extra.trapped)
    state.times = deque(sorted(view.times + extra.times)[-RECENT:], maxlen=RECENT)
    paths = view.paths | extra.paths
    state.image_paths = paths if len(paths) <= MAX_PATHS else set(sorted(paths)[:MAX_PATHS])
    state.direct_image_opens = deque(sorted(view.direct + extra.direct)[-DIRECT_KEPT:], maxlen=DIRECT_KEPT)
