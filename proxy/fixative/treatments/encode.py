"""Encode Pillow images to bytes in a named format, converting modes as the format needs.

Shared by decoys and watermarks so both write the same metadata the same way.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PIL import Image, PngImagePlugin, TiffImagePlugin

from .imageinfo import ImageRejected
from .rights import ascii_notice, exif_copyright

ICO_MAX_SIDE = 256
_TIFF_COPYRIGHT = 33432
_KEEP_MODES: dict[str, tuple[str, ...]] = {
    "JPEG": ("L", "RGB"),
    "PNG": ("L", "LA", "RGB", "RGBA"),
    "WEBP": ("RGB", "RGBA"),
    "AVIF": ("RGB", "RGBA"),
    "BMP": ("L", "RGB", "RGBA"),
    "TIFF": ("L", "LA", "RGB", "RGBA"),
    "ICO": ("RGBA",),
}
_NO_ALPHA = ("JPEG",)

Mark = Callable[[Image.Image], Image.Image]  # adds an invisible trace to a finished picture


@dataclass(frozen=True)
class EncodeOptions:
    """Knobs for `encode_image`; `notice` goes to EXIF/PNG text/GIF comment, `xmp` as is."""

    quality: int = 85
    fast: bool = False
    optimize: bool = False
    xmp: bytes | None = None
    notice: str | None = None
    icc_profile: bytes | None = None
    duration_ms: int = 100


def encode_image(frames: Sequence[Image.Image], fmt: str, opts: EncodeOptions) -> bytes:
    """Write `frames` (one, or several for animated GIF/WebP) as `fmt`.

    Raises ImageRejected if this Pillow cannot write `fmt`.
    """
    if fmt not in _SAVERS:
        raise ImageRejected(f"cannot encode {fmt}")
    buf = io.BytesIO()
    try:
        _SAVERS[fmt](list(frames), buf, opts)
    except (OSError, ValueError, KeyError) as e:
        # e.g. a Pillow build without an AVIF encoder: the caller falls back.
        raise ImageRejected(f"cannot encode {fmt}: {e}") from e
    return buf.getvalue()


def has_alpha(img: Image.Image) -> bool:
    """True if `img` carries transparency (alpha band or palette transparency)."""
    return img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in img.info


def to_mode_for(img: Image.Image, fmt: str) -> Image.Image:
    """`img` in a mode `fmt` can store, keeping alpha where the format has it."""
    keep = _KEEP_MODES.get(fmt, ("RGB", "RGBA"))
    if img.mode in keep:
        return img
    if img.mode in ("1", "I;16", "I;16B", "I;16L", "I", "F") and "L" in keep:
        return img.convert("L")
    alpha = has_alpha(img) and fmt not in _NO_ALPHA
    if alpha:
        wanted = "RGBA" if "RGBA" in keep else "LA"
    else:
        wanted = "RGB" if "RGB" in keep else keep[0]
    if img.mode == "P" and alpha:
        img = img.convert("RGBA")
    return img.convert(wanted)


def gif_frame(img: Image.Image) -> Image.Image:
    """Palette image for GIF; pixels under half alpha become the transparent index 255."""
    if img.mode == "P":
        return img
    alpha = img.convert("RGBA").getchannel("A") if has_alpha(img) else None
    rgb = img.convert("RGB")
    paletted = rgb.quantize(255 if alpha else 256, method=Image.Quantize.FASTOCTREE)
    if alpha is not None:
        paletted.paste(255, mask=alpha.point(lambda a: 255 if a < 128 else 0))
        paletted.info["transparency"] = 255
    return paletted


def _save_jpeg(frames: list[Image.Image], buf: io.BytesIO, opts: EncodeOptions) -> None:
    im = to_mode_for(frames[0], "JPEG")
    im.save(buf, "JPEG", quality=opts.quality, **_common_meta(opts, exif=True))


def _save_webp(frames: list[Image.Image], buf: io.BytesIO, opts: EncodeOptions) -> None:
    ims = [to_mode_for(f, "WEBP") for f in frames]
    method = 0 if opts.fast else 4
    extra = _animation(ims, opts)
    meta = _common_meta(opts, exif=True)
    ims[0].save(buf, "WEBP", quality=opts.quality, method=method, **extra, **meta)


def _save_avif(frames: list[Image.Image], buf: io.BytesIO, opts: EncodeOptions) -> None:
    im = to_mode_for(frames[0], "AVIF")
    speed = 10 if opts.fast else 6
    im.save(buf, "AVIF", quality=opts.quality, speed=speed, **_common_meta(opts, exif=True))


def _save_png(frames: list[Image.Image], buf: io.BytesIO, opts: EncodeOptions) -> None:
    im = to_mode_for(frames[0], "PNG")
    pnginfo = PngImagePlugin.PngInfo()
    if opts.notice:
        pnginfo.add_text("Copyright", opts.notice)  # tEXt, or iTXt beyond Latin-1
    if opts.xmp:
        pnginfo.add_itxt("XML:com.adobe.xmp", opts.xmp.decode("utf-8"))
    level = {"optimize": True} if opts.optimize else {"compress_level": 1 if opts.fast else 6}
    meta = {"icc_profile": opts.icc_profile} if opts.icc_profile else {}
    im.save(buf, "PNG", pnginfo=pnginfo, **level, **meta)


def _save_gif(frames: list[Image.Image], buf: io.BytesIO, opts: EncodeOptions) -> None:
    ims = [gif_frame(f) for f in frames]
    extra = _animation(ims, opts)
    if opts.notice:
        extra["comment"] = ascii_notice(opts.notice).encode("ascii")
    ims[0].save(buf, "GIF", **extra)


def _save_bmp(frames: list[Image.Image], buf: io.BytesIO, opts: EncodeOptions) -> None:
    to_mode_for(frames[0], "BMP").save(buf, "BMP")


def _save_tiff(frames: list[Image.Image], buf: io.BytesIO, opts: EncodeOptions) -> None:
    tags = TiffImagePlugin.ImageFileDirectory_v2()
    if opts.notice:
        tags[_TIFF_COPYRIGHT] = ascii_notice(opts.notice)
    meta = {"icc_profile": opts.icc_profile} if opts.icc_profile else {}
    to_mode_for(frames[0], "TIFF").save(buf, "TIFF", tiffinfo=tags, **meta)


def _save_ico(frames: list[Image.Image], buf: io.BytesIO, opts: EncodeOptions) -> None:
    im = to_mode_for(frames[0], "ICO")
    # ICO directory entries cannot describe sides above 256.
    size = (min(im.width, ICO_MAX_SIDE), min(im.height, ICO_MAX_SIDE))
    im.save(buf, "ICO", sizes=[size])


def _animation(ims: list[Image.Image], opts: EncodeOptions) -> dict[str, object]:
    """save() arguments for an animation, or none for a still."""
    if len(ims) < 2:
        return {}
    return {"save_all": True, "append_images": ims[1:], "duration": opts.duration_ms, "loop": 0}


def _common_meta(opts: EncodeOptions, *, exif: bool) -> dict[str, object]:
    """xmp / exif / icc_profile arguments understood by the JPEG, WebP and AVIF writers."""
    meta: dict[str, object] = {}
    if opts.xmp:
        meta["xmp"] = opts.xmp
    if exif and opts.notice:
        meta["exif"] = exif_copyright(opts.notice).tobytes()
    if opts.icc_profile:
        meta["icc_profile"] = opts.icc_profile
    return meta


_SAVERS = {
    "JPEG": _save_jpeg,
    "WEBP": _save_webp,
    "AVIF": _save_avif,
    "PNG": _save_png,
    "GIF": _save_gif,
    "BMP": _save_bmp,
    "TIFF": _save_tiff,
    "ICO": _save_ico,
}
