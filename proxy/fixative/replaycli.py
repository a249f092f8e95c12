"""`fixative replay LOG`: what Fixative would have done with an existing nginx or Apache access log.

Exit status: 0 when lines were replayed, 1 when the file holds no log line at all (empty, binary,
another format), 2 when it cannot be read or the options or configuration are wrong.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .replay.parse import AUTO, FORMATS

EXIT_NOTHING = 1
EXIT_USAGE = 2


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the `replay` subcommand to the `fixative` command's subparsers."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "replay", help="classify an existing access log (nginx/Apache combined, JSON lines; gzip too) "
                       "and summarise who would have been treated how")
    p.add_argument("log", type=Path, metavar="LOG", help="the access log (.gz or plain; gzip is recognised by content)")
    p.add_argument("--format", choices=FORMATS, default=AUTO,
                   help="combined (nginx/Apache, also common), json (JSON lines), or auto (default: json if "
                        "the first line is an object)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--config", type=Path, help="config file (YAML): preset, packs, thresholds, policy, behaviour")
    p.add_argument("--preset", help="rule preset: strict, balanced (default) or permissive")
    p.add_argument("--robots", type=Path, metavar="FILE",
                   help="the site's own robots.txt, to judge which clients disregarded it (default: none; "
                        "the AI-agent group Fixative adds is always there)")
    p.add_argument("--no-cookies", dest="cookies", action="store_false",
                   help="assume no client would have returned the session cookie Fixative sets on pages "
                        "(default: every client does, as browsers do)")
    p.add_argument("--top", type=int, default=10, metavar="N", help="entries in each top list (default 10)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="processes, each replaying the clients of its share of addresses (default: 1 for logs "
                        "under 16 MB, else one per CPU up to 4)")
    bar = p.add_mutually_exclusive_group()
    bar.add_argument("--progress", dest="progress", action="store_true", default=None,
                     help="show the progress bar even when stderr is not a terminal")
    bar.add_argument("--no-progress", dest="progress", action="store_false", help="never show it")
    p.set_defaults(handler=cmd_replay)
    return p


def cmd_replay(args: argparse.Namespace) -> int:
    from .config import load_config
    from .replay.progress import Progress
    from .replay.report import format_text, summarise
    from .replay.run import default_workers, replay_file
    from .rules.presets import load_rules
    from .runtime import load_asn

    if args.top < 1 or (args.workers is not None and args.workers < 1):
        return _fail("--top and --workers take a whole number of at least 1")
    if not args.log.is_file():
        return _fail(f"{args.log}: no such file" if not args.log.exists() else f"{args.log}: not a file")
    robots = None
    try:
        if args.robots is not None:
            robots = args.robots.read_text(encoding="utf-8", errors="replace")
        size = args.log.stat().st_size
    except OSError as e:
        return _fail(f"cannot read {e.filename}: {e.strerror}")
    config = load_config(args.config, preset=args.preset)
    rules = load_rules(config.preset, list(config.packs), config.thresholds)
    asn = load_asn(config)
    workers = args.workers or default_workers(args.log)
    progress = Progress(args.log.name, size, enabled=args.progress)
    try:
        result = replay_file(args.log, args.format, config, rules, asn, robots, workers, progress, args.cookies)
    except OSError as e:
        progress.close()
        return _fail(f"cannot read {args.log}: {e.strerror or e}")
    summary = summarise(result, config.preset, config.mode,
                        (rules.thresholds.suspect, rules.thresholds.scraper), asn, args.top)
    if result.tally.lines == 0:
        if result.lines_read == 0:
            what = "its gzip stream is broken before the first line" if summary["truncated"] else "it is empty"
        else:
            what = f"none of its {result.lines_read:,} lines is a {result.format} log line"
        hint = " (try --format combined or --format json)" if args.format == AUTO and result.lines_read else ""
        print(f"fixative replay: nothing to replay in {args.log}: {what}{hint}", file=sys.stderr)
        for example in summary["lines"]["skipped_examples"][:3]:
            print(f"  {example}", file=sys.stderr)
        if args.json:
            print(json.dumps(summary, indent=2))
        return EXIT_NOTHING
    print(json.dumps(summary, indent=2) if args.json else format_text(summary))
    return 0


def _fail(message: str) -> int:
    print(f"fixative replay: {message}", file=sys.stderr)
    return EXIT_USAGE
