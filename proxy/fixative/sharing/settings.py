"""The config's `shared:` section: where the instances of one gallery meet (a Redis or Valkey URL)."""

from __future__ import annotations

import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

EXPECTED = ("{redis: redis://HOST:6379/0, prefix: fixative, instance: NAME, timeout: 0.25, fresh_for: 0.2} "
            "(or `shared: redis://HOST:6379/0`)")
SCHEMES = ("redis", "rediss", "unix")
_SECONDS = {"timeout": (0.01, 10), "fresh_for": (0, 60)}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")


@dataclass(frozen=True)
class SharedSettings:
    redis: str
    prefix: str = "fixative"
    instance: str = ""   # this instance's name in the registry; empty: hostname and listen port
    timeout: float = 0.25  # seconds a request may wait for Redis before it is judged on local state
    fresh_for: float = 0.2  # a client's shared state read this recently is not read again (0: every request)

    def instance_name(self, listen: str) -> str:
        return self.instance or f"{socket.gethostname()}:{listen.rsplit(':', 1)[-1]}"


def check_url(url: str) -> str:
    """The URL, or ValueError saying what a usable one looks like."""
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES:
        raise ValueError(f"{url!r} is not a Redis URL; use redis://HOST:PORT/DB, rediss://... for TLS, "
                         "or unix:///path/to/redis.sock")
    if parts.scheme != "unix" and not parts.hostname:
        raise ValueError(f"{url!r} names no host; use e.g. redis://127.0.0.1:6379/0")
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise ValueError(f"{url!r} has a bad port; use e.g. redis://127.0.0.1:6379/0") from None
    return url


def parse_shared(value: Any, line_of: Callable[[str | None], int], problems: list[str],
                 where: str) -> SharedSettings | None:
    """The `shared:` section; each problem is added as `where:LINE: shared: ...`."""
    def bad(sub: str | None, problem: str) -> None:
        problems.append(f"{where}:{line_of(sub)}: shared: {problem}. Expected {EXPECTED}.")

    if isinstance(value, str):
        value = {"redis": value}
    if not isinstance(value, dict):
        bad(None, f"expected a mapping or a Redis URL, got {value!r}")
        return None
    out: dict[str, Any] = {}
    for sub, v in value.items():
        if sub == "redis":
            try:
                out[sub] = check_url(str(v).strip())
            except ValueError as e:
                bad(sub, f"redis: {e}")
        elif sub in ("prefix", "instance"):
            if not isinstance(v, str) or not _NAME.match(v):
                bad(sub, f"{sub}: expected 1 to 64 letters, digits, '_', '.', ':' or '-', got {v!r}")
                continue
            out[sub] = v
        elif sub in _SECONDS:
            low, high = _SECONDS[sub]
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not low <= v <= high:
                bad(sub, f"{sub}: expected seconds from {low:g} to {high:g}, got {v!r}")
                continue
            out[sub] = float(v)
        else:
            bad(sub, f"{sub}: unknown; use redis, prefix, instance, {', '.join(_SECONDS)}")
    if "redis" not in out:
        if "redis" not in value:
            bad(None, "needs `redis: URL`")
        return None
    return SharedSettings(**out)


def redact(url: str) -> str:
    """The URL without its password, for logs and status pages."""
    parts = urlsplit(url)
    if parts.password is None and parts.username is None:
        return url
    return parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1]).geturl()
