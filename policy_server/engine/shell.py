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
"""

from __future__ import annotations

import re
from typing import Dict, FrozenSet, List, Optional, Tuple

from .paths import normalize
from .shell_lexer import (
    CLOSE,
    CMD,
    OPEN,
    SEP,
    Argv,
    ArgvSpec,
    Redir,
    Scope,
    ShellSyntaxError,
    assignments,
    dynamic_words,
    find_exec,
    parse_argv,
    spec_names,
    spec_pairs,
    spec_table,
    split,
    tokenize,
)

MAX_DEPTH = 5


# Per-program canonical flag names; the key is a program name or "program subcommand".
# Rules may name flags either way (``-r``, ``--recursive``, ``recursive``); ``canonical_flag``
# maps rule spellings through the same table.
FLAG_ALIASES: Dict[str, Dict[str, str]] = {
    key: spec_pairs(items)
    for key, items in spec_table(
        """
rm: r=recursive R=recursive f=force i=interactive I=interactive-once d=dir v=verbose
cp: r=recursive R=recursive f=force i=interactive n=no-clobber a=archive t=target-directory
mv: r=recursive R=recursive f=force i=interactive n=no-clobber t=target-directory
ln: s=symbolic f=force t=target-directory
install: t=target-directory m=mode d=directory
chmod: R=recursive
tee: a=append
git: C=directory c=config
git push: f=force u=set-upstream d=delete n=dry-run o=push-option
git clean: f=force d=directories x=ignored X=only-ignored n=dry-run i=interactive e=exclude
git branch: D=force-delete d=delete f=force m=move M=force-move u=set-upstream-to
git checkout: f=force b=branch B=force-branch p=patch
git switch: f=force c=create C=force-create
git restore: S=staged W=worktree s=source p=patch
git commit: n=no-verify m=message a=all F=file C=reuse-message c=reedit-message
    S=gpg-sign t=template u=untracked-files
git rebase: i=interactive x=exec s=strategy X=strategy-option
git tag: d=delete f=force a=annotate m=message s=sign F=file u=local-user
git stash: m=message u=include-untracked
git add: f=force A=all n=dry-run
git rm: r=recursive f=force n=dry-run
git merge: m=message s=strategy X=strategy-option F=file
git clone: b=branch o=origin c=config u=upload-pack
git worktree: f=force b=branch B=force-branch
curl: d=data F=form T=upload-file o=output O=remote-name X=request H=header u=user s=silent
    S=show-error L=location k=insecure f=fail x=proxy K=config A=user-agent e=referer
    b=cookie c=cookie-jar m=max-time E=cert r=range w=write-out D=dump-header U=proxy-user
wget: O=output-document q=quiet o=output-file a=append-output P=directory-prefix
    i=input-file U=user-agent r=recursive e=execute
sed: i=in-place e=expression f=file n=quiet E=regexp-extended r=regexp-extended
tar: c=create x=extract f=file z=gzip j=bzip2 J=xz t=list C=directory r=append
    T=files-from X=exclude-from I=use-compress-program
ssh: i=identity-file p=port l=login-name o=option L=local-forward R=remote-forward
    D=dynamic-forward J=proxy-jump F=config-file
nc: e=exec c=sh-exec l=listen z=zero p=source-port u=udp o=output
xargs: n=max-args I=replace i=replace L=max-lines l=max-lines P=max-procs s=max-chars
    d=delimiter E=eof e=eof a=arg-file 0=null
kubectl: A=all-namespaces n=namespace f=filename l=selector o=output R=recursive
    c=container k=kustomize
docker: a=all f=force v=volumes q=quiet H=host
docker run: e=env v=volume p=publish w=workdir u=user m=memory
npm: g=global D=save-dev S=save y=yes f=force w=workspace
pip: r=requirement e=editable U=upgrade t=target c=constraint i=index-url f=find-links
python: c=command m=module
node: e=eval p=print r=require c=check
perl: e=eval E=eval i=in-place M=module
ruby: e=eval r=require i=in-place
php: r=run f=file
bash: c=command l=login i=interactive s=stdin o=option O=shopt
sudo: u=user E=preserve-env g=group i=login s=shell l=list v=validate e=edit D=chdir
    C=close-from p=prompt r=role t=type T=command-timeout U=other-user R=chroot
