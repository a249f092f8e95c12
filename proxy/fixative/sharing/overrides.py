"""The artist's allow/deny list, the same on every instance.

Each instance keeps overrides.yaml in its own state dir, as without Redis; Redis holds the gallery's
copy. A change on one instance (dashboard, extension, or the file edited by hand) is merged into
Redis's copy; a change in Redis is applied to the others. Merging is three-way against the last
copy both agreed on, so an entry added on one instance while Redis was down is not lost, and one
removed is not brought back.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from ..admin.overrides import Override

KEY = "overrides"


def identity(o: Override) -> tuple[str, str]:
    return o.id, o.note


def merge(base: list[Override], local: list[Override], remote: list[Override]) -> list[Override]:
    """Remote's entries, plus those local added since base, minus those local removed since base."""
    base_ids = {o.id for o in base}
    local_ids = {o.id for o in local}
    removed = base_ids - local_ids
    out = {o.id: o for o in remote if o.id not in removed}
    for o in local:
        if o.id not in base_ids:
            out.setdefault(o.id, o)
    return list(out.values())


def same(a: list[Override], b: list[Override]) -> bool:
    return sorted(map(identity, a)) == sorted(map(identity, b))


def encode(overrides: list[Override], instance: str) -> str:
    return json.dumps({"by": instance, "overrides": [asdict(o) for o in overrides]}, sort_keys=True)


def decode(raw: Any) -> list[Override] | None:
    """Redis's copy; None if absent or unreadable (then this instance's copy replaces it)."""
    if raw is None:
        return None
    try:
        doc = json.loads(raw)
        return [Override(str(i["kind"]), str(i["value"]), str(i["action"]), str(i.get("note", "")),
                         float(i.get("created") or 0)) for i in doc["overrides"]]
    except (ValueError, KeyError, TypeError):
        return None
