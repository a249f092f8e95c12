"""inspect_image / sniff_format: format, size and mode from headers; unsafe bodies rejected."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable

import pytest
from PIL import Image

from fixative.treatments.imageinfo import (
    ImageInfo,
    ImageRejected,
    inspect_image,
    sniff_format,
    svg_size,
)


def encode(img: Image.Image, fmt: str, **params: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **params)
    return buf.getvalue()


def gradient(mode: str = "RGB", size: tuple[int, int] = (64, 48)) -> Image.Image:
    """A small test picture; RGBA gets a real alpha ramp (encoders drop an all-opaque one)."""
    ramp = Image.linear_gradient("L").resize(size)
    img = ramp.convert(mode)
    if mode == "RGBA":
        img.putalpha(ramp.transpose(Image.Transpose.FLIP_LEFT_RIGHT))
    return img


def palette_with_transparency() -> bytes:
    img = gradient("P")
    img.info["transparency"] = 0
    return encode(img, "PNG", transparency=0)


def sixteen_bit_png() -> bytes:
    return encode(Image.new("I;16", (40, 30), 40000), "PNG")


def animated_gif(frames: int = 5) -> bytes:
    images = [gradient("RGB", (32, 24)).rotate(90 * i) for i in range(frames)]
    return encode(images[0], "GIF", save_all=True, append_images=images[1:], duration=100)


def with_ihdr_size(png: bytes, width: int, height: int) -> bytes:
    """Patch the IHDR chunk of a valid PNG to claim another size, with a correct CRC."""
    ihdr = bytearray(png[12:29])  # chunk type + 13 data bytes
    ihdr[4:12] = struct.pack(">II", width, height)
    return png[:12] + bytes(ihdr) + struct.pack(">I", zlib.crc32(bytes(ihdr))) + png[33:]


SVG_FULL = b"""<?xml version="1.0" encoding="UTF-8"?>
<!-- exported by a drawing app -->
<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN"
  "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">
