"""`fixative rules ...`: tools for rule authors — lint, test, import, export, docs, keygen/sign/verify.

Each sub-command returns an exit code: 0 fine, 1 the check failed (lint errors, failing cases,
stale docs), 2 the input could not be used (a broken pack or cases file, a missing file).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .rules.loader import SHIPPED_RULES, RulePackError, load_ruleset
from .rules.ruleset import RuleSet, Thresholds

EXIT_FAILED, EXIT_USAGE = 1, 2


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add `rules` and its sub-commands to the `fixative` command's subparsers."""
    rules: argparse.ArgumentParser = subparsers.add_parser(
        "rules", help="rule-pack tools: lint, test, import, export, docs, keygen, sign, verify")
    rules.set_defaults(handler=lambda args: _help(rules))
    sub = rules.add_subparsers(dest="rules_command", metavar="SUBCOMMAND")

    lint = sub.add_parser("lint", help="check packs and presets: loader errors plus what the rules mean")
    lint.add_argument("paths", nargs="*", type=Path, metavar="PATH",
                      help="pack or preset files, or folders of them (default: the shipped rules/)")
    lint.add_argument("--strict", action="store_true", help="fail on warnings too")
    lint.set_defaults(handler=cmd_lint)

    test = sub.add_parser("test", help="run request cases against packs, like a test runner")
    test.add_argument("packs", nargs="*", type=Path, metavar="PACK", help="pack files (or preset files), in order")
    test.add_argument("--cases", action="append", type=Path, required=True, metavar="FILE",
                      help="a cases file (repeatable); see rules/README.md")
    test.add_argument("--preset", help="start from this preset's packs and thresholds (name or file)")
    test.add_argument("-q", "--quiet", action="store_true", help="print only failures and the summary")
    test.set_defaults(handler=cmd_test)

    imp = sub.add_parser("import", help="a pack from ai.robots.txt's robots.json or a robots.txt")
    imp.add_argument("file", type=Path, metavar="FILE", help="robots.json or robots.txt")
    imp.add_argument("--out", type=Path, metavar="PACK", help="pack file to create or update (default: print)")
    imp.add_argument("--pack-name", default="ai-agents", help="the pack's name (default ai-agents)")
    imp.add_argument("--version", help="the pack's version (default: today, as 2026.11.25)")
    imp.add_argument("--skip", action="append", metavar="AGENT",
                     help="leave this agent out (repeatable; default: Applebot, verified by IP elsewhere)")
    imp.set_defaults(handler=cmd_import)

    exp = sub.add_parser("export", help="the User-Agent rules as robots.txt or nginx/Apache/Caddy/HAProxy/"
                                        "Anubis configuration")
    exp.add_argument("--format", required=True, choices=_formats(), help="the target")
    exp.add_argument("--preset", help="preset whose packs to export (default balanced, unless --pack is given)")
    exp.add_argument("--pack", action="append", type=Path, default=[], metavar="FILE",
                     help="a pack file to export (repeatable; after the preset's, if one is given)")
    exp.add_argument("--out", type=Path, metavar="FILE", help="write here instead of printing")
    exp.set_defaults(handler=cmd_export)

    docs = sub.add_parser("docs", help="the generated rules reference (matchers, signals, tags) and schema")
    docs.add_argument("--write", action="store_true",
                      help="refresh rules/README.md and schema/rule-pack.schema.json")
    docs.add_argument("--check", action="store_true", help="fail if either is stale")
    docs.set_defaults(handler=cmd_docs)

    from . import signcli

    signcli.register(sub)
    return rules


def _formats() -> Sequence[str]:
    from .rules.exporters import FORMATS

    return FORMATS


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return EXIT_USAGE


def _fail(message: str) -> int:
    print(f"fixative rules: {message}", file=sys.stderr)
    return EXIT_USAGE


