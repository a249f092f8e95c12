"""IP → autonomous system (number, organisation) and what kind of network it is, offline.

Sources, in the order given: ip2asn TSV files (iptoasn.com, optionally .gz),
MaxMind GeoLite2-ASN / DB-IP ASN `.mmdb` files, and always the shipped table of
hosting, cloud, VPN and iCloud Private Relay prefixes. The first source that
knows the address names the AS; the shipped prefix table, being per prefix,
sets the category when it covers the address (so a Private Relay exit on a CDN's
AS is "privacy-relay", not "cdn"). Otherwise the category is joined on the AS
number from the shipped hosting-ASN list, so a full ip2asn file gets one too.
"""

from __future__ import annotations

import gzip
import io
import socket
from array import array
from collections.abc import Iterator, Mapping, MutableSequence, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from .ranges import Flat, RangeTable, flatten, ip_key, is_disjoint, merge_adjacent

DATA = Path(__file__).resolve().parents[1] / "data"
SHIPPED_ASNS = DATA / "hosting-asns.tsv"
SHIPPED_PREFIXES = DATA / "hosting-prefixes.tsv.gz"
CATEGORIES = ("cloud", "hosting", "paas", "cdn", "vpn", "privacy-relay", "ai-crawler-operator")
TSV_COLUMNS = "range_start range_end AS_number country_code AS_description [category]"
MMDB_MARKER = b"\xab\xcd\xefMaxMind.com"
Categories = Mapping[int, tuple[str, str | None]]  # AS number → (category, brand)


@dataclass(frozen=True, slots=True)
class AsnInfo:
    """What is known about the network of one address. asn 0: a known range of unknown AS."""

    asn: int
    org: str
    category: str | None = None  # one of CATEGORIES, or None for an ordinary network
    source: str = ""
    brand: str | None = None  # e.g. "AWS" for AS16509, from the hosting-ASN list

    def describe(self) -> str:
        """'AS16509 AMAZON-02 - Amazon.com, Inc., US (AWS), cloud'."""
        text = f"AS{self.asn} {self.org}" if self.asn else self.org
        if self.brand and self.brand.lower() not in self.org.lower():
            text += f" ({self.brand})"
        return f"{text}, {self.category}" if self.category else text


class Source(Protocol):
    name: str

    def find(self, version: int, value: int, text: str) -> AsnInfo | None: ...


class AsnDatabase:
    """Lookups over ordered sources plus an optional per-prefix overlay; a few µs each."""

    def __init__(self, sources: Sequence[Source], overlay: RangeTable[AsnInfo] | None = None):
        self.sources = tuple(sources)
        self.overlay = overlay
        self._combined: dict[tuple[int, int], AsnInfo] = {}

    def lookup(self, ip: str) -> AsnInfo | None:
        """The network of `ip` (IPv4, IPv6 or IPv4-mapped IPv6), or None if unknown or not an address."""
        key = ip_key(ip)
        if key is None:
            return None
        version, value = key
        base = None
        for source in self.sources:
            base = source.find(version, value, ip)
            if base is not None:
                break
        over = self.overlay.find(version, value) if self.overlay is not None else None
        if over is None or base is None:
            return base or over
        pair = (id(base), id(over))
        found = self._combined.get(pair)
        if found is None:
            found = self._combined[pair] = _combine(base, over)
        return found

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.sources] + (["shipped prefixes"] if self.overlay is not None else [])


def _combine(base: AsnInfo, over: AsnInfo) -> AsnInfo:
    if base.asn == 0:
        return over
    return replace(base, category=over.category, source=f"{base.source} + {over.source}")


class TableSource:
    """An ip2asn-format file loaded into a RangeTable."""

    def __init__(self, name: str, table: RangeTable[AsnInfo]):
        self.name = name
        self.table = table

    def find(self, version: int, value: int, text: str) -> AsnInfo | None:
        return self.table.find(version, value)


