"""Shell tokeniser and statement splitter behind ``shell.analyze``.

``tokenize`` turns a command line into tokens with quotes, escapes and ANSI-C strings resolved,
command / process substitutions lexed recursively and here-doc bodies attached to their
redirection. ``split`` walks those tokens and yields the grammar-level events ``shell`` needs:
simple commands, separators, subshell / group boundaries and substitutions that live outside
any simple command (``for x in $(…)``, ``case $(…) in``, ``[[ … ]]``, ``(( … ))``).

The common path (plain words and operators) is one compiled regex per token; only quoted text,
``$`` expansions, backticks and here-docs drop to slower part-by-part handling. Simpler still,
``parse`` first tries ``quick_split``: a line of literal and plainly quoted words, redirections
and list operators is tokenised and split by one ``findall``, with no Token list in between.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Pattern, Tuple

from .shell_options import spec_names

# Token kinds. Tokens are tuples ``(kind, text, extra)``: for WORD, ``text`` is the word with
# quotes removed and ``extra`` is None (plain, unquoted, literal word) or a WordInfo; for OP,
# ``text`` is the operator; for REDIR, ``extra`` is a Redir; for ARITH (``(( … ))``), ``extra``
# is the list of substitutions found inside.
WORD, OP, REDIR, ARITH = 0, 1, 2, 3

# Events produced by ``split`` (and LITERAL commands by ``quick_split``).
CMD, SEP, OPEN, CLOSE, SUBS, LITERAL = 0, 1, 2, 3, 4, 5

Token = Tuple[int, str, Any]

VAR_WORD = "variable as command word"
CMDSUB_WORD = "command substitution as command word"
PROCSUB_WORD = "process substitution as command word"
ARITH_WORD = "arithmetic expansion as command word"


class ShellSyntaxError(Exception):
    """The text cannot be tokenised the way a shell would; ``reason`` is user-facing."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class WordInfo:
    """What a non-plain word was made of, for the decisions quote removal erases."""

    __slots__ = ("cmdsub", "dynamic", "procsub", "quoted", "raw", "subs")

    def __init__(self) -> None:
        self.raw = ""  # source text, to tell ``A=b`` from ``'A=b'``
        self.quoted = False  # quoted or escaped: not a reserved word, no brace expansion
        self.dynamic = ""  # why it is not literal when used as the command word
        self.subs: List[List[Token]] = []  # token lists of $( ), ` `, <( ), >( ) inside
        self.cmdsub = False  # command output becomes part of the word
        self.procsub = False  # the word is exactly a process substitution


class Redir:
    """One redirection; here-doc bodies are filled in when the lexer reaches the next line."""

    __slots__ = ("body", "body_subs", "expand", "info", "op", "target")

    def __init__(self, op: str, target: str, info: Optional[WordInfo]) -> None:
        self.op = op
        self.target = target
        self.info = info
        self.body: Optional[str] = None  # here-doc text
        self.expand = info is None or not info.quoted  # unquoted delimiter: body is expanded
        self.body_subs: List[List[Token]] = []


