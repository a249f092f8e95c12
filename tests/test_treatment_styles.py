"""Decoy styles (generated, blurred, notice, folder): config, shape, content, rights metadata."""

from __future__ import annotations

import io
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from fixative.config import Config, ConfigError, load_config
from fixative.policy import DecoyStyles
from fixative.treatments.apply import decoy_image, render
from fixative.treatments.imageinfo import ImageRejected, inspect_image
from fixative.treatments.notice import PAPER, notice_card
from fixative.treatments.rights import DMI_PROHIBITED_AIMLTRAINING
from PIL import Image, ImageFilter

SECRET = b"s" * 32
CONFIG = Config(artist="Mara Ilves")
FORMATS = ["JPEG", "PNG", "WEBP", "GIF", "AVIF"]


def painting(size: tuple[int, int] = (640, 480), variant: int = 0) -> Image.Image:
    """Detailed test art: stripes, rings and noise, so that detail (and file size) is real."""
    w, h = size
    y, x = np.mgrid[0:h, 0:w]
    rng = np.random.default_rng(variant)
    r = 128 + 90 * np.sin(x / (7 + variant)) * np.cos(y / 11)
    g = (np.hypot(x - w / 2, y - h / 2) // (6 + variant) % 2) * 180 + 30
    b = 255 * y / h
    rgb = np.stack([r, g, b], -1) + rng.normal(0, 12, (h, w, 3))
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB")


def encode(img: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def edges(img: Image.Image) -> np.ndarray:
    small = img.convert("L").resize((160, 120), Image.Resampling.BOX)
    return np.asarray(small.filter(ImageFilter.FIND_EDGES), np.float32).ravel()


def with_style(style: str, **kw: object) -> Config:
    return Config(artist="Mara Ilves", decoy=DecoyStyles(style), **kw)  # type: ignore[arg-type]


# --- config ---------------------------------------------------------------------------------------


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "fixative.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return info.value.problems


def test_decoy_styles_per_verdict(tmp_path: Path) -> None:
    folder = tmp_path / "decoys"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(encode(painting(), "JPEG"))
    config = load_config(_write(tmp_path, """\
decoy:
  style: blurred
  folder: decoys
  notice_text: No AI training, please
  suspect: {style: notice}
  scraper: folder
"""))
    assert config.decoy.style_for("scraper") == "folder"
    assert config.decoy.style_for("suspect") == "notice"
    assert config.decoy.default == "blurred"
    assert config.decoy_folder == folder.resolve()
    assert config.notice_headline == "No AI training, please"
    assert load_config(None).decoy.style_for("scraper") == "generated"
    assert load_config(_write(tmp_path, "decoy: notice\n")).decoy.style_for("suspect") == "notice"


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("artist: x\ndecoy:\n  style: fancy\n", 3,
         "decoy: style: 'fancy' is not a decoy style; use generated, blurred, notice, folder"),
        ("decoy:\n  style: folder\n", 2, "decoy: the folder style needs `folder: DIR`"),
        ("decoy:\n  style: notice\n  scraper: {style: folder}\n", 3, "decoy: the folder style needs `folder: DIR`"),
        ("decoy:\n  style: folder\n  folder: nowhere\n", 3, "decoy: folder: {tmp}/nowhere does not exist"),
        ("decoy:\n  style: folder\n  folder: empty\n", 3, "decoy: folder: {tmp}/empty has no images (.avif,"),
        ("decoy:\n  style: folder\n  folder: fixative.yaml\n", 3,
         "decoy: folder: {tmp}/fixative.yaml is not a folder"),
        ("decoy:\n  colour: red\n", 2, "decoy: colour: unknown; use style, folder, notice_text, suspect, scraper"),
        ("decoy:\n  human: {style: notice}\n", 2, "decoy: human: unknown; use style"),
        ("decoy:\n  scraper: {style: notice, folder: x}\n", 2, "decoy: scraper: expected {style: STYLE}"),
        ("decoy:\n  notice_text: ''\n", 2, "decoy: notice_text: expected text"),
        ("decoy: 5\n", 1, "decoy: expected a mapping, got 5"),
        ("artist: x\ndecoy: fancy\n", 2, "decoy: style: 'fancy' is not a decoy style"),
    ],
)
def test_decoy_config_problems(tmp_path: Path, text: str, line: int, message: str) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("not an image")
    path = _write(tmp_path, text)
    (problem,) = _problems(path)
    assert problem.startswith(f"{path}:{line}: {message.replace('{tmp}', str(tmp_path.resolve()))}"), problem
    assert problem.endswith("Expected {style: generated|blurred|notice|folder, folder: DIR, notice_text: TEXT, "
                            "suspect: {style: ...}, scraper: {style: ...}}.")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("traces: {enabled: maybe}\n", ":1: traces: enabled: expected true or false, got 'maybe'"),
        ("traces: {per_image_per_hour: -1}\n", ":1: traces: expected a number from 0 to"),
        ("originals: {add_rights_metadata: 1}\n", ":1: originals: add_rights_metadata: expected true or false"),
        ("images: {disk_cache_mb: lots}\n", ":1: images: expected a number from 0 to"),
    ],
)
def test_other_new_keys_report_problems(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path, text)
    (problem,) = _problems(path)
    assert problem.startswith(f"{path}{message}"), problem


