"""load_config: defaults, a valid file, overrides, and every problem reported at once with where."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fixative.config import Config, ConfigError, load_config, split_listen
from fixative.policy import BLOCK, DECOY, ORIGINAL, TARPIT, Policy
from fixative.rules.ruleset import Thresholds

PACK = Path(__file__).parent / "rules" / "good" / "ua-matchers.yaml"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "fixative.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _problems(path: Path, **overrides: object) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(path, **overrides)
    assert str(info.value) == "\n".join(info.value.problems)
    return info.value.problems


def test_defaults() -> None:
    config = load_config(None)
    assert config == Config()
    assert (config.mode, config.listen, config.preset, config.upstream) == ("enforce", "127.0.0.1:8080",
                                                                            "balanced", None)
    assert config.trusted_proxies == () and config.packs == () and config.thresholds is None
    assert config.policy == Policy()
    assert config.source == "(defaults)"
    assert config.mark_text == "© the artist · not licensed for AI training"


def test_valid_file(tmp_path: Path) -> None:
    path = _write(tmp_path, f"""\
# every setting
mode: observe
upstream: http://127.0.0.1:8000
listen: 0.0.0.0:9090
state_dir: state
trusted_proxies: [10.0.0.0/8, "2001:db8::/32"]
preset: strict
packs: [{PACK}]
thresholds: {{suspect: 25, scraper: 60}}
policy:
  suspect: {{image: original}}
  scraper: {{page: block, image: decoy, other: tarpit}}
artist: Mara Ilves
watermark: {{text: "© Mara", max_side: 800, quality: 80, opacity: 0.5}}
events: {{retention_days: 7, max_rows: 5000}}
images: {{max_bytes: 1000000, max_pixels: 2000000, time_limit: 2.5, workers: 4, cache_mb: 64}}
tarpit_seconds: 5
""")
    config = load_config(path)
    assert config.mode == "observe"
    assert config.upstream == "http://127.0.0.1:8000"
    assert config.listen == "0.0.0.0:9090"
    assert config.state_dir == (tmp_path / "state").resolve()  # relative to the file, not the cwd
    assert config.trusted_proxies == ("10.0.0.0/8", "2001:db8::/32")
    assert config.preset == "strict"
    assert config.packs == (PACK.resolve(),)
    assert config.thresholds == Thresholds(25, 60)
    assert config.policy.treatment("suspect", "image") == ORIGINAL
    assert [config.policy.treatment("scraper", k) for k in ("page", "image", "other")] == [BLOCK, DECOY, TARPIT]
    assert config.artist == "Mara Ilves"
    assert (config.mark_text, config.watermark_max_side, config.watermark_quality,
            config.watermark_opacity) == ("© Mara", 800, 80, 0.5)
    assert (config.retention_days, config.max_rows) == (7, 5000)
    assert (config.max_image_bytes, config.max_pixels, config.image_time_limit, config.image_workers,
            config.cache_mb) == (1_000_000, 2_000_000, 2.5, 4, 64)
    assert config.tarpit_seconds == 5
    assert config.source == str(path)


def test_empty_file_is_the_defaults(tmp_path: Path) -> None:
    path = _write(tmp_path, "# nothing set\n")
    assert load_config(path) == Config(source=str(path))


def test_overrides_win_over_the_file_and_none_is_no_override(tmp_path: Path) -> None:
    path = _write(tmp_path, "mode: observe\nlisten: 127.0.0.1:9000\n")
    config = load_config(path, mode="enforce", listen=None, trusted_proxies=("192.0.2.1",))
    assert (config.mode, config.listen, config.trusted_proxies) == ("enforce", "127.0.0.1:9000", ("192.0.2.1",))


def test_a_single_string_is_a_one_item_list(tmp_path: Path) -> None:
    assert load_config(_write(tmp_path, "trusted_proxies: 10.0.0.1\n")).trusted_proxies == ("10.0.0.1",)


def test_unknown_key_is_reported_with_its_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "mode: observe\n\nupstreem: http://127.0.0.1:8000\n")
    (problem,) = _problems(path)
    assert problem.startswith(f"{path}:3: upstreem: unknown setting; known settings: mode, upstream, listen")


def test_bad_mode(tmp_path: Path) -> None:
    path = _write(tmp_path, "mode: fast\n")
    (problem,) = _problems(path)
    assert str(path) in problem
    assert "mode: 'fast' is not a mode; use observe (log only) or enforce" in problem


def test_bad_mode_override() -> None:
    (problem,) = _problems(None, mode="fast")  # type: ignore[arg-type]
    assert problem == "command line: mode: 'fast' is not a mode; use observe (log only) or enforce"


def test_bad_cidr(tmp_path: Path) -> None:
    path = _write(tmp_path, "trusted_proxies: [10.0.0.0/8, 10.0.0.0/33]\n")
    (problem,) = _problems(path)
    assert str(path) in problem
    assert "trusted_proxies: '10.0.0.0/33' is not an IP address or CIDR range" in problem


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("artist: me\nmode: fast\n", 2, "mode: 'fast' is not a mode"),
        ("artist: me\n\ntrusted_proxies: [10.0.0.0/33]\n", 3, "trusted_proxies: '10.0.0.0/33' is not"),
    ],
    ids=["mode", "trusted_proxies"],
)
def test_value_problems_name_their_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    """config.py promises `file:line: key: problem` for every problem in the file."""
    path = _write(tmp_path, text)
    (problem,) = _problems(path)
    assert problem.startswith(f"{path}:{line}: {message}")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("policy:\n  human: decoy\n", "1: policy: human: people always get the original; "
                                      "only suspect and scraper can be set"),
        ("policy:\n  scraper: {page: decoy}\n", "1: policy: scraper.page: decoy applies to images only; "
                                                "use original, block or tarpit"),
        ("policy:\n  scraper: {image: shred}\n", "1: policy: scraper.image: unknown treatment 'shred'"),
        ("policy:\n  scraper: {video: block}\n", "1: policy: scraper.video: unknown kind"),
        ("policy:\n  robot: {image: block}\n", "1: policy: robot: unknown verdict; use suspect or scraper"),
        ("policy: decoy\n", "1: policy: expected a mapping of verdict"),
    ],
    ids=["human", "decoy-on-page", "unknown-treatment", "unknown-kind", "unknown-verdict", "not-a-mapping"],
)
def test_bad_policy(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path, text)
    (problem,) = _problems(path)
    assert problem.startswith(f"{path}:{message}")
    assert problem.endswith("Expected treatments per verdict, e.g. {scraper: {image: decoy, page: original}}.")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("tarpit_seconds: 900\n", ":1: tarpit_seconds: expected a number from 0 to 600, got 900"),
        ("tarpit_seconds: yes\n", ":1: tarpit_seconds: expected a number from 0 to 600, got True"),
        ("watermark: {colour: red}\n", ":1: watermark: colour: unknown; use text, max_side, quality, opacity"),
        ("watermark: {opacity: 2}\n", ":1: watermark: expected a number from 0.05 to 1.0, got 2"),
        ("images: 5\n", ":1: images: expected a mapping, got 5"),
        ("images: {workers: 0}\n", ":1: images: expected a number from 1 to"),
        ("upstream: ''\n", ":1: upstream: expected text, got ''"),
        ("thresholds: {suspect: 80, scraper: 20}\n", ":1: thresholds: need whole numbers with 0 < suspect <= scraper"),
        ("thresholds: [30, 70]\n", ":1: thresholds: expected {suspect: N, scraper: M}"),
        ("packs: [missing.yaml]\n", ": packs: "),
        ("preset: medium\n", ": preset: unknown preset 'medium'"),
        ("listen: 8080\n", ":1: listen: expected text, got 8080"),
        ("listen: localhost\n", ": listen: 'localhost' must be HOST:PORT"),
        ("listen: 'localhost:99999'\n", ": listen: 'localhost:99999' must be HOST:PORT"),
        ("upstream: example.org\n", ": upstream: 'example.org' must start with http:// or https://"),
    ],
)
def test_bad_values(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path, text)
    (problem,) = _problems(path)
    # problems found after parsing may or may not carry the line (see test_value_problems_name_their_line)
    where = re.escape(str(path)) + (r"(:\d+)?" if message.startswith(": ") else "")
    assert re.match(where + re.escape(message), problem), problem


def test_several_problems_at_once(tmp_path: Path) -> None:
    path = _write(tmp_path, """\