_WORD_CHARS = r"[^ \t\n'\"\\$`|&;()<>]"
# Alternatives are ordered by frequency: plain words first (not ``#``, which starts a
# comment, nor ``2>`` digits, which start a redirection).
_TOKEN = re.compile(
    r"[ \t]*(?:\\\n[ \t]*)*"
    r"(?:(?P<pw>(?![0-9]*[<>])[^ \t\n'\"\\$`|&;()<>#]" + _WORD_CHARS + r"*)(?=[ \t\n|&;()<>]|\Z)"
    r"|(?P<ps>[<>]\()"
    r"|(?P<rd>[0-9]*(?:<<<|<<-|<<|<>|<&|>>|>&|>\||[<>])|&>>|&>)"
    r"|(?P<op>&&|\|\||;;&|;;|;&|\|&|\(\(|[|&;()\n])"
    r"|(?P<qw>'[^']*'|\"[^\"\\$`]*\")(?=[ \t\n|&;()<>]|\Z)"
    r"|(?P<eof>\Z)"
    r"|(?P<cmt>#[^\n]*)"
    r"|(?P<slow>))"
)
_VAR = r"\$(?P<var>[A-Za-z_][A-Za-z0-9_]*|\{[A-Za-z_][A-Za-z0-9_]*\}|[0-9?#@*$!-])"
_PART = re.compile(
    r"(?P<plain>" + _WORD_CHARS + r"+)"
    r"|'(?P<sq>[^']*)'"
    r"|\"(?P<dq>[^\"\\$`]*)\""
    r"|\$'(?P<ansi>(?:[^'\\]|\\[\s\S])*)'"
    r"|(?P<lc>\\\n)"
    r"|\\(?P<esc>[\s\S])"
    r"|" + _VAR + r"|(?P<open>\$\(\(|\$\(|\$\{|`|\$?\"|')"
    r"|(?P<lit>[$\\])"
    r"|(?P<end>)"
)
_DQ = re.compile(
    r"(?P<plain>[^\"\\$`]+)"
    r"|\\(?P<esc>[$`\"\\\n])"
    r"|" + _VAR + r"|(?P<open>\$\(\(|\$\(|\$\{|`)"
    r"|(?P<close>\")"
    r"|(?P<lit>[$\\])"
    r"|(?P<end>\Z)"
)
_BACKTICK_BODY = re.compile(r"(?:[^`\\]|\\[\s\S])*`")
_BACKTICK_UNESCAPE = re.compile(r"\\([$`\\])")
_ANSI_ESCAPE = re.compile(
    r"\\(?:x([0-9A-Fa-f]{1,2})|u([0-9A-Fa-f]{1,4})|U([0-9A-Fa-f]{1,8})|([0-7]{1,3})|c(.)|([\s\S]))"
)
_ANSI_SIMPLE = dict(zip("ntrabfveE", "\n\t\r\a\b\f\v\x1b\x1b"))
# Lines of plain words only (the common ``git status``) are split like ``str.split``.
_NOT_PLAIN = re.compile(r"[^-\w./:=@%+,^~*?\[\] \t]", re.ASCII)
_PARENS = re.compile(r"[()]")
_BRACE_SCAN = re.compile(r"\\[\s\S]|[{}]")
_BRACES = re.compile(r"^([^{]*)\{([^{}]*,[^{}]*)\}(.*)$", re.DOTALL)
_MAX_BRACE_WORDS = 64
# Work bounds: a pipeline's pipe_from grows with its length and ``((`` may be rescanned, so
# absurd inputs become "command too complex" instead of seconds of CPU.
_MAX_TOKENS = 4000
_MAX_SCAN = 200_000
_TOO_COMPLEX = "command too complex"


def tokenize(text: str, depth: int = 0, limit: int = 5) -> List[Token]:
    """Tokens of ``text``; substitutions nested deeper than ``limit`` raise ShellSyntaxError."""
    if _NOT_PLAIN.search(text) is None:
        toks: List[Token] = [(WORD, word, None) for word in text.split()]
    else:
        toks = _Lexer(text, depth, limit).tokens(0, False)[0]
    if len(toks) > _MAX_TOKENS:
        raise ShellSyntaxError(_TOO_COMPLEX)
    return toks


def scan_expansions(text: str, depth: int, limit: int) -> List[List[Token]]:
    """Substitutions inside text the shell expands but does not split (here-doc bodies)."""
    info = WordInfo()
    _Lexer(text, depth, limit).double_quoted(0, [], info, closed=False)
    return info.subs


def _decode_ansi(body: str) -> str:
    """``$'…'`` escapes: ``$'\\x72\\x6d'`` is ``rm`` to the shell, so it must be to us."""
    return _ANSI_ESCAPE.sub(_ansi_char, body) if "\\" in body else body


