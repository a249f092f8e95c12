"""The unpacked extension in Debian's Chromium against a real proxy and backend.

Chromium cannot click "Allow" on a permission prompt in a test, so the extension is built with
`build.mjs --host-permission` (the backend's and site's host granted at install); the options
page then finds the permission already given, as it would after a person allowed it.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from browser import CHROMIUM, CHROMIUM_ARGS
from fixative.demo.site import list_works
from harness import ROOT, OriginThread, ProxyProcess, free_port, start_fixative
from playwright.sync_api import BrowserContext, Page, expect, sync_playwright

NODE = shutil.which("node")
WORKS = list_works()
assert NODE is not None, "node is needed to build the extension: run scripts/setup --test"


@pytest.fixture(scope="module")
def stack(
    origin: OriginThread, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ProxyProcess, str, str]]:
    state = tmp_path_factory.mktemp("ext-state")
    port = free_port()
    proc = start_fixative(origin.url, state, "--admin", f"127.0.0.1:{port}")
    yield proc, f"http://127.0.0.1:{port}", (state / "admin-token").read_text().strip()
    proc.stop()


@pytest.fixture(scope="module")
def extension(stack, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ext") / "chrome"
    subprocess.run(
        [
            NODE,
            str(ROOT / "extension/build.mjs"),
            "chrome",
            "--out",
            str(out),
            "--host-permission",
            stack[1],
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return out


@pytest.fixture(scope="module")
def browser(
    extension: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[BrowserContext, str]]:
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("profile")),
            executable_path=CHROMIUM,
            headless=True,
            args=[
                *CHROMIUM_ARGS,
                f"--disable-extensions-except={extension}",
                f"--load-extension={extension}",
            ],
        )
        worker = (
            context.service_workers[0]
            if context.service_workers
            else context.wait_for_event("serviceworker")
        )
        yield context, worker.url.split("/")[2]
        context.close()


def worker_target(page: Page, ext_id: str) -> str | None:
    cdp = page.context.new_cdp_session(page)
    targets = cdp.send("Target.getTargets")["targetInfos"]
    cdp.detach()
    return next(
        (
            t["targetId"]
            for t in targets
            if t["type"] == "service_worker"
            and t["url"].startswith(f"chrome-extension://{ext_id}/")
        ),
        None,
    )


def configure(page: Page, ext_id: str, backend: str, token: str, site: str = "") -> None:
    page.goto(f"chrome-extension://{ext_id}/options.html")
    page.fill("#backend", backend)
    page.fill("#token", token)
    page.fill("#site", site)
    page.click("#save")


def test_options_popup_trust_and_a_restarted_service_worker(stack, browser, site: Path):
    proc, backend, token = stack
    context, ext_id = browser
    page = context.new_page()

    configure(page, ext_id, f"http://127.0.0.1:{free_port()}", token)
    expect(page.locator("#result")).to_contain_text("Cannot reach the backend")
    configure(page, ext_id, backend, "not-the-token")
    expect(page.locator("#result")).to_contain_text("Wrong token")
    configure(page, ext_id, backend, token, proc.url)
    expect(page.locator("#result")).to_contain_text("Connected: Fixative")
    expect(page.locator("#result")).to_contain_text("enforce mode")

    site_tab = context.new_page()
    site_tab.goto(proc.url + "/about.html", wait_until="networkidle")
    for work in WORKS[:5]:
        requests.get(proc.url + work.thumb_url, headers={"User-Agent": "curl/8.7.1"})
    tab_id = next(
        t["id"]
        for t in context.service_workers[0].evaluate("chrome.tabs.query({})")
        if t.get("url", "").startswith(proc.url)
    )

    popup = context.new_page()
    popup.goto(f"chrome-extension://{ext_id}/popup.html?tab={tab_id}")
    expect(popup.locator("#onsite")).to_be_visible()
    expect(popup.locator("#count-scraper")).not_to_have_text("0")
    scrapers = int(popup.locator("#count-scraper").inner_text())
    assert scrapers >= 5
    expect(popup.locator("#hits li").first).to_contain_text("/images/")
    expect(popup.locator("#hits")).to_contain_text("http-libraries/curl-wget")
    expect(popup.locator("#mode-enforce")).to_have_attribute("aria-checked", "true")
    popup.screenshot(path="/tmp/fixative-popup.png")

    popup.click("#mode-observe")
    expect(popup.locator("#mode-observe")).to_have_attribute("aria-checked", "true")
    auth = {"Authorization": f"Bearer {token}"}
    assert requests.get(backend + "/api/status", headers=auth).json()["mode"] == "observe"
    popup.click("#mode-enforce")
    expect(popup.locator("#mode-enforce")).to_have_attribute("aria-checked", "true")
    badge = context.service_workers[0].evaluate("chrome.action.getBadgeText({})")
    assert badge.isdigit() and int(badge) >= scrapers

    # headless Chromium is a scraper to the proxy; once trusted, this browser gets the originals
    work = WORKS[3]
    original = (site / work.full_url.lstrip("/")).read_bytes()
    assert context.request.get(proc.url + work.full_url).body() != original
    popup.click("#trust")
    expect(popup.locator("#trust-result")).to_contain_text("now always gets your originals")
    assert context.request.get(proc.url + work.full_url).body() == original

    # the service worker is stopped (as Chrome does when idle); the popup wakes it and still works
    target = worker_target(popup, ext_id)
    assert target is not None
    cdp = popup.context.new_cdp_session(popup)
    cdp.send("Target.closeTarget", {"targetId": target})
    cdp.detach()
    for _ in range(50):
        if worker_target(popup, ext_id) is None:
            break
        popup.wait_for_timeout(100)
    assert worker_target(popup, ext_id) is None, "the service worker did not stop"
    requests.get(proc.url + WORKS[6].thumb_url, headers={"User-Agent": "curl/8.7.1"})
    popup.reload()
    expect(popup.locator("#onsite")).to_be_visible()
    expect(popup.locator("#count-scraper")).not_to_have_text(str(scrapers))
    assert worker_target(popup, ext_id) is not None


def test_popup_elsewhere_explains_and_preview_shows_what_scrapers_get(stack, browser):
    proc, backend, token = stack
    context, ext_id = browser
    page = context.new_page()
    configure(page, ext_id, backend, token, proc.url)
    expect(page.locator("#result")).to_contain_text("Connected")
    page.goto(
        f"chrome-extension://{ext_id}/popup.html"
    )  # the active tab is the extension page itself
    expect(page.locator("#elsewhere")).to_be_visible()
    expect(page.locator("#site-name")).to_have_text(proc.url)

    image = proc.url + WORKS[0].full_url
    page.goto(
        f"chrome-extension://{ext_id}/preview.html?src={requests.utils.quote(image, safe='')}"
    )
    expect(page.locator("figure")).to_have_count(4, timeout=20_000)
    expect(page.locator("figure").nth(1)).to_contain_text("GPTBot")
    expect(page.locator("figure").nth(1)).to_contain_text("scraper")
    expect(page.locator("figure").nth(1)).to_contain_text("ai-agents/gptbot")
    expect(page.locator("figure").nth(0)).to_contain_text("original")
    expect(page.locator("figure").nth(2)).to_contain_text("img2dataset")
    assert page.locator("figure img").nth(1).evaluate("img => img.complete && img.naturalWidth > 0")
    page.screenshot(path="/tmp/fixative-extension-preview.png")
    page.goto(
        f"chrome-extension://{ext_id}/preview.html?src={requests.utils.quote('https://elsewhere.example/a.jpg')}"
    )
    expect(page.locator("#error")).to_contain_text("not on your protected site")
