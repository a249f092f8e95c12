"""img2dataset, the downloader LAION used, run for real against the protected demo gallery.

It fetches image URLs from a list, never the pages, with a 2020 Firefox User-Agent and
urllib's headers. By default it honours X-Robots-Tag noai and keeps nothing; with
--disallowed_header_directives '[]' it keeps what it gets, which must never be an original.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from fixative.demo.site import list_works
from harness import VENV_BIN, start_fixative

IMG2DATASET_UA = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:72.0) Gecko/20100101 Firefox/72.0"


def run_img2dataset(proxy_url: str, tmp: Path, *extra: str) -> dict:
    urls = tmp / "urls.txt"
    urls.write_text("".join(f"{proxy_url}{w.full_url}\n" for w in list_works()))
    out = tmp / "out"
    subprocess.run([str(VENV_BIN / "img2dataset"), "--url_list", str(urls), "--output_folder", str(out),
                    "--input_format", "txt", "--output_format", "files", "--processes_count", "1",
                    "--thread_count", "8",
                    # its 10 s default would count slow decoy renders on a busy 2-core CI as "timed out";
                    # nothing else of its behaviour changes
                    "--timeout", "60", *extra],
                   check=True, capture_output=True, timeout=240,
                   env={**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1"})
    return json.loads((out / "00000_stats.json").read_text())


def image_events(db: Path, expected: int) -> list[tuple[str, str, str]]:
    deadline = time.monotonic() + 10
    while True:
        with sqlite3.connect(db) as conn:
            rows = conn.execute("SELECT verdict, treatment, reasons FROM events WHERE user_agent = ? AND kind = 'image'",
                                (IMG2DATASET_UA,)).fetchall()
        if len(rows) >= expected or time.monotonic() > deadline:
            return rows
        time.sleep(0.2)


@pytest.mark.parametrize("honours_optout", [True, False], ids=["defaults", "ignoring-noai"])
def test_img2dataset_never_gets_an_original(origin, tmp_path: Path, honours_optout: bool):
    proxy = start_fixative(origin.url, tmp_path / "state")
    try:
        extra = [] if honours_optout else ["--disallowed_header_directives", "[]"]
        stats = run_img2dataset(proxy.url, tmp_path, *extra)
        events = image_events(tmp_path / "state" / "events.sqlite3", len(list_works()))
    finally:
        proxy.stop()
    assert stats["count"] == len(list_works())
    if honours_optout:
        assert stats["successes"] == 0
        assert set(stats["status_dict"]) == {"Use of image disallowed by X-Robots-Tag directive"}
    else:
        assert stats["successes"] == len(list_works())
    assert len(events) == len(list_works())
    originals = [e for e in events if e[1] == "original"]
    assert originals == [], f"{len(originals)} originals went to img2dataset: {originals[:2]}"
