"""The `fixative` command: run, demo, explain."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from dataclasses import replace
from pathlib import Path

from . import __version__
from .config import Config, ConfigError, load_config, split_listen
from .facts import Facts, ReverseDns
from .rules.loader import RulePackError
from .rules.ruleset import RuleSet
from .verdict import Decision
from .runtime import build_runtime

EXIT_CONFIG = 2


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_CONFIG
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.handler(args) or 0)
    except (ConfigError, RulePackError) as e:
        print(f"fixative: cannot start, the configuration has problems:\n{_indent(str(e))}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fixative", description=__doc__)
    parser.add_argument("--version", action="version", version=f"fixative {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help="protect a site: a reverse proxy in front of --upstream")
    run.add_argument("--upstream", help="the site to protect, e.g. http://127.0.0.1:8000")
    _proxy_options(run, default_listen=None)
    run.add_argument("--redis", metavar="URL",
                     help="share state with the gallery's other instances through this Redis or Valkey "
                          "(e.g. redis://127.0.0.1:6379/0); default: none, state stays in this process")
    run.add_argument("--instance", metavar="NAME", help="this instance's name among them (default HOSTNAME:PORT)")
    run.set_defaults(handler=cmd_run)

    demo = sub.add_parser("demo", help="a built-in demo gallery behind the proxy")
    _proxy_options(demo, default_listen="127.0.0.1:8080")
    demo.add_argument("--origin-port", type=int, default=0, help="port of the demo origin (default: any free)")
    demo.set_defaults(handler=cmd_demo)

    explain = sub.add_parser("explain", help="the verdict and reasons for one described request")
    explain.add_argument("--ua", default=None, help="User-Agent (omit for none)")
    explain.add_argument("--ip", default="203.0.113.7", help="client address (default 203.0.113.7)")
    explain.add_argument("--rdns", default=None, metavar="HOSTNAME|none",
                         help="what forward-confirmed reverse DNS gives for the address, e.g. "
                              "crawl-66-249-66-1.googlebot.com, or none (looked up, not verified); "
                              "default: not looked up, as for a request no rDNS rule needs")
    explain.add_argument("--path", default="/", help="request path (default /)")
    explain.add_argument("--method", default="GET")
    explain.add_argument("--header", action="append", default=[], metavar="'K: V'", help="a request header")
    explain.add_argument("--after", action="append", default=[], metavar="'[GET] PATH'",
                         help="a request the same client made before, in order (repeatable), e.g. "
                              "--after 'GET /gallery/1.html'; shows behaviour without a server")
    explain.add_argument("--config", type=Path, help="config file (YAML)")
    explain.add_argument("--site", metavar="NAME",
                         help="with `sites:` in --config: explain with this site's packs, thresholds, policy "
                              "and mode (default: the top-level settings)")
    explain.add_argument("--host", metavar="HOST",
                         help="with `sites:` in --config: the site this Host reaches (as --site)")
    explain.add_argument("--preset", help="rule preset: strict, balanced or permissive")
    explain.add_argument("--state-dir", type=Path,
                         help="the proxy's state dir, for its subscribed packs' last good copies "
                              "(default: the config's, else ./fixative-state)")
    explain.add_argument("--json", action="store_true", help="print JSON")
    explain.set_defaults(handler=cmd_explain)

    from . import asncli, replaycli, rulescli, tracecli, treatcli

    rulescli.register(sub)
    asncli.register(sub)
    treatcli.register(sub)
    tracecli.register(sub)
    replaycli.register(sub)
    return parser


def _proxy_options(p: argparse.ArgumentParser, default_listen: str | None) -> None:
    p.add_argument("--listen", default=default_listen, help="HOST:PORT to listen on (default 127.0.0.1:8080)")
    p.add_argument("--config", type=Path, help="config file (YAML); see README")
    p.add_argument("--mode", choices=["observe", "enforce"], help="observe: log only; enforce (default)")
    p.add_argument("--trusted-proxy", action="append", default=None, metavar="CIDR",
                   help="believe X-Forwarded-For/Forwarded from these addresses (repeatable)")
    p.add_argument("--state-dir", type=Path, help="folder for the event log and secret (default ./fixative-state)")
    p.add_argument("--preset", help="rule preset: strict, balanced (default) or permissive")
    p.add_argument("--admin", default=None, metavar="HOST:PORT|none",
                   help="admin backend and dashboard address (default 127.0.0.1:8081; none to turn off)")
    p.add_argument("--cert", type=Path, metavar="FILE",
                   help="terminate TLS here with this certificate (PEM, with its chain); needs --key")
    p.add_argument("--key", type=Path, metavar="FILE", help="the certificate's private key (PEM, no passphrase)")


def _certificate(args: argparse.Namespace, config: Config) -> Path | None:
    """--cert/--key checked and combined for mitmproxy, or None for plain HTTP."""
    if args.cert is None and args.key is None:
        return None
    from .tlscert import prepare_certificate

    return prepare_certificate(args.cert, args.key, config.state_dir)


def _config_from(args: argparse.Namespace, **extra: object) -> Config:
    return load_config(
        args.config, mode=getattr(args, "mode", None), listen=getattr(args, "listen", None),
        state_dir=getattr(args, "state_dir", None), preset=getattr(args, "preset", None),
        trusted_proxies=tuple(args.trusted_proxy) if getattr(args, "trusted_proxy", None) else None, **extra,
    )


def _with_shared(config: Config, redis: str | None, instance: str | None) -> Config:
    """--redis/--instance over the config's `shared:`; ConfigError on a bad URL."""
    from .sharing.settings import SharedSettings, check_url

    if redis is None and instance is None:
        return config
    if redis is None and config.shared is None:
        raise ConfigError(["--instance: names this instance among several sharing state; "
                           "give --redis URL too (or `shared:` in the config)"])
    try:
        url = check_url(redis) if redis is not None else config.shared.redis  # type: ignore[union-attr]
    except ValueError as e:
        raise ConfigError([f"--redis: {e}"]) from None
    shared = config.shared or SharedSettings(redis=url)
    return replace(config, shared=replace(shared, redis=url, instance=instance or shared.instance))


