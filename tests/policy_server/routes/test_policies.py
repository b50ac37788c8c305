"""``/v1/evaluate``, ``/v1/bundle`` and ``/v1/policies/reload``."""

from __future__ import annotations

from pathlib import Path

import pytest

from policy_server.app import create_app
from policy_server.engine.compiler import Rule
from policy_server.engine.evaluator import PolicySet

RULE = "policy: p\nrules:\n  - {id: p.rm, tools: Bash, decision: deny, reason: no rm, when: {command: {program: rm}}}\n"


def test_evaluate_returns_the_full_decision(client, dev_token, bearer) -> None:
    body = {
        "event": "PreToolUse",
        "tool": "Bash",
        "tool_input": {"command": "rm -rf /"},
        "cwd": "/p",
    }
    out = client.post("/v1/evaluate", json=body, headers=bearer(dev_token)).get_json()
    assert out["decision"] == "deny" and "fs.rm-root-home" in out["rules"]
    assert out["enforced_decision"] == "deny" and out["revision"]


def test_evaluate_needs_an_event(client, dev_token, bearer) -> None:
    response = client.post("/v1/evaluate", json={"tool": "Bash"}, headers=bearer(dev_token))
    assert response.status_code == 400 and "'event'" in response.get_json()["error"]["message"]


def test_bundle_compiles_to_the_same_decisions_and_honours_etags(client, dev_token, bearer) -> None:
    response = client.get("/v1/bundle", headers=bearer(dev_token))
    bundle = response.get_json()
    etag = response.headers["ETag"]
    assert bundle["format"] == "reins-bundle/1" and etag.strip('"') == bundle["etag"]
    assert bundle["etag"].startswith(bundle["revision"] + ".")
    assert bundle["principal"] == {"user": "dana", "roles": ["developer"]}
    rebuilt = PolicySet(
        [Rule(spec, index=i) for i, spec in enumerate(bundle["rules"])], bundle["default_decision"]
    )
    assert len(rebuilt.rules) >= 50
    again = client.get("/v1/bundle", headers=bearer(dev_token) | {"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""


def test_reload_keeps_the_last_good_set_on_a_broken_change(tmp_path: Path, bearer) -> None:
    from policy_server import store, tokens

    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "p.yaml").write_text(RULE, encoding="utf-8")
    db = tmp_path / "r.db"
    app = create_app({"db": str(db), "policies": str(policies)})
    conn = store.connect(db)
    admin, _ = tokens.create(conn, "root", ["admin"], now_us=1_000_000)
    dev, _ = tokens.create(conn, "dana", ["developer"], now_us=1_000_000)
    client = app.test_client()
    body = {"event": "PreToolUse", "tool": "Bash", "tool_input": {"command": "rm x"}, "cwd": "/p"}
    first = client.post("/v1/evaluate", json=body, headers=bearer(dev)).get_json()
    assert first["decision"] == "deny"
    (policies / "p.yaml").write_text(
        RULE.replace("decision: deny", "decision: nope"), encoding="utf-8"
    )
    result = client.post("/v1/policies/reload", headers=bearer(admin)).get_json()
    assert result["ok"] is False and "p.yaml:3" in result["problems"][0]
    assert (
        client.post("/v1/evaluate", json=body, headers=bearer(dev)).get_json()["decision"] == "deny"
    )
    health = client.get("/healthz", headers=bearer(dev)).get_json()
    assert health["status"] == "degraded" and health["revision"] == first["revision"]
    assert client.get("/healthz").get_json() == {"status": "degraded"}
    (policies / "p.yaml").write_text(
        RULE.replace("decision: deny", "decision: ask"), encoding="utf-8"
    )
    assert client.post("/v1/policies/reload", headers=bearer(admin)).get_json()["ok"] is True
    assert (
        client.post("/v1/evaluate", json=body, headers=bearer(dev)).get_json()["decision"] == "ask"
    )
    assert client.post("/v1/policies/reload", headers=bearer(dev)).status_code == 403
    app.extensions["reins"].committer.close()


def test_server_refuses_to_start_with_broken_policies(tmp_path: Path) -> None:
    from policy_server.live_policies import PolicyStartError

    (tmp_path / "p.yaml").write_text("policy: p\nrules: 3\n", encoding="utf-8")
    with pytest.raises(PolicyStartError, match=r"p\.yaml:2"):
        create_app({"db": str(tmp_path / "r.db"), "policies": str(tmp_path)})


def test_bundle_etag_follows_the_callers_roles(
    client, db, dev_token, bearer, token_factory
) -> None:
    first = client.get("/v1/bundle", headers=bearer(dev_token))
    other = token_factory(db, "dana", "developer", "auditor")
    again = client.get(
        "/v1/bundle", headers=bearer(other) | {"If-None-Match": first.headers["ETag"]}
    )
    assert again.status_code == 200 and again.get_json()["principal"]["roles"] == [
        "developer",
        "auditor",
    ]
    assert again.headers["ETag"] != first.headers["ETag"]
