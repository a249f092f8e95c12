"""Which instances share this Redis: each writes a heartbeat with where its event log and dashboard are,
so any instance's dashboard can list the others and read the logs it can reach."""

from __future__ import annotations

import json
import os
import socket
import time
from typing import Any

KEY = "instances"
LIVE_SECONDS = 30.0  # an instance that has not written its heartbeat for this long is listed as gone


def heartbeat(instance: str, listen: str, admin: str | None, events: str, started: float) -> str:
    return json.dumps({"name": instance, "host": socket.gethostname(), "pid": os.getpid(), "listen": listen,
                       "admin": admin, "events": events, "started": started, "seen": time.time()})


def parse_instances(raw: dict[Any, Any], now: float) -> list[dict[str, Any]]:
    """The registry's entries, newest heartbeat first, each with `live` and `events_readable`."""
    out = []
    for name, value in raw.items():
        try:
            item = json.loads(value)
            seen = float(item["seen"])
        except (ValueError, KeyError, TypeError):
            continue
        item["name"] = name.decode() if isinstance(name, bytes) else str(name)
        item["live"] = now - seen <= LIVE_SECONDS
        events = item.get("events")
        item["events_readable"] = isinstance(events, str) and os.access(events, os.R_OK)
        out.append(item)
    return sorted(out, key=lambda i: -float(i["seen"]))
