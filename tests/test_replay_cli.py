"""`fixative replay` end to end: real clients (Chromium, curl, wget, python-requests) visit the demo site
served by Debian's nginx, whose ordinary combined access log is then replayed by the real command."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from playwright.sync_api import sync_playwright

from browser import CHROMIUM, CHROMIUM_ARGS, desktop_user_agent
from fixative.cli import main
from fixative.demo.site import list_works
from harness import VENV_BIN, free_port

WORKS = list_works()


def _nginx(root: Path, tmp: Path, port: int) -> list[str]:
    user = "user root;\n" if os.geteuid() == 0 else ""
    temps = "".join(f"    {k}_temp_path {tmp}/{k};\n" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (tmp / "nginx.conf").write_text(
        f"{user}worker_processes 1;\nevents {{ worker_connections 64; }}\nhttp {{\n"
        f"    include /etc/nginx/mime.types;\n    access_log {tmp}/access.log;\n{temps}"
        f"    server {{\n        listen 127.0.0.1:{port};\n        root {root};\n        index index.html;\n"
        f"    }}\n}}\n")
    return ["nginx", "-p", str(tmp), "-c", str(tmp / "nginx.conf"), "-e", str(tmp / "error.log"),
            "-g", f"daemon off; pid {tmp}/nginx.pid;"]


def _browse(url: str) -> str:
    """A person in Chromium: home, a gallery page scrolled, a work opened full size."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        ua = desktop_user_agent(browser.version)
        page = browser.new_context(user_agent=ua, viewport={"width": 1366, "height": 900}).new_page()
        page.goto(url + "/", wait_until="networkidle")
        page.goto(f"{url}/gallery/2.html", wait_until="networkidle")
        page.mouse.wheel(0, 5000)  # thumbnails below the fold load lazily
        page.wait_for_load_state("networkidle")
        page.goto(url + WORKS[2].page_url, wait_until="networkidle")
        with page.expect_navigation(wait_until="networkidle"):  # not the old page's load state
            page.click("text=open full size")
        browser.close()
    return ua


