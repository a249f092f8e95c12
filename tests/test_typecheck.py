"""The package is mypy clean (STYLE.md): mypy, pinned in the test extras, over proxy/fixative as
pyproject.toml's [tool.mypy] says. A type error fails here with mypy's own report."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_mypy_finds_no_errors() -> None:
    result = subprocess.run([sys.executable, "-m", "mypy", "--no-error-summary"], cwd=REPO,
                            capture_output=True, text=True, timeout=170, check=False)
    assert result.returncode == 0, f"mypy found problems:\n{result.stdout}{result.stderr}"
