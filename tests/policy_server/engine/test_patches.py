"""patch_paths: every file a Codex apply_patch (or a unified diff) would touch."""

from __future__ import annotations

import pytest

from policy_server.engine.patches import patch_paths

CODEX_PATCH = """*** Begin Patch
*** Add File: docs/new.md
+# New
+*** Add File: not/a/header.md
*** Update File: src/app.py
*** Move to: src/main.py
@@ def main():
-    print("hi")
+    print("hello")
*** Delete File: old/legacy.py
*** Update File: /etc/hosts
@@
+127.0.0.1 evil
*** End Patch
"""


def test_codex_patch_lists_every_operation_in_order():
    assert patch_paths(CODEX_PATCH) == (
        "docs/new.md",
        "src/app.py",
        "src/main.py",
        "old/legacy.py",
        "/etc/hosts",
    )


def test_added_content_that_looks_like_a_marker_is_not_a_path():
    assert "not/a/header.md" not in patch_paths(CODEX_PATCH)


def test_duplicates_are_reported_once():
    patch = "*** Begin Patch\n*** Update File: a.py\n*** Update File: a.py\n*** End Patch"
    assert patch_paths(patch) == ("a.py",)


@pytest.mark.parametrize(
    "patch, expected",
    [
        ("*** Begin Patch\r\n*** Update File: a.py\r\n*** End Patch\r\n", ("a.py",)),
        ("  *** Add File:   spaced name.txt  \n", ("spaced name.txt",)),
        ("*** Add File: ~/.bashrc\n", ("~/.bashrc",)),
        ("*** Update File: ../outside.txt\n", ("../outside.txt",)),
        ("*** Add File:\n*** Delete File: \n", ()),
        ("*** Begin Patch\n*** End Patch\n", ()),
    ],
)
def test_codex_patch_edge_cases(patch, expected):
    assert patch_paths(patch) == expected


@pytest.mark.parametrize(
    "patch, expected",
    [
        (
            "diff --git a/src/x.py b/src/x.py\n"
            "--- a/src/x.py\n+++ b/src/x.py\n@@ -1 +1 @@\n-a\n+b\n",
            ("src/x.py",),
        ),
        ("--- /dev/null\n+++ b/new.txt\n@@ -0,0 +1 @@\n+x\n", ("new.txt",)),
        ("--- a/gone.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\n", ("gone.txt",)),
        ("--- a/old.txt\n+++ b/renamed.txt\n", ("old.txt", "renamed.txt")),
        ("--- orig.c\t2024-01-01 10:00:00\n+++ new.c\t2024-01-02 10:00:00\n", ("orig.c", "new.c")),
        ('--- "a/sp ace.txt"\n+++ "b/caf\\303\\251.txt"\n', ("sp ace.txt", "café.txt")),
        ("--- /etc/passwd\n+++ /etc/passwd\n", ("/etc/passwd",)),
    ],
)
def test_unified_diff_headers(patch, expected):
    assert patch_paths(patch) == expected


def test_hunk_lines_starting_with_dashes_are_not_headers():
    patch = "--- a/f.md\n+++ b/f.md\n@@ -1,2 +1,1 @@\n--- a removed rule\n context\n+++ added\n"
    assert patch_paths(patch) == ("f.md",)


@pytest.mark.parametrize("value", [None, 42, b"*** Add File: x", ["*** Add File: x"], {}, ""])
def test_non_text_or_empty_input_yields_nothing(value):
    assert patch_paths(value) == ()


@pytest.mark.parametrize(
    "patch",
    [
        '--- "unterminated\\',
        '--- "a/\\777\\"\n+++ "b/\\x"',
        "*** Add File: \udcff\n",
        "\x00" * 10,
        "--- \n+++ \n",
    ],
)
def test_hostile_text_never_raises(patch):
    assert isinstance(patch_paths(patch), tuple)
