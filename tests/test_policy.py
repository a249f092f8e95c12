"""Policy: the treatment per verdict and kind; parse_policy validates the config value."""

from __future__ import annotations

import pytest

from fixative.facts import IMAGE, OTHER, PAGE
from fixative.policy import (
    BLOCK, DECOY, DEFAULT_POLICY, ORIGINAL, TARPIT, WATERMARK, Policy, parse_policy,
)
from fixative.verdict import HUMAN, SCRAPER, SUSPECT


@pytest.mark.parametrize(
    ("verdict", "kind", "treatment"),
    [
        (HUMAN, PAGE, ORIGINAL), (HUMAN, IMAGE, ORIGINAL), (HUMAN, OTHER, ORIGINAL),
        (SUSPECT, PAGE, ORIGINAL), (SUSPECT, IMAGE, WATERMARK), (SUSPECT, OTHER, ORIGINAL),
        (SCRAPER, PAGE, ORIGINAL), (SCRAPER, IMAGE, DECOY), (SCRAPER, OTHER, ORIGINAL),
    ],
)
def test_default_policy(verdict: str, kind: str, treatment: str) -> None:
    assert Policy().treatment(verdict, kind) == treatment
    assert parse_policy(None).treatment(verdict, kind) == treatment


def test_humans_always_get_the_original() -> None:
    table = {v: {k: BLOCK for k in (PAGE, IMAGE, OTHER)} for v in (HUMAN, SUSPECT, SCRAPER)}
    policy = Policy(table)
    assert [policy.treatment(HUMAN, k) for k in (PAGE, IMAGE, OTHER)] == [ORIGINAL] * 3
    assert policy.treatment(SCRAPER, PAGE) == BLOCK


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({}, {SUSPECT: (ORIGINAL, WATERMARK, ORIGINAL), SCRAPER: (ORIGINAL, DECOY, ORIGINAL)}),
        ({SCRAPER: BLOCK}, {SUSPECT: (ORIGINAL, WATERMARK, ORIGINAL), SCRAPER: (BLOCK, BLOCK, BLOCK)}),
        ({SCRAPER: TARPIT, SUSPECT: ORIGINAL}, {SUSPECT: (ORIGINAL,) * 3, SCRAPER: (TARPIT,) * 3}),
        # an image-only treatment given for every kind applies to images only
        ({SCRAPER: WATERMARK}, {SUSPECT: (ORIGINAL, WATERMARK, ORIGINAL), SCRAPER: (ORIGINAL, WATERMARK, ORIGINAL)}),
        ({SUSPECT: DECOY}, {SUSPECT: (ORIGINAL, DECOY, ORIGINAL), SCRAPER: (ORIGINAL, DECOY, ORIGINAL)}),
        # a partial mapping keeps the defaults for the rest
        ({SCRAPER: {PAGE: BLOCK}}, {SUSPECT: (ORIGINAL, WATERMARK, ORIGINAL), SCRAPER: (BLOCK, DECOY, ORIGINAL)}),
        ({SUSPECT: {IMAGE: TARPIT, OTHER: BLOCK}, SCRAPER: {IMAGE: BLOCK}},
         {SUSPECT: (ORIGINAL, TARPIT, BLOCK), SCRAPER: (ORIGINAL, BLOCK, ORIGINAL)}),
    ],
)
def test_parse_policy(value: dict[str, object], expected: dict[str, tuple[str, str, str]]) -> None:
    policy = parse_policy(value)
    for verdict, treatments in expected.items():
        assert tuple(policy.treatment(verdict, k) for k in (PAGE, IMAGE, OTHER)) == treatments
    assert [policy.treatment(HUMAN, k) for k in (PAGE, IMAGE, OTHER)] == [ORIGINAL] * 3


def test_parse_policy_leaves_the_default_alone() -> None:
    parse_policy({SCRAPER: BLOCK, SUSPECT: {IMAGE: TARPIT}})
    assert Policy().treatment(SCRAPER, PAGE) == ORIGINAL
    assert Policy().treatment(SUSPECT, IMAGE) == WATERMARK
    assert DEFAULT_POLICY[SCRAPER][IMAGE] == DECOY


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("decoy", "expected a mapping of verdict (suspect, scraper) to {page, image, other: treatment}"),
        ([SCRAPER], "expected a mapping of verdict"),
        ({HUMAN: DECOY}, "human: people always get the original; only suspect and scraper can be set"),
        ({HUMAN: {IMAGE: ORIGINAL}}, "human: people always get the original"),
        ({"bot": BLOCK}, "bot: unknown verdict; use suspect or scraper"),
        ({SCRAPER: [BLOCK]}, "scraper: expected {page: T, image: T, other: T} or one treatment"),
        ({SCRAPER: None}, "scraper: expected {page: T, image: T, other: T} or one treatment"),
        ({SCRAPER: "shred"}, "scraper.page: unknown treatment 'shred'; use original, decoy, watermark, block, tarpit"),
        ({SCRAPER: {"video": BLOCK}}, "scraper.video: unknown kind; use page, image or other"),
        ({SUSPECT: {PAGE: DECOY}}, "suspect.page: decoy applies to images only; use original, block or tarpit"),
        ({SCRAPER: {OTHER: WATERMARK}}, "scraper.other: watermark applies to images only"),
    ],
)
def test_parse_policy_rejects(value: object, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_policy(value)
    assert str(info.value).startswith(message)
