"""`fixative trace IMAGE...`: read the invisible trace out of altered images and say whom they went to.

The trace lives at a fixed reference resolution (the picture stretched to a square), so a
copy read back at any size the proxy served, or that someone resized since, needs no
guessing of the original's size; if the edges were cut off, centre crops are tried too.
Needs the state dir of the install that served the image: its secret and traces.sqlite3.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .config import ConfigError, load_config
from .traces import DB_NAME, lookup
from .treatments.apply import trace_key
from .treatments.imageinfo import ImageRejected, inspect_image
from .treatments.tracemark import read_tag
from .treatments.watermark import decode_first_frame

EXIT_NOT_FOUND = 1
READ_SIDE = 2048  # decoding larger buys nothing: the trace is read at 256x256


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("trace", help="which client an altered image (decoy, watermark) was served to")
    p.add_argument("images", nargs="+", type=Path, metavar="IMAGE")
    p.add_argument("--state-dir", type=Path,
                   help="the proxy's state folder (default: the config's, else ./fixative-state)")
    p.add_argument("--config", type=Path, help="config file (YAML), for its state_dir and image limits")
    p.add_argument("--no-crop-search", action="store_true", help="only read the image as it is (faster)")
    p.add_argument("--json", action="store_true", help="print one JSON object per image")
    p.set_defaults(handler=cmd_trace)


def cmd_trace(args: argparse.Namespace) -> int:
    config = load_config(args.config, state_dir=args.state_dir)
    secret_file = config.state_dir / "secret"
    try:
        secret = secret_file.read_bytes()
    except OSError as e:
        problem = (f"--state-dir: cannot read {secret_file} ({e.strerror}); traces can only be read "
                   "with the state dir of the proxy that served the image")
        raise ConfigError([problem]) from e
    key, db, asn = trace_key(secret), config.state_dir / DB_NAME, _asn_lookup()
    status = 0
    for path in args.images:
        result = trace_file(path, key, db, config.max_pixels, not args.no_crop_search)
        if result.get("tag") is None or not result.get("clients"):
            status = EXIT_NOT_FOUND
        for client in result.get("clients", []):
            client["network"] = asn(client["ip"]) if asn else None
        print(json.dumps(result) if args.json else describe(result))
    return status


def trace_file(path: Path, key: bytes, db: Path, max_pixels: int, search_crops: bool = True) -> dict[str, Any]:
    """{image, tag, confidence, geometry, clients, problem}: what the image says, and who that is."""
    result: dict[str, Any] = {"image": str(path), "tag": None, "clients": []}
    try:
        data = path.read_bytes()
        info = inspect_image(data, max_pixels)
        img, _ = decode_first_frame(data, info, READ_SIDE)
    except (OSError, ImageRejected) as e:
        result["problem"] = f"cannot read it: {e.reason if isinstance(e, ImageRejected) else e}"
        return result
    reading = read_tag(img, key, search_crops)
    if reading is None:
        result["problem"] = "no trace found: not served altered by this install, or too damaged to read"
        return result
    result.update(tag=f"{reading.tag:08x}", confidence=round(reading.confidence, 3), geometry=reading.geometry)
    result["clients"] = lookup(db, reading.tag)
    if not result["clients"]:
        result["problem"] = f"trace {reading.tag:08x} is not in {db} (pruned, or another install's state dir?)"
    return result


def describe(result: dict[str, Any]) -> str:
    if result["tag"] is None:
        return f"{result['image']}: {result['problem']}"
    lines = [f"{result['image']}: trace {result['tag']} (confidence {result['confidence']}, {result['geometry']})"]
    if not result["clients"]:
        lines.append(f"  {result['problem']}")
    for c in result["clients"]:
        network = f" ({c['network']})" if c.get("network") else ""
        lines += [f"  client:     {c['client']}",
                  f"  address:    {c['ip']}{network}",
                  f"  user agent: {c['user_agent'] or '(none)'}",
                  f"  first seen: {_when(c['first_seen'])}   last seen: {_when(c['last_seen'])}",
                  f"  served:     {c['served']} time{'' if c['served'] == 1 else 's'}, last {c['last_path']}"]
    if len(result["clients"]) > 1:
        lines.append("  (several clients share this 32-bit tag; all are listed)")
    return "\n".join(lines)


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _asn_lookup() -> Any:
    """ip -> 'AS… org, category' when the network package is there; None otherwise."""
    try:
        from .network.asn import shipped_database
        db = shipped_database()
    except Exception:  # noqa: BLE001 - optional: an older tree, or no data
        return None

    def describe_ip(ip: str) -> str | None:
        try:
            info = db.lookup(ip)
        except Exception:  # noqa: BLE001 - a lookup problem must not hide the trace
            return None
        return info.describe() if info else None

    return describe_ip


def main(argv: list[str] | None = None) -> int:
    """Run on its own (`python -m fixative.tracecli`) until the lead wires it into `fixative`."""
    parser = argparse.ArgumentParser(prog="fixative")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["trace", *(argv if argv is not None else sys.argv[1:])])
    try:
        return int(args.handler(args))
    except ConfigError as e:
        print(f"fixative: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
