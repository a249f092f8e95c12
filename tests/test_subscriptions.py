"""Subscriptions end to end: a real `fixative run` subscribed to packs on a local HTTP server that
serves good, tampered and broken copies, then goes down; real requests show which rules are in force."""

from __future__ import annotations

import hashlib
import http.server
import json
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from fixative.subscriptions.verify import generate_key, load_private_key, sign
from harness import CHROME_UA, VENV_BIN, ProxyProcess, browser_get, free_port, start_fixative

PACK = """pack: {{name: shared-pack, version: "{version}", description: a subscribed pack, licence: CC0-1.0,
       source: http://127.0.0.1/shared.yaml}}
rules:
  - id: deny-{rule_id}
    description: a client the subscribed pack denies
    action: deny
    match: {{user_agent: [{token}]}}
"""
BROKEN = PACK.replace("match: {{user_agent: [{token}]}}", "match: {{user_agent_typo: [{token}]}}")


class PackServer:
    """An HTTP server on loopback serving `files` (path → bytes, changeable), with ETags, in a thread."""

    def __init__(self, port: int = 0):
        self.files: dict[str, bytes] = {}
        self.hits: list[str] = []
        files, hits = self.files, self.hits

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hits.append(self.path)
                body = files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/yaml")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("ETag", etag)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        if self.thread.is_alive():
            self.server.shutdown()
            self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def packserver() -> Iterator[PackServer]:
    server = PackServer()
    yield server
    server.stop()


@pytest.fixture
def origin() -> Iterator[PackServer]:
    """A tiny origin: one page (the demo site would take longer to build than these tests run)."""
    server = PackServer()
    server.files["/about.html"] = b"<!doctype html><title>About</title><p>About the artist."
    yield server
    server.stop()


def pack(token: str, version: str = "1") -> bytes:
    return PACK.format(token=token, rule_id=token.lower(), version=version).encode()


def ua(token: str) -> str:
    return f"{CHROME_UA} {token}/1.0"


def status_for(proxy: ProxyProcess, token: str) -> int:
    """A page load as Chromium sends it, with `token` added to the User-Agent: 403 once a rule denies it."""
    return browser_get(proxy.url + "/about.html", **{"User-Agent": ua(token)}).status_code


