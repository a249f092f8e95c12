"""Pure checks of a pack's bytes: a pinned sha256, or a detached Ed25519 signature.

Keys and signatures are accepted as base64 (raw 32-byte key or DER SubjectPublicKeyInfo;
raw 64-byte signature) or PEM (public key). Every failure is a VerificationError whose
message says what did not match.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
SIGNATURE_BYTES = 64


class VerificationError(ValueError):
    """The bytes are not the ones the subscription vouches for."""


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def parse_sha256(text: str) -> str:
    """A pin as 64 hex digits (an optional `sha256:` prefix is allowed); ValueError otherwise."""
    pin = text.strip().lower().removeprefix("sha256:")
    if not _HEX64.match(pin):
        raise ValueError(f"{text!r} is not a sha256 (64 hex digits, as `sha256sum` prints)")
    return pin


def check_sha256(data: bytes, pin: str) -> None:
    got = sha256_hex(data)
    if not hmac.compare_digest(got, pin):
        raise VerificationError(f"sha256 mismatch: expected {pin}, got {got}")


def parse_public_key(text: str) -> bytes:
    """An Ed25519 public key (PEM, or base64 of the raw 32 bytes or of DER) as its raw 32 bytes."""
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(text.encode("ascii"))
        else:
            raw = base64.b64decode("".join(text.split()), validate=True)
            if len(raw) == 32:
                return raw
            key = serialization.load_der_public_key(raw)
    except (ValueError, binascii.Error, UnicodeEncodeError, TypeError) as e:
        raise ValueError("not an Ed25519 public key (expected base64 of 32 bytes, or a PEM public key, "
                         "as `fixative rules keygen` prints)") from e
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"a {type(key).__name__.removesuffix('PublicKey') or 'non-Ed25519'} key; an "
                         "Ed25519 public key is needed")
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def parse_signature(blob: bytes) -> bytes:
    """A detached signature file: the raw 64 bytes, or their base64 (whitespace ignored)."""
    if len(blob) == SIGNATURE_BYTES:
        return blob
    try:
        raw = base64.b64decode(b"".join(blob.split()), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != SIGNATURE_BYTES:
        raise VerificationError(f"the signature file is not an Ed25519 signature (64 bytes, raw or base64; "
                                f"got {len(blob)} bytes)")
    return raw


def check_signature(data: bytes, signature: bytes, public_key: bytes) -> None:
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, data)
    except InvalidSignature:
        raise VerificationError("bad Ed25519 signature: the pack was not signed by the configured key, "
                                "or was changed after signing") from None


def verify(data: bytes, sha256: str | None, public_key: bytes | None, signature: bytes | None) -> None:
    """Every check the subscription asks for; VerificationError on the first that fails."""
    if sha256 is None and public_key is None:
        raise VerificationError("nothing to verify against: give sha256 or ed25519_key")
    if sha256 is not None:
        check_sha256(data, sha256)
    if public_key is not None:
        if signature is None:
            raise VerificationError("no signature")
        check_signature(data, signature, public_key)


# -- for pack authors ---------------------------------------------------------------------------
def generate_key() -> tuple[bytes, str]:
    """A new signing key as unencrypted PKCS#8 PEM, and its public key as base64 of the raw bytes."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    return pem, public_key_text(key.public_key())


def public_key_text(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def load_private_key(pem: bytes) -> Ed25519PrivateKey:
    """An unencrypted PEM private key; ValueError if it is not an Ed25519 one."""
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as e:
        raise ValueError(f"not an unencrypted PEM private key ({e})") from e
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("not an Ed25519 private key")
    return key


def sign(data: bytes, key: Ed25519PrivateKey) -> bytes:
    """The detached signature file's content: base64 of the 64-byte signature, and a newline."""
    return base64.b64encode(key.sign(data)) + b"\n"
