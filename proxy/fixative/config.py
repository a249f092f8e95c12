"""Fixative's configuration: a YAML file, then command-line overrides, validated as a whole.

Every problem is reported at once as `file:line: key: problem`, with what to do.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .ipset import parse_network
from .policy import Policy, parse_policy
from .rules.presets import parse_thresholds, preset_names, resolve_preset
from .rules.ruleset import Thresholds
from .yamlsource import LineDict, YamlSourceError, load_yaml

MODES = ("observe", "enforce")
KEYS = {
    "mode": "observe or enforce",
    "upstream": "the site to protect, e.g. http://127.0.0.1:8000",
    "listen": "HOST:PORT to listen on, e.g. 0.0.0.0:8080",
    "state_dir": "folder for the event log, secret and caches",
    "trusted_proxies": "list of CIDRs whose X-Forwarded-For is believed",
    "preset": f"one of {', '.join(preset_names()) or 'balanced'} or a preset file",
    "packs": "list of extra rule-pack files, loaded after the preset",
    "thresholds": "{suspect: N, scraper: M}",
    "policy": "treatments per verdict, e.g. {scraper: {image: decoy, page: original}}",
    "artist": "the artist's name, used in watermarks and notices",
    "watermark": "{text: ..., max_side: 1024, quality: 70, opacity: 0.35}",
    "events": "{retention_days: 30, max_rows: 1000000}",
    "images": "{max_bytes: 50000000, max_pixels: 60000000, time_limit: 10, workers: 2, cache_mb: 128}",
    "tarpit_seconds": "how long a tarpitted request is held before it is refused",
    "traps": "true to add invisible trap links to pages (changes page HTML; off by default)",
    "session_cookie": "false to stop setting the fx_session cookie on pages",
    "behaviour": "{max_clients: 100000, ttl_seconds: 1800, max_mb: 256}",
}


class ConfigError(ValueError):
    """The configuration cannot be used; `problems` lists each with where and what to do."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class Config:
    mode: str = "enforce"
    upstream: str | None = None
    listen: str = "127.0.0.1:8080"
    state_dir: Path = Path("fixative-state")
    trusted_proxies: tuple[str, ...] = ()
    preset: str = "balanced"
    packs: tuple[Path, ...] = ()
    thresholds: Thresholds | None = None
    policy: Policy = field(default_factory=Policy)
    artist: str = "the artist"
    watermark_text: str | None = None
    watermark_max_side: int = 1024
    watermark_quality: int = 70
    watermark_opacity: float = 0.35
    retention_days: float = 30
    max_rows: int = 1_000_000
    max_image_bytes: int = 50_000_000
    max_pixels: int = 60_000_000
    image_time_limit: float = 10.0
    image_workers: int = 2
    cache_mb: int = 128
    tarpit_seconds: float = 20.0
    traps: bool = False
    session_cookie: bool = True
    max_clients: int = 100_000
    client_ttl: float = 1800.0
    behaviour_mb: int = 256
    source: str = "(defaults)"

    @property
    def mark_text(self) -> str:
        return self.watermark_text or f"© {self.artist} · not licensed for AI training"


def load_config(path: Path | None, **overrides: Any) -> Config:
    """Defaults, then the file (if given), then non-None overrides; ConfigError on any problem."""
    problems: list[str] = []
    values: dict[str, Any] = {}
    where: dict[str, str] = {}
    source = "(defaults)"
    if path is not None:
        source = str(path)
        try:
            doc = load_yaml(Path(path))
        except YamlSourceError as e:
            raise ConfigError([f"{e}. Fix the file, or start without --config to use the defaults."]) from e
        if doc is None:
            doc = LineDict()
        if not isinstance(doc, LineDict):
            raise ConfigError([f"{path}:1: the config file must be a mapping of settings ({', '.join(KEYS)})"])
        values = _from_file(Path(path), doc, problems)
        where = {key: f"{path}:{doc.line_of(key)}" for key in doc}
    given = {k: v for k, v in overrides.items() if v is not None}
    values.update(given)
    where.update({k: "command line" for k in given})
    config = _check(Config(source=source, **values), problems, where)
    if problems:
        raise ConfigError(problems)
    return config


