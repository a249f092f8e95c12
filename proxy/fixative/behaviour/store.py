"""Bounded per-client state: an LRU with a time-to-live and a hard cap on entries.

Address rotation cannot grow memory: the oldest clients are evicted first, and
each client's own history is capped (fixed-size deques and sets).
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field

RECENT = 64          # request times kept per client, for the rate
MAX_PATHS = 256      # distinct image paths remembered per client (breadth)
APPROX_ENTRY_BYTES = 12_000  # measured upper bound for a full entry, for the byte cap


@dataclass
class ClientState:
    """What one client has done recently."""

    first_seen: float
    last_seen: float
    times: deque[float] = field(default_factory=lambda: deque(maxlen=RECENT))
    pages: int = 0
    images: int = 0
    orphan_images: int = 0
    image_paths: set[str] = field(default_factory=set)
    robots_read: bool = False
    optout_seen: int = 0      # image responses carrying X-Robots-Tag noai this client received
    trapped: str | None = None  # the trap path it requested, if any
    direct_image_opens: deque[float] = field(default_factory=lambda: deque(maxlen=16))

    def note_request(self, now: float, kind: str, path: str, orphan: bool, direct_open: bool = False) -> None:
        self.last_seen = now
        self.times.append(now)
        if kind == "page":
            self.pages += 1
        elif kind == "image":
            self.images += 1
            self.orphan_images += int(orphan)
            if direct_open:
                self.direct_image_opens.append(now)
            if len(self.image_paths) < MAX_PATHS:
                self.image_paths.add(path[:256])

    def rate(self, now: float, window: float = 10.0) -> int:
        """Requests in the last `window` seconds (at most RECENT). The times are in order (noted as they
        come; sharing/delta.py sorts merged ones): count back from the newest, not over all."""
        cutoff = now - window
        count = 0
        for t in reversed(self.times):
            if t < cutoff:
                break
            count += 1
        return count


class ClientStore:
    """LRU + TTL map from client key to ClientState."""

    def __init__(self, max_clients: int = 100_000, ttl: float = 1800.0, max_bytes: int | None = None):
        cap = max_clients if max_bytes is None else min(max_clients, max(1, max_bytes // APPROX_ENTRY_BYTES))
        self.max_clients = cap
        self.ttl = ttl
        self._items: OrderedDict[str, ClientState] = OrderedDict()
        self.evicted = 0

    def get(self, key: str, now: float | None = None) -> ClientState:
        """The client's state, created if new or expired; marks it most recently used."""
        now = time.time() if now is None else now
        state = self._items.get(key)
        if state is not None and now - state.last_seen <= self.ttl:
            self._items.move_to_end(key)
            return state
        state = self._new(key, now)
        self._items[key] = state
        self._items.move_to_end(key)
        self._evict(now)
        return state

    def _new(self, key: str, now: float) -> ClientState:
        return ClientState(first_seen=now, last_seen=now)

    def peek(self, key: str) -> ClientState | None:
        return self._items.get(key)

    def _evict(self, now: float) -> None:
        while len(self._items) > self.max_clients:
            self._items.popitem(last=False)
            self.evicted += 1
        # expired entries at the old end go too, a few at a time so no request pays for many
        for _ in range(8):
            if not self._items:
                return
            key, oldest = next(iter(self._items.items()))
            if now - oldest.last_seen <= self.ttl:
                return
            del self._items[key]

    def __len__(self) -> int:
        return len(self._items)
