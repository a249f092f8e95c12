"""replay/progress.py: a bar on terminals only, unless asked for."""

from __future__ import annotations

import io

from fixative.replay.progress import Progress, render


def test_render() -> None:
    text = render("access.log", 0.5, 420_000, 10.0)
    assert text.startswith("access.log   50% |") and "420,000 lines" in text and "42,000 lines/s" in text
    assert "10 s left" in text
    assert "left" not in render("a", 0.0, 0, 0.0)


def test_no_bar_when_not_a_terminal() -> None:
    out = io.StringIO()
    bar = Progress("x", 100, out)
    bar.update(50, 10, force=True)
    bar.close()
    assert out.getvalue() == ""


def test_forced_bar_draws_and_clears_its_line() -> None:
    out = io.StringIO()
    bar = Progress("x", 100, out, enabled=True, per_second=1000)
    bar.update(50, 10, force=True)
    bar.update(100, 20, force=True)
    bar.close()
    assert out.getvalue().count("\r") == 3 and "100%" in out.getvalue() and out.getvalue().endswith("\r\x1b[K")
