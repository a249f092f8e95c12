"""The admin API (make_app) over a real Runtime, a real event log and the real demo origin."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from fixative.admin import trust
from fixative.admin.app import make_app
from fixative.admin.state import AdminState, Holder, make_state
from fixative.config import load_config
from fixative.demo.site import list_works
from fixative.events import Event
from fixative.runtime import build_runtime
from harness import CHROME_UA, OriginThread, free_port
from PIL import Image

pytestmark = pytest.mark.asyncio
TOKEN = "t" * 43
AUTH = {"Authorization": f"Bearer {TOKEN}"}
WORK = list_works()[0]
GOOD_PACK = """pack: {name: extra, version: "1", description: an extra pack, licence: CC0-1.0, source: tests}
rules:
  - {id: teapot, description: a teapot, weight: 10, match: {user_agent: [teapot]}}
"""


def make_event(
    n: int,
    verdict: str = "scraper",
    ua: str = "curl/8.7.1",
    ip: str = "198.51.100.7",
    path: str | None = None,
    ts: float | None = None,
) -> Event:
    return Event(
        ts=ts or time.time(),
        client=f"{ip}/x",
        ip=ip,
        user_agent=ua,
        method="GET",
        host="example.org",
        path=path or f"/images/full/{n}.jpg",
        kind="image",
        verdict=verdict,
        score=90,
        treatment="decoy" if verdict == "scraper" else "original",
        applied=verdict == "scraper",
        status=200,
        reasons=("http-libraries/curl-wget: a download tool [+80]",),
    )


async def wait_written(state: AdminState, count: int) -> None:
    rt = state.holder.runtime
    assert rt is not None
    for _ in range(100):
        if rt.events.written >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("events were not written")


def build_state(tmp_path: Path, upstream: str, **config: object) -> AdminState:
    rt = build_runtime(load_config(None, state_dir=tmp_path, upstream=upstream, **config))
    rt.events.start()
    return make_state(Holder(rt), upstream, TOKEN)


@pytest_asyncio.fixture
async def api(aiohttp_client, origin: OriginThread, tmp_path: Path) -> AsyncIterator[tuple]:
    (tmp_path / "extra.yaml").write_text(GOOD_PACK)
    state = build_state(tmp_path, origin.url, packs=(tmp_path / "extra.yaml",))
    await state.rules.rebuild(state.holder.runtime)
    client = await aiohttp_client(make_app(state))
    yield client, state
    state.holder.runtime.close()


# -- auth, CORS and the public page ----------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": TOKEN},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": f"Bearer {TOKEN}x"},
    ],
)
async def test_every_api_path_needs_the_token(api, headers):
    client, _ = api
    for path in ("/api/status", "/api/events", "/api/stats", "/api/packs", "/metrics"):
        r = await client.get(path, headers=headers)
        assert r.status == 401, path
        body = await r.json()
        assert body["error"].startswith("unauthorized") and TOKEN not in json.dumps(body)
        assert r.headers["WWW-Authenticate"].startswith("Bearer")


async def test_dashboard_and_spec_are_public_and_locked_down(api):
    client, _ = api
    r = await client.get("/")
    assert r.status == 200 and "text/html" in r.headers["Content-Type"]
    assert "default-src 'self'" in r.headers["Content-Security-Policy"]
    assert TOKEN not in await r.text()
    assert (await client.get("/static/app.js")).status == 200
    assert (await client.get("/openapi.yaml")).status == 200


async def test_cors_answers_extensions_and_refuses_other_sites(api):
    client, state = api
    preflight = {
        "Origin": "chrome-extension://abcdefghijklmnop",
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization",
    }
    r = await client.options("/api/status", headers=preflight)
    assert r.status == 204 and r.headers["Access-Control-Allow-Origin"] == preflight["Origin"]
    assert "Authorization" in r.headers["Access-Control-Allow-Headers"]
    r = await client.get("/api/status", headers={**AUTH, "Origin": "moz-extension://1234-abcd"})
    assert (
        r.status == 200 and r.headers["Access-Control-Allow-Origin"] == "moz-extension://1234-abcd"
    )
    r = await client.get("/api/status", headers={**AUTH, "Origin": "https://evil.example"})
    assert r.status == 403 and "Access-Control-Allow-Origin" not in r.headers
    state.extension_origins = ("chrome-extension://pinned",)
    r = await client.get("/api/status", headers={**AUTH, "Origin": "chrome-extension://other"})
    assert r.status == 403
    r = await client.get("/api/status", headers={**AUTH, "Origin": "chrome-extension://pinned"})
    assert r.status == 200


# -- status, events, stats ------------------------------------------------------------------------


async def test_status_reports_mode_packs_and_upstream_health(api):
    client, _ = api
    body = await (await client.get("/api/status", headers=AUTH)).json()
    assert body["mode"] == "enforce" and body["enforcing"] is True
    assert body["versions"]["mitmproxy"].startswith("11.")
    names = [p["name"] for p in body["packs"]]
    assert names[0] == "local-overrides" and "ai-agents" in names and "extra" in names
    assert body["upstream"]["ok"] is True and body["upstream"]["status"] == 200


async def test_status_says_when_the_upstream_is_down(aiohttp_client, tmp_path: Path):
    upstream = f"http://127.0.0.1:{free_port()}"
    state = build_state(tmp_path, upstream)
    client = await aiohttp_client(make_app(state))
    body = await (await client.get("/api/status", headers=AUTH)).json()
    assert body["upstream"]["ok"] is False and body["upstream"]["error"]
    state.holder.runtime.close()


async def test_events_page_back_by_id_and_filter_by_verdict(api):
    client, state = api
    rt = state.holder.runtime
    for n in range(5):
        rt.events.record(make_event(n, "scraper" if n % 2 == 0 else "human"))
    await wait_written(state, 5)
    first = await (await client.get("/api/events?limit=2", headers=AUTH)).json()
    assert [e["path"] for e in first["events"]] == ["/images/full/4.jpg", "/images/full/3.jpg"]
    second = await (
        await client.get(f"/api/events?limit=2&before={first['next_before']}", headers=AUTH)
    ).json()
    assert [e["path"] for e in second["events"]] == ["/images/full/2.jpg", "/images/full/1.jpg"]
    scrapers = await (await client.get("/api/events?verdict=scraper", headers=AUTH)).json()
    assert {e["verdict"] for e in scrapers["events"]} == {"scraper"} and len(
        scrapers["events"]
    ) == 3
    assert scrapers["next_before"] is None
    assert scrapers["events"][0]["reasons"][0].startswith("http-libraries/curl-wget")


@pytest.mark.parametrize(
    "query, field",
    [
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("limit=abc", "limit"),
        ("limit=99999999999999999999", "limit"),
        ("before=-1", "before"),
        ("verdict=robot", "verdict"),
        ("page=2", "page"),
        ("limit=1&limit=2", "limit"),
    ],
)
async def test_absurd_paging_is_refused_naming_the_field(api, query, field):
    client, _ = api
    r = await client.get(f"/api/events?{query}", headers=AUTH)
    assert r.status == 400
    assert (await r.json())["field"] == field


async def test_stats_count_verdicts_agents_networks_and_works(api):
    client, state = api
    rt = state.holder.runtime
    now = time.time()
    for n in range(6):
        rt.events.record(
            make_event(n, ip=f"198.51.100.{n}", path="/images/full/popular.jpg", ts=now - 60)
        )
    rt.events.record(make_event(9, "human", ua=CHROME_UA, ip="192.0.2.1", ts=now - 30))
    rt.events.record(make_event(10, ts=now - 3 * 86400))  # outside the default day
    await wait_written(state, 8)
    body = await (await client.get("/api/stats", headers=AUTH)).json()
    assert body["verdicts"] == {"human": 1, "suspect": 0, "scraper": 6} and body["total"] == 7
    newest = (await (await client.get("/api/events?limit=1", headers=AUTH)).json())["events"][0]["id"]
    assert body["last_id"] == newest  # the dashboard counts live events after it, and only those
    assert body["top_agents"][0] == {
        "user_agent": "curl/8.7.1",
        "count": 6,
        "scraper": 6,
        "suspect": 0,
    }
    net = body["top_networks"][0]
    assert net["network"] == "198.51.100.0/24" and net["count"] == 6 and net["addresses"] == 6
    assert (
        body["top_works"][0]["path"] == "/images/full/popular.jpg"
        and body["top_works"][0]["count"] == 6
    )
    assert sum(b["scraper"] for b in body["series"]) == 6 and len(body["series"]) == 48
    week = await (
        await client.get(f"/api/stats?since={now - 7 * 86400}&until={now}&buckets=7", headers=AUTH)
    ).json()
    assert week["verdicts"]["scraper"] == 7 and len(week["series"]) == 7
    for bad, field in (
        (f"since={now}&until={now - 10}", "since"),
        ("since=nan", "since"),
        ("until=1e300", "until"),
        ("buckets=0", "buckets"),
    ):
        r = await client.get(f"/api/stats?{bad}", headers=AUTH)
        assert r.status == 400 and (await r.json())["field"] == field


async def test_live_stream_sends_new_events(api):
    client, state = api
    rt = state.holder.runtime
    r = await client.get("/api/events/stream", headers=AUTH)
    assert r.status == 200 and r.headers["Content-Type"].startswith("text/event-stream")
    rt.events.record(make_event(1, path="/images/full/live.jpg"))
    text = ""
    async with asyncio.timeout(10):
        while "/images/full/live.jpg" not in text:
            text += (await r.content.readany()).decode()
    block = text[text.index("event: decision") :]
    data = json.loads(block.split("data: ", 1)[1].split("\n", 1)[0])
    assert data["path"] == "/images/full/live.jpg" and data["verdict"] == "scraper"
    r.close()


# -- explain and preview --------------------------------------------------------------------------


async def test_explain_matches_the_cli(api):
    client, _ = api
    r = await client.post(
        "/api/explain", headers=AUTH, json={"user_agent": "GPTBot/1.2", "path": "/a.jpg"}
    )
    body = await r.json()
    assert body["verdict"] == "scraper" and body["decided_by"] == "ai-agents/gptbot"
    assert body["kind"] == "image" and body["treatment"] == "decoy"


@pytest.mark.parametrize(
    "payload, field",
    [
        (b"{not json", "body"),
        (b"[1, 2]", "body"),
        (b"", "body"),
        (json.dumps({"user_agent": "x", "colour": "red"}).encode(), "colour"),
        (json.dumps({"ip": "999.1.1.1"}).encode(), "ip"),
        (json.dumps({"ip": 7}).encode(), "ip"),
        (json.dumps({"path": "no-slash"}).encode(), "path"),
        (json.dumps({"headers": [["Bad Name", "x"]]}).encode(), "headers"),
        (json.dumps({"user_agent": "a\nb"}).encode(), "user_agent"),
    ],
)
async def test_explain_refuses_malformed_input(api, payload, field):
    client, _ = api
    r = await client.post(
        "/api/explain", headers={**AUTH, "Content-Type": "application/json"}, data=payload
    )
    assert r.status == 400 and (await r.json())["field"] == field


async def test_preview_gives_each_client_what_the_proxy_would(api, site: Path):
    client, _ = api
    original = (site / WORK.full_url.lstrip("/")).read_bytes()
    person = await (
        await client.get(f"/api/preview?path={WORK.full_url}&profile=person", headers=AUTH)
    ).json()
    assert person["verdict"] == "human" and person["treatment"] == "original"
    assert base64.b64decode(person["body_base64"]) == original
    assert ["X-Robots-Tag", "noai, noimageai"] in person["headers"]
    for profile in ("gptbot", "curl", "img2dataset", "forged-chrome"):
        got = await (
            await client.get(f"/api/preview?path={WORK.full_url}&profile={profile}", headers=AUTH)
        ).json()
        assert got["verdict"] != "human" and got["treatment"] in ("decoy", "watermark"), profile
        body = base64.b64decode(got["body_base64"])
        assert body != original and Image.open(io.BytesIO(body)).size[0] > 0
        names = {k.lower(): v for k, v in got["headers"]}
        assert names["cache-control"] == "private, no-store" and "etag" not in names
    raw = await client.get(f"/api/preview?path={WORK.full_url}&profile=gptbot&raw=1", headers=AUTH)
    assert raw.status == 200 and raw.headers["X-Fixative-Treatment"] == "decoy"
    assert raw.headers["Content-Type"] == "image/jpeg" and await raw.read() != original


async def test_preview_in_observe_mode_serves_originals(api, site: Path):
    client, _ = api
    assert (await client.post("/api/mode", headers=AUTH, json={"mode": "observe"})).status == 200
    got = await (
        await client.get(f"/api/preview?path={WORK.full_url}&profile=gptbot", headers=AUTH)
    ).json()
    assert got["verdict"] == "scraper" and got["applied"] is False
    assert base64.b64decode(got["body_base64"]) == (site / WORK.full_url.lstrip("/")).read_bytes()


@pytest.mark.parametrize(
    "path",
    [
        "http://evil.example/",
        "https://127.0.0.1:1/x",
        "//evil.example/x",
        "/..%2f..%2fetc/passwd",
        "/%2e%2e/secret",
        "/images/../../x",
        "evil.example/x",
        "/a\\b",
        "/%2F%2Fevil.example",
        "",
        "/ok#frag",
        "@evil.example/",
    ],
)
async def test_preview_never_leaves_the_protected_site(api, path):
    client, _ = api
    r = await client.get("/api/preview", params={"path": path, "profile": "curl"}, headers=AUTH)
    assert r.status == 400 and (await r.json())["field"] == "path"


# -- packs, overrides, mode, trust ----------------------------------------------------------------


async def explain_verdict(client, ua: str, ip: str = "203.0.113.7") -> dict:
    return await (
        await client.post("/api/explain", headers=AUTH, json={"user_agent": ua, "ip": ip})
    ).json()


async def test_disabling_a_pack_takes_effect_and_is_saved(api):
    client, state = api
    r = await client.post(
        "/api/packs", headers=AUTH, json={"action": "disable", "name": "ai-agents"}
    )
    packs = {p["name"]: p for p in (await r.json())["packs"]}
    assert packs["ai-agents"]["enabled"] is False and packs["ai-agents"]["loaded"] is False
    assert (await explain_verdict(client, "GPTBot/1.2"))["decided_by"] != "ai-agents/gptbot"
    assert "ai-agents" in (state.state_dir / "admin-packs.yaml").read_text()
    await client.post("/api/packs", headers=AUTH, json={"action": "enable", "name": "ai-agents"})
    assert (await explain_verdict(client, "GPTBot/1.2"))["decided_by"] == "ai-agents/gptbot"
    for payload, field, status in (
        ({"action": "disable", "name": "nope"}, "name", 404),
        ({"action": "disable"}, "name", 400),
        ({"action": "explode"}, "action", 400),
        ({"action": "disable", "name": "local-overrides"}, "name", 404),
        ({"action": "reload", "name": ""}, "name", 400),  # found by schemathesis: the schema says minLength 1
    ):
        r = await client.post("/api/packs", headers=AUTH, json=payload)
        assert r.status == status and (await r.json())["field"] == field


async def test_a_bad_pack_on_reload_is_refused_and_the_running_rules_stay(api, tmp_path: Path):
    client, state = api
    rt = state.holder.runtime
    rules_before = rt.rules
    (tmp_path / "extra.yaml").write_text(GOOD_PACK.replace("weight: 10", "weight: lots"))
    r = await client.post("/api/packs", headers=AUTH, json={"action": "reload"})
    assert r.status == 422
    body = await r.json()
    assert any('rule "teapot": weight' in p for p in body["problems"])
    assert rt.rules is rules_before
    assert (await explain_verdict(client, "GPTBot/1.2"))["verdict"] == "scraper"
    (tmp_path / "extra.yaml").write_text(GOOD_PACK.replace("weight: 10", "weight: 35"))
    assert (await client.post("/api/packs", headers=AUTH, json={"action": "reload"})).status == 200
    assert (await explain_verdict(client, "teapot"))["score"] >= 35


async def test_overrides_allow_and_deny_first_and_survive_a_restart(
    api, aiohttp_client, origin: OriginThread
):
    client, state = api
    r = await client.post(
        "/api/overrides",
        headers=AUTH,
        json={"kind": "ip", "value": "198.51.100.0/24", "action": "deny", "note": "a scraper farm"},
    )
    assert r.status == 201
    deny_id = (await r.json())["added"]
    await client.post(
        "/api/overrides",
        headers=AUTH,
        json={"kind": "ip", "value": "198.51.100.7", "action": "allow"},
    )
    await client.post(
        "/api/overrides",
        headers=AUTH,
        json={"kind": "user_agent", "value": "GPTBot", "action": "allow"},
    )
    farm = await explain_verdict(client, CHROME_UA, "198.51.100.9")
    assert farm["verdict"] == "scraper" and farm["decided_by"] == f"local-overrides/{deny_id}"
    assert (await explain_verdict(client, CHROME_UA, "198.51.100.7"))["verdict"] == "human"
    assert (await explain_verdict(client, "GPTBot/1.2"))["decided_by"].startswith(
        "local-overrides/allow-ua-"
    )
    # a restart: a new Runtime and backend over the same state dir put the saved list in force
    again = build_state(state.state_dir, origin.url)
    await again.rules.rebuild(again.holder.runtime)
    other = await aiohttp_client(make_app(again))
    assert (await explain_verdict(other, CHROME_UA, "198.51.100.9"))["verdict"] == "scraper"
    again.holder.runtime.close()
    r = await client.delete(f"/api/overrides?id={deny_id}", headers=AUTH)
    assert deny_id not in json.dumps(await r.json())
    assert (await explain_verdict(client, CHROME_UA, "198.51.100.9"))["verdict"] == "human"
    assert (await client.delete(f"/api/overrides?id={deny_id}", headers=AUTH)).status == 404


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"kind": "ip", "value": "10.0.0.300", "action": "deny"}, "value"),
        ({"kind": "cookie", "value": "x", "action": "deny"}, "kind"),
        ({"kind": "ip", "value": "10.0.0.1", "action": "maybe"}, "action"),
        ({"kind": "user_agent", "value": "ab", "action": "deny"}, "value"),
        ({"kind": "ip", "value": "10.0.0.1"}, "action"),
        ({"kind": "ip", "value": "10.0.0.1", "action": "deny", "extra": 1}, "extra"),
    ],
)
async def test_bad_overrides_are_refused_naming_the_field(api, payload, field):
    client, _ = api
    r = await client.post("/api/overrides", headers=AUTH, json=payload)
    assert r.status == 400 and (await r.json())["field"] == field


async def test_mode_switches_at_once(api):
    client, state = api
    r = await client.post("/api/mode", headers=AUTH, json={"mode": "observe"})
    assert await r.json() == {"mode": "observe", "enforcing": False, "site": None, "sites": []}
    assert state.holder.runtime.config.mode == "observe"
    r = await client.post("/api/mode", headers=AUTH, json={"mode": "panic"})
    assert r.status == 400 and (await r.json())["field"] == "mode"
    r = await client.post("/api/mode", headers=AUTH, json={"mode": "enforce", "site": "mara"})
    assert r.status == 404 and "this proxy serves one site" in (await r.json())["error"]
    assert state.holder.runtime.config.mode == "observe"


async def test_trust_browser_cookie_is_signed_by_this_install(api):
    client, state = api
    body = await (await client.post("/api/trust-browser", headers=AUTH)).json()
    secret = state.holder.runtime.secret
    assert body["name"] == "fx_trusted" and trust.is_trusted(secret, body["value"], time.time())
    assert not trust.is_trusted(secret, body["value"][:-2] + "xx", time.time())
    assert not trust.is_trusted(b"another install's secret" * 2, body["value"], time.time())
    assert "HttpOnly" in body["set_cookie"] and body["value"] in body["set_cookie"]


async def test_metrics_count_decisions_and_read_the_runtime(api):
    client, state = api
    from fixative.verdict import Decision, Reason

    decision = Decision("scraper", 80, (Reason("ai-agents", "gptbot", "GPTBot", 0, "deny"),))
    state.metrics.observe(decision, "decoy", True, 0.02)
    text = await (await client.get("/metrics", headers=AUTH)).text()
    assert 'fixative_requests_total{applied="true",site="",treatment="decoy",verdict="scraper"} 1.0' in text
    assert 'fixative_rule_hits_total{rule="ai-agents/gptbot",site=""} 1.0' in text
    assert "fixative_treatment_seconds_bucket" in text and "fixative_render_cache_hit_ratio" in text
    assert "fixative_clients_tracked 0.0" in text
