"""One secret for the whole gallery: cookies signed by one instance must verify on the others, and a
URL's decoy must be the same whichever instance serves it."""

from __future__ import annotations

import logging
from pathlib import Path

import redis

from ..secret import write_secret
from .settings import SharedSettings, redact

log = logging.getLogger(__name__)


def shared_secret(settings: SharedSettings, local: bytes, state_dir: Path) -> bytes:
    """The gallery's secret from Redis (this instance's own, if it is the first to start), saved in
    the state dir so a restart while Redis is down keeps it. Redis unreachable: the local one, with a warning."""
    key = f"{settings.prefix}:secret"
    try:
        client = redis.Redis.from_url(settings.redis, socket_timeout=2, socket_connect_timeout=2)
        try:
            client.set(key, local, nx=True)
            found = client.get(key)
        finally:
            client.close()
    except (redis.RedisError, OSError) as e:
        log.warning("fixative: shared state: cannot reach Redis at %s to read the gallery's secret (%s); "
                    "using this instance's own until the next start", redact(settings.redis), e)
        return local
    if not isinstance(found, bytes) or len(found) < 32:
        log.warning("fixative: shared state: %s in Redis is not a usable secret; using this instance's own",
                    key)
        return local
    if found != local:
        write_secret(state_dir, found)
    return found
