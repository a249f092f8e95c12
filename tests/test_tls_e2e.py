"""`fixative run --cert --key` on loopback: real TLS from curl, requests and Chromium, and what each gets.

A person's Chromium gets the origin's bytes; curl and requests sending Chromium's whole header set get
decoys from their first request, because their TLS handshake is a library's (rules/tls-fingerprints.yaml).
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from playwright.sync_api import sync_playwright

from browser import CHROMIUM, CHROMIUM_ARGS, desktop_user_agent
from fixative.demo.site import list_works
from harness import (CHROME_UA, VENV_BIN, OriginThread, ProxyProcess, browser_headers, browser_session, free_port,
                     start_fixative)
from tlshelp import SITE, make_certificate

WORKS = list_works()
RECORDED = {p.stem: json.loads(p.read_text()) for p in (Path(__file__).parent / "fixtures" / "tls").glob("*.json")}


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_certificate(tmp_path_factory.mktemp("cert"))


@pytest.fixture(scope="module")
def tls_proxy(origin: OriginThread, certificate: tuple[Path, Path],
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    cert, key = certificate
    proc = start_fixative(origin.url, tmp_path_factory.mktemp("tls-state"), "--cert", str(cert), "--key", str(key))
    yield proc
    proc.stop()


def events(proxy: ProxyProcess, path: str, minimum: int = 1, timeout: float = 15) -> list[sqlite3.Row]:
    """The proxy's event rows for this path, once at least `minimum` are written."""
    db = Path(proxy.proc.args[proxy.proc.args.index("--state-dir") + 1]) / "events.sqlite3"
    deadline = time.monotonic() + timeout
    while True:
        rows: list[sqlite3.Row] = []
        if db.exists():
            with sqlite3.connect(db) as conn:
                conn.row_factory = sqlite3.Row
                rows = conn.execute("SELECT * FROM events WHERE path = ? ORDER BY id", (path,)).fetchall()
        if len(rows) >= minimum or time.monotonic() > deadline:
            return rows
        time.sleep(0.1)


def tls_reasons(row: sqlite3.Row) -> list[str]:
    return [r for r in json.loads(row["reasons"]) if r.startswith("tls-fingerprints/")]


def curl(proxy: ProxyProcess, cert: Path, path: str, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["curl", "-sS", "--max-time", "20", "--cacert", str(cert),
                           "--resolve", f"{SITE}:{proxy.port}:127.0.0.1", *args,
                           f"https://{SITE}:{proxy.port}{path}"], capture_output=True, timeout=30)


def test_the_announcement_says_https(tls_proxy: ProxyProcess) -> None:
    assert f"at https://127.0.0.1:{tls_proxy.port}" in "".join(tls_proxy.output)


def test_curl_forging_chromes_headers_gets_a_decoy_and_the_tls_rule_says_why(
        tls_proxy: ProxyProcess, certificate: tuple[Path, Path], site: Path) -> None:
    work = WORKS[2]
    forged = [arg for name, value in browser_headers("image", referer=f"https://{SITE}/").items()
              for arg in ("-H", f"{name}: {value}")]
    got = curl(tls_proxy, certificate[0], work.full_url, "--compressed", *forged)
    assert got.returncode == 0, got.stderr
    assert got.stdout and got.stdout != (site / work.full_url.lstrip("/")).read_bytes()
    [row] = events(tls_proxy, work.full_url)
    assert row["verdict"] == "scraper" and row["treatment"] == "decoy"
    reasons = " ".join(tls_reasons(row))
    assert "tls-fingerprints/curl-openssl" in reasons and "tls-fingerprints/grease-missing" in reasons
    assert RECORDED["curl"]["ja4"] in reasons  # the live handshake is the recorded one


def test_requests_forging_chrome_gets_altered_images_from_the_first_request(
        tls_proxy: ProxyProcess, certificate: tuple[Path, Path], site: Path) -> None:
    session = browser_session()  # Chromium's headers in Chromium's order, nothing of requests' own
    work = WORKS[3]
    got = session.get(f"https://127.0.0.1:{tls_proxy.port}{work.full_url}", verify=str(certificate[0]),
                      headers=browser_headers("image", referer=f"https://127.0.0.1:{tls_proxy.port}/"), timeout=30)
    assert got.status_code == 200 and got.content != (site / work.full_url.lstrip("/")).read_bytes()
    [row] = events(tls_proxy, work.full_url)
    assert row["verdict"] in ("suspect", "scraper") and row["treatment"] in ("watermark", "decoy")
    names = [r.split(":")[0] for r in tls_reasons(row)]
    assert {"tls-fingerprints/python-ssl", "tls-fingerprints/grease-missing",
            "tls-fingerprints/no-http2"} <= set(names)


