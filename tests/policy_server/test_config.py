from __future__ import annotations

from pathlib import Path

import pytest

from policy_server import config


def test_defaults_without_any_file_or_environment() -> None:
    values = config.load({}, environ={})
    assert values == {
        "config": None,
        "db": "var/reins.db",
        "policies": None,
        "host": "127.0.0.1",
        "port": 8700,
        "workers": None,
        "fail_mode": "auto",
        "log_level": "info",
        "public_url": None,
    }


def test_flag_beats_environment_beats_file(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("port: 9000\ndb: file.db\npolicies: from-file\n", encoding="utf-8")
    values = config.load({"config": str(cfg), "port": 9100}, environ={"REINS_DB": "env.db"})
    assert (values["port"], values["db"], values["policies"]) == (9100, "env.db", "from-file")


@pytest.mark.parametrize(
    ("flags", "environ", "fragment"),
    [
        ({"port": "eighty"}, {}, "Config 'port' has value 'eighty' (from --port)"),
        ({}, {"REINS_PORT": "70000"}, "not between 0 and 65535"),
    ],
)
def test_bad_values_name_setting_value_origin_and_fix(
    flags: dict, environ: dict, fragment: str
) -> None:
    with pytest.raises(config.ConfigError, match="Fix:") as info:
        config.load(flags, environ=environ)
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("prot: 1\n", "unknown setting 'prot'. Did you mean 'port'?"),
        ("- a\n", "must be a mapping"),
        ("port: [\n", "not valid YAML"),
    ],
)
def test_bad_files(tmp_path: Path, text: str, fragment: str) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(text, encoding="utf-8")
    with pytest.raises(config.ConfigError) as info:
        config.load({"config": str(cfg)}, environ={})
    assert fragment in str(info.value)


def test_missing_file() -> None:
    with pytest.raises(config.ConfigError, match="not found"):
        config.load({"config": "/nonexistent/reins.yaml"}, environ={})


def test_sections_of_other_packages_are_left_to_them(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("gateway:\n  port: 8787\n", encoding="utf-8")
    assert config.load({"config": str(cfg)}, environ={})["port"] == 8700
