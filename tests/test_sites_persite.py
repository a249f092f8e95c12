"""End to end: what is per site in one `fixative run --config` with `sites:` — the mode (from the file and
from POST /api/mode), metrics, the live event stream, /api/explain, /api/preview, `fixative explain --site`,
and the dashboard's site selector.

Site a enforces with the top level's settings; site b has its own mode (observe), policy and thresholds.
"""

from __future__ import annotations

import base64
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from browser import CHROMIUM, CHROMIUM_ARGS
from prometheus_client.parser import text_string_to_metric_families

from fixative import cli
from fixative.config import load_config
from fixative.demo.site import build_site, list_works
from fixative.runtime import build_runtime
from harness import VENV_BIN, OriginThread, ProxyProcess, free_port

WORK = next(w for w in list_works() if w.fmt == "jpeg")
ARTISTS = {"a": "Mara Ilves", "b": "Joss Okafor"}
HOSTS = {"a": "a.localhost", "b": "gallery-b.example"}
CURL = "curl/8.7.1"
CONFIG = """\
mode: enforce
sites:
  - name: a
    hosts: [{host_a}]
    upstream: {url_a}
    artist: {artist_a}
  - name: b
    hosts: [{host_b}]
    upstream: {url_b}
    artist: {artist_b}
    mode: observe
    policy: {{scraper: {{image: block}}}}
    thresholds: {{suspect: 25, scraper: 60}}
"""


@pytest.fixture(scope="module")
def origins(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, OriginThread]]:
    servers = {name: OriginThread(build_site(tmp_path_factory.mktemp(f"persite-{name}"), artist=artist))
               for name, artist in ARTISTS.items()}
    yield servers
    for server in servers.values():
        server.stop()


