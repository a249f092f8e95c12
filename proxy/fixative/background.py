"""Background threads (renders, the event-log writer) give way to the event loop that serves people."""

from __future__ import annotations

import os
import threading

NICENESS = 10  # added to the process's nice value for the calling thread


def yield_to_the_proxy() -> None:
    """Run in a background thread: a lower CPU priority (Linux: per thread), so its work waits for a free
    core rather than taking one from the proxy (bench/soak.py: people's requests stalled for up to 30 s
    while traced copies rendered, on 2 busy cores)."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICENESS)
    except (OSError, AttributeError):  # not Linux, or not allowed: run at normal priority
        pass
