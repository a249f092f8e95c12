#!/usr/bin/env python3
"""Regenerate the data-derived rule packs in rules/ from ../shared/reference-data.

Run from the project root: `python scripts/build_rule_packs.py [REFERENCE_DIR]`.
The packs are committed; this script only needs the reference data when refreshing.
"""

from __future__ import annotations

import ipaddress
import json
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "proxy"))

from fixative.rules.import_airobots import airobots_pack  # noqa: E402

SCHEMA_COMMENT = "# yaml-language-server: $schema=../schema/rule-pack.schema.json\n"
# Search crawlers verified by range; the AI-agent pack leaves them to search-engines.yaml.
SEARCH_TOKENS = {"Applebot"}


def prefixes_json(path: Path) -> list[str]:
    data = json.loads(path.read_text())
    out = []
    for p in data["prefixes"]:
        out.append(p.get("ipv4Prefix") or p.get("ipv6Prefix"))
    return _canonical(out)


def prefixes_txt(*paths: Path) -> list[str]:
    out: list[str] = []
    for path in paths:
        if path.exists():
            out += [ln.strip() for ln in path.read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    return _canonical(out)


def prefixes_anubis(path: Path) -> list[str]:
    out: list[str] = []
    for rule in yaml.safe_load(path.read_text()):
        out += rule.get("remote_addresses", [])
    return _canonical(out)


def _canonical(items: list[str]) -> list[str]:
    nets = {ipaddress.ip_network(i.strip(), strict=False) for i in items if i}
    v4 = sorted(n for n in nets if n.version == 4)
    v6 = sorted(n for n in nets if n.version == 6)
    return [str(n) for n in (*ipaddress.collapse_addresses(v4), *ipaddress.collapse_addresses(v6))]


def write_pack(path: Path, header: str, pack: dict, rules: list[dict]) -> None:
    body = yaml.safe_dump({"pack": pack}, sort_keys=False, allow_unicode=True, width=100)
    body += "rules:\n"
    for rule in rules:
        match = rule.pop("match")
        text = yaml.safe_dump([rule], sort_keys=False, allow_unicode=True, width=100)
        lines = text.splitlines()
        lines.append("  match:")
        for key, value in match.items():
            flow = yaml.safe_dump(value, default_flow_style=True, width=100000).strip()
            lines.append(f"    {key}: {flow}")
        body += "\n".join(lines) + "\n"
    path.write_text(header + body)
    print(f"wrote {path.relative_to(ROOT)} ({len(rules)} rules)")


# Forward-confirmed reverse DNS, where the operator documents it: the host names its crawlers' addresses
# resolve to (and back). Never a domain customers can put their own hosts under (googleusercontent.com
# names every Google Cloud VM): that would verify anyone's VM claiming to be Googlebot.
RDNS = {
    "googlebot": (["googlebot.com", "google.com"],
                  "developers.google.com/search/docs/crawling-indexing/verifying-googlebot"),
    "bingbot": (["search.msn.com"], "bing.com/webmasters/help/how-to-verify-bingbot-3905dc26"),
    "applebot": (["applebot.apple.com"], "support.apple.com/en-us/119829"),
    "yandexbot": (["yandex.ru", "yandex.net", "yandex.com"],
                  "yandex.com/support/webmaster/robot-workings/check-yandex-robots.html; Anubis data "
                  "crawlers/yandexbot.yaml"),
}


def search_engines(ref: Path) -> None:
    crawlers = ref / "ip-ranges/ai-and-search-crawlers"
    alfred = ref / "ip-ranges/lord-alfred-ipranges"
    engines = [
        ("googlebot", "Googlebot", ["Googlebot", "Googlebot-Image", "Google-InspectionTool", "Storebot-Google"],
         prefixes_json(crawlers / "google-common-crawlers-googlebot.json"),
         "developers.google.com/search/apis/ipranges/googlebot.json"),
        ("bingbot", "Bingbot", ["bingbot", "BingPreview"],
         prefixes_txt(alfred / "bing-ipv4_merged.txt"), "bing.com/toolbox/bingbot.json (via lord-alfred/ipranges)"),
        ("applebot", "Applebot", ["Applebot"],
         prefixes_json(crawlers / "apple-applebot.json"), "search.developer.apple.com/applebot.json"),
        ("duckduckbot", "DuckDuckBot", ["DuckDuckBot"],
         prefixes_txt(alfred / "duckduckbot-ipv4_merged.txt"),
         "duckduckgo.com/duckduckbot.json (via lord-alfred/ipranges)"),
        ("yandexbot", "YandexBot", ["YandexBot", "YandexImages"], [], ""),  # documents reverse DNS only
    ]
    rules: list[dict] = []
    for rid, name, tokens, nets, source in engines:
        domains, how = RDNS.get(rid, ([], ""))
        tags = ["search-engine", f"bot:{name}"]
        if nets:
            rules.append({"id": f"verified-{rid}",
                          "description": f"{name} from its published ranges ({source}): search visibility is kept",
                          "action": "allow", "tags": tags, "match": {"user_agent": tokens, "ip": nets}})
        if domains:
            rules.append({"id": f"verified-{rid}-rdns",
                          "description": f"{name} verified by forward-confirmed reverse DNS under "
                                         f"{', '.join(domains)} ({how}): search visibility is kept",
                          "action": "allow", "tags": [*tags, "rdns"], "match": {"user_agent": tokens, "rdns": domains}})
        if nets and domains:
            fake = f"claims to be {name} but is neither in its published ranges nor verified by reverse DNS"
        elif domains:
            fake = f"claims to be {name} but is not verified by reverse DNS"
        else:
            fake = f"claims to be {name} but comes from outside its published ranges"
        rules.append({"id": f"fake-{rid}", "description": fake,
                      "action": "deny", "tags": ["search-engine", "impersonation", f"bot:{name}"],
                      "match": {"user_agent": tokens, **({"not_ip": nets} if nets else {}),
                                **({"not_rdns": domains} if domains else {})}})
    header = (SCHEMA_COMMENT +
              "# Verified search engines: allowed from their published ranges or by forward-confirmed reverse DNS\n"
              "# where the operator documents it (the proxy looks it up only for a claimed crawler outside the\n"
              "# ranges), denied when forged. Generated by scripts/build_rule_packs.py from\n"
              "# ../shared/reference-data/ip-ranges (Google, Apple: vendor JSON via jonhadfield/cloud-ips,\n"
              "# Apache-2.0; Bing, DuckDuckGo: lord-alfred/ipranges, CC0-1.0) and the operators' verification\n"
              "# pages (RDNS in the script). Refresh the data before release: vendor lists change weekly.\n")
    write_pack(ROOT / "rules/search-engines.yaml", header,
               {"name": "search-engines", "version": "2026.12.03",
                "description": "Googlebot, Bingbot, Applebot, DuckDuckBot and YandexBot verified by published IP "
                               "ranges or reverse DNS",
                "licence": "Apache-2.0 AND CC0-1.0 (data)",
                "source": "https://developers.google.com/search/docs/crawling-indexing/verifying-googlebot"},
               rules)


def ai_networks(ref: Path) -> None:
    crawlers = ref / "ip-ranges/ai-and-search-crawlers"
    alfred = ref / "ip-ranges/lord-alfred-ipranges"
    anubis = ref / "anubis-data/crawlers"
    bots = [
        ("gptbot", "GPTBot", "OpenAI", "training", prefixes_json(crawlers / "openai-gptbot.json"),
         "openai.com/gptbot.json"),
        ("oai-searchbot", "OAI-SearchBot", "OpenAI", "ai-search", prefixes_json(crawlers / "openai-searchbot.json"),
         "openai.com/searchbot.json"),
        ("chatgpt-user", "ChatGPT-User", "OpenAI", "ai-assistant",
         prefixes_json(crawlers / "openai-chatgpt-user.json"), "openai.com/chatgpt-user.json"),
        ("claudebot", "ClaudeBot", "Anthropic", "training",
         prefixes_json(crawlers / "anthropic-claude-crawling-bots.json"), "claude.com/crawling/bots.json"),
        ("ccbot", "CCBot", "Common Crawl", "training", prefixes_anubis(anubis / "commoncrawl.yaml"),
         "index.commoncrawl.org/ccbot.json"),
        ("perplexitybot", "PerplexityBot", "Perplexity", "ai-search",
         prefixes_txt(alfred / "perplexity-ipv4_merged.txt"), "perplexity.com/perplexitybot.json"),
    ]
    rules: list[dict] = []
    for rid, token, operator, purpose, nets, source in bots:
        rules.append({"id": f"{rid}-verified",
                      "description": f"{token} ({operator}, {purpose}) from {operator}'s published crawler "
                                     f"range ({source})",
                      "action": "deny", "tags": [f"operator:{operator}", f"purpose:{purpose}", "verified"],
                      "match": {"user_agent": [token], "ip": nets}})
        rules.append({"id": f"{rid}-network",
                      "description": f"comes from {operator}'s published {token} crawler range ({source}), "
                                     "whatever User-Agent it sends",
                      "action": "deny", "tags": [f"operator:{operator}", f"purpose:{purpose}", "network"],
                      "match": {"ip": nets}})
    header = (SCHEMA_COMMENT +
              "# Published IP ranges of AI crawlers: a request from them is named for what it is.\n"
              "# Generated by scripts/build_rule_packs.py from ../shared/reference-data/ip-ranges\n"
              "# (OpenAI: FabrizioCafolla mirror, MIT; Anthropic: jonhadfield/cloud-ips, Apache-2.0;\n"
              "# Common Crawl: Anubis data, MIT; Perplexity: lord-alfred/ipranges, CC0-1.0).\n")
    write_pack(ROOT / "rules/ai-crawler-networks.yaml", header,
               {"name": "ai-crawler-networks", "version": "2026.11.23",
                "description": "AI crawlers identified by their operators' published IP ranges",
                "licence": "MIT AND Apache-2.0 AND CC0-1.0 (data)",
                "source": "https://platform.openai.com/docs/bots"},
               rules)


def ai_agents(ref: Path) -> None:
    data = json.loads((ref / "ai-robots-txt/robots.json").read_text())
    pack_text = airobots_pack(data, skip=SEARCH_TOKENS)
    (ROOT / "rules/ai-agents.yaml").write_text(pack_text)
    print("wrote rules/ai-agents.yaml")


def main() -> None:
    ref = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared/reference-data"
    search_engines(ref)
    ai_networks(ref)
    ai_agents(ref)


if __name__ == "__main__":
    main()
