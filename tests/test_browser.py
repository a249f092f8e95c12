"""A real browser through the real proxy: every image a person sees is the origin's, byte for byte."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from PIL import Image
from playwright.sync_api import Browser, sync_playwright

from browser import CHROMIUM, CHROMIUM_ARGS, desktop_user_agent
from fixative.demo.site import list_works

WORKS = list_works()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


def collect_images(page) -> dict[str, bytes]:
    got: dict[str, bytes] = {}

    def on_response(response) -> None:
        if response.status == 200 and (response.request.resource_type == "image" or "/images/" in response.url):
            got[urlsplit(response.url).path] = response.body()

    page.on("response", on_response)
    return got


def test_person_browsing_the_gallery_sees_every_original(chromium, proxy, site: Path):
    context = chromium.new_context(user_agent=desktop_user_agent(chromium.version),
                                   viewport={"width": 1366, "height": 900})
    page = context.new_page()
    images = collect_images(page)
    page.goto(proxy.url + "/", wait_until="networkidle")
    for n in (1, 2, 3):
        page.goto(f"{proxy.url}/gallery/{n}.html", wait_until="networkidle")
        page.mouse.wheel(0, 5000)  # thumbnails below the fold load lazily, as for a person scrolling
        page.wait_for_timeout(300)
        page.wait_for_load_state("networkidle")
    for work in WORKS[::4]:
        page.goto(proxy.url + work.page_url, wait_until="networkidle")
        if page.locator("text=open full size").count():
            with page.expect_navigation(wait_until="networkidle"):  # not the old page's load state
                page.click("text=open full size")
    context.close()
    expected = {w.thumb_url for w in WORKS} | {w.full_url for w in WORKS[::4]}
    assert expected <= set(images), f"missing: {sorted(expected - set(images))[:5]}"
    for path, body in images.items():
        assert body == (site / path.lstrip("/")).read_bytes(), f"{path} was altered for a person"


def test_person_opening_a_full_size_image_directly_gets_it(chromium, proxy, site: Path):
    context = chromium.new_context(user_agent=desktop_user_agent(chromium.version))
    page = context.new_page()
    work = WORKS[7]
    response = page.goto(proxy.url + work.full_url)
    assert response is not None and response.body() == (site / work.full_url.lstrip("/")).read_bytes()
    context.close()


def test_headless_chromium_with_its_default_user_agent_gets_decoys(chromium, proxy, site: Path):
    context = chromium.new_context()  # Playwright's default: "HeadlessChrome/..." in the UA
    page = context.new_page()
    images = collect_images(page)
    page.goto(proxy.url + "/gallery/1.html", wait_until="networkidle")
    context.close()
    thumbs = [w for w in WORKS if w.thumb_url in images]
    assert len(thumbs) >= 8
    for work in thumbs:
        body = images[work.thumb_url]
        assert body != (site / work.thumb_url.lstrip("/")).read_bytes()
        assert Image.open(io.BytesIO(body)).size == (work.thumb_width, work.thumb_height)
