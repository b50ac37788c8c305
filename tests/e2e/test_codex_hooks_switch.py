"""What can switch the Reins hooks off in the real Codex 0.171.0, and what keeps them on.

Codex runs no hook at all when the feature ``hooks`` is off: ``[features] hooks = false`` (or
the deprecated alias ``codex_hooks = false``) in any config file it loads, or ``-c
features.hooks=false`` / ``--disable hooks`` on its command line. It loads a project's
``.codex/config.toml`` only when the user's config trusts the project (``[projects."<dir>"]
trust_level = "trusted"``), so a cloned repository switches the hooks off once trusted, and
never before. One hook alone goes off with ``[hooks.state."<key>"] enabled = false`` in the
user's config (a project's copy is ignored, and so are managed hooks).

Managed hooks (``reins install codex --scope managed``) are switched off just the same, even with
``allow_managed_hooks_only = true``, unless ``/etc/codex/requirements.toml`` pins ``[features]
hooks = true``, which the managed install now writes: then no config file and no flag can switch
them off. Codex reads requirements only from ``/etc/codex``, so those tests run in a private mount
namespace whose ``/etc`` is an overlay on a tmpfs (root only): the real ``/etc`` is never written.

A scheduled run gets a ``CODEX_HOME`` of its own that trusts no project, so its working copy's
``.codex/config.toml`` is never read; the run pins ``-c features.hooks=true`` on its command line,
which outranks every config file, the machine's ``/etc/codex/config.toml`` included. Nothing
it can pass helps against ``allow_managed_hooks_only = true`` in ``/etc/codex/requirements.toml``:
Codex then skips the run's own hooks (only the host's managed hooks run, if any), so the
scheduler refuses a Codex run on such a host (``workspace.check_codex_requirements``).

Each gap is asserted as it is, so a Codex release that changes it fails here.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from policy_server.registry.agent import Agent
from policy_server.scheduler.harness import invocation

from .clis import CODEX_PROVIDER, REPO, base_env, run
from .conftest import DENIED_RULE, DENIED_TEMPLATE, Machine, Reins, by_event, private_etc
from .fake_upstream import FakeResponses

pytestmark = pytest.mark.e2e

OFF = "[features]\nhooks = false\n"
CHECK = "] codex hooks off:"


@pytest.fixture
def reins(shared_reins):
    """These tests only read the rows of their own session: one server serves the module."""
    return shared_reins


def doctor_lines(machine: Machine) -> tuple[int, list[str]]:
    """``reins doctor codex`` in the machine: its exit code and its ``codex hooks off`` lines."""
    done = machine.reins_cli("doctor", "codex", check=False)
    return done.returncode, [line for line in done.stdout.splitlines() if CHECK in line]


def denied_command(reins: Reins, machine: Machine, *flags: str) -> tuple[bool, list[dict]]:
    """``codex exec [flags]`` on a command the policy denies, without the hook-trust bypass: did
    the command run, and the session's audit rows."""
    proof = machine.proof()
    proof.unlink(missing_ok=True)  # from an earlier run of the same test
    with FakeResponses(DENIED_TEMPLATE.format(proof=proof)) as model:
        write_provider(machine, model.url)
        env = base_env(machine.home, CODEX_HOME=str(machine.codex_home), FAKE_OPENAI_KEY="sk-fake")
        argv = [str(machine.clis.codex), "exec", "--skip-git-repo-check", *flags, "do it"]
        done = run(argv, machine.project, env, timeout=60)
        sessions = {r.headers.get("session-id") for r in model.model_requests()}
    assert done.returncode == 0, done.describe()
    return proof.exists(), reins.audit(session=sessions.pop())


def write_provider(machine: Machine, upstream: str) -> None:
    """The fake upstream as the model provider, kept at the top of the user's config (the
    installer and the tests add tables below it)."""
    config = machine.codex_home / "config.toml"
    rest = config.read_text().split("# end of provider\n", 1)[-1] if config.exists() else ""
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(CODEX_PROVIDER.format(url=upstream) + "# end of provider\n" + rest)


