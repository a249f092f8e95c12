"""Route (addons/route.py) and what several sites share: routing by Host, the unknown-Host answer,
runtime_for, rebuilds of every site's rules, the event log's site column, `fixative run` checks."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from mitmproxy.test import tflow

from fixative.addons.record import NO_SITE
from fixative.addons.route import MISDIRECTED, Route
from fixative.addons.settings import SITE, Settings
from fixative.admin.overrides import Override
from fixative.admin.rulectl import RuleControl
from fixative.cli import main
from fixative.config import load_config
from fixative.events import COLUMNS, Event, EventLog
from fixative.facts import Facts
from fixative.runtime import Runtime, build_runtime

SITES = """\
sites:
  - {name: a, hosts: [a.example], upstream: 'http://127.0.0.1:9001', artist: Ann}
  - {name: b, hosts: ['b.example:8443'], upstream: 'https://origin-b.internal:9443', artist: Ben}
unknown_host: {status: 404, message: "no gallery here"}
"""


@pytest.fixture
def sites_runtime(tmp_path: Path) -> Iterator[Runtime]:
    path = tmp_path / "sites.yaml"
    path.write_text(SITES, encoding="utf-8")
    rt = build_runtime(load_config(path, state_dir=tmp_path / "state"))
    yield rt
    rt.close()


@pytest.fixture
def one_runtime(tmp_path: Path) -> Iterator[Runtime]:
    rt = build_runtime(load_config(None, state_dir=tmp_path / "state"))
    yield rt
    rt.close()


def make_flow(host: str):  # type: ignore[no-untyped-def]
    """A live request as reverse mode hands it over: aimed at the placeholder upstream, the client's Host kept."""
    flow = tflow.tflow()
    flow.live = True
    flow.request.scheme, flow.request.host, flow.request.port = "http", "127.0.0.1", 1
    flow.request.headers["Host"] = host
    return flow


def test_without_sites_route_does_nothing(one_runtime: Runtime) -> None:
    settings = Settings(one_runtime)
    flow = make_flow("anything.example")
    Route(settings).request(flow)
    assert flow.response is None and SITE not in flow.metadata and flow.request.port == 1
    assert settings.runtime_for(flow) is one_runtime


@pytest.mark.parametrize(("host", "site", "target"), [
    ("a.example", "a", ("http", "127.0.0.1", 9001)),
    ("A.EXAMPLE:8080", "a", ("http", "127.0.0.1", 9001)),
    ("b.example:8443", "b", ("https", "origin-b.internal", 9443)),
])
def test_the_host_chooses_the_site_and_its_upstream(sites_runtime: Runtime, host: str, site: str,
                                                    target: tuple[str, str, int]) -> None:
    settings = Settings(sites_runtime)
    flow = make_flow(host)
    Route(settings).request(flow)
    assert flow.response is None
    assert flow.metadata[SITE] is sites_runtime.sites[site] is settings.runtime_for(flow)
    assert settings.runtime_for(flow).config.artist == {"a": "Ann", "b": "Ben"}[site]
    assert (flow.request.scheme, flow.request.host, flow.request.port) == target
    assert flow.request.headers["Host"] == host  # Classify still sees the client's Host


@pytest.mark.parametrize("host", ["c.example", "b.example", "b.example:443", ""])
def test_an_unknown_host_gets_the_configured_answer(sites_runtime: Runtime, host: str) -> None:
    flow = make_flow(host)
    Route(Settings(sites_runtime)).request(flow)
    assert flow.response is not None
    assert (flow.response.status_code, flow.response.content) == (404, b"no gallery here\n")
    assert flow.response.headers["Cache-Control"] == "private, no-store"
    assert flow.metadata["fixative.treatment"] == MISDIRECTED and "fixative.decision" in flow.metadata
    assert SITE not in flow.metadata and flow.request.port == 1


def test_already_handled_flows_are_left_alone(sites_runtime: Runtime) -> None:
    flow = make_flow("c.example")
    flow.response = answered = tflow.tresp()
    Route(Settings(sites_runtime)).request(flow)
    assert flow.response is answered and flow.metadata == {}


