"""The per-install secret: seeds decoys (and signs cookies) so they differ between installs."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path


def load_or_create_secret(state_dir: Path) -> bytes:
    """Read state_dir/secret, creating it (owner-only) on first start."""
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / "secret"
    try:
        data = path.read_bytes()
        if len(data) >= 32:
            return data
    except FileNotFoundError:
        pass
    data = secrets.token_bytes(32)
    write_secret(state_dir, data)
    return data


def write_secret(state_dir: Path, data: bytes) -> None:
    """Save the secret owner-only, replacing the file in one step."""
    tmp = state_dir / "secret.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, state_dir / "secret")


def derive(secret: bytes, purpose: str, message: str) -> bytes:
    """A keyed digest for one purpose (e.g. 'decoy', url): deterministic per install."""
    return hmac.new(secret, f"{purpose}\0{message}".encode("utf-8", "surrogateescape"), hashlib.sha256).digest()
