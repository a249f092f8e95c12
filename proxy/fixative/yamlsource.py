"""YAML loading that remembers where each key and item came from.

Config and rule-pack errors must name the file and line, so mappings and lists
loaded here carry the line of every key (1-based) for error messages.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class LineDict(dict):
    """A dict that also knows the line of each key and of itself."""

    line: int = 0
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class LineList(list):
    """A list that knows its own line and the line of each item."""

    line: int = 0
    item_lines: list[int]

    def line_of(self, index: int) -> int:
        return self.item_lines[index] if index < len(self.item_lines) else self.line


class _LineLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LineDict:
    result = LineDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, (str, int, float, bool)) or key is None:
            raise yaml.constructor.ConstructorError(
                None, None, "mapping keys must be plain words", key_node.start_mark
            )
        key = str(key)
        if key in result:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} appears twice in one mapping", key_node.start_mark
            )
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> LineList:
    result = LineList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


class YamlSourceError(ValueError):
    """The file could not be read or is not valid YAML; the message says where."""


def load_yaml(path: Path) -> Any:
    """Parse one YAML file into LineDict/LineList values; raise YamlSourceError on failure."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise YamlSourceError(f"{path}: file not found") from e
    except (OSError, UnicodeDecodeError) as e:
        raise YamlSourceError(f"{path}: cannot read the file: {e}") from e
    return parse_yaml(text, str(path))


def parse_yaml(text: str, name: str) -> Any:
    """Parse YAML text; errors name the source and line, with a hint for common traps."""
    try:
        return yaml.load(text, Loader=_LineLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else 0
        problem = e.problem or str(e)
        hint = _hint(problem)
        raise YamlSourceError(f"{name}:{line}: not valid YAML: {problem}{hint}") from e
    except yaml.YAMLError as e:
        raise YamlSourceError(f"{name}: not valid YAML: {e}") from e


def _hint(problem: str) -> str:
    if "found character '\\t'" in problem:
        return " (YAML indents with spaces, not tabs)"
    if "mapping values are not allowed" in problem:
        return " (a value containing ': ' must be quoted)"
    if "found undefined alias" in problem or "found character '*'" in problem:
        return " (a value starting with * or & must be quoted)"
    return ""
