"""An invisible identifier in the pixels: 32 bits that name the client an altered copy went to.

The method is blind-watermark's (github.com/guofei9987/blind_watermark, MIT): Haar DWT,
4x4 blocks of the approximation band, DCT, SVD, and the two largest singular values
quantised to steps of STEP0 / STEP1 so that their remainder spells one bit per block.
It is ported here, vectorised over all blocks and on luminance only, because the
package loops per block in Python (~1.9 s for 1600x1200), sets the process-wide
multiprocessing start method when imported and prints a banner.

Scale invariance: the mark lives in a CANONICAL x CANONICAL copy of the luminance (the
image stretched to a square), and only the difference is scaled back up and added. A
reader stretches whatever it gets to the same square, so any resize of the served copy
lands on the same grid, whatever size the original was. The payload is the tag, a keyed
16-bit check (so an unmarked image does not read as a tag) and a keyed whitening mask.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

import numpy as np
from PIL import Image

CANONICAL = 256
STEP0, STEP1 = 60.0, 20.0  # larger = more robust and more visible; 60 is ~38 dB PSNR
TAG_BITS, CHECK_BITS = 32, 16
PAYLOAD_BITS = TAG_BITS + CHECK_BITS
MIN_SIDE = 96  # below this a copy cannot carry the mark: it is served untraced
MIN_CONFIDENCE = 0.4
_BLOCK = 4  # in the approximation band, i.e. 8x8 canonical pixels
_ROWS = 256
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)  # ITU-R 601, as Pillow's convert("L")

_k = np.arange(_BLOCK)
_DCT = np.sqrt(2 / _BLOCK) * np.cos(np.pi * (2 * _k[None, :] + 1) * _k[:, None] / (2 * _BLOCK))
_DCT[0] /= np.sqrt(2)


@dataclass(frozen=True)
class Reading:
    """A tag read back: how sure (0 none .. 1 every block agrees) and from which guessed geometry."""

    tag: int
    confidence: float
    geometry: str


def tag_for(secret: bytes, client: str) -> int:
    """The 32-bit tag of a client key: keyed, so tags differ between installs."""
    digest = hmac.new(secret, b"trace-tag\0" + client.encode("utf-8", "surrogateescape"), hashlib.sha256)
    return int.from_bytes(digest.digest()[:4], "big")


def can_mark(size: tuple[int, int]) -> bool:
    return min(size) >= MIN_SIDE


def mark_image(img: Image.Image, tag: int, key: bytes) -> Image.Image:
    """`img` with `tag` hidden in its luminance; same size and mode family (L/LA/RGB/RGBA).

    The change is added equally to R, G and B, which moves luminance by exactly that and
    leaves the colour alone; rounding is dithered so flat areas keep the block means.
    Images too small to carry it (see MIN_SIDE) come back as they are.
    """
    if not can_mark(img.size):
        return img
    alpha = img.getchannel("A") if img.mode in ("RGBA", "LA") else None
    base = img.convert("L") if img.mode in ("L", "LA") else img.convert("RGB")
    luma = base if base.mode == "L" else base.convert("L")
    canonical = np.asarray(luma.resize((CANONICAL, CANONICAL), Image.Resampling.BOX), np.float64)
    delta = _embed_delta(canonical, _payload(tag, key), key)
    full = np.asarray(Image.fromarray(delta.astype(np.float32), "F").resize(img.size, Image.Resampling.BILINEAR))
    pixels = np.array(base)
    dither = np.random.default_rng(tag).random((61, 67), np.float32) - 0.5
    for top in range(0, img.height, _ROWS):  # in bands: a float copy of a 60 MP image would not fit
        rows = slice(top, top + _ROWS)
        band = full[rows] + _tile(dither, full[rows].shape, top)
        if pixels.ndim == 3:
            pixels[rows] = _add_luma(pixels[rows], band)
        else:
            pixels[rows] = np.clip(np.rint(pixels[rows] + band), 0, 255).astype(np.uint8)
    out = Image.fromarray(pixels, base.mode)
    if alpha is not None:
        out.putalpha(alpha)
    return out


def _add_luma(rgb: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """`rgb` with its luminance moved by `delta`: equally on R, G and B, and where a channel hits
    0 or 255 the rest is made up on the channels that can still move (dark reds, bright skies)."""
    before = rgb.astype(np.float32)
    after = np.clip(before + delta[:, :, None], 0, 255)
    missing = delta - (after - before) @ _LUMA
    room = np.where(missing[:, :, None] < 0, after > 0, after < 255)
    share = room @ _LUMA
    after += room * (missing / np.maximum(share, 0.05))[:, :, None]
    return np.clip(np.rint(after), 0, 255).astype(np.uint8)


def _tile(pattern: np.ndarray, shape: tuple[int, ...], top: int) -> np.ndarray:
    """`pattern` repeated over `shape`, continuing from row `top`."""
    ph, pw = pattern.shape
    rows = (np.arange(top, top + shape[0]) % ph)[:, None]
    cols = (np.arange(shape[1]) % pw)[None, :]
    return pattern[rows, cols]


def read_tag(img: Image.Image, key: bytes, search_crops: bool = True) -> Reading | None:
    """The tag in `img` if one with a valid check is found: as is, then as a centre crop."""
    luma = img.convert("L") if img.mode in ("L", "LA") else img.convert("RGB").convert("L")
    reading = _read_geometry(luma, key, 1.0, 1.0)
    if reading is not None or not search_crops:
        return reading
    # Someone cut the edges off: guess how much (uniform first, then per axis), 0.5 % steps.
    best: Reading | None = None
    fractions = [round(1 - i * 0.005, 3) for i in range(1, 41)]
    candidates = [(f, f) for f in fractions] + [(fx, fy) for fx in fractions[1::2] for fy in fractions[1::2]
                                               if fx != fy]
    for fx, fy in candidates:
        found = _read_geometry(luma, key, fx, fy)
        if found is not None and (best is None or found.confidence > best.confidence):
            best = found
            if found.confidence > 0.6:
                break
    return best


def _read_geometry(luma: Image.Image, key: bytes, fx: float, fy: float) -> Reading | None:
    """Read assuming `luma` is the central fx x fy part of a marked image."""
    w, h = round(CANONICAL * fx), round(CANONICAL * fy)
    small = luma.resize((w, h), Image.Resampling.BOX)
    x0, y0 = (CANONICAL - w) // 2, (CANONICAL - h) // 2
    if (w, h) == (CANONICAL, CANONICAL):
        canvas = small
    else:
        canvas = Image.new("L", (CANONICAL, CANONICAL), int(np.asarray(small).mean()))
        canvas.paste(small, (x0, y0))
    soft, n = _soft_bits(np.asarray(canvas, np.float64))
    cells = np.arange(n) * _BLOCK * 2
    inside_x = (cells >= x0) & (cells + _BLOCK * 2 <= x0 + w)
    inside_y = (cells >= y0) & (cells + _BLOCK * 2 <= y0 + h)
    inside = (inside_y[:, None] & inside_x[None, :]).ravel()
    layout = _layout(n * n, key)[inside]
    counts = np.bincount(layout, None, PAYLOAD_BITS)
    if counts.min() == 0:
        return None
    avg = np.bincount(layout, soft[inside], PAYLOAD_BITS) / counts
    bits = (avg > 0.5).astype(np.uint8) ^ _whitening(key)
    confidence = float(np.abs(avg - 0.5).mean() * 2)
    tag = int("".join(map(str, bits[:TAG_BITS])), 2)
    if confidence < MIN_CONFIDENCE or not np.array_equal(bits[TAG_BITS:], _check(tag, key)):
        return None
    geometry = "as served" if (fx, fy) == (1.0, 1.0) else f"centre crop {fx:.1%} x {fy:.1%}"
    return Reading(tag, confidence, geometry)


def _payload(tag: int, key: bytes) -> np.ndarray:
    tag_bits = np.array([(tag >> (TAG_BITS - 1 - i)) & 1 for i in range(TAG_BITS)], np.uint8)
    return np.concatenate([tag_bits, _check(tag, key)]) ^ _whitening(key)


def _check(tag: int, key: bytes) -> np.ndarray:
    digest = hmac.new(key, b"check\0" + tag.to_bytes(4, "big"), hashlib.sha256).digest()
    return np.unpackbits(np.frombuffer(digest[:2], np.uint8))


def _whitening(key: bytes) -> np.ndarray:
    digest = hmac.new(key, b"whitening", hashlib.sha256).digest()
    return np.unpackbits(np.frombuffer(digest[:PAYLOAD_BITS // 8], np.uint8))


def _layout(n_blocks: int, key: bytes) -> np.ndarray:
    """Which payload bit each block carries: every bit equally often, in keyed random places."""
    seed = int.from_bytes(hmac.new(key, b"layout", hashlib.sha256).digest()[:8], "big")
    order = np.random.default_rng(seed).permutation(n_blocks)
    layout = np.empty(n_blocks, np.int64)
    layout[order] = np.arange(n_blocks) % PAYLOAD_BITS
    return layout


def _approximation_blocks(canonical: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Haar approximation band (2x the 2x2 means) and its 4x4 blocks, DCT'd."""
    c = canonical
    band = (c[0::2, 0::2] + c[0::2, 1::2] + c[1::2, 0::2] + c[1::2, 1::2]) / 2
    n = band.shape[0] // _BLOCK
    blocks = band[: n * _BLOCK, : n * _BLOCK].reshape(n, _BLOCK, n, _BLOCK).transpose(0, 2, 1, 3)
    return band, _DCT @ blocks.reshape(-1, _BLOCK, _BLOCK) @ _DCT.T, n