def cmd_run(args: argparse.Namespace) -> int:
    from .server import serve_proxy
    from .sharing.settings import redact

    config = _with_shared(_config_from(args, upstream=args.upstream), args.redis, args.instance)
    if config.sites and args.upstream:
        raise ConfigError([f"--upstream: {config.source} has `sites:`, each with its own upstream; "
                           "leave out --upstream (or put `upstream:` in the config for sites to share)"])
    if not config.upstream and not config.sites:
        raise ConfigError(["upstream: no site to protect; give --upstream http://HOST:PORT "
                           "(or `upstream:` in the config file, or `sites:` for several)"])
    certificate = _certificate(args, config)
    runtime = build_runtime(config)
    host, port = split_listen(config.listen)
    scheme = "https" if certificate else "http"
    # With `sites:` every request is sent to its site's upstream (addons/route.py): the reverse
    # mode's own target is only a placeholder then.
    upstream = config.upstream or config.sites[0].config.upstream
    assert upstream is not None
    protecting = ", ".join(f"{s.name} ({'|'.join(s.hosts)} -> {s.config.upstream}"
                           f"{', ' + s.config.mode if s.config.mode != config.mode else ''})"
                           for s in config.sites) or config.upstream
    sharing = (f"; sharing state through {redact(config.shared.redis)} as "
               f"{config.shared.instance_name(config.listen)}"
               if config.shared is not None else "")

    def announce(addrs: list[tuple[str, int]]) -> str:
        where = ", ".join(f"{scheme}://{_url_host(h)}:{p}" for h, p in addrs) or f"{host}:{port}"
        return (f"fixative {__version__}: protecting {protecting} at {where} "
                f"({config.mode} mode, {len(runtime.rules.rules)} rules; events in {config.state_dir}{sharing})")

    asyncio.run(serve_proxy(runtime, upstream, host, port, announce, admin=args.admin,
                            certificate=certificate, sources=(args.cert, args.key) if certificate else None))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo.origin import start_origin
    from .demo.site import build_site, list_works
    from .server import serve_proxy

    config = _config_from(args, artist="Mara Ilves")
    if args.state_dir is None and args.config is None:
        config = load_config(None, **{**_overrides(config), "state_dir": Path("fixative-demo-state")})
    certificate = _certificate(args, config)
    runtime = build_runtime(config)
    host, port = split_listen(config.listen)
    scheme = "https" if certificate else "http"

    async def main() -> None:
        root = build_site(config.state_dir / "demo-site", artist=config.artist)
        runner, origin_port = await start_origin(root, "127.0.0.1", args.origin_port)
        upstream = f"http://127.0.0.1:{origin_port}"
        work = list_works()[0]

        def announce(addrs: list[tuple[str, int]]) -> str:
            h, p = addrs[0] if addrs else (host, port)
            return (f"Fixative demo: open {scheme}://{_url_host(h)}:{p}/ — the gallery, protected "
                    f"({config.mode} mode).\n"
                    f"  origin (unprotected): {upstream}/\n"
                    f"  try: curl -s -o scraped.jpg {scheme}://{_url_host(h)}:{p}{work.full_url}\n"
                    f"  why: .venv/bin/fixative explain --ua 'curl/8.7.1' --path {work.full_url}\n"
                    f"  event log: {config.state_dir / 'events.sqlite3'}   (Ctrl-C to stop)")

        try:
            await serve_proxy(runtime, upstream, host, port, announce, admin=args.admin,
                              certificate=certificate)
        finally:
            await runner.cleanup()

    asyncio.run(main())
    return 0