def test_new_keys_parse(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, """\
traces: {enabled: false, per_image_per_hour: 3, per_hour: 50, retention_days: 30}
originals: {add_rights_metadata: true}
images: {disk_cache_mb: 64}
"""))
    assert (config.trace_enabled, config.trace_per_image, config.trace_per_hour, config.trace_retention_days) \
        == (False, 3, 50, 30)
    assert config.rights_on_originals and config.disk_cache_mb == 64
    defaults = load_config(None)
    assert defaults.trace_enabled and not defaults.rights_on_originals and defaults.disk_cache_mb == 0


# --- every style keeps format and size, and carries the rights XMP ---------------------------------


@pytest.mark.parametrize("style", ["generated", "blurred", "notice"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_styles_keep_format_and_size_and_carry_rights(style: str, fmt: str) -> None:
    data = encode(painting((480, 360)), fmt)
    out = decoy_image(data, "http://site/a", SECRET, CONFIG, style)
    info = inspect_image(out)
    assert (info.format, info.width, info.height) == (fmt, 480, 360)
    Image.open(io.BytesIO(out)).load()
    if fmt != "GIF":  # GIF has no XMP in Pillow; it gets the comment instead
        assert DMI_PROHIBITED_AIMLTRAINING.encode() in out
    else:
        assert b"not licensed for AI training" in out.lower() or b"Not licensed" in out


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_blurred_is_near_the_original_size(fmt: str) -> None:
    data = encode(painting((1200, 900)), fmt, **({"quality": 90} if fmt != "PNG" else {}))
    out = decoy_image(data, "http://site/a", SECRET, with_style("blurred"), "blurred")
    assert len(data) / 2 <= len(out) <= len(data) * 2, (len(data), len(out))


@pytest.mark.parametrize("variant", [0, 1, 2])
def test_blurred_keeps_colours_and_destroys_the_work(variant: int) -> None:
    source = painting((800, 600), variant)
    out = Image.open(io.BytesIO(decoy_image(encode(source, "PNG"), "http://a", SECRET, CONFIG, "blurred")))
    # the colours of a 4x3 thumbnail survive...
    tiny = [np.asarray(im.convert("RGB").resize((4, 3), Image.Resampling.BOX), np.float32) for im in (source, out)]
    assert np.abs(tiny[0] - tiny[1]).mean() < 20
    # ...the drawing does not: no edge of the original is left
    assert abs(np.corrcoef(edges(source), edges(out))[0, 1]) < 0.15


def test_blurred_svg_falls_back_to_a_generated_svg() -> None:
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="300" height="200"><circle r="5"/></svg>'
    out = decoy_image(svg, "http://a", SECRET, CONFIG, "blurred")
    assert ET.fromstring(out).get("width") == "300"


def test_blurred_refuses_what_cannot_be_decoded() -> None:
    data = encode(painting(), "JPEG")
    with pytest.raises(ImageRejected):
        decoy_image(data[: len(data) // 3], "http://a", SECRET, CONFIG, "blurred")


# --- notice -----------------------------------------------------------------------------------------


def test_notice_is_mostly_paper_with_ink_in_the_middle() -> None:
    card = np.asarray(notice_card((1200, 900), "Not licensed for AI training", "Mara Ilves"), np.int16)
    paper = (np.abs(card - np.array(PAPER)).sum(-1) < 6).mean()
    ink = card.sum(-1) < 300
    assert paper > 0.8
    assert 0.01 < ink.mean() < 0.2
    rows = np.nonzero(ink.any(1))[0]
    assert rows.min() > 900 * 0.15 and rows.max() < 900 * 0.85  # centred, with margins


def test_notice_shows_the_artist_and_the_text() -> None:
    a = np.asarray(notice_card((900, 600), "Not licensed for AI training", "Mara Ilves"))
    b = np.asarray(notice_card((900, 600), "Not licensed for AI training", "Someone Else"))
    c = np.asarray(notice_card((900, 600), "Kein KI-Training", "Mara Ilves"))
    assert (a != b).any() and (a != c).any()


def test_notice_svg_names_the_artist_escaped() -> None:
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="400" height="300"/>'
    out = decoy_image(svg, "http://a", SECRET, Config(artist="Ada & Co"), "notice")
    root = ET.fromstring(out)
    text = " ".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
    assert "Not licensed for AI training" in text and "© Ada & Co" in text


def test_notice_grey_original_gives_a_grey_notice() -> None:
    out = decoy_image(encode(painting().convert("L"), "JPEG"), "http://a", SECRET, CONFIG, "notice")
    assert Image.open(io.BytesIO(out)).mode == "L"


# --- folder -----------------------------------------------------------------------------------------


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    d = tmp_path / "decoys"
    d.mkdir()
    colours = [(200, 40, 40), (40, 200, 40), (40, 40, 200)]
    for i, colour in enumerate(colours):
        img = Image.new("RGB", (900, 500), colour)
        img.paste((255, 255, 255), (400, 200, 500, 300))
        img.save(d / f"pick-{i}.{'jpg' if i % 2 else 'png'}")
    (d / "readme.txt").write_text("ignored")
    return d


def test_folder_decoy_is_one_of_the_artists_images_fitted(folder: Path) -> None:
    config = load_config(None).__class__(artist="Mara Ilves", decoy=DecoyStyles("folder"), decoy_folder=folder)
    data = encode(painting((300, 400)), "WEBP")
    picks = set()
    for i in range(12):
        out = decoy_image(data, f"http://site/w{i}.webp", SECRET, config, "folder")
        assert out == decoy_image(data, f"http://site/w{i}.webp", SECRET, config, "folder")  # per URL
        img = Image.open(io.BytesIO(out))
        assert (img.format, img.size) == ("WEBP", (300, 400))
        corner = np.asarray(img.convert("RGB"))[5:20, 5:20].reshape(-1, 3).mean(0)
        picks.add(int(np.argmax(corner)))  # which colour: red, green or blue
        assert DMI_PROHIBITED_AIMLTRAINING.encode() in out
    assert len(picks) >= 2  # different URLs get different images


def test_folder_decoy_depends_on_the_secret(folder: Path) -> None:
    config = Config(decoy=DecoyStyles("folder"), decoy_folder=folder)
    data = encode(painting(), "JPEG")
    outs = {decoy_image(data, "http://site/a.jpg", bytes([i]) * 32, config, "folder") for i in range(8)}
    assert len(outs) >= 2


def test_render_dispatches_watermark() -> None:
    data = encode(painting((1600, 1200)), "JPEG")
    out = render(data, "http://a", SECRET, CONFIG, "watermark")
    assert max(Image.open(io.BytesIO(out)).size) == 1024


def test_exiftool_reads_data_mining_from_every_style(tmp_path: Path, folder: Path) -> None:
    config = Config(artist="Mara Ilves", decoy_folder=folder)
    files = []
    for style in ("generated", "blurred", "notice", "folder", "watermark"):
        for fmt in ("JPEG", "PNG", "WEBP"):
            out = render(encode(painting((400, 300)), fmt), "http://a", SECRET, config, style)
            files.append(tmp_path / f"{style}.{fmt.lower()}")
            files[-1].write_bytes(out)
    result = subprocess.run(["exiftool", "-j", "-XMP-plus:DataMining", *map(str, files)],
                            capture_output=True, text=True, check=True)
    import json

    rows = json.loads(result.stdout)
    assert len(rows) == len(files)
    assert all(row.get("DataMining") == DMI_PROHIBITED_AIMLTRAINING for row in rows), rows