su: c=command l=login s=shell
env: i=ignore-environment u=unset C=chdir S=split-string
ionice: c=class n=classdata p=pid P=pgid u=uid
command: v=describe V=describe-verbose
watch: n=interval x=exec
sort: o=output
crontab: e=edit r=remove l=list u=user
base64: d=decode D=decode
"""
    ).items()
}

# Options taking a value. The long spelling of a short one (``-d`` -> ``--data``) is added
# from FLAG_ALIASES, so only long-only options are listed.
_VALUED = spec_table(
    """
git: -C -c --git-dir --work-tree --namespace --config-env
git commit: -m -F -C -c --author --date -t --fixup --squash --cleanup --trailer
git push: -o --repo --receive-pack --exec
git clean: -e
git checkout: -b -B --orphan
git switch: -c -C --orphan
git branch: -u --sort --format
git tag: -m -F -u
git restore: -s
git rebase: -x -s -X --onto
git merge: -m -s -X -F
git stash: -m
git log: -n
git clone: -b -o -c -u --depth --reference --template --separate-git-dir
git worktree: -b -B
curl: -d -F -T -o -X -H -u -x -K -A -e -b -c -m -E -r -w -D -U -C -z -Q --data-binary
    --data-raw --data-ascii --data-urlencode --json --form-string --key --cacert --url
    --connect-timeout --retry --retry-delay --resolve --connect-to --output-dir --variable
wget: -O -o -a -P -i -U -T -t -e -l -B -w --header --post-data --post-file --body-data
    --body-file --method --user --password --load-cookies --save-cookies
ssh: -i -p -l -o -L -R -D -J -F -E -b -c -m -S -w -B -e -I -O -Q -W
scp: -i -P -o -F -J -l -c -S
rsync: -e -f --exclude --include --exclude-from --include-from --files-from --rsync-path
nc: -e -c -p -w -q -s -x -o -X -i -O -I -T -V -m --lua-exec --proxy-type
sed: -e -f -l
tar: -f -C -T -X -I -b -H -N -g -K -L -V --exclude --format
xargs: -n -I -L -P -s -d -E -a --process-slot-var
kubectl: -n -f -l -o -c -k -s -p -L --context --cluster --user --kubeconfig --token --as
    --field-selector --grace-period --timeout --type
docker: -H -l --context --config
docker run: -e -v -p -w -u -l -m -h -a --name --entrypoint --network --env-file --mount
    --platform --cpus --restart --add-host --cap-add --cap-drop --device --security-opt
docker exec: -e -u -w --env-file
docker build: -t -f -o --build-arg --target --platform --secret --ssh --progress
npm: -w --prefix --registry --tag --otp --access --loglevel --cache
npx: -p -c
pip: -r -c -e -t -i -f --extra-index-url --prefix --root --python --platform --trusted-host
    --cache-dir --log --proxy --timeout --src
python: -c -m -W -X
node: -e -p -r --input-type --import --loader --env-file
perl: -e -E -M -m -I
ruby: -e -r -I -C -E
php: -r -f -d -c
bash: -o +o -O +O --rcfile --init-file
sudo: -u -g -C -D -p -r -t -T -U -R
doas: -u -C
su: -c -s -g -G
env: -u -C -S
timeout: -s -k
nice: -n
ionice: -c -n -p -P -u
stdbuf: -i -o -e
exec: -a
watch: -n
find: -name -iname -path -ipath -wholename -iwholename -regex -iregex -type -xtype -maxdepth
    -mindepth -newer -perm -size -user -group -uid -gid -mtime -atime -ctime -mmin -amin
    -cmin -links -inum -samefile -printf -fprint -fprintf -fprint0 -fls -regextype -lname
