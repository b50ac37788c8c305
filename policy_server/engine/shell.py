"""Shell command analysis: a command string in, the simple commands it would run out.

Policies never match raw command strings. ``analyze`` parses a POSIX/bash command line the way
the shell would and reports every simple command it would execute, with quotes and escapes
resolved, wrappers unwrapped and paths normalised, so ``bash -c 'r\\m -fr "$HOME"'`` and
``rm -rf ~`` look the same to a rule.

What it must do (tests in ``tests/policy_server/engine/test_shell.py``):

- split compound commands: ``;`` ``&&`` ``||`` ``|`` ``|&`` ``&`` newlines, ``( … )`` subshells,
  ``{ …; }`` groups, ``if/then/else/fi``, ``for/while/until … do … done``, ``case … esac``
  (reserved words are not programs), and every command inside ``$( … )``, backticks and ``<( … )``
  / ``>( … )`` (those inner commands are executed too, so they are reported);
- resolve quoting: single quotes, double quotes (``\\`` escapes inside), ``$'…'`` ANSI-C quotes,
  backslash escapes outside quotes, line continuations;
- strip leading ``VAR=value`` assignments into ``assignments``;
- unwrap wrappers recursively (depth limit ``MAX_DEPTH``), recording them in ``wrappers``:
  ``sudo``/``doas`` (with their options: ``-u user``, ``-E``, ``--``), ``env`` (``-i``, ``-u X``,
  ``VAR=…``), ``command``, ``builtin``, ``exec``, ``nohup``, ``time``, ``nice`` (``-n N``),
  ``timeout`` (``-s SIG``, ``-k T``, duration), ``stdbuf``, ``ionice``, ``chroot DIR``, ``xargs``
  (its options, then the command it runs), ``find … -exec/-execdir/-ok cmd … ;|+``,
  ``bash|sh|zsh|dash|ksh -c 'script'`` (the script is parsed recursively, also with options
  before ``-c`` such as ``-lc``/``-e -c``), ``eval 'script'`` (arguments joined and parsed);
- a shell reading its script from stdin (``curl … | sh``, ``bash <<< "…"``, ``sh <<EOF`` …,
  ``bash < file``): a here-string or here-doc body is parsed as script; a pipe feeds it code
  from the upstream programs, recorded in ``exec_sources``; ``sh <(curl …)``, ``source <(…)``,
  ``. <(…)``, ``bash -c "$(curl …)"`` and ``eval "$(…)"`` likewise. Interpreters that take code
  on stdin (``python*``, ``perl``, ``ruby``, ``node``, ``php`` with no script argument or ``-``)
  count as well;
- program name: basename of the command word (``/usr/bin/rm`` → ``rm``, ``\\rm`` → ``rm``);
- flags: option words become canonical names in ``flags``: short clusters split (``-rf`` →
  ``r``, ``f``), long options without dashes and values (``--force=yes`` → ``force``), then mapped
  through ``FLAG_ALIASES`` for the program (``rm -r`` → ``recursive``); ``--`` ends options;
  options that take a value (``VALUE_OPTIONS``) keep it in ``options`` and out of ``args``;
- ``args``: positional words after the program (after a subcommand's own global options, e.g.
  ``git -C dir push`` → args ``push …``);
- paths: ``paths`` holds the normalised absolute path of every positional argument and every
  file reference in an option value (``curl -d @f``, ``-F x=@f``, ``-T f``), expanded against
  ``cwd`` and ``home`` (``paths.normalize``); ``cd`` in a compound command changes ``cwd`` for
  the commands after it (in the same subshell); ``writes`` holds files written: output
  redirections (``>``, ``>>``, ``&>``, ``>|``, ``2>``; not ``/dev/null``), ``tee`` args,
  ``cp``/``mv``/``install``/``ln`` destination, ``dd of=``, ``sed -i`` files, ``truncate``,
  ``touch``;
- ``urls``: arguments and option values that are URLs (``scheme://…``);
- anything it cannot follow sets ``unanalyzable`` to a short reason on that command (a variable
  or substitution as the command word, ``eval`` of non-literal text, unbalanced quotes, an
  unterminated here-doc, wrapper depth over ``MAX_DEPTH``) — it never raises.

Beyond that list: unquoted brace expansion (``{rm,-rf,/}``); ``watch``, ``su -c``, ``env -S``,
``busybox`` and ``pkexec`` as wrappers; literal text piped into a shell (``cat <<EOF | sh``,
``echo 'cmd' | sh``) also parsed as its script; ``export NAME=…`` in ``assignments``; input
redirections (``< file``) in ``paths``; ``curl -o``/``wget -O``/``sort -o`` in ``writes``; a glob
or empty command word, and inputs past the work bounds ("command too complex"), unanalysable.
"""

