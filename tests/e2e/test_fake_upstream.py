"""The scripted fake upstreams themselves: the turn logic and error injection the e2e tests rely on.

No CLI here: plain HTTP against the fakes, so a broken fake fails here with a clear message
instead of as a confusing CLI timeout.
"""

from __future__ import annotations

import json

import pytest
import requests

from .fake_upstream import FINAL_PREFIX, FakeAnthropic, FakeResponses

pytestmark = pytest.mark.e2e


def sse_events(text: str) -> list[dict]:
    return [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: ")]


def test_anthropic_fake_asks_for_the_command_then_echoes_the_tool_result():
    with FakeAnthropic("touch /tmp/x") as fake:
        first = {
            "model": "m",
            "tools": [{"name": "Bash"}],
            "messages": [{"role": "user", "content": "go"}],
        }
        events = sse_events(requests.post(fake.url + "/v1/messages?beta=true", json=first).text)
        [call] = [
            e for e in events if e["type"] == "content_block_delta" and "partial_json" in e["delta"]
        ]
        assert json.loads(call["delta"]["partial_json"])["command"] == "touch /tmp/x"
        assert events[-2]["delta"]["stop_reason"] == "tool_use"

        result = {
            "type": "tool_result",
            "tool_use_id": "t1",
            "content": "denied: no",
            "is_error": True,
        }
        second = {**first, "messages": [*first["messages"], {"role": "user", "content": [result]}]}
        events = sse_events(requests.post(fake.url + "/v1/messages", json=second).text)
        texts = [
            e["delta"]["text"] for e in events if e.get("delta", {}).get("type") == "text_delta"
        ]
        assert texts == [FINAL_PREFIX + "denied: no"]
        assert fake.tool_results()[0]["content"] == "denied: no"
        assert requests.head(fake.url + "/").status_code == 200


def test_responses_fake_calls_the_offered_shell_tool_then_echoes_its_output():
    with FakeResponses("touch /tmp/y") as fake:
        first = {
            "model": "gpt-fake",
            "tools": [{"type": "function", "name": "exec_command"}],
            "input": [],
        }
        events = sse_events(requests.post(fake.url + "/v1/responses", json=first).text)
        assert events[-1]["type"] == "response.completed"
        item = events[-1]["response"]["output"][0]
        assert (item["name"], json.loads(item["arguments"])) == (
            "exec_command",
            {"cmd": "touch /tmp/y"},
        )

        output = {"type": "function_call_output", "call_id": "call_fake", "output": "blocked: no"}
        events = sse_events(
            requests.post(fake.url + "/v1/responses", json={**first, "input": [output]}).text
        )
        message = events[-1]["response"]["output"][0]
        assert message["content"][0]["text"] == FINAL_PREFIX + "blocked: no"
        assert fake.tool_outputs() == ["blocked: no"]


@pytest.mark.parametrize("fake_class", [FakeAnthropic, FakeResponses])
def test_fakes_answer_an_injected_rate_limit(fake_class):
    with fake_class("true", error_status=429) as fake:
        path = "/v1/messages" if fake_class is FakeAnthropic else "/v1/responses"
        answer = requests.post(fake.url + path, json={"model": "m"})
        assert answer.status_code == 429
        assert "429" in json.dumps(answer.json())
        assert len(fake.model_requests()) == 1