def add_to_user_config(machine: Machine, text: str) -> Path:
    config = machine.codex_home / "config.toml"
    config.write_text(config.read_text() + "\n" + text)
    return config


def trust(machine: Machine) -> None:
    add_to_user_config(machine, f'[projects."{machine.project}"]\ntrust_level = "trusted"\n')


def project_config(machine: Machine, text: str) -> Path:
    path = machine.project / ".codex" / "config.toml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return path


def install(machine: Machine, reins: Reins) -> None:
    write_provider(machine, "http://127.0.0.1:9")  # replaced by each run's fake upstream
    machine.install("codex", reins)


def assert_decided(ran: bool, rows: list[dict]) -> None:
    assert not ran, "the denied command ran"
    [pre] = by_event(rows, "PreToolUse")
    assert pre["decision"] == "deny" and DENIED_RULE in pre["rules"]


@pytest.mark.parametrize("key", ["hooks", "codex_hooks"])
def test_a_repository_switches_the_hooks_off_once_trusted_and_doctor_fails(reins, machine, key):
    install(machine, reins)
    shared = project_config(machine, f"[features]\n{key} = false\n")

    assert_decided(*denied_command(reins, machine))  # untrusted: Codex never reads the file
    code, lines = doctor_lines(machine)
    assert code == 0 and lines == [
        f"[WARN] codex hooks off: {shared} switches every hook off; Codex skips it only while"
        " the project is untrusted (trusting it, as Codex asks on first start, loads it)"
    ]

    trust(machine)
    ran, rows = denied_command(reins, machine)
    assert ran and rows == [], "Codex ran hooks despite the trusted project's setting"
    code, lines = doctor_lines(machine)
    assert code == 1 and lines == [
        f"[FAIL] codex hooks off: {shared} (project) sets [features] {key} = false, so Codex"
        " runs no hooks at all, the Reins hooks included"
    ]


def test_the_users_config_switches_the_hooks_off_and_doctor_fails(reins, machine):
    install(machine, reins)
    config = add_to_user_config(machine, OFF)

    ran, rows = denied_command(reins, machine)
    assert ran and rows == []
    code, lines = doctor_lines(machine)
    assert code == 1 and lines == [
        f"[FAIL] codex hooks off: {config} (user) sets [features] hooks = false, so Codex runs"
        " no hooks at all, the Reins hooks included"
    ]


def test_hooks_true_anywhere_outranks_the_alias_in_a_trusted_project(reins, machine):
    install(machine, reins)
    add_to_user_config(machine, "[features]\nhooks = true\n")
    trust(machine)
    project_config(machine, "[features]\ncodex_hooks = false\n")

    assert_decided(*denied_command(reins, machine))
    assert doctor_lines(machine) == (0, [])


@pytest.mark.parametrize(
    "flags", [("-c", "features.hooks=false"), ("--disable", "hooks")], ids=["-c", "--disable"]
)
def test_the_command_line_switches_the_hooks_off(reins, machine, flags):
    """The developer's own choice for one run; no file shows it, so doctor cannot either."""
    install(machine, reins)
    ran, rows = denied_command(reins, machine, *flags)
    assert ran and rows == []


def test_a_profile_switches_the_hooks_off_and_doctor_warns(reins, machine):
    install(machine, reins)
    profile = machine.codex_home / "ci.config.toml"
    profile.write_text(OFF)

    assert_decided(*denied_command(reins, machine))  # without --profile ci it is not read
    ran, rows = denied_command(reins, machine, "--profile", "ci")
    assert ran and rows == []
    code, lines = doctor_lines(machine)
    assert code == 0 and lines == [
        f"[WARN] codex hooks off: {profile} sets [features] hooks = false: `codex --profile ci`"
        " runs no hooks at all"
    ]


