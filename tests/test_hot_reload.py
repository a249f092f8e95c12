"""Hot reload: a real `fixative run` whose pack file is edited in place, broken, and reloaded on SIGHUP;
plus the watcher's pure parts."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from fixative.addons.reload import changed, snapshot
from fixative.addons.subscriptions import first_delay
from harness import start_fixative
from test_subscriptions import PackServer, logged, status_for, wait_until

PACK = """pack: {{name: local-pack, version: "1", description: my own rules, licence: CC0-1.0, source: tests}}
rules:
  - id: deny-it
    description: a client I deny
    action: deny
    match: {{user_agent: [{token}]}}
"""


def test_snapshot_notices_size_mtime_and_replacement_and_missing_files(tmp_path: Path):
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text("one")
    before = snapshot([a, b])
    assert before[str(b)] is None and changed(before, snapshot([a, b])) == []
    a.write_text("two!")
    assert changed(before, snapshot([a, b])) == [str(a)]
    b.write_text("new")
    assert changed(before, snapshot([a, b])) == [str(a), str(b)]


def test_first_fetch_waits_only_for_what_is_left_of_the_interval():
    assert first_delay(None, 3600, 1000) == 0
    assert first_delay({"checked": 1000 - 600}, 3600, 1000) == 3000
    assert first_delay({"checked": 1000 - 7200}, 3600, 1000) == 0
    assert first_delay({"checked": 1000 + 99999}, 3600, 1000) == 3600  # a clock set back


def test_pack_edits_apply_broken_packs_are_refused_and_sighup_reloads(tmp_path: Path):
    origin = PackServer()
    origin.files["/about.html"] = b"<!doctype html><title>About</title>"
    pack = tmp_path / "local.yaml"
    pack.write_text(PACK.format(token="Fixfoo"))
    config = tmp_path / "fixative.yaml"
    config.write_text(f"policy:\n  scraper: {{page: block}}\npacks: [{pack.name}]\n")
    proxy = start_fixative(origin.url, tmp_path / "state", "--config", str(config))
    try:
        assert status_for(proxy, "Fixfoo") == 403 and status_for(proxy, "Zapfoo") == 200

        # Edited in place: the next requests see the new rule.
        pack.write_text(PACK.format(token="Zapfoo"))
        wait_until(lambda: status_for(proxy, "Zapfoo") == 403, "the edited pack to apply", proxy)
        assert status_for(proxy, "Fixfoo") == 200

        # Broken: the loader's file:line message is logged; the running rules stay.
        mark = len(proxy.output)
        pack.write_text(PACK.format(token="Fixfoo").replace("action: deny", "action: dney"))
        wait_until(lambda: logged(proxy, "refused, the running rules stay in force", mark),
                   "the broken pack to be refused", proxy)
        assert logged(proxy, "file change: local.yaml", mark)
        assert logged(proxy, f"{pack}:5: rule \"deny-it\": action:", mark)
        assert status_for(proxy, "Zapfoo") == 403 and status_for(proxy, "Fixfoo") == 200

        # Fixed again: in force at the next poll.
        pack.write_text(PACK.format(token="Fixfoo"))
        wait_until(lambda: status_for(proxy, "Fixfoo") == 403, "the fixed pack to apply", proxy)

        # SIGHUP: a change the watcher cannot see (same size, same mtime, same file) is applied on the signal.
        stat = pack.stat()
        with open(pack, "r+") as f:
            f.write(PACK.format(token="Quxfoo"))
        os.utime(pack, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        time.sleep(2.0 + 0.5)  # a poll: the watcher does not notice
        assert status_for(proxy, "Quxfoo") == 200
        proxy.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: status_for(proxy, "Quxfoo") == 403, "SIGHUP to reload", proxy, timeout=10)
        assert status_for(proxy, "Fixfoo") == 200 and proxy.proc.poll() is None
    finally:
        proxy.stop()
        origin.stop()
