"""The README is part of the product: it must start with the two commands and cover the CLI,
the policy language (generated from the schema) and every rule of the default pack."""

from __future__ import annotations

import argparse
from pathlib import Path

from policy_server import schema_docs
from policy_server.loader import BUNDLED_POLICIES, load
from reins.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def commands(parser: argparse.ArgumentParser, prefix: str = "reins") -> list[str]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.append(f"{prefix} {name}")
                found.extend(commands(sub, f"{prefix} {name}"))
    return found


def test_readme_starts_with_the_two_commands() -> None:
    head = README[: README.index("\n## ", 1)]
    assert "make run" in head and "make test" in head


def test_every_cli_command_is_documented() -> None:
    missing = [c for c in commands(build_parser()) if f"`{c}" not in README]
    assert not missing, f"document these commands in README.md: {missing}"


def test_policy_language_reference_matches_the_schema() -> None:
    assert schema_docs.render() in schema_docs.REFERENCE.read_text(encoding="utf-8"), (
        "regenerate with: .venv/bin/python -m policy_server.schema_docs --write"
    )


def test_every_default_rule_is_listed() -> None:
    missing = [r.id for r in load(BUNDLED_POLICIES).policies.rules if f"`{r.id}`" not in README]
    assert not missing, f"list these rules in the README's default-pack table: {missing}"


def test_ci_workflow_for_policy_repositories_is_shown() -> None:
    assert "reins policy lint" in README and "reins policy test --junit" in README
    assert "on:\n  pull_request:" in README
