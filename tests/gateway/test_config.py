"""Gateway config: defaults, the gateway: section, and errors that name the key and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import GatewayConfigError, load_file, parse

ISSUE_EXAMPLE = """
providers:
  anthropic: {kind: anthropic, base_url: https://api.anthropic.com, api_key_env: ANTHROPIC_API_KEY}
  anthropic-eu: {kind: anthropic, base_url: "https://eu.example.com:8443/", api_key_env: ANTHROPIC_EU_KEY}
  openai:    {kind: openai, base_url: https://api.openai.com/v1, api_key_env: OPENAI_API_KEY}
  local:     {kind: openai-compatible, base_url: http://127.0.0.1:8000/v1}
models:
  claude-sonnet-4-5:
    - {provider: anthropic, model: claude-sonnet-4-5}
    - {provider: anthropic-eu, model: claude-sonnet-4-5}
"""


def test_the_issue_example_loads(tmp_path: Path) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text(ISSUE_EXAMPLE)
    config = load_file(path)
    eu = config.providers["anthropic-eu"]
    assert (eu.scheme, eu.host, eu.port, eu.base_path) == ("https", "eu.example.com", 8443, "")
    assert config.providers["openai"].base_path == "/v1"
    assert config.providers["local"].formats == ("chat",)
    assert config.providers["local"].api_key_env is None
    assert [t.provider for t in config.models["claude-sonnet-4-5"]] == ["anthropic", "anthropic-eu"]


def test_a_gateway_section_of_the_main_config_is_used(tmp_path: Path) -> None:
    path = tmp_path / "reins.yaml"
    indented = "\n".join("  " + line for line in ISSUE_EXAMPLE.splitlines())
    path.write_text(f"port: 8700\ngateway:\n{indented}\n")
    assert "anthropic-eu" in load_file(path).providers


def test_no_file_means_anthropic_and_openai_defaults() -> None:
    config = load_file(None)
    assert config.providers["anthropic"].api_key_env == "ANTHROPIC_API_KEY"
    assert config.providers["openai"].formats == ("responses", "chat")
    assert config.auth_required is True


@pytest.mark.parametrize(
    "data, words",
    [
        (
            {"providers": {"a": {"kind": "antropic", "base_url": "http://x"}}},
            ["providers.a.kind", "anthropic, openai"],
        ),
        (
            {"providers": {"a": {"kind": "anthropic", "base_url": "x.com"}}},
            ["providers.a.base_url", "full URL"],
        ),
        (
            {
                "providers": {
                    "a": {"kind": "anthropic", "base_url": "http://x", "api_key_env": "sk-ant-123"}
                }
            },
            ["api_key_env", "NAME"],
        ),
        (
            {"providers": {"a": {"kind": "anthropic", "base_url": "http://x", "base_ulr": 1}}},
            ["providers.a.base_ulr", "base_url"],
        ),
        (
            {"models": {"m": [{"provider": "anthropc"}]}},
            ["models.m[0].provider", "Did you mean 'anthropic'"],
        ),
        ({"models": {"m": []}}, ["models.m", "non-empty list"]),
        ({"rules": [{"when": {"agnt": "x"}, "use": "m"}]}, ["rules[0].when.agnt", "agent"]),
        ({"rules": [{"when": {"agent": "x"}}]}, ["rules[0].use"]),
        ({"limits": {"max_body_bytes": -1}}, ["limits.max_body_bytes", "at least"]),
        ({"auth": {"required": "no"}}, ["auth.required", "true or false"]),
        ({"provders": {}}, ["provders", "providers"]),
    ],
)
def test_errors_name_the_key_and_the_fix(data: dict, words: list[str]) -> None:
    with pytest.raises(GatewayConfigError) as caught:
        parse(data)
    for word in words:
        assert word in str(caught.value)


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("providers: {a: {kind: nope, base_url: 'http://x'}}\n")
    with pytest.raises(GatewayConfigError, match=r"bad\.yaml: providers\.a\.kind"):
        load_file(path)
    with pytest.raises(GatewayConfigError, match="not found"):
        load_file(tmp_path / "missing.yaml")
