"""Everything a running proxy needs, built once from a Config."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

from urllib.robotparser import RobotFileParser

from .behaviour.sitemap import SiteMap
from .behaviour.store import ClientStore
from .classify import Classifier
from .config import Config, ConfigError
from .events import EventLog
from .ipset import IPSet
from .network.asn import AsnDatabase, load_asn_database
from .rules.ruleset import RuleSet
from .secret import load_or_create_secret
from .sharing.secret import shared_secret
from .sharing.tracked import SharingClientStore
from .siteconfig import Site, find_site, normal_host
from .subscriptions.cache import startup_rules
from .traps import trap_prefix
from .treatments.service import RenderService


@dataclass
class Runtime:
    config: Config
    rules: RuleSet
    classifier: Classifier
    trusted: IPSet
    secret: bytes
    events: EventLog
    renderer: RenderService
    robots_agents: list[str]
    clients: ClientStore
    sitemap: SiteMap
    asn: AsnDatabase | None = None
    trap_prefix: str | None = None
    robots: RobotFileParser | None = None  # the merged robots.txt, once served
    robots_text: str | None = None
    started: float = field(default_factory=time.time)
    site: str | None = None  # this site's name, with `sites:`
    own_mode: bool = False  # a site whose mode is its own (from its `sites:` entry, or set for it alone)
    sites: dict[str, Runtime] = field(default_factory=dict)  # with `sites:`, on the top-level Runtime: by name
    hosts: dict[str, Runtime] = field(default_factory=dict)  # ... and by normal_host
    sharing: Any = None  # with `shared:`, the Sharing addon (its status, for the admin)

    def for_host(self, host: str | None) -> Runtime | None:
        """With `sites:`, the site serving `host` (or default_site's), else None; without, this Runtime."""
        if not self.sites:
            return self
        found = find_site(self.hosts, host)
        if found is None and self.config.default_site is not None:
            found = self.sites[self.config.default_site]
        return found

    @property
    def enforcing(self) -> bool:
        return self.config.mode == "enforce"

    def set_mode(self, mode: str, site: str | None = None) -> None:
        """On the top-level Runtime: one site's mode (its own from then on), or, without `site`, the
        top level's and that of every site without a mode of its own. KeyError for an unknown site."""
        if site is not None:
            target = self.sites[site]
            target.config, target.own_mode = replace(target.config, mode=mode), True
            return
        self.config = replace(self.config, mode=mode)
        for target in self.sites.values():
            if not target.own_mode:
                target.config = replace(target.config, mode=mode)

    def close(self) -> None:
        """The top-level Runtime's; its sites share what it closes."""
        self.events.close()
        self.renderer.close()


def build_runtime(config: Config) -> Runtime:
    """Load rules (subscriptions from their cache), open the event log and secret; ConfigError or RulePackError."""
    rules = startup_rules(config)  # the preset, the config's packs, the subscriptions' last good copies
    state = config.state_dir
    state.mkdir(parents=True, exist_ok=True)
    secret = load_or_create_secret(state)
    if config.shared is not None:  # the gallery's instances sign cookies and seed decoys alike
        secret = shared_secret(config.shared, secret, state)
    asn = load_asn(config)
    rt = Runtime(
        config=config,
        rules=rules,
        asn=asn,
        classifier=Classifier(rules, asn),
        trusted=IPSet(config.trusted_proxies),
        secret=secret,
        events=EventLog(state / "events.sqlite3", config.retention_days, config.max_rows),
        renderer=RenderService(config.image_workers, config.image_time_limit, config.cache_mb << 20),
        robots_agents=rules.robots_tokens(),
        clients=make_client_store(config, "-"),
        sitemap=SiteMap(),
        trap_prefix=trap_prefix(secret) if config.traps else None,
    )
    for site in config.sites:
        rt.sites[site.name] = site_rt = build_site_runtime(rt, site)
        rt.hosts.update({normal_host(h): site_rt for h in site.hosts})
    return rt


def build_site_runtime(top: Runtime, site: Site) -> Runtime:
    """One site's rules, classifier and behaviour state; the secret, event log, renderer and ASN data are
    the top level's."""
    config = site.config
    rules = startup_rules(config)
    return Runtime(
        config=config,
        rules=rules,
        asn=top.asn,
        classifier=Classifier(rules, top.asn),
        trusted=top.trusted,
        secret=top.secret,
        events=top.events,
        renderer=top.renderer,
        robots_agents=rules.robots_tokens(),
        clients=make_client_store(config, site.name),
        sitemap=SiteMap(),
        trap_prefix=trap_prefix(top.secret) if config.traps else None,
        site=site.name,
        own_mode=site.own_mode,
    )


def make_client_store(config: Config, scope: str) -> ClientStore:
    """Behaviour state in memory; with `shared:`, a store whose changes are also written to Redis."""
    if config.shared is None:
        return ClientStore(config.max_clients, config.client_ttl, config.behaviour_mb << 20)
    return SharingClientStore(scope, config.max_clients, config.client_ttl, config.behaviour_mb << 20)


def load_asn(config: Config) -> AsnDatabase:
    """The configured ASN databases plus the shipped table; ConfigError naming the bad file."""
    try:
        return load_asn_database(list(config.asn_databases))
    except ValueError as e:
        raise ConfigError([f"{config.source}: asn_databases: {e}"]) from e
