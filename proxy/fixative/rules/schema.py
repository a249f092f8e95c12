"""The JSON Schema (draft 2020-12) of a rule pack, built from the loader's fields and the matcher classes.

Each matcher's value shape is found by asking its own `compile` which sample values it accepts
(a flag, a mapping, strings), and its description is its docstring, so a new matcher kind is in
the schema as soon as it is in MATCHERS. schema/rule-pack.schema.json is this, written out;
editors validate packs with it (`# yaml-language-server: $schema=../schema/rule-pack.schema.json`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..facts import KINDS
from .loader import ACTION_NAMES, PACK_FIELDS, SHIPPED_RULES
from .matchers import MATCHERS
from .reference import matcher_doc

SCHEMA_FILE = SHIPPED_RULES.parent / "schema" / "rule-pack.schema.json"
SCHEMA_ID = "https://github.com/fixative/fixative/blob/main/schema/rule-pack.schema.json"
ID_PATTERN = "^[a-z0-9][a-z0-9_.-]*$"

_PACK_FIELD_TEXT = {
    "name": "the pack's name: reasons read `name/rule-id`",
    "version": "the pack's version, e.g. a date 2026.11.25",
    "description": "one line: what the pack catches",
    "licence": "the licence of the pack and of the data it was built from",
    "source": "where the pack, or the data it was built from, comes from (a URL)",
}
_STRING_PROBES = ("probe", "192.0.2.0/24", "GET", *KINDS, "ua.bot", "example.com")
_DOMAIN_PATTERN = r"^\.?([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.)+[A-Za-z][A-Za-z0-9-]{0,61}[A-Za-z0-9]\.?$"
_SCALAR = {"type": ["string", "number"], "minLength": 1}
# Refinements the probes cannot see: the values a closed vocabulary allows.
_ITEM_REFINEMENTS: dict[str, dict[str, Any]] = {
    "kind": {"enum": list(KINDS)},
    "method": {"type": "string", "pattern": "^[A-Za-z]+$"},
    "rdns": {"type": "string", "pattern": _DOMAIN_PATTERN},
    "not_rdns": {"type": "string", "pattern": _DOMAIN_PATTERN},
}


def _accepts(cls: Any, value: Any) -> bool:
    try:
        cls.compile(value)
    except (ValueError, TypeError):
        return False
    return True


def value_schema(cls: Any) -> dict[str, Any]:
    """The schema of one matcher's YAML value, from what its compile() accepts."""
    if _accepts(cls, True) and _accepts(cls, False):
        return {"type": "boolean"}
    if _accepts(cls, {"X-Probe": ".*"}):
        return {"type": "object", "minProperties": 1, "additionalProperties": {"type": "string"}}
    if _accepts(cls, {"Probe": 1}):
        return {"type": "object", "minProperties": 1, "additionalProperties": {"type": "integer", "minimum": 1}}
    if any(_accepts(cls, s) and _accepts(cls, [s]) for s in _STRING_PROBES):
        item = _ITEM_REFINEMENTS.get(cls.key, _SCALAR)
        return {"anyOf": [item, {"type": "array", "minItems": 1, "items": item}]}
    return {}


def matcher_schema(cls: Any) -> dict[str, Any]:
    example, description = matcher_doc(cls)
    return {"description": description, "markdownDescription": f"`{example}` — {description}",
            **value_schema(cls)}


def pack_schema() -> dict[str, Any]:
    """The whole pack schema as a JSON-ready dict."""
    matchers = {key: matcher_schema(cls) for key, cls in MATCHERS.items()}
    rule = {
        "type": "object",
        "description": "one rule: a decisive `action` or a `weight`, and what it matches",
        "required": ["id", "description", "match"],
        "additionalProperties": False,
        "properties": {
            "id": {"type": "string", "pattern": ID_PATTERN,
                   "description": "lower-case words joined by '-', unique in the pack"},
            "description": {"type": "string", "minLength": 1,
                            "description": "why the rule fires, in a few words: it is the reason shown"},
            "weight": {"type": "integer", "description": "added to the score when the rule matches"},
            "action": {"enum": list(ACTION_NAMES),
                       "description": "decides outright: allow → human, deny → scraper (first match wins)"},
            "tags": {"type": "array", "items": {"type": "string"},
                     "description": "words for tools and robots.txt, e.g. ai-agent, robots:disallow"},
            "match": {"type": "object", "minProperties": 1, "additionalProperties": False,
                      "description": "matchers; all must match, a list matches when any item does",
                      "properties": matchers},
        },
        "oneOf": [{"required": ["weight"]}, {"required": ["action"]}],
    }
    fields: dict[str, dict[str, Any]] = {
        key: {"type": "string" if key != "version" else ["string", "number"], "minLength": 1,
              "description": _PACK_FIELD_TEXT.get(key, key)} for key in sorted(PACK_FIELDS)}
    fields["name"]["pattern"] = ID_PATTERN
    pack = {"type": "object", "required": sorted(PACK_FIELDS), "additionalProperties": False, "properties": fields}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "Fixative rule pack",
        "description": "A rule pack of the Fixative proxy (see rules/README.md). Generated by "
                       "`fixative rules docs --write` from proxy/fixative/rules/: do not edit.",
        "type": "object",
        "required": ["pack", "rules"],
        "additionalProperties": False,
        "properties": {
            "$schema": {"type": "string", "description": "this schema's address, for editors"},
            "pack": {"$ref": "#/$defs/pack"},
            "rules": {"type": "array", "items": {"$ref": "#/$defs/rule"}},
        },
        "$defs": {"pack": pack, "rule": rule},
    }


def schema_text() -> str:
    return json.dumps(pack_schema(), indent=2, ensure_ascii=False) + "\n"


def write_schema(path: Path = SCHEMA_FILE) -> bool:
    """Write the schema file; True if it changed."""
    text = schema_text()
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return True
