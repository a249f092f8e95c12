"""The offline ASN database: ip2asn TSV and .mmdb loading, range edges, overlaps, bad files,
the shipped prefix table, and the `fixative asn` command."""

from __future__ import annotations

import argparse
import gzip
import ipaddress
import json
import random
import struct
import time
from pathlib import Path
from typing import Any

import pytest

from fixative import asncli
from fixative.network import AsnDatabase, AsnInfo, load_asn_database, shipped_database
from fixative.network.asn import SHIPPED_PREFIXES
from fixative.network.ranges import RangeTable, flatten, ip_key

TSV = """\
1.0.0.0\t1.0.0.255\t13335\tUS\tCLOUDFLARENET
1.0.1.0\t1.0.3.255\t0\tNone\tNot routed
3.5.140.0\t3.5.143.255\t16509\tUS\tAMAZON-02
8.8.8.0\t8.8.8.255\t15169\tUS\tGOOGLE
64.0.0.0\t64.0.0.9\t64500\tZZ\tTEN-ADDRESSES
2001:db8::\t2001:db8::ffff\t64501\tZZ\tV6-EXAMPLE
2a01:4f8::\t2a01:4f8:ffff:ffff:ffff:ffff:ffff:ffff\t24940\tDE\tHETZNER-AS
"""


def write(path: Path, text: str) -> Path:
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


@pytest.fixture
def tsv_db(tmp_path: Path) -> AsnDatabase:
    return load_asn_database([write(tmp_path / "ip2asn-combined.tsv", TSV)], shipped=False)


# --- ip2asn TSV -----------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("ip", "asn"),
    [
        ("1.0.0.0", 13335), ("1.0.0.255", 13335), ("0.255.255.255", None), ("1.0.1.0", None),  # AS 0
        ("3.5.140.0", 16509), ("3.5.143.255", 16509), ("3.5.139.255", None), ("3.5.144.0", None),
        ("64.0.0.9", 64500), ("64.0.0.10", None),
        ("2001:db8::", 64501), ("2001:db8::ffff", 64501), ("2001:db8::1:0", None),
        ("2a01:4f8:ffff:ffff:ffff:ffff:ffff:ffff", 24940), ("2a01:4f9::", None),
        ("::ffff:3.5.140.7", 16509), ("::ffff:0305:8c07", 16509),  # IPv4-mapped IPv6 is IPv4
        ("::1.0.0.1", None),  # IPv4-compatible (deprecated) is IPv6, not IPv4
        ("", None), ("nope", None), ("3.5.140", None), ("3.5.140.1/32", None), ("03.5.140.1", None),
    ],
)
def test_tsv_lookup_at_edges(tsv_db: AsnDatabase, ip: str, asn: int | None) -> None:
    info = tsv_db.lookup(ip)
    assert (info.asn if info else None) == asn


def test_tsv_records_carry_org_source_and_joined_category(tsv_db: AsnDatabase) -> None:
    aws = tsv_db.lookup("3.5.140.1")
    assert aws == AsnInfo(16509, "AMAZON-02", "cloud", "ip2asn-combined.tsv", "AWS")
    assert aws.describe() == "AS16509 AMAZON-02 (AWS), cloud"
    assert tsv_db.lookup("2a01:4f8::1").category == "hosting"  # Hetzner, from the shipped ASN list
    plain = tsv_db.lookup("64.0.0.1")
    assert plain.category is None and plain.describe() == "AS64500 TEN-ADDRESSES"


def test_tsv_gzip_and_u32_variants(tmp_path: Path) -> None:
    gz = write(tmp_path / "ip2asn-v4.tsv.gz", TSV)
    u32 = write(tmp_path / "ip2asn-v4-u32.tsv", f"{int(ipaddress.ip_address('3.5.140.0'))}\t"
                f"{int(ipaddress.ip_address('3.5.143.255'))}\t16509\tUS\tAMAZON-02\n")
    for path in (gz, u32):
        assert load_asn_database([path], shipped=False).lookup("3.5.141.1").asn == 16509


