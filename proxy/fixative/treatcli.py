"""`fixative treat IMAGE... --as decoy|blurred|notice|watermark`: the proxy's treatments, offline.

Writes NAME.<treatment>.<ext> into --out (default: beside each input), in the input's
format and size (watermark: downscaled as configured). Refuses, with a reason and a
non-zero exit, anything that is not a safe image; never writes over an input.
"""

from __future__ import annotations

import argparse
import secrets
import sys
from pathlib import Path

from .config import Config, ConfigError, load_config
from .policy import BLURRED, FOLDER, GENERATED, NOTICE
from .treatments.apply import WATERMARK_STYLE, render
from .treatments.imageinfo import ImageRejected, sniff_format

DECOY = "decoy"  # the style the config gives scrapers
CHOICES = (DECOY, GENERATED, BLURRED, NOTICE, FOLDER, WATERMARK_STYLE)
EXIT_REFUSED = 1
_EXTENSIONS = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "GIF": ".gif", "AVIF": ".avif", "BMP": ".bmp",
               "TIFF": ".tif", "ICO": ".ico", "SVG": ".svg"}


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("treat", help="apply a treatment (decoy, blurred, notice, watermark) to image files")
    p.add_argument("images", nargs="+", type=Path, metavar="IMAGE")
    p.add_argument("--as", dest="treatment", required=True, choices=CHOICES,
                   help="decoy: the config's decoy style for scrapers (default generated); or a style by name")
    p.add_argument("--out", type=Path, help="folder for the results (default: beside each input)")
    p.add_argument("--config", type=Path, help="config file (YAML): artist, watermark, decoy folder, limits")
    p.set_defaults(handler=cmd_treat)


def cmd_treat(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    style = config.decoy.style_for("scraper") if args.treatment == DECOY else args.treatment
    if style == FOLDER and config.decoy_folder is None:
        raise ConfigError(["--as folder: the config has no `decoy: {folder: DIR}`; give one with --config"])
    secret = _secret(config)
    status = 0
    for path in args.images:
        try:
            out = treat_file(path, args.treatment, style, config, secret, args.out)
        except (OSError, ImageRejected) as e:
            reason = e.reason if isinstance(e, ImageRejected) else (e.strerror or str(e))
            print(f"{path}: refused: {reason}", file=sys.stderr)
            status = EXIT_REFUSED
            continue
        print(f"{path} -> {out}")
    return status


def treat_file(path: Path, name: str, style: str, config: Config, secret: bytes, out_dir: Path | None) -> Path:
    """Treat one file and write the result; returns where. ImageRejected or OSError if it cannot be."""
    if not path.is_file():
        raise ImageRejected("not a file")
    if path.stat().st_size > config.max_image_bytes:
        raise ImageRejected(f"larger than images.max_bytes ({config.max_image_bytes} bytes)")
    data = path.read_bytes()
    fmt = sniff_format(data)
    if fmt is None:
        raise ImageRejected("not an image: unrecognised signature")
    result = render(data, path.name, secret, config, style)
    suffix = path.suffix if path.suffix.lower() in _suffixes(fmt) else _EXTENSIONS.get(fmt, path.suffix)
    folder = out_dir if out_dir is not None else path.parent
    target = folder / f"{path.stem}.{name}{suffix}"
    if target.resolve() == path.resolve():
        raise ImageRejected(f"{target} is the input; choose another --out")
    folder.mkdir(parents=True, exist_ok=True)
    target.write_bytes(result)
    return target


def _suffixes(fmt: str) -> tuple[str, ...]:
    return {"JPEG": (".jpg", ".jpeg", ".jpe", ".jfif"), "TIFF": (".tif", ".tiff")}.get(
        fmt, (_EXTENSIONS.get(fmt, ""),))


def _secret(config: Config) -> bytes:
    """The install's secret if this state dir has one (so results match the proxy's), else a fresh one."""
    try:
        data = (config.state_dir / "secret").read_bytes()
        if len(data) >= 32:
            return data
    except OSError:
        pass
    return secrets.token_bytes(32)


def main(argv: list[str] | None = None) -> int:
    """Run on its own (`python -m fixative.treatcli`) until the lead wires it into `fixative`."""
    parser = argparse.ArgumentParser(prog="fixative")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["treat", *(argv if argv is not None else sys.argv[1:])])
    try:
        return int(args.handler(args))
    except ConfigError as e:
        print(f"fixative: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
