"""``reins doctor``: is Reins really guarding this machine? Each check says what is wrong and the fix.

Checks the hook client and its config, the server (reachable, token valid), the cached bundle's
age, the spool, then per harness: the Reins hooks in every settings layer (managed, project,
user), a synthetic event sent through the installed hook exactly as the harness would, Codex
trust state, Claude Code, Codex and Gemini settings that switch the hooks off, and the gateway.
Read-only except for that one synthetic event (which the server audits under session
``reins-doctor``). Never prints the token. The Codex checks live in ``doctor_codex``, the Gemini
CLI ones in ``doctor_gemini``.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from installers import doctor_layers, harness_cli, hook_entries, records
from installers.client_files import HARNESSES, is_shim, read_config, read_token
from installers.doctor_check import FAIL, OK, WARN, Check
from installers.doctor_codex import codex_checks
from installers.doctor_gemini import extension_checks, gemini_checks

HTTP_TIMEOUT_S = 5


def _request(url: str, token: str = "", method: str = "GET", body: bytes | None = None) -> int:
    """HTTP status of ``url`` (urllib; an HTTP error status is returned, not raised)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if body is not None:
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=body, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def client_checks(home: Path) -> list[Check]:
    installed = read_config(home)
    if not (home / "reins_hook.py").is_file() or not installed:
        return [
            Check(
                FAIL,
                "hook client",
                f"not installed in {home}",
                "run `reins install <harness> --server URL --token T`",
            )
        ]
    checks = [Check(OK, "hook client", f"{home}/reins_hook.py")]
    python = str(installed.get("python") or "")
    if not python or not os.path.exists(python):
        checks.append(
            Check(
                FAIL,
                "python",
                f"interpreter {python or '(none)'} is missing",
                "run `reins install` again to resolve python3",
            )
        )
    elif is_shim(python):
        checks.append(
            Check(
                WARN,
                "python",
                f"{python} is a version-manager shim (~45 ms per event)",
                "run `reins install` again with --python /path/to/real/python3",
            )
        )
    token_file = Path(str(installed.get("token_file") or home / "token"))
    if not token_file.is_file():
        checks.append(
            Check(
                FAIL,
                "token file",
                f"{token_file} is missing",
                "run `reins install` again with --token",
            )
        )
    elif token_file.stat().st_mode & 0o077:
        checks.append(
            Check(
                FAIL, "token file", f"{token_file} is readable by others", f"chmod 600 {token_file}"
            )
        )
    return checks


def server_checks(home: Path) -> list[Check]:
    installed = read_config(home)
    server, token = str(installed.get("server") or ""), read_token(home)
    if not server:
        return []
    started = time.perf_counter()
    try:
        status = _request(f"{server}/healthz")
    except (OSError, ValueError) as exc:
        return [
            Check(
                FAIL,
                "server",
                f"{server} unreachable ({exc})",
                "start it (`reins serve`) or fix --server; hooks run offline from the cached bundle meanwhile",
            )
        ]
    took = (time.perf_counter() - started) * 1000
    checks = [
        Check(
            OK if status == 200 else FAIL,
            "server",
            f"{server}/healthz -> {status} in {took:.0f} ms",
        )
    ]
    try:
        status = _request(f"{server}/v1/bundle", token)
    except (OSError, ValueError) as exc:
        status, detail = 0, str(exc)
    else:
        detail = f"GET /v1/bundle -> {status}"
    if status == 200:
        checks.append(Check(OK, "token", "accepted by the server (developer role)"))
    else:
        checks.append(
            Check(
                FAIL,
                "token",
                f"rejected: {detail}",
                "create one with `reins token create --user NAME --role developer` and reinstall with --token",
            )
        )
    return checks


def state_checks(home: Path) -> list[Check]:
    installed = read_config(home)
    max_age = float(installed.get("bundle_max_age") or 3600)
    bundle = home / "bundle.json"
    if bundle.is_file():
        age = time.time() - bundle.stat().st_mtime
        level = OK if age <= max_age else WARN
        checks = [
            Check(
                level,
                "bundle",
                f"cached policy bundle is {age / 60:.0f} min old (refresh after {max_age / 60:.0f} min)",
                "" if level == OK else "start a session while the server is reachable",
            )
        ]
    else:
        mode = installed.get("fail_mode") or "the agent's default"
        checks = [
            Check(
                WARN,
                "bundle",
                f"no cached policy bundle: offline, the fail mode ({mode}) applies",
                "start a harness session once while the server is reachable",
            )
        ]
    spool = home / "spool"
    files = [p for p in spool.rglob("*") if p.is_file()] if spool.is_dir() else []
    size = sum(p.stat().st_size for p in files)
    level = OK if not files else WARN
    checks.append(
        Check(
            level,
            "spool",
            f"{len(files)} spooled events ({size} bytes)",
            "" if level == OK else "they upload at the next contact with the server",
        )
    )
    return checks