def wait_until(check: Callable[[], bool], what: str, proxy: ProxyProcess, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; proxy output:\n" + "".join(proxy.output))
        time.sleep(0.2)


def logged(proxy: ProxyProcess, text: str, after: int = 0) -> bool:
    return text in "".join(proxy.output[after:])


def write_config(tmp_path: Path, subscriptions: str) -> Path:
    config = tmp_path / "fixative.yaml"
    config.write_text("policy:\n  scraper: {page: block}\nsubscriptions:\n" + subscriptions)
    return config


def start(origin: PackServer, state: Path, config: Path) -> ProxyProcess:
    return start_fixative(origin.url, state, "--config", str(config))


def test_signed_subscription_takes_effect_refuses_bad_copies_and_survives_the_server_going_down(
        origin: PackServer, packserver: PackServer, tmp_path: Path):
    pem, public = generate_key()
    key = load_private_key(pem)
    good = pack("Fixfoo")
    packserver.files["/shared.yaml"], packserver.files["/shared.yaml.sig"] = good, sign(good, key)
    config = write_config(tmp_path, f"  - url: {packserver.url}/shared.yaml\n    ed25519_key: {public}\n"
                                    "    refresh: 1s\n")
    state = tmp_path / "state"
    proxy = start(origin, state, config)
    try:
        wait_until(lambda: status_for(proxy, "Fixfoo") == 403, "the subscribed rule to apply", proxy)
        assert status_for(proxy, "Otherfoo") == 200
        cached = state / "subscriptions" / "shared.yaml"
        assert cached.read_bytes() == good
        meta = json.loads((state / "subscriptions" / "shared.json").read_text())
        assert meta["url"] == f"{packserver.url}/shared.yaml" and meta["pack"] == "shared-pack"
        assert meta["sha256"] == hashlib.sha256(good).hexdigest()

        # Tampered: new content, old signature. Refused with the reason; the old rule keeps working.
        mark = len(proxy.output)
        packserver.files["/shared.yaml"] = pack("Otherfoo", "2")
        wait_until(lambda: logged(proxy, "bad Ed25519 signature", mark), "the tampered copy to be refused", proxy)
        assert logged(proxy, f"{packserver.url}/shared.yaml", mark) and logged(proxy, "still using the copy", mark)
        assert status_for(proxy, "Fixfoo") == 403 and status_for(proxy, "Otherfoo") == 200
        assert cached.read_bytes() == good

        # Broken but properly signed: the loader's file:line message is logged; the old rule stays.
        mark = len(proxy.output)
        broken = BROKEN.format(token="Otherfoo", rule_id="otherfoo", version="3").encode()
        packserver.files["/shared.yaml"], packserver.files["/shared.yaml.sig"] = broken, sign(broken, key)
        wait_until(lambda: logged(proxy, "the new copy does not load", mark), "the broken copy to be refused",
                   proxy)
        assert logged(proxy, "shared.yaml:7:", mark) and logged(proxy, "user_agent_typo", mark)
        assert status_for(proxy, "Fixfoo") == 403 and status_for(proxy, "Otherfoo") == 200
        assert cached.read_bytes() == good

        # A good new version replaces the old one.
        newer = pack("Otherfoo", "2")
        packserver.files["/shared.yaml"], packserver.files["/shared.yaml.sig"] = newer, sign(newer, key)
        wait_until(lambda: status_for(proxy, "Otherfoo") == 403, "the new version to apply", proxy)
        assert status_for(proxy, "Fixfoo") == 200
        assert cached.read_bytes() == newer

        # Unchanged upstream: answered with 304, nothing refetched whole.
        time.sleep(1.5)
        assert packserver.hits[-1] == "/shared.yaml"

        # The server goes down: logged, the copy in force stays.
        mark = len(proxy.output)
        packserver.stop()
        wait_until(lambda: logged(proxy, "could not fetch", mark), "the failed fetch to be logged", proxy)
        assert status_for(proxy, "Otherfoo") == 403
    finally:
        proxy.stop()
    assert not list((state / "subscriptions" / "incoming").glob("*.yaml"))

    # Restart with the server still down: the cached copy is in force from the first request.
    again = start(origin, state, config)
    try:
        assert status_for(again, "Otherfoo") == 403 and status_for(again, "Fixfoo") == 200
    finally:
        again.stop()

    # `fixative explain` with the same config and state dir judges with the subscribed copy too.
    explained = subprocess.run([str(VENV_BIN / "fixative"), "explain", "--config", str(config), "--state-dir",
                                str(state), "--ua", ua("Otherfoo"), "--json"], capture_output=True, text=True,
                               timeout=60, check=False)
    assert explained.returncode == 0, explained.stderr
    assert json.loads(explained.stdout)["decided_by"] == "shared-pack/deny-otherfoo"


def test_pinned_subscription_is_refused_until_the_exact_file_is_served_and_the_status_api_says_so(
        origin: PackServer, packserver: PackServer, tmp_path: Path):
    wanted = pack("Pinfoo")
    packserver.files["/pinned.yaml"] = pack("Pinfoo", "tampered")
    config = write_config(tmp_path, f"  - url: {packserver.url}/pinned.yaml\n"
                                    f"    sha256: {hashlib.sha256(wanted).hexdigest()}\n"
                                    "    refresh: 1s\n    name: pinned\n")
    state = tmp_path / "state"
    admin = f"127.0.0.1:{free_port()}"
    proxy = start_fixative(origin.url, state, "--config", str(config), "--admin", admin)
    auth = {"Authorization": f"Bearer {(state / 'admin-token').read_text().strip()}"}

    def api(path: str) -> dict:
        return requests.get(f"http://{admin}/api/{path}", headers=auth, timeout=10).json()

    try:
        wait_until(lambda: logged(proxy, "sha256 mismatch"), "the wrong file to be refused", proxy)
        assert logged(proxy, "no copy yet, the pack is not in force")
        assert status_for(proxy, "Pinfoo") == 200
        assert not (state / "subscriptions" / "pinned.yaml").exists()
        sub = api("status")["subscriptions"][0]
        assert sub["ok"] is False and "sha256 mismatch" in sub["error"] and sub["sha256"] is None

        packserver.files["/pinned.yaml"] = wanted
        wait_until(lambda: status_for(proxy, "Pinfoo") == 403, "the pinned pack to apply", proxy)
        status = api("status")
        sub = status["subscriptions"][0]
        assert sub["name"] == "pinned" and sub["verify"] == "sha256" and sub["refresh"] == 1
        assert sub["ok"] is True and sub["error"] is None and sub["pack"] == "shared-pack"
        assert sub["sha256"] == hashlib.sha256(wanted).hexdigest()
        assert status["last_reload"]["ok"] is True and status["last_reload"]["trigger"] == "subscription pinned"
        assert "shared-pack" in [p["name"] for p in status["packs"]]
        listed = next(p for p in api("packs")["packs"] if p["name"] == "shared-pack")
        assert listed["origin"] == "subscription" and listed["loaded"] is True
    finally:
        proxy.stop()