def _ansi_char(m: re.Match[str]) -> str:
    hex2, hex4, hex8, octal, ctrl, other = m.groups()
    if other is not None:
        return _ANSI_SIMPLE.get(other, other)
    if ctrl is not None:
        return chr(ord(ctrl) & 0x1F)
    code = int(hex2 or hex4 or hex8 or octal, 8 if octal else 16)
    return chr(code) if code <= 0x10FFFF else "\ufffd"


def _quoted_word(raw: str) -> Token:
    """A word that is one plain quoted string needs no part-by-part walk."""
    info = WordInfo()
    info.raw, info.quoted = raw, True
    return (WORD, raw[1:-1], info)


def expand_braces(word: str) -> List[str]:
    """Non-nested ``{a,b}`` brace expansion: ``{rm,-rf,/}`` runs ``rm -rf /``."""
    out, rest = [""], word
    m = _BRACES.match(rest)
    while m is not None and "$" not in m.group(1) and len(out) < _MAX_BRACE_WORDS:
        head, alts, rest = m.groups()
        out = [done + head + alt for done in out for alt in alts.split(",")][:_MAX_BRACE_WORDS]
        m = _BRACES.match(rest)
    return [done + rest for done in out]


class _Lexer:
    """Tokeniser state for one string; recursion depth counts nested substitutions."""

    __slots__ = ("depth", "limit", "n", "s", "scanned")

    def __init__(self, s: str, depth: int, limit: int) -> None:
        self.s = s
        self.n = len(s)
        self.depth = depth
        self.limit = limit
        self.scanned = 0  # characters looked at while searching for ``))``

    def nested(self) -> _Lexer:
        """Entering a substitution: the depth limit keeps recursion (and RecursionError) away."""
        if self.depth >= self.limit:
            raise ShellSyntaxError(f"nesting deeper than {self.limit}")
        self.depth += 1
        return self

    def tokens(self, pos: int, closing: bool) -> Tuple[List[Token], int]:
        """Tokens from ``pos``; with ``closing`` stop after the ``)`` that ends a ``$(``."""
        s = self.s
        toks: List[Token] = []
        pending: List[Tuple[Redir, bool]] = []
        parens = cases = 0
        match = _TOKEN.match
        while True:
            m = match(s, pos)
            kind = m.lastgroup
            pos = m.end()
            if kind == "pw":
                word = m.group(kind)
                if "{" in word and "," in word:
                    toks.extend((WORD, w, None) for w in expand_braces(word))
                else:
                    if closing and (not toks or toks[-1][0] == OP):
                        cases += (word == "case") - (word == "esac")
                    toks.append((WORD, word, None))
            elif kind == "op":
                op = m.group(kind)
                if op == "((":
                    end = self.arith_end(pos)
                    if end >= 0:
                        pos = self.arithmetic(pos, end, toks)
                        continue
                    toks.append((OP, "(", None))
                    parens, op = parens + 1, "("
                if op == "\n" and pending:
                    pos = self.heredocs(pos, pending)
                elif closing and op == ")" and parens == 0 and cases <= 0:
                    if pending:
                        raise ShellSyntaxError("unterminated here-doc")
                    if len(toks) > _MAX_TOKENS:
                        raise ShellSyntaxError(_TOO_COMPLEX)
                    return toks, pos
                elif op == "(":
                    parens += 1
                elif op == ")" and parens:
                    parens -= 1
                toks.append((OP, op, None))
            elif kind == "slow":
                tok, pos = self.word(pos)
                toks.append(tok)
            elif kind == "qw":
                toks.append(_quoted_word(m.group(kind)))
            elif kind == "rd":
                pos = self.redirection(m.group(kind), pos, toks, pending)
            elif kind == "ps":
                tok, pos = self.process_substitution(pos - 2)
                toks.append(tok)
            elif kind == "eof":
                if pending:
                    raise ShellSyntaxError("unterminated here-doc")
                if closing:
                    raise ShellSyntaxError("unbalanced parenthesis")
                return toks, pos

    def redirection(self, op: str, pos: int, toks: List[Token], pending: List[Any]) -> int:
        """Read the target word of ``op``; a here-doc waits for the end of the line."""
        m = _TOKEN.match(self.s, pos)
        kind = m.lastgroup
        if kind == "pw":
            value, info, pos = m.group(kind), None, m.end()
        elif kind == "qw":
            (_, value, info), pos = _quoted_word(m.group(kind)), m.end()
        elif kind == "slow":
            (_, value, info), pos = self.word(m.end())
        elif kind == "ps":
            (_, value, info), pos = self.process_substitution(m.end() - 2)
        else:
            raise ShellSyntaxError("missing redirection target")
        redir = Redir(op, value, info)
        if op.lstrip("0123456789") in ("<<", "<<-"):
            pending.append((redir, op.endswith("-")))
        toks.append((REDIR, op, redir))
        return pos

    def heredocs(self, pos: int, pending: List[Tuple[Redir, bool]]) -> int:
        """Consume the bodies of the here-docs opened on the line that just ended."""
        s, n = self.s, self.n
        for redir, strip_tabs in pending:
            lines: List[str] = []
            while True:
                if pos >= n:
                    raise ShellSyntaxError("unterminated here-doc")
                end = s.find("\n", pos)
                end = n if end < 0 else end
                line = s[pos:end]
                pos = end + 1
                if strip_tabs:
                    line = line.lstrip("\t")
                if line == redir.target:
                    break
                lines.append(line)
            redir.body = "\n".join(lines) + "\n" if lines else ""
            if redir.expand and ("$" in redir.body or "`" in redir.body):
                redir.body_subs = scan_expansions(redir.body, self.depth, self.limit)
        del pending[:]
        return min(pos, n)

    def arithmetic(self, pos: int, end: int, toks: List[Token]) -> int:
        """Skip ``(( … ))`` but keep the substitutions inside (they still run)."""
        body = self.s[pos : end - 2]
        subs = scan_expansions(body, self.depth, self.limit) if "$(" in body or "`" in body else []
        toks.append((ARITH, body, subs))
        return end

    def arith_end(self, pos: int) -> int:
        """Position after the ``))`` closing a ``((`` just before ``pos``, or -1.

        ``((cd x); ls)`` is two nested subshells, not arithmetic; bash decides the same way.
        """
        level, end = 2, self.n
        for m in _PARENS.finditer(self.s, pos):
            level += 1 if m.group() == "(" else -1
            if level == 0:
                end = m.end()
                break
        self.scanned += end - pos
        if self.scanned > _MAX_SCAN:
            raise ShellSyntaxError(_TOO_COMPLEX)
        return end if level == 0 and self.s[end - 2 : end] == "))" else -1

    def word(self, pos: int) -> Tuple[Token, int]:
        """A word with quotes, escapes or expansions, resolved part by part."""
        s = self.s
        start = pos
        parts: List[str] = []
        info = WordInfo()
        match = _PART.match
        while True:
            m = match(s, pos)
            kind = m.lastgroup
            if kind == "plain" or kind == "lit":
                parts.append(m.group(kind))
            elif kind == "end":
                break
            elif kind == "sq" or kind == "dq" or kind == "esc":
                parts.append(m.group(kind))
                info.quoted = True
            elif kind == "var":
                parts.append(m.group())
                info.dynamic = info.dynamic or VAR_WORD
            elif kind == "ansi":
                parts.append(_decode_ansi(m.group(kind)))
                info.quoted = True
            elif kind == "open":
                pos = self.expansion(m.group(kind), m.end(), parts, info)
                continue
            pos = m.end()
        info.raw = s[start:pos]
        return (WORD, "".join(parts), info), pos

    def expansion(self, opener: str, pos: int, parts: List[str], info: WordInfo) -> int:
        """``$((``, ``$(``, ``${``, backticks and double quotes inside a word."""
        if opener == "'":
            raise ShellSyntaxError("unbalanced quote")
        if opener.endswith('"'):
            info.quoted = True
            return self.double_quoted(pos, parts, info, closed=True)
        return self.substitution(opener, pos, parts, info)

    def double_quoted(self, pos: int, parts: List[str], info: WordInfo, closed: bool) -> int:
        """Body of ``"…"`` (or of a here-doc when not ``closed``) from ``pos``."""
        s = self.s
        match = _DQ.match
        while True:
            m = match(s, pos)
            kind = m.lastgroup
            if kind == "plain" or kind == "lit":
                parts.append(m.group(kind))
            elif kind == "esc":
                char = m.group(kind)
                parts.append("" if char == "\n" else char)
            elif kind == "var":
                parts.append(m.group())
                info.dynamic = info.dynamic or VAR_WORD
            elif kind == "open":
                pos = self.substitution(m.group(kind), m.end(), parts, info)
                continue
            elif kind == "close":
                if closed:
                    return m.end()
                parts.append('"')
            else:
                if closed:
                    raise ShellSyntaxError("unbalanced quote")
                return pos
            pos = m.end()

    def substitution(self, opener: str, pos: int, parts: List[str], info: WordInfo) -> int:
        """``$(…)``, backticks, ``${…}`` and ``$((…))``: keep the text, lex any inner commands."""
        start = pos - len(opener)
        end = self.arith_end(pos) if opener == "$((" else -1
        if opener == "$((" and end < 0:
            opener, pos = "$(", pos - 1  # ``$( (a) )``: a substitution holding a subshell
        if opener == "$(":
            toks, pos = self.nested().tokens(pos, True)
            self.depth -= 1
            info.subs.append(toks)
            info.cmdsub = True
            info.dynamic = CMDSUB_WORD
        elif opener == "`":
            pos = self.backticks(pos, info)
        else:
            pos = end if opener == "$((" else self.brace_end(pos)
            inner = self.s[start + len(opener) : pos]
            if "$(" in inner or "`" in inner:
                found = scan_expansions(inner, self.depth, self.limit)
                info.subs.extend(found)
                info.cmdsub = info.cmdsub or bool(found)
            if not info.cmdsub:
                info.dynamic = info.dynamic or (ARITH_WORD if opener == "$((" else VAR_WORD)
        parts.append(self.s[start:pos])
        return pos

    def backticks(self, pos: int, info: WordInfo) -> int:
        """Old-style substitution: the body is unescaped once, then lexed as a script."""
        m = _BACKTICK_BODY.match(self.s, pos)
        if m is None:
            raise ShellSyntaxError("unbalanced backtick")
        body = _BACKTICK_UNESCAPE.sub(r"\1", self.s[pos : m.end() - 1])
        self.nested()
        try:
            info.subs.append(_Lexer(body, self.depth, self.limit).tokens(0, False)[0])
        finally:
            self.depth -= 1
        info.cmdsub = True
        info.dynamic = CMDSUB_WORD
        return m.end()

    def brace_end(self, pos: int) -> int:
        """Position after the ``}`` closing a ``${`` parameter expansion."""
        level = 1
        for m in _BRACE_SCAN.finditer(self.s, pos):
            level += {"{": 1, "}": -1}.get(m.group(), 0)
            if level == 0:
                return m.end()
        raise ShellSyntaxError("unbalanced brace")

    def process_substitution(self, pos: int) -> Tuple[Token, int]:
        """``<(…)`` / ``>(…)``: a word naming a pipe fed by (or feeding) inner commands."""
        toks, end = self.nested().tokens(pos + 2, True)
        self.depth -= 1
        info = WordInfo()
        info.raw = self.s[pos:end]
        info.subs.append(toks)
        info.cmdsub = info.procsub = True
        info.dynamic = PROCSUB_WORD
        return (WORD, info.raw, info), end


