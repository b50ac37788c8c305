"""The lexer, splitter and argv reader behind ``shell.analyze``, tested at their own level."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policy_server.engine.shell_lexer import (
    ARITH,
    CLOSE,
    CMD,
    LITERAL,
    OP,
    OPEN,
    REDIR,
    SEP,
    SUBS,
    WORD,
    Scope,
    ShellSyntaxError,
    expand_braces,
    quick_split,
    quoted_info,
    scan_expansions,
    split,
    tokenize,
)
from policy_server.engine.shell_options import (
    assignments,
    find_exec,
    parse_argv,
    spec_names,
    spec_pairs,
    spec_table,
)


def kinds(text: str) -> list:
    return [(kind, value) for kind, value, _ in tokenize(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("git status", [(WORD, "git"), (WORD, "status")]),
        ("a&&b||c", [(WORD, "a"), (OP, "&&"), (WORD, "b"), (OP, "||"), (WORD, "c")]),
        ("a|&b", [(WORD, "a"), (OP, "|&"), (WORD, "b")]),
        ("a;;b", [(WORD, "a"), (OP, ";;"), (WORD, "b")]),
        ("(a)", [(OP, "("), (WORD, "a"), (OP, ")")]),
        ("a\nb", [(WORD, "a"), (OP, "\n"), (WORD, "b")]),
        ("a 2>f", [(WORD, "a"), (REDIR, "2>")]),
        ("a &>f", [(WORD, "a"), (REDIR, "&>")]),
        ("a2>f", [(WORD, "a2"), (REDIR, ">")]),
        ("a # c", [(WORD, "a")]),
        ("'a b'\"c\"", [(WORD, "a bc")]),
        ("a\\\nb", [(WORD, "ab")]),
        ("x{a,b}y", [(WORD, "xay"), (WORD, "xby")]),
        ("'{a,b}'", [(WORD, "{a,b}")]),
        ("{}", [(WORD, "{}")]),
        ("((x++))", [(ARITH, "x++")]),
    ],
)
def test_token_kinds(text: str, expected: list) -> None:
    assert kinds(text) == expected


def test_plain_words_have_no_info() -> None:
    assert all(info is None for _, _, info in tokenize("ls -la src/"))


def test_word_info_records_quoting_and_raw_text() -> None:
    ((_, value, info),) = tokenize("A='x y'")
    assert value == "A=x y" and info.quoted and info.raw == "A='x y'" and not info.dynamic


@pytest.mark.parametrize(
    ("text", "dynamic", "cmdsub"),
    [
        ("$X", "variable as command word", False),
        ("${X}", "variable as command word", False),
        ('"$X"', "variable as command word", False),
        ("$(ls)", "command substitution as command word", True),
        ("`ls`", "command substitution as command word", True),
        ("$X$(ls)", "command substitution as command word", True),
        ("$((1))", "arithmetic expansion as command word", False),
        ("<(ls)", "process substitution as command word", True),
        ("'$X'", "", False),
        ("\\$X", "", False),
    ],
)
def test_dynamic_words(text: str, dynamic: str, cmdsub: bool) -> None:
    ((_, _, info),) = tokenize(text)
    assert info.dynamic == dynamic and info.cmdsub == cmdsub


def test_substitution_tokens_are_nested() -> None:
    ((_, value, info),) = tokenize("$(a | b)")
    assert value == "$(a | b)"
    assert [[t[1] for t in sub] for sub in info.subs] == [["a", "|", "b"]]


def test_backtick_body_is_unescaped_once() -> None:
    ((_, _, info),) = tokenize("`echo \\`ls\\``")
    inner = info.subs[0]
    assert inner[0][1] == "echo" and inner[1][2].cmdsub


def test_heredoc_body_and_delimiter_quoting() -> None:
    toks = tokenize("cat <<'E' >out\n$(x)\nE\nls")
    redir = toks[1][2]
    assert (redir.target, redir.body, redir.expand, redir.body_subs) == ("E", "$(x)\n", False, [])
    assert [t[1] for t in toks if t[0] == WORD] == ["cat", "ls"]
    unquoted = tokenize("cat <<E\n$(x)\nE")[1][2]
    assert unquoted.expand and len(unquoted.body_subs) == 1


def test_here_string_target_is_the_word() -> None:
    redir = tokenize('bash <<< "a b"')[1][2]
    assert (redir.op, redir.target, redir.body) == ("<<<", "a b", None)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("'a", "unbalanced quote"),
        ('"a', "unbalanced quote"),
        ("$'a", "unbalanced quote"),
        ("$(a", "unbalanced parenthesis"),
        ("<(a", "unbalanced parenthesis"),
        ("`a", "unbalanced backtick"),
        ("${a", "unbalanced brace"),
        ("a <<E", "unterminated here-doc"),
        ("a <<E\nb", "unterminated here-doc"),
        ("$(a <<E)", "unterminated here-doc"),
        ("a >", "missing redirection target"),
        ("a > | b", "missing redirection target"),
        ("$($($($($($(a))))))", "nesting deeper than 5"),
    ],
)
def test_syntax_errors(text: str, reason: str) -> None:
    with pytest.raises(ShellSyntaxError) as err:
        tokenize(text)
    assert err.value.reason == reason


def test_depth_counts_from_the_caller() -> None:
    tokenize("$(a)", depth=4, limit=5)
    with pytest.raises(ShellSyntaxError):
        tokenize("$(a)", depth=5, limit=5)


def test_ansi_c_escapes() -> None:
    assert kinds("$'\\x41\\101\\u00e9\\n\\cA\\q\\U0010FFFF\\UFFFFFFFF'") == [
        (WORD, "AAé\n\x01q\U0010ffff\ufffd")
    ]


def test_expand_braces_limits() -> None:
    assert expand_braces("a{b,c}{d,e}") == ["abd", "abe", "acd", "ace"]
    assert expand_braces("{a,{b,c}}") == ["{a,{b,c}}"]
    assert expand_braces("${a,b}") == ["${a,b}"]
    assert len(expand_braces("{a,b}" * 20)) == 64


def test_scan_expansions_finds_substitutions_only() -> None:
    assert scan_expansions('say "$(a)" `b` $c', 0, 5)[0][0][1] == "a"
    assert len(scan_expansions("$(a) `b`", 0, 5)) == 2
    assert scan_expansions("no code here", 0, 5) == []


def events(text: str) -> list:
    out = []
    for event in split(tokenize(text)):
        if event[0] == CMD:
            out.append((CMD, [w for w, _ in event[1]]))
        else:
            out.append(event[:2] if event[0] != SUBS else (SUBS, len(event[1])))
    return out


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a | b", [(CMD, ["a"]), (SEP, "|"), (CMD, ["b"])]),
        ("(a); b", [(OPEN, True), (CMD, ["a"]), (CLOSE, True), (SEP, ";"), (CMD, ["b"])]),
        ("{ a; }", [(OPEN, False), (CMD, ["a"]), (SEP, ";"), (CLOSE, False)]),
        ("if a; then b; fi", [(CMD, ["a"]), (SEP, ";"), (CMD, ["b"]), (SEP, ";")]),
        ("for x in $(a) b; do c; done", [(SUBS, 1), (SEP, ";"), (CMD, ["c"]), (SEP, ";")]),
        ("case $(a) in x) b;; esac", [(SUBS, 1), (CMD, ["b"]), (SEP, ";")]),
        ("[[ $(a) ]]", [(SUBS, 1)]),
        ("f() { a; }", [(OPEN, False), (CMD, ["a"]), (SEP, ";"), (CLOSE, False)]),
        ("function f() { a; }", [(OPEN, False), (CMD, ["a"]), (SEP, ";"), (CLOSE, False)]),
        ("echo if", [(CMD, ["echo", "if"])]),
        ("a > f", [(CMD, ["a"])]),
    ],
)
def test_split_events(text: str, expected: list) -> None:
    assert events(text) == expected


SPECS = {
    "rm": ({"r": "recursive", "f": "force"}, frozenset(), frozenset(), False, False, 0),
    "git": ({"C": "directory"}, frozenset({"-C"}), frozenset(), False, True, 0),
    "git commit": ({"m": "message"}, frozenset({"-C", "-m"}), frozenset(), False, True, 0),
    "sed": ({"i": "in-place"}, frozenset({"-e"}), frozenset({"-i"}), False, False, 0),
    "find": ({}, frozenset({"-name"}), frozenset(), True, False, 0),
    "ssh": ({}, frozenset({"-i"}), frozenset(), False, False, 1),
}


@pytest.mark.parametrize(
    ("key", "words", "flags", "options", "args"),
    [
        ("rm", "-rf / -v", {"recursive", "force", "v"}, [], ["/"]),
        ("rm", "-- -rf", set(), [], ["-rf"]),
        ("rm", "- x", set(), [], ["-", "x"]),
        (
            "git",
            "-C d commit -m msg x",
            {"directory", "message"},
            [("directory", "d"), ("message", "msg")],
            ["commit", "x"],
        ),
        ("git", "commit -mmsg", {"message"}, [("message", "msg")], ["commit"]),
        ("git", "--git-dir=x log", {"git-dir"}, [("git-dir", "x")], ["log"]),
        (
            "sed",
            "-i.bak -e s/a/b/ f",
            {"in-place", "e"},
            [("in-place", ".bak"), ("e", "s/a/b/")],
            ["f"],
        ),
        ("sed", "-i s/a/b/ f", {"in-place"}, [], ["s/a/b/", "f"]),
        ("find", ". -name x -delete", {"name", "delete"}, [("name", "x")], ["."]),
        ("ssh", "-i k host -v cmd", {"i"}, [("i", "k")], ["host", "-v", "cmd"]),
        ("unknown", "-x --y=1 z", {"x", "y"}, [("y", "1")], ["z"]),
    ],
)
def test_parse_argv(key: str, words: str, flags: set, options: list, args: list) -> None:
    argv = parse_argv(key, words.split(), SPECS)
    assert (argv.flags, argv.options, argv.args) == (flags, options, args)


def test_parse_argv_stop_mode_finds_the_command_word() -> None:
    values = ["-u", "root", "--", "rm", "-rf"]
    spec = {"sudo": ({}, frozenset({"-u"}), frozenset(), False, False, 0)}
    assert parse_argv("sudo", values, spec, 0, stop=True).end == 3
    assert parse_argv("sudo", ["-E", "ls"], spec, 0, stop=True).end == 1


def test_parse_argv_records_subcommand_index() -> None:
    assert parse_argv("git", ["-C", "d", "push", "x"], SPECS).sub_at == 0
    assert parse_argv("rm", ["a"], SPECS).sub_at == -1


def test_spec_helpers() -> None:
    assert spec_pairs("a=b c=d") == {"a": "b", "c": "d"}
    assert spec_names("a b a") == frozenset({"a", "b"})
    assert spec_table("x: 1 2\n    3\ny z: 4\n") == {"x": "1 2    3", "y z": "4"}
    assert spec_table("a: 1; b: 2 3") == {"a": "1", "b": "2 3"}


def test_scope_tracks_pipeline_and_subshells() -> None:
    scope = Scope("/p", (), "/h")
    scope.ran(["a"])
    scope.separator("|")
    assert scope.up == ["a"]
    scope.open(True)
    scope.chdir("/x")
    scope.ran(["b"])
    scope.close()
    assert scope.cwd == "/p" and scope.seg == ["b"]
    scope.separator("&&")
    assert scope.up == [] and scope.top == ["a", "b"]
    scope.close()  # stray ``)`` is ignored


def test_assignments_and_find_exec() -> None:
    words = [("A=1", None), ("B+=x", None), ("ls", None)]
    assert assignments(words, 0) == (2, [("A", "1"), ("B", "x")])
    own, spans = find_exec([".", "-exec", "rm", "{}", ";", "-execdir", "ls", "+", "-ok", ";"])
    assert own == [".", "-exec", "-execdir", "-ok"] and spans == [(2, 4), (6, 7)]


# quick_split: the one-regex path for simple lines must give what the full lexer gives -------


def _as_split_events(events: list) -> list:
    """Events with each command as (CMD, [(value, info fields)], [redirection fields])."""

    def info(i: Any) -> Any:
        return None if i is None else (i.raw, i.quoted, i.dynamic, i.subs, i.cmdsub, i.procsub)

    def redirs(rs: list) -> list:
        return [(r.op, r.target, info(r.info), r.body, r.expand) for r in rs]

    out = []
    for event in events:
        if event[0] == LITERAL:
            _, values, rs, quoted = event
            quoted = quoted or {}
            words = [(v, info(quoted_info(quoted[k]) if k in quoted else None)) for k, v in
                     enumerate(values)]  # fmt: skip
            out.append((CMD, words, redirs(rs)))
        elif event[0] == CMD:
            out.append((CMD, [(v, info(i)) for v, i in event[1]], redirs(event[2])))
        else:
            out.append(event)
    return out


QUICK_PIECES = ["ls", "a", "1", "2>&1", "> f", "<<< x", "<<E", "&&", "||", "|", ";", "&", ";;",
                "\n", " ", "\t", "'a b'", '"c d"', "x'y'z", "'", '"', "#", "{a,b}", "{", "}",
                "=", "A=1", "$x", "\\", "(", ")", "é", "\r", "!", "[[", "if", "*", "&>", "2>"]  # fmt: skip


@pytest.mark.parametrize(
    "text",
    ["git status --short && git diff HEAD -- a.py | cat", "git commit -m 'fix: x' && git push",
     "git log --since='2 weeks ago' -- f | head -n 20", "make 2>&1 | tail > out; echo done",
     "cat <<< 'x y' | sh", "a#b #c", "if x; then y; fi", "echo {a,b}", "é ü", "ls >", "x ;;"],
)  # fmt: skip
def test_quick_split_matches_the_full_lexer(text: str) -> None:
    quick = quick_split(text)
    if quick is not None:  # None hands the line to the full lexer
        assert _as_split_events(quick) == _as_split_events(split(tokenize(text)))


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(QUICK_PIECES), max_size=10).map("".join))
def test_property_quick_split_matches_the_full_lexer(text: str) -> None:
    test_quick_split_matches_the_full_lexer(text)
