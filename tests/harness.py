"""Real servers for end-to-end tests: the demo origin in a thread, Fixative as a subprocess."""

from __future__ import annotations

import asyncio
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

from fixative.demo.origin import start_origin

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
CHROME_UA = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
             "Chrome/131.0.0.0 Safari/537.36")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class OriginThread:
    """The demo origin (aiohttp) serving `root`, on its own loop in a daemon thread."""

    def __init__(self, root: Path, port: int = 0):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.runner, self.port = asyncio.run_coroutine_threadsafe(start_origin(root, "127.0.0.1", port),
                                                                  self.loop).result(15)
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(15)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def end_process(proc: subprocess.Popen, grace: float = 10) -> None:
    """SIGTERM, then SIGKILL if it has not exited within `grace` seconds: servers the tests started."""
    proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class ProxyProcess:
    """`fixative run` (or any command that prints a ready line) as a real process on loopback."""

    def __init__(self, args: list[str], ready: str, port: int, timeout: float = 30, env: dict | None = None):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.output: list[str] = []
        self.proc = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        )
        lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, args=(lines,), daemon=True).start()
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                line = ""
            if line is None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("proxy did not start:\n" + "".join(self.output))
            if ready in (line or ""):
                break
        self._wait_port()

    def _pump(self, lines: queue.Queue[str | None]) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line)
            lines.put(line)
        lines.put(None)

    def _wait_port(self) -> None:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("proxy port never opened:\n" + "".join(self.output))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def start_fixative(upstream: str, state_dir: Path, *extra: str) -> ProxyProcess:
    port = free_port()
    if "--admin" not in extra:
        extra = (*extra, "--admin", "none")  # many proxies per session: none of them needs port 8081
    args = [str(VENV_BIN / "fixative"), "run", "--upstream", upstream, "--listen", f"127.0.0.1:{port}",
            "--state-dir", str(state_dir), *extra]
    return ProxyProcess(args, "protecting", port)


# What Debian's Chromium sends over HTTP/1.1 to 127.0.0.1 (a secure context), in its order, claiming
# CHROME_UA (recorded: fixtures/headers/chromium-desktop-page.json and -image.json). requests with only
# a browser User-Agent is no longer a person (rules/header-consistency.yaml, client-fingerprints.yaml).
_CHROMIUM_HINTS = [("sec-ch-ua", '"Not:A-Brand";v="8", "Chromium";v="131"'), ("sec-ch-ua-mobile", "?0"),
                   ("sec-ch-ua-platform", '"Linux"')]
_CHROMIUM = {
    "page": [("Connection", "keep-alive"), *_CHROMIUM_HINTS, ("Upgrade-Insecure-Requests", "1"),
             ("User-Agent", CHROME_UA),
             ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
                        "image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"),
             ("Sec-Fetch-Site", "none"), ("Sec-Fetch-Mode", "navigate"), ("Sec-Fetch-User", "?1"),
             ("Sec-Fetch-Dest", "document")],
    "image": [("Connection", "keep-alive"), *_CHROMIUM_HINTS, ("User-Agent", CHROME_UA),
              ("Accept", "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"),
              ("Sec-Fetch-Site", "same-origin"), ("Sec-Fetch-Mode", "no-cors"), ("Sec-Fetch-Dest", "image")],
}


def browser_headers(kind: str = "page", referer: str | None = None, **extra: str) -> dict[str, str]:
    """Chromium's headers for a page navigation or an <img> load, in Chromium's order; extra ones last."""
    headers = dict(_CHROMIUM[kind])
    if referer:
        headers["Referer"] = referer
    headers.update({"Accept-Encoding": "gzip, deflate, br", "Accept-Language": "en-GB,en;q=0.9"})
    headers.update(extra)
    return headers


def browser_session() -> requests.Session:
    """A requests.Session with no default headers of its own: http.client writes Host, then yours in order."""
    session = requests.Session()
    session.headers.clear()
    return session


def browser_get(url: str, kind: str = "page", referer: str | None = None, **extra: str) -> requests.Response:
    return browser_session().get(url, headers=browser_headers(kind, referer, **extra), timeout=30)
