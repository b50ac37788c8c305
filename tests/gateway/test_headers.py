"""Header blocks: parsed like a line-by-line reader would, malformed ones refused, lines dropped."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway import headers

TOKEN_CHARS = "!#$%&'*+.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-"
names = st.text(TOKEN_CHARS, min_size=1, max_size=20)
# Any visible Latin-1 text, with blanks anywhere (also leading and trailing ones).
values = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, blacklist_characters="\x7f")
    | st.sampled_from(" \t"),
    max_size=40,
)


def reference(block: str) -> dict[str, str] | None:
    """What a plain line-by-line parser makes of ``block`` (lines ending in CRLF)."""
    parsed = {}
    for line in block.split("\r\n")[:-1]:
        name, colon, value = line.partition(":")
        if not colon or not name or any(c not in TOKEN_CHARS for c in name):
            return None
        parsed[name.lower()] = value.strip(" \t")
    return parsed


@given(st.lists(st.tuples(names, values), max_size=8))
def test_parse_matches_a_line_by_line_reader(lines: list[tuple[str, str]]) -> None:
    block = "".join(f"{name}:{value}\r\n" for name, value in lines)
    assert headers.parse(block) == reference(block)


@given(st.lists(st.tuples(names, values), max_size=8))
def test_fold_values_lower_cases_names_and_values(lines: list[tuple[str, str]]) -> None:
    block = "".join(f"{name}:{value}\r\n" for name, value in lines)
    expected = reference(block)
    assert expected is not None
    folded = {name: value.lower() for name, value in expected.items()}
    assert headers.parse(block, fold_values=True) == folded


@pytest.mark.parametrize(
    "block",
    [
        "no colon here\r\n",
        "Host: a\r\n: empty name\r\n",
        "Bad Name: x\r\n",
        "Host: a\r\n\r\n",
        "Folded: a\r\n continued\r\n",
    ],
)
def test_malformed_lines_refuse_the_whole_block(block: str) -> None:
    assert headers.parse(block) is None


def test_values_keep_inner_blanks_and_lose_outer_ones() -> None:
    block = "X-A:  two  words \t\r\nX-Empty: \t \r\nx-a: last wins\r\n"
    assert headers.parse(block) == {"x-a": "last wins", "x-empty": ""}


def test_dropper_removes_named_lines_and_wildcards_only() -> None:
    drop = headers.dropper(("host", "x-reins-*"))
    block = "Host: a\r\nX-Reins-Agent: b\r\nX-Reinsurance: c\r\nAccept: */*\r\nhost-ish: d\r\n"
    assert drop.sub("", block) == "X-Reinsurance: c\r\nAccept: */*\r\nhost-ish: d\r\n"
