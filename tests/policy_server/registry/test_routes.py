"""The registry API on a real `reins serve`: authors define agents; the rules take effect at once;
roles and ownership keep authors away from keys, tokens, settings and other teams' activity."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests

from policy_server import store, tokens

HOOK = {
    "session_id": "sess-1",
    "cwd": "/home/dev/project",
    "hook_event_name": "PreToolUse",
    "tool_name": "Bash",
    "tool_input": {"command": "ls"},
}


def definition(name: str = "helper", owner: str = "alice", **changes: object) -> dict:
    spec = {
        "name": name,
        "harness": "claude-code",
        "owner": owner,
        "description": "Reads code.",
        "tools": {"allow": ["@read"]},
        "working_directory": "/tmp",
        "prompt": "Summarise the repository.",
        "schedule": {"cron": "0 2 * * *", "timezone": "UTC"},
    }
    spec.update(changes)
    return spec


class Api:
    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url, token

    def __call__(
        self, method: str, path: str, headers: dict | None = None, **kw
    ) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token}", **(headers or {})}
        return requests.request(method, self.url + path, headers=headers, timeout=10, **kw)


@pytest.fixture
def live(server_factory, token_factory, tmp_path: Path):
    db = tmp_path / "reins.db"
    server = server_factory(db)

    def as_(user: str, *roles: str) -> Api:
        return Api(server.url, token_factory(db, user, *roles))

    as_.db = db
    as_.url = server.url
    return as_


def test_an_author_creates_lists_shows_and_edits_an_agent(live) -> None:
    alice = live("alice", "author")
    created = alice("POST", "/v1/agents", json=definition())
    assert created.status_code == 201, created.text
    assert created.json()["version"] == 1 and created.json()["next_run_us"] > 0
    names = {a["name"]: a for a in alice("GET", "/v1/agents").json()["agents"]}
    assert names["helper"]["source"] == "store" and names["helper"]["owner"] == "alice"
    assert names["nightly-audit"]["source"].endswith("policies/agents/nightly-audit.yaml")
    shown = alice("GET", "/v1/agents/helper").json()
    assert shown["definition"]["prompt"] == "Summarise the repository."
    assert shown["recent_runs"] == [] and shown["revisions"][0]["updated_by"] == "alice"
    edited = alice(
        "PUT", "/v1/agents/helper", json=definition(description="v2"), headers={"If-Match": "1"}
    )
    assert edited.status_code == 200 and edited.json()["version"] == 2
    stale = alice("PUT", "/v1/agents/helper", json=definition(), headers={"If-Match": "1"})
    assert stale.status_code == 409 and "fetch it again" in stale.json()["error"]["message"]
    disabled = alice("POST", "/v1/agents/helper/disable")
    assert (
        disabled.json()["definition"]["enabled"] is False and "next_run_us" not in disabled.json()
    )


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"schedule": {"cron": "0 2 * *"}}, "schedule/cron: '0 2 * *' is not a five-field cron"),
        ({"harness": "aider"}, "harness: 'aider' is not one of"),
        ({"tools": {"allow": ["Raed"]}}, "tools/allow/0: unknown tool 'Raed'"),
        ({"prompt": "p" * 20_001}, "prompt: 20001 characters, over the limit"),
        ({"working_directory": "/no/such/dir"}, "working_directory: /no/such/dir does not exist"),
    ],
)
def test_bad_definitions_are_refused_with_the_reason(live, changes, words) -> None:
    answer = live("alice", "author")("POST", "/v1/agents", json=definition(**changes))
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "invalid_agent" and words in error["message"], error


def test_conflicts_with_files_and_owners_are_explained(live) -> None:
    alice, bob, admin = live("alice", "author"), live("bob", "author"), live("root", "admin")
    file_agent = alice("POST", "/v1/agents", json=definition("nightly-audit"))
    assert file_agent.status_code == 409 and "pull request" in file_agent.json()["error"]["message"]
    assert alice("POST", "/v1/agents", json=definition(owner="bob")).status_code == 403
    assert alice("POST", "/v1/agents", json=definition()).status_code == 201
    assert alice("POST", "/v1/agents", json=definition()).status_code == 409
    taken = bob("PUT", "/v1/agents/helper", json=definition(owner="bob"))
    assert taken.status_code == 403 and "belongs to alice" in taken.json()["error"]["message"]
    assert bob("POST", "/v1/agents/helper/disable").status_code == 403
    assert admin("POST", "/v1/agents/helper/disable").status_code == 200
    assert live("dev", "developer")("POST", "/v1/agents", json=definition("x")).status_code == 403


def test_a_new_agents_allowlist_is_enforced_on_hooks_at_once(live) -> None:
    alice, dev = live("alice", "author"), live("dev", "developer")
    assert (
        dev("POST", "/v1/hooks/claude-code", json=HOOK, headers={"X-Reins-Agent": "helper"}).json()
        == {}
    )
    assert alice("POST", "/v1/agents", json=definition()).status_code == 201
    answer = dev("POST", "/v1/hooks/claude-code", json=HOOK, headers={"X-Reins-Agent": "helper"})
    output = answer.json()["hookSpecificOutput"]
    assert output["permissionDecision"] == "deny"
    assert "agent.helper.tools-allow" in output["permissionDecisionReason"]
    # Another agent doing the same is not affected.
    assert (
        dev("POST", "/v1/hooks/claude-code", json=HOOK, headers={"X-Reins-Agent": "other"}).json()
        == {}
    )


def test_activity_is_for_the_owner_admins_and_auditors_only(live) -> None:
    alice, bob = live("alice", "author"), live("bob", "author")
    alice("POST", "/v1/agents", json=definition())
    live("dev", "developer")(
        "POST", "/v1/hooks/claude-code", json=HOOK, headers={"X-Reins-Agent": "helper"}
    )
    mine = alice("GET", "/v1/agents/helper/activity", params={"since": "today"})
    assert mine.status_code == 200
    assert mine.json()["denials"][0]["tool"] == "Bash"
    assert mine.json()["sessions"][0]["session_id"] == "sess-1"
    for path in ("/v1/agents/helper/activity", "/v1/agents/helper/runs"):
        refused = bob("GET", path)
        assert refused.status_code == 403 and "owner (alice)" in refused.json()["error"]["message"]
    other = bob("GET", "/v1/agents/helper").json()
    assert "recent_denials" not in other and "recent_runs" not in other  # definition only
    assert bob("GET", "/v1/runs").json() == {"runs": []}
    assert live("audit", "auditor")("GET", "/v1/agents/helper/activity").status_code == 200
    bad = alice("GET", "/v1/agents/helper/activity", params={"since": "last tuesday"})
    assert bad.status_code == 400 and "cannot read 'last tuesday'" in bad.json()["error"]["message"]


def _protected_paths(db: Path) -> list[tuple[str, str]]:
    """Every endpoint of the app (read from its URL map) outside the registry."""
    from policy_server.app import create_app

    app = create_app({"db": str(db), "policies": None})
    out = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(("/v1/agents", "/v1/runs", "/static")):
            continue
        path = rule.rule.replace("<harness>", "claude-code").replace("<session_id>", "s")
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            out.append((method, path))
    return out


def test_an_author_token_reaches_nothing_but_the_registry(live) -> None:
    """No audit (of any team), no token minting, no policy reload, no settings, no keys."""
    alice = live("alice", "author")
    alice("POST", "/v1/agents", json=definition())
    open_paths = {
        "/healthz",
        "/metrics",
        "/install.sh",
        "/v1/install/reins-installer.pyz",
        "/v1/install/reins_hook.py",
    }
    checked = 0
    for method, path in _protected_paths(live.db.parent / "urlmap.db"):
        if path in open_paths:
            continue
        answer = alice(method, path, json={})
        assert answer.status_code in (403, 404, 405), (method, path, answer.status_code)
        checked += 1
    assert checked >= 6
    assert alice("POST", "/v1/tokens", json={"user": "x", "roles": ["admin"]}).status_code == 404
    for path in ("/v1/agents", "/v1/agents/helper", "/v1/agents/nightly-audit"):
        text = alice("GET", path).text
        assert "reins_" not in text.replace("reins_hook", "") and "sk-" not in text


def test_a_run_token_acts_only_as_its_agent_and_run(live) -> None:
    conn = store.connect(live.db)
    token, _ = tokens.create(
        conn,
        "run:helper",
        ["developer"],
        now_us=time.time_ns() // 1000,
        expires_us=time.time_ns() // 1000 + 60_000_000,
        agent="helper",
        run_id="run_1",
    )
    conn.close()
    run = Api(live.url, token)
    own = {"X-Reins-Agent": "helper", "X-Reins-Run": "run_1"}
    assert run("POST", "/v1/hooks/claude-code", json=HOOK, headers=own).status_code == 200
    for headers in ({"X-Reins-Agent": "nightly-audit", "X-Reins-Run": "run_1"}, {}):
        refused = run("POST", "/v1/hooks/claude-code", json=HOOK, headers=headers)
        assert (
            refused.status_code == 403
            and "belongs to run run_1" in refused.json()["error"]["message"]
        )
    assert run("GET", "/v1/audit", headers=own).status_code == 403
    assert run("GET", "/v1/agents", headers=own).status_code == 403
    assert run("POST", "/v1/agents", json=definition("x"), headers=own).status_code == 403