# In command position these are grammar, not programs (the ones without a branch in
# ``_Splitter.reserved`` just separate commands).
_RESERVED = spec_names(
    "if then else elif fi do done while until ! coproc { } for select case esac function [["
)
_CASE_ENDS = frozenset((";;", ";&", ";;&"))


def split(tokens: List[Token]) -> List[tuple]:
    """Grammar events: (CMD, words, redirs), (SEP, op), (OPEN|CLOSE, subshell), (SUBS, subs).

    ``words`` is a list of ``(value, info)``. Reserved words are consumed here so they never
    become programs; constructs with no command of their own report their substitutions.
    """
    return _Splitter(tokens).run()


def parse(text: str, depth: int = 0, limit: int = 5) -> List[tuple]:
    """``split(tokenize(text))``, in one regex pass when the line is simple (``quick_split``)."""
    events = quick_split(text)
    return split(tokenize(text, depth, limit)) if events is None else events


def _quick_regex(redirections: bool) -> Pattern[str]:
    """A simple line in one ``findall``, as tuples (run of printable ASCII words, which split
    like ``str.split``; other plain word; word with plain quotes; redirection; operator; the
    rest). Alternatives and lookaheads mirror _TOKEN; the last group takes the rest of the line
    when something needs the full lexer.

    Without ``<``/``>`` in the line no digits start a redirection (``2>``), so a run of words
    is one character class (``#`` left out: it starts a comment, the other alternative takes
    ``a#b``), a fifth faster than checking word by word.
    """
    chars = r"!%*+,\-./0-9:=?@A-Z\[\]^_a-z{}~"
    digits = r"(?![0-9]*[<>])" if redirections else ""
    if redirections:
        word = rf"{digits}[{chars}][#{chars}]*"
        run = rf"{word}(?:[ \t]+{word})*"
    else:
        run = rf"[{chars}][{chars} \t]*"
    end = r"(?=[ \t\n|&;()<>]|\Z)"
    return re.compile(
        rf"[ \t]*(?:({run}){end}"
        rf"|({digits}[^ \t\n'\"\\$`|&;()<>#]{_WORD_CHARS}*){end}"
        rf"|({digits}(?!#){_WORD_CHARS}*(?:(?:'[^']*'|\"[^\"\\$`]*\"){_WORD_CHARS}*)+){end}"
        r"|([0-9]*(?:<<<|<<-|<<|<>|<&|>>|>&|>\||[<>])|&>>|&>)"
        r"|(&&|\|\||;;&|;;|;&|\|&|\(\(|[|&;()\n])"
        r"|([^ \t][\s\S]*))"
    )


