"""The pieces bench/flood.py and bench/soak.py share: the demo origin and `fixative run` as processes,
the proxy's resident memory and metrics, and one raw HTTP/1.1 exchange from a chosen source address.

Requests, response parsing and process handling come from proxy_throughput.py.
"""

from __future__ import annotations

import asyncio
import re
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from proxy_throughput import HOST, VENV_BIN, Proc, free_port, raw_request, rss_mb, start, stop, wait_for


def client_address(i: int) -> str:
    """Source address of client i: 127.1.0.1, 127.1.0.2, ... (254 per /24; Linux routes 127/8 to lo)."""
    return f"127.{1 + i // (256 * 254)}.{(i // 254) % 256}.{i % 254 + 1}"


@dataclass
class Stack:
    """The demo origin and Fixative (with its admin backend), each its own process."""

    workdir: Path
    origin: Proc
    proxy: Proc
    port: int
    admin_port: int
    site: Path
    procs: list[Proc] = field(default_factory=list)

    @property
    def state_dir(self) -> Path:
        return self.workdir / "state"

    def rss_mb(self) -> float:
        return rss_mb(self.proxy.popen.pid)

    def metrics(self) -> dict[str, float]:
        return metrics(self.state_dir, self.admin_port)

    def stop(self) -> None:
        for proc in reversed(self.procs):
            stop(proc)


def metrics(state_dir: Path, admin_port: int) -> dict[str, float]:
    """The admin backend's Prometheus samples without labels (counters end in _total)."""
    token = (state_dir / "admin-token").read_text().strip()
    req = urllib.request.Request(f"http://{HOST}:{admin_port}/metrics",
                                 headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=30) as r:
        text = r.read().decode()
    return {m.group(1): float(m.group(2)) for m in re.finditer(r"^(fixative_\w+) ([0-9.e+-]+)$", text, re.M)}


def start_stack(config_yaml: str = "", workdir: Path | None = None) -> Stack:
    from fixative.demo.site import build_site

    workdir = workdir or Path(tempfile.mkdtemp(prefix="fixative-bench-"))
    site = build_site(workdir / "site")
    procs: list[Proc] = []
    try:
        origin = start("origin", [sys.executable, "-m", "fixative.demo.origin", "--root", str(site),
                                  "--host", HOST, "--port", "0"], workdir)
        procs.append(origin)
        m = wait_for(origin, r"origin listening on http://[^:]+:(\d+)", None)
        assert m is not None
        upstream = f"http://{HOST}:{m.group(1)}"
        wait_for(origin, None, int(m.group(1)))
        config = workdir / "fixative.yaml"
        config.write_text(config_yaml or "{}\n")
        port, admin_port = free_port(), free_port()
        proxy = start("fixative", [str(VENV_BIN / "fixative"), "run", "--upstream", upstream,
                                   "--listen", f"{HOST}:{port}", "--state-dir", str(workdir / "state"),
                                   "--config", str(config), "--admin", f"{HOST}:{admin_port}"], workdir)
        procs.append(proxy)
        wait_for(proxy, "protecting", port)
    except BaseException:
        for proc in reversed(procs):
            stop(proc)
        raise
    return Stack(workdir, origin, proxy, port, admin_port, site, procs)


async def read_answer(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], int]:
    """One response: (status, headers with lower-case names, body bytes read and discarded)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    size = 0
    if "chunked" in headers.get("transfer-encoding", "").lower():
        while chunk := int((await reader.readline()).split(b";")[0], 16):
            size += len(await reader.readexactly(chunk + 2)) - 2
        while await reader.readline() not in (b"\r\n", b""):
            pass
    elif "content-length" in headers:
        remaining = int(headers["content-length"])
        while remaining:
            data = await reader.read(min(remaining, 1 << 20))
            if not data:
                raise asyncio.IncompleteReadError(b"", remaining)
            remaining -= len(data)
            size += len(data)
    else:
        while data := await reader.read(1 << 20):
            size += len(data)
    return status, headers, size


async def exchange(port: int, request: bytes, source: str,
                   timeout: float = 30) -> tuple[int, dict[str, str], int, float]:
    """One request on a new connection from `source`: (status, headers, body bytes, seconds)."""
    started = time.monotonic()

    async def go() -> tuple[int, dict[str, str], int]:
        reader, writer = await asyncio.open_connection(HOST, port, local_addr=(source, 0), limit=1 << 20)
        try:
            writer.write(request)
            return await read_answer(reader)
        finally:
            writer.close()

    status, headers, size = await asyncio.wait_for(go(), timeout)
    return status, headers, size, time.monotonic() - started


__all__ = ["HOST", "Stack", "client_address", "exchange", "raw_request", "start_stack"]