def test_one_hook_switched_off_in_the_users_config_and_reinstall_puts_it_back(reins, machine):
    install(machine, reins)
    key = f"{machine.codex_home / 'hooks.json'}:pre_tool_use:0:0"
    config = machine.codex_home / "config.toml"
    table = f'[hooks.state."{key}"]\n'
    assert table in config.read_text()  # the installer's trust entry
    config.write_text(config.read_text().replace(table, table + "enabled = false\n"))
    # A trusted project cannot do the same: Codex ignores [hooks.state] in project files.
    trust(machine)
    project_config(machine, table + "enabled = false\n")

    ran, rows = denied_command(reins, machine)
    assert ran and by_event(rows, "PreToolUse") == [] and by_event(rows, "UserPromptSubmit")
    code, lines = doctor_lines(machine)
    assert code == 1 and lines == [
        f"[FAIL] codex hooks off: 1 of 6 Reins hooks are switched off one by one with enabled ="
        f' false in {config}: [hooks.state."{key}"]'
    ]

    machine.install("codex", reins)
    assert doctor_lines(machine) == (0, [])
    assert_decided(*denied_command(reins, machine))


# --- managed install: /etc/codex in a private mount namespace ---------------------------------


MANAGED_CASES = {
    "user config": ("user", OFF, ()),
    "trusted project": ("project", OFF, ()),
    "alias in the user config": ("user", "[features]\ncodex_hooks = false\n", ()),
    "--disable hooks": ("", "", ("--disable", "hooks")),
    "-c features.hooks=false": ("", "", ("-c", "features.hooks=false")),
    "--profile": ("profile", OFF, ("--profile", "ci")),
}


@pytest.mark.parametrize("pinned", [True, False], ids=["pinned", "pin-removed"])
@pytest.mark.parametrize("case", list(MANAGED_CASES))
def test_managed_hooks_stay_on_only_with_the_requirements_pin(
    reins, machine, namespaces, case, pinned
):
    where, text, flags = MANAGED_CASES[case]
    opt = machine.root / "opt"
    proof = machine.proof()
    requirements = "/etc/codex/requirements.toml"
    unpin = [sys.executable, "-c", UNPIN, requirements]
    with FakeResponses(DENIED_TEMPLATE.format(proof=proof)) as model:
        write_provider(machine, model.url)
        if where == "user":
            add_to_user_config(machine, text)
        if where == "project":
            trust(machine)
            project_config(machine, text)
        if where == "profile":
            (machine.codex_home / "ci.config.toml").write_text(text)
        env = {**base_env(machine.home), **machine.env(), "FAKE_OPENAI_KEY": "sk-fake"}
        env["PYTHONPATH"] = str(REPO)
        reins_cli = [sys.executable, "-m", "reins.cli"]
        install = [*reins_cli, "install", "codex", "--scope", "managed", "--reins-home", str(opt)]
        install += ["--server", reins.url, "--token", reins.developer]
        steps = [install, *([] if pinned else [unpin]), [*reins_cli, "doctor", "codex"]]
        steps.append([str(machine.clis.codex), "exec", "--skip-git-repo-check", *flags, "do it"])
        *setup, doctor, codex = private_etc(machine.root, {}, steps, env, machine.project)
        sessions = {r.headers.get("session-id") for r in model.model_requests()}
    for step in (*setup, codex):
        assert step["rc"].strip() == "0", step
    rows = reins.audit(session=sessions.pop())
    checks = [line for line in doctor["out"].splitlines() if CHECK in line]
    if pinned:
        assert_decided(proof.exists(), rows)
        assert checks and checks[0].startswith(
            "[  ok] codex hooks off: requirements.toml pins [features] hooks = true"
        ), doctor["out"]
    else:  # as an install without the pin left it (and allow_managed_hooks_only does not help)
        assert proof.exists() and rows == [], codex
        if where:
            level = "WARN" if where == "profile" else "FAIL"
            assert checks and checks[0].startswith(f"[{level}] codex hooks off:"), doctor["out"]
    assert not Path(requirements).exists() or "reins_hook.py" not in Path(requirements).read_text()