def _embed_delta(canonical: np.ndarray, payload: np.ndarray, key: bytes) -> np.ndarray:
    """The change to the canonical luminance that writes `payload`, at canonical size."""
    band, coeffs, n = _approximation_blocks(canonical)
    u, s, vt = np.linalg.svd(coeffs)
    bit = payload[_layout(n * n, key)].astype(np.float64)
    s[:, 0] = (s[:, 0] // STEP0 + 0.25 + 0.5 * bit) * STEP0
    s[:, 1] = (s[:, 1] // STEP1 + 0.25 + 0.5 * bit) * STEP1
    blocks = _DCT.T @ (u @ (s[:, :, None] * vt)) @ _DCT
    new_band = band.copy()
    new_band[: n * _BLOCK, : n * _BLOCK] = blocks.reshape(n, n, _BLOCK, _BLOCK).transpose(0, 2, 1, 3).reshape(
        n * _BLOCK, n * _BLOCK)
    # Inverse Haar with unchanged detail bands: each pixel of a 2x2 cell moves by half the change.
    return np.kron((new_band - band) / 2, np.ones((2, 2)))


def _soft_bits(canonical: np.ndarray) -> tuple[np.ndarray, int]:
    """Per block, how much it says 1 (0, 0.25, 0.75 or 1): the larger value counts three times."""
    _, coeffs, n = _approximation_blocks(canonical)
    s = np.linalg.svd(coeffs, compute_uv=False)
    return (3 * (s[:, 0] % STEP0 > STEP0 / 2) + (s[:, 1] % STEP1 > STEP1 / 2)) / 4, n