from __future__ import annotations

import re
from functools import lru_cache
from itertools import repeat
from typing import Dict, FrozenSet, List, Optional, Tuple

from .paths import normalize
from .shell_lexer import (
    CLOSE,
    CMD,
    LITERAL,
    OPEN,
    SEP,
    Redir,
    Scope,
    ShellSyntaxError,
    dynamic_words,
    parse,
    quoted_info,
    split,
)
from .shell_options import (
    FLAG_ALIASES,
    SPECS,
    VALUE_OPTIONS,
    Argv,
    assignments,
    canonical_flag,
    find_exec,
    parse_argv,
    spec_names,
    spec_pairs,
    spec_table,
    table_key,
)

# The option tables and ``canonical_flag`` live in shell_options; rules import them from here.
__all__ = [
    "FLAG_ALIASES",
    "MAX_DEPTH",
    "VALUE_OPTIONS",
    "Analysis",
    "Command",
    "analyze",
    "canonical_flag",
]

MAX_DEPTH = 5


class Command:
    """One simple command the shell would execute. Immutable by convention."""

    __slots__ = (
        "args",
        "assignments",
        "cwd",
        "exec_sources",
        "flags",
        "options",
        "paths",
        "pipe_from",
        "program",
        "redirects",
        "text",
        "unanalyzable",
        "urls",
        "words",
        "wrappers",
        "writes",
    )

    def __init__(
        self,
        program: str,
        words: Tuple[str, ...] = (),
        args: Tuple[str, ...] = (),
        flags: FrozenSet[str] = frozenset(),
        options: Tuple[Tuple[str, str], ...] = (),
        assignments: Tuple[Tuple[str, str], ...] = (),
        redirects: Tuple[Tuple[str, str], ...] = (),
        wrappers: Tuple[str, ...] = (),
        cwd: str = "",
        pipe_from: Tuple[str, ...] = (),
        exec_sources: FrozenSet[str] = frozenset(),
        paths: Tuple[str, ...] = (),
        writes: Tuple[str, ...] = (),
        urls: Tuple[str, ...] = (),
        unanalyzable: str = "",
        text: str = "",
    ) -> None:
        self.program = program  # basename of the command word; "" when it is not literal
        self.words = words  # every word after the program, quotes resolved
        self.args = args  # positional words (not options, not option values)
        self.flags = flags  # canonical option names
        self.options = options  # (canonical option, value) for value-taking options
        self.assignments = assignments  # leading VAR=value words (and env's)
        self.redirects = redirects  # (operator, target) with file targets normalised
        self.wrappers = wrappers  # wrappers unwrapped to reach this command, outermost first
        self.cwd = cwd  # effective working directory (after ``cd``)
        self.pipe_from = pipe_from  # programs earlier in the same pipeline
        self.exec_sources = exec_sources  # programs whose output this command runs as code
        self.paths = paths  # normalised paths of positional args and option file refs
        self.writes = writes  # normalised paths this command writes
        self.urls = urls  # URL arguments / option values
        self.unanalyzable = unanalyzable  # "" or the reason the command cannot be analysed
        self.text = text  # normalised text: program and words joined by single spaces

    def __repr__(self) -> str:
        return f"Command({self.text!r})"


class Analysis:
    """Every simple command of one command line, in execution order."""

    __slots__ = ("by_program", "commands", "programs", "unanalyzable")

    def __init__(self, commands: Tuple[Command, ...]) -> None:
        self.commands = commands
        # Conditions naming programs look only at those commands.
        by_program: Dict[str, Tuple[Command, ...]] = {}
        unanalyzable = []
        for c in commands:  # one plain loop: this runs for every event
            found = by_program.get(c.program)
            by_program[c.program] = (c,) if found is None else (*found, c)
            if c.unanalyzable:
                unanalyzable.append(c.unanalyzable)
        self.by_program = by_program
        programs = frozenset(by_program)
        self.programs = programs - _NO_PROGRAM if "" in by_program else programs
        self.unanalyzable = tuple(unanalyzable)


_NO_PROGRAM = frozenset(("",))