@pytest.fixture(scope="module")
def access_log(site: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    """nginx's access log after a person and three tools came; yields it with each client's User-Agent."""
    if shutil.which("nginx") is None:
        pytest.fail("nginx is not installed: run scripts/setup --test")
    tmp = tmp_path_factory.mktemp("nginx")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(_nginx(site, tmp, port), stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        for _ in range(100):
            try:
                requests.get(url + "/robots.txt", timeout=1, headers={"User-Agent": "fixative-test-ready"})
                break
            except requests.ConnectionError:
                time.sleep(0.05)
        agents = {"person": _browse(url)}
        for work in WORKS[:4]:
            subprocess.run(["curl", "-s", "-o", os.devnull, url + work.full_url], check=True)
        agents["curl"] = "curl/" + subprocess.run(["curl", "--version"], capture_output=True,
                                                   text=True).stdout.split()[1]
        subprocess.run(["wget", "-q", "-r", "-l", "2", "-P", str(tmp / "mirror"), url + "/"], check=False)
        agents["wget"] = "Wget/" + subprocess.run(["wget", "--version"], capture_output=True,
                                                   text=True).stdout.split()[2]
        for work in WORKS[:6]:
            requests.get(url + work.full_url, timeout=10)
        agents["requests"] = requests.utils.default_user_agent()
    finally:
        proc.terminate()
        proc.wait(10)
    log = tmp / "access.log"
    assert log.stat().st_size > 0, (tmp / "error.log").read_text()
    yield log, agents


def _replay(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """The real command, as a user runs it."""
    return subprocess.run([str(VENV_BIN / "fixative"), "replay", *map(str, args)], capture_output=True,
                          text=True, timeout=120)


def _main(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    """The same command in this process (quicker): exit status, stdout, stderr."""
    code = main(["replay", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def _by_agent(summary: dict) -> dict[str, dict]:
    return {row["user_agent"]: row for row in summary["top_agents"]}


def test_people_human_tools_scrapers(access_log: tuple[Path, dict[str, str]]) -> None:
    log, agents = access_log
    done = _replay(log, "--json", "--top", "50")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    rows = _by_agent(summary)
    person = rows[agents["person"]]
    assert person["requests"] >= 15 and person["human"] == person["requests"], person
    for tool in ("curl", "wget", "requests"):
        row = rows[agents[tool]]
        assert row["scraper"] == row["requests"] > 0, (tool, row)
    scrapers = {c["user_agent"]: c for c in summary["scrapers"]}
    assert set(scrapers) == {agents["curl"], agents["wget"], agents["requests"]}
    assert scrapers[agents["curl"]]["reasons"][0]["rule"] == "http-libraries/curl-wget"
    assert scrapers[agents["curl"]]["altered"] == 4  # four images: four decoys
    assert summary["lines"]["skipped"] == 0 and summary["format"] == "combined"
    assert summary["treatments"]["decoy"] >= 4 + 6


def test_text_report(access_log: tuple[Path, dict[str, str]], capsys: pytest.CaptureFixture[str]) -> None:
    log, agents = access_log
    code, out, err = _main(capsys, log)
    assert code == 0 and err == ""  # not a terminal: no progress bar
    assert "clients Fixative would have treated as scrapers: 3" in out
    assert agents["curl"] in out and "http-libraries/curl-wget" in out
    code, out, err = _main(capsys, log, "--progress")
    assert err.startswith("\r") and "|" in err and err.endswith("\r\x1b[K")


def test_gzip_with_garbage_and_a_cut(access_log: tuple[Path, dict[str, str]], tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    log, agents = access_log
    lines = log.read_text().splitlines()
    mixed = [*lines[:5], "this is not a log line", "\x00\x01\x02", *lines[5:],
             '127.0.0.1 - - [01/Nov/2026:00:00:00 +0000] "\\x16\\x03\\x01" 400 157 "-" "-"']
    body = gzip.compress(("\n".join(mixed) + "\n").encode())
    whole, cut = tmp_path / "access.log.1", tmp_path / "access.log.2.gz"
    whole.write_bytes(body)
    cut.write_bytes(body[: len(body) - 200])
    summary = json.loads(_main(capsys, whole, "--json")[1])
    assert summary["compressed"] and summary["lines"]["skipped"] == 3
    assert summary["lines"]["skipped_by_reason"] == {"no HTTP request in it": 1, "not a log line": 2}
    assert summary["lines"]["replayed"] == len(lines)
    assert _by_agent(summary)[agents["person"]]["human"] == _by_agent(summary)[agents["person"]]["requests"]
    code, out, err = _main(capsys, cut, "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["truncated"] and 0 < summary["lines"]["replayed"] < len(lines)
    assert "gzip stream is cut short" in _main(capsys, cut)[1]


@pytest.mark.parametrize("content, message", [
    (b"", "it is empty"),
    (bytes(range(256)) * 40, "is a combined log line"),
    (b"\x1f\x8b\x08\x00garbage that is no gzip stream", "its gzip stream is broken before the first line"),
])
def test_not_a_log_exits_1_with_a_message(tmp_path: Path, content: bytes, message: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "not.log"
    path.write_bytes(content)
    code, out, err = _main(capsys, path)
    assert code == 1 and message in err and out == ""


def test_missing_file_exits_2_without_a_traceback(tmp_path: Path) -> None:
    done = _replay(tmp_path / "nope.log")
    assert done.returncode == 2 and done.stderr == f"fixative replay: {tmp_path / 'nope.log'}: no such file\n"


def test_bad_options_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _main(capsys, tmp_path)[0] == 2 and "not a file" in capsys.readouterr().err + _main(capsys, tmp_path)[2]
    (tmp_path / "a.log").write_text("")
    assert _main(capsys, tmp_path / "a.log", "--top", "0")[0] == 2
    code, _, err = _main(capsys, tmp_path / "a.log", "--preset", "nonesuch")
    assert code == 2 and "nonesuch" in err