def synthetic_event(harness: str, handler: dict, project: Path, token: str) -> Check:
    """Send one harmless PreToolUse through the installed handler, as the harness would."""
    payload = json.dumps(doctor_layers.synthetic_payload(harness, project)).encode()
    started = time.perf_counter()
    if handler.get("type") == "http":
        try:
            status = _request(str(handler["url"]), token, "POST", payload)
        except (OSError, ValueError) as exc:
            return Check(
                FAIL, f"{harness} event", f"http hook unreachable: {exc}", "check --server"
            )
        took = (time.perf_counter() - started) * 1000
        return Check(
            OK if status == 200 else FAIL,
            f"{harness} event",
            f"http hook -> {status} in {took:.0f} ms",
        )
    # As the harness does: exec form (Claude Code ``args``) directly, a command string via sh.
    if handler.get("args"):
        command: object = [str(handler["command"]), *map(str, handler["args"])]
    else:
        command = str(handler.get("command", ""))
    try:
        out = subprocess.run(
            command,
            shell=isinstance(command, str),
            input=payload,
            capture_output=True,
            timeout=30,
            cwd=str(project),
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Check(
            FAIL,
            f"{harness} event",
            f"hook command failed to run: {exc}",
            "run `reins install` again",
        )
    took = (time.perf_counter() - started) * 1000
    text = out.stdout.decode("utf-8", "replace").strip()
    try:
        answer = json.loads(text) if text else {}
    except ValueError:
        answer = None
    if out.returncode not in (0, 2) or not isinstance(answer, dict):
        return Check(
            FAIL,
            f"{harness} event",
            f"hook exited {out.returncode} with output {text[:200]!r}",
            "run `reins install` again; see the hook's stderr",
        )
    return Check(
        OK,
        f"{harness} event",
        f"synthetic PreToolUse answered in {took:.0f} ms: {doctor_layers.summary(answer)}",
    )


def gateway_checks(home: Path) -> list[Check]:
    gateways = sorted({r["gateway"] for r in records.all_records(home) if r.get("gateway")})
    checks = []
    for gateway in gateways:
        try:
            status = _request(f"{gateway}/", method="HEAD")
        except (OSError, ValueError) as exc:
            checks.append(
                Check(
                    FAIL,
                    "gateway",
                    f"{gateway} unreachable ({exc})",
                    "start it (`reins gateway`) or reinstall with the right --gateway",
                )
            )
            continue
        checks.append(
            Check(OK if status < 500 else FAIL, "gateway", f"HEAD {gateway}/ -> {status}")
        )
    return checks


def claude_checks(project: Path) -> list[Check]:
    """Whether a settings file switches the Reins hooks off with ``disableAllHooks``, as a cloned
    repository can for user- and project-scope hooks (managed hooks are immune)."""
    layers = doctor_layers.read_layers("claude-code", project)
    found = doctor_layers.claude_disable_all_hooks(layers)
    if found is None:
        return []
    layer, path = found
    detail = f"{path} ({layer}) sets disableAllHooks: true"
    managed = next((settings for name, _, settings, _ in layers if name == "managed"), None)
    if layer != "managed" and hook_entries.reins_handlers(managed or {}):
        return [
            Check(
                OK,
                "claude-code hooks off",
                f"{detail}, but Claude Code (2.1.49+) still runs managed hooks, Reins' included",
            )
        ]
    if layer == "managed":
        return [
            Check(
                FAIL,
                "claude-code hooks off",
                f"{detail}, so Claude Code runs no hooks at all, managed ones included",
                "remove it from the managed settings",
            )
        ]
    override = (
        f' or override it with "disableAllHooks": false in {project}/.claude/settings.local.json'
        if layer in ("project", "user")
        else ""
    )
    return [
        Check(
            FAIL,
            "claude-code hooks off",
            f"{detail}, so Claude Code runs none of the Reins hooks",
            f"remove it{override}; managed hooks are immune to it"
            " (`reins install claude-code --scope managed`, as root)",
        )
    ]


def harness_checks(harness: str, home: Path, project: Path) -> list[Check]:
    found = doctor_layers.effective_hooks(harness, project)
    checks = [Check(OK, f"{harness} {layer}", text) for layer, text in found["layers"]]
    if not found["handlers"]:
        fix = f"run `reins install {harness} --server URL --token T`"
        missing = Check(
            FAIL, f"{harness} hooks", "no Reins hook in any layer: this harness is NOT guarded", fix
        )
        # A Gemini extension with its hooks gone says which file went.
        extension = extension_checks(home, project, []) if harness == "gemini" else ([], False)
        return [*checks, missing, *extension[0]]
    checks.append(synthetic_event(harness, found["handlers"][0], project, read_token(home)))
    if harness == "claude-code":
        checks.extend(claude_checks(project))
    if harness == "codex":
        checks.extend(codex_checks(project))
    if harness == "gemini":
        checks.extend(gemini_checks(home, project))
    return checks


def run(harnesses: list[str], home: Path, project: Path) -> list[Check]:
    checks = client_checks(home) + server_checks(home) + state_checks(home)
    for harness in harnesses:
        version = harness_cli.version(harness)
        checks.append(
            Check(
                OK if version else WARN,
                harness,
                f"CLI version {harness_cli.text(version)}",
                "" if version else "not found on PATH",
            )
        )
        checks.extend(harness_checks(harness, home, project))
    return checks + gateway_checks(home)


def render(checks: list[Check]) -> str:
    lines = []
    for check in checks:
        lines.append(f"[{check.level:>4}] {check.name}: {check.detail}")
        if check.fix:
            lines.append(f"       fix: {check.fix}")
    failed = sum(c.level == FAIL for c in checks)
    lines.append(f"{failed} problem(s) found" if failed else "all checks passed")
    return "\n".join(lines)


def default_harnesses(home: Path) -> list[str]:
    """The harnesses Reins installed (from the records), else every harness."""
    names = sorted({r["harness"] for r in records.all_records(home)})
    return names or list(HARNESSES)