class MmdbSource:
    """A MaxMind-format ASN database, read with the `maxminddb` package (C extension when present)."""

    def __init__(self, path: Path, categories: Categories):
        import maxminddb

        try:
            self.reader = maxminddb.open_database(str(path))
        except (OSError, ValueError, maxminddb.InvalidDatabaseError) as e:
            raise ValueError(f"{path}: not a readable MaxMind DB file: {e}") from None
        kind = self.reader.metadata().database_type
        if "asn" not in kind.lower():
            raise ValueError(f"{path}: is a {kind!r} database; an ASN database is needed "
                             "(GeoLite2-ASN or DB-IP ASN Lite)")
        self.name = path.name
        self.categories = categories
        self._infos: dict[tuple[int, str], AsnInfo] = {}

    def find(self, version: int, value: int, text: str) -> AsnInfo | None:
        if version == 4 and ":" in text:
            text = ".".join(str(value >> s & 255) for s in (24, 16, 8, 0))
        try:
            record = self.reader.get(text)
        except ValueError:  # an IPv6 address in an IPv4-only database
            return None
        if not isinstance(record, dict):
            return None
        asn, org = _mmdb_fields(record)
        if not asn:
            return None
        info = self._infos.get((asn, org))
        if info is None:
            category, brand = self.categories.get(asn, (None, None))
            info = self._infos[(asn, org)] = AsnInfo(asn, org, category, self.name, brand)
        return info


def _mmdb_fields(record: dict[str, Any]) -> tuple[int, str]:
    """MaxMind/DB-IP name the fields autonomous_system_*; IPinfo uses asn ('AS13335') and as_name."""
    asn = record.get("autonomous_system_number", record.get("asn", 0))
    if isinstance(asn, str):  # "AS13335"
        digits = asn.upper().removeprefix("AS")
        asn = int(digits) if digits.isdigit() else 0
    org = record.get("autonomous_system_organization") or record.get("as_name") or ""
    return int(asn or 0), str(org)


def read_tsv(path: Path, categories: Categories, source: str) -> RangeTable[AsnInfo]:
    """An ip2asn TSV (plain or .gz) as a table; AS 0 ("Not routed") rows are skipped unless categorised.

    ip2asn files are sorted and disjoint, and load as they are; where rows overlap instead,
    the narrower range wins, and among equal ones the later row.
    """
    columns: tuple[_Columns, _Columns] = (
        (array("I"), array("I"), [], array("I")), ([], [], [], array("I")))  # IPv4 bounds fit 4 bytes
    infos: dict[tuple[str, str, str], AsnInfo | None] = {}
    for number, line in _lines(path):
        if line.startswith("#") or not line.strip():
            continue
        fields = line.rstrip("\r\n").split("\t")
        if len(fields) not in (5, 6) or not fields[2].isdigit():
            where = f"{path}:{number}"
            if len(fields) not in (5, 6):
                raise ValueError(f"{where}: expected 5 tab-separated fields ({TSV_COLUMNS}), "
                                 f"got {len(fields)}; is this an ip2asn TSV file?")
            raise ValueError(f"{where}: AS_number {fields[2]!r} is not a number")
        key = (fields[2], fields[4], fields[5] if len(fields) == 6 else "")
        if key not in infos:
            infos[key] = _info(key, categories, source, f"{path}:{number}")
        info = infos[key]
        if info is None:
            continue
        first, last = _address(fields[0], path, number), _address(fields[1], path, number)
        if first[0] != last[0] or first[1] > last[1]:
            raise ValueError(f"{path}:{number}: range {fields[0]} - {fields[1]} is backwards "
                             "or mixes IPv4 and IPv6")
        starts, ends, values, lines = columns[first[0] == 6]
        starts.append(first[1])
        ends.append(last[1])
        values.append(info)
        lines.append(number)
    if not columns[0][0] and not columns[1][0]:
        raise ValueError(f"{path}: no address ranges found; is this an ip2asn TSV file?")
    return RangeTable(*(_flat(c) for c in columns))


_Columns = tuple[MutableSequence[int], MutableSequence[int], list[AsnInfo], MutableSequence[int]]


def _flat(columns: _Columns) -> Flat[AsnInfo]:
    starts, ends, values, lines = columns
    if is_disjoint(starts, ends):
        return merge_adjacent(zip(starts, ends, values), "I" if isinstance(starts, array) else "")
    return flatten((s, e, (e - s, -n), v) for s, e, v, n in zip(starts, ends, values, lines))


