"""`fixative rules export`: each format on its own, the same decisions as Fixative's User-Agent rules,
and the exported configuration loaded into the real nginx, Apache, Caddy and HAProxy on loopback."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.robotparser import RobotFileParser

import pytest
import requests
import yaml

from fixative.facts import Facts
from fixative.rules.exporters import FORMATS, NGINX_IF, Selection, combined, export, literal, select
from fixative.rules.loader import load_ruleset
from fixative.rules.presets import load_rules, read_preset, resolve_preset
from fixative.rules.ruleset import RuleSet
from fixative.rulescli import main as rules_main
from harness import end_process

HERE = Path(__file__).resolve().parent
TRICKY = HERE / "rules" / "export" / "tricky.yaml"
UA_DATA = yaml.safe_load((HERE / "data" / "user_agents.yaml").read_text())["cases"]

CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/155.0.0.0 Safari/537.36"
GPTBOT = "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.0; +https://openai.com/gptbot)"
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
BLOCKED = {
    "gptbot": GPTBOT,
    "ccbot": "CCBot/2.0 (https://commoncrawl.org/faq/)",
    "claudebot": "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0; +claudebot@anthropic.com)",
    "curl": "curl/8.7.1",
    "python-requests": "python-requests/2.34.2",
    "aiohttp": "Python/3.12 aiohttp/3.14.3",
    "scrapy": "Scrapy/2.18.0 (+https://scrapy.org)",
    "headless-chrome": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                       "HeadlessChrome/143.0.7499.4 Safari/537.36",
    "space-semicolon-hash": "Mozilla/5.0 Evil Bot;#1",
    "double-quote-token": 'Mozilla/5.0 (x; Odd"Quote/1)',
    "single-quote-token": "O'Brien/2.0",
    "braces-dollar": "Foo Version/12.x",
    "backslash": "Back\\slash/1",
    "weight-at-threshold": "HeavyTool/1",
}
ALLOWED = {
    "chrome": CHROME,
    "firefox": "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:158.0) Gecko/20100101 Firefox/158.0",
    "safari-iphone": "Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                     "Version/26.0 Mobile/15E148 Safari/604.1",
    "googlebot": GOOGLEBOT,
    "baiduspider-not-token-spider": "Mozilla/5.0 (compatible; Baiduspider/2.0)",
    "weight-below-threshold": "LightTool/1",
    "allow-rule": "FriendBot/1",
    "needs-address": "RangeBot/1",
    "three-digits": "Foo Version/123.x",
    "token-inside-word": "Odd\"Quotes/1",
}


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    packs, thresholds = read_preset(resolve_preset("balanced"))
    return load_ruleset([*packs, TRICKY], thresholds)


# --- selection and formats ----------------------------------------------------------------------

def test_selection_keeps_ua_only_denies_and_heavy_weights(rules: RuleSet) -> None:
    selection = select(rules)
    names = [r.name for r in selection.rules]
    assert {"tricky/spaces-and-punctuation", "tricky/heavy", "ai-agents/gptbot", "http-libraries/curl-wget",
            "headless-browsers/headless-chrome"} <= set(names)
    assert not {"tricky/light", "tricky/allowed", "tricky/needs-address"} & set(names)
    assert "tricky/needs-address" in selection.left_out and "search-engines/fake-googlebot" in selection.left_out
    assert "tricky/allowed" in selection.allowed and "search-engines/verified-googlebot" in selection.allowed
    assert not any(n.startswith(("search-engines/", "ai-crawler-networks/", "behaviour/")) for n in names)


@pytest.fixture(scope="module")
def selection(rules: RuleSet) -> Selection:
    return select(rules)


@pytest.mark.parametrize("case", UA_DATA, ids=lambda c: c["name"])
def test_exported_regex_decides_like_fixatives_user_agent_rules(rules: RuleSet, selection: Selection,
                                                                case: dict) -> None:
    """For every real User-Agent: the one exported alternation matches iff an exported rule fires in Fixative."""
    ua = case["ua"]
    by_name = {r.name: r for r in rules.rules}
    facts = Facts(ip="203.0.113.7", user_agent=ua, kind="other")
    fires = any(all(t(facts, {}) for t in by_name[r.name].ua_tests) for r in selection.rules)
    for re2 in (False, True):
        assert bool(ua and re.search(combined(selection, re2), ua, re.IGNORECASE)) is fires, (ua, re2)
    if case.get("browser"):
        assert not fires, "a person's browser must pass every exported config"


def test_robots_group_disallows_ai_agents_not_search_engines(rules: RuleSet) -> None:
    text = export(rules, "robots")
    parser = RobotFileParser()
    parser.parse(text.splitlines())
    assert not parser.can_fetch("GPTBot", "/images/a.jpg")
    assert not parser.can_fetch("CCBot", "/")
    assert parser.can_fetch("Googlebot", "/images/a.jpg")
    assert "User-agent: *" not in text


def test_nginx_map_and_if(rules: RuleSet) -> None:
    text = export(rules, "nginx")
    assert "map $http_user_agent $fixative_block {" in text and "    default 0;" in text
    assert f"# {NGINX_IF}" in text
    entries = [ln for ln in text.splitlines() if ln.startswith('    "~*')]
    assert entries and all(re.fullmatch(r'    "~\*(?:[^"\\]|\\.)*" 1;  # [a-z0-9-]+/[a-z0-9._-]+', e) for e in entries)
    assert r'"~*Back\\\\slash" 1;' in text  # every backslash doubled for nginx's unescaping


def test_apache_conditions_chain_with_or(rules: RuleSet) -> None:
    lines = [ln for ln in export(rules, "apache").splitlines() if ln.startswith("RewriteCond")]
    assert all(ln.startswith("RewriteCond %{HTTP_USER_AGENT} ") and len(ln.split()) == 4 for ln in lines)
    assert r"RewriteCond %{HTTP_USER_AGENT} Evil\x20Bot;#1 [NC,OR]" in lines  # spaces and quotes as \xNN
    assert all(ln.endswith("[NC,OR]") for ln in lines[:-1]) and lines[-1].endswith("[NC]")
    assert export(rules, "apache").rstrip().endswith("RewriteRule .* - [F,L]")


def test_caddy_one_case_insensitive_matcher(rules: RuleSet) -> None:
    text = export(rules, "caddy")
    (matcher,) = [ln for ln in text.splitlines() if ln.startswith("@aibots header_regexp User-Agent ")]
    assert matcher.endswith(')"') and '"(?i)(?:' in matcher
    assert "respond @aibots 403" in text


def test_haproxy_acls(rules: RuleSet) -> None:
    text = export(rules, "haproxy")
    acls = [ln for ln in text.splitlines() if ln.startswith("acl ")]
    assert any("hdr_sub(user-agent) -i 'Evil Bot;#1'" in ln for ln in acls)
    assert any(r"hdr_reg(user-agent) -i '(?:^|[^A-Za-z0-9])O\x27Brien(?:[^A-Za-z0-9]|$)'" in ln for ln in acls)
    assert text.rstrip().endswith("http-request deny deny_status 403 if fixative_block")


def test_anubis_policies(rules: RuleSet) -> None:
    bots = yaml.safe_load(export(rules, "anubis"))
    assert all(set(b) == {"name", "user_agent_regex", "action"} and b["action"] == "DENY" for b in bots)
    gptbot = next(b for b in bots if b["name"] == "fixative-ai-agents-gptbot")
    assert re.search(gptbot["user_agent_regex"], GPTBOT.lower())
    assert not any(re.search(b["user_agent_regex"], CHROME) for b in bots)


@pytest.mark.parametrize(("text", "escaped"), [
    ("GPTBot", "GPTBot"), ("bigsur.ai", r"bigsur\.ai"), ("a b", "a b"), ("x+(y)", r"x\+\(y\)"),
    ("iaskspider/2.0", r"iaskspider/2\.0"), ("$5{2}", r"\$5\{2\}"), ("back\\slash", r"back\\slash"),
])
def test_literal_escapes_only_regex_metacharacters(text: str, escaped: str) -> None:
    assert literal(text) == escaped
    assert re.fullmatch(literal(text), text)


def test_unknown_format_is_refused(rules: RuleSet) -> None:
    with pytest.raises(ValueError, match="unknown format 'iis'; use one of robots, nginx"):
        export(rules, "iis")


def test_cli_export_to_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "bots.conf"
    assert rules_main(["export", "--format", "nginx", "--preset", "strict", "--out", str(out)]) == 0
    assert "from preset strict" in out.read_text() and "wrote" in capsys.readouterr().out
    assert rules_main(["export", "--format", "caddy", "--pack", str(TRICKY)]) == 0
    printed = capsys.readouterr().out
    assert "Evil Bot;#1" in printed and "GPTBot" not in printed
    assert load_rules("balanced").thresholds.scraper == 70


# --- the real servers ---------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the server exited ({proc.returncode}):\n{_read(log)}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    pytest.fail(f"the server did not listen on {port}:\n{_read(log)}")


def _read(path: Path) -> str:
    return path.read_text(errors="replace")[-3000:] if path.exists() else ""


def _nginx(conf: str, tmp: Path, port: int) -> list[str]:
    user = "user root;\n" if os.geteuid() == 0 else ""
    temps = "".join(f"    {k}_temp_path {tmp}/{k};\n" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (tmp / "nginx.conf").write_text(
        f"{user}worker_processes 1;\nevents {{ worker_connections 64; }}\nhttp {{\n"
        f"    access_log {tmp}/access.log;\n{temps}{conf}\n"
        f"    server {{\n        listen 127.0.0.1:{port};\n        {NGINX_IF}\n"
        f"        location / {{ return 200 \"ok\\n\"; }}\n    }}\n}}\n")
    return ["nginx", "-p", str(tmp), "-c", str(tmp / "nginx.conf"), "-e", str(tmp / "server.log"),
            "-g", f"daemon off; pid {tmp}/nginx.pid;"]


def _caddy(conf: str, tmp: Path, port: int) -> list[str]:
    (tmp / "Caddyfile").write_text(
        "{\n\tadmin off\n\tauto_https off\n}\n"
        f"http://127.0.0.1:{port} {{\n{conf}\n\trespond \"ok\" 200\n}}\n")
    return ["caddy", "run", "--config", str(tmp / "Caddyfile"), "--adapter", "caddyfile"]


def _apache(conf: str, tmp: Path, port: int) -> list[str]:
    docs = Path(tempfile.mkdtemp(prefix="fixative-apache-"))  # pytest's folders are private to root;
    docs.chmod(0o755)                                           # Apache's workers run as nobody
    _REMOVE.append(docs)
    (docs / "ok.txt").write_text("ok\n")
    (docs / "ok.txt").chmod(0o644)
    modules = "/usr/lib/apache2/modules"
    (tmp / "apache.conf").write_text(
        f"ServerRoot {tmp}\nServerName localhost\nListen 127.0.0.1:{port}\nPidFile {tmp}/apache.pid\n"
        f"ErrorLog {tmp}/server.log\nLoadModule mpm_event_module {modules}/mod_mpm_event.so\n"
        f"LoadModule authz_core_module {modules}/mod_authz_core.so\n"
        f"LoadModule rewrite_module {modules}/mod_rewrite.so\n"
        + ("User nobody\nGroup nogroup\n" if os.geteuid() == 0 else "")
        + f"DocumentRoot {docs}\n<Directory {docs}>\n    AllowOverride None\n    Require all granted\n"
        f"{conf}\n</Directory>\n")
    return ["apache2", "-f", str(tmp / "apache.conf"), "-DFOREGROUND"]


def _haproxy(conf: str, tmp: Path, port: int) -> list[str]:
    (tmp / "haproxy.cfg").write_text(
        "global\n    maxconn 64\ndefaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n"
        f"    timeout server 5s\nfrontend site\n    bind 127.0.0.1:{port}\n"
        + "".join(f"    {ln}\n" for ln in conf.splitlines() if ln and not ln.startswith("#"))
        + '    http-request return status 200 content-type text/plain string "ok"\n')
    return ["haproxy", "-f", str(tmp / "haproxy.cfg"), "-db"]


_REMOVE: list[Path] = []
SERVERS: dict[str, tuple[str, str, Callable[[str, Path, int], list[str]], str]] = {
    # name: (binary, export format, config writer, path to request)
    "nginx": ("nginx", "nginx", _nginx, "/"),
    "apache": ("apache2", "apache", _apache, "/ok.txt"),
    "caddy": ("caddy", "caddy", _caddy, "/"),
    "haproxy": ("haproxy", "haproxy", _haproxy, "/"),
}


@pytest.fixture(scope="module", params=sorted(SERVERS))
def server(request: pytest.FixtureRequest, rules: RuleSet,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One real server on loopback with the exported configuration; yields its URL."""
    binary, fmt, write, path = SERVERS[request.param]
    if shutil.which(binary) is None:
        pytest.fail(f"{binary} is not installed: run scripts/setup --test")
    tmp = tmp_path_factory.mktemp(request.param)
    port = _free_port()
    command = write(export(rules, fmt), tmp, port)
    env = {**os.environ, "HOME": str(tmp), "XDG_DATA_HOME": str(tmp), "XDG_CONFIG_HOME": str(tmp)}
    log = tmp / "server.log"
    with open(tmp / "stdout.log", "wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=tmp)
    try:
        _wait(port, proc, log if log.exists() else tmp / "stdout.log")
        yield f"http://127.0.0.1:{port}{path}"
    finally:
        end_process(proc)
        while _REMOVE:
            shutil.rmtree(_REMOVE.pop(), ignore_errors=True)


def test_real_server_blocks_scrapers_and_serves_people(server: str) -> None:
    got = {name: requests.get(server, headers={"User-Agent": ua}, timeout=5).status_code
           for name, ua in {**BLOCKED, **ALLOWED}.items()}
    assert {n: s for n, s in got.items() if n in BLOCKED} == dict.fromkeys(BLOCKED, 403)
    assert {n: s for n, s in got.items() if n in ALLOWED} == dict.fromkeys(ALLOWED, 200)


def test_every_format_is_covered() -> None:
    assert {fmt for _, fmt, _, _ in SERVERS.values()} | {"robots", "anubis"} == set(FORMATS)
