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

# What a decoy looks like (config `decoy: {style: ...}`), per verdict that gets one.
GENERATED = "generated"  # an abstract painting drawn from the URL and the install's secret
BLURRED = "blurred"  # the original shrunk to ~16 px and blown up again: colours, no work
NOTICE = "notice"  # a card saying the work is not licensed for AI training, with the artist's name
FOLDER = "folder"  # one of the artist's chosen images, picked per URL
DECOY_STYLES = (GENERATED, BLURRED, NOTICE, FOLDER)

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


@dataclass(frozen=True)
class DecoyStyles:
    """The decoy style per verdict: `default`, unless `per_verdict` names another."""

    default: str = GENERATED
    per_verdict: tuple[tuple[str, str], ...] = ()

    def style_for(self, verdict: str) -> str:
        return dict(self.per_verdict).get(verdict, self.default)

    @property
    def all(self) -> frozenset[str]:
        return frozenset([self.default, *(style for _, style in self.per_verdict)])


def parse_decoy_style(value: object, where: str) -> str:
    """One style name; ValueError names `where` and the styles there are."""
    if value not in DECOY_STYLES:
        raise ValueError(f"{where}: {value!r} is not a decoy style; use {', '.join(DECOY_STYLES)}")
    return str(value)


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