# Option values naming files, per program: "at" = ``@file`` (curl data), "form" = ``name=@f``.
_FILE_OPTIONS: Dict[str, Dict[str, str]] = {
    program: spec_pairs(items)
    for program, items in spec_table(
        """
curl: data=at data-binary=at data-raw=at data-ascii=at data-urlencode=at json=at form=form
    upload-file=read config=read cert=read key=read output=write cookie-jar=write
    dump-header=write
wget: output-document=write output-file=write append-output=write post-file=read
    body-file=read input-file=read load-cookies=read save-cookies=write
tar: file=read; sed: file=read; ssh: identity-file=read; cp: target-directory=write
mv: target-directory=write; ln: target-directory=write; install: target-directory=write
sort: output=write; xargs: arg-file=read; docker: env-file=read; kubectl: filename=read
terraform: var-file=read; git: file=read
"""
    ).items()
}
# Positional arguments written: all, the last (destination), in-place edits, dd's ``of=``.
_WRITES_ARGS = spec_pairs(
    "tee=all truncate=all touch=all cp=last mv=last install=last ln=last scp=last rsync=last "
    "sed=sed perl=in-place ruby=in-place dd=dd"
)
# Wrappers run the command after their options: (operands first, flags meaning "runs nothing").
_NONE: FrozenSet[str] = frozenset()
_WRAPPERS: Dict[str, Tuple[int, FrozenSet[str]]] = {
    **dict.fromkeys(("sudo", "doas", "pkexec"), (0, frozenset(("edit", "list", "validate")))),
    **dict.fromkeys(("timeout", "chroot"), (1, _NONE)),
    "command": (0, frozenset(("describe", "describe-verbose"))),
    "ionice": (0, frozenset(("pid", "pgid", "uid"))),
    **dict.fromkeys(
        spec_names("env builtin exec nohup nice stdbuf time xargs busybox watch"), (0, _NONE)
    ),
}
_TAKES_ASSIGNMENTS = frozenset(("env", "sudo", "doas", "pkexec"))
_SHELLS = spec_names("sh bash zsh dash ksh mksh ash fish")
_UNWRAPPED = _SHELLS | set(_WRAPPERS) | {"eval", "su"}
# Interpreters that run stdin as code unless one of these flags supplies the code.
_CODE_FLAGS = {
    key: spec_names(flags)
    for key, flags in spec_table(
        "bash: command\npython: command module\nnode: eval print check\nperl: eval\n"
        "ruby: eval\nphp: run file"
    ).items()
}
_SOURCES = frozenset(("source", "."))
_SAME_SHELL = frozenset(("builtin", "command"))  # wrappers that still run in this shell
_CHDIRS = frozenset(("cd", "pushd"))
_REWORDED = frozenset(("find", "tar"))  # their words need reading before parse_argv
# Programs with effects past their own Command (``_Analyzer.aftermath``).
_AFTERMATH = _CHDIRS | {"bash", "echo", "cat", "find"}
_CODE_READERS = _SOURCES | set(_CODE_FLAGS)
_EXPORTERS = spec_names("export declare typeset local readonly")
# Programs ``_Analyzer.literal`` leaves to the general path besides wrappers: a shell reads a
# literal ``echo 'cmd' |`` as its script (``aftermath``).
_SPECIAL = frozenset(("bash",))
_STDIN_READERS = _CODE_READERS | {"cat"}  # with a redirection their stdin may be code or text
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_GLOB = re.compile(r"[*?]|\[.*\]")
_HOME_WORD = re.compile(r"\$(?:HOME|\{HOME\})(?:/|\Z)")
# Path words ``normalize`` must look at: home, variables, absolute, ``{}``, ``<(…)``, ``.``.
_PATH_WORK = "~$/{<>`."
_DEV_SINKS = frozenset(("/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty"))
_STDIN_NAMES = frozenset(("-", "/dev/stdin", "/dev/fd/0", "/proc/self/fd/0"))
_HERE_OPS = frozenset(("<<", "<<-", "<<<", "0<<", "0<<-", "0<<<"))
_TOO_DEEP = f"nesting deeper than {MAX_DEPTH}"
_INNER, _SCRIPT = 0, 1
_NO_SUBS: Dict[int, List[str]] = {}  # shared by commands without substitutions: never written
_NO_QUOTES: Dict[int, str] = {}  # likewise, for commands without quoted words


