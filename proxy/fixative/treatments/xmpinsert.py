"""Add an XMP packet to a JPEG, PNG or WebP file without touching its pixel data.

Byte-level container edits only: JPEG gets an APP1 segment after its JFIF/Exif
headers, PNG an iTXt chunk before the first IDAT, WebP an `XMP ` chunk (a simple
VP8/VP8L file is first wrapped in the extended VP8X layout, as the WebP container
spec describes). The image data segments are copied byte for byte. Anything
unexpected (malformed, already has XMP, too large) returns None: leave the file alone.
"""

from __future__ import annotations

import struct
import zlib

XMP_JPEG_ID = b"http://ns.adobe.com/xap/1.0/\x00"
XMP_PNG_KEYWORD = b"XML:com.adobe.xmp"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_VP8X_XMP, _VP8X_ALPHA = 0x04, 0x10


def insert_xmp(data: bytes, xmp: bytes) -> bytes | None:
    """`data` with `xmp` added, or None if it is not a JPEG/PNG/WebP we can safely edit."""
    try:
        if data.startswith(b"\xff\xd8\xff"):
            return _jpeg(data, xmp)
        if data.startswith(_PNG_SIGNATURE):
            return _png(data, xmp)
        if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            return _webp(data, xmp)
    except (IndexError, struct.error, ValueError):
        return None
    return None


def _jpeg(data: bytes, xmp: bytes) -> bytes | None:
    payload = XMP_JPEG_ID + xmp
    if len(payload) + 2 > 0xFFFF:
        return None
    pos, insert_at = 2, 2
    while True:
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            return None  # no standalone markers belong in the header
        if marker == 0xDA:  # start of scan: the header is over
            break
        (length,) = struct.unpack(">H", data[pos + 2:pos + 4])
        if length < 2 or pos + 2 + length > len(data):
            return None
        body = data[pos + 4:pos + 2 + length]
        if marker == 0xE1 and body.startswith(XMP_JPEG_ID):
            return None  # the artist's own XMP wins
        pos += 2 + length
        if marker == 0xE0 or (marker == 0xE1 and body.startswith(b"Exif\x00")):
            insert_at = pos  # JFIF and Exif must stay first
    segment = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    return data[:insert_at] + segment + data[insert_at:]


def _png(data: bytes, xmp: bytes) -> bytes | None:
    pos, first_idat = 8, None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        end = pos + 12 + length
        if end > len(data):
            return None
        if kind == b"iTXt" and data[pos + 8:pos + 8 + len(XMP_PNG_KEYWORD) + 1] == XMP_PNG_KEYWORD + b"\x00":
            return None
        if kind == b"IDAT" and first_idat is None:
            first_idat = pos
        if kind == b"IEND":
            break
        pos = end
    if first_idat is None:
        return None
    body = XMP_PNG_KEYWORD + b"\x00\x00\x00\x00\x00" + xmp  # uncompressed, no language, no translation
    chunk = struct.pack(">I", len(body)) + b"iTXt" + body + struct.pack(">I", zlib.crc32(b"iTXt" + body))
    return data[:first_idat] + chunk + data[first_idat:]


def _webp(data: bytes, xmp: bytes) -> bytes | None:
    (riff_size,) = struct.unpack("<I", data[4:8])
    if riff_size + 8 != len(data):
        return None
    chunks = _riff_chunks(data)
    if chunks is None or not chunks:
        return None
    if any(kind == b"XMP " for kind, _ in chunks):
        return None
    first, body = chunks[0]
    if first == b"VP8X":
        if body[0] & _VP8X_XMP:
            return None
        vp8x = bytes([body[0] | _VP8X_XMP]) + body[1:]
        rest = chunks[1:]
    else:
        size = _simple_size(first, body)
        if size is None:
            return None
        (w, h), alpha = size
        flags = _VP8X_XMP | (_VP8X_ALPHA if alpha else 0)
        vp8x = bytes([flags, 0, 0, 0]) + (w - 1).to_bytes(3, "little") + (h - 1).to_bytes(3, "little")
        rest = chunks
    out = _chunk(b"VP8X", vp8x) + b"".join(_chunk(k, b) for k, b in rest) + _chunk(b"XMP ", xmp)
    return b"RIFF" + struct.pack("<I", len(out) + 4) + b"WEBP" + out


def _riff_chunks(data: bytes) -> list[tuple[bytes, bytes]] | None:
    chunks, pos = [], 12
    while pos < len(data):
        if pos + 8 > len(data):
            return None
        kind, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        if pos + 8 + size > len(data):
            return None
        chunks.append((kind, data[pos + 8:pos + 8 + size]))
        pos += 8 + size + (size & 1)
    return chunks


def _simple_size(kind: bytes, body: bytes) -> tuple[tuple[int, int], bool] | None:
    """Canvas size and alpha of a simple WebP, from its VP8 or VP8L header."""
    if kind == b"VP8 " and body[3:6] == b"\x9d\x01\x2a":
        w, h = struct.unpack("<HH", body[6:10])
        return ((w & 0x3FFF, h & 0x3FFF), False)
    if kind == b"VP8L" and body[0] == 0x2F:
        (bits,) = struct.unpack("<I", body[1:5])
        return (((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1), bool((bits >> 28) & 1))
    return None


def _chunk(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack("<I", len(body)) + body + (b"\x00" if len(body) & 1 else b"")
