"""Admin: the control plane's backend (API, dashboard, /metrics) inside mitmproxy's event loop,
plus the two per-request jobs it owns: honouring a trusted browser and counting metrics (by site).

Runs last in the addon list. Its request hook comes after Classify: a browser with a
valid trust cookie gets its decision replaced by a human one whose reason is the
`local-overrides/trusted-browser` rule (undoing an early block). Its response hook
only bumps counters. The backend failing to start is logged; the proxy goes on.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Sequence

from aiohttp import web
from mitmproxy import ctx, exceptions, http

from ..admin import trust
from ..admin.app import make_app, make_runner
from ..admin.overrides import PACK_NAME
from ..admin.state import AdminState, make_state
from ..admin.tokens import TOKEN_FILE, load_or_create_token
from ..config import split_listen
from ..facts import Facts
from ..policy import BLOCK, DECOY, TARPIT, WATERMARK
from ..runtime import Runtime
from ..verdict import HUMAN, Decision, Reason
from .settings import Settings

log = logging.getLogger(__name__)
DEFAULT_LISTEN = "127.0.0.1:8081"
TRUSTED = Reason(
    PACK_NAME,
    "trusted-browser",
    "a browser you marked as trusted from the dashboard or extension",
    0,
    "allow",
)


def parse_admin_listen(value: str) -> tuple[str, int] | None:
    """'HOST:PORT' → (host, port); 'none' → None; ValueError otherwise."""
    if value.strip().lower() == "none":
        return None
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{value!r}: expected HOST:PORT (e.g. 127.0.0.1:8081) or none")
    return split_listen(value)


def upstream_of(rt: Runtime) -> str | None:
    """The protected site: the config's upstream, else the reverse-proxy mode's target."""
    if rt.config.upstream:
        return rt.config.upstream
    for spec in ctx.options.mode:
        if spec.startswith("reverse:"):
            return spec.removeprefix("reverse:").split("@", 1)[0]
    return None


def listen_urls() -> list[str]:
    """The proxy's own listening addresses, as URLs."""
    proxyserver = ctx.master.addons.get("proxyserver")
    addrs = proxyserver.listen_addrs() if proxyserver else []
    return [f"http://{f'[{a[0]}]' if ':' in a[0] else a[0]}:{a[1]}" for a in addrs]


def trusted_decision(decision: Decision) -> Decision:
    """A human verdict decided by the trust rule; the other reasons stay visible."""
    others = tuple(r for r in decision.reasons if r.name != TRUSTED.name)
    return Decision(HUMAN, decision.score, (TRUSTED, *others), TRUSTED)


