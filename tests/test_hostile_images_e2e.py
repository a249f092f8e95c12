"""Hostile and awkward images from a real origin through a real `fixative run`.

Whatever the file (a decompression bomb, a truncated JPEG, HTML named .png, CMYK, 16-bit,
palette with alpha, animation, absurd or merely large dimensions, a body too big to buffer):
the proxy stays up and answers promptly, people get the origin's bytes unchanged, and
scrapers and suspects get a valid altered image or a 403, never the original.
Also: ExifTool finds XMP-plus:DataMining in what the proxy alters, and in originals when
`originals: {add_rights_metadata: true}` asks for it, with the pixels left as they were.
"""

from __future__ import annotations

import io
import json
import struct
import subprocess
import time
import urllib.request
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from fixative.demo.site import list_works
from fixative.treatments.rights import DMI_PROHIBITED_AIMLTRAINING
from harness import OriginThread, ProxyProcess
from PIL import Image
from treat_helpers import PERSON_UA, SCRAPER_UA, SUSPECT_UA, fetch, start_proxy

FORMAT_OF = {".jpg": "JPEG", ".png": "PNG", ".gif": "GIF", ".webp": "WEBP"}


def encode(img: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def art(size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    w, h = size
    y, x = np.mgrid[0:h, 0:w]
    rgb = np.stack([128 + 100 * np.sin(x / 9), 128 + 100 * np.cos(y / 13), 255 * x / max(1, w - 1)], -1)
    return Image.fromarray(rgb.astype(np.uint8), "RGB").convert(mode)


def png_claiming(width: int, height: int) -> bytes:
    png = encode(art((16, 16)), "PNG")
    ihdr = bytearray(png[12:29])
    ihdr[4:12] = struct.pack(">II", width, height)
    return png[:12] + bytes(ihdr) + struct.pack(">I", zlib.crc32(bytes(ihdr))) + png[33:]


def jpeg_claiming(width: int, height: int) -> bytes:
    data = bytearray(encode(art((16, 16)), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def hostile_files() -> dict[str, bytes]:
    sixteen = Image.fromarray(np.asarray(art((400, 300), "L"), np.uint16) * 257)
    palette = art((400, 300)).quantize(32)
    frames = [art((240, 180)).rotate(i * 30) for i in range(6)]
    jpeg = encode(art((900, 600)), "JPEG")
    rng = np.random.default_rng(0)
    noise = Image.fromarray(rng.integers(0, 256, (1100, 1100, 3), np.uint8), "RGB")
    return {
        "bomb.png": png_claiming(100_000, 100_000),
        "huge-dimensions.jpg": jpeg_claiming(30_000, 30_000),
        "truncated.jpg": jpeg[: len(jpeg) // 2],
        "header-only.png": encode(art((300, 200)), "PNG")[:60],
        "really-html.png": b"<!doctype html><title>oops</title><p>an error page named .png</p>",
        "empty.jpg": b"",
        "cmyk.jpg": encode(art((500, 400), "CMYK"), "JPEG"),
        "sixteen-bit.png": encode(sixteen, "PNG"),
        "palette-alpha.png": encode(palette, "PNG", transparency=0),
        "animated.gif": encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=80),
        "large-24mp.jpg": encode(Image.new("RGB", (6000, 4000), (120, 90, 60)), "JPEG"),
        "over-buffer.png": encode(noise, "PNG", compress_level=1),  # > images.max_bytes (2 MB here): streamed
        "fine.webp": encode(art((640, 480)), "WEBP"),
    }


HOSTILE = hostile_files()


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hostile-site")
    (root / "images").mkdir()
    for name, data in HOSTILE.items():
        (root / "images" / name).write_bytes(data)
    (root / "index.html").write_text("<!doctype html><title>hostile</title>")
    return root


@pytest.fixture(scope="module")
def hostile_origin(hostile_site: Path) -> Iterator[OriginThread]:
    server = OriginThread(hostile_site)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def proxy(hostile_origin: OriginThread, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    proc = start_proxy(hostile_origin.url, tmp_path_factory.mktemp("hostile-proxy"),
                       "images: {time_limit: 20, disk_cache_mb: 64, max_bytes: 2000000}\n")  # 24 MP renders slowly on a busy CI
    yield proc
    proc.stop()


def check_altered(name: str, status: int, headers: dict[str, str], body: bytes) -> str:
    """A valid image of the original's format (and size, for decoys) or a 403; never the original."""
    original = HOSTILE[name]
    assert body != original or not original, name
    if status == 403:
        assert b"not available to automated clients" in body
        return "403"
    assert status == 200, (name, status)
    assert headers.get("cache-control") == "private, no-store"
    img = Image.open(io.BytesIO(body))
    img.load()
    assert img.format == FORMAT_OF[Path(name).suffix], name
    return f"{img.format} {img.size[0]}x{img.size[1]}"


def test_hostile_images_never_crash_or_stall_or_leak(proxy: ProxyProcess, hostile_site: Path) -> None:
    jobs = [(name, ua) for name in HOSTILE for ua in (SCRAPER_UA, SUSPECT_UA, PERSON_UA)]

    def one(job: tuple[str, str]) -> tuple[str, str, float, tuple[int, dict[str, str], bytes]]:
        t0 = time.monotonic()
        result = fetch(f"{proxy.url}/images/{job[0]}", job[1], timeout=60)
        return job[0], job[1], time.monotonic() - t0, result

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(one, jobs))
    outcomes = {}
    for name, ua, seconds, (status, headers, body) in results:
        if ua == PERSON_UA:
            assert status == 200 and body == HOSTILE[name], name  # people: the origin's bytes
        else:
            outcomes[(name, ua)] = check_altered(name, status, headers, body)
    # what each should get, where it is certain
    for name in ("bomb.png", "huge-dimensions.jpg", "really-html.png", "empty.jpg", "over-buffer.png"):
        assert outcomes[(name, SCRAPER_UA)] == "403", name
    for name, size in (("cmyk.jpg", "500x400"), ("sixteen-bit.png", "400x300"), ("palette-alpha.png", "400x300"),
                       ("animated.gif", "240x180"), ("large-24mp.jpg", "6000x4000"), ("fine.webp", "640x480")):
        assert outcomes[(name, SCRAPER_UA)].endswith(size), (name, outcomes[(name, SCRAPER_UA)])
        assert outcomes[(name, SUSPECT_UA)] != "403", name
    gif = fetch(f"{proxy.url}/images/animated.gif", SCRAPER_UA)[2]
    assert Image.open(io.BytesIO(gif)).n_frames == 6
    # rendered variants also went to the disk cache, within its budget
    variants = list((_state(proxy) / "variants").glob("*.variant"))
    assert len(variants) >= 6 and sum(v.stat().st_size for v in variants) <= 64 << 20
    # still up, and quick
    assert proxy.proc.poll() is None
    assert fetch(f"{proxy.url}/images/fine.webp", SCRAPER_UA, timeout=30)[0] == 200


def exiftool_data_mining(*files: Path) -> list[str | None]:
    out = subprocess.run(["exiftool", "-j", "-XMP-plus:DataMining", *map(str, files)],
                         capture_output=True, text=True, check=True).stdout
    return [row.get("DataMining") for row in json.loads(out)]


@pytest.fixture(scope="module")
def demo_proxy(origin: OriginThread, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    """The demo portfolio behind a proxy that also adds rights metadata to people's originals."""
    proc = start_proxy(origin.url, tmp_path_factory.mktemp("rights-proxy"), "originals: {add_rights_metadata: true}\nimages: {max_bytes: 2000000}\n")
    yield proc
    proc.stop()


ONE_PER_FORMAT = list({w.fmt: w for w in list_works()}.values())


def test_exiftool_finds_data_mining_in_decoys_and_watermarks(demo_proxy: ProxyProcess, site: Path,
                                                             tmp_path: Path) -> None:
    files = []
    for work in ONE_PER_FORMAT:
        original = (site / work.full_url.lstrip("/")).read_bytes()
        for who, ua in (("scraper", SCRAPER_UA), ("suspect", SUSPECT_UA)):
            status, _, body = fetch(demo_proxy.url + work.full_url, ua)
            assert status == 200 and body != original
            files.append(tmp_path / f"{who}.{work.fmt}")
            files[-1].write_bytes(body)
    assert exiftool_data_mining(*files) == [DMI_PROHIBITED_AIMLTRAINING] * len(files)


def test_originals_carry_rights_when_asked_and_keep_their_pixels(demo_proxy: ProxyProcess, site: Path,
                                                                  tmp_path: Path) -> None:
    files = []
    for work in ONE_PER_FORMAT:
        original = (site / work.full_url.lstrip("/")).read_bytes()
        status, headers, body = fetch(demo_proxy.url + work.full_url, PERSON_UA)
        assert status == 200 and body != original and len(body) > len(original)
        assert "accept-ranges" not in headers
        a, b = Image.open(io.BytesIO(original)), Image.open(io.BytesIO(body))
        assert np.array_equal(np.asarray(a), np.asarray(b)), work.full_url  # pixels untouched
        files.append(tmp_path / f"original.{work.fmt}")
        files[-1].write_bytes(body)
        # a range request still gets the whole (edited) file, never a slice of the origin's bytes
        request = urllib.request.Request(demo_proxy.url + work.full_url,
                                         headers={"User-Agent": PERSON_UA, "Range": "bytes=0-99"})
        with urllib.request.urlopen(request) as r:
            assert r.status == 200 and r.read() == body
    assert exiftool_data_mining(*files) == [DMI_PROHIBITED_AIMLTRAINING] * len(files)


def test_rights_on_originals_leave_odd_files_alone(hostile_origin: OriginThread, tmp_path: Path) -> None:
    """With the option on, what cannot be edited safely still reaches people byte for byte."""
    proc = start_proxy(hostile_origin.url, tmp_path, "originals: {add_rights_metadata: true}\nimages: {max_bytes: 2000000}\n")
    try:
        for name in ("really-html.png", "over-buffer.png", "animated.gif", "empty.jpg", "header-only.png"):
            status, _, body = fetch(f"{proc.url}/images/{name}", PERSON_UA)
            assert status == 200 and body == HOSTILE[name], name
        # a cut-off JPEG still has a whole header: it gets the XMP, and stays exactly as cut off
        status, _, body = fetch(f"{proc.url}/images/truncated.jpg", PERSON_UA)
        original = HOSTILE["truncated.jpg"]
        assert body[:20] == original[:20] and body.endswith(original[20:]) and b"DMI-PROHIBITED" in body
        status, _, body = fetch(f"{proc.url}/images/cmyk.jpg", PERSON_UA)
        assert body != HOSTILE["cmyk.jpg"] and DMI_PROHIBITED_AIMLTRAINING.encode() in body
    finally:
        proc.stop()


def _state(proxy: ProxyProcess) -> Path:
    args = proxy.proc.args
    return Path(args[args.index("--state-dir") + 1])  # type: ignore[union-attr, index]
