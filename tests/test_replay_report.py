"""replay/report.py: the summary's documented keys, consistent totals, and the text people read."""

from __future__ import annotations

import json

from fixative.replay.parse import Malformed
from fixative.replay.report import format_text, summarise
from fixative.replay.run import ReplayResult
from fixative.verdict import VERDICTS
from replay_helpers import loaded, replay, synthetic_lines

KEYS = {"file", "format", "compressed", "truncated", "seconds", "lines_per_second", "workers", "preset", "mode",
        "thresholds", "lines", "time", "verdicts", "treatments", "by_kind", "clients", "top_agents",
        "top_networks", "top_works", "scrapers"}


def _summary(top: int = 5) -> dict:
    r = replay(synthetic_lines(3000, seed=5))
    bad = Malformed()
    bad.note("not a log line", 7, "garbage")
    result = ReplayResult(__import__("pathlib").Path("access.log"), "combined", False, r.tally, bad, 3001, 0.5)
    return summarise(result, "balanced", "enforce", (30, 70), loaded()[2], top)


def test_documented_keys_and_consistent_totals() -> None:
    s = _summary()
    assert set(s) == KEYS and json.loads(json.dumps(s)) == s
    total = s["lines"]["replayed"]
    assert total == sum(s["verdicts"].values()) == sum(s["treatments"].values()) > 2900
    assert sum(sum(v.values()) for v in s["by_kind"].values()) == total
    assert s["clients"]["total"] == sum(s["clients"][v] for v in VERDICTS)
    assert s["lines"] == {"read": 3001, "replayed": total, "skipped": 1, "skipped_by_reason": {"not a log line": 1},
                          "skipped_examples": ["line 7: not a log line: 'garbage'"]}
    assert all(len(s[k]) <= 5 for k in ("top_agents", "top_networks", "top_works", "scrapers"))
    assert [a["requests"] for a in s["top_agents"]] == sorted((a["requests"] for a in s["top_agents"]), reverse=True)
    scraper = s["scrapers"][0]
    assert scraper["scraper"] > 0 and scraper["reasons"] and {"rule", "lines", "effect", "text"} == set(scraper["reasons"][0])
    assert s["top_networks"][0]["as"]  # the busiest networks here are clouds the shipped table knows
    assert s["time"]["first"] <= s["time"]["last"]


def test_text_report_has_every_section() -> None:
    s = _summary()
    text = format_text(s)
    for heading in ("requests by verdict", "what they would have got", "clients (address + User-Agent)",
                    "top agents", "top networks", "works most targeted", "treated as scrapers",
                    "skipped 1 malformed line: 1 not a log line"):
        assert heading in text, heading
    first = s["scrapers"][0]
    assert first["ip"] in text and first["reasons"][0]["rule"] in text
