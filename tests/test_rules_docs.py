"""The generated rules reference and JSON Schema: both current, both describing every matcher; every signal
a shipped pack names is documented and produced by code; packs validate against the schema."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from fixative.rules import reference, schema
from fixative.rules.loader import SHIPPED_RULES
from fixative.rules.matchers import MATCHERS
from fixative.rulescli import main as rules_main

HERE = Path(__file__).resolve().parent
PACKS = sorted(SHIPPED_RULES.glob("*.yaml"))
GOOD = sorted((HERE / "rules" / "good").glob("*.yaml"))
BAD = HERE / "rules" / "bad"
HAND_WRITTEN = ("http-libraries", "headless-browsers", "ua-basics", "link-previews", "behaviour")
GENERATED = ("ai-agents", "search-engines", "ai-crawler-networks")


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    document = json.loads(schema.SCHEMA_FILE.read_text())
    Draft202012Validator.check_schema(document)
    return Draft202012Validator(document)


def test_committed_schema_is_generated_from_the_code() -> None:
    assert schema.SCHEMA_FILE.read_text() == schema.schema_text(), "run `fixative rules docs --write`"


def test_schema_describes_every_matcher() -> None:
    matchers = schema.pack_schema()["$defs"]["rule"]["properties"]["match"]["properties"]
    assert list(matchers) == list(MATCHERS)
    assert all(m["description"] and ("type" in m or "anyOf" in m) for m in matchers.values())


@pytest.mark.parametrize(("key", "valid", "invalid"), [
    ("user_agent", ["GPTBot", ["a", "b"]], [[], True, {"a": 1}]),
    ("user_agent_missing", [True, False], ["yes", 1]),
    ("kind", ["image", ["page", "other"]], ["picture", ["image", "video"]]),
    ("header", [{"Accept": ".*"}], [{}, ["Accept"]]),
    ("method", ["GET", ["post"]], ["GET POST", []]),
])
def test_matcher_value_schemas(key: str, valid: list[Any], invalid: list[Any]) -> None:
    value = Draft202012Validator(schema.pack_schema()["$defs"]["rule"]["properties"]["match"]["properties"][key])
    assert all(value.is_valid(v) for v in valid) and not any(value.is_valid(v) for v in invalid)


@pytest.mark.parametrize("path", PACKS + GOOD, ids=lambda p: p.name)
def test_packs_validate_against_the_schema(validator: Draft202012Validator, path: Path) -> None:
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(yaml.safe_load(path.read_text()))]
    assert not errors


@pytest.mark.parametrize("name", [
    "action-not-allow-deny", "bad-id", "empty-match", "matcher-at-rule-level", "missing-description",
    "missing-pack", "neither-weight-nor-action", "pack-bad-name", "pack-fields-missing", "pack-unknown-field",
    "rules-not-a-list", "unknown-kind", "unknown-matcher", "unknown-top-level", "weight-and-action",
    "weight-not-integer",
])
def test_the_schema_rejects_what_the_loader_rejects_by_shape(validator: Draft202012Validator, name: str) -> None:
    assert not validator.is_valid(yaml.safe_load((BAD / f"{name}.yaml").read_text()))


@pytest.mark.parametrize("name", HAND_WRITTEN + GENERATED)
def test_packs_point_editors_at_the_schema(name: str) -> None:
    first = (SHIPPED_RULES / f"{name}.yaml").read_text().splitlines()[0]
    assert first == "# yaml-language-server: $schema=../schema/rule-pack.schema.json"
    assert (SHIPPED_RULES / "../schema/rule-pack.schema.json").resolve() == schema.SCHEMA_FILE.resolve()


def test_readme_reference_is_current() -> None:
    assert reference.readme_is_current(), "run `fixative rules docs --write`"
    text = reference.README.read_text()
    for key in MATCHERS:
        assert f"#### `{key}`" in text
    for name in reference.SIGNALS:
        assert f"| `{name}` |" in text


def test_render_replaces_only_the_marked_sections() -> None:
    text = ("intro\n<!-- matchers:begin -->\nSTALE TEXT\n<!-- matchers:end -->\nmiddle\n<!-- signals:begin -->"
            "<!-- signals:end -->\n<!-- tags:begin -->x<!-- tags:end -->\nend\n")
    out = reference.render(text)
    assert out.startswith("intro\n<!-- matchers:begin -->\n#### `user_agent`") and out.endswith("end\n")
    assert "STALE TEXT" not in out and "\nmiddle\n" in out
    with pytest.raises(ValueError, match="no <!-- signals:begin -->"):
        reference.render("<!-- matchers:begin --><!-- matchers:end -->")


def _signals_used() -> set[str]:
    used = set()
    for path in PACKS:
        for rule in yaml.safe_load(path.read_text())["rules"]:
            value = rule["match"].get("signal", [])
            used.update([value] if isinstance(value, str) else value)
    return used


def test_every_signal_a_pack_names_is_documented() -> None:
    assert _signals_used() - set(reference.SIGNALS) == set()


@pytest.mark.parametrize("name", sorted(reference.SIGNALS))
def test_every_documented_signal_is_produced_by_code(name: str) -> None:
    assert reference.produced_in_source(name), f"no code under proxy/fixative produces {name!r}"


def test_a_made_up_signal_is_not_produced() -> None:
    assert not reference.produced_in_source("ua.made_up") and not reference.produced_in_source("nope.forged")


@pytest.mark.parametrize(("tag", "known"), [
    ("ai-agent", True), ("robots:disallow", True), ("operator:OpenAI", True), ("purpose:", False),
    ("operator", False), ("robots:allow", False), ("madeup", False), ("language:go", True),
])
def test_tag_vocabulary(tag: str, known: bool) -> None:
    assert reference.known_tag(tag) is known


def test_docs_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert rules_main(["docs"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^## matchers\n\n#### `user_agent`", out, re.MULTILINE) and "| `ua.bot` |" in out
    assert rules_main(["docs", "--check"]) == 0