# An install as Reins made it before the pin, with the admin's allow_managed_hooks_only added.
UNPIN = """
import sys, tomlkit
path = sys.argv[1]
doc = tomlkit.parse(open(path).read())
del doc["features"]
open(path, "w").write("allow_managed_hooks_only = true\\n" + tomlkit.dumps(doc))
"""


# --- scheduled runs -----------------------------------------------------------------------------


def scheduled_run(reins: Reins, clis, tmp: Path, upstream: str):
    """The command line and environment the scheduler starts a Codex agent with (its config files
    written below ``tmp``), talking to ``upstream`` as if it were the gateway."""
    home = tmp / "home"
    home.mkdir(parents=True, exist_ok=True)
    agent = Agent(
        {
            "name": "nightly",
            "harness": "codex",
            "owner": "ops",
            "prompt": "do it",
            "model": "gpt-fake",
            "fail_mode": "closed",
            "environment": {"HOME": str(home), "TMPDIR": str(tmp)},
        }
    )
    settings = {"server_url": reins.url, "gateway_url": upstream, "codex_bin": str(clis.codex)}
    return invocation(agent, run_id="run_1", token=reins.developer, run_dir=tmp, settings=settings)


@pytest.mark.parametrize("trusted", [False, True], ids=["as-run", "were-it-trusted"])
def test_a_working_copy_cannot_switch_a_scheduled_runs_hooks_off(reins, tmp_path, clis, trusted):
    working_copy = tmp_path / "work"
    (working_copy / ".codex").mkdir(parents=True)
    (working_copy / ".codex" / "config.toml").write_text(OFF)
    proof = tmp_path / "proof"
    with FakeResponses(DENIED_TEMPLATE.format(proof=proof)) as model:
        call = scheduled_run(reins, clis, tmp_path / "run", model.url)
        if trusted:  # as if Codex ever trusted it: the command line still wins
            config = Path(call.env["CODEX_HOME"]) / "config.toml"
            text = f'\n[projects."{working_copy}"]\ntrust_level = "trusted"\n'
            config.write_text(config.read_text() + text)
        done = run(call.argv, working_copy, call.env, timeout=60)
        sessions = {r.headers.get("session-id") for r in model.model_requests()}
    assert done.returncode == 0, done.describe()
    assert "hook: PreToolUse Blocked" in done.stderr, done.describe()
    assert_decided(proof.exists(), reins.audit(session=sessions.pop()))


def test_the_machines_codex_config_cannot_switch_a_scheduled_runs_hooks_off(
    reins, tmp_path, clis, namespaces
):
    working_copy = tmp_path / "work"
    working_copy.mkdir()
    proof = tmp_path / "proof"
    with FakeResponses(DENIED_TEMPLATE.format(proof=proof)) as model:
        call = scheduled_run(reins, clis, tmp_path / "run", model.url)
        [codex] = private_etc(
            tmp_path, {"/etc/codex/config.toml": OFF}, [call.argv], call.env, working_copy
        )
        sessions = {r.headers.get("session-id") for r in model.model_requests()}
    assert codex["rc"].strip() == "0", codex
    assert "hook: PreToolUse Blocked" in codex["err"], codex
    assert_decided(proof.exists(), reins.audit(session=sessions.pop()))


# What the scheduler decides for a Codex agent on this host, run where /etc is the private one.
PREPARE = """
import sys
from pathlib import Path
from policy_server.registry.agent import Agent
from policy_server.scheduler.workspace import WorkspaceError, prepare
agent = Agent({"name": "nightly", "harness": "codex", "owner": "ops", "working_directory": "."})
try:
    prepare(agent, Path(sys.argv[1]))
except WorkspaceError as exc:
    sys.exit(f"refused: {exc}")
"""


