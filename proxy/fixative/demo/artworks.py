"""The 24 procedural artworks of the demo portfolio, rendered deterministically with Pillow.

Each work is seeded by its index, so `render_files(i)` returns identical bytes on every
run with the same Pillow build. JPEG works are oils, PNG works gouache prints, WebP works
watercolours; each medium also gives the file sizes a realistic spread.
"""

from __future__ import annotations

import io
import random
import re
import unicodedata
from dataclasses import dataclass

from PIL import Image, ImageFilter

from .painting import grain, impasto
from .scenes import PALETTES, SCENES

THUMB_SIZE = 360
FORMATS = ("jpeg", "png", "webp")
EXTENSIONS = {"jpeg": "jpg", "png": "png", "webp": "webp"}
MEDIA = {"jpeg": "oil on canvas", "png": "gouache on paper", "webp": "watercolour on paper"}
# Indexed by work index % 8; 8 is coprime with the 3 formats, so every format gets every shape.
SIZES = ((1600, 1200), (1200, 1600), (1400, 1400), (1600, 1200),
         (1200, 1600), (1600, 1200), (1400, 1400), (1200, 1600))
TITLES = (
    ("Evening over the Downs", "Ridge Country", "The Long Field",
     "First Light, Kallaste", "Hill Road in August", "Before the Rain"),
    ("Harbour Mouth", "Low Tide at Pärnu", "Sail Against the Sun",
     "North Sea, Morning", "The Quiet Crossing", "Salt Light"),
    ("Pears and a Blue Jug", "Still Life with Oranges", "Kitchen Table, Winter",
     "Three Apples", "The Borrowed Vase", "Lemons on Linen"),
    ("Study in Ochre No. 3", "Orbit", "Field Notes I",
     "Weather Map", "Red over Grey", "Small Constellations"),
)
COUNT = 24


@dataclass(frozen=True)
class Artwork:
    """What a work is, independent of where the site puts it."""

    index: int
    title: str
    slug: str
    fmt: str
    scene: str
    medium: str
    year: int
    width: int
    height: int

    @property
    def ext(self) -> str:
        """File extension for the work's format, without the dot."""
        return EXTENSIONS[self.fmt]


def slugify(title: str) -> str:
    """ASCII, lower-case, hyphen-separated: "Low Tide at Pärnu" -> "low-tide-at-parnu"."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")


def artwork(index: int) -> Artwork:
    """The spec of work `index` (0..COUNT-1)."""
    if not 0 <= index < COUNT:
        raise ValueError(f"artwork index {index} out of range 0..{COUNT - 1}")
    title = TITLES[index % len(SCENES)][index // len(SCENES)]
    fmt = FORMATS[index % len(FORMATS)]
    width, height = SIZES[index % len(SIZES)]
    scene = SCENES[index % len(SCENES)].__name__.replace("_", " ")
    return Artwork(index, title, slugify(title), fmt, scene, MEDIA[fmt], 2016 + index * 7 % 9,
                   width, height)


def all_artworks() -> list[Artwork]:
    """Every work of the portfolio, in catalogue order."""
    return [artwork(i) for i in range(COUNT)]


def render(index: int) -> Image.Image:
    """Paint work `index` at full size as an RGB image."""
    art = artwork(index)
    rng = random.Random(f"fixative-demo-{index}")
    palette = rng.choice(PALETTES)
    # Work at half size: strokes stay soft after upscaling and rendering stays fast.
    small = (art.width // 2, art.height // 2)
    img = SCENES[index % len(SCENES)](small, rng, palette)
    if art.fmt == "jpeg":
        return _oil(img, rng, (art.width, art.height))
    if art.fmt == "png":
        return _gouache(img, rng, (art.width, art.height))
    return _watercolour(img, rng, (art.width, art.height))


def _oil(img: Image.Image, rng: random.Random, size: tuple[int, int]) -> Image.Image:
    """Broken-colour strokes over the scene, then canvas tooth at full size."""
    scale = min(img.size) / 100
    impasto(img, rng, count=int(img.width * img.height / 260), length=scale * 4,
            width=scale * 0.9, flow=rng.uniform(-0.6, 0.6))
    full = img.resize(size, Image.Resampling.BICUBIC)
    return grain(full, rng, amount=0.2, blur=0.7)


def _gouache(img: Image.Image, rng: random.Random, size: tuple[int, int]) -> Image.Image:
    """Flat opaque areas: a few loose strokes, then a limited palette at full size."""
    scale = min(img.size) / 100
    impasto(img, rng, count=int(img.width * img.height / 900), length=scale * 6,
            width=scale * 1.4, flow=rng.uniform(-1.5, 1.5), alpha=220)
    full = img.resize(size, Image.Resampling.BICUBIC).filter(ImageFilter.GaussianBlur(1.5))
    flat = full.quantize(colors=20, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    return flat.convert("RGB")


def _watercolour(img: Image.Image, rng: random.Random, size: tuple[int, int]) -> Image.Image:
    """Soft washes: blurred, lightened towards the paper, with paper fibre at full size."""
    soft = img.filter(ImageFilter.GaussianBlur(min(img.size) / 250))
    # Transparent pigment never reaches full saturation; the paper shows through.
    washed = Image.blend(soft, Image.new("RGB", soft.size, (248, 244, 232)), 0.18)
    full = washed.resize(size, Image.Resampling.BICUBIC)
    return grain(full, rng, amount=0.22, blur=1.0)


def thumbnail(img: Image.Image) -> Image.Image:
    """A copy scaled so its longest side is THUMB_SIZE pixels."""
    thumb = img.copy()
    thumb.thumbnail((THUMB_SIZE, THUMB_SIZE), Image.Resampling.LANCZOS)
    return thumb


def encode(img: Image.Image, fmt: str) -> bytes:
    """Encode img in `fmt` with the portfolio's fixed settings (no metadata, no timestamps)."""
    out = io.BytesIO()
    if fmt == "jpeg":
        img.save(out, "JPEG", quality=88)
    elif fmt == "png":
        img.save(out, "PNG", optimize=False)
    elif fmt == "webp":
        img.save(out, "WEBP", quality=85)
    else:
        raise ValueError(f"unknown image format {fmt!r}")
    return out.getvalue()


def render_files(index: int) -> tuple[bytes, bytes]:
    """Encoded (full size, thumbnail) bytes of work `index`, both in the work's format."""
    img = render(index)
    fmt = artwork(index).fmt
    return encode(img, fmt), encode(thumbnail(img), fmt)