class Admin:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.listen: tuple[str, int] | None = split_listen(DEFAULT_LISTEN)
        self.origins: tuple[str, ...] = ()
        self.state: AdminState | None = None
        self.runner: web.AppRunner | None = None
        self.url: str | None = None

    def load(self, loader) -> None:  # type: ignore[no-untyped-def]
        loader.add_option(
            "fixative_admin",
            str,
            DEFAULT_LISTEN,
            "Admin backend and dashboard address, HOST:PORT, or none to turn it off. "
            f"Default: {DEFAULT_LISTEN} (loopback only).",
        )
        loader.add_option(
            "fixative_admin_origins",
            Sequence[str],
            [],
            "Browser-extension origins allowed to call the admin API cross-origin, e.g. "
            "chrome-extension://ID. Default: any extension (the token is still required).",
        )

    def configure(self, updated: set[str]) -> None:
        if "fixative_admin" in updated:
            try:
                self.listen = parse_admin_listen(ctx.options.fixative_admin)
            except ValueError as e:
                raise exceptions.OptionsError(f"fixative_admin: {e}") from e
        if "fixative_admin_origins" in updated:
            bad = [
                o
                for o in ctx.options.fixative_admin_origins
                if not o.startswith(("chrome-extension://", "moz-extension://"))
                or o.count("/") != 2
            ]
            if bad:
                raise exceptions.OptionsError(
                    f"fixative_admin_origins: {bad[0]!r}: expected "
                    "chrome-extension://ID or moz-extension://UUID"
                )
            self.origins = tuple(ctx.options.fixative_admin_origins)
            if self.state is not None:
                self.state.extension_origins = self.origins

    async def running(self) -> None:
        rt = self.settings.runtime
        if self.listen is None or rt is None or self.runner is not None:
            return
        upstream = upstream_of(rt)
        if upstream is None:
            log.warning("fixative admin: no upstream known; the admin backend is off")
            return
        token, created = load_or_create_token(rt.config.state_dir)
        self.state = make_state(self.settings, upstream, token, self.origins, self.settings.rule_control())
        await self._apply_saved_rules(rt)
        host, port = self.listen
        runner = make_runner(make_app(self.state))
        try:
            await runner.setup()
            site = web.TCPSite(runner, host, port)
            await site.start()
        except OSError as e:
            await runner.cleanup()
            print(
                f"fixative admin: could not listen on {host}:{port} ({e.strerror or e}); the proxy runs "
                "without its dashboard. Choose another address with --admin HOST:PORT.",
                file=sys.stderr,
                flush=True,
            )
            return
        self.runner = runner
        self.state.site_urls = listen_urls()
        bound = runner.addresses[0] if runner.addresses else (host, port)
        shown = f"[{bound[0]}]" if ":" in str(bound[0]) else bound[0]
        self.url = f"http://{shown}:{bound[1]}/"
        token_file = rt.config.state_dir / TOKEN_FILE
        print(
            f"fixative admin: dashboard and API at {self.url} (token in {token_file})", flush=True
        )
        if created:  # shown once, on the terminal only; never logged
            print(
                f"fixative admin: your new admin token (shown only this once): {token}", flush=True
            )

    async def _apply_saved_rules(self, rt: Runtime) -> None:
        """Put the saved overrides and pack choices in force; a broken file is reported, not fatal."""
        assert self.state is not None
        try:
            await self.state.rules.rebuild(rt, why="start")
        except Exception as e:  # noqa: BLE001 - the shipped rules stay in force
            log.error("fixative admin: saved overrides or pack choices not applied: %s", e)

    async def done(self) -> None:
        if self.runner is not None:
            runner, self.runner = self.runner, None
            await runner.cleanup()

    def request(self, flow: http.HTTPFlow) -> None:
        decision: Decision | None = flow.metadata.get("fixative.decision")
        rt = self.settings.runtime
        if decision is None or rt is None or flow.error or not flow.live:
            return
        facts: Facts | None = flow.metadata.get("fixative.facts")  # the request's headers, already read
        cookie = facts.header("cookie") if facts is not None else flow.request.headers.get("cookie")
        value = trust.cookie_value(cookie)
        if value is None:
            return
        strip_trust_cookie(flow.request)  # the origin has no use for it
        if (
            not trust.is_trusted(rt.secret, value, time.time())
            or flow.metadata.get("fixative.treatment") == "trap"
        ):
            return
        flow.metadata["fixative.decision"] = trusted_decision(decision)
        if flow.metadata.get("fixative.treatment") in (BLOCK, TARPIT):
            flow.response = None  # Classify answered early; a trusted browser goes to the origin
            flow.metadata.pop("fixative.treatment", None)
            flow.metadata.pop("fixative.applied", None)

    def response(self, flow: http.HTTPFlow) -> None:
        decision: Decision | None = flow.metadata.get("fixative.decision")
        if decision is None or self.state is None:
            return
        treatment = flow.metadata.get("fixative.treatment", "original")
        applied = bool(flow.metadata.get("fixative.applied"))
        seconds = None
        if (
            applied
            and treatment in (DECOY, WATERMARK)
            and flow.response
            and flow.response.timestamp_end
        ):
            seconds = max(0.0, time.time() - flow.response.timestamp_end)
        site = metrics_site(self.settings.runtime_for(flow))
        self.state.metrics.observe(decision, treatment, applied, seconds, site)


def metrics_site(rt: Runtime | None) -> str:
    """The `site` label, as the event log's site column (addons/record.py): the site's name, "-" for a
    Host no site has; "" with one site, where the log has null."""
    if rt is None:
        return ""
    if rt.site is not None:
        return rt.site
    return "-" if rt.sites else ""


def strip_trust_cookie(request: http.Request) -> None:
    kept = [
        c
        for c in request.headers.get("cookie", "").split(";")
        if c.strip() and c.strip().partition("=")[0] != trust.COOKIE
    ]
    if kept:
        request.headers["cookie"] = ";".join(kept).strip()
    else:
        request.headers.pop("cookie", None)
