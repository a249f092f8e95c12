"""The admin token: made once per install, kept owner-only in the state dir, compared in constant time."""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path

TOKEN_FILE = "admin-token"


def load_or_create_token(state_dir: Path) -> tuple[str, bool]:
    """The token in state_dir/admin-token and whether it was just created (mode 0600)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / TOKEN_FILE
    try:
        token = path.read_text("ascii").strip()
        if len(token) >= 32:
            return token, False
    except (FileNotFoundError, UnicodeDecodeError):
        pass
    token = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    os.chmod(path, 0o600)  # an older file may have had looser permissions
    return token, True


def bearer_matches(header: str | None, token: str) -> bool:
    """True when `Authorization: Bearer <token>` carries exactly this token."""
    if not header:
        return False
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(value.strip().encode("utf-8", "replace"), token.encode())
