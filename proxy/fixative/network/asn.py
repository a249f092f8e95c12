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
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from .ranges import RangeTable, Span, ip_key

DATA = Path(__file__).resolve().parents[1] / "data"
SHIPPED_ASNS = DATA / "hosting-asns.tsv"
SHIPPED_PREFIXES = DATA / "hosting-prefixes.tsv.gz"
CATEGORIES = ("cloud", "hosting", "paas", "cdn", "vpn", "privacy-relay", "ai-crawler-operator")
TSV_COLUMNS = "range_start range_end AS_number country_code AS_description [category]"
MMDB_MARKER = b"\xab\xcd\xefMaxMind.com"


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

    def __init__(self, path: Path, categories: Mapping[int, tuple[str, str | None]]):
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
    if isinstance(asn, str):
        asn = int(asn.upper().removeprefix("AS") or 0) if asn.upper().removeprefix("AS").isdigit() else 0
    org = record.get("autonomous_system_organization") or record.get("as_name") or record.get("name") or ""
    return int(asn or 0), str(org)


def read_tsv_spans(path: Path, categories: Mapping[int, tuple[str, str | None]], source: str,
                   ) -> tuple[list[Span[AsnInfo]], list[Span[AsnInfo]]]:
    """Spans of an ip2asn TSV (plain or .gz); AS 0 rows ("Not routed") are skipped unless categorised.

    Narrower ranges win where rows overlap; among equal ones, the later row wins.
    """
    spans: tuple[list[Span[AsnInfo]], list[Span[AsnInfo]]] = ([], [])
    infos: dict[tuple[int, str, str | None], AsnInfo] = {}
    for number, line in _lines(path):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.rstrip("\r\n").split("\t")
        where = f"{path}:{number}"
        if len(fields) not in (5, 6):
            raise ValueError(f"{where}: expected 5 tab-separated fields ({TSV_COLUMNS}), "
                             f"got {len(fields)}; is this an ip2asn TSV file?")
        first, last = _address(fields[0], where), _address(fields[1], where)
        if first[0] != last[0] or first[1] > last[1]:
            raise ValueError(f"{where}: range {fields[0]} - {fields[1]} is backwards or mixes IPv4 and IPv6")
        if not fields[2].strip().isdigit():
            raise ValueError(f"{where}: AS_number {fields[2]!r} is not a number")
        asn, org = int(fields[2]), fields[4].strip()
        category = fields[5].strip() or None if len(fields) == 6 else None
        if category is not None and category not in CATEGORIES:
            raise ValueError(f"{where}: category {category!r} is not one of {', '.join(CATEGORIES)}")
        if asn == 0 and category is None:
            continue
        known, brand = categories.get(asn, (None, None)) if asn else (None, None)
        key = (asn, org, category or known)
        info = infos.get(key)
        if info is None:
            info = infos[key] = AsnInfo(asn, org, category or known, source, brand)
        spans[first[0] == 6].append((first[1], last[1], (last[1] - first[1], -number), info))
    return spans


def _address(text: str, where: str) -> tuple[int, int]:
    if text.isdigit():  # ip2asn-v4-u32.tsv writes IPv4 addresses as integers
        if int(text) >> 32:
            raise ValueError(f"{where}: {text} is too large for an IPv4 address")
        return 4, int(text)
    key = ip_key(text)
    if key is None:
        raise ValueError(f"{where}: {text!r} is not an IP address")
    if key[0] == 4 and ":" in text:  # an IPv4-mapped row stays IPv6; lookups map to IPv4 first
        return 6, int.from_bytes(socket.inet_pton(socket.AF_INET6, text), "big")
    return key


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    with path.open("rb") as raw:
        gz = raw.read(2) == b"\x1f\x8b"
    opened = gzip.open(path, "rb") if gz else path.open("rb")
    with opened as binary, io.TextIOWrapper(binary, encoding="utf-8", newline="") as text:
        number = 0
        try:
            for number, line in enumerate(text, 1):
                yield number, line
        except (UnicodeDecodeError, OSError, EOFError) as e:
            raise ValueError(f"{path}:{number + 1}: not an ip2asn TSV text file ({e})") from None


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
            sources.append(TableSource(path.name, RangeTable(*read_tsv_spans(path, categories, path.name))))
    return AsnDatabase(sources, shipped_prefixes() if shipped else None)


@lru_cache(maxsize=1)
def _shipped_categories() -> dict[int, tuple[str, str | None]]:
    return load_asn_categories(SHIPPED_ASNS)


@lru_cache(maxsize=1)
def shipped_prefixes() -> RangeTable[AsnInfo]:
    """The shipped hosting/cloud/VPN/relay prefix table (loaded once, ~0.3 s)."""
    return RangeTable(*read_tsv_spans(SHIPPED_PREFIXES, _shipped_categories(), "shipped"))


def shipped_database() -> AsnDatabase:
    """Only the shipped table: hosting, cloud, CDN, VPN and Private Relay prefixes."""
    return AsnDatabase([], shipped_prefixes())
