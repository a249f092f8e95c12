"""The artist's own allow/deny list, kept in STATE_DIR/overrides.yaml and compiled as the pack `local-overrides`.

An override allows or denies an address, a CIDR range, or a User-Agent substring.
The generated pack comes first in the rule set, so its decisive rules win over every
shipped pack. Allows come before denies: "deny this /16 but allow my own address"
does what it says. The pack also carries `trusted-browser`, an allow on the
`session.trusted` signal (see trust.py).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from ..ipset import parse_network

PACK_NAME = "local-overrides"
OVERRIDES_FILE = "overrides.yaml"
PACK_FILE = "local-overrides.yaml"
KINDS = ("ip", "user_agent")
ACTIONS = ("allow", "deny")
MAX_OVERRIDES = 1000
_PRINTABLE = re.compile(r"^[\x20-\x7e]+$")


@dataclass(frozen=True)
class Override:
    """One entry: allow or deny requests whose address is in `value` (ip) or whose UA contains it."""

    kind: str
    value: str
    action: str
    note: str = ""
    created: float = 0.0

    @property
    def id(self) -> str:
        digest = hashlib.blake2s(
            f"{self.kind}\0{self.value.lower()}".encode(), digest_size=4
        ).hexdigest()
        return f"{self.action}-{'ip' if self.kind == 'ip' else 'ua'}-{digest}"


def parse_override(kind: object, value: object, action: object, note: object = "") -> Override:
    """A checked Override; ValueError names the field at fault."""
    if kind not in KINDS:
        raise ValueError(f"kind: expected one of {', '.join(KINDS)}")
    if action not in ACTIONS:
        raise ValueError("action: expected allow or deny")
    if not isinstance(value, str) or not value.strip():
        raise ValueError("value: expected a non-empty string")
    if not isinstance(note, str) or len(note) > 200 or (note and not _PRINTABLE.match(note)):
        raise ValueError("note: expected up to 200 printable characters")
    value = value.strip()
    if kind == "ip":
        try:
            value = str(parse_network(value))
        except ValueError as e:
            raise ValueError(f"value: {e}") from None
    elif not 3 <= len(value) <= 200 or not _PRINTABLE.match(value):
        raise ValueError("value: a User-Agent substring is 3 to 200 printable characters")
    return Override(str(kind), value, str(action), note, time.time())


def read_overrides(state_dir: Path) -> list[Override]:
    """The saved overrides; a missing file is an empty list, a broken one a ValueError."""
    path = state_dir / OVERRIDES_FILE
    try:
        doc = yaml.safe_load(path.read_text("utf-8"))
    except FileNotFoundError:
        return []
    except yaml.YAMLError as e:
        raise ValueError(f"{path}: not valid YAML: {e}") from None
    items = (doc or {}).get("overrides") or [] if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise ValueError(f"{path}: expected `overrides:` with a list")  # noqa: TRY004 - a bad file
    found = []
    for n, item in enumerate(items, 1):
        if not isinstance(item, dict):
            raise ValueError(f"{path}: override #{n}: expected a mapping")  # noqa: TRY004
        try:
            o = parse_override(
                item.get("kind"), item.get("value"), item.get("action"), item.get("note", "")
            )
        except ValueError as e:
            raise ValueError(f"{path}: override #{n}: {e}") from None
        found.append(Override(o.kind, o.value, o.action, o.note, float(item.get("created") or 0)))
    return found


def write_overrides(state_dir: Path, overrides: list[Override]) -> None:
    doc = {"overrides": [asdict(o) for o in overrides]}
    _write_atomic(
        state_dir / OVERRIDES_FILE,
        "# Fixative: your allow/deny list. Managed by the dashboard; safe to edit by hand.\n"
        + yaml.safe_dump(doc, sort_keys=False),
    )


def pack_yaml(overrides: list[Override]) -> str:
    """The generated `local-overrides` pack, as YAML the ordinary loader validates."""
    rules: list[dict[str, Any]] = [
        {
            "id": "trusted-browser",
            "action": "allow",
            "tags": ["local"],
            "description": "a browser you marked as trusted from the dashboard or extension",
            "match": {"signal": ["session.trusted"]},
        }
    ]
    for o in sorted(overrides, key=lambda o: ACTIONS.index(o.action)):
        what = f"address {o.value}" if o.kind == "ip" else f"User-Agent containing {o.value!r}"
        verb = "allowed" if o.action == "allow" else "denied"
        note = f" ({o.note})" if o.note else ""
        rules.append(
            {
                "id": o.id,
                "action": o.action,
                "tags": ["local"],
                "description": f"{verb} by you: {what}{note}",
                "match": {"ip": [o.value]} if o.kind == "ip" else {"user_agent": [o.value]},
            }
        )
    doc = {
        "pack": {
            "name": PACK_NAME,
            "version": "local",
            "licence": "local",
            "description": "Your own allow and deny list, from the dashboard (highest priority)",
            "source": "generated from overrides.yaml in the state dir",
        },
        "rules": rules,
    }
    # JSON is YAML, and json.dumps quotes every string: no YAML trap can hide in a value.
    return (
        "# Generated by Fixative from overrides.yaml; edits here are overwritten.\n"
        + json.dumps(doc, indent=1)
    )


def write_pack(state_dir: Path, overrides: list[Override], name: str = PACK_FILE) -> Path:
    path = state_dir / name
    _write_atomic(path, pack_yaml(overrides))
    return path


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, "utf-8")
    os.replace(tmp, path)
