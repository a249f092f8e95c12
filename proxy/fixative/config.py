"""Fixative's configuration: a YAML file, then command-line overrides, validated as a whole.

Every problem is reported at once as `file:line: key: problem`, with what to do.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .ipset import parse_network
from .network.rdns import RDNS_EXPECTED, RdnsSettings, parse_rdns
from .policy import DECOY_STYLES, FOLDER, DecoyStyles, Policy, parse_decoy_style, parse_policy
from .rules.presets import parse_thresholds, preset_names, resolve_preset
from .rules.ruleset import Thresholds
from .sharing.settings import EXPECTED as SHARED_EXPECTED
from .sharing.settings import SharedSettings, parse_shared
from .siteconfig import EXPECTED as SITES_EXPECTED
from .siteconfig import UNKNOWN_HOST_EXPECTED, Site, SiteSpec, UnknownHost, parse_sites, parse_unknown_host
from .subscriptions.spec import EXPECTED as SUBSCRIPTIONS_EXPECTED
from .subscriptions.spec import Subscription, parse_subscriptions
from .treatments.folder import IMAGE_SUFFIXES, folder_images
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
    "images": "{max_bytes: 50000000, max_pixels: 60000000, time_limit: 10, workers: 2, cache_mb: 128, "
              "disk_cache_mb: 0}",
    "tarpit_seconds": "how long a tarpitted request is held before it is refused",
    "origin_timeout": "seconds the origin may stay silent (to answer, or between parts of a body) before "
                      "the client gets a 504; default 30",
    "traps": "true to add invisible trap links to pages (changes page HTML; off by default)",
    "session_cookie": "false to stop setting the fx_session cookie on pages",
    "behaviour": "{max_clients: 100000, ttl_seconds: 1800, max_mb: 256}",
    "asn_databases": "list of ip2asn .tsv/.tsv.gz or GeoLite2-ASN/DB-IP .mmdb files, in priority order "
                     "(the shipped hosting/VPN/relay table is always used)",
    "rdns": f"verified crawlers by forward-confirmed reverse DNS: {RDNS_EXPECTED}",
    "decoy": f"{{style: {'|'.join(DECOY_STYLES)}, folder: DIR, notice_text: TEXT, "
             "suspect: {style: ...}, scraper: {style: ...}}",
    "traces": "{enabled: true, per_image_per_hour: 8, per_hour: 1000, retention_days: 365}",
    "originals": "{add_rights_metadata: false}",
    "subscriptions": SUBSCRIPTIONS_EXPECTED,
    "sites": f"several sites by Host: {SITES_EXPECTED}",
    "unknown_host": f"the answer to a Host no site has: {UNKNOWN_HOST_EXPECTED}",
    "default_site": "the site (its name) that serves a Host no site has, instead of unknown_host",
    "shared": f"several instances sharing state through Redis or Valkey: {SHARED_EXPECTED}",
}
DECOY_KEYS = ("style", "folder", "notice_text", "suspect", "scraper")


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
    asn_databases: tuple[Path, ...] = ()
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
    origin_timeout: float = 30.0
    traps: bool = False
    session_cookie: bool = True
    max_clients: int = 100_000
    client_ttl: float = 1800.0
    behaviour_mb: int = 256
    rdns: RdnsSettings = field(default_factory=RdnsSettings)
    decoy: DecoyStyles = field(default_factory=DecoyStyles)
    decoy_folder: Path | None = None
    notice_text: str | None = None
    trace_enabled: bool = True
    trace_per_image: int = 8  # distinct clients per image per hour that get their own traced copy
    trace_per_hour: int = 1000  # new traced copies per hour in all: bounds the extra rendering
    trace_retention_days: float = 365
    rights_on_originals: bool = False
    disk_cache_mb: int = 0
    subscriptions: tuple[Subscription, ...] = ()
    sites: tuple[Site, ...] = ()  # empty: one site, the upstream, whatever the Host
    unknown_host: UnknownHost = field(default_factory=UnknownHost)
    default_site: str | None = None
    shared: SharedSettings | None = None  # None: state in this process only (the default)
    source: str = "(defaults)"

    @property
    def mark_text(self) -> str:
        return self.watermark_text or f"© {self.artist} · not licensed for AI training"

    @property
    def notice_headline(self) -> str:
        return self.notice_text or "Not licensed for AI training"


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
    specs: list[SiteSpec] = values.pop("sites", [])
    config = _check(Config(source=source, **values), problems, where)
    config = _with_sites(config, specs, given, where, problems)
    if problems:
        raise ConfigError(problems)
    return config


def _from_file(path: Path, doc: LineDict, problems: list[str], label: str = "") -> dict[str, Any]:
    """The settings of the file's top level, or (with a label) of one `sites:` item."""
    values: dict[str, Any] = {}

    def where(key: str) -> str:
        return f"{path}:{doc.line_of(key)}: {label}{key}"

    for key, value in doc.items():
        if key not in KEYS:
            if not label:  # a site's unknown keys are reported by parse_sites
                problems.append(f"{where(key)}: unknown setting; known settings: {', '.join(KEYS)}")
            continue
        try:
            values.update(_convert(key, value, path.parent))
        except ValueError as e:
            problems.append(f"{where(key)}: {e}. Expected {KEYS[key]}.")
    if "rdns" in doc:
        values["rdns"] = parse_rdns(doc["rdns"], lambda sub: _line(doc["rdns"], sub, doc.line_of("rdns")),
                                    problems, str(path))
    if "thresholds" in doc:
        values["thresholds"] = parse_thresholds(doc["thresholds"], f"{path}:{doc.line_of('thresholds')}", problems)
    if "decoy" in doc:
        values.update(_decoy(path, doc["decoy"], doc.line_of("decoy"), problems))
    if "subscriptions" in doc:
        values["subscriptions"] = parse_subscriptions(doc["subscriptions"], str(path), doc.line_of("subscriptions"),
                                                      problems)
    if "sites" in doc:
        def site_values(item: LineDict, name: str) -> tuple[dict[str, Any], dict[str, str]]:
            return (_from_file(path, item, problems, f"sites: {name}: "),
                    {key: f"{path}:{item.line_of(key)}: sites: {name}" for key in item})
        values["sites"] = parse_sites(path, doc["sites"], doc.line_of("sites"), problems, site_values)
    if "shared" in doc and not label:
        values["shared"] = parse_shared(doc["shared"], lambda sub: _line(doc["shared"], sub, doc.line_of("shared")),
                                        problems, str(path))
    if "unknown_host" in doc:
        values["unknown_host"] = parse_unknown_host(path, doc["unknown_host"], doc.line_of("unknown_host"), problems)
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
    if key in ("packs", "asn_databases"):
        return {key: tuple((base / str(v)).resolve() for v in _as_list(value))}
    if key == "rdns":
        return {}
    if key == "policy":
        return {key: parse_policy(value)}
    if key == "tarpit_seconds":
        return {key: _number(value, 0, 600)}
    if key == "origin_timeout":
        return {key: _number(value, 0.1, 3600)}
    if key in ("traps", "session_cookie"):
        if not isinstance(value, bool):
            raise ValueError(f"expected true or false, got {value!r}")
        return {key: value}
    if key == "default_site":
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"expected a site's name, got {value!r}")
        return {key: value.strip()}
    if key in ("thresholds", "decoy", "subscriptions", "sites", "unknown_host", "shared"):
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
                   "workers": "image_workers", "cache_mb": "cache_mb", "disk_cache_mb": "disk_cache_mb"},
        "traces": {"enabled": "trace_enabled", "per_image_per_hour": "trace_per_image",
                   "per_hour": "trace_per_hour", "retention_days": "trace_retention_days"},
        "originals": {"add_rights_metadata": "rights_on_originals"},
    }[key]
    out: dict[str, Any] = {}
    for sub, v in value.items():
        if sub not in names:
            raise ValueError(f"{sub}: unknown; use {', '.join(names)}")
        target = names[sub]
        if target == "watermark_text":
            out[target] = str(v)
        elif target in ("trace_enabled", "rights_on_originals"):
            if not isinstance(v, bool):
                raise ValueError(f"{sub}: expected true or false, got {v!r}")
            out[target] = v
        elif target in ("disk_cache_mb", "trace_per_image", "trace_per_hour"):
            out[target] = int(_number(v, 0, 10**9))
        elif target == "watermark_opacity":
            out[target] = _number(v, 0.05, 1.0)
        elif target in ("image_time_limit", "retention_days", "client_ttl", "trace_retention_days"):
            out[target] = _number(v, 0.1, 100000)
        else:
            out[target] = int(_number(v, 1, 10**12))
    return out


