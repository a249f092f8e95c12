"""Shared fixtures: one demo site and origin per session, and Fixative proxies in front of it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fixative.demo.site import build_site
from harness import OriginThread, ProxyProcess, start_fixative


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo portfolio, plus a few broken files a real site might have."""
    root = build_site(tmp_path_factory.mktemp("site"))
    (root / "images/full/broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    (root / "images/full/really-html.png").write_bytes(b"<!doctype html><title>oops</title>")
    return root


@pytest.fixture(scope="session")
def origin(site: Path) -> Iterator[OriginThread]:
    server = OriginThread(site)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def proxy(origin: OriginThread, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    """Fixative in enforce mode (the default) in front of the demo origin."""
    proc = start_fixative(origin.url, tmp_path_factory.mktemp("state"))
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def observing_proxy(origin: OriginThread, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    proc = start_fixative(origin.url, tmp_path_factory.mktemp("state-observe"), "--mode", "observe")
    yield proc
    proc.stop()
