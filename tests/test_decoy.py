"""make_decoy: same format and size, deterministic, blind to the artwork, near a target size."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image, ImageDraw

from fixative.treatments.decoy import MAX_FRAMES, make_decoy
from fixative.treatments.imageinfo import ImageInfo, ImageRejected, inspect_image
from fixative.treatments.rights import rights_xmp


def encode(img: Image.Image, fmt: str, **params: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **params)
    return buf.getvalue()


def artwork(size: tuple[int, int], variant: int = 0) -> Image.Image:
    """A busy, high-contrast test picture: checkerboard, rings and text."""
    w, h = size
    y, x = np.mgrid[0:h, 0:w]
    cells = ((x // 24 + y // 24 + variant) % 2) * 200
    rings = (np.hypot(x - w / 2, y - h / 3) // (8 + variant * 5) % 2) * 255
    img = Image.fromarray(np.stack([cells, rings, 255 - cells], -1).astype(np.uint8), "RGB")
    ImageDraw.Draw(img).text((10, 10), f"ORIGINAL ARTWORK {variant}", fill=(255, 255, 0))
    return img


def with_alpha(img: Image.Image) -> Image.Image:
    img = img.convert("RGBA")
    img.putalpha(Image.linear_gradient("L").resize(img.size))
    return img


def original(fmt: str, mode: str, size: tuple[int, int] = (320, 240), frames: int = 1) -> bytes:
    img = artwork(size)
    img = with_alpha(img) if mode == "RGBA" else img.convert(mode)
    if frames > 1:
        rest = [artwork(size, i).convert(mode) for i in range(1, frames)]
        return encode(img, fmt, save_all=True, append_images=rest, duration=100)
    params = {"sizes": [size]} if fmt == "ICO" else {}
    return encode(img, fmt, **params)


SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="400" height="300">'
    b'<circle r="9"/></svg>'
)

CASES = [
    ("JPEG", "RGB", 1, "RGB"),
    ("JPEG", "L", 1, "L"),
    ("JPEG", "CMYK", 1, "RGB"),
    ("PNG", "RGB", 1, "RGB"),
    ("PNG", "RGBA", 1, "RGBA"),
    ("PNG", "L", 1, "L"),
    ("WEBP", "RGB", 1, "RGB"),
    ("WEBP", "RGBA", 1, "RGBA"),
    ("GIF", "RGB", 1, "P"),
    ("GIF", "RGB", 5, "P"),
    ("AVIF", "RGB", 1, "RGB"),
    ("BMP", "RGB", 1, "RGB"),
    ("TIFF", "RGB", 1, "RGB"),
    ("TIFF", "RGBA", 1, "RGBA"),
]


@pytest.mark.parametrize("fmt, mode, frames, decoy_mode", CASES)
def test_decoy_keeps_format_size_and_frames(
    fmt: str, mode: str, frames: int, decoy_mode: str
) -> None:
    info = inspect_image(original(fmt, mode, frames=frames))
    decoy_info = inspect_image(make_decoy(info, b"seed"))
    assert (decoy_info.format, decoy_info.width, decoy_info.height) == (fmt, 320, 240)
    assert decoy_info.n_frames == frames
    assert decoy_info.mode == decoy_mode


def test_ico_decoy_keeps_the_icon_size() -> None:
    info = inspect_image(original("ICO", "RGBA", (48, 48)))
    decoy_info = inspect_image(make_decoy(info, b"seed"))
    assert (decoy_info.format, decoy_info.width, decoy_info.height) == ("ICO", 48, 48)


def test_svg_decoy_is_a_small_svg_of_the_same_size() -> None:
    info = inspect_image(SVG)
    decoy = make_decoy(info, b"seed")
    root = ET.fromstring(decoy)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert (root.get("width"), root.get("height")) == ("400", "300")
    assert inspect_image(decoy) == info
    assert len(decoy) < 16_000


def test_animation_is_capped() -> None:
    info = ImageInfo("GIF", 40, 30, "P", 120, "image/gif")
    assert inspect_image(make_decoy(info, b"seed")).n_frames == MAX_FRAMES


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF", "AVIF", "BMP", "TIFF", "ICO", "SVG"])
def test_decoy_is_deterministic_per_seed(fmt: str) -> None:
    info = ImageInfo(fmt, 64, 48, "RGB", 1, "image/x")
    first = make_decoy(info, b"seed-1", target_bytes=5_000)
    assert make_decoy(info, b"seed-1", target_bytes=5_000) == first
    assert make_decoy(info, b"seed-2", target_bytes=5_000) != first


def test_decoy_never_depends_on_the_pixels() -> None:
    """Two unrelated artworks with the same header get the very same decoy."""
    a = encode(artwork((320, 240), 0), "PNG")
    b = encode(artwork((320, 240), 3).rotate(180), "PNG")
    info_a, info_b = inspect_image(a), inspect_image(b)
    assert info_a == info_b
    assert make_decoy(info_a, b"seed") == make_decoy(info_b, b"seed")


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
@pytest.mark.parametrize("variant", [0, 1, 2])
def test_decoy_looks_nothing_like_the_original(fmt: str, variant: int) -> None:
    source = artwork((320, 240), variant)
    info = inspect_image(encode(source, fmt))
    decoy = Image.open(io.BytesIO(make_decoy(info, b"seed"))).convert("L").resize((80, 60))
    small = np.asarray(source.convert("L").resize((80, 60)), np.float32)
    pixels = np.asarray(decoy, np.float32)
    assert np.abs(pixels - small).mean() > 30
    assert abs(np.corrcoef(pixels.ravel(), small.ravel())[0, 1]) < 0.3


def test_decoy_is_not_a_flat_colour() -> None:
    info = ImageInfo("JPEG", 400, 300, "RGB", 1, "image/jpeg")
    pixels = np.asarray(Image.open(io.BytesIO(make_decoy(info, b"seed"))).convert("L"), np.float32)
    assert pixels.std() > 8
    assert len(np.unique(pixels)) > 40


@pytest.mark.parametrize(
    "fmt, target",
    [("JPEG", 60_000), ("JPEG", 300_000), ("JPEG", 1_200_000),
     ("WEBP", 40_000), ("WEBP", 200_000), ("WEBP", 800_000),
     ("PNG", 100_000), ("PNG", 600_000), ("PNG", 3_000_000)],
)
def test_decoy_size_is_within_a_factor_two_of_target(fmt: str, target: int) -> None:
    info = ImageInfo(fmt, 1600, 1200, "RGB", 1, "image/x")
    size = len(make_decoy(info, b"seed", target_bytes=target))
    assert target / 2 <= size <= target * 2


def test_large_jpeg_decoy_is_valid() -> None:
    """Speed is measured in bench/treatments.py, not asserted here."""
    info = ImageInfo("JPEG", 4000, 3000, "RGB", 1, "image/jpeg")
    data = make_decoy(info, b"seed", target_bytes=2_500_000)
    assert Image.open(io.BytesIO(data)).size == (4000, 3000)


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP"])
def test_xmp_is_embedded_when_given(fmt: str) -> None:
    info = ImageInfo(fmt, 64, 48, "RGB", 1, "image/x")
    xmp = rights_xmp("Mara Ilves", "not licensed for AI training")
    assert b"DMI-PROHIBITED-AIMLTRAINING" in make_decoy(info, b"seed", xmp=xmp)
    assert b"DMI-PROHIBITED-AIMLTRAINING" not in make_decoy(info, b"seed")


def test_unwritable_format_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(Image.SAVE, "AVIF")
    with pytest.raises(ImageRejected, match="AVIF"):
        make_decoy(ImageInfo("AVIF", 64, 48, "RGB", 1, "image/avif"), b"seed")
    with pytest.raises(ImageRejected, match="XYZ"):
        make_decoy(ImageInfo("XYZ", 64, 48, "RGB", 1, "image/x"), b"seed")