def _argv(key: str, values: List[str], start: int = 0, stop: bool = False) -> Argv:
    return parse_argv(key, values, SPECS, start, stop)


def _path(arg: str, cwd: str, home: str) -> str:
    """Normalised path of a word; other variables and ``{}`` placeholders stay as written."""
    head = arg[:1]  # "" for an empty word, which stays empty ("" is in every string)
    if head in "{<>$`" and (
        arg == "{}" or arg[:2] in ("<(", ">(") or (head in "$`" and not _HOME_WORD.match(arg))
    ):
        return arg
    return normalize(arg, cwd, home)


def _effects(key: str, argv: Argv, cwd: str, home: str) -> Tuple[list, list, list]:
    """(paths, writes, urls) of positional arguments and file-naming option values."""
    paths: List[str] = []
    urls: List[str] = []
    args = argv.args[1:] if argv.sub_at == 0 else argv.args  # (the subcommand is no path)
    if key == "dd":
        args = [arg[3:] if arg[:3] in ("if=", "of=") else "" for arg in args]
    prefix = None  # ``_dir_prefix``, for relative paths with no ``.``/``..``/"" segment
    for arg in args:
        if not arg or arg == "-":
            continue
        if "://" in arg and _URL.match(arg):
            urls.append(arg)
        elif arg[0] in _PATH_WORK or arg[-1] == "/" or "//" in arg or "/." in arg:
            paths.append(_path(arg, cwd, home))
        else:  # what ``normalize`` returns, without two calls a word (test_plain_relative_paths)
            if prefix is None:
                prefix = _dir_prefix(cwd, home)
            paths.append(prefix + arg)
    writes = []
    if key in _WRITES_ARGS:
        writes = [_path(arg, cwd, home) for arg in _written_args(key, argv) if arg and arg != "-"]
    file_options = _FILE_OPTIONS.get(key.partition(" ")[0]) if argv.options else None
    for name, value in argv.options:
        if "://" in value and _URL.match(value):
            urls.append(value)
            continue
        kind = file_options.get(name) if file_options else None
        ref = _file_reference(kind, value) if kind else ""
        if ref and ref != "-":
            paths.append(_path(ref, cwd, home))
            if kind == "write":
                writes.append(paths[-1])
    return paths, writes, urls


@lru_cache(maxsize=64)  # a session keeps its cwd and home: memoise a pure function, not commands
def _dir_prefix(cwd: str, home: str) -> str:
    """What ``normalize`` puts before a plain relative path: the normalised cwd and "/"."""
    base = normalize(cwd, "", home) if cwd else "."
    return "" if base == "." else "/" if base == "/" else base + "/"


def _file_reference(kind: str, value: str) -> str:
    """The file an option value names: ``@f`` for curl data, ``name=@f`` for forms."""
    if kind == "at":
        return value[1:] if value[:1] == "@" else ""
    if kind == "form":
        rest = value.partition("=")[2]
        return rest[1:].split(";", 1)[0] if rest[:1] in ("@", "<") else ""
    return value


def _written_args(key: str, argv: Argv) -> List[str]:
    """Positional arguments the program writes to."""
    kind = _WRITES_ARGS.get(key)
    args, flags = argv.args, argv.flags
    if kind == "all":
        return args
    if kind == "last":  # with ``-t dir`` the option names the destination (_FILE_OPTIONS)
        last = args[-1:] if len(args) >= 2 and ":" not in args[-1] else []
        return [] if "target-directory" in flags else last
    if kind == "dd":
        return [arg[3:] for arg in args if arg.startswith("of=")]
    if kind is None or "in-place" not in flags:
        return []
    if kind == "sed":
        args = args[1:] if args[:1] == [""] else args  # BSD ``sed -i '' …``
        return args if flags & {"expression", "file"} else args[1:]
    return args


class _Call:
    """One simple command under analysis: its words and where it runs."""

    __slots__ = ("assigns", "cwd", "outer", "redirs", "scope", "sources", "subs", "values",
                 "words", "wrappers")  # fmt: skip

    def __init__(self, words: list, redirs: list, subs: dict, scope: Scope, wrappers: list,
                 values: Optional[List[str]] = None) -> None:  # fmt: skip
        self.words = words  # (value, WordInfo or None)
        self.values = [value for value, _ in words] if values is None else values
        self.redirs = redirs
        self.subs = subs  # id(WordInfo or Redir) -> top-level programs of its substitutions
        self.scope = scope
        self.wrappers = wrappers  # wrappers unwrapped so far
        self.outer = len(wrappers)  # how many of them wrap the whole script, not this command
        self.cwd = scope.cwd  # ``env -C``/``sudo -D`` change it for the wrapped command only
        self.assigns: List[Tuple[str, str]] = []
        self.sources: Optional[FrozenSet[str]] = None  # exec_sources decided by the caller