@pytest.fixture(scope="module")
def config_file(origins: dict[str, OriginThread], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("persite-config") / "sites.yaml"
    path.write_text(CONFIG.format(host_a=HOSTS["a"], host_b=HOSTS["b"], url_a=origins["a"].url,
                                  url_b=origins["b"].url, artist_a=ARTISTS["a"], artist_b=ARTISTS["b"]),
                    encoding="utf-8")
    return path


class Proxy:
    def __init__(self, proc: ProxyProcess, state: Path, admin: str):
        self.proc, self.state, self.admin = proc, state, admin
        self.auth = {"Authorization": f"Bearer {(state / 'admin-token').read_text().strip()}"}

    def get(self, site: str, path: str, ua: str = CURL) -> requests.Response:
        return requests.get(self.proc.url + path, headers={"Host": HOSTS[site], "User-Agent": ua}, timeout=30)

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return requests.request(method, self.admin + path, headers=self.auth, timeout=30, **kwargs)

    def metrics(self) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
        text = self.api("GET", "/metrics").text
        return {(s.name, frozenset(s.labels.items())): s.value
                for family in text_string_to_metric_families(text) for s in family.samples}

    def last_id(self) -> int:
        with sqlite3.connect(self.state / "events.sqlite3") as conn:
            return int(conn.execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()[0])

    def wait_logged(self, path: str) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with sqlite3.connect(self.state / "events.sqlite3") as conn:
                if conn.execute("SELECT 1 FROM events WHERE path = ?", (path,)).fetchone():
                    return
            time.sleep(0.1)
        raise AssertionError(f"{path} never reached the event log")


@pytest.fixture(scope="module")
def proxy(config_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    state = tmp_path_factory.mktemp("persite-state")
    port, admin = free_port(), free_port()
    proc = ProxyProcess([str(VENV_BIN / "fixative"), "run", "--config", str(config_file), "--listen",
                         f"127.0.0.1:{port}", "--state-dir", str(state), "--admin", f"127.0.0.1:{admin}"],
                        "protecting", port)
    yield Proxy(proc, state, f"http://127.0.0.1:{admin}")
    proc.stop()


def original(origins: dict[str, OriginThread], site: str) -> bytes:
    return requests.get(origins[site].url + WORK.full_url, timeout=30).content


# -- mode --------------------------------------------------------------------------------------------


def test_status_shows_each_site_mode(proxy: Proxy) -> None:
    status = proxy.api("GET", "/api/status").json()
    assert (status["mode"], status["enforcing"]) == ("enforce", True)
    assert [(s["name"], s["mode"], s["enforcing"], s["own_mode"]) for s in status["hosted_sites"]] == [
        ("a", "enforce", True, False), ("b", "observe", False, True)]


def test_a_site_in_observe_mode_serves_originals_while_the_other_enforces(proxy: Proxy, origins) -> None:
    a, b = proxy.get("a", WORK.full_url), proxy.get("b", WORK.full_url)
    assert a.status_code == 200 and a.content != original(origins, "a")  # a decoy
    assert b.status_code == 200 and b.content == original(origins, "b")  # b would block, but observes


def test_mode_per_site_and_for_the_whole_proxy(proxy: Proxy, origins) -> None:
    try:
        r = proxy.api("POST", "/api/mode", json={"mode": "enforce", "site": "b"})
        assert r.status_code == 200
        body = r.json()
        assert (body["mode"], body["enforcing"], body["site"]) == ("enforce", True, "b")
        assert proxy.get("b", WORK.full_url).status_code == 403  # b's own policy: block
        assert proxy.get("a", WORK.full_url).content != original(origins, "a")

        body = proxy.api("POST", "/api/mode", json={"mode": "observe"}).json()
        assert (body["mode"], body["site"]) == ("observe", None)
        assert [(s["name"], s["mode"], s["own_mode"]) for s in body["sites"]] == [
            ("a", "observe", False), ("b", "enforce", True)]  # b keeps the mode set for it alone
        assert proxy.get("a", WORK.full_url).content == original(origins, "a")
        assert proxy.get("b", WORK.full_url).status_code == 403
        metrics = proxy.metrics()
        assert metrics[("fixative_site_enforcing", frozenset({("site", "a")}))] == 0.0
        assert metrics[("fixative_site_enforcing", frozenset({("site", "b")}))] == 1.0
        assert metrics[("fixative_enforcing", frozenset())] == 0.0

        for site, expected in (("zzz", "the sites are a, b"), ("-", "the sites are a, b")):
            r = proxy.api("POST", "/api/mode", json={"mode": "enforce", "site": site})
            assert r.status_code == 404 and r.json()["field"] == "site" and expected in r.json()["error"]
        r = proxy.api("POST", "/api/mode", json={"mode": "panic", "site": "a"})
        assert r.status_code == 400 and r.json()["field"] == "mode"
        assert proxy.api("GET", "/api/status").json()["mode"] == "observe"
    finally:  # as the config file says, for the other tests
        proxy.api("POST", "/api/mode", json={"mode": "enforce"})
        proxy.api("POST", "/api/mode", json={"mode": "observe", "site": "b"})
    assert [(s["mode"]) for s in proxy.api("GET", "/api/status").json()["hosted_sites"]] == ["enforce", "observe"]


# -- metrics -----------------------------------------------------------------------------------------


def test_metrics_count_requests_and_rules_by_site(proxy: Proxy) -> None:
    before = proxy.metrics()
    for _ in range(2):
        proxy.get("a", WORK.full_url)
    proxy.get("b", WORK.full_url)
    requests.get(proxy.proc.url + "/", headers={"Host": "stranger.example", "User-Agent": CURL}, timeout=30)
    after = proxy.metrics()

    def grew(name: str, **labels: str) -> float:
        key = (name, frozenset(labels.items()))
        return after.get(key, 0.0) - before.get(key, 0.0)

    decoyed = {"verdict": "scraper", "treatment": "decoy", "applied": "true"}
    assert grew("fixative_requests_total", site="a", **decoyed) == 2
    assert grew("fixative_requests_total", site="b", verdict="scraper", treatment="block", applied="false") == 1
    assert grew("fixative_requests_total", site="-", verdict="scraper", treatment="misdirected", applied="true") == 1
    assert grew("fixative_requests_total", site="b", **decoyed) == 0
    assert grew("fixative_rule_hits_total", site="a", rule="http-libraries/curl-wget") == 2
    assert grew("fixative_rule_hits_total", site="b", rule="http-libraries/curl-wget") == 1
    assert after[("fixative_site_clients_tracked", frozenset({("site", "a")}))] >= 1
    assert after[("fixative_site_rules_loaded", frozenset({("site", "b")}))] > 0
    assert after[("fixative_clients_tracked", frozenset())] == sum(
        v for (name, _), v in after.items() if name == "fixative_site_clients_tracked")


# -- live stream -------------------------------------------------------------------------------------


def read_stream(proxy: Proxy, query: str, until_path: str, found: list[dict[str, Any]]) -> None:
    with requests.get(proxy.admin + "/api/events/stream?" + query, headers=proxy.auth, stream=True,
                      timeout=(5, 20)) as r:
        assert r.status_code == 200, r.text
        for line in r.iter_lines(decode_unicode=True):
            if line.startswith("data: "):
                found.append(json.loads(line[6:]))
                if found[-1]["path"] == until_path:
                    return


def test_the_live_stream_of_one_site(proxy: Proxy) -> None:
    after = proxy.last_id()
    proxy.get("a", "/stream-a")
    proxy.wait_logged("/stream-a")  # in the log before b's: an unfiltered stream would send it first
    proxy.get("b", "/stream-b")
    found: list[dict[str, Any]] = []
    reader = threading.Thread(target=read_stream, args=(proxy, f"site=b&after={after}", "/stream-b", found))
    reader.start()
    reader.join(30)
    assert not reader.is_alive() and found, "the stream never sent b's request"
    assert {e["site"] for e in found} == {"b"} and "/stream-a" not in {e["path"] for e in found}
    everything: list[dict[str, Any]] = []
    read_stream(proxy, f"after={after}", "/stream-b", everything)
    paths = [e["path"] for e in everything]  # without site=: a's too (and whatever came just before)
    assert paths.index("/stream-a") < paths.index("/stream-b")
    for site in ("zzz", ""):
        r = proxy.api("GET", "/api/events/stream", params={"site": site})
        assert r.status_code == 404 and r.json()["field"] == "site" and "the sites are a, b, -" in r.json()["error"]


# -- explain and preview -----------------------------------------------------------------------------


@pytest.mark.parametrize(("pick", "site", "treatment", "mode"), [
    ({"site": "b"}, "b", "block", "observe"),
    ({"host": HOSTS["b"].upper() + "."}, "b", "block", "observe"),
    ({"host": HOSTS["a"] + ":8080"}, "a", "decoy", "enforce"),
    ({"site": "a", "host": HOSTS["a"]}, "a", "decoy", "enforce"),
    ({}, None, "decoy", "enforce"),  # the top-level settings every site inherits
])
def test_explain_with_a_site_rules(proxy: Proxy, pick: dict[str, str], site, treatment, mode) -> None:
    r = proxy.api("POST", "/api/explain", json={"user_agent": CURL, "path": WORK.full_url, **pick})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["site"], body["verdict"], body["treatment"], body["mode"]) == (site, "scraper", treatment, mode)


@pytest.mark.parametrize(("pick", "field", "message"), [
    ({"site": "zzz"}, "site", "the sites are a, b"),
    ({"host": "nowhere.example"}, "host", f"the sites' hosts are {HOSTS['a']}, {HOSTS['b']}"),
    ({"site": "a", "host": HOSTS["b"]}, "host", "reaches site 'b', not 'a'"),
])
def test_explain_refuses_a_site_it_does_not_serve(proxy: Proxy, pick, field, message) -> None:
    r = proxy.api("POST", "/api/explain", json={"user_agent": CURL, **pick})
    assert r.status_code == 404 and r.json()["field"] == field and message in r.json()["error"], r.text


def test_preview_fetches_from_the_site_and_uses_its_rules(proxy: Proxy, origins) -> None:
    def preview(**params: str) -> requests.Response:
        return proxy.api("GET", "/api/preview", params={"path": WORK.page_url, **params})

    for site in ("a", "b"):
        body = preview(profile="person", site=site).json()
        assert body["site"] == site and ARTISTS[site] in base64.b64decode(body["body_base64"]).decode()
    assert preview(profile="person").json()["site"] == "a"  # no site or host: the first site
    assert preview(profile="person", host=HOSTS["b"]).json()["site"] == "b"
    raw = proxy.api("GET", "/api/preview", params={"path": WORK.full_url, "profile": "curl", "raw": "1",
                                                   "site": "b"})
    assert raw.status_code == 200 and raw.content == original(origins, "b")  # b observes
    assert (raw.headers["X-Fixative-Site"], raw.headers["X-Fixative-Treatment"],
            raw.headers["X-Fixative-Applied"]) == ("b", "block", "0")
    raw = proxy.api("GET", "/api/preview", params={"path": WORK.full_url, "profile": "curl", "raw": "1",
                                                   "site": "a"})
    assert raw.headers["X-Fixative-Treatment"] == "decoy" and raw.content != original(origins, "a")
    r = preview(host="nowhere.example")
    assert r.status_code == 404 and r.json()["field"] == "host"


# -- fixative explain --------------------------------------------------------------------------------


def explain(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(["explain", "--ua", CURL, "--path", WORK.full_url, *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(("pick", "site", "treatment", "mode"), [
    (["--site", "b"], "b", "block", "observe"),
    (["--host", HOSTS["b"] + ":443"], "b", "block", "observe"),
    (["--site", "a"], "a", "decoy", "enforce"),
    ([], None, "decoy", "enforce"),
])
def test_cli_explain_with_a_site(config_file: Path, capsys, pick: list[str], site, treatment, mode) -> None:
    code, out, err = explain(capsys, "--config", str(config_file), *pick, "--json")
    assert (code, err) == (0, "")
    result = json.loads(out)
    assert (result["site"], result["treatment"], result["mode"]) == (site, treatment, mode)


def test_cli_explain_shows_the_site_thresholds(config_file: Path, capsys) -> None:
    code, out, _ = explain(capsys, "--config", str(config_file), "--site", "b")
    assert code == 0 and out.startswith("site: b (balanced preset)\n")
    assert "suspect at 25, scraper at 60" in out and "treatment: block for this image (observe mode)" in out
    code, out, _ = explain(capsys, "--config", str(config_file), "--site", "a")
    assert "suspect at 30, scraper at 70" in out


@pytest.mark.parametrize(("args", "message"), [
    (["--site", "zzz"], "--site 'zzz': no such site in {config}; the sites are a, b"),
    (["--host", "nowhere.example"], "--host 'nowhere.example': no site in {config} answers to it"),
    (["--site", "a", "--host", HOSTS["a"]], "--site, --host: give one of the two"),
])
def test_cli_explain_refuses_a_site_the_config_has_not(config_file: Path, capsys, args, message) -> None:
    code, out, err = explain(capsys, "--config", str(config_file), *args)
    assert (code, out) == (2, "") and message.format(config=config_file) in err


def test_cli_explain_site_needs_sites_in_the_config(tmp_path: Path, capsys) -> None:
    config = tmp_path / "one.yaml"
    config.write_text("upstream: http://127.0.0.1:9\n", encoding="utf-8")
    code, _, err = explain(capsys, "--config", str(config), "--site", "a")
    assert code == 2 and f"--site: {config} has no `sites:`" in err


# -- the runtime's mode switch, without a server -------------------------------------------------------


def test_set_mode_keeps_a_site_own_mode(config_file: Path, tmp_path: Path) -> None:
    rt = build_runtime(load_config(config_file, state_dir=tmp_path))
    try:
        a, b = rt.sites["a"], rt.sites["b"]
        assert (a.own_mode, b.own_mode) == (False, True)
        rt.set_mode("observe")
        assert (rt.config.mode, a.config.mode, b.config.mode) == ("observe", "observe", "observe")
        rt.set_mode("enforce")
        assert (a.config.mode, b.config.mode) == ("enforce", "observe")
        rt.set_mode("enforce", "b")
        rt.set_mode("observe")
        assert (rt.config.mode, a.config.mode, b.config.mode, b.own_mode) == ("observe", "observe", "enforce", True)
        with pytest.raises(KeyError):
            rt.set_mode("observe", "zzz")
    finally:
        rt.close()


def test_the_command_line_mode_wins_over_a_site_own(config_file: Path, tmp_path: Path) -> None:
    config = load_config(config_file, state_dir=tmp_path, mode="enforce")
    assert [(s.config.mode, s.own_mode) for s in config.sites] == [("enforce", False), ("enforce", False)]


# -- the dashboard -----------------------------------------------------------------------------------


def test_dashboard_site_selector_filters_the_feed_and_switches_that_site_mode(proxy: Proxy) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_context(viewport={"width": 1440, "height": 1200}).new_page()
            page.goto(proxy.admin + "/")
            page.fill("#token", proxy.auth["Authorization"].removeprefix("Bearer "))
            page.click("#login-form button")
            expect(page.locator("#site")).to_be_visible()
            expect(page.locator("#mode-enforce")).to_have_attribute("aria-checked", "true")
            page.select_option("#site", "b")
            expect(page.locator("#mode-observe")).to_have_attribute("aria-checked", "true")
            expect(page.locator("#observe-banner")).to_be_visible()
            expect(page.locator("#live-pill")).to_have_text("live", timeout=10_000)
            proxy.get("a", "/dash-a")
            proxy.wait_logged("/dash-a")
            proxy.get("b", "/dash-b")
            expect(page.locator("#feed li").first).to_contain_text("/dash-b", timeout=10_000)
            expect(page.locator("#feed")).not_to_contain_text("/dash-a")
            assert all(" b · " in f" {text}" for text in page.locator("#feed li .who").all_inner_texts())

            page.click("#mode-enforce")  # b's mode only
            expect(page.locator("#mode-enforce")).to_have_attribute("aria-checked", "true")
            status = proxy.api("GET", "/api/status").json()
            assert [(s["name"], s["mode"]) for s in status["hosted_sites"]] == [("a", "enforce"), ("b", "enforce")]
            page.click("#mode-observe")
            expect(page.locator("#observe-banner")).to_be_visible()
            assert proxy.api("GET", "/api/status").json()["mode"] == "enforce"  # the whole proxy's: unchanged

            page.select_option("#site", "")  # all sites: the feed has both again
            expect(page.locator("#feed")).to_contain_text("/dash-a", timeout=10_000)
            expect(page.locator("#mode-enforce")).to_have_attribute("aria-checked", "true")
        finally:
            browser.close()
    assert [s["mode"] for s in proxy.api("GET", "/api/status").json()["hosted_sites"]] == ["enforce", "observe"]
