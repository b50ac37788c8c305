from __future__ import annotations

import pytest

from policy_server.engine.paths import Glob, ProtectedPaths, is_at_or_above, normalize


@pytest.mark.parametrize(
    ("path", "cwd", "home", "expected"),
    [
        ("/etc/passwd", "/p", "/home/a", "/etc/passwd"),
        ("x", "/p", "/home/a", "/p/x"),
        ("../x", "/p/q", "", "/p/x"),
        ("./a//b/./c", "/p", "", "/p/a/b/c"),
        ("~/.ssh/id_rsa", "/p", "/home/a", "/home/a/.ssh/id_rsa"),
        ("$HOME/.aws/credentials", "/p", "/home/a", "/home/a/.aws/credentials"),
        ("${HOME}/.netrc", "/p", "/home/a", "/home/a/.netrc"),
        ("~", "/p", "/home/a", "/home/a"),
        ("~/x", "/p", "", "~/x"),
        ("~/../x", "/p", "", "~/x"),
        ("//etc//passwd", "/p", "", "/etc/passwd"),
        ("/a/b/../../..", "/p", "", "/"),
        ("rel", "", "", "rel"),
        ("", "/p", "", ""),
    ],
)
def test_normalize(path: str, cwd: str, home: str, expected: str) -> None:
    assert normalize(path, cwd, home) == expected


@pytest.mark.parametrize(
    ("target", "protected", "home", "expected"),
    [
        ("/", "/etc", "", True),
        ("/etc", "/etc", "", True),
        ("/etc/nginx", "/etc", "", False),
        ("/*", "/usr", "", True),
        ("/home", "~", "", True),
        ("/home/a", "~", "/home/a", True),
        ("/home/a/proj", "~", "/home/a", False),
        ("/var/lib/ci", "~", "/var/lib/ci", True),
        ("~", "~", "", True),
        ("/Users/bob", "~", "", True),
        ("/tmp/build", "/", "", False),
        ("*", "/", "", False),
        ("", "/", "", False),
    ],
)
def test_is_at_or_above(target: str, protected: str, home: str, expected: bool) -> None:
    assert is_at_or_above(target, protected, home) is expected


@pytest.mark.parametrize(
    ("pattern", "path", "cwd", "expected"),
    [
        (".env", "/p/.env", "", True),
        (".env", "/p/.env.example", "", False),
        ("**/.env.*", "/p/sub/.env.local", "", True),
        ("~/.ssh/id_*", "/home/bob/.ssh/id_rsa", "", True),
        ("~/.ssh/id_*", "/root/.ssh/id_ed25519", "", True),
        ("~/.ssh/id_*", "~/.ssh/id_rsa", "", True),
        ("~/.ssh/id_*", "/srv/.ssh/id_rsa", "", False),
        ("/etc/**", "/etc/cron.d/x", "", True),
        ("/etc/**", "/etcetera/x", "", False),
        ("src/**", "/p/src/a/b.py", "/p", True),
        ("src/**", "/q/src/a", "/p", False),
        ("src/**", "/p/src/a", "", False),
        ("./.env", "/p/.env", "/p", True),
        ("*.{pem,key}", "/p/certs/server.key", "", True),
        ("id_[re]*", "/x/id_rsa", "", True),
        ("**/.git/hooks/**", "/p/.git/hooks/pre-commit", "", True),
    ],
)
def test_glob(pattern: str, path: str, cwd: str, expected: bool) -> None:
    assert Glob(pattern).match(path, cwd) is expected


PROTECTED = ["/", "~", "/etc", "/usr", "/home", "/Users"]


@pytest.mark.parametrize(
    ("target", "home"),
    [
        ("/", ""),
        ("/etc", ""),
        ("/etc/", ""),
        ("/etc/nginx", ""),
        ("/*", ""),
        ("/home", ""),
        ("/home/a", "/home/a"),
        ("/home/a/proj", "/home/a"),
        ("/var/lib/ci", "/var/lib/ci"),
        ("/var/lib", "/var/lib/ci"),
        ("/var", ""),
        ("~", ""),
        ("~/x", ""),
        ("/Users/bob", ""),
        ("/Users/bob/src", ""),
        ("/tmp/build", ""),
        ("*", ""),
        ("", ""),
        ("rel/path", ""),
    ],
)
def test_protected_paths_agree_with_is_at_or_above(target: str, home: str) -> None:
    """The precomputed set must give exactly the answers of the plain definition."""
    expected = any(is_at_or_above(target, p, home) for p in PROTECTED)
    assert ProtectedPaths(PROTECTED).covers(target, home) is expected
