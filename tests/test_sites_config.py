"""`sites:` in the config: each site inherits the top level, and the whole list is validated at once."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixative.config import load_config
from fixative.policy import BLOCK, DECOY
from fixative.rules.ruleset import Thresholds
from fixative.siteconfig import DEFAULT_MESSAGE, UnknownHost, find_site, normal_host
from test_config import _problems, _write

PACK = Path(__file__).parent / "rules" / "good" / "ua-matchers.yaml"

GOOD = f"""\
artist: Default Artist
preset: strict
sites:
  - name: mara
    hosts: [Mara.Example, 'www.mara.example:8080']
    upstream: http://127.0.0.1:9001
    artist: Mara Ilves
    watermark: {{text: "© Mara"}}
  - name: joss
    hosts: joss.example
    upstream: http://127.0.0.1:9002
    policy: {{scraper: {{image: block}}}}
    thresholds: {{suspect: 20, scraper: 60}}
    preset: permissive
    packs: [{PACK}]
unknown_host: {{status: 404, message: "no such gallery"}}
"""




def test_no_sites_is_one_site_as_before(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, "upstream: http://127.0.0.1:8000\n"))
    assert config.sites == () and config.default_site is None and config.unknown_host == UnknownHost()
    assert config.unknown_host.status == 421 and config.unknown_host.message == DEFAULT_MESSAGE


def test_sites_inherit_the_top_level_and_override_their_own(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, GOOD), mode="observe")
    mara, joss = config.sites
    assert (mara.name, mara.hosts) == ("mara", ("mara.example", "www.mara.example:8080"))
    assert (joss.name, joss.hosts) == ("joss", ("joss.example",))
    assert mara.config.upstream == "http://127.0.0.1:9001" and joss.config.upstream == "http://127.0.0.1:9002"
    assert (mara.config.artist, mara.config.mark_text) == ("Mara Ilves", "© Mara")
    assert joss.config.artist == "Default Artist"
    assert mara.config.policy.treatment("scraper", "image") == DECOY
    assert joss.config.policy.treatment("scraper", "image") == BLOCK
    assert (mara.config.preset, joss.config.preset) == ("strict", "permissive")
    assert joss.config.thresholds == Thresholds(20, 60) and mara.config.thresholds is None
    assert joss.config.packs == (PACK.resolve(),) and mara.config.packs == ()
    assert mara.config.mode == joss.config.mode == "observe"  # the command line wins everywhere
    assert config.unknown_host == UnknownHost(404, "no such gallery\n")


def test_a_top_level_upstream_is_shared_by_sites_without_their_own(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, "upstream: http://127.0.0.1:7000\nsites:\n"
                                          "  - {name: a, hosts: [a.example]}\n"
                                          "  - {name: b, hosts: [b.example], upstream: 'http://127.0.0.1:7001'}\n"
                                          "default_site: b\n"))
    assert [s.config.upstream for s in config.sites] == ["http://127.0.0.1:7000", "http://127.0.0.1:7001"]
    assert config.default_site == "b"


BAD = [
    ("sites: {name: a}\n", ["fixative.yaml:1: sites: expected a list of {name: NAME"]),
    ("sites: []\n", ["fixative.yaml:1: sites: expected a list"]),
    ("sites:\n  - just-a-name\n", ["fixative.yaml:2: sites: item 1: expected a mapping"]),
    ("sites:\n  - name: a\n    hosts: [a.example]\n",
     ["fixative.yaml:2: sites: site 'a': needs `upstream: URL`"]),
    ("sites:\n  - name: a\n    upstream: http://x\n",
     ["fixative.yaml:2: sites: site 'a': needs `hosts: [NAME, ...]`"]),
    ("sites:\n  - hosts: [a.example]\n    upstream: http://x\n",
     ["fixative.yaml:2: sites: site 1: needs `name: NAME`"]),
    ("sites:\n  - {name: a, hosts: [a.example], upstream: 'http://x'}\n"
     "  - {name: a, hosts: [b.example], upstream: 'http://y'}\n",
     ["fixative.yaml:3: sites: site 'a': the name is also used at "]),
    ("sites:\n  - {name: a, hosts: [Shared.Example], upstream: 'http://x'}\n"
     "  - {name: b, hosts: [shared.example.], upstream: 'http://y'}\n",
     ["fixative.yaml:3: sites: site 'b': host 'shared.example' is also site 'a''s"]),
    ("sites:\n  - name: a\n    hosts: [a.example]\n    upstream: http://x\n    listen: 0.0.0.0:1\n",
     ["fixative.yaml:5: sites: site 'a': listen: unknown per-site setting"]),
    ("sites:\n  - name: a\n    hosts: ['http://a.example/']\n    upstream: http://x\n",
     ["fixative.yaml:3: sites: site 'a': 'http://a.example/' is not a host name"]),
    ("sites:\n  - name: a\n    hosts: [a.example]\n    upstream: ftp://x\n",
     ["fixative.yaml:4: sites: site 'a': upstream: 'ftp://x' must start with http://"]),
    ("sites:\n  - name: a\n    hosts: [a.example]\n    upstream: http://x\n    preset: nosuch\n",
     ["fixative.yaml:5: sites: site 'a': preset: unknown preset 'nosuch'"]),
    ("sites:\n  - name: a\n    hosts: [a.example]\n    upstream: http://x\n    packs: [missing.yaml]\n",
     ["fixative.yaml:5: sites: site 'a': packs: ", "missing.yaml: file not found"]),
    ("sites:\n  - name: a\n    hosts: [a.example]\n    upstream: http://x\n    policy: {scraper: {image: x}}\n",
     ["fixative.yaml:5: sites: site 'a': policy: scraper.image: unknown treatment 'x'"]),
    ("sites:\n  - name: a\n    hosts: [a.example]\n    upstream: http://x\n    mode: sometimes\n",
     ["fixative.yaml:5: sites: site 'a': mode: 'sometimes' is not a mode; use observe (log only) or enforce"]),
    ("sites:\n  - name: a\n    hosts: [a.example]\n    upstream: http://x\n    mode: 1\n",
     ["fixative.yaml:5: sites: site 'a': mode: expected text, got 1. Expected observe or enforce."]),
    ("sites:\n  - {name: a, hosts: [a.example], upstream: 'http://x'}\ndefault_site: b\n",
     ["fixative.yaml:3: default_site: 'b' is not a site's name; the sites are a"]),
    ("sites:\n  - {name: a, hosts: [a.example], upstream: 'http://x'}\ndefault_site: a\nunknown_host: {status: 404}\n",
     ["fixative.yaml:4: unknown_host: with default_site (", "keep one of the two"]),
    ("sites:\n  - {name: a, hosts: [a.example], upstream: 'http://x'}\nunknown_host: {status: 200}\n",
     ["fixative.yaml:3: unknown_host: status: expected an HTTP error status from 400 to 599"]),
    ("sites:\n  - {name: a, hosts: [a.example], upstream: 'http://x'}\nunknown_host: {colour: red}\n",
     ["fixative.yaml:3: unknown_host: expected {status: 421, message: TEXT}"]),
    ("upstream: http://x\nunknown_host: {status: 404}\n",
     ["fixative.yaml:2: unknown_host: only means something with `sites:`"]),
]


@pytest.mark.parametrize(("text", "expected"), BAD)
def test_bad_sites(tmp_path: Path, text: str, expected: list[str]) -> None:
    problems = _problems(_write(tmp_path, text))
    assert len(problems) == 1, problems
    for part in expected:
        assert part in problems[0].replace(str(tmp_path) + "/", ""), problems


def test_every_problem_of_every_site_at_once(tmp_path: Path) -> None:
    problems = _problems(_write(tmp_path, "sites:\n"
                                          "  - {name: a, hosts: [a.example], upstream: 'http://x', colour: red}\n"
                                          "  - {name: a, hosts: [a.example], upstream: 'ftp://y'}\n"
                                          "mode: sometimes\n"))
    text = "\n".join(problems)
    assert "colour: unknown per-site setting" in text and "the name is also used" in text
    assert "host 'a.example' is also" in text and "must start with http://" in text and "mode:" in text
    assert len(problems) == 5, problems


@pytest.mark.parametrize(("sent", "site"), [
    ("mara.example", "mara"), ("MARA.example:443", "mara"), ("mara.example.", "mara"),
    ("www.mara.example:8080", "www8080"), ("www.mara.example:80", None), ("other.example", None), (None, None),
    ("[::1]:8080", "v6"), ("[::1]", None),
])
def test_find_site(sent: str | None, site: str | None) -> None:
    table = {normal_host(h): name for h, name in [("mara.example", "mara"), ("www.mara.example:8080", "www8080"),
                                                 ("[::1]:8080", "v6")]}
    assert find_site(table, sent) == site
