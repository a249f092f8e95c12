"""The dashboard in Debian's Chromium against a real `fixative run --admin`: sign in, see scraper traffic, switch mode."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from browser import CHROMIUM, CHROMIUM_ARGS
from fixative.demo.site import list_works
from harness import OriginThread, ProxyProcess, free_port, start_fixative
from playwright.sync_api import Page, expect, sync_playwright

SCREENSHOT = Path("/tmp/fixative-dashboard.png")
WORKS = list_works()


@pytest.fixture(scope="module")
def running(
    origin: OriginThread, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ProxyProcess, str, str]]:
    state = tmp_path_factory.mktemp("dashboard-state")
    port = free_port()
    proc = start_fixative(origin.url, state, "--admin", f"127.0.0.1:{port}")
    token = (state / "admin-token").read_text().strip()
    yield proc, f"http://127.0.0.1:{port}", token
    proc.stop()


@pytest.fixture(scope="module")
def page() -> Iterator[Page]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1440, "height": 1200})
        yield context.new_page()
        browser.close()


def test_a_wrong_token_is_refused_with_a_clear_message(running, page: Page):
    _, admin, _ = running
    page.goto(admin + "/")
    page.fill("#token", "not-the-token")
    page.click("#login-form button")
    expect(page.locator("#login-error")).to_contain_text("not right")
    expect(page.locator("#app")).to_be_hidden()


def test_sign_in_see_scrapers_live_and_switch_mode(running, page: Page):
    proc, admin, token = running
    for work in WORKS[:6]:
        requests.get(proc.url + work.thumb_url, headers={"User-Agent": "GPTBot/1.2"})
        requests.get(proc.url + work.thumb_url, headers={"User-Agent": "curl/8.7.1"})
    page.goto(admin + "/")
    page.fill("#token", token)
    page.click("#login-form button")
    expect(page.locator("#app")).to_be_visible()
    expect(page.locator("#count-scraper")).to_have_text("12", timeout=10_000)
    expect(page.locator("#agents")).to_contain_text("GPTBot/1.2")
    expect(page.locator("#networks")).to_contain_text("127.0.0.0/24")
    expect(page.locator("#upstream-pill")).to_have_text("site up")
    expect(page.locator("#packs li")).to_have_count(
        len(
            requests.get(admin + "/api/packs", headers={"Authorization": f"Bearer {token}"}).json()[
                "packs"
            ]
        )
    )
    assert page.locator("#chart svg rect").count() >= 1

    # a new scraper request shows up in the live feed with its reasons, without reloading
    requests.get(proc.url + WORKS[10].full_url, headers={"User-Agent": "curl/8.7.1"})
    first = page.locator("#feed li").first
    expect(first).to_contain_text(WORKS[10].full_url, timeout=10_000)
    expect(first).to_contain_text("http-libraries/curl-wget")
    expect(page.locator("#count-scraper")).to_have_text("13")

    page.click("#mode-observe")
    expect(page.locator("#observe-banner")).to_be_visible()
    expect(page.locator("#mode-observe")).to_have_attribute("aria-checked", "true")
    status = requests.get(
        admin + "/api/status", headers={"Authorization": f"Bearer {token}"}
    ).json()
    assert status["mode"] == "observe"

    page.fill("#preview-path", WORKS[0].full_url)
    page.click("#preview-form button")
    expect(page.locator("#previews figure")).to_have_count(4, timeout=20_000)
    page.click("#mode-enforce")
    expect(page.locator("#observe-banner")).to_be_hidden()

    page.select_option("#ov-kind", "user_agent")
    page.fill("#ov-value", "BadBot")
    page.click("#override-form button")
    expect(page.locator("#overrides")).to_contain_text("BadBot")
    page.locator("#packs li", has_text="link-previews").locator(".switch span").click()
    expect(page.locator("#packs li", has_text="link-previews").locator("input")).not_to_be_checked()
    page.wait_for_timeout(500)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert re.search(r"\d+ rules", page.locator("#foot").inner_text())
