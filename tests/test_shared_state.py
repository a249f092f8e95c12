"""Several instances sharing state through a real redis-server (Debian's package) on loopback.

Two real `fixative run` processes in front of the demo origin, both pointed at one Redis: a client
whose requests are split across them is judged as one client; a trap hit, an override and the
counters made on one are seen by the other; with Redis gone both keep serving on local state and
say so, and what happened meanwhile reaches Redis when it is back.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from harness import CHROME_UA, VENV_BIN, ProxyProcess, browser_headers, browser_session, free_port

REDIS = shutil.which("redis-server")  # scripts/setup --test installs it: missing, the tests fail, not skip


class RedisServer:
    """redis-server on a loopback port, no persistence; stop() and start() again on the same port."""

    def __init__(self, password: str | None = None) -> None:
        self.port = free_port()
        self.password = password
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        assert REDIS is not None, "redis-server is missing: run scripts/setup --test (it installs Debian's)"
        auth = ["--requirepass", self.password] if self.password else []
        self.proc = subprocess.Popen([REDIS, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", *auth], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.STDOUT)
        wait_until(lambda: self.cli("PING") in ("PONG", "NOAUTH Authentication required."), 10,
                   "redis-server did not start")

    def stop(self) -> None:
        assert self.proc is not None
        self.proc.terminate()
        self.proc.wait(10)

    def cli(self, *args: str) -> str:
        done = subprocess.run(["redis-cli", "-p", str(self.port), *args], capture_output=True, text=True,
                              timeout=10, check=False)
        return done.stdout.strip()


def wait_until(check: Callable[[], object], seconds: float, message: str) -> object:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            found = check()
        except (OSError, requests.RequestException, sqlite3.Error):
            found = None
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(message)


class Instance:
    def __init__(self, origin_url: str, state: Path, redis_url: str | None, name: str, config: str = ""):
        state.mkdir(parents=True, exist_ok=True)
        self.state = state
        self.admin_port = free_port()
        port = free_port()
        args = [str(VENV_BIN / "fixative"), "run", "--upstream", origin_url, "--listen", f"127.0.0.1:{port}",
                "--state-dir", str(state), "--admin", f"127.0.0.1:{self.admin_port}"]
        if config:
            (state / "fixative.yaml").write_text(config)
            args += ["--config", str(state / "fixative.yaml")]
        if redis_url:
            args += ["--redis", redis_url, "--instance", name]
        self.proc = ProxyProcess(args, "protecting", port)
        self.url = self.proc.url
        self.admin = f"http://127.0.0.1:{self.admin_port}"
        self.token = (state / "admin-token").read_text().strip()

    def api(self, path: str) -> dict:
        r = requests.get(self.admin + path, headers={"Authorization": f"Bearer {self.token}"}, timeout=10)
        r.raise_for_status()
        return r.json()

    def metrics(self) -> str:
        return requests.get(self.admin + "/metrics", headers={"Authorization": f"Bearer {self.token}"},
                            timeout=10).text

    def events(self, user_agent: str) -> list[sqlite3.Row]:
        with sqlite3.connect(self.state / "events.sqlite3") as conn:
            conn.row_factory = sqlite3.Row
            return conn.execute("SELECT * FROM events WHERE user_agent = ? ORDER BY id", (user_agent,)).fetchall()

    def stop(self) -> None:
        self.proc.stop()


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    yield server
    if server.proc is not None and server.proc.poll() is None:
        server.stop()


@pytest.fixture(scope="module")
def pair(origin, redis_server, tmp_path_factory) -> Iterator[tuple[Instance, Instance]]:
    root = tmp_path_factory.mktemp("shared")
    a = Instance(origin.url, root / "a", redis_server.url, "a", "traps: true\n")
    b = Instance(origin.url, root / "b", redis_server.url, "b", "traps: true\n")
    yield a, b
    a.stop()
    b.stop()


def full_images(site: Path) -> list[Path]:
    return sorted((site / "images" / "full").iterdir())


def open_directly(url: str, user_agent: str) -> requests.Response:
    """A person's (or a forged browser's) top-level open of an image URL: no page, no Referer."""
    return browser_session().get(url, headers=browser_headers("page", **{"User-Agent": user_agent}), timeout=60)


def original(response: requests.Response, work: Path) -> bool:
    return hashlib.sha256(response.content).digest() == hashlib.sha256(work.read_bytes()).digest()


PACE = 0.5  # seconds between one client's requests: past `shared.fresh_for` (0.2 s), within which an
# instance does not read a client's shared state again


def spree_across(first: Instance, second: Instance, site: Path, user_agent: str) -> list[bool]:
    """Three direct opens of different works by one client: first, second, first again.
    Which of them got the original bytes."""
    got = []
    for n, instance in enumerate((first, second, first)):
        work = full_images(site)[n]
        got.append(original(open_directly(f"{instance.url}/images/full/{work.name}", user_agent), work))
        time.sleep(PACE)
    return got


def test_both_instances_share_one_secret_and_say_they_share(pair, redis_server):
    a, b = pair
    assert (a.state / "secret").read_bytes() == (b.state / "secret").read_bytes()
    assert f"sharing state through {redis_server.url} as b" in "".join(b.proc.output)


def test_a_client_split_across_two_instances_is_judged_as_one(pair, site):
    a, b = pair
    ua = CHROME_UA.replace("131.0.0.0", "131.0.1.1")  # this test's client, to find its events
    # each instance saw at most two opens; only together do they make the third a spree
    assert spree_across(a, b, site, ua) == [True, True, False]
    third = wait_until(lambda: a.events(ua)[1:], 10, "instance a logged no second request")[0]  # type: ignore[index]
    assert "behaviour/image-spree" in third["reasons"] and "3 images opened directly" in third["reasons"]


def test_without_redis_the_same_split_client_goes_unseen(origin, site, tmp_path):
    """The control: the same three opens across two unshared instances are each too few to notice."""
    a = Instance(origin.url, tmp_path / "a", None, "a")
    b = Instance(origin.url, tmp_path / "b", None, "b")
    try:
        assert spree_across(a, b, site, CHROME_UA.replace("131.0.0.0", "131.0.1.2")) == [True, True, True]
        alone = requests.get(a.admin + "/api/instances", headers={"Authorization": f"Bearer {a.token}"}, timeout=10)
        assert alone.status_code == 404 and "shares no state" in alone.json()["error"]
        assert a.api("/api/status")["shared"] is None
    finally:
        a.stop()
        b.stop()


def test_a_trap_followed_on_one_instance_makes_a_scraper_on_the_other(pair, site):
    a, b = pair
    ua = CHROME_UA.replace("131.0.0.0", "131.0.1.3")
    session = browser_session()
    page = session.get(a.url + "/gallery/1.html", headers=browser_headers("page", **{"User-Agent": ua}),
                       timeout=30).text
    trap = page.split('rel="nofollow noindex"')[0].rsplit('href="', 1)[1].split('"')[0]
    session.get(a.url + trap, headers=browser_headers("page", **{"User-Agent": ua}), timeout=30)
    work = full_images(site)[3]
    time.sleep(0.5)  # the trap hit is written to Redis in the background, within milliseconds
    got = session.get(f"{b.url}/images/full/{work.name}", timeout=60,
                      headers=browser_headers("image", referer=b.url + "/gallery/1.html", **{"User-Agent": ua}))
    assert got.status_code == 200 and not original(got, work)
    row = wait_until(lambda: b.events(ua), 10, "instance b logged nothing")[-1]  # type: ignore[index]
    assert row["verdict"] == "scraper" and "behaviour/trap-link" in row["reasons"]


def test_an_override_made_on_one_instance_applies_on_the_other(pair, site):
    a, b = pair
    ua = "Mozilla/5.0 (compatible; GalleryTestFetcher/1.0)"
    r = requests.post(a.admin + "/api/overrides", headers={"Authorization": f"Bearer {a.token}"}, timeout=10,
                      json={"kind": "user_agent", "value": "GalleryTestFetcher", "action": "allow",
                            "note": "our own archive"})
    assert r.status_code == 201
    added = r.json()["added"]
    wait_until(lambda: any(o["id"] == added for o in b.api("/api/overrides")["overrides"]), 15,
               "the override never reached instance b")
    work = full_images(site)[4]
    got = requests.get(f"{b.url}/images/full/{work.name}", headers={"User-Agent": ua}, timeout=60)
    assert original(got, work)
    row = wait_until(lambda: b.events(ua), 10, "instance b logged nothing")[-1]  # type: ignore[index]
    assert row["verdict"] == "human" and f"local-overrides/{added}" in row["reasons"]


def test_a_mode_switched_on_one_instance_switches_the_other(pair, site):
    a, b = pair
    work = full_images(site)[8]
    try:
        r = requests.post(a.admin + "/api/mode", json={"mode": "observe"}, timeout=10,
                          headers={"Authorization": f"Bearer {a.token}"})
        assert r.status_code == 200 and r.json()["mode"] == "observe"
        wait_until(lambda: b.api("/api/status")["mode"] == "observe", 15, "instance b never switched to observe")
        assert original(requests.get(f"{b.url}/images/full/{work.name}", headers={"User-Agent": "GPTBot/1.2"},
                                     timeout=60), work)
    finally:
        requests.post(a.admin + "/api/mode", json={"mode": "enforce"}, timeout=10,
                      headers={"Authorization": f"Bearer {a.token}"})
    wait_until(lambda: b.api("/api/status")["mode"] == "enforce", 15, "instance b never switched back")
    assert not original(requests.get(f"{b.url}/images/full/{work.name}", headers={"User-Agent": "GPTBot/1.2"},
                                     timeout=60), work)


def test_one_dashboard_reads_the_other_instances_event_log(pair):
    a, b = pair
    ua = "curl/8.0 (instance-log-test)"
    requests.get(b.url + "/contact.html", headers={"User-Agent": ua}, timeout=30)
    wait_until(lambda: b.events(ua), 10, "instance b logged nothing")
    listed = wait_until(lambda: (found := a.api("/api/instances")) and len(found["instances"]) >= 2 and found,
                        15, "instance a never listed two instances")
    assert listed["self"] == "a" and {"a", "b"} <= {i["name"] for i in listed["instances"]}  # type: ignore[index]
    theirs = a.api("/api/events?instance=b&limit=500")["events"]
    assert any(e["user_agent"] == ua for e in theirs)
    assert not any(e["user_agent"] == ua for e in a.api("/api/events?limit=500")["events"])
    assert a.api("/api/stats?instance=b")["total"] == b.api("/api/stats")["total"]
    missing = requests.get(a.admin + "/api/events?instance=nobody", timeout=10,
                           headers={"Authorization": f"Bearer {a.token}"})
    assert missing.status_code == 404 and "no such instance; the instances are" in missing.json()["error"]


def test_the_dashboard_shows_redis_and_reads_the_other_instance_in_chromium(pair):
    from browser import CHROMIUM, CHROMIUM_ARGS
    from playwright.sync_api import expect, sync_playwright

    a, b = pair
    ua = "Wget/1.21.3 (dashboard-instance-test)"
    for _ in range(3):
        requests.get(b.url + "/about.html", headers={"User-Agent": ua}, timeout=30)
    wait_until(lambda: len(b.events(ua)) == 3, 10, "instance b did not log three requests")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_context(viewport={"width": 1440, "height": 1200}).new_page()
        page.goto(a.admin + "/")
        page.fill("#token", a.token)
        page.click("#login-form button")
        expect(page.locator("#shared-pill")).to_contain_text("shared · 2 instances", timeout=15_000)
        expect(page.locator("#feed")).not_to_contain_text("dashboard-instance-test")
        expect(page.locator("#instance")).to_be_visible()
        page.select_option("#instance", "b")
        expect(page.locator("#feed")).to_contain_text("dashboard-instance-test", timeout=15_000)
        page.screenshot(path="/tmp/fixative-dashboard-instances.png", full_page=True)
        browser.close()


def test_status_and_metrics_show_both_instances_and_gallery_wide_counts(pair):
    a, b = pair
    for instance in (a, b):
        requests.get(instance.url + "/about.html", headers={"User-Agent": "curl/8.0"}, timeout=30)

    def both_listed() -> dict | None:
        shared = a.api("/api/status")["shared"]
        return shared if {i["name"] for i in shared["instances"] if i["live"]} == {"a", "b"} else None

    shared = wait_until(both_listed, 15, "instance a's status never listed both instances")
    assert shared["up"] is True and shared["instance"] == "a" and shared["lost_clients"] == 0
    assert all(i["events_readable"] for i in shared["instances"])
    assert sum(shared["totals"]["-"].values()) >= 2
    assert "fixative_shared_state_up 1.0" in a.metrics()


def test_with_redis_gone_both_keep_serving_and_nothing_is_lost_when_it_returns(pair, redis_server, site):
    a, b = pair
    ua = CHROME_UA.replace("131.0.0.0", "131.0.1.4")
    redis_server.stop()
    try:
        works = full_images(site)
        # people are still served, by both, from local state
        for instance in (a, b):
            page = browser_get_page(instance.url, "/gallery/2.html")
            assert page.status_code == 200
        # two direct opens on a while Redis is down: judged locally, kept for later
        assert original(open_directly(f"{a.url}/images/full/{works[5].name}", ua), works[5])
        assert original(open_directly(f"{a.url}/images/full/{works[6].name}", ua), works[6])
        status = wait_until(lambda: (s := a.api("/api/status")["shared"]) and not s["up"] and s, 10,
                            "instance a never said Redis is down")
        assert status["last_error"] and status["pending_clients"] >= 1  # type: ignore[index]
        assert "fixative_shared_state_up 0.0" in a.metrics()
    finally:
        redis_server.start()
    wait_until(lambda: (s := a.api("/api/status")["shared"])["up"] and s["pending_clients"] == 0, 15,
               "instance a never wrote its backlog after Redis came back")
    wait_until(lambda: b.api("/api/status")["shared"]["up"], 15, "instance b never reconnected")
    time.sleep(PACE)
    # the third open, on b, counts the two a saw during the outage
    got = open_directly(f"{b.url}/images/full/{works[7].name}", ua)
    assert not original(got, works[7])
    row = wait_until(lambda: b.events(ua), 10, "instance b logged nothing")[-1]  # type: ignore[index]
    assert "behaviour/image-spree" in row["reasons"]
    assert json.loads(row["reasons"])  # the reasons are the usual JSON list


def test_a_hung_redis_costs_a_person_at_most_the_timeout(pair, redis_server):
    """Redis accepting connections but never answering (SIGSTOP) is the worse failure: requests must not
    wait on it for longer than `shared.timeout` (0.25 s by default), and status must say so."""
    a, _ = pair
    assert redis_server.proc is not None
    redis_server.proc.send_signal(signal.SIGSTOP)
    try:
        started = time.monotonic()
        first = browser_get_page(a.url, "/gallery/3.html")
        first_wait = time.monotonic() - started
        assert first.status_code == 200 and first_wait < 5
        shared = wait_until(lambda: (s := a.api("/api/status")["shared"]) and not s["up"] and s, 10,
                            "instance a never said Redis is down")
        assert shared["last_error"]  # type: ignore[index]
        started = time.monotonic()
        for _ in range(5):  # once it is known to be down, nobody waits for it at all
            assert browser_get_page(a.url, "/about.html").status_code == 200
        print(f"first request {first_wait:.2f} s, then 5 requests in {time.monotonic() - started:.2f} s")
    finally:
        redis_server.proc.send_signal(signal.SIGCONT)
    wait_until(lambda: a.api("/api/status")["shared"]["up"], 15, "instance a never reconnected")


def test_a_wrong_password_is_reported_without_showing_it_and_the_site_still_works(origin, tmp_path, site):
    server = RedisServer(password="right-one")
    try:
        wrong = f"redis://:wrong-one@127.0.0.1:{server.port}/0"
        a = Instance(origin.url, tmp_path / "a", wrong, "a")
        try:
            output = "".join(a.proc.output)
            assert "cannot reach Redis" in output and "wrong-one" not in output
            shared = wait_until(lambda: (s := a.api("/api/status")["shared"])["last_error"] and s, 10,
                                "status never gave Redis's error")
            assert shared["up"] is False and "wrong-one" not in json.dumps(shared)  # type: ignore[index]
            assert shared["redis"] == f"redis://***@127.0.0.1:{server.port}/0"  # type: ignore[index]
            work = full_images(site)[0]
            assert original(open_directly(f"{a.url}/images/full/{work.name}", CHROME_UA), work)
        finally:
            a.stop()
        right = Instance(origin.url, tmp_path / "b", f"redis://:right-one@127.0.0.1:{server.port}/0", "b")
        try:
            wait_until(lambda: right.api("/api/status")["shared"]["up"], 10, "the right password never connected")
        finally:
            right.stop()
    finally:
        server.stop()


def browser_get_page(base: str, path: str) -> requests.Response:
    return browser_session().get(base + path, headers=browser_headers("page"), timeout=30)