def _unwrap(call: _Call, program: str, j: int) -> Optional[tuple]:
    """What wrapper ``program`` runs: (_INNER, index), (_SCRIPT, text, dynamic, same shell)."""
    if program in _SHELLS:
        return _shell(call, j)
    if program == "eval":
        j += call.values[j : j + 1] == ["--"]
        text = " ".join(call.values[j:])
        return (_SCRIPT, text, dynamic_words(call.words[j:]), True) if j < len(call.words) else None
    if program == "su":
        script = dict(_argv("su", call.values, j).options).get("command")
        return None if script is None else (_SCRIPT, script, dynamic_words(call.words[j:]), False)
    skip, idle = _WRAPPERS[program]
    argv = _argv(table_key(program), call.values, j, stop=True)
    options = dict(argv.options)
    k = argv.end + skip
    if argv.flags & idle:
        return None
    if "split-string" in options or (program == "watch" and "exec" not in argv.flags):
        text = " ".join([options.get("split-string", ""), *call.values[k:]]).strip()  # sh -c
        return (_SCRIPT, text, dynamic_words(call.words[k:]), False) if text else None
    if program in _TAKES_ASSIGNMENTS:
        k, found = assignments(call.words, k)
        call.assigns.extend(found)
    if "chdir" in options:
        call.cwd = _path(options["chdir"], call.cwd, call.scope.home)
    return (_INNER, k) if k < len(call.words) else None


def _shell(call: _Call, j: int) -> Optional[tuple]:
    """``sh -c script``, or a shell reading a here-doc / here-string as its script."""
    values, n = call.values, len(call.values)
    command = stdin = False
    while j < n and values[j] != "-" and values[j][:1] in ("-", "+"):
        word = values[j]
        j += 1
        if word == "--":
            break
        if word[:2] == "--":
            j += word in ("--rcfile", "--init-file")
            continue
        command = command or (word[0] == "-" and "c" in word)
        stdin = stdin or (word[0] == "-" and "s" in word)
        j += word.count("o") + word.count("O")  # -o option / -O shopt take a value
    if command:
        return (_SCRIPT, values[j], dynamic_words(call.words[j : j + 1]), False) if j < n else None
    if j < n and values[j] != "-" and not stdin:
        return None  # ``bash script.sh``: a file, not text we can see
    for redir in call.redirs:
        if redir.op not in _HERE_OPS:
            continue
        if redir.body is None:  # here-string: the word is the script
            info = redir.info
            return (_SCRIPT, redir.target, [info] if info and info.cmdsub else [], False)
        return (_SCRIPT, redir.body, [redir] if redir.body_subs else [], False)
    return None


