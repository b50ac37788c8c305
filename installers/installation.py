"""Install and uninstall Reins for one harness: the library behind ``reins install|uninstall``.

Lays out the hook client, plans the harness's file edits, applies them with backups and an install
record, and returns the lines to tell the user (never the token). The CLI only parses and prints.
"""

from __future__ import annotations

from pathlib import Path

from installers import claude_code, codex, config, gemini, harness_cli, records
from installers.client_files import (
    HARNESSES,
    InstallError,
    fetch_bundle,
    install_client,
    resolve_python,
)


def _plan(
    options: config.Options, extra: dict, python: str, claude: tuple | None = None
) -> list[records.FileEdit]:
    """The file edits for ``options``; uninstall uses their ``remove`` side only."""
    if options.harness == "claude-code":
        return claude_code.plan(options, extra, python, claude)
    if options.harness == "codex":
        return codex.plan(options, extra, python)
    return gemini.plan(options, extra, python)


def _trust_lines(extra: dict) -> list[str]:
    trust = extra.get("trust", {})
    if trust.get("status") == "codex-missing":
        return [
            "WARNING: codex is not installed (or not on PATH; set REINS_CODEX_BIN), so the hooks are"
            " written but NOT trusted yet. Codex skips untrusted hooks silently and the tool runs."
            " Install Codex, then run this same `reins install codex ...` again to trust them.",
        ]
    if trust.get("status") == "not-listed":
        return [
            "WARNING: Codex does not load these hooks yet, so they are NOT trusted: Codex reads"
            " project hooks only in projects it trusts. Trust the project (accept Codex's prompt"
            ' there, or add [projects."<path>"] trust_level = "trusted" to config.toml), then'
            " run this same `reins install codex ...` again."
        ]
    if trust.get("status") == "trusted":
        return [f"trusted {len(trust['keys'])} Codex hooks (hooks.state in config.toml)"]
    return []


def _http_fail_closed_lines(options: config.Options, claude: tuple | None) -> list[str]:
    """http mode cannot fail closed before Claude Code 2.1.295 (no ``onFailure``): say so."""
    if options.harness != "claude-code" or options.mode != "http" or options.fail_mode != "closed":
        return []
    if claude is not None and claude >= claude_code.ON_FAILURE_SINCE:
        return []
    found = ".".join(map(str, claude)) if claude else "not found"
    since = ".".join(map(str, claude_code.ON_FAILURE_SINCE))
    return [
        f"WARNING: --mode http cannot fail closed with this Claude Code ({found}; needs {since}+): "
        "when the server is unreachable the tool runs. Use --mode command (the default), which "
        "decides offline from the cached bundle and applies --fail-mode closed."
    ]


def install(options: config.Options) -> list[str]:
    """Install Reins for ``options.harness``; idempotent. Returns the report lines."""
    options = config.validate(options)
    home = options.home
    python = resolve_python(options.python)
    name = records.record_name(options.harness, options.scope, options.project)
    extra = (records.load(home, name) or {}).get("extra", {})
    extra.pop("trust", None)
    claude = harness_cli.version("claude-code") if options.harness == "claude-code" else None
    edits = _plan(options, extra, python, claude)  # before any write: it validates the options
    install_client(
        home,
        server=options.server,
        token=options.token,
        agent=options.agent,
        fail_mode=options.fail_mode,
        python=python,
    )
    meta = {
        "harness": options.harness,
        "scope": options.scope,
        "project": str(options.project),
        "mode": options.mode,
        "server": options.server,
        "agent": options.agent,
        "gateway": options.gateway,
        "extra": extra,
    }
    record = records.apply_edits(home, name, edits, meta)
    lines = [f"hook client: {home}/reins_hook.py (python {python})"]
    lines.append(fetch_bundle(home, options.server, options.token))
    lines += [f"configured {path}" for path in record["files"]]
    lines += _trust_lines(extra)
    if options.harness == "gemini":
        lines += gemini.install_lines(extra)
    lines += _http_fail_closed_lines(options, claude)
    if options.harness == "codex" and options.gateway:
        lines.append(f"Codex gateway: export {config.TOKEN_ENV}=<your Reins token> in your shell")
    return lines


def uninstall(harness: str, scope: str, project: Path, home: Path | None = None) -> list[str]:
    """Undo ``install`` for ``harness`` in ``scope``; returns what was done per file."""
    if harness not in HARNESSES:
        raise InstallError(f"unknown harness {harness!r}; use one of {', '.join(HARNESSES)}")
    project = Path(project).expanduser().resolve()
    home = config.client_home(scope, home)
    name = records.record_name(harness, scope, project)
    record = records.load(home, name)
    if record is None:
        raise InstallError(
            f"Reins is not installed for {harness} ({scope} scope) according to {home}/installed"
        )
    options = config.Options(
        harness,
        record["server"],
        "unused",
        agent=record.get("agent", ""),
        scope=scope,
        mode=record.get("mode", "command"),
        gateway=record.get("gateway"),
        project=project,
        reins_home=home,
    )
    edits = _plan(options, record.get("extra", {}), "python3")
    return records.undo_edits(home, name, edits)


def detected() -> list[str]:
    """The harnesses installed on this machine (CLI on PATH or config folder present)."""
    found = []
    marks = {
        "claude-code": Path.home() / ".claude",
        "codex": config.codex_home(),
        "gemini": Path.home() / ".gemini",
    }
    for harness in HARNESSES:
        if harness_cli.find(harness) or marks[harness].is_dir():
            found.append(harness)
    return found