def test_overlapping_unsorted_rows_narrower_wins_then_later(tmp_path: Path) -> None:
    rows = [  # unsorted
        "10.254.0.0\t11.0.0.255\t5\tZZ\tPARTIAL",       # crosses WIDE's end; narrower than WIDE
        "10.1.0.0\t10.1.255.255\t2\tZZ\tNARROW",        # inside WIDE: wins there
        "10.1.2.0\t10.1.2.255\t3\tZZ\tFIRST",
        "10.0.0.0\t10.255.255.255\t1\tZZ\tWIDE",
        "10.1.2.0\t10.1.2.255\t4\tZZ\tSAME-SPAN-LATER",  # same span as FIRST: the later row wins
    ]
    db = load_asn_database([write(tmp_path / "mixed.tsv", "\n".join(rows) + "\n")], shipped=False)
    expect = {"10.0.0.1": 1, "10.0.255.255": 1, "10.1.0.0": 2, "10.1.1.255": 2, "10.1.2.0": 4,
              "10.1.2.255": 4, "10.1.3.0": 2, "10.2.0.0": 1, "10.253.255.255": 1, "10.254.0.0": 5,
              "10.255.255.255": 5, "11.0.0.0": 5, "11.0.0.255": 5, "11.0.1.0": None, "9.255.255.255": None}
    assert {ip: (i.asn if (i := db.lookup(ip)) else None) for ip in expect} == expect


def test_flatten_matches_brute_force() -> None:
    rng = random.Random(7)
    for _ in range(200):
        spans = []
        for n in range(rng.randint(1, 8)):
            a, b = sorted(rng.randint(0, 60) for _ in range(2))
            spans.append((a, b, (b - a, n), f"v{n}"))
        starts, ends, values = flatten(spans)
        for x in range(-1, 63):
            covering = [s for s in spans if s[0] <= x <= s[1]]
            want = min(covering, key=lambda s: s[2])[3] if covering else None
            i = next((k for k in range(len(starts)) if starts[k] <= x <= ends[k]), None)
            assert (values[i] if i is not None else None) == want, (spans, x)
        assert all(starts[k] > ends[k - 1] for k in range(1, len(starts)))  # disjoint, sorted
        assert not any(ends[k - 1] + 1 == starts[k] and values[k - 1] == values[k]
                       for k in range(1, len(starts)))  # merged


def test_v4_and_v6_tables_stay_apart() -> None:
    table = RangeTable.from_spans([(0, 255, (0,), "v4")], [(0, 255, (0,), "v6")])
    assert table.find(4, 7) == "v4" and table.find(6, 7) == "v6"
    assert ip_key("::7") == (6, 7) and ip_key("0.0.0.7") == (4, 7)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("three.tsv", "1.0.0.0\t1.0.0.255\t13335\n", "three.tsv:1: expected 5 tab-separated fields"),
        ("spaces.tsv", "1.0.0.0 1.0.0.255 13335 US CLOUDFLARENET\n", "spaces.tsv:1: expected 5"),
        ("badip.tsv", TSV + "1.2.3\t1.2.3.255\t1\tZZ\tX\n", "badip.tsv:8: '1.2.3' is not an IP address"),
        ("backwards.tsv", "1.0.0.9\t1.0.0.0\t1\tZZ\tX\n", "backwards.tsv:1: range 1.0.0.9 - 1.0.0.0 is backwards"),
        ("mixed.tsv", "1.0.0.0\t2001:db8::\t1\tZZ\tX\n", "mixed.tsv:1: range 1.0.0.0 - 2001:db8:: is backwards or mixes"),
        ("asn.tsv", "# comment\n1.0.0.0\t1.0.0.9\tAS13335\tUS\tX\n", "asn.tsv:2: AS_number 'AS13335' is not a number"),
        ("cat.tsv", "1.0.0.0\t1.0.0.9\t1\tZZ\tX\tevil\n", "cat.tsv:1: category 'evil' is not one of cloud"),
        ("big.tsv", "4294967296\t4294967297\t1\tZZ\tX\n", "big.tsv:1: 4294967296 is too large"),
        ("binary.tsv", TSV + "\udcff\udcfe\n", "binary.tsv:8: not an ip2asn TSV text file"),
        ("cut.tsv.gz", "", "cut.tsv.gz:1: not an ip2asn TSV text file"),
        ("empty.tsv", "# only a comment\n", "empty.tsv: no address ranges found"),
        ("fake.mmdb", "not a database", "fake.mmdb: not a MaxMind DB file (no metadata marker)"),
    ],
)
def test_bad_files_are_named_with_their_line(tmp_path: Path, name: str, content: str, message: str) -> None:
    path = tmp_path / name
    raw = content.encode("utf-8", "surrogateescape")
    path.write_bytes(gzip.compress(TSV.encode())[:40] if name.endswith(".gz") else raw)
    with pytest.raises(ValueError) as info:
        load_asn_database([path], shipped=False)
    assert str(info.value).startswith(f"{tmp_path}/") and message in str(info.value)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"nope\.tsv: file not found"):
        load_asn_database([tmp_path / "nope.tsv"])
    with pytest.raises(ValueError, match="not a file"):
        load_asn_database([tmp_path])


