"""The labelled evaluation (eval/evaluate.py) runs end to end in quick mode and measures every client.

This checks the harness, not the detection targets: those are measurements of code that is still
changing. Two figures are asserted because every quick run so far has held them (see eval/README.md):
img2dataset gets no original in either mode, and people get every original.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from harness import ROOT, VENV_BIN

CLIENTS = {
    "img2dataset": "scraper", "img2dataset-ignoring-noai": "scraper", "wget-mirror": "scraper",
    "curl": "scraper", "requests": "scraper", "curl-forged": "scraper", "curl-forged-pages": "scraper",
    "requests-forged": "scraper", "requests-forged-pages": "scraper", "headless-chromium": "scraper",
    "person-desktop": "person", "person-mobile": "person", "person-shared-link": "person",
    "person-hotlinking-blog": "person",
}


@pytest.mark.timeout(560)  # a busy 2-core CI: the quick run takes 1 to 4 minutes
def test_quick_evaluation_measures_every_labelled_client(tmp_path: Path):
    out = tmp_path / "evaluation.json"
    done = subprocess.run([str(VENV_BIN / "python"), str(ROOT / "eval" / "evaluate.py"), "--quick",
                           "--json", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=500)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "scrapers got the original:" in done.stdout and "people got the original:" in done.stdout

    report = json.loads(out.read_text())
    clients = {c["client"]: c for c in report["clients"]}
    assert {name: c["label"] for name, c in clients.items()} == CLIENTS
    for name, c in clients.items():
        assert c["error"] is None, f"{name}: {c['error']}"
        assert c["image_fetches"] >= 1, f"{name} has no image fetch in the event log"
    assert report["harness_failures"] == []

    totals = report["totals"]
    for key in ("scrapers", "people"):
        assert {"image_fetches", "originals", "original_share", "target", "met"} <= set(totals[key])
    people = totals["people"]
    assert people["image_fetches"] >= 30
    # Measurements that have held in every quick run so far; the forged clients' figures are not asserted.
    assert totals["img2dataset"]["image_fetches"] >= 24 and totals["img2dataset"]["originals"] == 0
    assert people["originals"] == people["image_fetches"], [c["misjudged"] for c in clients.values()
                                                            if c["label"] == "person" and c["misjudged"]]
