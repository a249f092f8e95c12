"""The Redis keys and commands for shared client state, counters and overrides.

Per client (its key hashed, so a 600-character User-Agent makes a short key):
  PREFIX:c:SCOPE:HASH     hash: first_seen, last_seen, pages, images, orphan_images, optout_seen,
                          robots_read, trapped
  PREFIX:c:SCOPE:HASH:t   list: recent request times        (last RECENT)
  PREFIX:c:SCOPE:HASH:p   set: distinct image paths         (about MAX_PATHS)
  PREFIX:c:SCOPE:HASH:d   list: direct image opens          (last 16)
every one expiring after the behaviour TTL, as local state does. (One Redis, not Redis Cluster: the
scripts name the three list/set keys themselves.)
"""

from __future__ import annotations

import hashlib
from typing import Any

from ..behaviour.store import RECENT
from .delta import COUNTS, DIRECT_KEPT, ClientDelta, SharedView


def client_key(prefix: str, scope: str, key: str) -> str:
    digest = hashlib.blake2b(key.encode("utf-8", "surrogateescape"), digest_size=12).hexdigest()
    return f"{prefix}:c:{scope}:{digest}"


# One round trip each: a script runs its commands inside Redis, so a request waits for one reply and
# the Python side encodes and parses one command instead of four (reads) or about ten (writes).
READ_LUA = """
local b = KEYS[1]
return {redis.call('HGETALL', b), redis.call('LRANGE', b .. ':t', 0, -1),
        redis.call('SMEMBERS', b .. ':p'), redis.call('LRANGE', b .. ':d', 0, -1)}
"""

WRITE_LUA = """
local b, ttl = KEYS[1], tonumber(ARGV[1])
redis.call('HSETNX', b, 'first_seen', ARGV[2])
redis.call('HSET', b, 'last_seen', ARGV[3])
if ARGV[4] == '1' then redis.call('HSET', b, 'robots_read', '1') end
if ARGV[5] ~= '' then redis.call('HSET', b, 'trapped', ARGV[5]) end
local names = {'pages', 'images', 'orphan_images', 'optout_seen'}
for n = 1, 4 do
  local by = tonumber(ARGV[5 + n])
  if by ~= 0 then redis.call('HINCRBY', b, names[n], by) end
end
redis.call('EXPIRE', b, ttl)
local i = 10
for _, part in ipairs({{':t', 'RPUSH', tonumber(ARGV[#ARGV - 1])}, {':p', 'SADD', 0},
                       {':d', 'RPUSH', tonumber(ARGV[#ARGV])}}) do
  local n = tonumber(ARGV[i])
  if n > 0 then
    local key = b .. part[1]
    redis.call(part[2], key, unpack(ARGV, i + 1, i + n))
    if part[3] > 0 then redis.call('LTRIM', key, -part[3], -1) end
    redis.call('EXPIRE', key, ttl)
  end
  i = i + n + 1
end
return 1
"""


def write_args(delta: ClientDelta, ttl: int) -> list[str | int]:
    """WRITE_LUA's arguments for one client's delta."""
    paths = sorted(delta.paths)
    return [ttl, repr(delta.first_seen), repr(delta.last_seen), "1" if delta.robots_read else "0",
            delta.trapped or "", *(delta.counts.get(name, 0) for name in COUNTS),
            len(delta.times), *map(repr, delta.times), len(paths), *paths,
            len(delta.direct), *map(repr, delta.direct), RECENT, DIRECT_KEPT]


def parse_read(reply: list[Any]) -> SharedView | None:
    """The view from READ_LUA's reply; None for a client Redis does not know."""
    flat, times, paths, direct = reply
    if not flat:
        return None
    fields = {text(flat[i]): text(flat[i + 1]) for i in range(0, len(flat) - 1, 2)}
    return SharedView(
        first_seen=_number(fields.get("first_seen")),
        last_seen=_number(fields.get("last_seen")),
        counts={name: int(_number(fields.get(name))) for name in COUNTS},
        robots_read=fields.get("robots_read") == "1",
        trapped=fields.get("trapped") or None,
        times=[_number(t) for t in times],
        paths={text(p) for p in paths},
        direct=[_number(t) for t in direct],
    )


def text(value: Any) -> str:
    """A Redis reply item as text."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _number(value: Any) -> float:
    try:
        return float(text(value)) if value is not None else 0.0
    except ValueError:
        return 0.0
