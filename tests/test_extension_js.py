"""The extension's JavaScript checks, run from pytest so `scripts/test` covers them: node's unit tests and web-ext lint."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from harness import ROOT

EXTENSION = ROOT / "extension"
NODE = shutil.which("node")
# scripts/setup --test installs Node.js: a missing node is a broken set-up, so fail, never skip.
assert NODE is not None, "node is needed: run scripts/setup --test"


def test_node_unit_tests_pass():
    result = subprocess.run(
        [NODE, "--test", "test/"],
        cwd=EXTENSION,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "# fail 0" in result.stdout


def node_major() -> int:
    out = subprocess.run([NODE, "--version"], capture_output=True, text=True, check=True).stdout
    return int(out.strip().lstrip("v").split(".")[0])


def test_web_ext_lint_is_clean_for_firefox():
    if node_major() < 20:
        # Justified skip: Debian 12's own nodejs is 18 and no allowed registry ships Node 20 for it;
        # this machine (and CI on it) has Node 20, where the lint runs. Reported, not counted as a pass.
        pytest.skip("web-ext 10 needs Node 20 or later")
    web_ext = EXTENSION / "node_modules" / ".bin" / "web-ext"
    assert web_ext.exists(), (
        "web-ext is missing: run scripts/setup --test (it runs npm ci in extension/)"
    )
    build = subprocess.run(
        [NODE, "build.mjs", "firefox"],
        cwd=EXTENSION,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert build.returncode == 0, build.stderr
    lint = subprocess.run(
        [
            str(web_ext),
            "lint",
            "--source-dir",
            "dist/firefox",
            "--warnings-as-errors",
            "--output",
            "json",
        ],
        cwd=EXTENSION,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert lint.returncode == 0, lint.stdout[-4000:] + lint.stderr[-2000:]
