"""One implementation of the policy semantics: over the whole default-pack test corpus, what a
real ``reins serve`` decides (online) and what the hook decides from its cached bundle with its
engine copy (offline) are identical -- the answer printed, the decision and the rules audited."""

from __future__ import annotations

import json
import shutil

import pytest

from policy_server.engine.adapters import detect_harness
from policy_server.loader import BUNDLED_POLICIES, load_strict
from policy_server.policy_tests import fixture_payload


def corpus() -> list[tuple[str, str, dict, dict[str, str]]]:
    """(case id, harness, payload, environment) for every inline test of the default pack."""
    cases = []
    for rule in load_strict(BUNDLED_POLICIES).policies.rules:
        for number, test in enumerate(rule.tests, 1):
            case = f"{rule.id}#{number}"
            payload = dict(fixture_payload(test), session_id=f"parity-{case}")
            harness = test.get("harness") or detect_harness(payload)
            env = {"REINS_AGENT": test["agent"]} if "agent" in test else {}
            cases.append((case, harness, payload, env))
    return cases


def without_offline_note(answer: dict, hook) -> str:
    text = json.dumps(answer, sort_keys=True)
    note = hook.OFFLINE_NOTE.split("{rev}")[0]
    start = text.find(note)
    return text if start < 0 else text[:start] + text[text.index("]", start) + 1 :]


@pytest.fixture
def pair(live, client_factory, dead_url):
    """An online client, and an offline one holding the bundle the online one fetched."""
    online = client_factory(live.url, live.dev)
    online.run({"hook_event_name": "SessionStart", "session_id": "parity-start", "cwd": "/p"})
    offline = client_factory(dead_url)
    shutil.copy(online.home / "bundle.json", offline.home / "bundle.json")
    return online, offline


def test_online_and_offline_decide_the_whole_corpus_identically(live, pair, hook) -> None:
    online, offline = pair
    cases = corpus()
    assert len(cases) >= 300
    differences, spooled = [], {}
    for case, harness, payload, env in cases:
        up = online.run(payload, harness, **env)
        down = offline.run(payload, harness, **env)
        assert "decided offline" in json.dumps(down.answer) or not _has_reason(down.answer)
        if without_offline_note(up.answer, hook) != without_offline_note(down.answer, hook):
            differences.append((case, up.answer, down.answer))
    assert differences == []
    for path in offline.spool():
        item = json.loads(path.read_text())
        spooled[item["payload"]["session_id"]] = (item["decision"], item["rules"])
    audited = {
        row["session_id"]: (row["decision"], row["rules"])
        for row in live.audit()
        if row["session_id"].startswith("parity-") and row["session_id"] != "parity-start"
    }
    assert len(audited) == len(cases) and audited == spooled
    verdicts = [decision for decision, _ in audited.values()]
    assert verdicts.count("deny") > 100 and verdicts.count("allow") > 50  # not a vacuous corpus


def _has_reason(answer: dict) -> bool:
    return "reason" in json.dumps(answer).lower()


def test_a_sample_through_real_processes(live, pair, hook, python) -> None:
    """The same, as the harness runs it: the installed file, -I -S, on each interpreter."""
    online, offline = pair
    for case, harness, payload, env in corpus()[::25]:
        up = online.spawn(payload, harness, python=python, **env)
        down = offline.spawn(payload, harness, python=python, **env)
        assert up.returncode == down.returncode == 0, case
        assert up.stderr == "", (case, up.stderr)
        assert without_offline_note(up.answer, hook) == without_offline_note(down.answer, hook), (
            case
        )
