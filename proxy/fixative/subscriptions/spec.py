"""The `subscriptions:` config key: a list of packs by URL, each pinned or signed.

    subscriptions:
      - url: https://rules.example.org/extra-agents.yaml
        ed25519_key: 2b8Q...=        # signature fetched from url + '.sig'
        refresh: 6h                  # or seconds; default 6h
      - url: https://example.net/friends.yaml
        sha256: 3f5a...              # the exact file, as `sha256sum` prints it
        name: friends                # the cache's file name; default from the URL
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .verify import parse_public_key, parse_sha256

FIELDS = ("url", "sha256", "ed25519_key", "refresh", "name")
DEFAULT_REFRESH = 6 * 3600.0
MIN_REFRESH, MAX_REFRESH = 1.0, 30 * 86400.0
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_INTERVAL = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd])$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
EXPECTED = ("a list of {url: https://..., sha256: HEX | ed25519_key: BASE64, refresh: 6h, name: NAME}")


@dataclass(frozen=True)
class Subscription:
    url: str
    name: str
    sha256: str | None = None
    public_key: bytes | None = None  # raw Ed25519; the signature is fetched from url + '.sig'
    refresh: float = DEFAULT_REFRESH

    @property
    def signature_url(self) -> str:
        return self.url + ".sig"


def parse_interval(value: Any) -> float:
    """'6h', '30m', '90s', '1d', or a number of seconds; ValueError outside 1 s .. 30 days."""
    if isinstance(value, bool):
        raise ValueError(f"expected a duration like 6h, 30m or a number of seconds, got {value!r}")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        m = _INTERVAL.match(str(value).strip().lower())
        if not m:
            raise ValueError(f"expected a duration like 6h, 30m, 1d or a number of seconds, got {value!r}")
        seconds = float(m.group(1)) * _UNITS[m.group(2)]
    if not MIN_REFRESH <= seconds <= MAX_REFRESH:
        raise ValueError(f"{value!r}: choose between 1 second and 30 days")
    return seconds


def name_from_url(url: str) -> str:
    """The URL's last path segment without its extension, made safe as a file name."""
    stem = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
    stem = re.sub(r"\.(ya?ml)$", "", stem.lower())
    stem = re.sub(r"[^a-z0-9._-]+", "-", stem).strip("-.") or urlsplit(url).hostname or "pack"
    return stem[:64]


def parse_url(value: Any) -> str:
    url = str(value).strip() if isinstance(value, str) else ""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r}: expected an http:// or https:// URL")
    if parts.username or parts.password:
        raise ValueError(f"{value!r}: no user or password in the URL")
    return url


def parse_subscription(item: Any) -> Subscription:
    """One list item; ValueError as `field: problem`."""
    if not isinstance(item, dict):
        raise ValueError(f"expected a mapping with url and sha256 or ed25519_key, got {item!r}")
    unknown = [k for k in item if k not in FIELDS]
    if unknown:
        raise ValueError(f"{unknown[0]}: unknown; use {', '.join(FIELDS)}")
    if "url" not in item:
        raise ValueError("url: missing (required)")
    url = _field("url", parse_url, item["url"])
    sha256 = _field("sha256", _sha256, item["sha256"]) if "sha256" in item else None
    key = _field("ed25519_key", lambda v: parse_public_key(str(v)), item["ed25519_key"]) \
        if "ed25519_key" in item else None
    if sha256 is None and key is None:
        raise ValueError("sha256 or ed25519_key: one is required; an unverified pack is never loaded")
    refresh = _field("refresh", parse_interval, item["refresh"]) if "refresh" in item else DEFAULT_REFRESH
    name = str(item.get("name", name_from_url(url))).strip()
    if not _NAME.match(name):
        raise ValueError(f"name: {name!r} must be lower-case letters, digits, . _ - (at most 64)")
    return Subscription(url=url, name=name, sha256=sha256, public_key=key, refresh=refresh)


def _sha256(value: Any) -> str:
    if not isinstance(value, str):  # YAML reads a pin made only of digits as a number
        raise ValueError(f"{value!r} is not text; put the sha256 in quotes")
    return parse_sha256(value)


def _field(name: str, parse: Any, value: Any) -> Any:
    try:
        return parse(value)
    except ValueError as e:
        raise ValueError(f"{name}: {e}") from e


def parse_subscriptions(value: Any, where: str, line: int, problems: list[str]) -> tuple[Subscription, ...]:
    """The whole list; each problem as `where:line: subscriptions: #N: field: problem`."""
    if not isinstance(value, list):
        problems.append(f"{where}:{line}: subscriptions: expected {EXPECTED}, got {value!r}")
        return ()
    subs: list[Subscription] = []
    for index, item in enumerate(value):
        at = value.line_of(index) if hasattr(value, "line_of") else line
        try:
            sub = parse_subscription(item)
        except ValueError as e:
            problems.append(f"{where}:{at}: subscriptions: #{index + 1}: {e}")
            continue
        if any(s.name == sub.name for s in subs):
            problems.append(f"{where}:{at}: subscriptions: #{index + 1}: name: {sub.name!r} is taken by "
                            "another subscription; give each a different `name:`")
            continue
        subs.append(sub)
    return tuple(subs)