<svg xmlns="http://www.w3.org/2000/svg" width="300" height="200">
<rect width="10" height="10"/></svg>"""

Factory = Callable[[], bytes]
Described = tuple[str, int, int, str, int, bool]  # format, width, height, mode, frames, alpha


def ico() -> bytes:
    return encode(gradient("RGBA", (32, 32)), "ICO", sizes=[(32, 32)])


ACCEPTED = [
    pytest.param(lambda: encode(gradient(), "JPEG"), ("JPEG", 64, 48, "RGB", 1, False), id="jpeg"),
    pytest.param(
        lambda: encode(gradient("L"), "JPEG"), ("JPEG", 64, 48, "L", 1, False), id="jpeg L"
    ),
    pytest.param(
        lambda: encode(gradient("CMYK"), "JPEG"), ("JPEG", 64, 48, "CMYK", 1, False), id="jpeg CMYK"
    ),
    pytest.param(lambda: encode(gradient(), "PNG"), ("PNG", 64, 48, "RGB", 1, False), id="png"),
    pytest.param(
        lambda: encode(gradient("RGBA"), "PNG"), ("PNG", 64, 48, "RGBA", 1, True), id="png RGBA"
    ),
    pytest.param(lambda: encode(gradient("L"), "PNG"), ("PNG", 64, 48, "L", 1, False), id="png L"),
    pytest.param(palette_with_transparency, ("PNG", 64, 48, "P", 1, True), id="png P+tRNS"),
    pytest.param(sixteen_bit_png, ("PNG", 40, 30, "I;16", 1, False), id="png 16-bit"),
    pytest.param(lambda: encode(gradient(), "WEBP"), ("WEBP", 64, 48, "RGB", 1, False), id="webp"),
    pytest.param(
        lambda: encode(gradient("RGBA"), "WEBP"), ("WEBP", 64, 48, "RGBA", 1, True), id="webp RGBA"
    ),
    pytest.param(lambda: encode(gradient("P"), "GIF"), ("GIF", 64, 48, "P", 1, False), id="gif"),
    pytest.param(animated_gif, ("GIF", 32, 24, "P", 5, False), id="gif animated"),
    pytest.param(lambda: encode(gradient(), "AVIF"), ("AVIF", 64, 48, "RGB", 1, False), id="avif"),
    pytest.param(lambda: encode(gradient(), "BMP"), ("BMP", 64, 48, "RGB", 1, False), id="bmp"),
    pytest.param(lambda: encode(gradient(), "TIFF"), ("TIFF", 64, 48, "RGB", 1, False), id="tiff"),
    pytest.param(ico, ("ICO", 32, 32, "RGBA", 1, True), id="ico"),
    pytest.param(lambda: SVG_FULL, ("SVG", 300, 200, "RGBA", 1, True), id="svg with prolog"),
    pytest.param(
        lambda: b'<svg viewBox="0 0 640 480"/>', ("SVG", 640, 480, "RGBA", 1, True), id="viewBox"
    ),
    pytest.param(
        lambda: b"<svg xmlns='http://www.w3.org/2000/svg'></svg>",
        ("SVG", 1024, 1024, "RGBA", 1, True),
        id="svg no size",
    ),
    pytest.param(
        lambda: b"\xef\xbb\xbf  <svg width='12' height='8'>",
        ("SVG", 12, 8, "RGBA", 1, True),
        id="svg BOM",
    ),
]


@pytest.mark.parametrize("factory, expected", ACCEPTED)
def test_accepted_images_are_described(factory: Factory, expected: Described) -> None:
    info = inspect_image(factory())
    described = (info.format, info.width, info.height, info.mode, info.n_frames, info.has_alpha)
    assert described == expected
    assert info.mime.startswith("image/")


def png_claiming(width: int, height: int) -> bytes:
    return with_ihdr_size(encode(gradient(), "PNG"), width, height)


REJECTED = [
    pytest.param(lambda: b"", "not an image", id="empty"),
    pytest.param(lambda: b"<!doctype html><p>oops</p>", "not an image", id="html as png"),
    pytest.param(
        lambda: b"<!DOCTYPE html><html><svg width='10' height='10'></svg></html>",
        "not an image",
        id="html with inline svg",
    ),
    pytest.param(lambda: b"hello, this is plain text", "not an image", id="text"),
    pytest.param(lambda: encode(gradient(), "JPEG")[:20], "truncated or corrupt", id="cut jpeg"),
    pytest.param(lambda: encode(gradient(), "PNG")[:20], "truncated or corrupt", id="cut png"),
    pytest.param(lambda: b"GIF89a" + b"\x00" * 3, "truncated or corrupt", id="gif magic, junk"),
    pytest.param(lambda: b"BM is not a bitmap, just words", "truncated or corrupt", id="bm text"),
    pytest.param(lambda: png_claiming(100_000, 100_000), "bomb", id="decompression bomb png"),
    pytest.param(lambda: png_claiming(0, 48), "PNG", id="zero-width png"),
    pytest.param(lambda: b'<svg width="0" height="10">', "empty size", id="svg zero width"),
    pytest.param(lambda: b'<svg width="10" height="-5">', "empty size", id="svg negative"),
    pytest.param(lambda: b'<svg width="100000" height="100000">', "bomb", id="svg huge"),
]


@pytest.mark.parametrize("factory, reason", REJECTED)
def test_unsafe_bodies_are_rejected_with_a_reason(factory: Factory, reason: str) -> None:
    with pytest.raises(ImageRejected) as caught:
        inspect_image(factory())
    assert reason in str(caught.value)
    assert caught.value.reason == str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_bomb_is_rejected_from_the_header_without_decoding() -> None:
    bomb = with_ihdr_size(encode(gradient(), "PNG"), 100_000, 100_000)
    # 10^10 pixels: decoding would exhaust memory; rejecting at all shows only the header was read
    with pytest.raises(ImageRejected, match="bomb"):
        inspect_image(bomb)


def test_max_pixels_is_a_parameter() -> None:
    data = encode(gradient(), "PNG")
    assert inspect_image(data, max_pixels=64 * 48).width == 64
    with pytest.raises(ImageRejected, match="exceeds 3000 pixels"):
        inspect_image(data, max_pixels=3000)


def test_only_the_header_is_read() -> None:
    """A JPEG cut in the middle of its pixel data still has a complete header."""
    data = encode(Image.effect_noise((256, 256), 64).convert("RGB"), "JPEG")
    info = inspect_image(data[: len(data) // 2])
    assert (info.format, info.width, info.height) == ("JPEG", 256, 256)


def test_magic_bytes_win_over_claimed_format() -> None:
    """The format comes from the bytes: a PNG body is PNG whatever the URL or header says."""
    assert inspect_image(encode(gradient(), "PNG")).format == "PNG"
    assert inspect_image(encode(gradient(), "GIF")).mime == "image/gif"


@pytest.mark.parametrize(
    "fmt, params",
    [("JPEG", {}), ("PNG", {}), ("WEBP", {}), ("GIF", {}), ("AVIF", {}), ("BMP", {}), ("TIFF", {}),
     ("ICO", {"sizes": [(16, 16)]})],
)
def test_sniff_format_needs_only_64_bytes(fmt: str, params: dict[str, object]) -> None:
    assert sniff_format(encode(gradient(), fmt, **params)[:64]) == fmt


@pytest.mark.parametrize(
    "head, expected",
    [
        (b"", None),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", None),
        (b"\x00\x00\x00\x1cftypmif1\x00\x00\x00\x00mif1avifmiaf", "AVIF"),
        (b"RIFF\x00\x00\x00\x00WAVEfmt ", None),
        (b"<svg width='1' height='1'/>", "SVG"),
        (b"<?xml version='1.0'?><svg/>", "SVG"),
        (b"<?xml version='1.0'?><html/>", None),
    ],
)
def test_sniff_format_table(head: bytes, expected: str | None) -> None:
    assert sniff_format(head) == expected


@pytest.mark.parametrize(
    "width, height, view_box, expected",
    [
        ("100", "50", None, (100, 50)),
        ("100px", "50px", "0 0 10 10", (100, 50)),
        ("2in", "1in", None, (192, 96)),
        ("72pt", "36pt", None, (96, 48)),
        ("100%", "100%", "0 0 400 300", (400, 300)),
        ("800", None, "0 0 400 300", (800, 600)),
        (None, None, "0,0,320,240", (320, 240)),
        ("50%", None, None, (1024, 1024)),
        ("0.4", "3", None, (1, 3)),
    ],
)
def test_svg_size_rules(
    width: str | None, height: str | None, view_box: str | None, expected: tuple[int, int]
) -> None:
    assert svg_size(width, height, view_box) == expected


def test_image_info_is_frozen_and_comparable() -> None:
    a = inspect_image(encode(gradient(), "PNG"))
    b = inspect_image(encode(gradient().rotate(180), "PNG"))
    assert a == b and hash(a) == hash(b)
    with pytest.raises(AttributeError):
        a.width = 1  # type: ignore[misc]
    assert isinstance(a, ImageInfo)
