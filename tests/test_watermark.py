"""make_watermark: downscaled, marked, same format, rights in metadata; refuses bad input."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fixative.treatments.imageinfo import ImageRejected, inspect_image
from fixative.treatments.rights import DMI_PROHIBITED_AIMLTRAINING
from fixative.treatments.watermark import make_watermark

NOTICE = "© Mara Ilves — not licensed for AI training"


def encode(img: Image.Image, fmt: str, **params: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **params)
    return buf.getvalue()


def photo(size: tuple[int, int]) -> Image.Image:
    """Smooth mid-tone colours, so a mark of either colour shows."""
    w, h = size
    y, x = np.mgrid[0:h, 0:w]
    rgb = np.stack([60 + x * 120 // w, 80 + y * 100 // h, np.full_like(x, 120)], -1)
    return Image.fromarray(rgb.astype(np.uint8), "RGB")


def make(fmt: str, mode: str, size: tuple[int, int]) -> bytes:
    img = photo(size)
    if mode == "RGBA":
        img.putalpha(Image.linear_gradient("L").resize(size).point(lambda v: 64 + v * 3 // 4))
    elif mode == "P+transparency":
        img = img.quantize(64)
        return encode(img, fmt, transparency=0)
    elif mode == "I;16":
        arr = np.asarray(img.convert("L"), np.uint16) * 257
        img = Image.fromarray(arr)
    elif mode == "GIF5":
        frames = [photo(size).rotate(i * 20) for i in range(5)]
        return encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100)
    else:
        img = img.convert(mode)
    return encode(img, fmt, **({"sizes": [size]} if fmt == "ICO" else {}))


CASES = [
    ("JPEG", "RGB", (2000, 1500)),
    ("JPEG", "L", (1200, 1600)),
    ("JPEG", "CMYK", (1500, 1000)),
    ("PNG", "RGB", (1600, 1200)),
    ("PNG", "RGBA", (1300, 900)),
    ("PNG", "L", (800, 600)),
    ("PNG", "P+transparency", (1200, 800)),
    ("PNG", "I;16", (1200, 900)),
    ("WEBP", "RGB", (1600, 1200)),
    ("WEBP", "RGBA", (1600, 1200)),
    ("GIF", "GIF5", (600, 400)),
    ("AVIF", "RGB", (1400, 1000)),
    ("BMP", "RGB", (1100, 700)),
    ("TIFF", "RGB", (1100, 700)),
    ("ICO", "RGBA", (64, 64)),
]


def marked(data: bytes, **kw: object) -> tuple[Image.Image, bytes]:
    out = make_watermark(data, inspect_image(data), NOTICE, **kw)  # type: ignore[arg-type]
    return Image.open(io.BytesIO(out)), out


@pytest.mark.parametrize("fmt, mode, size", CASES)
def test_watermark_keeps_format_and_fits_max_side(
    fmt: str, mode: str, size: tuple[int, int]
) -> None:
    data = make(fmt, mode, size)
    out_img, out = marked(data)
    assert inspect_image(out).format == fmt
    assert inspect_image(out).n_frames == 1
    assert max(out_img.size) <= 1024
    if max(size) > 1024:
        assert max(out_img.size) == 1024
    assert abs(out_img.width / out_img.height - size[0] / size[1]) < 0.01


@pytest.mark.parametrize("fmt, mode, size", [c for c in CASES if c[0] != "ICO"])
def test_watermark_is_visible(fmt: str, mode: str, size: tuple[int, int]) -> None:
    data = make(fmt, mode, size)
    out_img, _ = marked(data)
    source = Image.open(io.BytesIO(data))
    if mode == "I;16":
        source = Image.fromarray((np.asarray(source) >> 8).astype(np.uint8))
    reference = np.asarray(source.convert("L").resize(out_img.size), np.float32)
    diff = np.abs(np.asarray(out_img.convert("L"), np.float32) - reference)
    assert (diff > 24).mean() > 0.03


def test_small_images_are_never_upscaled() -> None:
    out_img, _ = marked(make("PNG", "RGB", (300, 200)))
    assert out_img.size == (300, 200)


def test_max_side_is_a_parameter() -> None:
    out_img, _ = marked(make("JPEG", "RGB", (2000, 1000)), max_side=400)
    assert out_img.size == (400, 200)


def test_exif_orientation_is_applied() -> None:
    """A phone photo stored sideways comes out upright (and so does the text)."""
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    data = encode(photo((800, 400)), "JPEG", exif=exif)
    out_img, _ = marked(data)
    assert out_img.size == (400, 800)
    assert out_img.getexif().get(0x0112) is None


def test_sixteen_bit_grey_is_scaled_not_clipped() -> None:
    data = encode(Image.new("I;16", (300, 200), 40000), "PNG")
    out_img, _ = marked(data, opacity=0.0)
    assert out_img.mode == "L"
    assert abs(float(np.median(np.asarray(out_img))) - 40000 / 257) < 2


def test_svg_cannot_be_watermarked() -> None:
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'
    with pytest.raises(ImageRejected, match="SVG"):
        make_watermark(svg, inspect_image(svg), NOTICE)


def test_truncated_pixel_data_is_rejected_not_raised() -> None:
    full = encode(Image.effect_noise((600, 400), 60).convert("RGB"), "JPEG")
    cut = full[: len(full) // 2]
    info = inspect_image(cut)  # the header is intact
    with pytest.raises(ImageRejected, match="cannot be decoded"):
        make_watermark(cut, info, NOTICE)


def test_bytes_that_do_not_match_the_info_are_rejected() -> None:
    info = inspect_image(make("PNG", "RGB", (300, 200)))
    with pytest.raises(ImageRejected):
        make_watermark(make("PNG", "RGB", (200, 300)), info, NOTICE)
    with pytest.raises(ImageRejected):
        make_watermark(b"<!doctype html>", info, NOTICE)


def test_png_carries_a_copyright_text_chunk() -> None:
    out_img, _ = marked(make("PNG", "RGB", (300, 200)))
    assert out_img.text["Copyright"] == NOTICE
    assert "DMI-PROHIBITED-AIMLTRAINING" in out_img.text["XML:com.adobe.xmp"]


def needs_exiftool(test):  # scripts/setup --test installs ExifTool: missing is a failure, not a skip
    assert shutil.which("exiftool"), "exiftool is needed: run scripts/setup --test"
    return test


@needs_exiftool
@pytest.mark.parametrize("fmt", ["JPEG", "WEBP"])
def test_exiftool_reads_the_rights(fmt: str, tmp_path: Path) -> None:
    _, out = marked(make(fmt, "RGB", (640, 480)))
    path = tmp_path / f"marked.{fmt.lower()}"
    path.write_bytes(out)
    command = ["exiftool", "-j", "-G1", str(path)]
    run = subprocess.run(command, capture_output=True, check=True, timeout=30)
    tags = json.loads(run.stdout)[0]
    assert tags["XMP-plus:DataMining"] == DMI_PROHIBITED_AIMLTRAINING
    assert tags["XMP-dc:Rights"] == NOTICE
    assert tags["IFD0:Copyright"] == "(c) Mara Ilves - not licensed for AI training"
