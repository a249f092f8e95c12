"""Presets: named selections of packs (strict, balanced, permissive) with thresholds.

A preset file only imports packs and sets thresholds; it holds no rules itself.
"""

from __future__ import annotations

from pathlib import Path

from ..yamlsource import LineDict, LineList, YamlSourceError, load_yaml
from .loader import SHIPPED_RULES, RulePackError, load_ruleset
from .ruleset import RuleSet, Thresholds

PRESET_DIR = SHIPPED_RULES / "presets"


def preset_names() -> list[str]:
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


def resolve_preset(name_or_path: str) -> Path:
    """A preset by shipped name (balanced) or by file path; ValueError naming the choices."""
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml") and candidate.exists():
        return candidate
    shipped = PRESET_DIR / f"{name_or_path}.yaml"
    if shipped.exists():
        return shipped
    raise ValueError(f"unknown preset {name_or_path!r}: use one of {', '.join(preset_names())} "
                     "or the path of a preset file")


def read_preset(path: Path) -> tuple[list[Path], Thresholds]:
    """The pack files a preset imports, in order, and its thresholds."""
    try:
        doc = load_yaml(path)
    except YamlSourceError as e:
        raise RulePackError([str(e)]) from e
    problems: list[str] = []
    if not isinstance(doc, LineDict):
        raise RulePackError([f"{path}:1: a preset is a mapping with `preset:`, `imports:` and `thresholds:`"])
    for key in doc:
        if key not in ("preset", "imports", "thresholds", "$schema"):
            problems.append(f"{path}:{doc.line_of(key)}: unknown key {key!r}; a preset only imports packs "
                            "(`imports:`) and sets `thresholds:`")
    imports = doc.get("imports")
    packs: list[Path] = []
    if not isinstance(imports, LineList) or not imports:
        problems.append(f"{path}:{doc.line_of('imports')}: imports: expected a list of pack files")
    else:
        for i, item in enumerate(imports):
            target = (path.parent / str(item)).resolve()
            if not target.exists():
                problems.append(f"{path}:{imports.line_of(i)}: imports: {item}: file not found")
            packs.append(target)
    thresholds = parse_thresholds(doc.get("thresholds"), f"{path}:{doc.line_of('thresholds')}", problems)
    if problems:
        raise RulePackError(problems)
    return packs, thresholds


def parse_thresholds(value: object, where: str, problems: list[str]) -> Thresholds:
    """Thresholds from `{suspect: N, scraper: M}`, with 0 < suspect <= scraper."""
    if value is None:
        return Thresholds()
    if not isinstance(value, dict) or set(value) - {"suspect", "scraper"}:
        problems.append(f"{where}: thresholds: expected {{suspect: N, scraper: M}}")
        return Thresholds()
    t = Thresholds(**{k: v for k, v in value.items()})
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (t.suspect, t.scraper)) \
            or not 0 < t.suspect <= t.scraper:
        problems.append(f"{where}: thresholds: need whole numbers with 0 < suspect <= scraper, "
                        f"got suspect={t.suspect!r} scraper={t.scraper!r}")
        return Thresholds()
    return t


def load_rules(preset: str, extra_packs: list[Path] = (), thresholds: Thresholds | None = None) -> RuleSet:  # type: ignore[assignment]
    """The preset's packs, then any extra packs, compiled into one RuleSet."""
    packs, preset_thresholds = read_preset(resolve_preset(preset))
    return load_ruleset([*packs, *extra_packs], thresholds or preset_thresholds)
