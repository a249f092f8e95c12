"""The artist's certificate and key for `fixative run --cert FILE --key FILE`.

mitmproxy wants the key and the certificate chain in one PEM file (its `certs` option). We check
both files before starting, so a wrong path, a key that belongs to another certificate or a key with
a passphrase is a clear error naming the file, not a traceback; then write the combined PEM,
owner-only, into the state directory.
"""

from __future__ import annotations

import datetime
import os
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from .config import ConfigError

COMBINED = "tls/site.pem"


def prepare_certificate(cert: Path | None, key: Path | None, state_dir: Path) -> Path:
    """Check the certificate and key, write them as one owner-only PEM under state_dir; return its path."""
    if cert is None or key is None:
        given, missing = ("--cert", "--key") if cert is not None else ("--key", "--cert")
        raise ConfigError([f"{given} needs {missing} too: the certificate (PEM, with its chain) and its "
                           "private key (PEM) as two files, e.g. --cert /etc/letsencrypt/live/SITE/fullchain.pem "
                           "--key /etc/letsencrypt/live/SITE/privkey.pem"])
    chain = _load_chain(cert)
    private = _load_key(key)
    if chain[0].public_key().public_bytes(*_SPKI) != private.public_key().public_bytes(*_SPKI):
        raise ConfigError([f"--key {key}: this key does not belong to the certificate in {cert} (the first "
                           "certificate there, your site's); give the key that was made with it"])
    combined = state_dir / COMBINED
    combined.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(combined.parent, 0o700)
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    pem += b"".join(c.public_bytes(serialization.Encoding.PEM) for c in chain)
    tmp = combined.with_name(combined.name + ".tmp")  # replaced in one step: a renewal never half-writes it
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        os.fchmod(out.fileno(), 0o600)
        out.write(pem)
    os.replace(tmp, combined)
    return combined


def not_after(cert: Path) -> datetime.datetime:
    """When the site's certificate (the first in the file) expires."""
    return _load_chain(cert)[0].not_valid_after_utc


_SPKI = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _read(path: Path, flag: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ConfigError([f"{flag} {path}: no such file"]) from None
    except IsADirectoryError:
        raise ConfigError([f"{flag} {path}: is a folder; give the file itself"]) from None
    except PermissionError:
        raise ConfigError([f"{flag} {path}: not readable by this user (uid {os.getuid()}); "
                           "let it read the file, e.g. with a group, or copy it somewhere it can"]) from None


def _load_chain(path: Path) -> list[x509.Certificate]:
    raw = _read(path, "--cert")
    try:
        chain = x509.load_pem_x509_certificates(raw)
    except ValueError:
        raise ConfigError([f"--cert {path}: no PEM certificate in it (expected '-----BEGIN CERTIFICATE-----'; "
                           "a DER file converts with `openssl x509 -in FILE -inform der -out FILE.pem`)"]) from None
    if chain[0].not_valid_after_utc < datetime.datetime.now(datetime.timezone.utc):
        raise ConfigError([f"--cert {path}: the certificate expired on {chain[0].not_valid_after_utc:%Y-%m-%d}; "
                           "renew it (e.g. certbot renew) and start again"])
    return chain


def _load_key(path: Path) -> PrivateKeyTypes:
    raw = _read(path, "--key")
    try:
        return serialization.load_pem_private_key(raw, password=None)
    except TypeError:
        raise ConfigError([f"--key {path}: the key is protected by a passphrase, which the proxy cannot ask "
                           "for; write an unprotected copy readable only by its user "
                           "(`openssl pkey -in KEY -out KEY.plain`, then chmod 600)"]) from None
    except (ValueError, UnsupportedAlgorithm):
        raise ConfigError([f"--key {path}: no PEM private key in it (expected '-----BEGIN PRIVATE KEY-----' "
                           "or '-----BEGIN RSA/EC PRIVATE KEY-----')"]) from None

