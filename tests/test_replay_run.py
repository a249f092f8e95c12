"""replay/run.py: a whole file, in one process or split by client address; both give the same summary."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from fixative.replay.parse import NOT_A_LOG_LINE, TRUNCATED
from fixative.replay.report import summarise
from fixative.replay.run import replay_file
from replay_helpers import loaded, log_generator

TIMING = ("seconds", "lines_per_second", "workers")


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """8,000 synthetic lines (a few of them garbage) and two more garbage lines."""
    path = tmp_path_factory.mktemp("run") / "access.log"
    text = "".join(log_generator().generate(8_000, seed=3))
    path.write_text("\x00\x01 not a log line\n" + text + "also not a log line\n")
    return path


def _summary(path: Path, workers: int, fmt: str = "auto") -> dict:
    config, rules, asn = loaded()
    result = replay_file(path, fmt, config, rules, asn, workers=workers)
    summary = summarise(result, "balanced", "enforce", (30, 70), asn, top=50)
    return {k: v for k, v in summary.items() if k not in TIMING}


def test_split_by_client_gives_the_same_summary(log: Path) -> None:
    one, two = _summary(log, 1), _summary(log, 2)
    assert one == two
    assert one["lines"]["read"] == 8_002 and one["lines"]["skipped"] >= 2
    assert one["lines"]["replayed"] + one["lines"]["skipped"] == one["lines"]["read"]
    assert one["lines"]["skipped_by_reason"][NOT_A_LOG_LINE] >= 2


def test_json_lines_split_by_client_too(log: Path, tmp_path: Path) -> None:
    from fixative.replay.parse import parse_combined

    records = []
    for line in log.read_text().splitlines()[1:3000]:
        try:
            item = parse_combined(line)
        except ValueError:
            continue
        records.append(json.dumps({"ip": item.ip, "time": item.time, "method": item.method, "path": item.path,
                                   "status": item.status, "referer": item.referer, "user_agent": item.user_agent}))
    path = tmp_path / "access.json"
    path.write_text("\n".join(["{not json", *records]) + "\n")
    one, two = _summary(path, 1), _summary(path, 2)
    assert one == two and one["format"] == "json" and one["lines"]["skipped"] == 1
    assert one["lines"]["replayed"] == len(records)


def test_truncated_gzip_is_replayed_up_to_the_cut(log: Path, tmp_path: Path) -> None:
    body = gzip.compress(log.read_bytes())
    path = tmp_path / "access.log.1"
    path.write_bytes(body[: len(body) * 3 // 4])
    for workers in (1, 2):
        summary = _summary(path, workers)
        assert summary["compressed"] and summary["truncated"]
        assert summary["lines"]["skipped_by_reason"][TRUNCATED] == 1
        assert 2_000 < summary["lines"]["replayed"] < 8_000
