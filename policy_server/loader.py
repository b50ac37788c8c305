"""Load a policy directory: read YAML, validate against the schema, compile, lint.

Everything that can be wrong with a policy file becomes a :class:`Problem` naming the file,
the line, the rule and the fix. Loading never raises for bad policy content; callers decide
whether errors are fatal (``reins policy eval`` refuses to decide with a broken pack, the
server keeps its last good pack).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from .engine.compiler import Rule
from .engine.conditions import RuleError
from .engine.evaluator import PolicySet
from .yaml_source import SourceMap, YamlError, parse

BUNDLED_POLICIES = Path(__file__).resolve().parent.parent / "policies"
SCHEMA_DIR = BUNDLED_POLICIES / "schema"
PACK_FILE = "pack.yaml"
# Folders of a policy directory that hold no rules.
SKIP_DIRS = frozenset({"schema", "agents", "tests"})


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    message: str
    rule: str = ""
    level: str = "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        rule = f" [{self.rule}]" if self.rule else ""
        return f"{where}: {self.level}{rule}: {self.message}"


@dataclass
class Pack:
    """A loaded policy directory: the compiled set plus everything wrong with it."""

    directory: Path
    policies: PolicySet
    problems: list[Problem] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    maps: dict[str, SourceMap] = field(default_factory=dict)
    agents: list[Any] = field(default_factory=list)  # registry.agent.Agent, files and store

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.level == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.level == "warning"]


class PolicyLoadError(Exception):
    """Raised by :func:`load_strict` when a pack has errors; ``problems`` says which."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


@cache
def _validator(name: str) -> Draft202012Validator:
    schema = json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8"))
    return Draft202012Validator(schema)


def policy_files(directory: Path) -> Iterator[Path]:
    """Every rule file under ``directory`` in a stable order (pack.yaml and SKIP_DIRS excluded)."""
    for path in sorted(directory.rglob("*")):
        if path.suffix not in (".yaml", ".yml") or not path.is_file():
            continue
        rel = path.relative_to(directory)
        if rel.parts[0] in SKIP_DIRS or any(p.startswith(".") for p in rel.parts):
            continue
        if rel == Path(PACK_FILE):
            continue
        yield path


def load(directory: str | Path, store_agents: Sequence[Any] = ()) -> Pack:
    """Load and compile every policy file and agent; problems are collected, never raised.

    ``store_agents`` are agents defined through the API (``registry.catalog``); their tool and
    MCP lists become rules next to those of ``agents/*.yaml``."""
    from .registry.definitions import compile_agents  # the registry builds on this module

    directory = Path(directory)
    problems: list[Problem] = []
    if not directory.is_dir():
        problems.append(
            Problem(
                str(directory),
                0,
                "policy directory not found; pass --policies DIR or set REINS_POLICIES",
            )
        )
        return Pack(directory, PolicySet(()), problems)
    settings = _load_settings(directory, problems)
    rules: list[Rule] = []
    maps: dict[str, SourceMap] = {}
    digest = hashlib.sha256()
    files = list(policy_files(directory))
    for path in files:
        display = _display(path)
        raw = path.read_bytes()
        digest.update(str(path.relative_to(directory)).encode() + b"\0" + raw + b"\0")
        doc, source = _parse_file(display, raw, "policy.schema.json", problems)
        if doc is None:
            continue
        maps[display] = source
        rules.extend(_compile_rules(doc, display, source, len(rules), problems))
    agents, agent_rules = compile_agents(directory, store_agents, len(rules), problems, digest)
    rules.extend(agent_rules)
    policies = PolicySet(
        rules,
        default_decision=settings.get("default_decision", "allow"),
        revision="sha256:" + digest.hexdigest()[:16],
    )
    return Pack(directory, policies, problems, files, maps, agents)


def load_strict(directory: str | Path) -> Pack:
    pack = load(directory)
    if pack.errors:
        raise PolicyLoadError(pack.errors)
    return pack


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _load_settings(directory: Path, problems: list[Problem]) -> dict[str, Any]:
    path = directory / PACK_FILE
    if not path.is_file():
        return {}
    doc, _ = _parse_file(_display(path), path.read_bytes(), "pack.schema.json", problems)
    return doc or {}


def _parse_file(
    display: str, raw: bytes, schema: str, problems: list[Problem]
) -> tuple[dict[str, Any] | None, SourceMap]:
    try:
        doc, source = parse(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        problems.append(
            Problem(display, 0, f"not UTF-8 text ({exc.reason}); save the file as UTF-8")
        )
        return None, SourceMap(None)
    except YamlError as exc:
        problems.append(Problem(display, exc.line, f"{exc}; fix the indentation or quoting"))
        return None, SourceMap(None)
    for line, key in source.duplicate_keys():
        problems.append(Problem(display, line, f"duplicate key {key!r}; keep one of them"))
    errors = sorted(_validator(schema).iter_errors(doc), key=lambda e: list(e.absolute_path))
    for error in errors:
        path = list(error.absolute_path)
        problems.append(
            Problem(display, source.line(path), schema_message(error), _rule_id(doc, path))
        )
    return (doc if not errors and isinstance(doc, dict) else None), source


def schema_message(error: ValidationError) -> str:
    """jsonschema's messages, turned into a sentence that says what to change."""
    where = "/".join(str(p) for p in error.absolute_path) or "the file"
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        return f"{error.message} at {where}; allowed keys: {', '.join(allowed)}"
    if error.validator == "required":
        return f"{error.message} at {where}; add it"
    if error.validator == "enum":
        return f"{where}: {error.instance!r} is not one of {error.validator_value}"
    if error.validator == "oneOf":
        return f"{where}: {error.instance!r} has the wrong shape; expected a string or a list of strings{_yaml_hint(error.instance)}"
    if error.validator == "type":
        return f"{where}: {error.message}{_yaml_hint(error.instance)}"
    return f"{where}: {error.message}"


def _yaml_hint(value: Any) -> str:
    """YAML 1.1 reads bare ``~``, ``yes``, ``no``, ``on``, ``off`` as null or booleans."""
    items = value if isinstance(value, list) else [value]
    if any(v is None or isinstance(v, bool) for v in items):
        return " (YAML reads a bare ~, null, yes, no, on or off as a non-string: quote it, e.g. '~' or 'yes')"
    return ""


def _rule_id(doc: Any, path: list[Any]) -> str:
    if len(path) >= 2 and path[0] == "rules" and isinstance(doc, dict):
        rules = doc.get("rules")
        if isinstance(rules, list) and isinstance(path[1], int) and path[1] < len(rules):
            rule = rules[path[1]]
            if isinstance(rule, dict):
                return str(rule.get("id", ""))
    return ""


def _compile_rules(
    doc: dict[str, Any], display: str, source: SourceMap, start: int, problems: list[Problem]
) -> list[Rule]:
    rules = []
    for i, spec in enumerate(doc.get("rules") or []):
        try:
            rule = Rule(spec, policy=doc["policy"], source=display, index=start + len(rules))
        except RuleError as exc:
            line = source.line(["rules", i, *exc.path])
            problems.append(Problem(display, line, str(exc), spec.get("id", "")))
            continue
        rule.line = source.line(["rules", i])
        rules.append(rule)
    return rules