_QUICK = _quick_regex(redirections=True)
_QUICK_NO_REDIRECTIONS = _quick_regex(redirections=False)
_QUOTE_PARTS = re.compile(r"'([^']*)'|\"([^\"]*)\"")
_LIST_OPS = frozenset(("&&", "||", "|", "|&", ";", "&", "\n"))


def quick_split(text: str) -> Optional[List[tuple]]:
    """``split(tokenize(text))`` for lines of literal words, redirections and list operators.

    Commands are ``(LITERAL, values, redirs, quoted)``: most never need ``(value, info)``
    pairs, so the words' values, and quoted words' source text by index (``quoted_info``) or
    None. Returns None for anything else (``$``, backslashes, comments, here-docs, subshells,
    reserved words, brace expansion): the full lexer decides those, errors included.
    """
    if len(text) > _MAX_TOKENS:  # fewer characters than that cannot make too many tokens
        return None
    if _NOT_PLAIN.search(text) is None:  # ``git status``: words only, split like str.split
        values = text.split()
        if values and values[0] in _RESERVED:
            return None
        return [(LITERAL, values, [], None)] if values else []
    events: List[tuple] = []
    values: List[str] = []
    quoted_at: Optional[Dict[int, str]] = None
    redirs: List[Redir] = []
    pending = ""  # a redirection operator waiting for its target word
    found = (_QUICK if "<" in text or ">" in text else _QUICK_NO_REDIRECTIONS).findall(text)
    for run, plain, quoted, redir, op, _ in found:
        if run or plain:
            chunk = run or plain
            if "{" in chunk and "," in chunk:  # brace expansion, perhaps
                return None
            parts = run.split() if run else [plain]
            if pending:  # the word after a redirection operator is its target
                redirs.append(Redir(pending, parts.pop(0), None))
                pending = ""
            if parts:
                if not values and parts[0] in _RESERVED:
                    return None
                values += parts
        elif quoted:
            if pending:
                redirs.append(Redir(pending, _unquote(quoted), quoted_info(quoted)))
                pending = ""
            else:
                if quoted_at is None:
                    quoted_at = {}
                quoted_at[len(values)] = quoted
                values.append(_unquote(quoted))
        elif pending:
            return None
        elif redir:
            if redir.lstrip("0123456789") in ("<<", "<<-"):
                return None
            pending = redir
        elif op in _LIST_OPS:
            if values or redirs:
                events.append((LITERAL, values, redirs, quoted_at))
                values, quoted_at, redirs = [], None, []
            events.append((SEP, op))
        else:
            return None
    if values or redirs:
        events.append((LITERAL, values, redirs, quoted_at))
    return None if pending else events


