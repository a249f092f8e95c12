"""The admin addon inside a real `fixative run`: token handling, trusted browsers, metrics, failure isolation."""

from __future__ import annotations

import os
import socket
import stat
import time
from pathlib import Path

import requests
from fixative.demo.site import list_works
from harness import CHROME_UA, OriginThread, ProxyProcess, free_port, start_fixative

WORK = list_works()[0]
GPTBOT = "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; GPTBot/1.2; +https://openai.com/gptbot"


def wait_for_line(proc: ProxyProcess, text: str, timeout: float = 15) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in proc.output:
            if text in line:
                return line
        time.sleep(0.05)
    raise AssertionError(f"no line with {text!r}:\n{''.join(proc.output)}")


def start_with_admin(origin: OriginThread, state: Path, *extra: str) -> tuple[ProxyProcess, str]:
    port = free_port()
    proc = start_fixative(origin.url, state, "--admin", f"127.0.0.1:{port}", *extra)
    wait_for_line(proc, "fixative admin: dashboard")
    return proc, f"http://127.0.0.1:{port}"


def test_token_is_made_once_owner_only_and_printed_only_the_first_time(
    origin: OriginThread, tmp_path: Path
):
    proc, admin = start_with_admin(origin, tmp_path)
    try:
        token = (tmp_path / "admin-token").read_text().strip()
        assert stat.S_IMODE(os.stat(tmp_path / "admin-token").st_mode) == 0o600
        assert token in wait_for_line(proc, "shown only this once")
        assert admin in wait_for_line(proc, "fixative admin: dashboard")
        assert requests.get(admin + "/api/status").status_code == 401
        r = requests.get(admin + "/api/status", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200 and r.json()["upstream"]["ok"] is True
    finally:
        proc.stop()
    again, _ = start_with_admin(origin, tmp_path)
    again.stop()
    assert token == (tmp_path / "admin-token").read_text().strip()
    assert token not in "".join(again.output)


def test_trusted_browser_gets_originals_and_metrics_count_it(
    origin: OriginThread, site: Path, tmp_path: Path
):
    proc, admin = start_with_admin(origin, tmp_path)
    auth = {"Authorization": f"Bearer {(tmp_path / 'admin-token').read_text().strip()}"}
    original = (site / WORK.full_url.lstrip("/")).read_bytes()
    try:
        url = proc.url + WORK.full_url
        assert requests.get(url, headers={"User-Agent": GPTBOT}).content != original
        cookie = requests.post(admin + "/api/trust-browser", headers=auth).json()
        trusted = requests.get(
            url, headers={"User-Agent": GPTBOT}, cookies={cookie["name"]: cookie["value"]}
        )
        assert trusted.content == original
        forged = requests.get(url, headers={"User-Agent": GPTBOT}, cookies={"fx_trusted": "a.1.b"})
        assert forged.content != original
        events = []
        for _ in range(50):
            events = requests.get(admin + "/api/events?limit=3", headers=auth).json()["events"]
            if len(events) == 3:
                break
            time.sleep(0.1)
        assert events[1]["verdict"] == "human"
        assert events[1]["reasons"][0].startswith("local-overrides/trusted-browser")
        metrics = requests.get(admin + "/metrics", headers=auth).text
        assert (
            'fixative_requests_total{applied="true",site="",treatment="decoy",verdict="scraper"} 2.0'
            in metrics
        )
        assert (
            'fixative_requests_total{applied="false",site="",treatment="original",verdict="human"} 1.0'
            in metrics
        )
        assert 'fixative_rule_hits_total{rule="local-overrides/trusted-browser",site=""} 1.0' in metrics
        assert (
            "fixative_render_cache_hits_total 1.0" in metrics
        )  # the second decoy came from the cache
        assert "fixative_clients_tracked" in metrics
    finally:
        proc.stop()


def test_mode_switch_and_overrides_act_on_live_traffic(
    origin: OriginThread, site: Path, tmp_path: Path
):
    proc, admin = start_with_admin(origin, tmp_path)
    auth = {"Authorization": f"Bearer {(tmp_path / 'admin-token').read_text().strip()}"}
    original = (site / WORK.full_url.lstrip("/")).read_bytes()
    url = proc.url + WORK.full_url
    try:
        requests.post(admin + "/api/mode", headers=auth, json={"mode": "observe"})
        assert requests.get(url, headers={"User-Agent": "curl/8.7.1"}).content == original
        requests.post(admin + "/api/mode", headers=auth, json={"mode": "enforce"})
        assert requests.get(url, headers={"User-Agent": "curl/8.7.1"}).content != original
        requests.post(
            admin + "/api/overrides",
            headers=auth,
            json={"kind": "user_agent", "value": "curl/", "action": "allow"},
        )
        assert requests.get(url, headers={"User-Agent": "curl/8.7.1"}).content == original
        requests.post(
            admin + "/api/overrides",
            headers=auth,
            json={"kind": "ip", "value": "127.0.0.1", "action": "deny"},
        )
        person = requests.get(
            url,
            headers={
                "User-Agent": CHROME_UA,
                "Accept": "image/*",
                "Sec-Fetch-Dest": "image",
                "Accept-Language": "en",
            },
        )
        assert person.content != original
    finally:
        proc.stop()
    # after a restart the saved overrides are in force again
    proc, _ = start_with_admin(origin, tmp_path)
    try:
        again = requests.get(proc.url + WORK.full_url, headers={"User-Agent": "curl/8.7.1"})
        assert again.content == original
    finally:
        proc.stop()


def test_a_busy_admin_port_does_not_stop_the_proxy(origin: OriginThread, tmp_path: Path):
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        proc = start_fixative(origin.url, tmp_path, "--admin", f"127.0.0.1:{port}")
        try:
            wait_for_line(proc, "could not listen")
            assert (
                requests.get(proc.url + "/", headers={"User-Agent": CHROME_UA}).status_code == 200
            )
            assert proc.proc.poll() is None
        finally:
            proc.stop()


def test_admin_none_turns_the_backend_off(origin: OriginThread, tmp_path: Path):
    proc = start_fixative(origin.url, tmp_path, "--admin", "none")
    try:
        assert requests.get(proc.url + "/", headers={"User-Agent": CHROME_UA}).status_code == 200
        time.sleep(0.3)
        assert "fixative admin" not in "".join(proc.output)
        assert not (tmp_path / "admin-token").exists()
    finally:
        proc.stop()