def _from_file(path: Path, doc: LineDict, problems: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}

    def where(key: str) -> str:
        return f"{path}:{doc.line_of(key)}: {key}"

    for key, value in doc.items():
        if key not in KEYS:
            problems.append(f"{where(key)}: unknown setting; known settings: {', '.join(KEYS)}")
            continue
        try:
            values.update(_convert(key, value, path.parent))
        except ValueError as e:
            problems.append(f"{where(key)}: {e}. Expected {KEYS[key]}.")
    if "thresholds" in doc:
        values["thresholds"] = parse_thresholds(doc["thresholds"], f"{path}:{doc.line_of('thresholds')}", problems)
    return values


def _convert(key: str, value: Any, base: Path) -> dict[str, Any]:
    if key in ("mode", "upstream", "listen", "preset", "artist"):
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"expected text, got {value!r}")
        return {key: value.strip()}
    if key == "state_dir":
        return {key: (base / str(value)).resolve()}
    if key == "trusted_proxies":
        return {key: tuple(str(v) for v in _as_list(value))}
    if key == "packs":
        return {key: tuple((base / str(v)).resolve() for v in _as_list(value))}
    if key == "policy":
        return {key: parse_policy(value)}
    if key == "tarpit_seconds":
        return {key: _number(value, 0, 600)}
    if key in ("traps", "session_cookie"):
        if not isinstance(value, bool):
            raise ValueError(f"expected true or false, got {value!r}")
        return {key: value}
    if key == "thresholds":
        return {}
    return _section(key, value)


def _section(key: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"expected a mapping, got {value!r}")
    names = {
        "watermark": {"text": "watermark_text", "max_side": "watermark_max_side",
                      "quality": "watermark_quality", "opacity": "watermark_opacity"},
        "events": {"retention_days": "retention_days", "max_rows": "max_rows"},
        "behaviour": {"max_clients": "max_clients", "ttl_seconds": "client_ttl", "max_mb": "behaviour_mb"},
        "images": {"max_bytes": "max_image_bytes", "max_pixels": "max_pixels", "time_limit": "image_time_limit",
                   "workers": "image_workers", "cache_mb": "cache_mb"},
    }[key]
    out: dict[str, Any] = {}
    for sub, v in value.items():
        if sub not in names:
            raise ValueError(f"{sub}: unknown; use {', '.join(names)}")
        target = names[sub]
        if target == "watermark_text":
            out[target] = str(v)
        elif target == "watermark_opacity":
            out[target] = _number(v, 0.05, 1.0)
        elif target in ("image_time_limit", "retention_days", "client_ttl"):
            out[target] = _number(v, 0.1, 100000)
        else:
            out[target] = int(_number(v, 1, 10**12))
    return out


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        raise ValueError(f"expected a list, got {value!r}")
    return value


def _number(value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise ValueError(f"expected a number from {low} to {high}, got {value!r}")
    return float(value) if isinstance(value, float) else value


def _check(config: Config, problems: list[str], where: dict[str, str]) -> Config:
    def src_of(key: str) -> str:
        return where.get(key, config.source)

    src = config.source
    if config.mode not in MODES:
        problems.append(f"{src_of('mode')}: mode: {config.mode!r} is not a mode; use observe (log only) or enforce")
    for cidr in config.trusted_proxies:
        try:
            parse_network(cidr)
        except ValueError as e:
            problems.append(f"{src_of('trusted_proxies')}: trusted_proxies: {e}")
    try:
        resolve_preset(config.preset)
    except ValueError as e:
        problems.append(f"{src_of('preset')}: preset: {e}")
    for pack in config.packs:
        if not pack.exists():
            problems.append(f"{src_of('packs')}: packs: {pack}: file not found")
    if config.upstream is not None and not config.upstream.startswith(("http://", "https://")):
        problems.append(f"{src_of('upstream')}: upstream: {config.upstream!r} must start with http:// or https://")
    _check_listen(config.listen, src_of("listen"), problems)
    state = Path(config.state_dir)
    if state.exists() and not os.access(state, os.W_OK):
        problems.append(f"{src_of('state_dir')}: state_dir: {state} is not writable; choose another folder with --state-dir")
    return replace(config, state_dir=state)


def _check_listen(listen: str, src: str, problems: list[str]) -> None:
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        problems.append(f"{src}: listen: {listen!r} must be HOST:PORT, e.g. 0.0.0.0:8080")


def split_listen(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    return host.strip("[]"), int(port)