def test_person_in_chromium_over_tls_gets_every_original(tls_proxy: ProxyProcess, site: Path) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=[*CHROMIUM_ARGS, f"--host-resolver-rules=MAP {SITE} 127.0.0.1"])
        try:
            context = browser.new_context(user_agent=desktop_user_agent(browser.version), ignore_https_errors=True)
            page = context.new_page()
            images: dict[str, bytes] = {}
            protocols: set[str] = set()

            def on_response(response) -> None:  # type: ignore[no-untyped-def]
                if response.status == 200 and "/images/" in response.url:
                    images[urlsplit(response.url).path] = response.body()

            page.on("response", on_response)
            page.goto(f"https://{SITE}:{tls_proxy.port}/gallery/1.html", wait_until="networkidle")
            protocols.add(page.evaluate("performance.getEntriesByType('navigation')[0].nextHopProtocol"))
            work = WORKS[5]
            response = page.goto(f"https://{SITE}:{tls_proxy.port}{work.full_url}")
            assert response is not None
            images[work.full_url] = response.body()
            context.close()
        finally:
            browser.close()
    assert protocols == {"h2"}  # a real browser over real TLS, HTTP/2 as in the wild
    assert len(images) >= 8
    for path, body in images.items():
        assert body == (site / path.lstrip("/")).read_bytes(), f"{path} was altered for a person"
    for path in images:
        for row in events(tls_proxy, path):
            assert row["verdict"] == "human" and not tls_reasons(row), (path, row["reasons"])


def test_plain_http_on_the_same_port_still_works(tls_proxy: ProxyProcess, site: Path) -> None:
    work = WORKS[6]
    got = requests.get(f"http://127.0.0.1:{tls_proxy.port}{work.full_url}", headers={"User-Agent": CHROME_UA},
                       timeout=30)
    assert got.status_code == 200
    [row] = events(tls_proxy, work.full_url)
    assert not tls_reasons(row)  # no handshake, no TLS rule


def test_a_bad_key_stops_the_start_with_a_clear_message(origin: OriginThread, certificate: tuple[Path, Path],
                                                        tmp_path: Path) -> None:
    _, other_key = make_certificate(tmp_path / "other")
    done = subprocess.run([str(VENV_BIN / "fixative"), "run", "--upstream", origin.url,
                           "--listen", f"127.0.0.1:{free_port()}", "--state-dir", str(tmp_path / "s"), "--admin", "none",
                           "--cert", str(certificate[0]), "--key", str(other_key)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert f"--key {other_key}: this key does not belong to the certificate in {certificate[0]}" in done.stderr


def served_serial(port: int) -> int:
    """The serial number of the certificate the proxy presents on a new TLS connection."""
    import socket
    import ssl

    from cryptography import x509

    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, \
            context.wrap_socket(raw, server_hostname=SITE) as tls:
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der).serial_number


def serial_of(cert: Path) -> int:
    from cryptography import x509

    return x509.load_pem_x509_certificate(cert.read_bytes()).serial_number


def test_a_renewed_certificate_is_taken_up_without_a_restart_and_a_bad_one_is_not(
        origin: OriginThread, tmp_path: Path) -> None:
    live = tmp_path / "live"
    cert, key = make_certificate(live)
    proc = start_fixative(origin.url, tmp_path / "state", "--cert", str(cert), "--key", str(key))
    try:
        assert served_serial(proc.port) == serial_of(cert)
        # a renewal half done: the new certificate is there, its key not yet
        new_cert, new_key = make_certificate(tmp_path / "renewed")
        cert.write_bytes(new_cert.read_bytes())
        deadline = time.monotonic() + 30
        while "was not taken up" not in "".join(proc.output) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert "this key does not belong to the certificate" in "".join(proc.output)
        assert served_serial(proc.port) != serial_of(new_cert)  # the running one stays
        key.write_bytes(new_key.read_bytes())  # the renewal completes
        deadline = time.monotonic() + 30
        while served_serial(proc.port) != serial_of(new_cert) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert served_serial(proc.port) == serial_of(new_cert)
        assert "renewed TLS certificate in use" in "".join(proc.output)
        page = requests.get(f"https://127.0.0.1:{proc.port}/about.html", verify=str(new_cert), timeout=30,
                            headers={"User-Agent": CHROME_UA})
        assert page.status_code == 200
    finally:
        proc.stop()
