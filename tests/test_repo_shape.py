"""The shape rules of STYLE.md, enforced: module and function sizes, a pure engine."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("reins", "policy_server", "gateway", "installers", "hooks")
MODULE_LIMIT = 800
FUNCTION_LIMIT = 100  # STYLE.md: past ~60 lines needs a reason; past this it is refused.
ENGINE = ROOT / "policy_server" / "engine"
# I/O, clock and third-party modules; ``urllib.parse`` (pure string work) is allowed.
FORBIDDEN_IN_ENGINE = {
    "flask",
    "gevent",
    "sqlite3",
    "sqlite_utils",
    "socket",
    "requests",
    "yaml",
    "jsonschema",
    "urllib.request",
    "http",
    "os",
    "subprocess",
    "time",
    "datetime",
    "random",
    "asyncio",
    "io",
    "pathlib",
}


def source_files() -> list[Path]:
    return [
        p for pkg in PACKAGES if (ROOT / pkg).is_dir() for p in sorted((ROOT / pkg).rglob("*.py"))
    ]


@pytest.mark.parametrize("path", source_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_module_is_not_a_god_module(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MODULE_LIMIT, (
        f"{path.relative_to(ROOT)} has {lines} lines; split it (limit {MODULE_LIMIT})"
    )


@pytest.mark.parametrize("path", source_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_functions_stay_short(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    long = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and node.end_lineno - node.lineno + 1 > FUNCTION_LIMIT
    ]
    assert not long, f"{path.relative_to(ROOT)}: functions over {FUNCTION_LIMIT} lines: {long}"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            full = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            full = [node.module]
        else:
            continue
        # Both "urllib" and "urllib.request" for ``import urllib.request``.
        names.update(n.split(".")[0] for n in full)
        names.update(full)
    return names


@pytest.mark.parametrize("path", sorted(ENGINE.glob("*.py")), ids=lambda p: p.name)
def test_engine_is_pure(path: Path) -> None:
    """The engine does no I/O and needs nothing outside the standard library."""
    imports = imported_modules(path)
    assert not imports & FORBIDDEN_IN_ENGINE, (
        f"{path.name} imports {sorted(imports & FORBIDDEN_IN_ENGINE)}"
    )
    third_party = {
        m
        for m in imports
        if "." not in m and m not in sys.stdlib_module_names and m != "__future__"
    }
    assert not third_party, f"{path.name} imports non-stdlib modules {sorted(third_party)}"


TRANSLATE = ROOT / "gateway" / "translate"


@pytest.mark.parametrize("path", sorted(TRANSLATE.glob("*.py")), ids=lambda p: p.name)
def test_translators_are_pure(path: Path) -> None:
    """The format translators do no I/O and import only the stdlib and their own package."""
    imports = imported_modules(path)
    assert not imports & FORBIDDEN_IN_ENGINE, (
        f"{path.name} imports {sorted(imports & FORBIDDEN_IN_ENGINE)}"
    )
    outside = {
        m
        for m in imports
        if m.split(".")[0] not in sys.stdlib_module_names
        and m not in ("__future__", "gateway")
        and not m.startswith("gateway.translate")
    }
    assert not outside, f"{path.name} imports {sorted(outside)} (only stdlib and gateway.translate)"
    sideways = [
        alias.name
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom) and node.module == "gateway"
        for alias in node.names
        if alias.name != "translate"
    ]
    assert not sideways, f"{path.name} imports gateway.{sideways} (only gateway.translate)"


def test_no_grab_bag_modules() -> None:
    bad = [p for p in source_files() if p.stem in ("utils", "helpers", "misc")]
    assert not bad, f"name these modules for what they do: {bad}"


def test_no_global_statements() -> None:
    offenders = [
        str(p.relative_to(ROOT))
        for p in source_files()
        if any(
            isinstance(n, ast.Global) for n in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
        )
    ]
    assert not offenders, f"state belongs on the app/server object, not in globals: {offenders}"


# DESIGN.md's layout: who may import whom. The control plane never depends on the data plane;
# the installers and the hook client run on developer machines without the servers.
FORBIDDEN_PACKAGES = {
    "policy_server": {"gateway", "installers", "hooks"},
    "installers": {"policy_server", "gateway", "hooks", "reins"},
    "hooks": {"policy_server", "gateway", "installers", "reins"},
}


@pytest.mark.parametrize("package", sorted(FORBIDDEN_PACKAGES))
def test_packages_import_only_what_the_design_allows(package: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            {m.split(".")[0] for m in imported_modules(path)} & FORBIDDEN_PACKAGES[package]
        )
        for path in sorted((ROOT / package).rglob("*.py"))
    }
    offenders = {path: names for path, names in offenders.items() if names}
    assert not offenders, (
        f"{package} must not import {sorted(FORBIDDEN_PACKAGES[package])}: {offenders}"
    )
