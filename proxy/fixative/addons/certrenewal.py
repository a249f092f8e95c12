"""CertRenewal: with `fixative run --cert/--key`, a renewed certificate (certbot, acme.sh, ...) is taken
up without a restart.

Both files are checked every POLL_SECONDS by size, mtime and inode (renewal tools usually swap a
symlink). A changed pair is checked as at start (a chain, a key that belongs to it, not expired)
once the files stop changing; then mitmproxy is handed the new combined PEM and new connections get
it. A pair that does not check out (a renewal half done, a wrong key) is logged with what is wrong,
and the running certificate stays until a good pair appears.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from mitmproxy import ctx

from ..config import ConfigError
from ..tlscert import not_after, prepare_certificate
from .reload import Snapshot, snapshot

log = logging.getLogger(__name__)
POLL_SECONDS = 5.0
SETTLE_SECONDS = 1.0


class CertRenewal:
    def __init__(self, cert: Path, key: Path, state_dir: Path):
        self.cert, self.key, self.state_dir = cert, key, state_dir
        self.last_renewal: float | None = None
        self._task: asyncio.Task[None] | None = None

    def running(self) -> None:
        # the baseline before the proxy says it is ready: a renewal right after start is then still a change
        self._task = asyncio.create_task(self._watch(snapshot([self.cert, self.key])))

    def done(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _watch(self, seen: Snapshot) -> None:
        files = [self.cert, self.key]
        while True:
            await asyncio.sleep(POLL_SECONDS)
            now = snapshot(files)
            if now == seen:
                continue
            await asyncio.sleep(SETTLE_SECONDS)
            settled = snapshot(files)
            if settled != now:
                continue  # still being written: look again next round
            seen = settled
            await self.renew()

    async def renew(self) -> bool:
        """Check the pair and hand it to mitmproxy; False (logged) if it does not check out."""
        try:
            combined = await asyncio.to_thread(prepare_certificate, self.cert, self.key, self.state_dir)
            expires = await asyncio.to_thread(not_after, self.cert)
        except ConfigError as e:
            log.warning("fixative: the changed certificate was not taken up; the running one stays: %s",
                        "; ".join(e.problems))
            return False
        ctx.options.update(certs=[f"*={combined}"])  # mitmproxy rebuilds its certificate store
        log.warning("fixative: renewed TLS certificate in use (valid until %s)", f"{expires:%Y-%m-%d %H:%M} UTC")
        return True
