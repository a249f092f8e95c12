"""A one-line progress bar on a terminal: how far through the file, lines so far, speed, time left.

Draws at most `per_second` times a second with a carriage return, and clears its line when closed,
so what follows starts on a clean line. Disabled (no output at all) when the stream is not a
terminal, unless forced: logs and pipes get no bar.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

WIDTH = 24


class Progress:
    """Call update(done, lines) as often as you like; close() when finished."""

    def __init__(self, label: str, total: int, stream: TextIO | None = None, enabled: bool | None = None,
                 per_second: float = 8.0):
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = _is_terminal(self.stream) if enabled is None else enabled
        self.label = label
        self.total = max(total, 1)
        self.interval = 1.0 / per_second
        self.started = time.monotonic()
        self.drawn = 0.0
        self.shown = False

    def update(self, done: int, lines: int, force: bool = False) -> None:
        """done: bytes of the file read so far (of `total`); lines: lines so far."""
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self.drawn < self.interval:
            return
        self.drawn = now
        self.stream.write("\r" + render(self.label, min(done / self.total, 1.0), lines, now - self.started))
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        if self.enabled and self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()


def render(label: str, fraction: float, lines: int, elapsed: float) -> str:
    """'access.log  42% |██████████··············|  420,000 lines  41,000 lines/s  14 s left'."""
    filled = int(fraction * WIDTH)
    bar = "█" * filled + "·" * (WIDTH - filled)
    rate = lines / elapsed if elapsed > 0 else 0.0
    left = elapsed * (1 - fraction) / fraction if fraction > 0.01 else None
    tail = f"  {left:.0f} s left" if left is not None else ""
    return f"{label}  {fraction:4.0%} |{bar}|  {lines:,} lines  {rate:,.0f} lines/s{tail}"


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
