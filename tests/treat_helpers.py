"""Shared by the treatment end-to-end tests: fixed verdicts by User-Agent, a proxy with a config,
plain urllib fetches, and the `fixative treat` / `fixative trace` commands.

The preset here loads one tiny pack, so these tests do not move when the shipped rules do:
a User-Agent with TestScraper is a scraper, with TestSuspect a suspect, anything else a person.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

from harness import CHROME_UA, VENV_BIN, ProxyProcess, start_fixative

SCRAPER_UA = "TestScraper/1.0 (+https://example.org/bot)"
SUSPECT_UA = "TestSuspect/1.0"
PERSON_UA = CHROME_UA

_PACK = """\
pack:
  name: test-verdicts
  version: "1.0"
  description: Fixed verdicts by User-Agent token, for end-to-end tests
  licence: CC0-1.0
  source: https://example.org/fixative/tests
rules:
  - id: test-scraper
    description: a client that says it is a test scraper
    action: deny
    match:
      user_agent_regex: 'TestScraper'
  - id: test-suspect
    description: a client that says it is a test suspect
    weight: 40
    match:
      user_agent_regex: 'TestSuspect'
"""
_PRESET = """\
preset:
  name: test-verdicts
  description: only the test-verdicts pack
imports:
  - test-verdicts-pack.yaml
thresholds: {suspect: 30, scraper: 70}
"""


def write_config(folder: Path, extra: str = "") -> Path:
    """A config using the test preset, plus `extra` YAML lines; returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "test-verdicts-pack.yaml").write_text(_PACK, encoding="utf-8")
    (folder / "test-verdicts.yaml").write_text(_PRESET, encoding="utf-8")
    path = folder / "fixative.yaml"
    path.write_text(f"preset: {folder / 'test-verdicts.yaml'}\nartist: Mara Ilves\n{extra}", encoding="utf-8")
    return path


def start_proxy(origin_url: str, folder: Path, extra: str = "") -> ProxyProcess:
    """`fixative run` with the test preset (and `extra` config) in front of `origin_url`."""
    config = write_config(folder, extra)
    return start_fixative(origin_url, folder / "state", "--config", str(config))


def fetch(url: str, user_agent: str, timeout: float = 30) -> tuple[int, dict[str, str], bytes]:
    """GET with urllib and only a User-Agent: status, headers (lower-case names), body."""
    request = urllib.request.Request(url, headers={"User-Agent": user_agent})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


def fixative_cli(command: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`fixative COMMAND ARGS`, or `python -m fixative.COMMANDcli ARGS` until cli.py wires it in."""
    if command in _commands():
        argv = [str(VENV_BIN / "fixative"), command, *args]
    else:
        argv = [sys.executable, "-m", f"fixative.{command}cli", *args]
    return subprocess.run(argv, check=False, capture_output=True, text=True, timeout=120)


def _commands() -> set[str]:
    from fixative.cli import build_parser

    parser = build_parser()
    subparsers = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return set(subparsers[0].choices) if subparsers else set()
