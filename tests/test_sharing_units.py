"""The pure parts of sharing state between instances: settings, deltas, merging views and overrides."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from fixative.admin.overrides import Override
from fixative.behaviour.store import RECENT, ClientState
from fixative.config import ConfigError, load_config
from fixative.sharing import overrides as shared_overrides
from fixative.sharing.delta import ClientDelta, SharedView, adopt
from fixative.sharing.redisops import client_key, parse_read, write_args
from fixative.sharing.settings import redact
from fixative.sharing.tracked import DeltaLog, SharingClientStore
from harness import VENV_BIN


def problems(tmp_path: Path, text: str) -> str:
    path = tmp_path / "fixative.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return str(info.value)


def test_shared_accepts_a_url_or_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "fixative.yaml"
    path.write_text("shared: redis://10.0.0.5:6379/2\n")
    assert load_config(path).shared.redis == "redis://10.0.0.5:6379/2"  # type: ignore[union-attr]
    path.write_text("shared:\n  redis: unix:///run/redis.sock\n  prefix: gallery-one\n  instance: web-2\n"
                    "  timeout: 0.5\n")
    shared = load_config(path).shared
    assert shared is not None and (shared.prefix, shared.instance, shared.timeout) == ("gallery-one", "web-2", 0.5)
    assert load_config(None).shared is None  # the default: no server needed


@pytest.mark.parametrize(("text", "expected"), [
    ("shared: http://127.0.0.1:6379\n", ":1: shared: redis: 'http://127.0.0.1:6379' is not a Redis URL; use"),
    ("shared:\n  prefix: x\n", ":1: shared: needs `redis: URL`"),
    ("shared:\n  redis: redis://h:6379\n  timeout: 60\n", ":3: shared: timeout: expected seconds from 0.01 to 10"),
    ("shared:\n  redis: redis://h:6379\n  instance: 'a b'\n", ":3: shared: instance: expected 1 to 64 letters"),
    ("shared:\n  redis: redis://h:6379\n  pool: 3\n", ":3: shared: pool: unknown; use redis, prefix"),
    ("shared:\n  redis: redis://h:6379\n  fresh_for: -1\n", ":3: shared: fresh_for: expected seconds from 0 to 60"),
    ("shared: [1]\n", ":1: shared: expected a mapping or a Redis URL"),
    ("shared: redis://h:port\n", "has a bad port"),
])
def test_bad_shared_settings_say_where_and_what_to_do(tmp_path: Path, text: str, expected: str) -> None:
    found = problems(tmp_path, text)
    assert expected in found and "Expected {redis: redis://HOST:6379/0" in found


def test_run_refuses_a_bad_redis_url_and_an_instance_without_redis(tmp_path: Path) -> None:
    base = [str(VENV_BIN / "fixative"), "run", "--upstream", "http://127.0.0.1:9", "--state-dir", str(tmp_path)]
    bad = subprocess.run([*base, "--redis", "localhost:6379"], capture_output=True, text=True, timeout=60, check=False)
    assert bad.returncode != 0 and "--redis: 'localhost:6379' is not a Redis URL" in bad.stderr
    lone = subprocess.run([*base, "--instance", "web-1"], capture_output=True, text=True, timeout=60, check=False)
    assert lone.returncode != 0 and "give --redis URL too" in lone.stderr


def tracked(cap: int = 100) -> tuple[SharingClientStore, DeltaLog]:
    store = SharingClientStore("-", max_clients=cap)
    return store, store.log


def test_the_backlog_is_no_bigger_than_the_store_may_be() -> None:
    store = SharingClientStore("site-a", max_clients=100_000, max_bytes=12_000 * 50)
    assert store.log.cap == store.max_clients == 50 and store.log.scope == "site-a"


def test_every_change_to_a_tracked_state_becomes_a_delta() -> None:
    store, log = tracked()
    state = store.get("a:1.2.3.4 UA", 100.0)
    assert len(log) == 0  # a new client is not a change until it does something
    state.note_request(101.0, "image", "/images/full/a.jpg", orphan=True, direct_open=True)
    state.note_request(102.0, "page", "/gallery/1.html", orphan=False)
    state.robots_read = True
    state.trapped = "/trap/x.html"
    state.optout_seen += 2
    delta = log.pending["a:1.2.3.4 UA"]
    assert delta.counts == {"images": 1, "orphan_images": 1, "pages": 1, "optout_seen": 2}
    assert delta.times == [101.0, 102.0] and delta.direct == [101.0]
    assert delta.paths == {"/images/full/a.jpg"} and delta.robots_read and delta.trapped == "/trap/x.html"


def test_the_backlog_is_bounded_and_a_failed_write_is_put_back_in_front() -> None:
    store, log = tracked(cap=3)
    for n in range(5):
        store.get(f"k{n}", 1.0).pages += 1
    assert list(log.pending) == ["k2", "k3", "k4"] and log.lost == 2
    taken = log.take(2)
    store.get("k2", 2.0).pages += 1  # changed again while its write was in flight
    assert log.unwritten("k2").counts == {"pages": 2}  # a read meanwhile still sees both changes
    assert log.unwritten("k3").counts == {"pages": 1}
    log.put_back(taken)
    assert list(log.pending)[:2] == ["k2", "k3"] and log.pending["k2"].counts == {"pages": 2}
    assert not log.in_flight
    log.written(log.take(5))
    assert not log.in_flight and log.unwritten("k2") is None


def test_adopting_the_shared_view_adds_what_is_not_written_yet() -> None:
    state = ClientState(first_seen=50.0, last_seen=60.0)
    view = SharedView(first_seen=10.0, last_seen=40.0, counts={"pages": 3, "images": 7}, robots_read=False,
                      trapped=None, times=[float(t) for t in range(100)], paths={"/a", "/b"}, direct=[30.0])
    pending = ClientDelta(first_seen=55.0, last_seen=60.0, counts={"images": 1}, robots_read=True,
                          times=[100.5], paths={"/c"}, direct=[60.0])
    adopt(state, view, pending)
    assert (state.first_seen, state.last_seen, state.pages, state.images) == (10.0, 60.0, 3, 8)
    assert state.robots_read and state.image_paths == {"/a", "/b", "/c"}
    assert len(state.times) == RECENT and state.times[-1] == 100.5
    assert list(state.direct_image_opens) == [30.0, 60.0]


def test_redis_replies_become_a_view_and_client_keys_are_short() -> None:
    assert parse_read([[], [], [], []]) is None
    view = parse_read([[b"first_seen", b"1.5", b"pages", b"2", b"trapped", b"/t/x", b"robots_read", b"1"],
                       [b"1.5", b"2.5"], [b"/a"], [b"2.5"]])
    assert view is not None and view.counts["pages"] == 2 and view.trapped == "/t/x" and view.robots_read
    assert view.times == [1.5, 2.5] and view.paths == {"/a"} and view.counts["images"] == 0
    key = client_key("fixative", "site-a", "a:203.0.113.9 " + "Mozilla " * 80)
    assert key.startswith("fixative:c:site-a:") and len(key) < 60


def test_a_delta_is_one_scripts_arguments_in_the_order_the_script_reads_them() -> None:
    delta = ClientDelta(first_seen=1.0, last_seen=2.0, counts={"images": 2, "pages": 1}, robots_read=True,
                        trapped="/t/x", times=[1.0, 2.0], paths={"/b", "/a"}, direct=[2.0])
    assert write_args(delta, 1800) == [1800, "1.0", "2.0", "1", "/t/x", 1, 2, 0, 0, 2, "1.0", "2.0",
                                       2, "/a", "/b", 1, "2.0", RECENT, 16]


def o(value: str, action: str = "deny", note: str = "") -> Override:
    return Override("user_agent", value, action, note, 1.0)


def test_overrides_merge_three_ways() -> None:
    base = [o("Alpha"), o("Beta")]
    local = [o("Alpha"), o("Gamma")]          # this instance removed Beta, added Gamma (Redis was down)
    remote = [o("Alpha"), o("Beta"), o("Delta", "allow")]  # another added Delta meanwhile
    merged = shared_overrides.merge(base, local, remote)
    assert sorted(x.value for x in merged) == ["Alpha", "Delta", "Gamma"]
    # first contact (no base): nobody's entries are dropped
    assert {x.value for x in shared_overrides.merge([], [o("Mine")], [o("Theirs")])} == {"Mine", "Theirs"}
    assert shared_overrides.same([o("A", note="x")], [o("A", note="x")])
    assert not shared_overrides.same([o("A", note="x")], [o("A", note="y")])


def test_overrides_round_trip_and_a_broken_copy_in_redis_is_ignored() -> None:
    entries = [o("Alpha", note="farm"), Override("ip", "198.51.100.0/24", "allow", "", 2.0)]
    assert shared_overrides.same(shared_overrides.decode(shared_overrides.encode(entries, "a")) or [], entries)
    assert shared_overrides.decode(None) is None
    assert shared_overrides.decode(b"{not json") is None
    assert shared_overrides.decode('{"overrides": [{"kind": "ip"}]}') is None


def test_a_password_in_the_redis_url_never_reaches_logs_or_status() -> None:
    assert redact("redis://:s3cret@10.0.0.5:6379/0") == "redis://***@10.0.0.5:6379/0"
    assert redact("rediss://fixative:s3cret@cache.example:6380/1") == "rediss://***@cache.example:6380/1"
    assert redact("redis://10.0.0.5:6379/0") == "redis://10.0.0.5:6379/0"
