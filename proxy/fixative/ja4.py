"""JA4, the TLS client fingerprint, computed from a ClientHello by our own code.

Only the JA4 TLS client part, whose specification is BSD-3-Clause licensed (FoxIO,
https://github.com/FoxIO-LLC/ja4/blob/main/technical_details/JA4.md); the other JA4+
fingerprints are under another licence and are not implemented here. Pure: bytes in,
strings out, no I/O and no mitmproxy import.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

SNI, ALPN, SIGNATURE_ALGORITHMS, SUPPORTED_VERSIONS = 0x0000, 0x0010, 0x000D, 0x002B
VERSIONS = {0x0304: "13", 0x0303: "12", 0x0302: "11", 0x0301: "10", 0x0300: "s3", 0x0002: "s2",
            0xFEFF: "d1", 0xFEFD: "d2", 0xFEFC: "d3"}
EMPTY_HASH = "000000000000"


def is_grease(value: int) -> bool:
    """RFC 8701 GREASE values: 0x0a0a, 0x1a1a, ... 0xfafa."""
    return value & 0x0F0F == 0x0A0A and value >> 8 == value & 0xFF


@dataclass(frozen=True)
class ClientHello:
    """What JA4 reads of a ClientHello, in wire order, GREASE values included."""

    legacy_version: int
    ciphers: tuple[int, ...]
    extensions: tuple[int, ...]
    alpn: tuple[bytes, ...] = ()
    signature_algorithms: tuple[int, ...] = ()
    supported_versions: tuple[int, ...] = ()
    transport: str = "t"  # t: TLS over TCP, q: QUIC, d: DTLS

    @property
    def grease(self) -> bool:
        """Does the hello carry GREASE values (as Chromium's and Safari's do)?"""
        return any(is_grease(v) for v in (*self.ciphers, *self.extensions))


class ParseError(ValueError):
    """Not a ClientHello we can read."""


def parse_client_hello(body: bytes) -> ClientHello:
    """Parse a ClientHello handshake body (after the 4-byte handshake header, as mitmproxy keeps it)."""
    try:
        return _parse(body)
    except (struct.error, IndexError) as e:
        raise ParseError(f"truncated ClientHello: {e}") from None


def _parse(body: bytes) -> ClientHello:
    (legacy_version,) = struct.unpack_from("!H", body, 0)
    pos = 2 + 32  # version, random
    pos += 1 + body[pos]  # session id
    (length,) = struct.unpack_from("!H", body, pos)
    pos += 2
    if length % 2 or pos + length > len(body):
        raise ParseError("bad cipher suites length")
    ciphers = struct.unpack_from(f"!{length // 2}H", body, pos)
    pos += length
    pos += 1 + body[pos]  # compression methods
    extensions: list[int] = []
    alpn: tuple[bytes, ...] = ()
    sigalgs: tuple[int, ...] = ()
    versions: tuple[int, ...] = ()
    if pos + 2 <= len(body):
        (total,) = struct.unpack_from("!H", body, pos)
        pos += 2
        end = min(len(body), pos + total)
        while pos + 4 <= end:
            kind, size = struct.unpack_from("!HH", body, pos)
            data = body[pos + 4 : pos + 4 + size]
            if len(data) < size:
                raise ParseError(f"extension 0x{kind:04x} is truncated")
            pos += 4 + size
            extensions.append(kind)
            if kind == ALPN and len(data) >= 2:
                alpn = _alpn(data[2:])
            elif kind == SIGNATURE_ALGORITHMS and len(data) >= 2:
                sigalgs = _u16s(data[2 : 2 + struct.unpack_from("!H", data)[0]])
            elif kind == SUPPORTED_VERSIONS and data:
                versions = _u16s(data[1 : 1 + data[0]])
    return ClientHello(legacy_version, tuple(ciphers), tuple(extensions), alpn, sigalgs, versions)


def _u16s(data: bytes) -> tuple[int, ...]:
    return struct.unpack(f"!{len(data) // 2}H", data[: len(data) // 2 * 2])


def _alpn(data: bytes) -> tuple[bytes, ...]:
    names, pos = [], 0
    while pos < len(data):
        size = data[pos]
        names.append(data[pos + 1 : pos + 1 + size])
        pos += 1 + size
    return tuple(names)


def _version(hello: ClientHello) -> str:
    offered = [v for v in hello.supported_versions if not is_grease(v)]
    return VERSIONS.get(max(offered) if offered else hello.legacy_version, "00")


def _alpn_chars(hello: ClientHello) -> str:
    first = hello.alpn[0] if hello.alpn else b""
    if not first:
        return "00"
    a, z = first[0], first[-1]
    if chr(a).isascii() and chr(a).isalnum() and chr(z).isascii() and chr(z).isalnum():
        return chr(a) + chr(z)
    text = first.hex()
    return text[0] + text[-1]


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12] if text else EMPTY_HASH


def ja4_parts(hello: ClientHello) -> tuple[str, str, str]:
    """JA4's three parts, raw: the header, the sorted ciphers, the sorted extensions _ signature algorithms."""
    ciphers = [c for c in hello.ciphers if not is_grease(c)]
    extensions = [e for e in hello.extensions if not is_grease(e)]
    sni = "d" if SNI in extensions else "i"
    head = (f"{hello.transport}{_version(hello)}{sni}{min(len(ciphers), 99):02d}{min(len(extensions), 99):02d}"
            f"{_alpn_chars(hello)}")
    cipher_list = ",".join(f"{c:04x}" for c in sorted(ciphers))
    ext_list = ",".join(f"{e:04x}" for e in sorted(extensions) if e not in (SNI, ALPN))
    sigalgs = ",".join(f"{s:04x}" for s in hello.signature_algorithms if not is_grease(s))
    return head, cipher_list, f"{ext_list}_{sigalgs}" if sigalgs and ext_list else ext_list


def ja4(hello: ClientHello) -> str:
    """The JA4 fingerprint, e.g. t13d1516h2_8daaf6152771_e5627efa2ab1."""
    head, ciphers, extensions = ja4_parts(hello)
    return f"{head}_{_hash(ciphers)}_{_hash(extensions)}"


def ja4_r(hello: ClientHello) -> str:
    """JA4 raw: the lists before hashing, for people and for debugging."""
    return "_".join(ja4_parts(hello))


@dataclass(frozen=True)
class TlsFingerprint:
    """What Facts carries of a TLS handshake: JA4, whether it had GREASE, the ALPN offered."""

    ja4: str
    grease: bool
    alpn: tuple[str, ...] = ()

    @classmethod
    def of(cls, hello: ClientHello) -> TlsFingerprint:
        return cls(ja4(hello), hello.grease, tuple(a.decode("latin-1") for a in hello.alpn))
