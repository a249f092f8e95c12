"""Subscriptions' pure parts: verification, the config syntax, the cache, the fetcher, the signing CLI."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import subprocess
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from fixative.config import ConfigError, load_config
from fixative.rules.loader import RulePackError
from fixative.subscriptions.cache import (
    CacheError,
    meta_path,
    pack_path,
    read_copy,
    stage,
    startup_rules,
    subscribed_packs,
)
from fixative.subscriptions.fetch import FetchError, fetch
from fixative.subscriptions.spec import (
    Subscription,
    name_from_url,
    parse_interval,
    parse_subscription,
)
from fixative.subscriptions.verify import (
    VerificationError,
    generate_key,
    load_private_key,
    parse_public_key,
    parse_sha256,
    parse_signature,
    sign,
    verify,
)
from fixative.rulescli import main as rules_main
from harness import VENV_BIN

PACK = b"""pack: {name: shared-pack, version: "1", description: d, licence: CC0-1.0, source: tests}
rules:
  - {id: deny-fixfoo, description: d, action: deny, match: {user_agent: [Fixfoo]}}
"""
KEY = Ed25519PrivateKey.generate()
PUBLIC = KEY.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
PUBLIC_B64 = base64.b64encode(PUBLIC).decode()
PUBLIC_PEM = KEY.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
PUBLIC_DER_B64 = base64.b64encode(KEY.public_key().public_bytes(
    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode()


# -- verify ------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", [PUBLIC_B64, PUBLIC_PEM, PUBLIC_DER_B64, f"  {PUBLIC_B64}\n"])
def test_public_keys_in_every_accepted_form(text: str):
    assert parse_public_key(text) == PUBLIC


@pytest.mark.parametrize("text, problem", [
    ("not base64!", "not an Ed25519 public key"),
    (base64.b64encode(b"x" * 31).decode(), "not an Ed25519 public key"),
    (X25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode(), "Ed25519 public key is needed"),
])
def test_bad_public_keys_say_what_is_expected(text: str, problem: str):
    with pytest.raises(ValueError, match=problem):
        parse_public_key(text)


def test_a_signature_verifies_raw_or_base64_and_a_change_of_one_byte_is_refused():
    signature = KEY.sign(PACK)
    for blob in (signature, base64.b64encode(signature), base64.b64encode(signature) + b"\n", sign(PACK, KEY)):
        verify(PACK, None, PUBLIC, parse_signature(blob))
    with pytest.raises(VerificationError, match="bad Ed25519 signature"):
        verify(PACK.replace(b"Fixfoo", b"Fixfoa"), None, PUBLIC, signature)
    other = Ed25519PrivateKey.generate().sign(PACK)
    with pytest.raises(VerificationError, match="bad Ed25519 signature"):
        verify(PACK, None, PUBLIC, other)
    with pytest.raises(VerificationError, match="not an Ed25519 signature"):
        parse_signature(b"<html>404</html>")
    with pytest.raises(VerificationError, match="no signature"):
        verify(PACK, None, PUBLIC, None)


def test_sha256_pins():
    pin = hashlib.sha256(PACK).hexdigest()
    assert parse_sha256(f"sha256:{pin.upper()}") == pin
    verify(PACK, pin, None, None)
    with pytest.raises(VerificationError, match=f"sha256 mismatch: expected {pin}"):
        verify(PACK + b"\n", pin, None, None)
    with pytest.raises(ValueError, match="64 hex digits"):
        parse_sha256("abc")
    with pytest.raises(VerificationError, match="nothing to verify"):
        verify(PACK, None, None, None)


def test_both_checks_must_pass_when_both_are_given():
    pin = hashlib.sha256(PACK).hexdigest()
    verify(PACK, pin, PUBLIC, KEY.sign(PACK))
    with pytest.raises(VerificationError):
        verify(PACK, pin, PUBLIC, Ed25519PrivateKey.generate().sign(PACK))


def test_generated_keys_sign_and_the_public_half_verifies():
    pem, public = generate_key()
    key = load_private_key(pem)
    verify(PACK, None, parse_public_key(public), parse_signature(sign(PACK, key)))
    with pytest.raises(ValueError, match="not an unencrypted PEM private key"):
        load_private_key(b"nope")


# -- spec --------------------------------------------------------------------------------------
@pytest.mark.parametrize("value, seconds", [("6h", 21600), ("30m", 1800), ("90s", 90), ("1d", 86400),
                                            ("1.5h", 5400), (600, 600), (2.5, 2.5)])
def test_intervals(value: object, seconds: float):
    assert parse_interval(value) == seconds


@pytest.mark.parametrize("value", ["6 hours", "0s", "31d", True, -5, "h"])
def test_bad_intervals(value: object):
    with pytest.raises(ValueError):
        parse_interval(value)


@pytest.mark.parametrize("url, name", [
    ("https://example.org/packs/Extra-Agents.yaml", "extra-agents"),
    ("http://127.0.0.1:8000/a/b.yml?x=1", "b"),
    ("https://example.org/", "example.org"),
])
def test_names_from_urls(url: str, name: str):
    assert name_from_url(url) == name


def test_a_subscription_with_a_key():
    sub = parse_subscription({"url": "https://example.org/p.yaml", "ed25519_key": PUBLIC_B64, "refresh": "1h"})
    assert sub == Subscription("https://example.org/p.yaml", "p", None, PUBLIC, 3600.0)
    assert sub.signature_url == "https://example.org/p.yaml.sig"


@pytest.mark.parametrize("item, problem", [
    ({"url": "https://example.org/p.yaml"}, "sha256 or ed25519_key: one is required"),
    ({"url": "file:///etc/passwd", "sha256": "0" * 64}, "url: 'file:///etc/passwd': expected an http"),
    ({"url": "https://u:p@example.org/p.yaml", "sha256": "0" * 64}, "no user or password"),
    ({"url": "https://example.org/p.yaml", "sha256": "0" * 63}, "sha256: '0{63}' is not a sha256"),
    ({"url": "https://example.org/p.yaml", "ed25519_key": "xyz"}, "ed25519_key: not an Ed25519 public key"),
    ({"url": "https://example.org/p.yaml", "sha256": "0" * 64, "refresh": "soon"}, "refresh: expected a duration"),
    ({"url": "https://example.org/p.yaml", "sha256": "0" * 64, "name": "../x"}, "name: '../x' must be"),
    ({"url": "https://example.org/p.yaml", "sha256": "0" * 64, "key": "x"}, "key: unknown"),
    ({"sha256": "0" * 64}, "url: missing"),
])
def test_bad_subscriptions(item: dict, problem: str):
    with pytest.raises(ValueError, match=problem):
        parse_subscription(item)


def test_config_reports_every_bad_subscription_with_its_line(tmp_path: Path):
    config = tmp_path / "fixative.yaml"
    config.write_text("mode: enforce\nsubscriptions:\n"
                      f"  - url: https://example.org/a.yaml\n    sha256: {'ab' * 32}\n"
                      "  - url: https://example.org/b.yaml\n"
                      f"  - url: https://example.net/a.yaml\n    ed25519_key: {PUBLIC_B64}\n")
    with pytest.raises(ConfigError) as e:
        load_config(config)
    assert e.value.problems == [
        f"{config}:5: subscriptions: #2: sha256 or ed25519_key: one is required; an unverified pack is never loaded",
        f"{config}:6: subscriptions: #3: name: 'a' is taken by another subscription; give each a different `name:`",
    ]
    config.write_text(f"subscriptions: {{url: https://example.org/a.yaml, sha256: {'ab' * 32}}}\n")
    with pytest.raises(ConfigError, match=r"fixative.yaml:1: subscriptions: expected a list"):
        load_config(config)
    config.write_text(f"subscriptions:\n  - {{url: https://example.org/a.yaml, sha256: {'1' * 64}}}\n")
    with pytest.raises(ConfigError, match=r"fixative.yaml:2: subscriptions: #1: sha256: .* put the sha256 in quotes"):
        load_config(config)


def test_config_with_subscriptions(tmp_path: Path):
    config = tmp_path / "fixative.yaml"
    config.write_text(f"subscriptions:\n  - {{url: 'https://example.org/a.yaml', ed25519_key: '{PUBLIC_B64}', "
                      "refresh: 30m, name: friends}\n")
    assert load_config(config).subscriptions == (
        Subscription("https://example.org/a.yaml", "friends", None, PUBLIC, 1800.0),)


# -- cache -------------------------------------------------------------------------------------
SIGNED = Subscription("http://127.0.0.1:9/shared.yaml", "shared", None, PUBLIC)


def cache_copy(state: Path, sub: Subscription = SIGNED, data: bytes = PACK) -> None:
    staged = stage(state, sub, data, KEY.sign(data))
    staged.commit()


def test_a_committed_copy_is_read_back_and_used_offline(tmp_path: Path):
    assert read_copy(tmp_path, SIGNED) is None
    cache_copy(tmp_path)
    path, meta = read_copy(tmp_path, SIGNED)
    assert path == pack_path(tmp_path, SIGNED) and path.read_bytes() == PACK
    assert meta["pack"] == "shared-pack" and meta["sha256"] == hashlib.sha256(PACK).hexdigest()
    assert not list((tmp_path / "subscriptions" / "incoming").iterdir())
    config = load_config(None, state_dir=tmp_path)
    rules = startup_rules(config.__class__(**{**config.__dict__, "subscriptions": (SIGNED,)}))
    assert "shared-pack" in [p.name for p in rules.packs]


@pytest.mark.parametrize("spoil, problem", [
    (lambda state: pack_path(state, SIGNED).write_bytes(PACK + b"# edited\n"), "changed on disk"),
    (lambda state: meta_path(state, SIGNED).write_text("{"), "unreadable"),
    (lambda state: meta_path(state, SIGNED).unlink(), "no metadata"),
])
def test_a_spoiled_copy_is_not_used(tmp_path: Path, spoil, problem: str):
    cache_copy(tmp_path)
    spoil(tmp_path)
    with pytest.raises(CacheError, match=problem):
        read_copy(tmp_path, SIGNED)
    files, problems = subscribed_packs(tmp_path, [SIGNED])
    assert files == [] and problem in problems[0] and SIGNED.url in problems[0]


def test_a_copy_no_longer_used_when_the_config_changes_key_pin_or_url(tmp_path: Path):
    cache_copy(tmp_path)
    other_key = parse_public_key(generate_key()[1])
    for changed, problem in [(Subscription(SIGNED.url, "shared", None, other_key), "no longer verifies"),
                             (Subscription(SIGNED.url, "shared", "0" * 64), "sha256 mismatch"),
                             (Subscription("http://127.0.0.1:9/moved.yaml", "shared", None, PUBLIC), "came from")]:
        with pytest.raises(CacheError, match=problem):
            read_copy(tmp_path, changed)


def test_a_broken_copy_is_not_staged(tmp_path: Path):
    with pytest.raises(RulePackError, match=r"incoming/shared.yaml:1:"):
        stage(tmp_path, SIGNED, b"rules: [", KEY.sign(b"rules: ["))
    assert not list((tmp_path / "subscriptions" / "incoming").iterdir())
    assert read_copy(tmp_path, SIGNED) is None


def test_startup_leaves_out_a_cached_copy_that_clashes_with_the_other_packs(tmp_path: Path):
    clash = PACK.replace(b"shared-pack", b"http-libraries")
    cache_copy(tmp_path, data=clash)
    config = load_config(None, state_dir=tmp_path)
    rules = startup_rules(config.__class__(**{**config.__dict__, "subscriptions": (SIGNED,)}))
    assert [p.name for p in rules.packs].count("http-libraries") == 1
    assert not any(r.id == "deny-fixfoo" for r in rules.rules)


# -- fetch -------------------------------------------------------------------------------------
@pytest_asyncio.fixture
async def server(aiohttp_server):
    async def pack(request: web.Request) -> web.StreamResponse:
        if request.headers.get("If-None-Match") == '"v1"':
            return web.Response(status=304)
        return web.Response(body=PACK, headers={"ETag": '"v1"'})

    async def huge(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        for _ in range(100):
            await response.write(b"x" * 65536)
        return response

    async def slow(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(5)
        return web.Response(body=PACK)

    async def moved(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/pack.yaml")

    async def gone(request: web.Request) -> web.StreamResponse:
        raise web.HTTPGone()

    app = web.Application()
    app.router.add_get("/pack.yaml", pack)
    app.router.add_get("/huge.yaml", huge)
    app.router.add_get("/slow.yaml", slow)
    app.router.add_get("/moved.yaml", moved)
    app.router.add_get("/gone.yaml", gone)
    return await aiohttp_server(app)


@pytest.mark.asyncio
async def test_fetch_follows_a_redirect_uses_etags_and_refuses_errors_size_and_slowness(server):
    base = str(server.make_url(""))
    async with aiohttp.ClientSession() as session:
        got = await fetch(session, base + "/moved.yaml")
        assert got.body == PACK and got.etag == '"v1"'
        assert (await fetch(session, base + "/pack.yaml", etag='"v1"')).body is None
        with pytest.raises(FetchError, match="HTTP 410"):
            await fetch(session, base + "/gone.yaml")
        with pytest.raises(FetchError, match="more than the 1000000 bytes allowed"):
            await fetch(session, base + "/huge.yaml", limit=1_000_000)
        with pytest.raises(FetchError, match="no complete answer within 0.3 s"):
            await fetch(session, base + "/slow.yaml", timeout=0.3)
        with pytest.raises(FetchError, match="Cannot connect"):
            await fetch(session, "http://127.0.0.1:9/pack.yaml")


# -- the signing CLI ---------------------------------------------------------------------------
class Run:
    """`fixative rules ...` in this process (what the console script calls), in a folder."""

    def __init__(self, capsys: pytest.CaptureFixture[str], cwd: Path, monkeypatch: pytest.MonkeyPatch):
        self.capsys = capsys
        monkeypatch.chdir(cwd)

    def __call__(self, *args: str) -> tuple[int, str, str]:
        code = rules_main(["rules", *args])
        out, err = self.capsys.readouterr()
        return code, out, err


def test_keygen_sign_verify(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
    run = Run(capsys, tmp_path, monkeypatch)
    code, out, err = run("keygen", "--out", "k.key")
    assert code == 0, err
    assert (tmp_path / "k.key").stat().st_mode & 0o777 == 0o600
    public = (tmp_path / "k.key.pub").read_text().strip()
    assert f"ed25519_key: {public}" in out
    assert run("keygen", "--out", "k.key")[0] == 2  # never overwritten

    (tmp_path / "p.yaml").write_bytes(PACK)
    code, out, err = run("sign", "p.yaml", "--key", "k.key")
    assert code == 0, err
    assert hashlib.sha256(PACK).hexdigest() in out
    verify(PACK, None, parse_public_key(public), parse_signature((tmp_path / "p.yaml.sig").read_bytes()))
    code, out, _ = run("verify", "p.yaml", "--public-key", public)
    assert code == 0 and "verified (signature); pack shared-pack 1, 1 rules" in out
    assert run("verify", "p.yaml", "--sha256", hashlib.sha256(PACK).hexdigest())[0] == 0

    (tmp_path / "p.yaml").write_bytes(PACK + b"# changed\n")
    code, _, err = run("verify", "p.yaml", "--public-key", "k.key.pub")
    assert code == 1 and "bad Ed25519 signature" in err

    (tmp_path / "broken.yaml").write_text("pack: {name: x}\n")
    code, _, err = run("sign", "broken.yaml", "--key", "k.key")
    assert code == 1 and "does not load, so it is not signed" in err
    assert not (tmp_path / "broken.yaml.sig").exists()


def test_the_console_script_has_the_signing_commands(tmp_path: Path):
    done = subprocess.run([str(VENV_BIN / "fixative"), "rules", "sign", "--help"], check=False, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0 and "--key KEY" in done.stdout


# -- rebuilds through RuleControl --------------------------------------------------------------
@pytest.mark.asyncio
async def test_a_staged_copy_is_committed_only_when_the_whole_set_loads(tmp_path: Path):
    from dataclasses import replace

    from fixative.admin.rulectl import RuleControl
    from fixative.runtime import build_runtime

    cache_copy(tmp_path, data=PACK.replace(b"shared-pack", b"http-libraries"))  # clashes with a shipped pack
    config = replace(load_config(None, state_dir=tmp_path), subscriptions=(SIGNED,))
    rt = build_runtime(config)
    try:
        control = RuleControl(tmp_path)
        await control.rebuild(rt, why="test")  # the clashing cached copy is left out, not fatal
        assert control.last_rebuild["ok"] and not any(r.id == "deny-fixfoo" for r in rt.rules.rules)

        clash = PACK.replace(b"shared-pack", b"ai-agents")
        staged = stage(tmp_path, SIGNED, clash, KEY.sign(clash))
        with pytest.raises(RulePackError, match=r"incoming/shared.yaml:1: pack: name: 'ai-agents' is also"):
            await control.rebuild(rt, staged=[staged], why="subscription shared")
        staged.discard()
        assert control.last_rebuild["ok"] is False and control.last_rebuild["trigger"] == "subscription shared"
        assert pack_path(tmp_path, SIGNED).read_bytes() != clash

        staged = stage(tmp_path, SIGNED, PACK, KEY.sign(PACK))
        await control.rebuild(rt, staged=[staged], why="subscription shared")
        assert pack_path(tmp_path, SIGNED).read_bytes() == PACK and not staged.candidate.exists()
        assert any(r.id == "deny-fixfoo" for r in rt.rules.rules) and control.last_rebuild["ok"]
        assert read_copy(tmp_path, SIGNED)[1]["pack"] == "shared-pack"
    finally:
        rt.close()
