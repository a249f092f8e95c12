"""A ClientStore whose states note every change as a ClientDelta, so it can be written to Redis.

The proxy's code keeps changing states the ordinary way (`state.pages += 1`, `note_request`);
nothing outside this module needs to know that the state is shared.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from ..behaviour.store import MAX_PATHS, ClientState, ClientStore
from .delta import COUNTS, ClientDelta


class DeltaLog:
    """Pending deltas by client key, oldest first, bounded: past the cap the oldest is dropped and counted."""

    def __init__(self, cap: int, scope: str = "-"):
        self.cap = cap
        self.scope = scope  # the site's name with `sites:`: each site's clients are its own
        self.pending: OrderedDict[str, ClientDelta] = OrderedDict()
        # taken for a write not yet acknowledged: a read meanwhile may not include them yet, so they are
        # added to it (counting a page twice for a moment is safer than missing a person's page)
        self.in_flight: dict[str, ClientDelta] = {}
        self.lost = 0
        self.on_change: Any = None  # called (no arguments) when a delta is first added: wakes the writer

    def delta(self, key: str, now: float) -> ClientDelta:
        found = self.pending.get(key)
        if found is None:
            found = self.pending[key] = ClientDelta(first_seen=now, last_seen=now)
            while len(self.pending) > self.cap:
                self.pending.popitem(last=False)
                self.lost += 1
            if self.on_change is not None:
                self.on_change()
        return found

    def take(self, n: int) -> list[tuple[str, ClientDelta]]:
        """Up to n deltas, oldest first, removed from the log (put them back if the write fails)."""
        out: list[tuple[str, ClientDelta]] = []
        while self.pending and len(out) < n:
            out.append(self.pending.popitem(last=False))
        self.in_flight.update(out)
        return out

    def written(self, items: list[tuple[str, ClientDelta]]) -> None:
        for key, _ in items:
            self.in_flight.pop(key, None)

    def unwritten(self, key: str) -> ClientDelta | None:
        """What this instance changed for `key` that Redis may not have yet: pending and in flight."""
        pending, flying = self.pending.get(key), self.in_flight.get(key)
        if flying is None or pending is None:
            return pending or flying
        both = ClientDelta(first_seen=flying.first_seen)
        both.absorb(flying)
        both.absorb(pending)
        return both

    def put_back(self, items: list[tuple[str, ClientDelta]]) -> None:
        self.written(items)
        for key, delta in reversed(items):
            later = self.pending.pop(key, None)
            if later is not None:
                delta.absorb(later)
            self.pending[key] = delta
            self.pending.move_to_end(key, last=False)
        while len(self.pending) > self.cap:
            self.pending.popitem(last=False)
            self.lost += 1

    def __len__(self) -> int:
        return len(self.pending)


class TrackedState(ClientState):
    """A ClientState that reports its changes to a DeltaLog."""

    def __setattr__(self, name: str, value: Any) -> None:
        log: DeltaLog | None = self.__dict__.get("_log")
        if log is not None:
            if name in COUNTS:
                change = value - getattr(self, name)
                if change:
                    log.delta(self.__dict__["_key"], self.last_seen).add(name, change)
            elif name == "robots_read" and value and not self.robots_read:
                log.delta(self.__dict__["_key"], self.last_seen).robots_read = True
            elif name == "trapped" and value and value != self.trapped:
                log.delta(self.__dict__["_key"], self.last_seen).trapped = value
        object.__setattr__(self, name, value)

    def note_request(self, now: float, kind: str, path: str, orphan: bool, direct_open: bool = False) -> None:
        before = len(self.image_paths)
        super().note_request(now, kind, path, orphan, direct_open)
        log: DeltaLog | None = self.__dict__.get("_log")
        if log is None:
            return
        delta = log.delta(self.__dict__["_key"], now)
        delta.last_seen = max(delta.last_seen, now)
        delta.times.append(now)
        if kind == "image":
            if direct_open:
                delta.direct.append(now)
            if len(self.image_paths) > before and len(delta.paths) < MAX_PATHS:
                delta.paths.add(path[:256])


class SharingClientStore(ClientStore):
    """The ordinary LRU store, whose new states are TrackedStates writing to its DeltaLog. The log holds
    at most as many clients as the store (its byte cap included), so an outage under a flood cannot
    grow memory past what the store itself may use."""

    def __init__(self, scope: str = "-", max_clients: int = 100_000, ttl: float = 1800.0,
                 max_bytes: int | None = None):
        super().__init__(max_clients, ttl, max_bytes)
        self.log = DeltaLog(self.max_clients, scope)

    def _new(self, key: str, now: float) -> ClientState:
        state = TrackedState(first_seen=now, last_seen=now)
        object.__setattr__(state, "_key", key)
        object.__setattr__(state, "_log", self.log)
        return state
