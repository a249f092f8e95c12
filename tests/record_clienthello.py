"""Record the TLS ClientHello real clients send, as fixtures for tests/test_ja4.py.

    .venv/bin/python tests/record_clienthello.py     # rewrites tests/fixtures/tls/*.json

A plain TCP listener on loopback reads the first handshake message and hangs up, so no
certificate is needed; the clients fail after sending their hello, which is all we keep.
"""

from __future__ import annotations

import json
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "proxy"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from fixative.ja4 import ja4, ja4_r, parse_client_hello  # noqa: E402

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "tls"
HOST = "art.example"


def read_client_hello(conn: socket.socket) -> bytes:
    """The ClientHello handshake body (without its 4-byte header), reassembled from TLS records."""
    data = b""
    needed: int | None = None
    while needed is None or len(data) < needed + 4:
        header = _exactly(conn, 5)
        if header[0] != 0x16:
            raise ValueError(f"not a TLS handshake record: {header!r}")
        data += _exactly(conn, struct.unpack("!H", header[3:5])[0])
        if needed is None and len(data) >= 4:
            if data[0] != 1:
                raise ValueError("not a ClientHello")
            needed = int.from_bytes(data[1:4], "big")
    return data[4 : 4 + needed]


def _exactly(conn: socket.socket, size: int) -> bytes:
    out = b""
    while len(out) < size:
        chunk = conn.recv(size - len(out))
        if not chunk:
            raise ConnectionError("closed before the ClientHello was complete")
        out += chunk
    return out


def capture(client) -> bytes:
    """Run `client(port)` against a one-shot listener; return the hello it sent."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    got: list[bytes] = []

    def accept() -> None:
        conn, _ = server.accept()
        with conn:
            got.append(read_client_hello(conn))

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        client(port)
    except Exception:  # noqa: BLE001 - the handshake is meant to fail once the hello is read
        pass
    thread.join(20)
    server.close()
    if not got:
        raise RuntimeError("no ClientHello arrived")
    return got[0]


def curl(port: int) -> None:
    subprocess.run(["curl", "-s", "--max-time", "5", "--resolve", f"{HOST}:{port}:127.0.0.1",
                    f"https://{HOST}:{port}/"], check=False)


def python_requests(port: int) -> None:
    import requests
    from urllib3.util import connection

    real = connection.create_connection
    connection.create_connection = lambda addr, *a, **k: real(("127.0.0.1", addr[1]), *a, **k)
    try:
        requests.get(f"https://{HOST}:{port}/", timeout=5)
    finally:
        connection.create_connection = real


def python_urllib(port: int) -> None:
    context = ssl.create_default_context()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        context.wrap_socket(sock, server_hostname=HOST)


def chromium(port: int) -> None:
    from playwright.sync_api import sync_playwright

    from browser import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=[*CHROMIUM_ARGS, f"--host-resolver-rules=MAP {HOST} 127.0.0.1"])
        try:
            browser.new_page().goto(f"https://{HOST}:{port}/", timeout=8000)
        finally:
            browser.close()


def node_fetch(port: int) -> None:
    script = (f"fetch('https://127.0.0.1:{port}/').catch(() => {{}})")
    subprocess.run(["node", "-e", script], timeout=20, check=False,
                   env={"PATH": "/usr/bin:/bin", "NODE_OPTIONS": ""}, input=None)


def wget(port: int) -> None:
    subprocess.run(["wget", "-q", "-O", "/dev/null", "--tries=1", "--timeout=5",
                    f"https://127.0.0.1:{port}/"], check=False)


def client_version(name: str) -> str:
    if name == "curl":
        return subprocess.run(["curl", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    if name == "node-fetch":
        return "Node.js " + subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    if name == "wget":
        return subprocess.run(["wget", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    if name == "chromium":
        return subprocess.run(["chromium", "--version"], capture_output=True, text=True).stdout.strip()
    import requests
    return f"Python {sys.version.split()[0]}, {ssl.OPENSSL_VERSION}, requests {requests.__version__}"


CLIENTS = {"curl": curl, "python-requests": python_requests, "python-ssl": python_urllib, "chromium": chromium,
           "node-fetch": node_fetch, "wget": wget}


def main() -> None:
    FIXTURES.mkdir(parents=True, exist_ok=True)
    for name, client in CLIENTS.items():
        body = capture(client)
        hello = parse_client_hello(body)
        record = {"client": client_version(name), "recorded": time.strftime("%Y-%m-%d"), "sni": HOST,
                  "ja4": ja4(hello), "ja4_r": ja4_r(hello), "client_hello_hex": body.hex()}
        (FIXTURES / f"{name}.json").write_text(json.dumps(record, indent=2) + "\n")
        print(f"{name:16} {record['ja4']}  ({record['client']})")


if __name__ == "__main__":
    main()