def test_first_source_names_the_as(tmp_path: Path) -> None:
    first = write(tmp_path / "a.tsv", "3.5.140.0\t3.5.140.255\t64500\tZZ\tFIRST\n")
    second = write(tmp_path / "b.tsv", TSV)
    db = load_asn_database([first, second], shipped=False)
    assert db.lookup("3.5.140.1").org == "FIRST" and db.lookup("3.5.141.1").org == "AMAZON-02"
    assert db.names == ["a.tsv", "b.tsv"]


# --- the shipped table, alone and under a full database ---------------------------------------

SHIPPED_CASES = [  # address (from the prefix lists) → AS (0: unattributed), category
    ("3.5.140.1", 16509, "cloud"),            # aws.json 3.5.140.0/22
    ("2406:daba:f000::1", 16509, "cloud"),    # aws.json
    ("34.35.0.1", 396982, "cloud"),           # gcp.json 34.35.0.0/16 (inside Google's goog.json)
    ("20.72.27.153", 8075, "cloud"),          # hexydec Azure 20.72.27.152/30
    ("94.130.1.1", 24940, "hosting"),         # hetzner.json 94.130.0.0/16
    ("2a01:4f8::1", 24940, "hosting"),        # hetzner.json 2a01:4f8::/32
    ("137.74.1.1", 16276, "hosting"),         # ovh.json 137.74.0.0/16
    ("5.101.96.1", 14061, "hosting"),         # lord-alfred digitalocean 5.101.96.0/21
    ("2a03:b0c0:0:108::1", 14061, "hosting"),
    ("103.21.244.1", 13335, "cdn"),           # Cloudflare
    ("2.58.241.66", 0, "vpn"),                # lord-alfred protonvpn
    ("104.28.28.1", 0, "privacy-relay"),      # apple-proxy 104.28.28.0/26, inside Cloudflare's /14
    ("2a02:26f7:b00a:4000::1", 0, "privacy-relay"),
    ("::ffff:94.130.1.1", 24940, "hosting"),
]


@pytest.mark.parametrize(("ip", "asn", "category"), SHIPPED_CASES)
def test_shipped_table_knows_providers_and_relays(ip: str, asn: int, category: str) -> None:
    info = shipped_database().lookup(ip)
    assert info is not None and (info.asn, info.category, info.source) == (asn, category, "shipped")


@pytest.mark.parametrize("ip", ["127.0.0.1", "10.1.2.3", "192.168.1.1", "::1", "fe80::1", "203.0.113.7",
                                "192.0.2.1", "2001:db8::1", "0.0.0.0"])
def test_shipped_table_has_no_special_addresses(ip: str) -> None:
    assert shipped_database().lookup(ip) is None


def test_shipped_file_is_small() -> None:
    size = SHIPPED_PREFIXES.stat().st_size
    print(f"\nshipped prefix table: {size / 1e6:.2f} MB, {len(shipped_database().overlay or [])} ranges")
    assert size < 2_000_000


def test_full_database_names_the_as_shipped_table_sets_the_category(tmp_path: Path) -> None:
    full = write(tmp_path / "ip2asn-v4.tsv", "104.16.0.0\t104.31.255.255\t13335\tUS\tCLOUDFLARENET\n"
                                             "5.101.96.0\t5.101.111.255\t14061\tUS\tDIGITALOCEAN-ASN\n"
                                             "1.44.96.0\t1.44.96.255\t64500\tAU\tSOME-HOST\n")
    db = load_asn_database([full])
    relay = db.lookup("104.28.28.1")  # a Private Relay exit on Cloudflare's AS: a person, not a CDN
    assert (relay.asn, relay.org, relay.category) == (13335, "CLOUDFLARENET", "privacy-relay")
    assert relay.source == "ip2asn-v4.tsv + shipped"
    assert db.lookup("104.16.0.1").category == "cdn"  # same AS, outside the relay list
    assert db.lookup("5.101.96.1").describe() == "AS14061 DIGITALOCEAN-ASN, hosting"  # brand in org
    generic = db.lookup("1.44.96.1")  # X4BNet's unattributed data-centre list
    assert (generic.asn, generic.category) == (64500, "hosting")
    assert db.lookup("137.74.1.1").asn == 16276  # the full db lacks it; the shipped table answers
    assert db.lookup("104.28.28.1") is relay  # combined answers are cached