def _overrides(config: Config) -> dict[str, object]:
    return {k: getattr(config, k) for k in ("mode", "listen", "preset", "trusted_proxies", "artist")}


def cmd_explain(args: argparse.Namespace) -> int:
    from .classify import Classifier
    from .runtime import load_asn
    from .subscriptions.cache import startup_rules

    site, config = _site_config(_config_from(args), args.site, args.host)
    rules = startup_rules(config)  # as the proxy starts: preset, packs, subscriptions' last good copies
    headers = []
    for raw in args.header:
        name, sep, value = raw.partition(":")
        if not sep or not name.strip():
            raise ConfigError([f"--header {raw!r}: write it as 'Name: value'"])
        headers.append((name.strip(), value.strip()))
    if args.ua is not None:
        headers.insert(0, ("User-Agent", args.ua))
    facts = Facts(ip=args.ip, user_agent=args.ua, path=args.path, method=args.method.upper(),
                  headers=tuple(headers), time=time.time(), rdns=_stated_rdns(args.rdns))
    if args.after:
        decision = _explain_with_history(rules, facts, args.after)
    else:
        decision = Classifier(rules, load_asn(config)).classify(facts)
    treatment = config.policy.treatment(decision.verdict, facts.kind)
    if args.json:
        print(json.dumps({**decision.as_dict(), "kind": facts.kind, "treatment": treatment,
                          "mode": config.mode, "site": site}, indent=2))
        return 0
    if site is not None:
        print(f"site: {site} ({config.preset} preset)")
    print(f"verdict: {decision.verdict} (score {decision.score}; suspect at {rules.thresholds.suspect}, "
          f"scraper at {rules.thresholds.scraper})")
    if decision.decided_by:
        print(f"decided by: {decision.decided_by.name} ({decision.decided_by.action})")
    print(f"treatment: {treatment} for this {facts.kind} ({config.mode} mode)")
    print("reasons:" if decision.reasons else "reasons: none (no rule matched)")
    for reason in decision.reasons:
        print(f"  {reason}")
    return 0


def _site_config(config: Config, site: str | None, host: str | None) -> tuple[str | None, Config]:
    """--site NAME or --host HOST: that site's name and settings from the config's `sites:` (None and
    the top level's without either); ConfigError for a site or host the config does not have."""
    from .siteconfig import find_site, normal_host

    if site is None and host is None:
        return None, config
    if site is not None and host is not None:
        raise ConfigError(["--site, --host: give one of the two (a site's name, or a Host it answers to)"])
    option = "--site" if site is not None else "--host"
    if not config.sites:
        raise ConfigError([f"{option}: {config.source} has no `sites:`; give --config FILE with `sites:`, "
                           "or leave out the option"])
    names = {s.name: s for s in config.sites}
    if site is not None:
        if site not in names:
            raise ConfigError([f"--site {site!r}: no such site in {config.source}; the sites are "
                               f"{', '.join(names)}"])
        return site, names[site].config
    found = find_site({normal_host(h): s for s in config.sites for h in s.hosts}, host)
    if found is None and config.default_site is not None:
        found = names[config.default_site]
    if found is None:
        hosts = ", ".join(h for s in config.sites for h in s.hosts)
        raise ConfigError([f"--host {host!r}: no site in {config.source} answers to it and there is no "
                           f"default_site; the sites' hosts are {hosts}"])
    return found.name, found.config


def _explain_with_history(rules: RuleSet, facts: Facts, history: list[str]) -> Decision:
    """Replay the earlier requests as one cookie-keeping client, a second apart, then classify."""
    from .rules.simulate import Visitor

    visitor = Visitor(rules, keep_cookies=True)
    start = facts.time - len(history)
    for n, item in enumerate(history):
        method, _, path = item.strip().rpartition(" ")
        if not path.startswith("/"):
            raise ConfigError([f"--after {item!r}: write it as 'GET /path'"])
        earlier = replace(facts, path=path, method=(method or "GET").upper(), time=start + n, kind="")
        visitor.send(replace(earlier, headers=visitor.with_cookie(earlier.headers)))
    return visitor.send(replace(facts, headers=visitor.with_cookie(facts.headers)))


def _stated_rdns(name: str | None) -> ReverseDns | None:
    """--rdns: the forward-confirmed name to pretend a lookup gave, `none` for a failed one."""
    if name is None:
        return None
    if name.strip().lower() in ("", "none"):
        return ReverseDns(None, "not verified (--rdns none)")
    host = name.strip().lower().rstrip(".")
    return ReverseDns(host, f"{host}, forward-confirmed (--rdns)")


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" for line in text.splitlines())


if __name__ == "__main__":
    sys.exit(main())
