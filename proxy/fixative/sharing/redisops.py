"""The Redis keys and commands for shared client state, counters and overrides.

Per client (its key hashed, so a 600-character User-Agent makes a short key):
  PREFIX:c:SCOPE:HASH     hash: first_seen, last_seen, pages, images, orphan_images, optout_seen,
                          robots_read, trapped
  PREFIX:c:SCOPE:HASH:t   list: recent request times        (last RECENT)
  PREFIX:c:SCOPE:HASH:p   set: distinct image paths         (about MAX_PATHS)
  PREFIX:c:SCOPE:HASH:d   list: direct image opens          (last 16)
every one expiring after the behaviour TTL, as local state does.
"""

from __future__ import annotations

import hashlib
from typing import Any

from ..behaviour.store import RECENT
from .delta import COUNTS, DIRECT_KEPT, ClientDelta, SharedView


def client_key(prefix: str, scope: str, key: str) -> str:
    digest = hashlib.blake2b(key.encode("utf-8", "surrogateescape"), digest_size=12).hexdigest()
    return f"{prefix}:c:{scope}:{digest}"


def queue_write(pipe: Any, base: str, delta: ClientDelta, ttl: int) -> None:
    """Add the commands that apply `delta` to the client at `base` to a pipeline."""
    pipe.hsetnx(base, "first_seen", repr(delta.first_seen))
    fields: dict[str, str] = {"last_seen": repr(delta.last_seen)}
    if delta.robots_read:
        fields["robots_read"] = "1"
    if delta.trapped:
        fields["trapped"] = delta.trapped
    pipe.hset(base, mapping=fields)
    for name, n in delta.counts.items():
        pipe.hincrby(base, name, n)
    pipe.expire(base, ttl)
    if delta.times:
        pipe.rpush(base + ":t", *map(repr, delta.times))
        pipe.ltrim(base + ":t", -RECENT, -1)
        pipe.expire(base + ":t", ttl)
    if delta.paths:
        pipe.sadd(base + ":p", *delta.paths)
        pipe.expire(base + ":p", ttl)
    if delta.direct:
        pipe.rpush(base + ":d", *map(repr, delta.direct))
        pipe.ltrim(base + ":d", -DIRECT_KEPT, -1)
        pipe.expire(base + ":d", ttl)


def queue_read(pipe: Any, base: str) -> None:
    pipe.hgetall(base)
    pipe.lrange(base + ":t", 0, -1)
    pipe.smembers(base + ":p")
    pipe.lrange(base + ":d", 0, -1)


def parse_read(replies: list[Any]) -> SharedView | None:
    """The view from queue_read's four replies; None for a client Redis does not know."""
    fields, times, paths, direct = replies
    if not fields:
        return None
    text = {_text(k): _text(v) for k, v in fields.items()}
    return SharedView(
        first_seen=_number(text.get("first_seen")),
        last_seen=_number(text.get("last_seen")),
        counts={name: int(_number(text.get(name))) for name in COUNTS},
        robots_read=text.get("robots_read") == "1",
        trapped=text.get("trapped") or None,
        times=[_number(t) for t in times],
        paths={_text(p) for p in paths},
        direct=[_number(t) for t in direct],
    )


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _number(value: Any) -> float:
    try:
        return float(_text(value)) if value is not None else 0.0
    except ValueError:
        return 0.0
