"""The origin gets its own name in Host (what it would get without Fixative), not the client's."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

from harness import start_fixative


class EchoHost(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        body = str(self.headers.get("Host")).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_origin_receives_its_own_host_not_the_clients(tmp_path: Path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), EchoHost)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    origin = f"127.0.0.1:{server.server_address[1]}"
    proxy = start_fixative(f"http://{origin}", tmp_path / "state")
    try:
        seen = requests.get(f"{proxy.url}/notes.txt", headers={"Host": "art.example"}, timeout=20).text
    finally:
        proxy.stop()
        server.shutdown()
    assert seen == origin