mode: fast
colour: blue
trusted_proxies: [nope]
policy: {human: decoy}
tarpit_seconds: -1
thresholds: {suspect: 0, scraper: 10}
""")
    problems = _problems(path)
    assert len(problems) == 6
    text = "\n".join(problems)
    for expected in (f"{path}:2: colour: unknown setting", f"{path}:4: policy: human:",
                     f"{path}:5: tarpit_seconds:", f"{path}:6: thresholds:", "mode: 'fast' is not a mode",
                     "trusted_proxies: 'nope' is not an IP address"):
        assert expected in text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("mode: observe\nwatermark:\n\ttext: hi\n", ":3: not valid YAML: found character '\\t' that cannot start "
                                                    "any token (YAML indents with spaces, not tabs)"),
        ("artist: Mara: Ilves\n", ":1: not valid YAML: mapping values are not allowed here "
                                  "(a value containing ': ' must be quoted)"),
        ("mode: observe\nmode: enforce\n", ":2: not valid YAML: key 'mode' appears twice in one mapping"),
    ],
    ids=["tab", "unquoted-colon", "duplicate-key"],
)
def test_invalid_yaml(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path, text)
    (problem,) = _problems(path)
    assert problem.startswith(f"{path}{message}")
    assert problem.endswith("Fix the file, or start without --config to use the defaults.")


def test_not_a_mapping(tmp_path: Path) -> None:
    path = _write(tmp_path, "- mode: observe\n")
    (problem,) = _problems(path)
    assert problem.startswith(f"{path}:1: the config file must be a mapping of settings (mode, upstream,")


def test_missing_file(tmp_path: Path) -> None:
    (problem,) = _problems(tmp_path / "nope.yaml")
    assert problem.startswith(f"{tmp_path / 'nope.yaml'}: file not found")


@pytest.mark.parametrize(
    ("listen", "expected"),
    [("127.0.0.1:8080", ("127.0.0.1", 8080)), ("0.0.0.0:80", ("0.0.0.0", 80)), ("[::1]:8443", ("::1", 8443)),
     ("localhost:1", ("localhost", 1))],
)
def test_split_listen(listen: str, expected: tuple[str, int]) -> None:
    assert split_listen(listen) == expected
    assert load_config(None, listen=listen).listen == listen

