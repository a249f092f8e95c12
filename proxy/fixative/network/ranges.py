"""Disjoint address ranges with a value each, looked up by one bisect.

Sources overlap (a /20 inside a /14, a VPN block inside a host's space), so
`flatten` paints them into disjoint segments first: at every address the span
with the lowest rank wins, and neighbouring segments with the same value merge.
"""

from __future__ import annotations

import bisect
import heapq
import socket
from array import array
from collections.abc import Hashable, Iterable, MutableSequence, Sequence
from typing import Generic, TypeVar

V = TypeVar("V", bound=Hashable)
Span = tuple[int, int, tuple[int, ...], V]  # start, end (inclusive), rank (lower wins), value

V4_MAX = (1 << 32) - 1
_MAPPED = 0xFFFF


def ip_key(text: str) -> tuple[int, int] | None:
    """(version, integer) of an address, IPv4-mapped IPv6 as IPv4; None if not an address.

    inet_pton is ~10x faster than ipaddress and as strict (no short forms, no leading zeros).
    """
    try:
        return 4, int.from_bytes(socket.inet_pton(socket.AF_INET, text), "big")
    except (OSError, TypeError, ValueError):
        pass
    try:
        value = int.from_bytes(socket.inet_pton(socket.AF_INET6, text), "big")
    except (OSError, TypeError, ValueError):
        return None
    if value >> 32 == _MAPPED:
        return 4, value & V4_MAX
    return 6, value


def flatten(spans: Iterable[Span[V]]) -> tuple[list[int], list[int], list[V]]:
    """Disjoint sorted (starts, ends, values) from possibly overlapping, unsorted spans."""
    ordered = sorted(spans, key=lambda s: (s[0], s[2]))
    if all(ordered[i][0] > ordered[i - 1][1] for i in range(1, len(ordered))):
        return _merge((s, e, v) for s, e, _, v in ordered)  # already disjoint: the common case
    points = sorted({s[0] for s in ordered} | {s[1] + 1 for s in ordered})
    heap: list[tuple[tuple[int, ...], int, int, V]] = []
    segments: list[tuple[int, int, V]] = []
    i = 0
    for k in range(len(points) - 1):
        here = points[k]
        while i < len(ordered) and ordered[i][0] <= here:
            start, end, rank, value = ordered[i]
            heapq.heappush(heap, (rank, i, end, value))
            i += 1
        while heap and heap[0][2] < here:
            heapq.heappop(heap)
        if heap:
            segments.append((here, points[k + 1] - 1, heap[0][3]))
    return _merge(segments)


def _merge(segments: Iterable[tuple[int, int, V]]) -> tuple[list[int], list[int], list[V]]:
    starts: list[int] = []
    ends: list[int] = []
    values: list[V] = []
    for start, end, value in segments:
        if ends and start == ends[-1] + 1 and values[-1] == value:
            ends[-1] = end
        else:
            starts.append(start)
            ends.append(end)
            values.append(value)
    return starts, ends, values


class RangeTable(Generic[V]):
    """Disjoint IPv4 and IPv6 ranges, each with a value; `find` is one bisect.

    IPv4 bounds are kept in 4-byte arrays (a full ip2asn file has ~500k of them).
    """

    __slots__ = ("_v4", "_v6", "values")

    def __init__(self, spans4: Iterable[Span[V]], spans6: Iterable[Span[V]]):
        self.values: list[V] = []
        index: dict[V, int] = {}
        tables = []
        for spans, kind in ((spans4, "I"), (spans6, "")):
            starts, ends, values = flatten(spans)
            ids = [index.setdefault(v, len(index)) for v in values]
            bounds: tuple[MutableSequence[int], MutableSequence[int]]
            bounds = (array(kind, starts), array(kind, ends)) if kind else (starts, ends)
            tables.append((*bounds, array("I", ids)))
        self.values = list(index)
        self._v4, self._v6 = tables

    def find(self, version: int, value: int) -> V | None:
        starts, ends, ids = self._v4 if version == 4 else self._v6
        i = bisect.bisect_right(starts, value) - 1
        if i >= 0 and value <= ends[i]:
            return self.values[ids[i]]
        return None

    def __len__(self) -> int:
        return len(self._v4[0]) + len(self._v6[0])

    def rows(self, version: int) -> Sequence[tuple[int, int, V]]:
        """The merged (start, end, value) rows of one address family, for reports and tests."""
        starts, ends, ids = self._v4 if version == 4 else self._v6
        return [(s, e, self.values[i]) for s, e, i in zip(starts, ends, ids)]
