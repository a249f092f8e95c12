"""Several sites in one proxy: the `sites:` list, chosen by the request's Host, validated as a whole.

Each site names its hosts and may override the per-site settings (SITE_KEYS); every other setting,
and any per-site one it leaves out, comes from the top level. A request whose Host is no site's gets
`unknown_host` (421 by default) or, with `default_site: NAME`, that site.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .yamlsource import LineDict

if TYPE_CHECKING:
    from .config import Config

SITE_KEYS = ("name", "hosts", "upstream", "mode", "artist", "watermark", "policy", "decoy", "preset", "packs",
             "thresholds", "traps", "session_cookie", "tarpit_seconds", "origin_timeout")
EXPECTED = ("a list of {name: NAME, hosts: [example.org, 'www.example.org:8080'], upstream: URL, and any of: "
            + ", ".join(SITE_KEYS[3:]) + "}")
UNKNOWN_HOST_EXPECTED = "{status: 421, message: TEXT}"
DEFAULT_MESSAGE = "This address is not served here.\n"


@dataclass(frozen=True)
class UnknownHost:
    """The answer to a request whose Host is no site's."""

    status: int = 421
    message: str = DEFAULT_MESSAGE


@dataclass(frozen=True)
class Site:
    name: str
    hosts: tuple[str, ...]  # lower case; "name" matches any port, "name:port" only that port
    config: Config  # the top-level settings with this site's own on top
    own: frozenset[str] = frozenset()  # the Config fields this site set itself (the command line's win)

    @property
    def own_mode(self) -> bool:
        """The site keeps its mode when the whole proxy's changes (POST /api/mode without a site)."""
        return "mode" in self.own


@dataclass
class SiteSpec:
    """A site as read from the file, before it is merged with the top-level settings."""

    name: str
    hosts: tuple[str, ...]
    values: dict[str, Any]  # Config field -> value
    where: dict[str, str]  # Config field -> "file:line"
    line: str


SiteValues = Callable[[LineDict, str], tuple[dict[str, Any], dict[str, str]]]


def normal_host(host: str) -> str:
    """Lower case, no trailing dot, no brackets kept apart from the port: how hosts are compared."""
    host = host.strip().lower()
    name, sep, port = host.rpartition(":")
    if sep and port.isdigit() and "]" not in port and (name.startswith("[") or ":" not in name):
        return f"{name.rstrip('.')}:{port}"
    return host.rstrip(".")


def parse_sites(path: Path, value: Any, line: int, problems: list[str], site_values: SiteValues) -> list[SiteSpec]:
    """The `sites:` list; each problem with its file:line, all at once."""
    if not isinstance(value, list) or not value:
        problems.append(f"{path}:{line}: sites: expected {EXPECTED}")
        return []
    specs: list[SiteSpec] = []
    names: dict[str, str] = {}
    owners: dict[str, tuple[int, str, str]] = {}
    for index, item in enumerate(value):
        at = f"{path}:{value.line_of(index) if hasattr(value, 'line_of') else line}"
        if not isinstance(item, LineDict):
            problems.append(f"{at}: sites: item {index + 1}: expected a mapping, {EXPECTED}")
            continue
        label = f"site {item.get('name')!r}" if isinstance(item.get("name"), str) else f"site {index + 1}"
        for key in item:
            if key not in SITE_KEYS:
                problems.append(f"{path}:{item.line_of(key)}: sites: {label}: {key}: unknown per-site setting; "
                                f"known: {', '.join(SITE_KEYS)} (other settings are shared by every site)")
        _check_mode(path, item, label, problems)
        name = item.get("name")
        if not isinstance(name, str) or not name.strip() or name.strip() == "-":
            problems.append(f"{at}: sites: {label}: needs `name: NAME` (text, not '-')")
            name = None
        else:
            name = name.strip()
            if name in names:
                problems.append(f"{path}:{item.line_of('name')}: sites: {label}: the name is also used at "
                                f"{names[name]}; each site needs its own")
            names.setdefault(name, f"{path}:{item.line_of('name')}")
        hosts = _hosts(path, item, label, problems)
        for host in hosts:
            here = f"{path}:{item.line_of('hosts')}"
            if host in owners and owners[host][0] != index:
                problems.append(f"{here}: sites: {label}: host {host!r} is also {owners[host][1]}'s "
                                f"({owners[host][2]}); a host belongs to one site")
            owners.setdefault(host, (index, label, here))
        own = LineDict({k: v for k, v in item.items() if k in SITE_KEYS[2:]})
        own.line, own.key_lines = item.line, item.key_lines
        values, where = site_values(own, label)
        if name is not None and hosts:
            specs.append(SiteSpec(name, hosts, values, where, at))
    return specs


def _check_mode(path: Path, item: LineDict, label: str, problems: list[str]) -> None:
    """A site's own `mode:` (text that is no mode; other types are reported with the other settings)."""
    from .config import MODES

    mode = item.get("mode")
    if isinstance(mode, str) and mode.strip() not in MODES:
        problems.append(f"{path}:{item.line_of('mode')}: sites: {label}: mode: {mode!r} is not a mode; "
                        "use observe (log only) or enforce, or leave it out for the top level's")


def _hosts(path: Path, item: LineDict, label: str, problems: list[str]) -> tuple[str, ...]:
    raw = item.get("hosts")
    if isinstance(raw, str):
        raw = [raw]
    at = f"{path}:{item.line_of('hosts')}"
    if not isinstance(raw, list) or not raw or not all(isinstance(h, str) and h.strip() for h in raw):
        problems.append(f"{at}: sites: {label}: needs `hosts: [NAME, ...]`, the names it is reached by "
                        "(e.g. [mara.example, www.mara.example]; NAME:PORT for one port only)")
        return ()
    hosts = tuple(dict.fromkeys(normal_host(h) for h in raw))
    for host in hosts:
        if "/" in host or " " in host or host.startswith(":"):
            problems.append(f"{at}: sites: {label}: {host!r} is not a host name (no scheme or path: "
                            "mara.example or mara.example:8080)")
    return hosts


def parse_unknown_host(path: Path, value: Any, line: int, problems: list[str]) -> UnknownHost:
    if not isinstance(value, dict) or set(value) - {"status", "message"}:
        problems.append(f"{path}:{line}: unknown_host: expected {UNKNOWN_HOST_EXPECTED}")
        return UnknownHost()
    status = value.get("status", 421)
    message = value.get("message", DEFAULT_MESSAGE)
    if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
        problems.append(f"{path}:{line}: unknown_host: status: expected an HTTP error status from 400 to 599 "
                        f"(421 Misdirected Request by default), got {status!r}")
        status = 421
    if not isinstance(message, str):
        problems.append(f"{path}:{line}: unknown_host: message: expected text, got {message!r}")
        message = DEFAULT_MESSAGE
    return UnknownHost(status, message if message.endswith("\n") else message + "\n")


def find_site(sites: dict[str, Any], host: str | None) -> Any:
    """The value for `host` (as sent: any case, with or without port) in a map keyed by normal_host."""
    if not host:
        return None
    host = normal_host(host)
    found = sites.get(host)
    if found is None and ":" in host and not host.endswith("]"):
        found = sites.get(host.rpartition(":")[0])
    return found