terraform: -var -var-file -target -out -state -replace -lock-timeout -parallelism
helm: -n -f -o --set --set-string --version --kube-context --kubeconfig --timeout --repo
ln: -t -S
cp: -t -S
mv: -t -S
install: -t -m -o -g -S
truncate: -s -r
touch: -d -r -t
grep: -e -f -A -B -C -m -d -D --include --exclude --exclude-dir --label
head: -n -c
sort: -o -k -t -S -T
crontab: -u
psql: -c -f -d -h -p -U -v
mysql: -e -u -h -D -P -S
codex: -s -c -m -a -p -C -i
claude: --model --permission-mode --allowedTools --disallowedTools --settings --add-dir
"""
)


def _valued(key: str, spec: str) -> FrozenSet[str]:
    """The listed spellings plus ``--long`` for every short one with a FLAG_ALIASES name."""
    names = spec.split()
    aliases = FLAG_ALIASES.get(key, {})
    longs = ["--" + aliases[n[1]] for n in names if len(n) == 2 and n[1] in aliases]
    return frozenset(names + longs)


# Options whose next word (or ``=value``) is their value, per program / "program subcommand".
VALUE_OPTIONS: Dict[str, FrozenSet[str]] = {k: _valued(k, v) for k, v in _VALUED.items()}

# Short options whose value is optional and only ever attached (``sed -i.bak``, ``-i{}``).
_ATTACHED: Dict[str, FrozenSet[str]] = {
    key: spec_names(items)
    for key, items in spec_table(
        "sed: -i\nperl: -i -l -0 -x\nruby: -i -x -0\nxargs: -i -l -e"
    ).items()
}

# Programs read with another program's tables.
_SAME_TABLES = spec_pairs(
    "chown=chmod chgrp=chmod sh=bash zsh=bash dash=bash ksh=bash mksh=bash ash=bash fish=bash "
    "ncat=nc netcat=nc gtar=tar bsdtar=tar egrep=grep fgrep=grep tail=head pip3=pip "
    "python3=python python2=python nodejs=node tofu=terraform podman=docker pkexec=sudo "
    "gsed=sed"
)
# Aliases share the very table objects, so a rule author sees ``FLAG_ALIASES["ncat"]`` too.
FLAG_ALIASES.update({a: FLAG_ALIASES[t] for a, t in _SAME_TABLES.items() if t in FLAG_ALIASES})
VALUE_OPTIONS.update({a: VALUE_OPTIONS[t] for a, t in _SAME_TABLES.items() if t in VALUE_OPTIONS})


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

    __slots__ = ("commands", "programs", "unanalyzable")

    def __init__(self, commands: Tuple[Command, ...]) -> None:
        self.commands = commands
        self.programs = frozenset(c.program for c in commands if c.program)
        self.unanalyzable = tuple(c.unanalyzable for c in commands if c.unanalyzable)


_SUBCOMMANDS = spec_names(
    "git npm pnpm yarn bun docker kubectl helm pip cargo terraform gh systemctl aws gcloud az "
    "brew apt apt-get go uv poetry launchctl"
)
_SINGLE_DASH = spec_names("find terraform go")
# After this many positionals the remaining words belong to another program (a remote or
# container command, echo's text), so they are not options of this one.
_OPTIONS_END_AFTER = {"echo": 1, "printf": 1, "ssh": 1, "npx": 1, "docker run": 2}
_OPTIONS_END_AFTER.update({"docker exec": 2, "kubectl exec": 2})


def _build_specs() -> Dict[str, ArgvSpec]:
    """One ArgvSpec per table key; "program subcommand" falls back to "program" entries."""
    specs: Dict[str, ArgvSpec] = {}
    keys = set(FLAG_ALIASES) | set(VALUE_OPTIONS) | set(_ATTACHED) | set(_OPTIONS_END_AFTER)
    for key in keys | _SUBCOMMANDS | _SINGLE_DASH:
        base = key.split(" ", 1)[0]
        aliases = {**FLAG_ALIASES.get(base, {}), **FLAG_ALIASES.get(key, {})}
        valued = VALUE_OPTIONS.get(base, frozenset()) | VALUE_OPTIONS.get(key, frozenset())
        attached = _ATTACHED.get(base, frozenset()) | _ATTACHED.get(key, frozenset())
        shape = (base in _SINGLE_DASH, key in _SUBCOMMANDS, _OPTIONS_END_AFTER.get(key, 0))
        specs[key] = (aliases, valued, attached, *shape)
    return specs


_SPECS = _build_specs()
_VERSIONED = re.compile(r"(python|pip|node|perl|ruby|php)[0-9.]+\Z")

# Option values naming files: "at" = ``@file`` (curl data), "form" = ``name=@file``.
_FILE_OPTIONS = spec_pairs(
    "curl:data=at curl:data-binary=at curl:data-raw=at curl:data-ascii=at "
    "curl:data-urlencode=at curl:json=at curl:form=form curl:upload-file=read "
    "curl:config=read curl:cert=read curl:key=read curl:output=write curl:cookie-jar=write "
    "curl:dump-header=write wget:output-document=write wget:output-file=write "
    "wget:append-output=write wget:post-file=read wget:body-file=read wget:input-file=read "
    "wget:load-cookies=read wget:save-cookies=write tar:file=read sed:file=read "
    "ssh:identity-file=read cp:target-directory=write "
    "mv:target-directory=write ln:target-directory=write install:target-directory=write "
    "sort:output=write xargs:arg-file=read docker:env-file=read kubectl:filename=read "
    "terraform:var-file=read git:file=read"
)
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
_CODE_READERS = _SOURCES | set(_CODE_FLAGS)
_EXPORTERS = spec_names("export declare typeset local readonly")
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_GLOB = re.compile(r"[*?]|\[.*\]")
_HOME_WORD = re.compile(r"\$(?:HOME|\{HOME\})(?:/|\Z)")
_DEV_SINKS = frozenset(("/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty"))
_STDIN_NAMES = frozenset(("-", "/dev/stdin", "/dev/fd/0", "/proc/self/fd/0"))
_HERE_OPS = frozenset(("<<", "<<-", "<<<", "0<<", "0<<-", "0<<<"))
_TOO_DEEP = f"nesting deeper than {MAX_DEPTH}"
_INNER, _SCRIPT = 0, 1


def _table_key(program: str) -> str:
    """Table key for a program name: ``sh`` reads as ``bash``, ``python3.12`` as ``python``."""
    m = _VERSIONED.match(program) if program[-1:].isdigit() else None
    return _SAME_TABLES.get(program, m.group(1) if m else program)


def _argv(key: str, values: List[str], start: int = 0, stop: bool = False) -> Argv:
    return parse_argv(key, values, _SPECS, start, stop)


def _path(arg: str, cwd: str, home: str) -> str:
    """Normalised path of a word; other variables and ``{}`` placeholders stay as written."""
    if arg == "{}" or arg[:2] in ("<(", ">(") or (arg[:1] in "$`" and not _HOME_WORD.match(arg)):
        return arg
    return normalize(arg, cwd, home)


def _effects(key: str, argv: Argv, cwd: str, home: str) -> Tuple[list, list, list]:
    """(paths, writes, urls) of positional arguments and file-naming option values."""
    paths: List[str] = []
    urls: List[str] = []
    for index, arg in enumerate(argv.args):
        if key == "dd":
            arg = arg[3:] if arg[:3] in ("if=", "of=") else ""
        if not arg or arg == "-" or index == argv.sub_at:
            continue
        if "://" in arg and _URL.match(arg):
            urls.append(arg)
        else:
            paths.append(_path(arg, cwd, home))
    writes = []
    if key in _WRITES_ARGS:
        writes = [_path(arg, cwd, home) for arg in _written_args(key, argv) if arg and arg != "-"]
    program = key.partition(" ")[0]
    for name, value in argv.options:
        if "://" in value and _URL.match(value):
            urls.append(value)
            continue
        kind = _FILE_OPTIONS.get(program + ":" + name)
        ref = _file_reference(kind, value) if kind else ""
        if ref and ref != "-":
            paths.append(_path(ref, cwd, home))
            if kind == "write":
                writes.append(paths[-1])
    return paths, writes, urls


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

    def __init__(self, words: list, redirs: list, subs: dict, scope: Scope, wrappers: list) -> None:
        self.words = words  # (value, WordInfo or None)
        self.values = [value for value, _ in words]
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
    argv = _argv(_table_key(program), call.values, j, stop=True)
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

    def walk(self, tokens: list, cwd: str, wrappers: List[str], stdin: Tuple[str, ...]) -> Scope:
        scope = Scope(cwd, stdin, self.home)
        for event in split(tokens):
            kind = event[0]
            if kind == CMD:
                scope.ran(self.simple(event[1], event[2], scope, wrappers))
            elif kind == SEP:
                scope.separator(event[1])
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
            programs.extend(self.walk(tokens, cwd, wrappers, ()).top)
        return programs

    def simple(self, words: list, redirs: list, scope: Scope, wrappers: list) -> List[str]:
        """A simple command: its substitutions run first, then the command itself."""
        subs: Dict[int, List[str]] = {}
        for _, info in words:
            if info is not None and info.subs:
                subs[id(info)] = self.substitutions(info.subs, scope.cwd, wrappers)
        for redir in redirs:
            if redir.info is not None and redir.info.subs:
                subs[id(redir.info)] = self.substitutions(redir.info.subs, scope.cwd, wrappers)
            if redir.body_subs:
                subs[id(redir)] = self.substitutions(redir.body_subs, scope.cwd, wrappers)
        call = _Call(words, redirs, subs, scope, wrappers)
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
            tokens = tokenize(text, len(call.wrappers) + 1, MAX_DEPTH)
        except ShellSyntaxError as err:
            return self.emit(call, i, program, err.reason)
        scope = call.scope
        inner = self.walk(tokens, call.cwd, [*call.wrappers, program], tuple(scope.up))
        if same_shell and inner.cwd != call.cwd:  # ``eval 'cd /x'`` moves the calling shell
            scope.chdir(inner.cwd)
        kept = [redir for redir in call.redirs if redir.op not in _HERE_OPS]
        if kept:  # ``bash -c 'echo x' >> ~/.bashrc`` still writes ~/.bashrc
            self.emit(_Call([], kept, call.subs, scope, call.wrappers), -1, "")
        return inner.top

    def emit(self, call: _Call, i: int, program: str, reason: str = "") -> List[str]:
        """Record the Command run by ``call.words[i]``; return the programs it runs."""
        values, key = call.values[i + 1 :], _table_key(program)
        own, spans = find_exec(values) if key == "find" else (values, [])
        if key == "tar" and own and own[0][:1] not in ("-", ""):
            own = ["-" + own[0], *own[1:]]  # ``tar czf out.tgz dir``: old-style flag cluster
        argv = parse_argv(key, own, _SPECS)
        paths, writes, urls = _effects(key, argv, call.cwd, self.home)
        redirects, stdin = self.redirections(call, paths, writes) if call.redirs else ((), None)
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
        ran = [program] if program else []
        for start, end in spans:  # ``find … -exec cmd {} ;`` runs cmd too
            words = call.words[i + 1 + start : i + 1 + end]
            inner = _Call(words, [], call.subs, call.scope, [*call.wrappers, "find"])
            inner.cwd = call.cwd
            ran.extend(self.run(inner, 0))
        if (
            key in ("cd", "pushd")
            and not reason
            and _SAME_SHELL.issuperset(call.wrappers[call.outer :])
        ):
            call.scope.chdir(_cd_target(argv.args, call.cwd, self.home, call.scope.oldpwd))
        return ran

    def redirections(self, call: _Call, paths: list, writes: list) -> Tuple[tuple, Optional[Redir]]:
        """(operator, target) pairs, and the redirection feeding stdin if there is one.

        Files written go to ``writes``; files read go to ``paths`` (``cat < ~/.netrc`` reads).
        """
        redirects = []
        stdin = None
        for redir in call.redirs:
            op, target, info = redir.op, redir.target, redir.info
            base = op.lstrip("0123456789")
            if op[: len(op) - len(base)] in ("", "0") and base[:1] == "<":
                stdin = redir
            fd_dup = base[-1:] == "&" and (target.isdigit() or target == "-")
            if op in _HERE_OPS or fd_dup or (info is not None and info.procsub) or not target:
                redirects.append((op, target))
                continue
            target = _path(target, call.cwd, self.home)
            redirects.append((op, target))
            if ">" not in base:
                paths.append(target)
            elif target not in _DEV_SINKS:
                writes.append(target)
        return tuple(redirects), stdin


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
    if code_flags is None or code_flags & argv.flags:
        reads_stdin = code_flags is None and bool(args) and args[0] in _STDIN_NAMES
    else:
        reads_stdin = not args or args[0] in _STDIN_NAMES or "stdin" in argv.flags
    if not reads_stdin:
        return _NONE
    if stdin is not None:
        return frozenset(call.subs.get(id(stdin.info), []) + call.subs.get(id(stdin), []))
    return frozenset(call.scope.up)


def analyze(command: str, cwd: str = "", home: str = "") -> Analysis:
    """Parse ``command`` and return every simple command it would run. Never raises."""
    try:
        return _analyze(command, cwd, home)
    except Exception:  # a parser bug must not take the hook down: report it as unanalysable
        text = command.strip() if isinstance(command, str) else ""
        return Analysis((Command("", unanalyzable="parser error", text=text),))


def _analyze(command: str, cwd: str, home: str) -> Analysis:
    if not command or command.isspace():
        return Analysis(())
    try:
        tokens = tokenize(command, 0, MAX_DEPTH)
    except ShellSyntaxError as err:
        return Analysis((Command("", unanalyzable=err.reason, text=command.strip()),))
    analyzer = _Analyzer(home)
    analyzer.walk(tokens, cwd, [], ())
    return Analysis(tuple(analyzer.out))


def canonical_flag(program: str, flag: str) -> str:
    """Canonical name of a flag as a rule spells it (``-r``/``--recursive``/``recursive``)."""
    name = flag.partition("=")[0].lstrip("-") or flag
    spec = _SPECS.get(program)
    if spec is None:
        base, _, sub = program.partition(" ")
        key = _table_key(base)
        spec = _SPECS.get(key + " " + sub) or _SPECS.get(key)
    return spec[0].get(name, name) if spec else name