# --- MaxMind DB -----------------------------------------------------------------------------

def _mmdb_value(value: Any) -> bytes:
    """Encode one value in the MaxMind DB data-section format (the subset the tests need)."""
    def head(kind: int, size: int) -> bytes:
        ext = b"" if kind <= 7 else bytes([kind - 7])
        kind_bits = kind if kind <= 7 else 0
        if size < 29:
            return bytes([kind_bits << 5 | size]) + ext
        return bytes([kind_bits << 5 | 29]) + ext + bytes([size - 29])

    if isinstance(value, str):
        raw = value.encode()
        return head(2, len(raw)) + raw
    if isinstance(value, dict):
        return head(7, len(value)) + b"".join(_mmdb_value(k) + _mmdb_value(v) for k, v in value.items())
    if isinstance(value, list):
        return head(11, len(value)) + b"".join(_mmdb_value(v) for v in value)
    kind, width = value  # ("uint16" | "uint32" | "uint64", n)
    raw = width.to_bytes(8, "big").lstrip(b"\0")
    return head({"uint16": 5, "uint32": 6, "uint64": 9}[kind], len(raw)) + raw


def write_mmdb(path: Path, networks: dict[str, dict[str, Any]], database_type: str = "GeoLite2-ASN",
               ip_version: int = 6) -> Path:
    """A minimal MaxMind DB (24-bit records), per the public spec: search tree, 16 zero bytes,
    data section, then the metadata after the b'\\xab\\xcd\\xefMaxMind.com' marker."""
    data, offsets = b"", {}
    tree: list[list[Any]] = [[None, None]]
    for cidr, record in networks.items():
        net = ipaddress.ip_network(cidr)
        bits, length = int(net.network_address), net.prefixlen  # an IPv4 net sits under ::/96
        length += 96 if ip_version == 6 and net.version == 4 else 0
        width = 128 if ip_version == 6 else 32
        key = json.dumps(record, sort_keys=True)
        if key not in offsets:
            offsets[key] = len(data)
            data += _mmdb_value({k: v if isinstance(v, str) else ("uint32", v) for k, v in record.items()})
        node = 0
        for depth in range(length):
            bit = bits >> (width - 1 - depth) & 1
            if depth == length - 1:
                tree[node][bit] = ("data", offsets[key])
            else:
                if tree[node][bit] is None:
                    tree.append([None, None])
                    tree[node][bit] = len(tree) - 1
                node = tree[node][bit]
    count = len(tree)

    def record_value(r: Any) -> int:
        return count if r is None else count + 16 + r[1] if isinstance(r, tuple) else r

    body = b"".join(struct.pack(">I", record_value(left))[1:] + struct.pack(">I", record_value(right))[1:]
                    for left, right in tree)
    meta = _mmdb_value({
        "node_count": ("uint32", count), "record_size": ("uint16", 24), "ip_version": ("uint16", ip_version),
        "database_type": database_type, "languages": ["en"], "binary_format_major_version": ("uint16", 2),
        "binary_format_minor_version": ("uint16", 0), "build_epoch": ("uint64", 1_700_000_000),
        "description": {"en": "Fixative test database"},
    })
    path.write_bytes(body + b"\0" * 16 + data + b"\xab\xcd\xefMaxMind.com" + meta)
    return path


MMDB_NETWORKS = {
    "3.5.140.0/22": {"autonomous_system_number": 16509, "autonomous_system_organization": "AMAZON-02"},
    "64.0.0.0/24": {"autonomous_system_number": 64500, "autonomous_system_organization": "EXAMPLE"},
    "2a01:4f8::/32": {"autonomous_system_number": 24940, "autonomous_system_organization": "Hetzner Online GmbH"},
}


@pytest.mark.parametrize(
    ("ip", "asn"),
    [("3.5.140.0", 16509), ("3.5.143.255", 16509), ("3.5.144.0", None), ("3.5.139.255", None),
     ("::ffff:3.5.141.1", 16509), ("64.0.0.255", 64500), ("64.0.1.0", None),
     ("2a01:4f8:1:2::3", 24940), ("2a01:4f9::", None), ("8.8.8.8", None)],
)
def test_mmdb_lookup(tmp_path: Path, ip: str, asn: int | None) -> None:
    db = load_asn_database([write_mmdb(tmp_path / "GeoLite2-ASN.mmdb", MMDB_NETWORKS)], shipped=False)
    info = db.lookup(ip)
    assert (info.asn if info else None) == asn


