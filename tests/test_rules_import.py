"""`fixative rules import`: packs from ai.robots.txt's robots.json and from a robots.txt, and updating an
existing pack in place with a readable account of what changed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from fixative.rules.import_airobots import airobots_pack
from fixative.rules.importers import compare, import_into, import_text, robots_txt_agents
from fixative.rules.loader import load_pack
from fixative.rulescli import main as rules_main

DATA = Path(__file__).resolve().parent / "rules" / "import"
ROBOTS_JSON = DATA / "robots.json"   # a few agents of ai.robots.txt's robots.json (MIT, LICENSE.ai-robots-txt)
ROBOTS_TXT = DATA / "robots.txt"


def _rules(text: str) -> dict[str, dict]:
    return {r["id"]: r for r in yaml.safe_load(text)["rules"]}


def test_robots_json_gives_the_same_pack_as_the_build_script() -> None:
    agents = json.loads(ROBOTS_JSON.read_text())
    text = import_text(ROBOTS_JSON, version="2026.11.23")
    assert text == airobots_pack(agents, skip={"Applebot"}, version="2026.11.23")
    rules = _rules(text)
    assert "applebot" not in rules  # verified by IP range in search-engines.yaml
    assert rules["gptbot"]["tags"][:2] == ["ai-agent", "robots:disallow"]
    assert rules["brightbot-1-0"]["match"] == {"user_agent_token": ["Brightbot 1.0"]}


@pytest.mark.parametrize(("text", "agents"), [
    ("User-agent: GPTBot\nUser-agent: *\nDisallow: /\n", ["GPTBot"]),
    ("user-agent:CCBot # comment\n\nUSER-AGENT:  CCBot\n", ["CCBot"]),
    ("# nothing\nDisallow: /\n", []),
    (ROBOTS_TXT.read_text(), ["AddSearchBot", "CCBot", "GPTBot", "NewBot", "Applebot"]),
])
def test_robots_txt_agents(text: str, agents: list[str]) -> None:
    assert robots_txt_agents(text) == agents


def test_new_pack_file_loads_and_points_at_the_schema(tmp_path: Path) -> None:
    out = tmp_path / "packs" / "agents.yaml"
    out.parent.mkdir()
    _, summary = import_into(ROBOTS_JSON, out, pack_name="my-agents", version="1")
    info, rules = load_pack(out)
    assert (info.name, info.version, len(rules)) == ("my-agents", "1", 6)
    assert summary.splitlines()[0] == "6 added, 0 removed, 0 changed"
    assert "+ gptbot: declares itself GPTBot (OpenAI)" in summary
    first = out.read_text().splitlines()[0]
    schema = (out.parent / first.split("$schema=")[1]).resolve()
    assert first.startswith("# yaml-language-server: $schema=") and schema.name == "rule-pack.schema.json"
    assert schema.exists()


def test_rerun_without_changes_leaves_the_file_alone(tmp_path: Path) -> None:
    out = tmp_path / "agents.yaml"
    import_into(ROBOTS_JSON, out, version="2026.11.01")
    before = out.read_text()
    change, _ = import_into(ROBOTS_JSON, out, version="2026.12.24")
    assert change.empty and out.read_text() == before  # not even the version moves


def test_rerun_reports_added_removed_and_changed_rules(tmp_path: Path) -> None:
    out = tmp_path / "agents.yaml"
    import_into(ROBOTS_JSON, out, version="1")
    agents = json.loads(ROBOTS_JSON.read_text())
    del agents["CCBot"]
    agents["GPTBot"]["operator"] = "[OpenAI, Inc.](https://openai.com)"
    agents["ExampleBot"] = {"operator": "Example", "function": "AI training.", "respect": "Yes"}
    newer = tmp_path / "robots.json"
    newer.write_text(json.dumps(agents))
    change, summary = import_into(newer, out, version="2")
    assert (change.added, change.removed) == (["examplebot"], ["ccbot"])
    assert change.changed == [("gptbot", ["description", "tags"])]
    lines = summary.splitlines()
    assert lines[0] == "1 added, 1 removed, 1 changed"
    assert "+ examplebot: declares itself ExampleBot (Example): AI training." in lines
    assert any(ln.startswith("- ccbot: declares itself CCBot") for ln in lines)
    assert any(ln.startswith('~ gptbot: description: "declares itself GPTBot (OpenAI)') and "OpenAI, Inc." in ln
               for ln in lines)
    assert load_pack(out)[0].version == "2"


def test_robots_txt_into_an_existing_pack_keeps_what_it_knows(tmp_path: Path) -> None:
    out = tmp_path / "agents.yaml"
    import_into(ROBOTS_JSON, out, version="1")
    before = _rules(out.read_text())
    change, _ = import_into(ROBOTS_TXT, out, version="2")
    after = _rules(out.read_text())
    assert change.added == ["newbot"] and set(change.removed) == {"claudebot", "brightbot-1-0", "spider"}
    assert not change.changed
    assert after["gptbot"] == before["gptbot"]  # operator and purpose kept from robots.json
    assert after["newbot"]["tags"] == ["ai-agent", "robots:disallow", "operator:unknown"]
    info, _ = load_pack(out)
    assert (info.name, info.source) == ("ai-agents", "https://github.com/ai-robots-txt/ai.robots.txt/blob/main/robots.json")


def test_robots_txt_alone(tmp_path: Path) -> None:
    text = import_text(ROBOTS_TXT, version="1", pack_name="from-robots")
    rules = _rules(text)
    assert list(rules) == ["addsearchbot", "ccbot", "gptbot", "newbot"]
    assert all(r["tags"][-1] == "operator:unknown" and r["action"] == "deny" for r in rules.values())
    path = tmp_path / "p.yaml"
    path.write_text(text)
    assert load_pack(path)[0].name == "from-robots"


def test_compare_is_by_rule_id() -> None:
    old = "pack: {name: a}\nrules:\n- {id: x, action: deny}\n- {id: y, action: deny}\n"
    new = "pack: {name: b}\nrules:\n- {id: y, action: allow}\n- {id: z, action: deny}\n"
    change = compare(old, new)
    assert (change.added, change.removed, change.changed) == (["z"], ["x"], [("y", ["action"])])
    assert compare(None, new).added == ["y", "z"]


@pytest.mark.parametrize(("content", "suffix", "problem"), [
    ("{not json", ".json", "not valid JSON"),
    ('["a"]', ".json", "expected ai.robots.txt's robots.json"),
    ("User-agent: *\nDisallow: /\n", ".txt", "no `User-agent:` lines (other than *) to import"),
])
def test_unusable_source(tmp_path: Path, content: str, suffix: str, problem: str,
                         capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / f"source{suffix}"
    source.write_text(content)
    assert rules_main(["import", str(source)]) == 2
    assert problem in capsys.readouterr().err


def test_cli_import(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert rules_main(["import", str(ROBOTS_JSON), "--version", "3", "--skip", "Spider"]) == 0
    printed = capsys.readouterr().out
    assert "name: ai-agents" in printed and "id: spider" not in printed and "id: applebot\n" in printed
    out = tmp_path / "agents.yaml"
    assert rules_main(["import", str(ROBOTS_JSON), "--out", str(out), "--version", "3"]) == 0
    assert capsys.readouterr().out.startswith(f"{out}: 6 added, 0 removed, 0 changed\n+ addsearchbot:")
    assert rules_main(["import", str(ROBOTS_JSON), "--out", str(out)]) == 0
    assert capsys.readouterr().out == f"{out}: no rule changed; the file is as it was\n"
    assert rules_main(["import", str(tmp_path / "missing.json")]) == 2
