"""A byte-bounded cache of rendered variants on disk, so a restart does not re-render everything.

One file per key, named by a digest of the key, written to a temporary name and renamed
(a crash never leaves half a file under a real name). Least recently used files go first;
use is the file's mtime, so the order survives restarts. All methods do blocking I/O:
call them from a worker thread, never from the event loop.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections import OrderedDict
from pathlib import Path

log = logging.getLogger(__name__)

SUFFIX = ".variant"


def key_name(key: tuple) -> str:
    """A stable file name for a cache key (tuples of str, int, None)."""
    return hashlib.sha256(repr(key).encode("utf-8", "surrogateescape")).hexdigest() + SUFFIX


class DiskCache:
    def __init__(self, folder: Path, max_bytes: int):
        self.folder = folder
        self.max_bytes = max_bytes
        self.size = 0
        self.hits = 0
        self._lock = threading.Lock()
        self._index: OrderedDict[str, int] = OrderedDict()
        folder.mkdir(parents=True, exist_ok=True)
        entries = []
        for path in folder.iterdir():
            if path.suffix == SUFFIX:
                try:
                    st = path.stat()
                except OSError:
                    continue
                entries.append((st.st_mtime, path.name, st.st_size))
            elif path.name.endswith(".tmp"):
                path.unlink(missing_ok=True)  # left by a crash mid-write
        for _, name, size in sorted(entries):
            self._index[name] = size
            self.size += size
        self._evict()

    def get(self, key: tuple) -> bytes | None:
        name = key_name(key)
        with self._lock:
            if name not in self._index:
                return None
            self._index.move_to_end(name)
        path = self.folder / name
        try:
            data = path.read_bytes()
            os.utime(path)
        except OSError:
            with self._lock:
                self.size -= self._index.pop(name, 0)
            return None
        self.hits += 1
        return data

    def put(self, key: tuple, value: bytes) -> None:
        if len(value) > self.max_bytes // 8:
            return
        name = key_name(key)
        tmp = self.folder / f"{name}.{threading.get_ident()}.tmp"
        try:
            tmp.write_bytes(value)
            os.replace(tmp, self.folder / name)
        except OSError as e:
            tmp.unlink(missing_ok=True)
            log.warning("could not write to the variant cache %s: %s", self.folder, e)
            return
        with self._lock:
            self.size += len(value) - self._index.pop(name, 0)
            self._index[name] = len(value)
            self._evict()

    def __len__(self) -> int:
        return len(self._index)

    def _evict(self) -> None:
        while self.size > self.max_bytes and self._index:
            name, size = self._index.popitem(last=False)
            self.size -= size
            (self.folder / name).unlink(missing_ok=True)
