"""One agent definition: validate it and read its settings.

An agent is plain data (the YAML of ``policies/agents/<name>.yaml`` or the JSON an author sends),
checked against ``policies/schema/agent.schema.json`` and then against the rules a schema cannot
express: a cron that parses, a time zone that exists, tools the engine knows, a prompt under the
size limit, a working directory that exists. Every problem names the field and the fix.

This module never touches the store or a process, and never reads a provider key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jsonschema import Draft202012Validator

from ..engine.detectors import find_secrets
from ..engine.events import TOOL_GROUPS
from ..engine.permission_rules import PermissionRule
from ..lint import KNOWN_TOOLS
from ..loader import SCHEMA_DIR, schema_message

MAX_PROMPT_CHARS = 20_000
MAX_MEMORY_CHARS = 20_000
DEFAULT_MAX_RUNTIME_S = 30 * 60
MAX_RUNTIME_CAP_S = 24 * 3600
RESERVED_NAMES = frozenset({"interactive"})
# Scheduled runs get these from Reins itself; an agent must not set or override them.
_RESERVED_ENV = re.compile(
    r"^(REINS_|ANTHROPIC_|OPENAI_|GEMINI_|GOOGLE_|CODEX_|AWS_|AZURE_)|(KEY|TOKEN|SECRET|PASSWORD)$"
)
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MCP_SERVER = re.compile(r"^[A-Za-z0-9_.-]+$")
_UNITS = {"s": 1, "m": 60, "h": 3600}


@dataclass(frozen=True)
class AgentProblem:
    """One thing wrong with a definition: the field (``schedule/cron``) and what to do."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class AgentError(ValueError):
    """A definition that cannot be stored; ``problems`` lists every reason."""

    def __init__(self, problems: list[AgentProblem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class Agent:
    """A valid definition plus where it came from (a file, or the store at some version)."""

    spec: Mapping[str, Any]
    source: str = "store"
    version: int = 0
    updated_us: int = 0
    updated_by: str = ""

    @property
    def name(self) -> str:
        return str(self.spec["name"])

    @property
    def harness(self) -> str:
        return str(self.spec["harness"])

    @property
    def owner(self) -> str:
        return str(self.spec["owner"])

    @property
    def enabled(self) -> bool:
        return bool(self.spec.get("enabled", True))

    @property
    def from_file(self) -> bool:
        return self.source != "store"

    @property
    def schedule(self) -> dict[str, Any] | None:
        schedule = self.spec.get("schedule")
        if not schedule:
            return None
        return {
            "cron": schedule["cron"],
            "timezone": schedule.get("timezone", "UTC"),
            "catch_up": schedule.get("catch_up", "skip"),
            "overlap": schedule.get("overlap", "skip"),
        }

    @property
    def fail_mode(self) -> str:
        return str(self.spec.get("fail_mode", "closed"))

    @property
    def max_runtime_s(self) -> int:
        text = self.spec.get("max_runtime")
        return runtime_seconds(text) if text else DEFAULT_MAX_RUNTIME_S

    @property
    def memory(self) -> str:
        memory = self.spec.get("memory") or []
        return "\n".join(memory) if isinstance(memory, list) else str(memory)

    def to_dict(self) -> dict[str, Any]:
        return {
            "definition": dict(self.spec),
            "source": self.source,
            "version": self.version,
            "updated_us": self.updated_us,
            "updated_by": self.updated_by,
            "editable": not self.from_file,
        }


def runtime_seconds(text: str) -> int:
    return int(text[:-1]) * _UNITS[text[-1]]


@cache
def _validator() -> Draft202012Validator:
    schema = json.loads((SCHEMA_DIR / "agent.schema.json").read_text(encoding="utf-8"))
    return Draft202012Validator(schema)


def problems(doc: Any, *, check_paths: bool = True) -> list[AgentProblem]:
    """Every problem of a definition; an empty list means it is valid.

    ``check_paths`` looks at the local file system (working directory, local repository); a
    policy repository linted in CI on another machine may turn it off."""
    if not isinstance(doc, dict):
        return [AgentProblem("", f"an agent is a mapping of fields, got {type(doc).__name__}")]
    found = [
        AgentProblem("/".join(str(p) for p in e.absolute_path), schema_message(e))
        for e in sorted(_validator().iter_errors(doc), key=lambda e: list(e.absolute_path))
    ]
    if found:
        return found
    found.extend(_name_and_prompt(doc))
    found.extend(_schedule_problems(doc.get("schedule")))
    for key in ("tools", "mcp_servers"):
        for kind in ("allow", "deny"):
            for i, entry in enumerate((doc.get(key) or {}).get(kind) or []):
                message = (_tool_problem if key == "tools" else _server_problem)(entry)
                if message:
                    found.append(AgentProblem(f"{key}/{kind}/{i}", message))
    found.extend(_environment_problems(doc.get("environment") or {}))
    found.extend(place_problems(doc, check_paths))
    if doc.get("max_runtime") and runtime_seconds(doc["max_runtime"]) > MAX_RUNTIME_CAP_S:
        found.append(AgentProblem("max_runtime", "at most 24h; split longer work into runs"))
    return found


def validate(doc: Any, *, check_paths: bool = True) -> dict[str, Any]:
    """``doc`` if it is a valid definition, else :class:`AgentError` with every problem."""
    found = problems(doc, check_paths=check_paths)
    if found:
        raise AgentError(found)
    return doc


def _name_and_prompt(doc: dict[str, Any]) -> list[AgentProblem]:
    found = []
    if doc["name"] in RESERVED_NAMES:
        found.append(AgentProblem("name", f"{doc['name']!r} is reserved; choose another name"))
    prompt = doc.get("prompt", "")
    if len(prompt) > MAX_PROMPT_CHARS:
        found.append(
            AgentProblem(
                "prompt",
                f"{len(prompt)} characters, over the limit of {MAX_PROMPT_CHARS}; put long "
                "instructions in a file of the repository and point the prompt at it",
            )
        )
    memory = doc.get("memory") or ""
    if len("\n".join(memory) if isinstance(memory, list) else memory) > MAX_MEMORY_CHARS:
        found.append(AgentProblem("memory", f"over the limit of {MAX_MEMORY_CHARS} characters"))
    if doc.get("schedule") and not prompt:
        found.append(AgentProblem("prompt", "a scheduled agent needs a prompt (its task)"))
    return found


def _schedule_problems(schedule: dict[str, Any] | None) -> list[AgentProblem]:
    if not schedule:
        return []
    found = []
    cron = schedule["cron"]
    from croniter import croniter  # only agents with a schedule pay for it

    if len(cron.split()) != 5 or not croniter.is_valid(cron):
        found.append(
            AgentProblem(
                "schedule/cron",
                f"{cron!r} is not a five-field cron expression (minute hour day month weekday); "
                "e.g. '0 2 * * *' is every day at 2 AM",
            )
        )
    zone = schedule.get("timezone", "UTC")
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        found.append(
            AgentProblem(
                "schedule/timezone",
                f"unknown time zone {zone!r}; use an IANA name like Europe/Paris",
            )
        )
    return found


def _tool_problem(entry: str) -> str:
    if entry.startswith("@"):
        if entry in TOOL_GROUPS:
            return ""
        return f"unknown tool group {entry!r}; groups: {', '.join(TOOL_GROUPS)}"
    try:
        rule = PermissionRule(entry)
    except ValueError as exc:
        return str(exc)
    if rule.tool.startswith("mcp__") or rule.tool in KNOWN_TOOLS:
        return ""
    return (
        f"unknown tool {rule.tool!r}; use one of {', '.join(sorted(KNOWN_TOOLS))}, a group "
        f"({', '.join(TOOL_GROUPS)}), mcp__server__tool, or a rule like Bash(git status:*)"
    )


def _server_problem(entry: str) -> str:
    if _MCP_SERVER.match(entry):
        return ""
    return f"{entry!r} is not an MCP server name (letters, digits, _ . -)"


def _environment_problems(environment: dict[str, str]) -> list[AgentProblem]:
    found = []
    for name, value in environment.items():
        where = f"environment/{name}"
        if not _ENV_NAME.match(name):
            found.append(AgentProblem(where, "not a valid environment variable name"))
        elif _RESERVED_ENV.search(name):
            found.append(
                AgentProblem(
                    where,
                    "provider keys, tokens, secrets and REINS_* variables are set by Reins, "
                    "never by an agent definition; ask an admin to configure the gateway",
                )
            )
        elif find_secrets(value):
            found.append(AgentProblem(where, "the value looks like a secret; remove it"))
    return found


def place_problems(doc: dict[str, Any], check_paths: bool) -> list[AgentProblem]:
    """Where a run starts: a repository (URL or existing path) with a relative directory in it,
    or an existing absolute directory. ``check_paths=False`` skips the file-system checks."""
    repository, workdir = doc.get("repository"), doc.get("working_directory")
    if doc.get("schedule") and not (repository or workdir):
        return [
            AgentProblem(
                "working_directory",
                "a scheduled agent needs a repository or a working directory to run in",
            )
        ]
    if repository:
        if workdir and (Path(workdir).is_absolute() or ".." in Path(workdir).parts):
            return [
                AgentProblem(
                    "working_directory",
                    "with a repository, give a relative directory inside it (no '..')",
                )
            ]
        local = "://" not in repository and not re.match(r"^[\w.-]+@[\w.-]+:", repository)
        if check_paths and local and not Path(repository).is_dir():
            return [
                AgentProblem(
                    "repository", f"{repository} is neither a git URL nor an existing directory"
                )
            ]
        return []
    if workdir and not Path(workdir).is_absolute():
        return [AgentProblem("working_directory", "must be an absolute path (or set repository)")]
    if workdir and check_paths and not Path(workdir).is_dir():
        return [
            AgentProblem(
                "working_directory",
                f"{workdir} does not exist on this machine; create it or fix the path",
            )
        ]
    return []