def _unquote(raw: str) -> str:
    """A word of plain text and ``'…'`` / ``"…"`` parts without expansions: drop the quotes."""
    if '"' not in raw:
        return raw.replace("'", "")
    if "'" not in raw:
        return raw.replace('"', "")
    return _QUOTE_PARTS.sub(r"\1\2", raw)


def quoted_info(raw: str) -> WordInfo:
    """The WordInfo of such a word: quoted, nothing dynamic."""
    info = WordInfo()
    info.raw, info.quoted = raw, True
    return info


class _Splitter:
    """Cursor over the tokens of one script; ``cases`` is a stack of "reading patterns"."""

    __slots__ = ("cases", "events", "i", "redirs", "tokens", "words")

    def __init__(self, tokens: List[Token]) -> None:
        self.tokens = tokens
        self.i = 0
        self.events: List[tuple] = []
        self.words: List[Tuple[str, Optional[WordInfo]]] = []
        self.redirs: List[Redir] = []
        self.cases: List[bool] = []

    def run(self) -> List[tuple]:
        tokens, n, cases = self.tokens, len(self.tokens), self.cases
        while self.i < n:
            kind, text, extra = tokens[self.i]
            self.i += 1
            if cases and cases[-1]:  # ``case … in`` patterns: skip to ``)``; ``esac`` ends it
                if kind == WORD and text == "esac" and extra is None:
                    cases.pop()
                elif kind == OP and text == ")":
                    cases[-1] = False
            elif kind == WORD:
                if self.words or extra is not None or text not in _RESERVED:
                    self.words.append((text, extra))
                else:
                    self.reserved(text)
            elif kind == REDIR:
                self.redirs.append(extra)
            elif kind == ARITH:
                self.flush()
                self.events.append((SUBS, extra))
            else:
                self.operator(text)
        self.flush()
        return self.events

    def flush(self) -> None:
        if self.words or self.redirs:
            self.events.append((CMD, self.words, self.redirs))
            self.words, self.redirs = [], []

    def operator(self, op: str) -> None:
        tokens, i = self.tokens, self.i
        if op == "(" and len(self.words) == 1 and i < len(tokens) and tokens[i][:2] == (OP, ")"):
            # ``name() { …; }`` defines a function: the name is not a command.
            self.words = []
            self.i += 1
            return
        self.flush()
        if op in _CASE_ENDS:
            if self.cases:
                self.cases[-1] = True
            self.events.append((SEP, ";"))
        elif op == "(":
            self.events.append((OPEN, True))
        elif op == ")":
            self.events.append((CLOSE, True))
        else:
            self.events.append((SEP, op))

    def reserved(self, word: str) -> None:
        """Handle a reserved word in command position."""
        if word == "{" or word == "}":
            self.flush()
            self.events.append((OPEN, False) if word == "{" else (CLOSE, False))
        elif word == "for" or word == "select":
            self.for_words()
        elif word == "case":
            self.case_subject()
        elif word == "esac":
            if self.cases:
                self.cases.pop()
        elif word == "function":
            self.i += 1
            if self.tokens[self.i : self.i + 2] == [(OP, "(", None), (OP, ")", None)]:
                self.i += 2
        elif word == "[[":
            self.conditional()

    def for_words(self) -> None:
        """``for name [in words]``: the words are expanded (their substitutions run)."""
        tokens, n = self.tokens, len(self.tokens)
        if self.i < n and tokens[self.i][0] == ARITH:
            self.events.append((SUBS, tokens[self.i][2]))
            self.i += 1
            return
        self.i += 1
        subs: List[List[Token]] = []
        while self.i < n and tokens[self.i][0] == WORD:
            extra = tokens[self.i][2]
            if extra is not None:
                subs.extend(extra.subs)
            self.i += 1
        if subs:
            self.events.append((SUBS, subs))

    def case_subject(self) -> None:
        """``case word in``: report the subject's substitutions, then read patterns."""
        tokens, n = self.tokens, len(self.tokens)
        if self.i < n and tokens[self.i][0] == WORD:
            extra = tokens[self.i][2]
            if extra is not None and extra.subs:
                self.events.append((SUBS, list(extra.subs)))
            self.i += 1
        if self.i < n and tokens[self.i][:2] == (WORD, "in"):
            self.i += 1
        self.cases.append(True)

    def conditional(self) -> None:
        """``[[ … ]]`` has its own grammar (``<`` compares); only substitutions matter."""
        tokens, n = self.tokens, len(self.tokens)
        subs: List[List[Token]] = []
        while self.i < n and tokens[self.i][:2] != (WORD, "]]"):
            extra = tokens[self.i][2]
            info = extra.info if isinstance(extra, Redir) else extra
            if isinstance(info, WordInfo):
                subs.extend(info.subs)
            self.i += 1
        self.i += 1
        if subs:
            self.events.append((SUBS, subs))


