"""Policy: which treatment each verdict gets, per resource kind."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from .facts import IMAGE, KINDS, OTHER, PAGE
from .verdict import HUMAN, SCRAPER, SUSPECT, VERDICTS

ORIGINAL = "original"
DECOY = "decoy"
WATERMARK = "watermark"
BLOCK = "block"
TARPIT = "tarpit"
TREATMENTS = (ORIGINAL, DECOY, WATERMARK, BLOCK, TARPIT)
IMAGE_ONLY = (DECOY, WATERMARK)

DEFAULT_POLICY: Mapping[str, Mapping[str, str]] = MappingProxyType({
    HUMAN: {PAGE: ORIGINAL, IMAGE: ORIGINAL, OTHER: ORIGINAL},
    SUSPECT: {PAGE: ORIGINAL, IMAGE: WATERMARK, OTHER: ORIGINAL},
    SCRAPER: {PAGE: ORIGINAL, IMAGE: DECOY, OTHER: ORIGINAL},
})


@dataclass(frozen=True)
class Policy:
    """verdict → kind → treatment. Humans always get originals: that is not configurable."""

    table: Mapping[str, Mapping[str, str]] = field(default_factory=lambda: DEFAULT_POLICY)

    def treatment(self, verdict: str, kind: str) -> str:
        if verdict == HUMAN:
            return ORIGINAL
        return self.table[verdict][kind]


def parse_policy(value: object) -> Policy:
    """Policy from config `{suspect: {image: watermark}, scraper: {...}}`; ValueError names the bad entry."""
    if value is None:
        return Policy()
    if not isinstance(value, dict):
        raise ValueError("expected a mapping of verdict (suspect, scraper) to {page, image, other: treatment}")
    table = {v: dict(DEFAULT_POLICY[v]) for v in VERDICTS}
    for verdict, kinds in value.items():
        if verdict == HUMAN:
            raise ValueError("human: people always get the original; only suspect and scraper can be set")
        if verdict not in (SUSPECT, SCRAPER):
            raise ValueError(f"{verdict}: unknown verdict; use suspect or scraper")
        if isinstance(kinds, str):
            kinds = {k: kinds for k in KINDS} if kinds not in IMAGE_ONLY else {IMAGE: kinds}
        if not isinstance(kinds, dict):
            raise ValueError(f"{verdict}: expected {{page: T, image: T, other: T}} or one treatment")
        for kind, treatment in kinds.items():
            if kind not in KINDS:
                raise ValueError(f"{verdict}.{kind}: unknown kind; use page, image or other")
            if treatment not in TREATMENTS:
                raise ValueError(f"{verdict}.{kind}: unknown treatment {treatment!r}; "
                                 f"use {', '.join(TREATMENTS)}")
            if treatment in IMAGE_ONLY and kind != IMAGE:
                raise ValueError(f"{verdict}.{kind}: {treatment} applies to images only; "
                                 "use original, block or tarpit")
            table[verdict][kind] = treatment
    return Policy(MappingProxyType(table))
