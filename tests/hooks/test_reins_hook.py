"""The hook client's pure helpers: JSON without ``json``, URLs, HTTP responses, config, shapes."""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

import pytest

HOOK = Path(__file__).resolve().parents[2] / "hooks" / "reins_hook.py"


@pytest.mark.parametrize(
    "text",
    ['{"a": [1, 2.5, "x\\u00e9", null, true]}', "  [1]\n", '"s"', "0", '{"deep": {"er": {}}}'],
)
def test_parse_json_agrees_with_the_json_module(hook, text: str) -> None:
    assert hook.parse_json(text) == json.loads(text)
    assert hook.parse_json(text.encode()) == json.loads(text)


@pytest.mark.parametrize(
    "text",
    ["", "<html>oops</html>", '{"a": 1} x', '{"a": ', "NaN", '{"a": Infinity}', "[" * 100000],
)
def test_parse_json_refuses_what_is_not_one_json_document(hook, text: str) -> None:
    with pytest.raises(ValueError):
        hook.parse_json(text)


@pytest.mark.parametrize(
    ("url", "parts"),
    [
        ("http://127.0.0.1:8700", ("http", "127.0.0.1", 8700, "")),
        ("https://reins.example.com/", ("https", "reins.example.com", 443, "")),
        ("http://h/t/acme/", ("http", "h", 80, "/t/acme")),
        ("http://[::1]:9000/p", ("http", "::1", 9000, "/p")),
    ],
)
def test_split_url(hook, url: str, parts: tuple) -> None:
    assert hook.split_url(url) == parts


@pytest.mark.parametrize("url", ["", "127.0.0.1:8700", "ftp://h", "http://:80", "http://h:99999"])
def test_split_url_rejects_what_it_cannot_reach(hook, url: str) -> None:
    with pytest.raises(ValueError):
        hook.split_url(url)


def test_parse_response_with_length_and_chunks(hook) -> None:
    plain = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-A: b\r\n\r\n{}"
    assert hook.parse_response(plain) == (200, {"content-length": "2", "x-a": "b"}, b"{}")
    chunked = (
        b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{"a\r\n4\r\n":1}\r\n0\r\n\r\n'
    )
    assert hook.parse_response(chunked)[2] == b'{"a":1}'
    assert hook._complete(chunked) and not hook._complete(chunked[:-5])
    assert hook._complete(plain) and not hook._complete(plain[:-1])


@pytest.mark.parametrize(
    "raw",
    [b"", b"garbage", b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}", b"SSH-2.0-x\r\n\r\n"],
)
def test_parse_response_rejects_malformed_answers(hook, raw: bytes) -> None:
    with pytest.raises(ValueError):
        hook.parse_response(raw)


def test_config_defaults_and_env_overrides(hook, tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(
        json.dumps({"server": "http://a:1/", "timeout": 1, "fail_mode": "closed", "extra": 1})
    )
    config, problems = hook.load_config(str(tmp_path), {"REINS_TOKEN": " t "})
    assert problems == []
    assert config["server"] == "http://a:1" and config["timeout"] == 1.0
    assert config["fail_mode"] == "closed" and config["token"] == "t"
    assert config["bundle_max_age"] == 3600.0 and config["spool_max_events"] == 10000
    config, _ = hook.load_config(str(tmp_path), {"REINS_SERVER": "http://b:2"})
    assert config["server"] == "http://b:2"


@pytest.mark.parametrize(
    ("bad", "key"),
    [
        ({"timeout": "3"}, "timeout"),
        ({"timeout": -1}, "timeout"),
        ({"fail_mode": "sideways"}, "fail_mode"),
        ({"spool_max_events": 1.5}, "spool_max_events"),
        ({"server": 8700}, "server"),
        ({"bundle_max_age": True}, "bundle_max_age"),
    ],
)
def test_bad_config_values_are_named_and_replaced_by_defaults(hook, tmp_path, bad, key) -> None:
    (tmp_path / "config.json").write_text(json.dumps(bad))
    config, problems = hook.load_config(str(tmp_path), {})
    assert config[key] == hook.DEFAULTS[key]
    assert len(problems) == 1 and key in problems[0] and "invalid" in problems[0]


@pytest.mark.parametrize("content", ["[1]", "{not json", "\xff"])
def test_unreadable_config_is_reported_not_raised(hook, tmp_path, content) -> None:
    (tmp_path / "config.json").write_bytes(content.encode("latin-1"))
    config, problems = hook.load_config(str(tmp_path), {})
    assert config["server"] == "" and "reins install" in problems[0]


def test_fail_mode_defaults_to_closed_only_for_scheduled_runs(hook) -> None:
    assert hook.fail_mode({"fail_mode": ""}, {}) == "open"
    assert hook.fail_mode({"fail_mode": ""}, {"REINS_RUN": "run-1"}) == "closed"
    assert hook.fail_mode({"fail_mode": "open"}, {"REINS_RUN": "run-1"}) == "open"
    assert hook.fail_mode({"fail_mode": "closed"}, {}) == "closed"


def test_context_headers_cannot_be_injected(hook) -> None:
    config = {"agent": "nightly"}
    context = hook.event_context(config, {"REINS_RUN": "r1\r\nX-Evil: 1", "HOME": "/home/dév"})
    assert context["agent"] == "nightly" and context["run_id"] == "r1??X-Evil: 1"
    assert context["home"] == "/home/d?v" and context["host"]
    assert hook.event_context(config, {"REINS_AGENT": "ci"})["agent"] == "ci"


@pytest.mark.parametrize(
    ("harness", "event", "shape"),
    [
        ("claude-code", "PreToolUse", "hookSpecificOutput"),
        ("codex", "PreToolUse", "hookSpecificOutput"),
        ("claude-code", "UserPromptSubmit", "decision"),
        ("gemini", "BeforeTool", "decision"),
        ("gemini", "", "decision"),
        ("codex", "", "decision"),
    ],
)
def test_fallback_answers_block_in_a_shape_the_harness_accepts(hook, harness, event, shape) -> None:
    answer = hook.fallback_answer(harness, event, "deny", "why")
    assert shape in answer and "why" in json.dumps(answer)
    assert hook.fallback_answer(harness, event, "allow", "why") == {}
    assert hook.fallback_answer(harness, "SessionEnd", "deny", "why") == {}


def test_the_online_path_imports_only_builtins() -> None:
    """``json``, ``socket``, ``urllib`` and ``http`` cost 8-50 ms of start-up; none at top level."""
    tree = ast.parse(HOOK.read_text(encoding="utf-8"))
    top = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            top.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            top.add(node.module or "")
        elif isinstance(node, ast.Try):
            top.update(n.module for n in ast.walk(node) if isinstance(n, ast.ImportFrom))
    assert top <= {"__future__", "os", "sys", "time", "_json"}, top
    assert all(m in sys.stdlib_module_names or m == "__future__" for m in top)
