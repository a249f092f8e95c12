"""Rewrites: the last compressed pages Fixative read, by what the origin sent.

Pages reads every page (the site map) and, with traps on, adds a link: a page the origin compressed
has to be decoded, and then compressed again: for a 36 kB page about 0.4 ms with gzip and 7 ms with
brotli (mitmproxy's default quality), on every view. The result depends only on the origin's bytes,
their encoding and the link (one per page path; None with traps off), so each distinct page is read
and rewritten once. Bounded by bytes held, oldest first out.
"""

from __future__ import annotations

from collections import OrderedDict

MAX_BYTES = 32 << 20
MAX_PAGE = 1 << 20  # larger pages are rewritten every time rather than held

Key = tuple[bytes, str, bytes | None]  # the origin's raw body, its Content-Encoding, the trap link if any


class Rewrites:
    def __init__(self, max_bytes: int = MAX_BYTES):
        self.max_bytes = max_bytes
        self.held = 0
        self._items: OrderedDict[Key, tuple[bytes, bytes]] = OrderedDict()

    def get(self, key: Key) -> tuple[bytes, bytes] | None:
        """(the decoded page, the rewritten raw body) for these origin bytes, if rewritten lately."""
        found = self._items.get(key)
        if found is not None:
            self._items.move_to_end(key)
        return found

    def put(self, key: Key, html: bytes, raw: bytes) -> None:
        size = len(key[0]) + len(html) + len(raw)
        if size > MAX_PAGE or key in self._items:
            return
        self._items[key] = (html, raw)
        self.held += size
        while self.held > self.max_bytes and self._items:
            (old_raw, _, _), (old_html, old_new) = self._items.popitem(last=False)
            self.held -= len(old_raw) + len(old_html) + len(old_new)

    def __len__(self) -> int:
        return len(self._items)
