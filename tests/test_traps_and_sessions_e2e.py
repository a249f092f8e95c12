"""Trap links and session cookies through the real proxy, with wget and Chromium."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from playwright.sync_api import sync_playwright

from browser import CHROMIUM, CHROMIUM_ARGS, desktop_user_agent
from harness import CHROME_UA, VENV_BIN, ProxyProcess, free_port


@pytest.fixture(scope="module")
def trap_proxy(origin, tmp_path_factory) -> Iterator[ProxyProcess]:
    state = tmp_path_factory.mktemp("trap-state")
    config = state / "fixative.yaml"
    config.write_text("traps: true\n")
    port = free_port()
    proc = ProxyProcess([str(VENV_BIN / "fixative"), "run", "--upstream", origin.url, "--listen", f"127.0.0.1:{port}",
                         "--state-dir", str(state), "--config", str(config)], "protecting", port)
    proc.state = state  # type: ignore[attr-defined]
    yield proc
    proc.stop()


def events(state: Path, where: str = "1=1", args: tuple = ()) -> list[sqlite3.Row]:
    """The matching events once the writer (batches every 0.25 s) has caught up: the count holds still."""
    rows: list[sqlite3.Row] = []
    for _ in range(40):
        time.sleep(0.5)
        with sqlite3.connect(state / "events.sqlite3") as conn:
            conn.row_factory = sqlite3.Row
            latest = conn.execute(f"SELECT * FROM events WHERE {where} ORDER BY id", args).fetchall()
        if latest and len(latest) == len(rows):
            return latest
        rows = latest
    return rows


def test_pages_carry_a_hidden_trap_that_robots_txt_disallows(trap_proxy):
    page = requests.get(trap_proxy.url + "/gallery/1.html", headers={"User-Agent": CHROME_UA}).text
    trap = page.split('rel="nofollow noindex"')[0].rsplit('href="', 1)[1].split('"')[0]
    robots = requests.get(trap_proxy.url + "/robots.txt", headers={"User-Agent": CHROME_UA}).text
    prefix = "/" + trap.strip("/").split("/")[0] + "/"
    assert f"User-agent: *\nDisallow: {prefix}" in robots


def test_a_careless_crawler_with_a_browser_user_agent_is_a_scraper_after_the_trap(trap_proxy, tmp_path):
    forged = CHROME_UA.replace("131", "130")  # a UA no other test uses, to find its events
    subprocess.run(["wget", "-q", "-r", "-l", "3", "-e", "robots=off", "-U", forged, "-P", str(tmp_path),
                    trap_proxy.url + "/"], timeout=120, check=False)
    rows = events(trap_proxy.state, "user_agent = ?", (forged,))
    hit = next(i for i, r in enumerate(rows) if r["treatment"] == "trap")
    after = rows[hit + 1:]
    assert after, "wget made no request after the trap"
    assert all(r["verdict"] == "scraper" for r in after)
    assert all("behaviour/trap-link" in r["reasons"] for r in after)
    assert all(r["treatment"] != "original" for r in after if r["kind"] == "image")


def test_a_person_in_chromium_never_meets_the_trap(trap_proxy, site):
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(user_agent=desktop_user_agent(browser.version))
        page = context.new_page()
        ua = desktop_user_agent(browser.version)
        for path in ("/", "/gallery/1.html", "/gallery/2.html", "/about.html"):
            page.goto(trap_proxy.url + path, wait_until="networkidle")
            box = page.locator('a[rel="nofollow noindex"]').bounding_box()
            assert box is None or box["x"] < 0  # off screen, never visible
        cookies = {c["name"] for c in context.cookies()}
        browser.close()
    assert "fx_session" in cookies
    rows = events(trap_proxy.state, "user_agent = ?", (ua,))
    assert rows and all(r["verdict"] == "human" for r in rows)
    assert not any(r["treatment"] == "trap" for r in rows)


def test_forged_and_replayed_session_cookies_count_against_the_client(trap_proxy):
    url = trap_proxy.url + "/about.html"
    ua = CHROME_UA.replace("131", "129")
    requests.get(url, headers={"User-Agent": ua, "Cookie": "fx_session=deadbeef.1700000000.abcd1234.AAAA"})
    issued = requests.get(url, headers={"User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 "
                                                      "Firefox/140.0"}).cookies["fx_session"]
    requests.get(url, headers={"User-Agent": ua, "Cookie": f"fx_session={issued}"})
    rows = events(trap_proxy.state, "user_agent = ?", (ua,))
    reasons = [json.loads(r["reasons"]) for r in rows[-2:]]
    assert any(x.startswith("behaviour/forged-session") and "forged" in x for x in reasons[0])
    assert any(x.startswith("behaviour/forged-session") and "replayed" in x for x in reasons[1])