def _decoy(path: Path, value: Any, line: int, problems: list[str]) -> dict[str, Any]:
    """The `decoy:` section; each problem with the line of the sub-key it is about."""
    def bad(sub: str | None, problem: str) -> None:
        at = value.line_of(sub) if sub and isinstance(value, LineDict) else line
        problems.append(f"{path}:{at}: decoy: {problem}. Expected {KEYS['decoy']}.")

    if isinstance(value, str):  # `decoy: notice` is short for `decoy: {style: notice}`
        value = LineDict(style=value)
        value.line, value.key_lines = line, {}
    if not isinstance(value, dict):
        bad(None, f"expected a mapping, got {value!r}")
        return {}
    default = "generated"
    per_verdict: list[Any] = []
    out: dict[str, Any] = {}
    for sub, v in value.items():
        try:
            if sub not in DECOY_KEYS:
                raise ValueError(f"{sub}: unknown; use {', '.join(DECOY_KEYS)}")
            if sub == "style":
                default = parse_decoy_style(v, "style")
            elif sub == "notice_text":
                if not isinstance(v, str) or not v.strip():
                    raise ValueError(f"notice_text: expected text, got {v!r}")
                out["notice_text"] = v.strip()
            elif sub == "folder":
                out["decoy_folder"] = _decoy_folder(path.parent / str(v))
            else:  # a verdict: `scraper: notice` or `scraper: {style: notice}`
                style = v.get("style") if isinstance(v, dict) and set(v) == {"style"} else v
                if isinstance(v, dict) and set(v) != {"style"}:
                    raise ValueError(f"{sub}: expected {{style: STYLE}}, got {dict(v)!r}")
                per_verdict.append((sub, parse_decoy_style(style, f"{sub}.style")))
        except ValueError as e:
            bad(sub, str(e))
    styles = DecoyStyles(default, tuple(per_verdict))
    if FOLDER in styles.all and "decoy_folder" not in out and "folder" not in value:
        asked = "style" if default == FOLDER else next(v for v, style in per_verdict if style == FOLDER)
        bad(asked, "the folder style needs `folder: DIR`, a folder of images the artist chooses")
    return {"decoy": styles, **out}