def cmd_lint(args: argparse.Namespace) -> int:
    from .rules.lint import ERROR, lint_paths

    paths = args.paths or [SHIPPED_RULES, SHIPPED_RULES / "presets"]
    problems = lint_paths(paths)
    for problem in problems:
        print(f"{problem} [{problem.severity}]")
    errors = sum(p.severity == ERROR for p in problems)
    warnings = len(problems) - errors
    print(f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}")
    return EXIT_FAILED if errors or (args.strict and warnings) else 0


def _ruleset(packs: list[Path], preset: str | None, default_preset: str | None = None) -> RuleSet:
    from .rules.presets import read_preset, resolve_preset

    files: list[Path] = []
    thresholds = Thresholds()
    name = preset or (default_preset if not packs else None)
    if name:
        files, thresholds = read_preset(resolve_preset(name))
    for path in packs:
        if path.suffix in (".yaml", ".yml") and _is_preset(path):
            more, thresholds = read_preset(path)
            files += more
        else:
            files.append(path)
    if not files:
        raise ValueError("no packs: give pack files or --preset NAME")
    return load_ruleset(files, thresholds)


def _is_preset(path: Path) -> bool:
    from .rules.lint import is_preset

    return path.exists() and is_preset(path)


def cmd_test(args: argparse.Namespace) -> int:
    from .rules.casetest import CaseFileError, run_files

    try:
        rules = _ruleset(args.packs, args.preset)
        _, failed = run_files(rules, args.cases, print, quiet=args.quiet)
    except (RulePackError, CaseFileError) as e:
        return _fail(f"cannot run the cases:\n{_indent(str(e))}")
    except ValueError as e:
        return _fail(str(e))
    return EXIT_FAILED if failed else 0


def cmd_import(args: argparse.Namespace) -> int:
    from .rules.importers import DEFAULT_SKIP, import_into, import_text

    skip = tuple(args.skip) if args.skip else DEFAULT_SKIP
    if not args.file.is_file():
        return _fail(f"{args.file}: file not found")
    try:
        if args.out is None:
            print(import_text(args.file, None, args.pack_name, args.version, skip), end="")
            return 0
        change, summary = import_into(args.file, args.out, args.pack_name, args.version, skip)
    except ValueError as e:
        return _fail(str(e))
    print(f"{args.out}: " + (summary if not change.empty else "no rule changed; the file is as it was"))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from .rules.exporters import export

    try:
        rules = _ruleset(args.pack, args.preset, default_preset="balanced")
    except RulePackError as e:
        return _fail(f"cannot load the rules:\n{_indent(str(e))}")
    except ValueError as e:
        return _fail(str(e))
    source = f"preset {args.preset}" if args.preset else "preset balanced" if not args.pack else ""
    source = ", ".join([source] * bool(source) + [str(p) for p in args.pack])
    text = export(rules, args.format, source)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
        print(f"wrote {args.out}")
    else:
        print(text, end="")
    return 0


def cmd_docs(args: argparse.Namespace) -> int:
    from .rules import reference, schema

    if args.write:
        changed = [os.path.relpath(p) for p, did in ((reference.README, reference.refresh_readme()),
                                                     (schema.SCHEMA_FILE, schema.write_schema())) if did]
        print(f"refreshed {', '.join(changed)}" if changed else "the docs and schema were up to date")
        return 0
    if args.check:
        stale = [os.path.relpath(p) for p, ok in ((reference.README, reference.readme_is_current()),
                                      (schema.SCHEMA_FILE, schema.SCHEMA_FILE.exists()
                                       and schema.SCHEMA_FILE.read_text() == schema.schema_text())) if not ok]
        for path in stale:
            print(f"{path} is stale: run `fixative rules docs --write`")
        return EXIT_FAILED if stale else 0
    print(reference.generated_text(), end="")
    return 0


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" for line in text.splitlines())


def main(argv: list[str] | None = None) -> int:
    """`python -m fixative.rulescli lint ...`, the same as `fixative rules lint ...`."""
    parser = argparse.ArgumentParser(prog="fixative")
    register(parser.add_subparsers(dest="command"))
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] != "rules":
        argv.insert(0, "rules")
    args = parser.parse_args(argv)
    return int(args.handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
