"""The Admin addon's request hook: a trusted browser's decision, and flows it must leave alone."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fixative.addons.admin import Admin, parse_admin_listen
from fixative.addons.settings import Settings
from fixative.admin import trust
from fixative.config import load_config
from fixative.responses import make_block_response, make_text_response
from fixative.runtime import Runtime, build_runtime
from fixative.verdict import Decision, Reason
from mitmproxy.test import tflow

SCRAPER = Decision("scraper", 0, (Reason("ai-agents", "gptbot", "GPTBot", 0, "deny"),))


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    rt = build_runtime(load_config(None, state_dir=tmp_path))
    yield rt
    rt.close()


def make_flow(cookie: str | None, treatment: str | None = None, response=None):
    """A live flow as Classify leaves it: decision made, perhaps answered early."""
    flow = tflow.tflow()
    flow.live = True
    if cookie is not None:
        flow.request.headers["cookie"] = cookie
    flow.metadata["fixative.decision"] = SCRAPER
    if treatment:
        flow.metadata["fixative.treatment"] = treatment
        flow.metadata["fixative.applied"] = True
    flow.response = response
    return flow


def test_a_trusted_browser_becomes_human_and_an_early_block_is_undone(runtime: Runtime):
    admin = Admin(Settings(runtime))
    value = trust.issue(runtime.secret, time.time())
    flow = make_flow(f"a=1; {trust.COOKIE}={value}; b=2", "block", make_block_response())
    admin.request(flow)
    decision = flow.metadata["fixative.decision"]
    assert (
        decision.verdict == "human"
        and decision.decided_by.name == "local-overrides/trusted-browser"
    )
    assert [r.name for r in decision.reasons] == [
        "local-overrides/trusted-browser",
        "ai-agents/gptbot",
    ]
    assert flow.response is None and "fixative.treatment" not in flow.metadata
    assert flow.request.headers["cookie"] == "a=1; b=2"  # the origin never sees the trust cookie


@pytest.mark.parametrize("case", ["no-cookie", "forged", "trap", "error", "not-live", "undecided"])
def test_flows_it_must_leave_alone(runtime: Runtime, case: str):
    admin = Admin(Settings(runtime))
    value = trust.issue(runtime.secret, time.time())
    flow = make_flow(
        None if case == "no-cookie" else f"{trust.COOKIE}={'x.1.y' if case == 'forged' else value}",
        "trap" if case == "trap" else "block",
        make_text_response("trap") if case == "trap" else make_block_response(),
    )
    if case == "error":
        flow.error = tflow.terr()
    if case == "not-live":
        flow.live = False
    if case == "undecided":
        del flow.metadata["fixative.decision"]
    response = flow.response
    admin.request(flow)
    assert flow.response is response
    assert flow.metadata.get("fixative.decision") in (SCRAPER, None)


@pytest.mark.parametrize(
    "value, expected",
    [
        ("127.0.0.1:8081", ("127.0.0.1", 8081)),
        ("none", None),
        ("NONE", None),
        ("[::1]:9000", ("::1", 9000)),
    ],
)
def test_admin_listen_option(value, expected):
    assert parse_admin_listen(value) == expected


@pytest.mark.parametrize("value", ["8081", "localhost", "host:0", "host:70000", ":8081"])
def test_bad_admin_listen_option(value):
    with pytest.raises(ValueError, match="HOST:PORT"):
        parse_admin_listen(value)
