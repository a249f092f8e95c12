"""`fixative rules lint`: fixtures with `# expect@LINE: severity: text` lines, the shipped rules, packs in
preset order, the catastrophic-regex check, and the command's exit codes."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

import pytest

from fixative.rules.lint import ERROR, WARNING, Problem, covered, glob_kinds, lint_paths
from fixative.rules.loader import SHIPPED_RULES
from fixative.rules.redos import catastrophic, suspects
from fixative.rulescli import main as rules_main

HERE = Path(__file__).resolve().parent
LINT = HERE / "rules" / "lint"
CROSS = LINT / "cross"
_EXPECT = re.compile(r"^#\s*expect(?:@(\d+))?:\s*(?:(error|warning):\s*)?(.+?)\s*$")


def _expectations(path: Path) -> list[tuple[int | None, str | None, str]]:
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        m = _EXPECT.match(line)
        if m and m.group(3) != "no problems":
            found.append((int(m.group(1)) if m.group(1) else None, m.group(2), m.group(3)))
    return found


@pytest.mark.parametrize("path", sorted(LINT.glob("*.yaml")), ids=lambda p: p.name)
def test_fixture_reports_exactly_what_it_expects(path: Path) -> None:
    assert "# expect" in path.read_text(), f"{path.name} has no `# expect:` line"
    shown = path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path
    problems = lint_paths([shown])
    expected = _expectations(path)
    text = "\n".join(f"{p} [{p.severity}]" for p in problems)
    for line, severity, wanted in expected:
        assert any((line is None or p.line == line) and (severity is None or p.severity == severity)
                   and wanted in str(p) for p in problems), f"expected @{line} {severity}: {wanted}\ngot:\n{text}"
    assert len(problems) == len(expected), f"unexpected problems:\n{text}"


def test_shipped_rules_have_no_errors() -> None:
    problems = lint_paths([SHIPPED_RULES, SHIPPED_RULES / "presets"])
    errors = [str(p) for p in problems if p.severity == ERROR]
    assert not errors, "\n".join(errors)
    assert all(p.file.endswith(".yaml") and p.line > 0 for p in problems)


def test_preset_lints_its_packs_in_order() -> None:
    problems = lint_paths([CROSS / "preset.yaml"])
    assert [(Path(p.file).name, p.line, p.rule, p.severity) for p in problems] == [
        ("second.yaml", 9, "partner-token", WARNING)]
    assert 'never decides: "cross-first/partner"' in problems[0].message


def test_order_matters_for_overlaps() -> None:
    assert lint_paths([CROSS / "second.yaml", CROSS / "first.yaml"]) == []


def test_two_packs_with_one_name() -> None:
    problems = lint_paths([CROSS / "first.yaml", CROSS / "same-name.yaml"])
    assert [(Path(p.file).name, p.severity) for p in problems] == [("same-name.yaml", ERROR)]
    assert "pack: name: 'cross-first' is also the name of" in problems[0].message


def test_a_folder_is_its_yaml_files_and_a_file_is_linted_once() -> None:
    assert lint_paths([CROSS]) == lint_paths([CROSS / "first.yaml", CROSS / "preset.yaml",
                                              CROSS / "same-name.yaml", CROSS / "second.yaml"])
    twice = lint_paths([LINT / "tags.yaml", LINT / "tags.yaml"])
    assert len(twice) == 2


def test_missing_file_and_broken_yaml(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("pack:\n\tname: x\n")
    problems = lint_paths([tmp_path / "nope.yaml", broken])
    assert [str(p) for p in problems] == [
        f"{tmp_path / 'nope.yaml'}: file not found",
        (f"{broken}:2: not valid YAML: found character '\\t' that cannot start any token "
         "(YAML indents with spaces, not tabs)")]


@pytest.mark.parametrize(("problem", "text"), [
    (Problem("a.yaml", 3, "gptbot", ERROR, "id: duplicate"), 'a.yaml:3: rule "gptbot": id: duplicate'),
    (Problem("a.yaml", 1, None, WARNING, "pack: odd"), "a.yaml:1: pack: odd"),
    (Problem("a.yaml", 0, None, ERROR, "file not found"), "a.yaml: file not found"),
])
def test_problem_reads_file_line_rule_problem(problem: Problem, text: str) -> None:
    assert str(problem) == text


# --- regular expressions ------------------------------------------------------------------------

@pytest.mark.parametrize(("pattern", "suspect"), [
    ("^(a+)+$", True), ("(a|a)*$", True), ("(.*)*x", True), ("(\\w+\\s?)+$", True),
    ("(ab|a)*c", True),  # looks alike, proven harmless by timing
    ("(a|b)*c", False),  # a character set: one way to match
    ("Headless(Chrome|Shell)", False), ("^(curl|wget)\\b", False), ("python/\\d[\\d.]* aiohttp", False),
    ("a{2,5}", False), ("(", False),
])
def test_suspects_by_shape(pattern: str, suspect: bool) -> None:
    assert bool(suspects(pattern)) is suspect


@pytest.mark.parametrize(("pattern", "slow"), [
    ("^(a+)+$", True), ("(x+x+)+y", True), ("(ab|a)*c", False), ("(\\d+\\.)+x", False),
])
def test_catastrophic_is_confirmed_by_timing_within_bounds(pattern: str, slow: bool) -> None:
    assert bool(catastrophic(pattern)) is slow  # bounded inside: a hang would hit pytest's timeout


# --- helpers ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("glob", "kinds", "plain"), [
    ("*.zip", {"other"}, {"other"}),
    ("/images/*.JPG", {"image"}, {"image"}),
    ("*.html", {"page", "image"}, {"page"}),
    ("/gallery/", {"page", "image"}, {"page"}),
    ("/images/*", {"page", "image", "other"}, {"page", "image", "other"}),
    ("*.jp*g", {"page", "image", "other"}, {"page", "image", "other"}),
])
def test_glob_kinds(glob: str, kinds: set[str], plain: set[str]) -> None:
    assert glob_kinds(glob) == (kinds, plain)


@pytest.mark.parametrize(("net", "by", "result"), [
    ("192.0.2.0/25", ["192.0.2.0/24"], True),
    ("192.0.2.0/24", ["192.0.2.0/25", "192.0.2.128/25"], True),
    ("192.0.2.0/24", ["192.0.2.0/25"], False),
    ("192.0.2.0/24", ["2001:db8::/32"], False),
    ("2001:db8::/48", ["2001:db8::/32"], True),
])
def test_covered(net: str, by: list[str], result: bool) -> None:
    assert covered(ipaddress.ip_network(net), [ipaddress.ip_network(b) for b in by]) is result


# --- the command ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("args", "code", "last"), [
    ([str(LINT / "clean.yaml")], 0, "0 errors, 0 warnings"),
    ([str(LINT / "tags.yaml")], 0, "0 errors, 2 warnings"),
    ([str(LINT / "tags.yaml"), "--strict"], 1, "0 errors, 2 warnings"),
    ([str(LINT / "loader-problems.yaml")], 1, "3 errors, 0 warnings"),
])
def test_cli_exit_codes(args: list[str], code: int, last: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert rules_main(["lint", *args]) == code
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == last
    assert all(ln.endswith(("[error]", "[warning]")) for ln in lines[:-1])


def test_cli_default_is_the_shipped_rules(capsys: pytest.CaptureFixture[str]) -> None:
    assert rules_main(["lint"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("0 errors")
