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
Flat = tuple[MutableSequence[int], MutableSequence[int], list[V]]  # disjoint sorted starts, ends, values

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


def flatten(spans: Iterable[Span[V]]) -> Flat[V]:
    """Disjoint sorted (starts, ends, values) from possibly overlapping, unsorted spans."""
    ordered = sorted(spans, key=lambda s: (s[0], s[2]))
    if is_disjoint([s[0] for s in ordered], [s[1] for s in ordered]):
        return merge_adjacent((s, e, v) for s, e, _, v in ordered)
    points = sorted({s[0] for s in ordered} | {s[1] + 1 for s in ordered})
    heap: list[tuple[tuple[int, ...], int, int, V]] = []
    segments: list[tuple[int, int, V]] = []
    i = 0
    for k in range(len(points) - 1):
        here = points[k]
        while i < len(ordered) and ordered[i][0] <= here:
            _, end, rank, value = ordered[i]
            heapq.heappush(heap, (rank, i, end, value))
            i += 1
        while heap and heap[0][2] < here:
            heapq.heappop(heap)
        if heap:
            segments.append((here, points[k + 1] - 1, heap[0][3]))
    return merge_adjacent(segments)


def is_disjoint(starts: Sequence[int], ends: Sequence[int]) -> bool:
    """Are these ranges, in this order, sorted and non-overlapping (as an ip2asn file is)?"""
    return all(starts[i] > ends[i - 1] for i in range(1, len(starts)))


def merge_adjacent(segments: Iterable[tuple[int, int, V]], typecode: str = "") -> Flat[V]:
    """Columns of sorted disjoint segments, neighbours with the same value joined.

    typecode "I" keeps IPv4 bounds in 4-byte arrays, ~9x smaller than lists while loading.
    """
    starts: MutableSequence[int] = array(typecode) if typecode else []
    ends: MutableSequence[int] = array(typecode) if typecode else []
    values: list[V] = []
    for start, end, value in segments:
        if ends and start == ends[-1] + 1 and (values[-1] is value or values[-1] == value):
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

    def __init__(self, flat4: Flat[V], flat6: Flat[V]):
        index: dict[V, int] = {}
        tables = []
        for (starts, ends, values), kind in ((flat4, "I"), (flat6, "")):
            ids = [index.setdefault(v, len(index)) for v in values]
            if kind and not isinstance(starts, array):
                starts, ends = array(kind, starts), array(kind, ends)
            tables.append((starts, ends, array("I", ids)))
        self.values: list[V] = list(index)
        self._v4, self._v6 = tables

    @classmethod
    def from_spans(cls, spans4: Iterable[Span[V]], spans6: Iterable[Span[V]]) -> RangeTable[V]:
        """A table from possibly overlapping spans (see `flatten`)."""
        return cls(flatten(spans4), flatten(spans6))

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
