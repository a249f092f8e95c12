"""JA4 from our own code: the spec's published examples, the edge rules, and real recorded ClientHellos."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from fixative.ja4 import ClientHello, ParseError, TlsFingerprint, is_grease, ja4, ja4_r, parse_client_hello

FIXTURES = Path(__file__).parent / "fixtures" / "tls"
RECORDED = {p.stem: json.loads(p.read_text()) for p in sorted(FIXTURES.glob("*.json"))}


def hexes(text: str) -> tuple[int, ...]:
    return tuple(int(x, 16) for x in text.split(","))


SPEC_CIPHERS = hexes("1301,1302,1303,c02b,c02f,c02c,c030,cca9,cca8,c013,c014,009c,009d,002f,0035")
SPEC_SIGALGS = hexes("0403,0804,0401,0503,0805,0501,0806,0601")


def test_the_specs_example() -> None:
    """technical_details/JA4.md (FoxIO): t13d1516h2_8daaf6152771_e5627efa2ab1, with its raw form."""
    hello = ClientHello(0x0303, SPEC_CIPHERS,
                        hexes("001b,0000,0033,0010,4469,0017,002d,000d,0005,0023,0012,002b,ff01,000b,000a,0015"),
                        (b"h2", b"http/1.1"), SPEC_SIGALGS, (0x0304, 0x0303))
    assert ja4(hello) == "t13d1516h2_8daaf6152771_e5627efa2ab1"
    assert ja4_r(hello) == (
        "t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9_0005,000a,000b,"
        "000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_0403,0804,0401,0503,0805,0501,0806,0601")


def test_a_published_chrome_143_fingerprint() -> None:
    """A Chrome 143 hello as a public TLS echo service reported it (ja4 with its ja4_ro, original order)."""
    hello = ClientHello(0x0303, SPEC_CIPHERS,
                        hexes("002d,0033,0010,fe0d,0017,44cd,0000,000b,000a,002b,ff01,0023,0012,0005,000d,001b"),
                        (b"h2", b"http/1.1"), SPEC_SIGALGS, (0x0304, 0x0303))
    assert ja4(hello) == "t13d1516h2_8daaf6152771_d8a2da3f94cd"


def test_grease_is_ignored_everywhere() -> None:
    plain = ClientHello(0x0303, SPEC_CIPHERS, hexes("0000,000d,002b"), (b"h2",), SPEC_SIGALGS, (0x0304,))
    greased = ClientHello(0x0303, (0x0A0A, *SPEC_CIPHERS), hexes("1a1a,0000,000d,002b,fafa"), (b"h2",),
                          SPEC_SIGALGS, (0x2A2A, 0x0304))
    assert ja4(greased) == ja4(plain)
    assert greased.grease and not plain.grease
    assert [v for v in range(0x10000) if is_grease(v)] == [0x0A0A + 0x1010 * n for n in range(16)]


@pytest.mark.parametrize("alpn, chars", [
    ((), "00"), ((b"",), "00"), ((b"h2", b"http/1.1"), "h2"), ((b"http/1.1",), "h1"), ((b"h",), "hh"),
    ((b"\xab",), "ab"), ((b"\xab\xcd",), "ad"), ((b"0\xab",), "3b"), ((b"01\xab\xcd",), "3d"), ((b"0\xab\xcd1",), "01"),
])
def test_alpn_characters(alpn: tuple[bytes, ...], chars: str) -> None:
    assert ja4(ClientHello(0x0303, SPEC_CIPHERS, (0x0010,), alpn))[8:10] == chars


@pytest.mark.parametrize("hello, head", [
    (ClientHello(0x0303, (0x1301,), ()), "t12i0100"),  # no supported_versions: the legacy version
    (ClientHello(0x0301, (0x1301,), (0x002B,), supported_versions=(0x3A3A, 0x0303)), "t12i0101"),
    (ClientHello(0x0300, (0x1301,), (0x0000,)), "ts3d0101"),
    (ClientHello(0x9999, (0x1301,), ()), "t00i0100"),
])
def test_version_and_counts(hello: ClientHello, head: str) -> None:
    assert ja4(hello).startswith(head)


def test_empty_lists_hash_to_zeros_and_no_sigalgs_means_no_underscore() -> None:
    assert ja4(ClientHello(0x0303, (), ())) == "t12i000000_000000000000_000000000000"
    no_sigalgs = ClientHello(0x0303, (0x1301,), hexes("0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01"))
    assert ja4(no_sigalgs).endswith("_6d807ffa2a79")  # the spec's example without signature algorithms


def build_hello(ciphers: tuple[int, ...], extensions: list[tuple[int, bytes]], version: int = 0x0303) -> bytes:
    """A ClientHello body as on the wire (after the handshake header)."""
    body = struct.pack("!H", version) + bytes(32) + b"\x00"
    body += struct.pack("!H", 2 * len(ciphers)) + struct.pack(f"!{len(ciphers)}H", *ciphers) + b"\x01\x00"
    exts = b"".join(struct.pack("!HH", kind, len(data)) + data for kind, data in extensions)
    return body + struct.pack("!H", len(exts)) + exts


def test_parser_reads_what_ja4_needs() -> None:
    alpn = b"\x02h2\x08http/1.1"
    raw = build_hello((0x0A0A, 0x1301, 0xC02B), [
        (0x0000, b"\x00\x0e\x00\x00\x0bart.example"), (0x0010, struct.pack("!H", len(alpn)) + alpn),
        (0x000D, b"\x00\x04\x04\x03\x08\x04"), (0x002B, b"\x04\x7a\x7a\x03\x04"), (0x001B, b"\x02\x00\x02")])
    hello = parse_client_hello(raw)
    assert hello.ciphers == (0x0A0A, 0x1301, 0xC02B)
    assert hello.extensions == (0x0000, 0x0010, 0x000D, 0x002B, 0x001B)
    assert hello.alpn == (b"h2", b"http/1.1") and hello.signature_algorithms == (0x0403, 0x0804)
    assert ja4_r(hello) == "t13d0205h2_1301,c02b_000d,001b,002b_0403,0804"
    assert TlsFingerprint.of(hello) == TlsFingerprint(ja4(hello), True, ("h2", "http/1.1"))


@pytest.mark.parametrize("raw", [b"", b"\x03\x03" + bytes(10), build_hello((0x1301,), [(0x0000, b"abcde")])[:-2]])
def test_parser_refuses_truncated_hellos(raw: bytes) -> None:
    with pytest.raises(ParseError):
        parse_client_hello(raw)


def test_recorded_clients_are_all_there() -> None:
    assert {"curl", "python-requests", "python-ssl", "chromium", "node-fetch", "wget"} <= set(RECORDED)


@pytest.mark.parametrize("name", sorted(RECORDED))
def test_recorded_client_hello_gives_its_recorded_ja4(name: str) -> None:
    record = RECORDED[name]
    hello = parse_client_hello(bytes.fromhex(record["client_hello_hex"]))
    assert (ja4(hello), ja4_r(hello)) == (record["ja4"], record["ja4_r"])
    # Chromium greases its hello and offers h2; none of the libraries here greases.
    assert hello.grease == (name == "chromium")


def test_chromium_ja4_is_stable_though_its_extension_order_is_random() -> None:
    hello = parse_client_hello(bytes.fromhex(RECORDED["chromium"]["client_hello_hex"]))
    shuffled = ClientHello(hello.legacy_version, hello.ciphers, tuple(reversed(hello.extensions)), hello.alpn,
                           hello.signature_algorithms, hello.supported_versions)
    assert ja4(shuffled) == ja4(hello) == "t13d1517h2_8daaf6152771_cb7bf5808d99"
