"""Traceable copies: the mark survives re-encoding and resizing, the budget bounds the work,
sightings land in SQLite, and `fixative trace` names the client of a copy fetched through the proxy.
"""

from __future__ import annotations

import asyncio
import io
import json
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fixative.demo.site import list_works
from fixative.traces import Sighting, TraceBudget, TraceLog, lookup
from fixative.treatments.diskcache import DiskCache
from fixative.treatments.service import RenderService
from fixative.treatments.tracemark import MIN_SIDE, mark_image, read_tag, tag_for
from harness import OriginThread, ProxyProcess
from PIL import Image
from treat_helpers import PERSON_UA, SCRAPER_UA, SUSPECT_UA, fetch, fixative_cli, start_proxy

KEY = b"k" * 32
WORKS = list_works()


def art(size: tuple[int, int], seed: int) -> Image.Image:
    w, h = size
    y, x = np.mgrid[0:h, 0:w]
    rng = np.random.default_rng(seed)
    fx, fy = rng.uniform(5, 40, 2)
    rgb = np.stack([128 + 100 * np.sin(x / fx), 128 + 100 * np.cos(y / fy), 255 * x / w], -1)
    return Image.fromarray(np.clip(rgb + rng.normal(0, 8, (h, w, 3)), 0, 255).astype(np.uint8), "RGB")


def jpeg(img: Image.Image, quality: int = 75) -> Image.Image:
    buf = io.BytesIO()
    img.convert("RGB").save(buf, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue()))


