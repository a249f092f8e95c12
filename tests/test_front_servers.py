"""Fixative behind the real nginx and Caddy terminating TLS on loopback, with the configurations of
docs/deploy.md exactly as written there (only ports and certificate paths changed), so the docs cannot drift.

Clients come from distinct loopback addresses (curl --interface 127.0.0.41): the event log must record
that address, taken from X-Forwarded-For of the trusted front server, never one the client wrote, and
X-Forwarded-Proto must make the request a secure one (Sec-Fetch-* expected).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fixative.demo.site import list_works
from harness import CHROME_UA, OriginThread, ProxyProcess, browser_headers, end_process, free_port, start_fixative
from tlshelp import SITE, make_certificate

DEPLOY = Path(__file__).resolve().parents[1] / "docs" / "deploy.md"
EXAMPLE_CERT = f"/etc/letsencrypt/live/{SITE}/fullchain.pem"
EXAMPLE_KEY = f"/etc/letsencrypt/live/{SITE}/privkey.pem"
WORKS = list_works()


def documented(name: str) -> str:
    """The code block marked `<!-- tested: NAME -->` in docs/deploy.md."""
    match = re.search(rf"<!-- tested: {name} -->\n```[a-z]*\n(.*?)```", DEPLOY.read_text(), re.S)
    assert match, f"docs/deploy.md has no tested {name} block"
    return match.group(1)


def localise(text: str, cert: Path, key: Path, fixative_port: int) -> str:
    for old, new in ((EXAMPLE_CERT, str(cert)), (EXAMPLE_KEY, str(key)), ("127.0.0.1:8080", f"127.0.0.1:{fixative_port}")):
        assert old in text, f"docs/deploy.md no longer mentions {old}; update this test with it"
        text = text.replace(old, new)
    return text


def nginx_command(tmp: Path, port: int, cert: Path, key: Path, fixative_port: int) -> list[str]:
    site = localise(documented("nginx"), cert, key, fixative_port)
    assert "listen 443 ssl http2;" in site
    site = site.replace("listen 443 ssl http2;", f"listen 127.0.0.1:{port} ssl http2;")
    user = "user root;\n" if os.geteuid() == 0 else ""
    temps = "".join(f"    {k}_temp_path {tmp}/{k};\n" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (tmp / "nginx.conf").write_text(f"{user}worker_processes 1;\nevents {{ worker_connections 64; }}\nhttp {{\n"
                                    f"    access_log {tmp}/access.log;\n{temps}{site}}}\n")
    return ["nginx", "-p", str(tmp), "-c", str(tmp / "nginx.conf"), "-e", str(tmp / "server.log"),
            "-g", f"daemon off; pid {tmp}/nginx.pid;"]


def caddy_command(tmp: Path, port: int, cert: Path, key: Path, fixative_port: int) -> list[str]:
    site = localise(documented("caddy"), cert, key, fixative_port)
    assert site.startswith(f"{SITE} {{")
    # The test's own global options: no admin port, no HTTP->HTTPS redirect server on :80, loopback only.
    site = site.replace(f"{SITE} {{", f"https://{SITE}:{port} {{\n\tbind 127.0.0.1", 1)
    (tmp / "Caddyfile").write_text("{\n\tadmin off\n\tauto_https disable_redirects\n}\n" + site)
    return ["caddy", "run", "--config", str(tmp / "Caddyfile"), "--adapter", "caddyfile"]


SERVERS = {"nginx": nginx_command, "caddy": caddy_command}


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_certificate(tmp_path_factory.mktemp("front-cert"))


@pytest.fixture(scope="module")
def behind(origin: OriginThread, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    proc = start_fixative(origin.url, tmp_path_factory.mktemp("front-state"), "--trusted-proxy", "127.0.0.1/32")
    yield proc
    proc.stop()


@pytest.fixture(scope="module", params=sorted(SERVERS))
def front(request: pytest.FixtureRequest, behind: ProxyProcess, certificate: tuple[Path, Path],
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """The real server with TLS on loopback in front of Fixative; yields (name, port)."""
    name = request.param
    if shutil.which(name) is None:
        pytest.fail(f"{name} is not installed: run scripts/setup --test")
    tmp = tmp_path_factory.mktemp(name)
    port = free_port()
    command = SERVERS[name](tmp, port, *certificate, behind.port)
    env = {**os.environ, "HOME": str(tmp), "XDG_DATA_HOME": str(tmp), "XDG_CONFIG_HOME": str(tmp)}
    with open(tmp / "stdout.log", "wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=tmp)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    logs = "".join(p.read_text(errors="replace")[-2000:] for p in tmp.glob("*.log"))
                    pytest.fail(f"{name} did not start:\n{logs}")
                time.sleep(0.1)
        yield name, port
    finally:
        end_process(proc)


def curl(port: int, cert: Path, source: str, path: str, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["curl", "-sS", "--max-time", "20", "--interface", source, "--cacert", str(cert),
                           "--resolve", f"{SITE}:{port}:127.0.0.1", *args, f"https://{SITE}:{port}{path}"],
                          capture_output=True, timeout=30)


def event_for(proxy: ProxyProcess, path: str, timeout: float = 15) -> sqlite3.Row:
    db = Path(proxy.proc.args[proxy.proc.args.index("--state-dir") + 1]) / "events.sqlite3"
    deadline = time.monotonic() + timeout
    while True:
        if db.exists():
            with sqlite3.connect(db) as conn:
                conn.row_factory = sqlite3.Row
                row = conn.execute("SELECT * FROM events WHERE path = ? ORDER BY id DESC", (path,)).fetchone()
            if row is not None:
                return row
        if time.monotonic() > deadline:
            pytest.fail(f"no event for {path}")
        time.sleep(0.1)


def test_the_client_address_is_the_forwarded_one_and_forged_ones_are_ignored(
        front: tuple[str, int], behind: ProxyProcess, certificate: tuple[Path, Path]) -> None:
    name, port = front
    work = WORKS[8 if name == "nginx" else 9]
    got = curl(port, certificate[0], "127.0.0.41", work.full_url, "-A", CHROME_UA,
               "-H", "X-Forwarded-For: 198.51.100.9", "-H", "Forwarded: for=198.51.100.10")
    assert got.returncode == 0, got.stderr
    row = event_for(behind, work.full_url)
    assert row["ip"] == "127.0.0.41"  # the connection's address as the front server saw it
    assert row["host"].split(":")[0] == SITE  # nginx gives $host without the port, Caddy with it


def test_https_at_the_front_makes_sec_fetch_expected(front: tuple[str, int], behind: ProxyProcess,
                                                     certificate: tuple[Path, Path], site: Path) -> None:
    name, port = front
    work = WORKS[10 if name == "nginx" else 11]
    # A Chrome User-Agent alone, over HTTPS to a public name: Chrome would have sent Sec-Fetch-*.
    bare = curl(port, certificate[0], "127.0.0.42", work.full_url, "-A", CHROME_UA)
    assert bare.returncode == 0, bare.stderr
    row = event_for(behind, work.full_url)
    assert row["ip"] == "127.0.0.42" and row["verdict"] != "human"
    assert any(r.startswith("header-consistency/sec-fetch-missing") for r in json.loads(row["reasons"]))
    assert bare.stdout != (site / work.full_url.lstrip("/")).read_bytes()
    # The same with what Chromium really sends gets the original, byte for byte.
    headers = [a for k, v in browser_headers("image", referer=f"https://{SITE}/").items() for a in ("-H", f"{k}: {v}")]
    person = curl(port, certificate[0], "127.0.0.43", work.thumb_url, "--compressed", *headers)
    assert person.returncode == 0, person.stderr
    row = event_for(behind, work.thumb_url)
    assert row["ip"] == "127.0.0.43"
    assert not any(r.startswith("header-consistency/sec-fetch") for r in json.loads(row["reasons"]))
