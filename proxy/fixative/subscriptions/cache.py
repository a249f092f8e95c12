"""The last good copy of each subscribed pack, in STATE_DIR/subscriptions/.

`NAME.yaml` is the pack exactly as fetched; `NAME.json` says where it came from (url, fetched
and checked times, sha256, signature, ETag). A copy is used only while it still verifies
against the subscription in the config, so a changed key or pin, or a file edited on disk,
retires it. A new copy is staged in `incoming/`, validated alone, and committed (metadata,
then the pack, each replaced atomically) only once the whole rule set has loaded with it.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..rules.loader import RulePackError, load_pack
from ..rules.presets import load_rules
from ..rules.ruleset import RuleSet
from .spec import Subscription
from .verify import VerificationError, sha256_hex, verify

if TYPE_CHECKING:
    from ..config import Config

log = logging.getLogger(__name__)
DIR = "subscriptions"
INCOMING = "incoming"


class CacheError(ValueError):
    """A cached copy exists but cannot be trusted any more; the message says why."""


def cache_dir(state_dir: Path) -> Path:
    return Path(state_dir) / DIR


def pack_path(state_dir: Path, sub: Subscription) -> Path:
    return cache_dir(state_dir) / f"{sub.name}.yaml"


def meta_path(state_dir: Path, sub: Subscription) -> Path:
    return cache_dir(state_dir) / f"{sub.name}.json"


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, flush it to disk, then rename over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def read_meta(state_dir: Path, sub: Subscription) -> dict[str, Any] | None:
    try:
        meta = json.loads(meta_path(state_dir, sub).read_text("utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        raise CacheError(f"{meta_path(state_dir, sub)}: unreadable ({e})") from e
    if not isinstance(meta, dict):
        raise CacheError(f"{meta_path(state_dir, sub)}: not a JSON object")
    return meta


def read_copy(state_dir: Path, sub: Subscription) -> tuple[Path, dict[str, Any]] | None:
    """The cached pack and its metadata if it still verifies; None if there is none; else CacheError."""
    path = pack_path(state_dir, sub)
    meta = read_meta(state_dir, sub)
    if meta is None:
        if path.exists():
            raise CacheError(f"{path}: no metadata beside it")
        return None
    if meta.get("url") != sub.url:
        raise CacheError(f"the cached copy came from {meta.get('url')!r}, not from this URL")
    try:
        data = path.read_bytes()
    except OSError as e:
        raise CacheError(f"{path}: unreadable ({e.strerror or e})") from e
    if sha256_hex(data) != meta.get("sha256"):
        raise CacheError(f"{path} changed on disk since it was verified")
    try:
        signature = base64.b64decode(meta["signature"]) if meta.get("signature") else None
        verify(data, sub.sha256, sub.public_key, signature)
    except (VerificationError, binascii.Error) as e:
        raise CacheError(f"it no longer verifies against the config ({e})") from e
    return path, meta


def subscribed_packs(state_dir: Path, subs: Iterable[Subscription],
                     staged: Mapping[str, Path] | None = None) -> tuple[list[Path], list[str]]:
    """The pack files to load for the subscriptions (staged copies first), and why others are left out."""
    files: list[Path] = []
    problems: list[str] = []
    for sub in subs:
        if staged and sub.name in staged:
            files.append(staged[sub.name])
            continue
        try:
            copy = read_copy(state_dir, sub)
        except CacheError as e:
            problems.append(f"{sub.url}: the cached copy is not used: {e}")
            continue
        if copy is not None:
            files.append(copy[0])
    return files, problems


@dataclass
class Staged:
    """A verified new copy in incoming/ that loads on its own; commit() makes it the last good copy."""

    name: str
    candidate: Path
    final: Path
    meta_file: Path
    meta: dict[str, Any] = field(default_factory=dict)

    def commit(self) -> None:
        write_atomic(self.meta_file, json.dumps(self.meta, indent=2).encode("utf-8"))
        os.replace(self.candidate, self.final)

    def discard(self) -> None:
        self.candidate.unlink(missing_ok=True)


def stage(state_dir: Path, sub: Subscription, data: bytes, signature: bytes | None,
          **meta: Any) -> Staged:
    """Write the verified bytes to incoming/NAME.yaml and load them alone; RulePackError if they do not load."""
    candidate = cache_dir(state_dir) / INCOMING / f"{sub.name}.yaml"
    write_atomic(candidate, data)
    try:
        info, _ = load_pack(candidate)
    except RulePackError:
        candidate.unlink(missing_ok=True)
        raise
    now = time.time()
    return Staged(
        name=sub.name,
        candidate=candidate,
        final=pack_path(state_dir, sub),
        meta_file=meta_path(state_dir, sub),
        meta={
            "url": sub.url,
            "sha256": sha256_hex(data),
            "signature": base64.b64encode(signature).decode("ascii") if signature else None,
            "fetched": now,
            "checked": now,
            "pack": info.name,
            "version": info.version,
            **meta,
        },
    )


def mark_checked(state_dir: Path, sub: Subscription, meta: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """Record that the upstream still serves the cached copy (so a restart does not fetch at once)."""
    meta = {**meta, **{k: v for k, v in fields.items() if v is not None}, "checked": time.time()}
    write_atomic(meta_path(state_dir, sub), json.dumps(meta, indent=2).encode("utf-8"))
    return meta


def load_leaving_out_bad_copies(load: Callable[[list[Path]], RuleSet], subscribed: list[Path],
                                keep: Collection[Path] = ()) -> RuleSet:
    """`load(subscribed)`; if that fails because of cached copies (not those in `keep`), load again
    without them and log a warning. Problems anywhere else are raised as ever."""
    try:
        return load(subscribed)
    except RulePackError as e:
        bad = [f for f in subscribed if f not in keep and any(p.startswith(f"{f}:") for p in e.problems)]
        if not bad:
            raise
        log.warning("fixative subscriptions: cached copies left out, they do not load with the other packs:\n  %s",
                    "\n  ".join(e.problems))
        return load([f for f in subscribed if f not in bad])


def startup_rules(config: Config) -> RuleSet:
    """The preset's packs, the config's packs, then each subscription's last good copy.

    Works offline. A cached copy that no longer verifies, or that spoils the set, is left
    out with a warning; problems in the config's own packs are raised as ever.
    """
    files, problems = subscribed_packs(config.state_dir, config.subscriptions)
    for problem in problems:
        log.warning("fixative subscriptions: %s", problem)
    return load_leaving_out_bad_copies(
        lambda subscribed: load_rules(config.preset, [*config.packs, *subscribed], config.thresholds), files)