ATTACKS = {
    "none": lambda im: im,
    "jpeg q75": lambda im: jpeg(im),
    "half + q75": lambda im: jpeg(im.resize((im.width // 2, im.height // 2), Image.Resampling.LANCZOS)),
    "256 px + q75": lambda im: jpeg(im.resize((256, round(256 * im.height / im.width)), Image.Resampling.LANCZOS)),
    "crop 10% + q90": lambda im: jpeg(im.crop((im.width // 20, im.height // 20, im.width - im.width // 20,
                                               im.height - im.height // 20)), 90),
}


@pytest.mark.parametrize("attack", ATTACKS)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_tag_survives(attack: str, seed: int) -> None:
    tag = 0x9E3779B9 ^ seed
    marked = mark_image(art((1200, 900), seed), tag, KEY)
    reading = read_tag(ATTACKS[attack](marked), KEY)
    assert reading is not None and reading.tag == tag


@pytest.mark.parametrize("mode", ["L", "LA", "RGB", "RGBA"])
def test_mark_keeps_mode_and_alpha(mode: str) -> None:
    img = art((500, 400), 4).convert(mode)
    marked = mark_image(img, 123456789, KEY)
    assert marked.mode == mode and marked.size == img.size
    if "A" in mode:
        assert marked.getchannel("A").tobytes() == img.getchannel("A").tobytes()
    assert read_tag(marked, KEY, search_crops=False).tag == 123456789  # type: ignore[union-attr]
    diff = np.abs(np.asarray(marked, np.float32) - np.asarray(img, np.float32))
    assert diff.mean() < 4  # invisible at a glance: a few levels


def test_unmarked_and_wrong_key_read_nothing() -> None:
    for seed in range(3):  # each a full search: as served, then ~440 crop guesses
        assert read_tag(jpeg(art((800, 600), seed)), KEY) is None
    marked = mark_image(art((800, 600), 9), 42, KEY)
    assert read_tag(marked, b"another install".ljust(32), search_crops=False) is None


def test_tiny_images_are_left_alone() -> None:
    small = art((MIN_SIDE - 1, 300), 5)
    assert mark_image(small, 7, KEY).tobytes() == small.tobytes()


def test_tags_differ_per_client_and_install() -> None:
    tags = {tag_for(b"a" * 32, f"a:10.0.0.{i} curl") for i in range(50)}
    assert len(tags) == 50
    assert tag_for(b"a" * 32, "c") != tag_for(b"b" * 32, "c")
    assert all(0 <= t < 2**32 for t in tags)


# --- budget, sightings, disk cache ------------------------------------------------------------------


def test_budget_bounds_distinct_clients_per_image_and_hour() -> None:
    budget = TraceBudget(per_image=3, per_hour=5)
    now = 7200.0
    assert [budget.allow("/a", t, now) for t in (1, 2, 3, 4)] == [True, True, True, False]
    assert budget.allow("/a", 2, now)  # already has its own copy this hour
    assert [budget.allow("/b", t, now) for t in (1, 2, 3)] == [True, True, False]  # 5 in all this hour
    assert budget.allow("/a", 4, now + 3600)  # a new hour
    assert budget.refused == 2


def test_budget_memory_is_bounded() -> None:
    budget = TraceBudget(per_image=2, per_hour=10**9, max_images=100)
    for i in range(1000):
        budget.allow(f"/img{i}", i, 0.0)
    assert len(budget._images) == 100


def test_trace_log_folds_sightings(tmp_path: Path) -> None:
    log = TraceLog(tmp_path / "traces.sqlite3", retention_days=1)
    log.start()
    now = time.time()
    for i in range(3):
        log.record(Sighting(77, "a:192.0.2.1 curl/8", "192.0.2.1", "curl/8", now + i, f"/p{i}"))
    log.record(Sighting(77, "a:192.0.2.2 wget", "192.0.2.2", "wget", now + 10, "/q"))
    log.record(Sighting(78, "a:192.0.2.3 old", "192.0.2.3", "old", now - 2 * 86400, "/old"))  # pruned
    log.close()
    rows = lookup(tmp_path / "traces.sqlite3", 77)
    assert [r["client"] for r in rows] == ["a:192.0.2.2 wget", "a:192.0.2.1 curl/8"]
    first = rows[1]
    assert (first["first_seen"], first["last_seen"], first["served"], first["last_path"]) == (now, now + 2, 3, "/p2")
    assert lookup(tmp_path / "traces.sqlite3", 78) == []


def test_disk_cache_is_byte_bounded_and_survives_a_restart(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path, max_bytes=10_000)
    for i in range(8):
        cache.put(("k", i), bytes([i]) * 1000)
    assert cache.get(("k", 0)) is not None  # used: now the most recent
    for i in range(8, 14):
        cache.put(("k", i), bytes([i]) * 1000)
    assert cache.size <= 10_000 and sum(p.stat().st_size for p in tmp_path.iterdir()) <= 10_000
    assert cache.get(("k", 1)) is None and cache.get(("k", 0)) == bytes([0]) * 1000
    reopened = DiskCache(tmp_path, max_bytes=10_000)
    assert reopened.get(("k", 13)) == bytes([13]) * 1000 and len(reopened) == len(cache)
    cache.put(("big",), b"x" * 5000)  # over an eighth of the budget: not kept
    assert cache.get(("big",)) is None


def test_render_service_reads_the_disk_before_rendering(tmp_path: Path) -> None:
    calls = []

    def work() -> bytes:
        calls.append(1)
        return b"variant"

    async def run() -> list[bytes | None]:
        results = []
        for _ in range(2):  # two "restarts": a fresh service and memory cache each time
            service = RenderService(workers=1, time_limit=5)
            service.use_disk(DiskCache(tmp_path, 1 << 20))
            results.append(await service.render(("decoy", "/a"), work))
            service.close()
        return results

    assert asyncio.run(run()) == [b"variant", b"variant"]
    assert calls == [1]


# --- through the real proxy ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def traced_proxy(origin: OriginThread, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    folder = tmp_path_factory.mktemp("trace-proxy")
    proc = start_proxy(origin.url, folder, "traces: {per_image_per_hour: 3}\n")
    yield proc
    proc.stop()


def trace(proxy: ProxyProcess, *files: Path) -> tuple[int, list[dict]]:
    """`fixative trace --json`, retried until the sighting writer (batches every 0.25 s) has caught up."""
    for _ in range(30):
        time.sleep(0.5)
        result = fixative_cli("trace", "--state-dir", str(_state(proxy)), "--json", *map(str, files))
        assert result.stderr == "", result.stderr
        results = [json.loads(line) for line in result.stdout.splitlines()]
        if all(r.get("clients") or r.get("tag") is None for r in results):
            break  # every traced image names its client (untraced ones never will)
    return result.returncode, results


def test_trace_names_the_scraper_of_a_decoy(traced_proxy: ProxyProcess, site: Path, tmp_path: Path) -> None:
    work = WORKS[0]
    status, _, body = fetch(traced_proxy.url + work.full_url, SCRAPER_UA + " one")
    assert status == 200 and body != (site / work.full_url.lstrip("/")).read_bytes()
    served = tmp_path / "decoy.jpg"
    served.write_bytes(body)
    resized = tmp_path / "resized.jpg"
    jpeg(Image.open(served).resize((work.width // 2, work.height // 2)), 75).save(resized)
    code, results = trace(traced_proxy, served, resized)
    assert code == 0
    for result in results:
        (client,) = result["clients"]
        assert client["user_agent"] == SCRAPER_UA + " one"
        assert client["ip"] == "127.0.0.1"
        assert client["last_path"] == work.full_url
        assert client["first_seen"] <= client["last_seen"] <= time.time()


def test_trace_names_the_suspect_of_a_watermark(traced_proxy: ProxyProcess, tmp_path: Path) -> None:
    work = WORKS[1]
    status, _, body = fetch(traced_proxy.url + work.full_url, SUSPECT_UA)
    assert status == 200 and max(Image.open(io.BytesIO(body)).size) <= 1024
    (tmp_path / "wm.png").write_bytes(body)
    for _ in range(30):  # until the sighting writer (batches every 0.25 s) has caught up
        time.sleep(0.5)
        result = fixative_cli("trace", "--state-dir", str(_state(traced_proxy)), str(tmp_path / "wm.png"))
        if "user agent:" in result.stdout:
            break
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"user agent: {SUSPECT_UA}" in result.stdout and "address:    127.0.0.1" in result.stdout


def test_a_flood_of_clients_shares_one_untraced_copy(traced_proxy: ProxyProcess, site: Path,
                                                      tmp_path: Path) -> None:
    work = WORKS[2]
    bodies = [fetch(traced_proxy.url + work.full_url, f"{SCRAPER_UA} flood-{i}")[2] for i in range(7)]
    assert len(set(bodies[:3])) == 3  # the first three each get their own traced copy
    assert len(set(bodies[3:])) == 1  # the rest share one untraced copy, rendered once
    assert set(bodies[:3]).isdisjoint(bodies[3:])
    assert (site / work.full_url.lstrip("/")).read_bytes() not in bodies
    for i in (0, 5):
        (tmp_path / f"{i}.webp").write_bytes(bodies[i])
    code, results = trace(traced_proxy, tmp_path / "0.webp", tmp_path / "5.webp")
    assert code == 1  # one of them has no trace
    assert results[0]["clients"][0]["user_agent"] == f"{SCRAPER_UA} flood-0"
    assert results[1]["tag"] is None and "no trace found" in results[1]["problem"]


def test_people_get_untouched_originals_and_no_trace(traced_proxy: ProxyProcess, site: Path) -> None:
    work = WORKS[0]
    status, _, body = fetch(traced_proxy.url + work.full_url, PERSON_UA)
    assert status == 200 and body == (site / work.full_url.lstrip("/")).read_bytes()


def test_trace_without_the_state_dir_is_a_clear_error(tmp_path: Path) -> None:
    img = tmp_path / "x.jpg"
    jpeg(art((300, 200), 1)).save(img)
    result = fixative_cli("trace", "--state-dir", str(tmp_path / "nope"), str(img))
    assert result.returncode == 2
    assert "cannot read" in result.stderr and "secret" in result.stderr


def _state(proxy: ProxyProcess) -> Path:
    args = proxy.proc.args
    return Path(args[args.index("--state-dir") + 1])  # type: ignore[union-attr, index]
