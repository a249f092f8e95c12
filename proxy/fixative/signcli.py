"""`fixative rules keygen|sign|verify`: how a pack author publishes a pack others can subscribe to.

keygen makes an Ed25519 key pair; sign checks that the pack loads and writes PACK.sig (base64 of
the detached signature) and prints the sha256 for those who pin instead; verify checks a pack
against a public key or a sha256, as the proxy would.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from .rules.loader import RulePackError, load_pack
from .subscriptions.verify import (
    VerificationError,
    generate_key,
    load_private_key,
    parse_public_key,
    parse_sha256,
    parse_signature,
    public_key_text,
    sha256_hex,
    sign,
    verify,
)

EXIT_FAILED, EXIT_USAGE = 1, 2


def register(sub: Any) -> None:
    """Add keygen, sign and verify to `fixative rules`' sub-commands."""
    keygen = sub.add_parser("keygen", help="make an Ed25519 key pair for signing packs")
    keygen.add_argument("--out", type=Path, default=Path("fixative-signing.key"), metavar="KEY",
                        help="private key file to create (owner-only; default fixative-signing.key); "
                             "the public key goes to KEY.pub")
    keygen.set_defaults(handler=cmd_keygen)

    signp = sub.add_parser("sign", help="write PACK.sig, the pack's detached Ed25519 signature")
    signp.add_argument("pack", type=Path, metavar="PACK")
    signp.add_argument("--key", type=Path, required=True, metavar="KEY", help="private key from `rules keygen`")
    signp.add_argument("--out", type=Path, metavar="FILE", help="signature file (default PACK.sig)")
    signp.set_defaults(handler=cmd_sign)

    check = sub.add_parser("verify", help="check a pack against a public key (and PACK.sig) or a sha256")
    check.add_argument("pack", type=Path, metavar="PACK")
    how = check.add_mutually_exclusive_group(required=True)
    how.add_argument("--public-key", metavar="KEY", help="base64 or PEM public key, or a file holding it")
    how.add_argument("--sha256", metavar="HEX", help="the pinned sha256")
    check.add_argument("--sig", type=Path, metavar="FILE", help="signature file (default PACK.sig)")
    check.set_defaults(handler=cmd_verify)


def _fail(message: str, code: int = EXIT_USAGE) -> int:
    print(f"fixative rules: {message}", file=sys.stderr)
    return code


def cmd_keygen(args: argparse.Namespace) -> int:
    out: Path = args.out
    pub = out.with_name(out.name + ".pub")
    if out.exists() or pub.exists():
        return _fail(f"{out if out.exists() else pub} exists; choose another --out (a key is never overwritten)")
    pem, public = generate_key()
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    pub.write_text(public + "\n", encoding="ascii")
    print(f"private key: {out} (keep it secret; sign with `fixative rules sign PACK --key {out}`)")
    print(f"public key:  {pub}")
    print(f"subscribers put this in their config:\n  ed25519_key: {public}")
    return 0


def cmd_sign(args: argparse.Namespace) -> int:
    try:
        key = load_private_key(args.key.read_bytes())
        data = args.pack.read_bytes()
    except OSError as e:
        return _fail(f"{e.filename}: {e.strerror}")
    except ValueError as e:
        return _fail(f"{args.key}: {e}")
    try:
        load_pack(args.pack)
    except RulePackError as e:
        return _fail("the pack does not load, so it is not signed:\n  " + "\n  ".join(e.problems), EXIT_FAILED)
    out = args.out or args.pack.with_name(args.pack.name + ".sig")
    out.write_bytes(sign(data, key))
    print(f"wrote {out}: publish it beside the pack, at the pack's URL + '.sig'")
    print(f"public key: {public_key_text(key.public_key())}")
    print(f"sha256:     {sha256_hex(data)}  (for subscribers who pin this exact version)")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    try:
        data = args.pack.read_bytes()
        sha256 = parse_sha256(args.sha256) if args.sha256 else None
        public = signature = None
        if args.public_key:
            text = args.public_key
            if Path(text).is_file():
                text = Path(text).read_text("ascii")
            public = parse_public_key(text)
            sig_file = args.sig or args.pack.with_name(args.pack.name + ".sig")
            signature = parse_signature(sig_file.read_bytes())
        verify(data, sha256, public, signature)
    except OSError as e:
        return _fail(f"{e.filename}: {e.strerror}")
    except VerificationError as e:
        return _fail(f"{args.pack}: {e}", EXIT_FAILED)
    except ValueError as e:
        return _fail(str(e))
    try:
        info, rules = load_pack(args.pack)
    except RulePackError as e:
        return _fail("verified, but the pack does not load:\n  " + "\n  ".join(e.problems), EXIT_FAILED)
    print(f"{args.pack}: verified ({'signature' if public else 'sha256'}); pack {info.name} {info.version}, "
          f"{len(rules)} rules")
    return 0
