"""Shared by the replay tests: the benchmark's synthetic-log generator, and a replay of lines in memory."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterable
from pathlib import Path
from functools import lru_cache
from types import ModuleType

from fixative.config import Config, load_config
from fixative.network.asn import AsnDatabase
from fixative.replay.engine import Replayer
from fixative.replay.parse import LogLine, parse_combined
from fixative.rules.presets import load_rules
from fixative.rules.ruleset import RuleSet
from fixative.runtime import load_asn

ROOT = Path(__file__).resolve().parents[1]


def log_generator() -> ModuleType:
    """bench/replay_log.py as a module (bench/ is not a package)."""
    name = "replay_log_bench"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / "replay_log.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def synthetic_lines(count: int, seed: int = 7) -> list[LogLine]:
    """Parsed lines of a synthetic log (its few garbage lines left out)."""
    out = []
    for text in log_generator().generate(count, seed):
        try:
            out.append(parse_combined(text.rstrip("\n")))
        except ValueError:
            pass
    return out


@lru_cache(maxsize=4)
def loaded(preset: str = "balanced") -> tuple[Config, RuleSet, AsnDatabase]:
    """Config, rules and ASN database, loaded once per preset for all the tests."""
    config = load_config(None, preset=preset)
    return config, load_rules(config.preset), load_asn(config)


def replayer(preset: str = "balanced", **options: object) -> Replayer:
    config, rules, asn = loaded(preset)
    return Replayer(config, rules, asn, **options)  # type: ignore[arg-type]


def replay(lines: Iterable[LogLine], **options: object) -> Replayer:
    r = replayer(**options)  # type: ignore[arg-type]
    for line in lines:
        r.feed(line)
    return r