class _Analyzer:
    """One ``analyze`` call: walks scripts recursively and collects their commands."""

    __slots__ = ("home", "out")

    def __init__(self, home: str) -> None:
        self.home = home
        self.out: List[Command] = []

    def walk(self, events: list, cwd: str, wrappers: List[str], stdin: Tuple[str, ...]) -> Scope:
        scope = Scope(cwd, stdin, self.home)
        for event in events:
            kind = event[0]
            if kind == LITERAL:
                scope.ran(self.literal(event[1], event[2], event[3], scope, wrappers))
            elif kind == SEP:
                scope.separator(event[1])
            elif kind == CMD:
                scope.ran(self.simple(event[1], event[2], scope, wrappers))
            elif kind == OPEN:
                scope.open(event[1])
            elif kind == CLOSE:
                scope.close()
            else:
                self.substitutions(event[1], scope.cwd, wrappers)
        return scope

    def substitutions(self, subs: list, cwd: str, wrappers: List[str]) -> List[str]:
        """Walk ``$( )``/backtick/``<( )`` bodies; return their top-level programs."""
        programs: List[str] = []
        for tokens in subs:
            programs.extend(self.walk(split(tokens), cwd, wrappers, ()).top)
        return programs

    def literal(self, values: list, redirs: list, quoted: Optional[dict], scope: Scope,
                wrappers: list) -> List[str]:  # fmt: skip
        """A simple command from ``quick_split``: literal words, nothing to substitute.

        Most are a plain program, no wrapper or assignment: this is ``emit`` and ``aftermath``
        for them, without ``simple``/``run`` and their checks, in a third of the time. Both
        paths must agree (test_plain_commands_skip_only_work_that_does_nothing).
        """
        word = values[0] if values else ""  # (no words: only redirections)
        program = word.rpartition("/")[2]
        key = table_key(program)
        words = values[1:]
        own, spans = _reword(key, words) if key in _REWORDED else (words, ())
        if (
            not program
            or key in _SPECIAL
            or program in _UNWRAPPED
            or (quoted and 0 in quoted)  # ``'ls'``: rare, the general path judges it
            or (redirs and key in _STDIN_READERS)  # ``sh < script``, ``cat <<EOF``
            or ("=" in word or "*" in word or "?" in word or "[" in word)  # A=1, l*
            or spans  # ``find -exec`` runs commands of its own
        ):
            pairs = list(zip(values, repeat(None)))
            for k, raw in (quoted or _NO_QUOTES).items():
                pairs[k] = (values[k], quoted_info(raw))
            return self.simple(pairs, redirs, scope, wrappers, values)
        argv = parse_argv(key, own, SPECS)
        paths, writes, urls = _effects(key, argv, scope.cwd, self.home)
        redirects = self.redirections(redirs, scope.cwd, paths, writes)[0] if redirs else ()
        reads_stdin = key in _CODE_READERS and _reads_stdin(key, argv)  # ``curl … | python``
        exported = key in _EXPORTERS and assignments([(a, None) for a in argv.args], 0)[1]
        self.out.append(
            Command(
                program,
                tuple(words),
                tuple(argv.args),
                frozenset(argv.flags),
                tuple(argv.options),
                tuple(exported) if exported else (),  # assignments
                redirects,
                tuple(wrappers),
                scope.cwd,
                tuple(scope.up),  # pipe_from
                frozenset(scope.up) if reads_stdin else _NONE,  # exec_sources
                tuple(paths),
                tuple(writes),
                tuple(urls),
                "",  # unanalyzable
                " ".join(values) if program == word else " ".join([program, *words]),  # text
            )
        )
        if key in _CHDIRS:  # cd moves the shell; echo's words may be piped into one
            scope.chdir(_cd_target(argv.args, scope.cwd, self.home, scope.oldpwd))
        scope.text = " ".join(argv.args) if key == "echo" and not argv.flags else None
        return [program]

    def simple(self, words: list, redirs: list, scope: Scope, wrappers: list,
               values: Optional[list] = None) -> List[str]:  # fmt: skip
        """A simple command: its substitutions run first, then the command itself."""
        subs: Dict[int, List[str]] = _NO_SUBS
        if values is None:  # from ``split``: words may hold substitutions
            subs = {}
            for _, info in words:
                if info is not None and info.subs:
                    subs[id(info)] = self.substitutions(info.subs, scope.cwd, wrappers)
            for redir in redirs:
                if redir.info is not None and redir.info.subs:
                    subs[id(redir.info)] = self.substitutions(redir.info.subs, scope.cwd, wrappers)
                if redir.body_subs:
                    subs[id(redir)] = self.substitutions(redir.body_subs, scope.cwd, wrappers)
        call = _Call(words, redirs, subs, scope, wrappers, values)
        i, call.assigns = assignments(words, 0)
        if i < len(words):
            return self.run(call, i)
        self.emit(call, i - 1, "")
        return []

    def run(self, call: _Call, i: int) -> List[str]:
        """Unwrap wrappers from ``call.words[i]`` on, then record the command they run."""
        while True:
            value, info = call.words[i]
            reason = "" if info is None else info.dynamic
            raw = value if info is None else info.raw
            if not reason and ("*" in raw or "?" in raw or "[" in raw) and _GLOB.search(raw):
                reason = "glob as command word"
            program = value.rpartition("/")[2]
            if reason or not program:
                return self.emit(call, i, "", reason or "empty command word")
            step = _unwrap(call, program, i + 1) if program in _UNWRAPPED else None
            if step is None:
                return self.emit(call, i, program)
            if len(call.wrappers) >= MAX_DEPTH:
                return self.emit(call, i, program, _TOO_DEEP)
            if step[0] == _SCRIPT:
                return self.script(call, i, program, step)
            call.wrappers = [*call.wrappers, program]
            i = step[1]

    def script(self, call: _Call, i: int, program: str, step: tuple) -> List[str]:
        """Text a wrapper runs as shell code (``bash -c``, ``eval``, here-docs), parsed again."""
        _, text, dynamic, same_shell = step
        if dynamic:
            call.sources = frozenset(p for src in dynamic for p in call.subs.get(id(src), ()))
            reason = "eval of non-literal text" if program == "eval" else "executes dynamic code"
            return self.emit(call, i, program, reason)
        try:
            events = parse(text, len(call.wrappers) + 1, MAX_DEPTH)
        except ShellSyntaxError as err:
            return self.emit(call, i, program, err.reason)
        scope = call.scope
        inner = self.walk(events, call.cwd, [*call.wrappers, program], tuple(scope.up))
        if same_shell and inner.cwd != call.cwd:  # ``eval 'cd /x'`` moves the calling shell
            scope.chdir(inner.cwd)
        kept = [redir for redir in call.redirs if redir.op not in _HERE_OPS]
        if kept:  # ``bash -c 'echo x' >> ~/.bashrc`` still writes ~/.bashrc
            self.emit(_Call([], kept, call.subs, scope, call.wrappers), -1, "")
        return inner.top

    def emit(self, call: _Call, i: int, program: str, reason: str = "") -> List[str]:
        """Record the Command run by ``call.words[i]``; return the programs it runs."""
        values, key = call.values[i + 1 :], table_key(program)
        own, spans = values, ()
        if key in _REWORDED:
            own, spans = _reword(key, values)
        argv = parse_argv(key, own, SPECS)
        paths, writes, urls = _effects(key, argv, call.cwd, self.home)
        redirects, stdin = (), None
        if call.redirs:
            redirects, stdin = self.redirections(call.redirs, call.cwd, paths, writes)
        sources = call.sources
        if sources is None:
            sources = _code_sources(key, argv, call, stdin) if key in _CODE_READERS else _NONE
        assigns = call.assigns
        if key in _EXPORTERS:  # ``export LD_PRELOAD=…`` injects like a prefix assignment
            assigns = assigns + assignments([(a, None) for a in argv.args], 0)[1]
        # A bare ``A=1 > f`` line reads as its assignments; a dynamic word as written.
        head = program or (call.values[i] if reason else " ".join(call.values[: i + 1]))
        self.out.append(
            Command(  # positional: keywords cost 0.4 µs a command on this hot path
                program,
                tuple(values),  # words
                tuple(argv.args),  # args
                frozenset(argv.flags),  # flags
                tuple(argv.options),  # options
                tuple(assigns),  # assignments
                redirects,
                tuple(call.wrappers),  # wrappers
                call.cwd,
                tuple(call.scope.up),  # pipe_from
                sources,  # exec_sources
                tuple(paths),
                tuple(writes),
                tuple(urls),
                reason,  # unanalyzable
                " ".join([head, *values]) if head else " ".join(values),  # text
            )
        )
        if key in _AFTERMATH:
            call.sources = sources
            return self.aftermath(call, i, program, reason, argv, stdin, spans)
        call.scope.text = None
        return [program] if program else []

    def aftermath(self, call: _Call, i: int, program: str, reason: str, argv: Argv,
                  stdin: Optional[Redir], spans: list) -> List[str]:  # fmt: skip
        """What a command does beyond itself: runs more commands, changes cwd, prints text."""
        key = table_key(program)
        ran = [program] if program else []
        scope = call.scope
        if call.sources and key == "bash" and scope.piped:  # ``cat <<EOF | sh``: visible text
            ran.extend(self.piped_script(call, program))
        literal = _literal_output(key, argv, call, stdin)
        for start, end in spans:  # ``find … -exec cmd {} ;`` runs cmd too
            words = call.words[i + 1 + start : i + 1 + end]
            inner = _Call(words, [], call.subs, scope, [*call.wrappers, "find"])
            inner.cwd = call.cwd
            ran.extend(self.run(inner, 0))
        if key in _CHDIRS and not reason and _SAME_SHELL.issuperset(call.wrappers[call.outer :]):
            scope.chdir(_cd_target(argv.args, call.cwd, self.home, scope.oldpwd))
        scope.text = literal
        return ran

    def piped_script(self, call: _Call, program: str) -> List[str]:
        """Literal text piped into a shell is a script we can read, like a here-doc."""
        try:
            events = parse(call.scope.piped or "", len(call.wrappers) + 1, MAX_DEPTH)
        except ShellSyntaxError:
            return []  # the shell itself is reported, with its exec_sources, either way
        return self.walk(events, call.cwd, [*call.wrappers, program], ()).top

    def redirections(
        self, redirs: list, cwd: str, paths: list, writes: list
    ) -> Tuple[tuple, Optional[Redir]]:
        """(operator, target) pairs, and the redirection feeding stdin if there is one.

        Files written go to ``writes``; files read go to ``paths`` (``cat < ~/.netrc`` reads).
        """
        redirects = []
        stdin = None
        for redir in redirs:
            op, target, info = redir.op, redir.target, redir.info
            base = op.lstrip("0123456789")
            if op[: len(op) - len(base)] in ("", "0") and base[:1] == "<":
                stdin = redir
            fd_dup = base[-1:] == "&" and (target.isdigit() or target == "-")
            if op in _HERE_OPS or fd_dup or (info is not None and info.procsub) or not target:
                redirects.append((op, target))
                continue
            target = _path(target, cwd, self.home)
            redirects.append((op, target))
            if ">" not in base:
                paths.append(target)
            elif target not in _DEV_SINKS:
                writes.append(target)
        return tuple(redirects), stdin


