"""End to end: the real proxy in front of the real demo origin, driven by real clients.

People (a browser User-Agent) get the origin's bytes; curl, wget, requests and
declared AI crawlers get decoys of the same format and size.
"""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest
import requests
from PIL import Image

from fixative.demo.site import list_works
from harness import CHROME_UA, browser_get, browser_headers, browser_session

WORKS = list_works()
ONE_PER_FORMAT = [next(w for w in WORKS if w.fmt == fmt) for fmt in ("jpeg", "png", "webp")]
PIL_FORMAT = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP"}
AI_AGENTS = {
    "GPTBot": "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)",
    "CCBot": "CCBot/2.0 (https://commoncrawl.org/faq/)",
    "ClaudeBot": "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0; +claudebot@anthropic.com)",
    "Bytespider": "Mozilla/5.0 (Linux; Android 5.0) AppleWebKit/537.36 (KHTML, like Gecko) Mobile Safari/537.36 "
                  "(compatible; Bytespider; spider-feedback@bytedance.com)",
}


def original(site: Path, url: str) -> bytes:
    return (site / url.lstrip("/")).read_bytes()


def assert_decoy(data: bytes, site: Path, work) -> None:
    """Same format and dimensions as the work, none of its bytes."""
    assert data != original(site, work.full_url)
    img = Image.open(io.BytesIO(data))
    assert img.format == PIL_FORMAT[work.fmt]
    assert img.size == (work.width, work.height)
    img.load()  # a valid, fully decodable image


@pytest.mark.parametrize("work", ONE_PER_FORMAT, ids=lambda w: w.fmt)
def test_browser_user_agent_gets_original_bytes(proxy, site, work):
    s = browser_session()
    page = s.get(proxy.url + work.page_url, headers=browser_headers("page"))
    assert "fx_session=" in page.headers.get("Set-Cookie", "")
    r = s.get(proxy.url + work.full_url, headers=browser_headers("image", referer=proxy.url + work.page_url))
    assert r.status_code == 200
    assert r.content == original(site, work.full_url)
    assert r.headers["X-Robots-Tag"] == "noai, noimageai"
    assert r.headers["tdm-reservation"] == "1"


@pytest.mark.parametrize("work", ONE_PER_FORMAT, ids=lambda w: w.fmt)
def test_curl_gets_decoy(proxy, site, work, tmp_path):
    out = tmp_path / "got"
    headers = subprocess.run(["curl", "-sS", "-D", "-", "-o", str(out), proxy.url + work.full_url],
                             check=True, capture_output=True, text=True).stdout
    assert_decoy(out.read_bytes(), site, work)
    lowered = headers.lower()
    assert "cache-control: private, no-store" in lowered
    assert "x-robots-tag: noai, noimageai" in lowered
    assert "etag:" not in lowered


def test_decoy_is_deterministic_per_url(proxy, site):
    work = ONE_PER_FORMAT[0]
    first = requests.get(proxy.url + work.full_url).content
    second = requests.get(proxy.url + work.full_url).content
    other = requests.get(proxy.url + WORKS[1].full_url).content
    assert first == second
    assert first != other


def test_wget_gets_decoy(proxy, site, tmp_path):
    work = ONE_PER_FORMAT[1]
    out = tmp_path / "wget.png"
    subprocess.run(["wget", "-q", "-O", str(out), proxy.url + work.full_url], check=True)
    assert_decoy(out.read_bytes(), site, work)


def test_requests_default_user_agent_gets_decoy(proxy, site):
    work = ONE_PER_FORMAT[2]
    r = requests.get(proxy.url + work.full_url)
    assert r.status_code == 200
    assert_decoy(r.content, site, work)


@pytest.mark.parametrize("agent", AI_AGENTS)
def test_declared_ai_crawlers_get_decoys(proxy, site, agent):
    work = WORKS[3]
    r = requests.get(proxy.url + work.full_url, headers={"User-Agent": AI_AGENTS[agent]})
    assert_decoy(r.content, site, work)


def test_pages_pass_for_scrapers_by_default(proxy, site):
    r = requests.get(proxy.url + WORKS[0].page_url)
    assert r.status_code == 200
    assert r.content == original(site, WORKS[0].page_url)
    assert r.headers["X-Robots-Tag"] == "noai, noimageai"


def test_thumbnails_are_decoyed_too(proxy, site):
    work = WORKS[5]
    r = requests.get(proxy.url + work.thumb_url, headers={"User-Agent": "curl/8.7.1"})
    img = Image.open(io.BytesIO(r.content))
    assert img.size == (work.thumb_width, work.thumb_height)
    assert r.content != original(site, work.thumb_url)


def test_observe_mode_serves_everyone_originals(observing_proxy, site):
    for work in ONE_PER_FORMAT:
        r = requests.get(observing_proxy.url + work.full_url, headers={"User-Agent": AI_AGENTS["GPTBot"]})
        assert r.content == original(site, work.full_url)
        assert r.headers["X-Robots-Tag"] == "noai, noimageai"


def test_robots_txt_merges_origin_rules_and_ai_agents(proxy, site):
    r = requests.get(proxy.url + "/robots.txt", headers={"User-Agent": CHROME_UA})
    assert r.status_code == 200
    text = r.text
    origin_text = (site / "robots.txt").read_text()
    assert text.startswith(origin_text.rstrip("\n"))
    for token in ("GPTBot", "CCBot", "ClaudeBot", "Bytespider", "Google-Extended", "Applebot-Extended"):
        assert f"User-agent: {token}\n" in text
    assert "User-agent: Googlebot\n" not in text and "User-agent: Applebot\n" not in text


def test_tdmrep_well_known(proxy):
    r = requests.get(proxy.url + "/.well-known/tdmrep.json", headers={"User-Agent": CHROME_UA})
    assert r.status_code == 200
    assert r.json() == [{"location": "/*", "tdm-reservation": 1}]


def test_corrupt_image_original_for_person_block_for_scraper(proxy, site):
    person = browser_get(proxy.url + "/images/full/broken.jpg", "image")
    assert person.content == (site / "images/full/broken.jpg").read_bytes()
    scraper = requests.get(proxy.url + "/images/full/broken.jpg")
    assert scraper.status_code == 403
    assert b"this is not really a jpeg" not in scraper.content
    html = requests.get(proxy.url + "/images/full/really-html.png")
    assert html.status_code == 403


def test_large_download_streams_unchanged(proxy, site):
    r = requests.get(proxy.url + "/downloads/press-kit.zip", headers={"User-Agent": CHROME_UA})
    assert r.content == (site / "downloads/press-kit.zip").read_bytes()


def test_conditional_request_from_scraper_still_gets_decoy(proxy, site):
    work = WORKS[2]
    etag = requests.get(proxy.url + work.full_url, headers={"User-Agent": CHROME_UA}).headers.get("ETag")
    r = requests.get(proxy.url + work.full_url, headers={"If-None-Match": etag or '"x"', "Range": "bytes=0-99"})
    assert r.status_code == 200
    assert_decoy(r.content, site, work)