def _decoy_folder(folder: Path) -> Path:
    folder = folder.resolve()
    if not folder.exists():
        raise ValueError(f"folder: {folder} does not exist")
    if not folder.is_dir():
        raise ValueError(f"folder: {folder} is not a folder")
    if not folder_images(folder):
        raise ValueError(f"folder: {folder} has no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
    return folder


def _line(section: Any, sub: str | None, line: int) -> int:
    """The line of a section's sub-key, else the section's."""
    return section.line_of(sub) if sub and isinstance(section, LineDict) else line


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
    for db in config.asn_databases:
        if not db.exists():
            problems.append(f"{src_of('asn_databases')}: asn_databases: {db}: file not found; download an "
                            "ip2asn TSV or a GeoLite2-ASN .mmdb, or remove the entry")
    _check_upstream(config.upstream, src_of("upstream"), problems)
    _check_listen(config.listen, src_of("listen"), problems)
    state = Path(config.state_dir)
    if state.exists() and not os.access(state, os.W_OK):
        problems.append(f"{src_of('state_dir')}: state_dir: {state} is not writable; choose another folder with --state-dir")
    return replace(config, state_dir=state)


def _check_upstream(upstream: str | None, src: str, problems: list[str]) -> None:
    if upstream is not None and not upstream.startswith(("http://", "https://")):
        problems.append(f"{src}: upstream: {upstream!r} must start with http:// or https://")


def _with_sites(config: Config, specs: list[SiteSpec], given: dict[str, Any], where: dict[str, str],
                problems: list[str]) -> Config:
    """Each site's Config: the top level's, its own settings on top, the command line's on top of all."""
    if not specs:
        for key in ("default_site", "unknown_host"):
            if key in where and "sites" not in where:
                problems.append(f"{where[key]}: {key}: only means something with `sites:`")
        return config
    if "default_site" in where and "unknown_host" in where:
        problems.append(f"{where['unknown_host']}: unknown_host: with default_site ({where['default_site']}) "
                        "every Host is served; keep one of the two")
    sites = []
    for spec in specs:
        own = {k: v for k, v in spec.values.items() if k not in given}
        site = replace(config, **own)
        src = {**where, **spec.where}
        if site.upstream is None:
            problems.append(f"{spec.line}: sites: site {spec.name!r}: needs `upstream: URL` (or a top-level "
                            "upstream that sites without their own share)")
        if "upstream" in spec.values:
            _check_upstream(site.upstream, src["upstream"], problems)
        if "preset" in own:
            try:
                resolve_preset(site.preset)
            except ValueError as e:
                problems.append(f"{src['preset']}: preset: {e}")
        for pack in site.packs if "packs" in own else ():
            if not pack.exists():
                problems.append(f"{src['packs']}: packs: {pack}: file not found")
        sites.append(Site(spec.name, spec.hosts, site, frozenset(own)))
    if config.default_site is not None and config.default_site not in {s.name for s in sites}:
        problems.append(f"{where['default_site']}: default_site: {config.default_site!r} is not a site's name; "
                        f"the sites are {', '.join(s.name for s in sites)}")
    return replace(config, sites=tuple(sites))


def _check_listen(listen: str, src: str, problems: list[str]) -> None:
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        problems.append(f"{src}: listen: {listen!r} must be HOST:PORT, e.g. 0.0.0.0:8080")


def split_listen(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    return host.strip("[]"), int(port)