def _reword(key: str, values: List[str]) -> Tuple[List[str], list]:
    """The words ``key`` parses as options, and the spans of commands ``find -exec`` runs."""
    if key == "find":
        return find_exec(values)
    if values and values[0][:1] not in ("-", ""):
        return ["-" + values[0], *values[1:]], []  # ``tar czf out.tgz dir``: a flag cluster
    return values, []


def _literal_output(key: str, argv: Argv, call: _Call, stdin: Optional[Redir]) -> Optional[str]:
    """What a command prints when that is plain data: ``echo 'rm x'``, ``cat <<'EOF' … EOF``."""
    if key not in ("echo", "cat") or any(info and info.dynamic for _, info in call.words):
        return None
    if key == "echo" and not argv.flags:
        return " ".join(argv.args)
    if key != "cat" or argv.args or stdin is None or stdin.op not in _HERE_OPS:
        return None
    if stdin.body is not None:
        return None if stdin.body_subs else stdin.body
    return None if stdin.info is not None and stdin.info.dynamic else stdin.target


def _cd_target(args: List[str], cwd: str, home: str, oldpwd: str) -> str:
    if not args:
        return normalize("~", cwd, home)
    if args[0] == "-":
        return oldpwd or cwd
    return _path(args[0], cwd, home)


