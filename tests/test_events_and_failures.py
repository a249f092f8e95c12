"""The event log, restarts, a missing origin, hostile requests, bad configs, and loading as a mitmproxy script."""

from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
import time
from pathlib import Path

import requests

from harness import CHROME_UA, VENV_BIN, browser_get, browser_headers, browser_session, OriginThread, ProxyProcess, free_port, start_fixative


def wait_for_rows(db: Path, minimum: int, timeout: float = 10) -> list[sqlite3.Row]:
    deadline = time.monotonic() + timeout
    while True:
        with sqlite3.connect(db) as conn:
            conn.row_factory = sqlite3.Row
            rows = conn.execute("SELECT * FROM events ORDER BY id").fetchall()
        if len(rows) >= minimum or time.monotonic() > deadline:
            return rows
        time.sleep(0.1)


def test_decisions_are_recorded_with_reasons_and_survive_a_restart(origin: OriginThread, tmp_path: Path):
    proxy = start_fixative(origin.url, tmp_path)
    try:
        requests.get(proxy.url + "/images/full/evening-over-the-downs.jpg", headers={"User-Agent": "curl/8.7.1"})
        browser_get(proxy.url + "/")
        rows = wait_for_rows(tmp_path / "events.sqlite3", 2)
    finally:
        proxy.stop()
    scraper = next(r for r in rows if r["user_agent"] == "curl/8.7.1")
    assert scraper["verdict"] == "scraper" and scraper["treatment"] == "decoy" and scraper["applied"] == 1
    assert any(reason.startswith("http-libraries/curl-wget:") for reason in json.loads(scraper["reasons"]))
    assert scraper["ip"] == "127.0.0.1" and scraper["status"] == 200
    person = next(r for r in rows if r["user_agent"] == CHROME_UA)
    assert person["verdict"] == "human" and person["treatment"] == "original"

    again = start_fixative(origin.url, tmp_path)
    try:
        browser_get(again.url + "/about.html")
        rows_after = wait_for_rows(tmp_path / "events.sqlite3", len(rows) + 1)
    finally:
        again.stop()
    assert [r["id"] for r in rows_after[: len(rows)]] == [r["id"] for r in rows]


def test_origin_down_gives_a_502_page(tmp_path: Path):
    proxy = start_fixative(f"http://127.0.0.1:{free_port()}", tmp_path)
    try:
        r = requests.get(proxy.url + "/", headers={"User-Agent": CHROME_UA})
        assert r.status_code == 502
        assert "The site is unreachable right now" in r.text and "--upstream" in r.text
        assert "Traceback" not in r.text
        assert proxy.proc.poll() is None
    finally:
        proxy.stop()


def raw_exchange(port: int, payload: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(payload)
        chunks = []
        try:
            while chunk := s.recv(65536):
                chunks.append(chunk)
        except (TimeoutError, ConnectionResetError):
            pass
    return b"".join(chunks)


def test_absurd_requests_are_answered_and_the_proxy_lives_on(proxy):
    hostile = [
        b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200_000 + b"\r\nConnection: close\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nUser-Agent: \xff\xfe\x00\x01bin\r\nConnection: close\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nUser-Agent: a\r\nUser-Agent: b\r\nCookie: fx_session=a.b.c.d\r\n"
        b"X-Forwarded-For: 1.2.3.4, junk\r\nConnection: close\r\n\r\n",
        b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n",          # no Host
        b"GET /images/full/a.jpg HTTP/1.0\r\n\r\n",             # HTTP/1.0, no Host, no UA
        b"NONSENSE\r\n\r\n",
        b"GET /" + b"%00" * 3000 + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    ]
    for payload in hostile:
        answer = raw_exchange(proxy.port, payload)
        assert answer.startswith(b"HTTP/1."), payload[:60]
    assert requests.get(proxy.url + "/", headers={"User-Agent": CHROME_UA}).status_code == 200
    assert proxy.proc.poll() is None


def test_forwarded_for_believed_only_from_trusted_proxies(origin: OriginThread, tmp_path: Path):
    gptbot_ip = "132.196.86.5"  # in OpenAI's published GPTBot range
    untrusted = start_fixative(origin.url, tmp_path / "a")
    trusting = start_fixative(origin.url, tmp_path / "b", "--trusted-proxy", "127.0.0.0/8")
    try:
        headers = browser_headers("image", referer="http://x/", **{"X-Forwarded-For": gptbot_ip})
        url = "/images/thumbs/evening-over-the-downs.jpg"
        assert browser_session().get(untrusted.url + url, headers=headers).headers.get("Cache-Control") is None
        assert browser_session().get(trusting.url + url, headers=headers).headers["Cache-Control"] == "private, no-store"
        rows = wait_for_rows(tmp_path / "b" / "events.sqlite3", 1)
        assert rows[-1]["ip"] == gptbot_ip and "ai-crawler-networks/gptbot-network" in rows[-1]["reasons"]
    finally:
        untrusted.stop()
        trusting.stop()


def test_bad_config_exits_with_file_line_and_advice(tmp_path: Path):
    config = tmp_path / "fixative.yaml"
    config.write_text("mode: enforce\nmoed: observe\npolicy:\n  human: decoy\ntrusted_proxies: [10.0.0.0/33]\n")
    result = subprocess.run([str(VENV_BIN / "fixative"), "run", "--upstream", "http://127.0.0.1:1",
                             "--config", str(config)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert f"{config}:2: moed: unknown setting" in result.stderr
    assert f"{config}:3: policy: human: people always get the original" in result.stderr
    assert f"{config}:5: trusted_proxies:" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_rule_pack_exits_with_file_line(tmp_path: Path):
    pack = tmp_path / "mine.yaml"
    pack.write_text("pack: {name: mine, version: '1', description: d, licence: l, source: s}\n"
                    "rules:\n  - id: x\n    description: d\n    weight: 10\n    match: {ip: [300.1.1.1]}\n")
    config = tmp_path / "fixative.yaml"
    config.write_text(f"packs: [{pack}]\n")
    result = subprocess.run([str(VENV_BIN / "fixative"), "run", "--upstream", "http://127.0.0.1:1",
                             "--config", str(config)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert f'{pack}:3: rule "x": match.ip:' in result.stderr or f'{pack}:6: rule "x": match.ip:' in result.stderr


def test_loads_as_a_mitmdump_script(origin: OriginThread, site: Path, tmp_path: Path):
    config = tmp_path / "fixative.yaml"
    config.write_text(f"state_dir: {tmp_path / 'state'}\nmode: enforce\n")
    port = free_port()
    proc = ProxyProcess([str(VENV_BIN / "mitmdump"), "-s", "proxy/fixative/mitm_addon.py",
                         "--mode", f"reverse:{origin.url}", "--listen-host", "127.0.0.1", "--listen-port", str(port),
                         "--set", f"fixative_config={config}"], "listening at", port)
    try:
        url = "/images/full/evening-over-the-downs.jpg"
        scraped = requests.get(proc.url + url, headers={"User-Agent": "python-requests/2.32"})
        assert scraped.status_code == 200 and scraped.content != (site / url.lstrip("/")).read_bytes()
        assert scraped.headers["X-Robots-Tag"] == "noai, noimageai"
        assert (tmp_path / "state" / "events.sqlite3").exists()
    finally:
        proc.stop()