def _info(key: tuple[str, str, str], categories: Categories, source: str, where: str) -> AsnInfo | None:
    asn, org, category = int(key[0]), key[1].strip(), key[2].strip() or None
    if category is not None and category not in CATEGORIES:
        raise ValueError(f"{where}: category {category!r} is not one of {', '.join(CATEGORIES)}")
    if asn == 0 and category is None:
        return None
    known, brand = categories.get(asn, (None, None)) if asn else (None, None)
    return AsnInfo(asn, org, category or known, source, brand)


def _address(text: str, path: Path, number: int) -> tuple[int, int]:
    if text.isdigit():  # ip2asn-v4-u32.tsv writes IPv4 addresses as integers
        if int(text) >> 32:
            raise ValueError(f"{path}:{number}: {text} is too large for an IPv4 address")
        return 4, int(text)
    key = ip_key(text)
    if key is None:
        raise ValueError(f"{path}:{number}: {text!r} is not an IP address")
    if key[0] == 4 and ":" in text:  # an IPv4-mapped row stays IPv6; lookups map to IPv4 first
        return 6, int.from_bytes(socket.inet_pton(socket.AF_INET6, text), "big")
    return key


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """Numbered text lines of a plain or gzip file; ValueError naming the line that is not text."""
    with path.open("rb") as raw:
        gz = raw.read(2) == b"\x1f\x8b"
    number = 0
    with gzip.open(path, "rb") if gz else path.open("rb") as binary:
        try:
            for number, line in enumerate(binary, 1):
                yield number, line.decode("utf-8")
        except (UnicodeDecodeError, OSError, EOFError) as e:
            raise ValueError(f"{path}:{number or 1}: not an ip2asn TSV text file ({e})") from None


def load_asn_categories(path: Path = SHIPPED_ASNS) -> dict[int, tuple[str, str | None]]:
    """AS number → (category, brand) from a `asn category brand org sources` TSV."""
    out: dict[int, tuple[str, str | None]] = {}
    for number, line in _lines(path):
        if not line.strip() or line.startswith(("#", "asn\t")):
            continue
        fields = line.rstrip("\r\n").split("\t")
        if len(fields) < 3 or not fields[0].isdigit() or fields[1] not in CATEGORIES:
            raise ValueError(f"{path}:{number}: expected 'asn<TAB>category<TAB>brand<TAB>org', "
                             f"with category one of {', '.join(CATEGORIES)}")
        out[int(fields[0])] = (fields[1], fields[2] or None)
    return out


def is_mmdb(path: Path) -> bool:
    """A MaxMind DB ends with its metadata, introduced by a fixed marker in the last 128 KiB."""
    with path.open("rb") as f:
        f.seek(0, io.SEEK_END)
        size = f.tell()
        f.seek(max(0, size - 128 * 1024))
        return MMDB_MARKER in f.read()


def load_asn_database(paths: Sequence[Path], shipped: bool = True) -> AsnDatabase:
    """Load ASN databases in priority order (format from content), plus the shipped prefix table.

    Raises ValueError naming the file (and line, for TSV) on a missing or unreadable file.
    """
    categories = _shipped_categories()
    sources: list[Source] = []
    for path in map(Path, paths):
        if not path.is_file():
            raise ValueError(f"{path}: file not found" if not path.exists() else f"{path}: not a file")
        if is_mmdb(path):
            sources.append(MmdbSource(path, categories))
        elif path.suffix.lower() == ".mmdb":
            raise ValueError(f"{path}: not a MaxMind DB file (no metadata marker); "
                             "download GeoLite2-ASN.mmdb or dbip-asn-lite.mmdb again")
        else:
            sources.append(TableSource(path.name, read_tsv(path, categories, path.name)))
    return AsnDatabase(sources, shipped_prefixes() if shipped else None)


@lru_cache(maxsize=1)
def _shipped_categories() -> dict[int, tuple[str, str | None]]:
    return load_asn_categories(SHIPPED_ASNS)


@lru_cache(maxsize=1)
def shipped_prefixes() -> RangeTable[AsnInfo]:
    """The shipped hosting/cloud/VPN/relay prefix table (loaded once, ~0.3 s)."""
    return read_tsv(SHIPPED_PREFIXES, _shipped_categories(), "shipped")


def shipped_database() -> AsnDatabase:
    """Only the shipped table: hosting, cloud, CDN, VPN and Private Relay prefixes."""
    return AsnDatabase([], shipped_prefixes())