def _code_sources(key: str, argv: Argv, call: _Call, stdin: Optional[Redir]) -> FrozenSet[str]:
    """Programs whose output this command runs as code (``curl … | sh``, ``sh <(curl …)``)."""
    code_flags = _CODE_FLAGS.get(key)
    if code_flags is None and key not in _SOURCES:
        return _NONE
    args = argv.args
    for value, info in call.words:
        if args and value == args[0] and info is not None and info.procsub:
            return frozenset(call.subs.get(id(info), ()))
    if not _reads_stdin(key, argv):
        return _NONE
    if stdin is not None:
        return frozenset(call.subs.get(id(stdin.info), []) + call.subs.get(id(stdin), []))
    return frozenset(call.scope.up)


def _reads_stdin(key: str, argv: Argv) -> bool:
    """Whether a code reader (``sh``, ``python``, ``source``) takes its code from stdin."""
    code_flags = _CODE_FLAGS.get(key)
    args = argv.args
    if code_flags is None or code_flags & argv.flags:
        return code_flags is None and bool(args) and args[0] in _STDIN_NAMES
    return not args or args[0] in _STDIN_NAMES or "stdin" in argv.flags


def analyze(command: str, cwd: str = "", home: str = "") -> Analysis:
    """Parse ``command`` and return every simple command it would run. Never raises."""
    try:
        if not command or command.isspace():
            return Analysis(())
        try:
            events = parse(command, 0, MAX_DEPTH)
        except ShellSyntaxError as err:
            return Analysis((Command("", unanalyzable=err.reason, text=command.strip()),))
        analyzer = _Analyzer(home)
        analyzer.walk(events, cwd, [], ())
        return Analysis(tuple(analyzer.out))
    except Exception:  # a parser bug must not take the hook down: report it as unanalysable
        text = command.strip() if isinstance(command, str) else ""
        return Analysis((Command("", unanalyzable="parser error", text=text),))