@pytest.mark.parametrize(
    "requirements",
    [
        "allow_managed_hooks_only = true\n",
        "allow_managed_hooks_only = true\n[features]\nhooks = true\n",
    ],
    ids=["managed-only", "managed-only-and-pinned"],
)
def test_a_host_that_runs_only_managed_hooks_would_skip_a_scheduled_runs_hooks_so_it_is_refused(
    reins, tmp_path, clis, namespaces, requirements
):
    working_copy = tmp_path / "work"
    working_copy.mkdir()
    proof = tmp_path / "proof"
    decide = ["env", f"PYTHONPATH={REPO}", sys.executable, "-c", PREPARE, str(tmp_path / "run")]
    with FakeResponses(DENIED_TEMPLATE.format(proof=proof)) as model:
        call = scheduled_run(reins, clis, tmp_path / "run", model.url)
        files = {"/etc/codex/requirements.toml": requirements}
        codex, scheduler = private_etc(tmp_path, files, [call.argv, decide], call.env, working_copy)
        sessions = {r.headers.get("session-id") for r in model.model_requests()}
    # Codex 0.171.0 skips the run's own hooks: no audit row, and the denied command reaches the
    # shell (only the run's read-only sandbox keeps it from writing the proof).
    assert codex["rc"].strip() == "0", codex
    assert "hook: PreToolUse" not in codex["err"], codex
    assert f"touch: cannot touch '{proof}'" in codex["err"], codex
    assert reins.audit(session=sessions.pop()) == []
    # So the scheduler refuses the run on this host, saying why and what to do.
    assert scheduler["rc"].strip() == "1", scheduler
    assert scheduler["err"].startswith(
        "refused: this host's /etc/codex/requirements.toml sets allow_managed_hooks_only = true,"
        " so Codex would skip this run's own Reins hooks"
    ), scheduler


def test_with_the_hosts_managed_reins_hooks_those_act_as_the_run_but_it_is_still_refused(
    reins, tmp_path, clis, namespaces
):
    """A host with Reins installed for Codex at managed scope, plus the admin's
    ``allow_managed_hooks_only``: the host's hooks (its ``REINS_HOME``, so its fail mode, bundle
    and spool) decide, as the run's agent and run, which they read from the run's environment.
    The run's own hooks still do not run, so the scheduler refuses it all the same."""
    working_copy = tmp_path / "work"
    working_copy.mkdir()
    proof = tmp_path / "proof"
    host = ["env", f"PYTHONPATH={REPO}", f"CODEX_HOME={tmp_path / 'host'}", f"HOME={tmp_path}"]
    install = [*host, sys.executable, "-m", "reins.cli", "install", "codex", "--scope", "managed"]
    install += ["--reins-home", str(tmp_path / "opt"), "--server", reins.url]
    install += ["--token", reins.developer]
    only = "allow_managed_hooks_only = true"
    add = ["sed", "-i", f"1i {only}", "/etc/codex/requirements.toml"]
    decide = ["env", f"PYTHONPATH={REPO}", sys.executable, "-c", PREPARE, str(tmp_path / "run")]
    with FakeResponses(DENIED_TEMPLATE.format(proof=proof)) as model:
        call = scheduled_run(reins, clis, tmp_path / "run", model.url)
        steps = [install, add, call.argv, decide]
        *setup, codex, scheduler = private_etc(tmp_path, {}, steps, call.env, working_copy)
        sessions = {r.headers.get("session-id") for r in model.model_requests()}
    for step in (*setup, codex):
        assert step["rc"].strip() == "0", step
    assert "hook: PreToolUse Blocked" in codex["err"], codex
    rows = reins.audit(session=sessions.pop())
    assert_decided(proof.exists(), rows)
    assert {(row["agent"], row["run_id"]) for row in rows} == {("nightly", "run_1")}
    assert scheduler["rc"].strip() == "1" and only in scheduler["err"], scheduler