def test_default_site_serves_unknown_hosts(tmp_path: Path) -> None:
    path = tmp_path / "sites.yaml"
    path.write_text(SITES.replace('unknown_host: {status: 404, message: "no gallery here"}', "default_site: b"))
    rt = build_runtime(load_config(path, state_dir=tmp_path / "state"))
    try:
        flow = make_flow("c.example")
        Route(Settings(rt)).request(flow)
        assert flow.response is None and flow.metadata[SITE] is rt.sites["b"]
    finally:
        rt.close()


def test_sites_share_the_secret_events_and_renderer_but_not_behaviour(sites_runtime: Runtime) -> None:
    a, b = sites_runtime.sites["a"], sites_runtime.sites["b"]
    assert a.secret == b.secret == sites_runtime.secret
    assert a.events is b.events is sites_runtime.events and a.renderer is b.renderer is sites_runtime.renderer
    assert a.clients is not b.clients and a.sitemap is not b.sitemap
    assert (a.site, b.site, sites_runtime.site) == ("a", "b", None)


def test_a_rebuild_puts_overrides_in_force_on_every_site(sites_runtime: Runtime) -> None:
    control = RuleControl(sites_runtime.config.state_dir)
    deny = Override(kind="user_agent", value="NastyBot", action="deny")
    asyncio.run(control.rebuild(sites_runtime, overrides=[deny]))
    facts = Facts(ip="203.0.113.9", user_agent="NastyBot/1.0", path="/", method="GET", headers=(), time=0.0)
    for rt in (sites_runtime, *sites_runtime.sites.values()):
        assert rt.classifier.classify(facts).verdict == "scraper", rt.site


def test_an_old_event_log_gains_the_site_column(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite3"
    with sqlite3.connect(path) as conn:  # the schema before `sites:`
        conn.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, ts REAL NOT NULL, client TEXT NOT NULL, "
                     "ip TEXT NOT NULL, user_agent TEXT, method TEXT NOT NULL, host TEXT, path TEXT NOT NULL, "
                     "kind TEXT NOT NULL, verdict TEXT NOT NULL, score INTEGER NOT NULL, treatment TEXT NOT NULL, "
                     "applied INTEGER NOT NULL, status INTEGER, reasons TEXT NOT NULL)")
        conn.execute("INSERT INTO events (ts, client, ip, method, path, kind, verdict, score, treatment, applied, "
                     "reasons) VALUES (?, 'c', '192.0.2.1', 'GET', '/old', 'page', 'human', 0, 'original', 0, '[]')", (time.time(),))
    log = EventLog(path, flush_interval=0.01)
    log.start()
    log.record(Event(ts=time.time(), client="c", ip="192.0.2.1", user_agent=None, method="GET", host="a.example",
                     path="/new", kind="page", verdict="human", score=0, treatment="original", applied=False,
                     status=200, reasons=(), site="a"))
    log.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT path, site FROM events ORDER BY id").fetchall() == [("/old", None), ("/new", "a")]
    assert COLUMNS[-1] == "site" and NO_SITE == "-"


def test_run_with_sites_refuses_upstream_on_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                             ) -> None:
    path = tmp_path / "sites.yaml"
    path.write_text(SITES, encoding="utf-8")
    code = main(["run", "--config", str(path), "--upstream", "http://127.0.0.1:1", "--state-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "has `sites:`, each with its own upstream; leave out --upstream" in err


def test_sites_without_keep_host_header_are_warned_about(sites_runtime: Runtime,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    from mitmproxy.addons.proxyserver import Proxyserver  # declares keep_host_header
    from mitmproxy.test import taddons

    settings = Settings(sites_runtime)
    route = Route(settings)
    with taddons.context(Proxyserver(), settings, route) as tctx:
        tctx.configure(route, keep_host_header=True)
        assert "keep_host_header" not in caplog.text
        tctx.configure(route, keep_host_header=False)
    assert "run mitmproxy with --set keep_host_header=true" in caplog.text
