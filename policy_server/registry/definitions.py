"""Agent definitions as part of a policy pack: ``policies/agents/<name>.yaml`` plus store agents.

``compile_agents`` is what the loader calls: it reads the agent files of a policy directory,
validates each (problems carry file:line like every other policy problem), adds the agents
defined through the API, and returns the rules that enforce their tool and MCP lists.

Never writes anything; the store agents are passed in by the caller.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..engine.compiler import Rule
from ..engine.conditions import RuleError
from ..loader import Problem, _display
from ..yaml_source import YamlError, parse
from .agent import Agent, place_problems, problems
from .rules import rule_specs

AGENTS_DIR = "agents"


def agent_files(directory: Path) -> list[Path]:
    folder = Path(directory) / AGENTS_DIR
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())


def read_agent_files(
    directory: Path, problem_list: list[Problem], *, check_paths: bool = True
) -> list[Agent]:
    """The valid agents of ``directory/agents``; everything wrong goes to ``problem_list``."""
    agents: list[Agent] = []
    seen: dict[str, str] = {}
    for path in agent_files(directory):
        display = _display(path)
        try:
            doc, source = parse(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, YamlError) as exc:
            line = getattr(exc, "line", 0)
            problem_list.append(Problem(display, line, f"{exc}; fix the YAML"))
            continue
        found = problems(doc, check_paths=check_paths)
        for problem in found:
            path_parts = [int(p) if p.isdigit() else p for p in problem.field.split("/") if p]
            problem_list.append(Problem(display, source.line(path_parts), f"agent {problem}", ""))
        if found:
            continue
        if doc["name"] != path.stem:
            problem_list.append(
                Problem(
                    display,
                    source.line(["name"]),
                    f"name {doc['name']!r} must match the file name {path.stem!r}",
                )
            )
            continue
        if doc["name"] in seen:
            problem_list.append(
                Problem(display, 0, f"agent {doc['name']!r} is also defined in {seen[doc['name']]}")
            )
            continue
        seen[doc["name"]] = display
        agents.append(Agent(doc, source=display))
    return agents


def compile_agents(
    directory: Path,
    store_agents: Iterable[Agent],
    start: int,
    problem_list: list[Problem],
    digest: Any,
) -> tuple[list[Agent], list[Rule]]:
    """Every agent of the pack (files first; a store agent of the same name is ignored with a
    warning) and the rules that enforce their lists, indexed from ``start``."""
    agents = read_agent_files(directory, problem_list, check_paths=False)
    names = {a.name for a in agents}
    for path in agent_files(directory):
        digest.update(str(path.relative_to(directory)).encode() + b"\0" + path.read_bytes() + b"\0")
    for agent in store_agents:
        if agent.name in names:
            problem_list.append(
                Problem(
                    f"store:agent/{agent.name}",
                    0,
                    f"agent {agent.name!r} is defined in {AGENTS_DIR}/ too; the file wins, "
                    "delete one of them",
                    level="warning",
                )
            )
            continue
        digest.update(json.dumps(agent.spec, sort_keys=True).encode() + b"\0")
        agents.append(agent)
    rules: list[Rule] = []
    for agent in agents:
        for spec in rule_specs(dict(agent.spec)):
            try:
                rule = Rule(
                    spec,
                    policy=f"agent.{agent.name}",
                    source=agent.source,
                    index=start + len(rules),
                )
            except RuleError as exc:  # a definition that validated must compile; say where if not
                problem_list.append(Problem(agent.source, 0, str(exc), spec["id"]))
                continue
            rules.append(rule)
    return agents, rules


def missing_places(agents: Iterable[Agent]) -> list[Problem]:
    """Working directories and local repositories of file agents that do not exist here.

    The loader skips this check (a server must not refuse a pack because of another host's
    disk); ``reins policy lint`` runs it on the machine that will run the agents."""
    found = []
    for agent in agents:
        if agent.from_file:
            for problem in place_problems(dict(agent.spec), True):
                found.append(Problem(agent.source, 0, f"agent {problem}"))
    return found