class Scope:
    """Shell state while walking one script: cwd after ``cd``, the pipeline, ``( )`` frames."""

    __slots__ = ("base", "cwd", "frames", "home", "oldpwd", "piped", "seg", "text", "top", "up")

    def __init__(self, cwd: str, stdin: Tuple[str, ...], home: str) -> None:
        self.cwd = cwd
        self.home = home
        self.oldpwd = ""
        self.base = stdin  # programs feeding this script's stdin (``curl x | bash -c '…'``)
        self.up: List[str] = list(stdin)  # programs earlier in the current pipeline
        self.seg: List[str] = []  # programs of the current pipeline element
        self.top: List[str] = []  # every program run at this level, for exec_sources
        self.frames: List[tuple] = []
        self.text: Optional[str] = None  # what the last command printed, when it is literal
        self.piped: Optional[str] = None  # literal text arriving on this element's stdin

    def ran(self, programs: List[str]) -> None:
        self.seg.extend(programs)
        self.top.extend(programs)

    def separator(self, op: str) -> None:
        if op == "|" or op == "|&":
            self.up.extend(self.seg)
            self.piped = self.text
        else:
            self.up, self.piped = list(self.base), None
        self.seg, self.text = [], None

    def open(self, subshell: bool) -> None:
        """``(`` or ``{``: the group shares the pipeline position; a subshell keeps its cwd."""
        saved_cwd = self.cwd if subshell else None
        self.frames.append((saved_cwd, self.base, self.up, self.seg, len(self.top)))
        self.base = tuple(self.up)
        self.seg = []

    def close(self) -> None:
        if self.frames:
            cwd, self.base, self.up, seg, mark = self.frames.pop()
            self.cwd = self.cwd if cwd is None else cwd
            self.seg = seg + self.top[mark:]

    def chdir(self, target: str) -> None:
        self.oldpwd, self.cwd = self.cwd, target


def dynamic_words(words: list) -> list:
    """Words whose text includes command output: running them runs that output as code."""
    return [info for _, info in words if info is not None and info.cmdsub]
