"""Runs mitmproxy in reverse mode in front of the origin, with the Fixative addons."""

from __future__ import annotations

import gc
import logging
import sys
from collections.abc import Callable
from pathlib import Path

from mitmproxy import ctx
from mitmproxy.log import MitmLogHandler
from mitmproxy.options import Options
from mitmproxy.tools.dump import DumpMaster

from .addons import make_addons
from .addons.certrenewal import CertRenewal
from .addons.settings import Settings
from .hooktable import HookTable
from .runtime import Runtime

log = logging.getLogger(__name__)


class Announce:
    """Prints one line once the listening socket is up, so people and tests know where to go."""

    def __init__(self, message: Callable[[list[tuple[str, int]]], str]):
        self.message = message

    def running(self) -> None:
        # Everything loaded at start (rule packs, the ASN table, mitmproxy's own modules) lives as long as
        # the process: frozen, the garbage collector stops walking it again on every full collection.
        gc.collect()
        gc.freeze()
        proxyserver = ctx.master.addons.get("proxyserver")
        addrs = [(a[0], a[1]) for a in proxyserver.listen_addrs()] if proxyserver else []
        print(self.message(addrs), flush=True)


async def serve_proxy(runtime: Runtime, upstream: str, host: str, port: int,
                      announce: Callable[[list[tuple[str, int]]], str], admin: str | None = None,
                      certificate: Path | None = None, sources: tuple[Path, Path] | None = None) -> None:
    """Run until interrupted. Large non-image bodies stream; mitmproxy's own flow dump is off.

    With `certificate` (key and chain in one PEM), clients that open with a TLS ClientHello get TLS with
    it (mitmproxy's reverse mode detects the hello); plain HTTP on the same port still works. With
    `sources` (the --cert and --key files), a renewed pair is taken up while running.
    """
    master = make_master(runtime, upstream, host, port, announce, admin, certificate, sources)
    # mitmproxy's terminal log shows our warnings while it runs: the CLI's own handler would print each twice.
    root = logging.getLogger()
    own = [h for h in root.handlers if not isinstance(h, MitmLogHandler)]
    for handler in own:
        root.removeHandler(handler)
    try:
        await master.run()
    finally:
        runtime.close()
        for handler in own:
            root.addHandler(handler)
    if master.should_exit.is_set() and not proxyserver_listening(master):
        print("fixative: the proxy could not start (see the error above); "
              "is another program using that port? Choose another with --listen.", file=sys.stderr)


def make_master(runtime: Runtime, upstream: str, host: str, port: int,
                announce: Callable[[list[tuple[str, int]]], str], admin: str | None = None,
                certificate: Path | None = None, sources: tuple[Path, Path] | None = None) -> DumpMaster:
    """mitmproxy's master with Fixative's addons and options, not yet running (in a running event loop)."""
    opts = Options(
        mode=[f"reverse:{upstream}"],
        listen_host=host,
        listen_port=port,
        # mitmproxy keeps its own CA (for upstream TLS and its fallback certificates) in confdir:
        # under the state dir, so a service with no home folder (systemd DynamicUser) can run.
        confdir=str(runtime.config.state_dir / "mitmproxy"),
    )
    master = DumpMaster(opts, with_termlog=True, with_dumper=False)
    HookTable.install(master.addons)  # each event's handlers found once, not on every event (hooktable.py)
    # keep_host_header: so Fixative sees the client's Host; Classify gives the origin its own name.
    # Bodies Fixative must read (images to alter, pages) are buffered up to images.max_bytes; anything
    # larger streams. People's originals stream too, except images up to 2 MiB (Treat sets flow.response.stream).
    master.options.update(stream_large_bodies=str(max(runtime.config.max_image_bytes, 2 << 20)),
                          connection_strategy="lazy", termlog_verbosity="warn", keep_host_header=True)
    renewal = [CertRenewal(*sources, runtime.config.state_dir)] if certificate and sources else []
    master.addons.add(*make_addons(Settings(runtime), extra=[*renewal, Announce(announce)]))
    if certificate is not None:  # "*": every name and address the clients ask for gets the artist's cert
        master.options.update(certs=[f"*={certificate}"])
    if admin is not None and "fixative_admin" in master.options:
        master.options.update(fixative_admin=admin)
    return master


def proxyserver_listening(master: DumpMaster) -> bool:
    ps = master.addons.get("proxyserver")
    return bool(ps and ps.listen_addrs())
