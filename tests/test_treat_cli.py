"""`fixative treat IMAGE... --as T`: results beside the input or in --out, refusals with a reason."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from fixative.treatments.rights import DMI_PROHIBITED_AIMLTRAINING
from PIL import Image
from treat_helpers import fixative_cli


def art(size: tuple[int, int] = (640, 480)) -> Image.Image:
    w, h = size
    y, x = np.mgrid[0:h, 0:w]
    rgb = np.stack([128 + 100 * np.sin(x / 9), 128 + 100 * np.cos(y / 13), 255 * x / w], -1)
    return Image.fromarray(rgb.astype(np.uint8), "RGB")


@pytest.fixture
def images(tmp_path: Path) -> dict[str, Path]:
    files = {"jpg": tmp_path / "dawn.jpg", "png": tmp_path / "dusk.png", "webp": tmp_path / "noon.webp"}
    art().save(files["jpg"], "JPEG", quality=90)
    art().save(files["png"], "PNG")
    art().save(files["webp"], "WEBP")
    return files


@pytest.mark.parametrize("treatment", ["decoy", "blurred", "notice", "watermark"])
def test_treat_writes_name_treatment_ext_beside_the_input(images: dict[str, Path], treatment: str) -> None:
    originals = {k: p.read_bytes() for k, p in images.items()}
    result = fixative_cli("treat", *map(str, images.values()), "--as", treatment)
    assert result.returncode == 0, result.stderr
    for ext, path in images.items():
        out = path.with_name(f"{path.stem}.{treatment}.{ext}")
        assert f"{path} -> {out}" in result.stdout
        img = Image.open(out)
        assert img.format == {"jpg": "JPEG", "png": "PNG", "webp": "WEBP"}[ext]
        assert img.size == (640, 480)
        assert DMI_PROHIBITED_AIMLTRAINING.encode() in out.read_bytes()
        assert path.read_bytes() == originals[ext]  # the input is never touched


def test_treat_into_out_folder_with_config(images: dict[str, Path], tmp_path: Path) -> None:
    picks = tmp_path / "picks"
    picks.mkdir()
    Image.new("RGB", (300, 300), (10, 200, 30)).save(picks / "green.png")
    config = tmp_path / "fixative.yaml"
    config.write_text(f"artist: Mara Ilves\ndecoy: {{style: folder, folder: {picks}}}\n"
                      "watermark: {max_side: 320}\n")
    out = tmp_path / "out" / "deeper"
    decoy = fixative_cli("treat", str(images["jpg"]), "--as", "decoy", "--out", str(out), "--config", str(config))
    assert decoy.returncode == 0, decoy.stderr
    green = np.asarray(Image.open(out / "dawn.decoy.jpg"), np.float32).reshape(-1, 3).mean(0)
    assert green[1] > 150 and green[0] < 60  # the artist's chosen image, fitted to 640x480
    mark = fixative_cli("treat", str(images["png"]), "--as", "watermark", "--out", str(out), "--config", str(config))
    assert mark.returncode == 0 and max(Image.open(out / "dusk.watermark.png").size) == 320


def bomb_png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, "PNG")
    png = buf.getvalue()
    ihdr = bytearray(png[12:29])
    ihdr[4:12] = struct.pack(">II", 100_000, 100_000)
    return png[:12] + bytes(ihdr) + struct.pack(">I", zlib.crc32(bytes(ihdr))) + png[33:]


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("page.png", b"<!doctype html><title>not a picture</title>", "not an image"),
        ("bomb.png", bomb_png(), "decompression bomb"),
        ("notes.txt", b"hello", "not an image"),
        ("empty.jpg", b"", "not an image"),
    ],
)
def test_treat_refuses_what_is_not_a_safe_image(tmp_path: Path, name: str, content: bytes, reason: str) -> None:
    bad = tmp_path / name
    bad.write_bytes(content)
    good = tmp_path / "good.jpg"
    art((200, 150)).save(good)
    result = fixative_cli("treat", str(bad), str(good), "--as", "blurred")
    assert result.returncode == 1
    assert f"{bad}: refused: " in result.stderr and reason in result.stderr
    assert not list(tmp_path.glob(f"{bad.stem}.blurred*"))
    assert (tmp_path / "good.blurred.jpg").exists()  # the others are still done
    assert bad.read_bytes() == content


def test_treat_refuses_a_truncated_image_for_blurred(tmp_path: Path) -> None:
    data = io.BytesIO()
    art().save(data, "JPEG")
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(data.getvalue()[:3000])
    result = fixative_cli("treat", str(cut), "--as", "blurred")
    assert result.returncode == 1 and "refused" in result.stderr


def test_treat_missing_file_and_folder_without_config(tmp_path: Path) -> None:
    result = fixative_cli("treat", str(tmp_path / "nope.jpg"), "--as", "notice")
    assert result.returncode == 1 and "refused: not a file" in result.stderr
    art().save(tmp_path / "a.jpg")
    result = fixative_cli("treat", str(tmp_path / "a.jpg"), "--as", "folder")
    assert result.returncode == 2 and "decoy: {folder: DIR}" in result.stderr


def test_treat_never_overwrites_the_input(tmp_path: Path) -> None:
    """An input already named like an output gets a longer name, not its own."""
    path = tmp_path / "x.notice.jpg"
    art().save(path)
    before = path.read_bytes()
    result = fixative_cli("treat", str(path), "--as", "notice")
    assert result.returncode == 0
    assert path.read_bytes() == before and (tmp_path / "x.notice.notice.jpg").exists()