def test_mmdb_record_and_category(tmp_path: Path) -> None:
    db = load_asn_database([write_mmdb(tmp_path / "asn.data", MMDB_NETWORKS)], shipped=False)  # by content
    assert db.lookup("3.5.140.1") == AsnInfo(16509, "AMAZON-02", "cloud", "asn.data", "AWS")
    assert db.lookup("3.5.140.2") is db.lookup("3.5.140.1")


def test_mmdb_ipv4_only_database(tmp_path: Path) -> None:
    path = write_mmdb(tmp_path / "v4.mmdb", {"3.5.140.0/22": MMDB_NETWORKS["3.5.140.0/22"]}, ip_version=4)
    db = load_asn_database([path], shipped=False)
    assert db.lookup("3.5.140.1").asn == 16509 and db.lookup("2a01:4f8::1") is None


def test_mmdb_of_the_wrong_kind_or_broken(tmp_path: Path) -> None:
    city = write_mmdb(tmp_path / "GeoLite2-City.mmdb", MMDB_NETWORKS, database_type="GeoLite2-City")
    with pytest.raises(ValueError, match=r"is a 'GeoLite2-City' database; an ASN database is needed"):
        load_asn_database([city])
    broken = tmp_path / "broken.mmdb"
    broken.write_bytes(b"\0" * 10 + b"\xab\xcd\xefMaxMind.com" + b"\xff\xff")
    with pytest.raises(ValueError, match=r"broken\.mmdb: not a readable MaxMind DB file"):
        load_asn_database([broken])


# --- cost -----------------------------------------------------------------------------------

def test_lookup_cost(tmp_path: Path) -> None:
    """Prints the cost of a lookup; no timing assertion (machines differ)."""
    mmdb = load_asn_database([write_mmdb(tmp_path / "a.mmdb", MMDB_NETWORKS)])
    rng = random.Random(1)
    v4 = [str(ipaddress.IPv4Address(rng.getrandbits(32))) for _ in range(5000)]
    v6 = [str(ipaddress.IPv6Address(0x2A02_26F7 << 96 | rng.getrandbits(96))) for _ in range(5000)]
    for label, db, ips in (("shipped, IPv4", shipped_database(), v4), ("shipped, IPv6", shipped_database(), v6),
                           ("mmdb + shipped, IPv4", mmdb, v4)):
        start = time.perf_counter()
        for _ in range(4):
            for ip in ips:
                db.lookup(ip)
        cost = (time.perf_counter() - start) / (4 * len(ips)) * 1e6
        print(f"\nASN lookup ({label}): {cost:.2f} µs")


# --- fixative asn ---------------------------------------------------------------------------

def run_asn(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="fixative")
    asncli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["asn", *argv])
    return int(args.handler(args))


def test_asn_command_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_asn("20.171.206.5", "104.28.28.1", "127.0.0.1") == 0
    out = capsys.readouterr().out
    gpt, relay, loop = out.split("\n\n")
    assert "AS8075" in gpt and "category:  cloud" in gpt and "signal:    network.hosting" in gpt
    assert "ai-crawler-networks/gptbot-network [operator:OpenAI; deny]" in gpt
    assert "privacy-relay" in relay and "network.privacy_relay" in relay
    assert loop.startswith("127.0.0.1  (loopback)") and "network:   unknown" in loop


def test_asn_command_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = write(tmp_path / "ip2asn.tsv", TSV)
    assert run_asn("--json", "--db", str(db), "34.22.85.1", "10.0.0.1", "::ffff:3.5.140.1") == 0
    google, private, mapped = json.loads(capsys.readouterr().out)
    assert google["category"] == "cloud" and google["scope"] == "public"
    assert [r["rule"] for r in google["published_ranges"]] == ["search-engines/verified-googlebot"]
    assert google["published_ranges"][0]["tags"] == ["bot:Googlebot"]
    assert private["scope"] == "private" and private["signals"] == {} and private["asn"] is None
    assert (mapped["asn"], mapped["org"], mapped["source"]) == (16509, "AMAZON-02", "ip2asn.tsv + shipped")


@pytest.mark.parametrize(
    ("argv", "message"),
    [(["1.2.3"], "'1.2.3' is not an IP address"),
     (["8.8.8.8", "nope"], "'nope' is not an IP address"),
     (["8.8.8.8", "--db", "/nonexistent/x.tsv"], "/nonexistent/x.tsv: file not found")],
)
def test_asn_command_errors(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    assert run_asn(*argv) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("fixative asn: ") and message in captured.err
