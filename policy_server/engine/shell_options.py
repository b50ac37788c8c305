"""How a command's words are read, for ``shell.analyze``: option tables and ``parse_argv``.

``FLAG_ALIASES`` gives canonical flag names, ``VALUE_OPTIONS`` the options that take a value;
``SPECS`` folds them (and the rest of the per-program shape) into one ArgvSpec per program or
"program subcommand", which ``parse_argv`` reads words with. Leading ``NAME=value`` words
(``assignments``) and ``find -exec`` commands (``find_exec``) are read here too.
"""

from __future__ import annotations

import re
from typing import Dict, FrozenSet, List, Set, Tuple


def spec_pairs(spec: str) -> Dict[str, str]:
    """``"r=recursive f=force"`` -> ``{"r": "recursive", "f": "force"}``."""
    return dict(item.split("=", 1) for item in spec.split())


def spec_names(spec: str) -> FrozenSet[str]:
    """``"a b"`` -> ``frozenset({"a", "b"})``."""
    return frozenset(spec.split())


def spec_table(text: str) -> Dict[str, str]:
    """``key: items`` per line or ``;``-separated, indented lines continuing the key above."""
    table: Dict[str, str] = {}
    key = ""
    for line in text.strip().replace("; ", "\n").splitlines():
        if line[:1] == " ":
            table[key] += line
        else:
            key, _, items = line.partition(": ")
            table[key] = items
    return table


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
ln: s=symbolic f=force t=target-directory; install: t=target-directory m=mode d=directory
chmod: R=recursive; tee: a=append; sort: o=output; base64: d=decode D=decode
git: C=directory c=config; git push: f=force u=set-upstream d=delete n=dry-run o=push-option
git clean: f=force d=directories x=ignored X=only-ignored n=dry-run i=interactive e=exclude
git branch: D=force-delete d=delete f=force m=move M=force-move u=set-upstream-to
git checkout: f=force b=branch B=force-branch p=patch; git switch: f=force c=create
git restore: S=staged W=worktree s=source p=patch
git commit: n=no-verify m=message a=all F=file C=reuse-message c=reedit-message
    S=gpg-sign t=template u=untracked-files
git rebase: i=interactive x=exec s=strategy X=strategy-option
git tag: d=delete f=force a=annotate m=message s=sign F=file u=local-user
git stash: m=message u=include-untracked; git add: f=force A=all n=dry-run
git rm: r=recursive f=force n=dry-run; git merge: m=message s=strategy X=strategy-option
git clone: b=branch o=origin c=config u=upload-pack; git worktree: f=force b=branch
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
python: c=command m=module; node: e=eval p=print r=require c=check; php: r=run f=file
perl: e=eval E=eval i=in-place M=module; ruby: e=eval r=require i=in-place
bash: c=command l=login i=interactive s=stdin o=option O=shopt
sudo: u=user E=preserve-env g=group i=login s=shell l=list v=validate e=edit D=chdir
    C=close-from p=prompt r=role t=type T=command-timeout U=other-user R=chroot
su: c=command l=login s=shell; env: i=ignore-environment u=unset C=chdir S=split-string
ionice: c=class n=classdata p=pid P=pgid u=uid; command: v=describe V=describe-verbose
watch: n=interval x=exec; crontab: e=edit r=remove l=list u=user
"""
    ).items()
}

# Options taking a value. The long spelling of a short one (``-d`` -> ``--data``) is added
# from FLAG_ALIASES, so only long-only options are listed.
_VALUED = spec_table(
    """
git: -C -c --git-dir --work-tree --namespace --config-env
git commit: -m -F -C -c --author --date -t --fixup --squash --cleanup --trailer
git push: -o --repo --receive-pack --exec; git clean: -e; git checkout: -b -B --orphan
git switch: -c -C --orphan; git branch: -u --sort --format; git tag: -m -F -u
git restore: -s; git rebase: -x -s -X --onto; git merge: -m -s -X -F; git stash: -m
git log: -n; git worktree: -b -B
git clone: -b -o -c -u --depth --reference --template --separate-git-dir
curl: -d -F -T -o -X -H -u -x -K -A -e -b -c -m -E -r -w -D -U -C -z -Q --data-binary
    --data-raw --data-ascii --data-urlencode --json --form-string --key --cacert --url
    --connect-timeout --retry --retry-delay --resolve --connect-to --output-dir --variable
wget: -O -o -a -P -i -U -T -t -e -l -B -w --header --post-data --post-file --body-data
    --body-file --method --user --password --load-cookies --save-cookies
ssh: -i -p -l -o -L -R -D -J -F -E -b -c -m -S -w -B -e -I -O -Q -W
scp: -i -P -o -F -J -l -c -S
rsync: -e -f --exclude --include --exclude-from --include-from --files-from --rsync-path
nc: -e -c -p -w -q -s -x -o -X -i -O -I -T -V -m --lua-exec --proxy-type
sed: -e -f -l; tar: -f -C -T -X -I -b -H -N -g -K -L -V --exclude --format
xargs: -n -I -L -P -s -d -E -a --process-slot-var
kubectl: -n -f -l -o -c -k -s -p -L --context --cluster --user --kubeconfig --token --as
    --field-selector --grace-period --timeout --type
docker: -H -l --context --config
docker run: -e -v -p -w -u -l -m -h -a --name --entrypoint --network --env-file --mount
    --platform --cpus --restart --add-host --cap-add --cap-drop --device --security-opt
docker exec: -e -u -w --env-file
docker build: -t -f -o --build-arg --target --platform --secret --ssh --progress
npm: -w --prefix --registry --tag --otp --access --loglevel --cache; npx: -p -c
pip: -r -c -e -t -i -f --extra-index-url --prefix --root --python --platform --trusted-host
    --cache-dir --log --proxy --timeout --src
python: -c -m -W -X; node: -e -p -r --input-type --import --loader --env-file
perl: -e -E -M -m -I; ruby: -e -r -I -C -E; php: -r -f -d -c
bash: -o +o -O +O --rcfile --init-file
sudo: -u -g -C -D -p -r -t -T -U -R; doas: -u -C; su: -c -s -g -G; env: -u -C -S
timeout: -s -k; nice: -n; ionice: -c -n -p -P -u; stdbuf: -i -o -e; exec: -a; watch: -n
find: -name -iname -path -ipath -wholename -iwholename -regex -iregex -type -xtype -maxdepth
    -mindepth -newer -perm -size -user -group -uid -gid -mtime -atime -ctime -mmin -amin
    -cmin -links -inum -samefile -printf -fprint -fprintf -fprint0 -fls -regextype -lname
terraform: -var -var-file -target -out -state -replace -lock-timeout -parallelism
helm: -n -f -o --set --set-string --version --kube-context --kubeconfig --timeout --repo
ln: -t -S; cp: -t -S; mv: -t -S; install: -t -m -o -g -S; truncate: -s -r; touch: -d -r -t
grep: -e -f -A -B -C -m -d -D --include --exclude --exclude-dir --label
head: -n -c; sort: -o -k -t -S -T; crontab: -u
psql: -c -f -d -h -p -U -v; mysql: -e -u -h -D -P -S; codex: -s -c -m -a -p -C -i
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


# How one program's words are read: (aliases, valued options, attached-only options,
# single-dash long options, has subcommands, positionals after which options end).
ArgvSpec = Tuple[Dict[str, str], FrozenSet[str], FrozenSet[str], bool, bool, int]
NO_SPEC: ArgvSpec = ({}, frozenset(), frozenset(), False, False, 0)


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


SPECS = _build_specs()
_VERSIONED = re.compile(r"(python|pip|node|perl|ruby|php)[0-9.]+\Z")


def table_key(program: str) -> str:
    """Table key for a program name: ``sh`` reads as ``bash``, ``python3.12`` as ``python``."""
    if program[-1:].isdigit():
        m = _VERSIONED.match(program)
        return _SAME_TABLES.get(program, m.group(1) if m else program)
    return _SAME_TABLES.get(program, program)


def canonical_flag(program: str, flag: str) -> str:
    """Canonical name of a flag as a rule spells it (``-r``/``--recursive``/``recursive``)."""
    name = flag.partition("=")[0].lstrip("-") or flag
    spec = SPECS.get(program)
    if spec is None:
        base, _, sub = program.partition(" ")
        key = table_key(base)
        spec = SPECS.get(key + " " + sub) or SPECS.get(key)
    return spec[0].get(name, name) if spec else name


_ASSIGN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\[[^\]]*\])?\+?=")


def assignments(words: list, i: int) -> Tuple[int, List[Tuple[str, str]]]:
    """Leading ``NAME=value`` words from ``i`` (quoted ``'A=b'`` is a command, not one)."""
    found = []
    while i < len(words):
        value, info = words[i]
        raw = value if info is None else info.raw
        if "=" not in raw or _ASSIGN.match(raw) is None:
            break
        name, _, val = value.partition("=")
        found.append((name.rstrip("+"), val))
        i += 1
    return i, found


def find_exec(values: List[str]) -> Tuple[List[str], List[Tuple[int, int]]]:
    """find's own words, and the (start, end) spans of its ``-exec … ;`` commands."""
    own: List[str] = []
    spans: List[Tuple[int, int]] = []
    i, n = 0, len(values)
    while i < n:
        word = values[i]
        own.append(word)
        i += 1
        if word in ("-exec", "-execdir", "-ok", "-okdir"):
            start = i
            while i < n and values[i] not in (";", "+"):
                i += 1
            if i > start:
                spans.append((start, i))
            i += 1
    return own, spans


class Argv:
    """Options and positionals of one command's words (see ``parse_argv``)."""

    __slots__ = ("args", "end", "flags", "options", "sub_at")

    def __init__(self) -> None:
        self.flags: Set[str] = set()
        self.options: List[Tuple[str, str]] = []
        self.args: List[str] = []
        self.sub_at = -1  # index in args of the subcommand (``git push``), -1 when none
        self.end = 0  # with ``stop``: index of the first positional word


def parse_argv(
    key: str, values: List[str], specs: Dict[str, ArgvSpec], start: int = 0, stop: bool = False
) -> Argv:
    """Canonical flags, valued options and positionals of ``values[start:]``.

    GNU style (options may follow positionals) unless ``stop``: a wrapper's options end at its
    command word, whose index is ``end``. The first positional of a program with subcommands
    switches to the "program subcommand" spec when there is one.
    """
    argv = Argv()
    aliases, valued, attached, single, subcommands, end_after = specs.get(key, NO_SPEC)
    args, flags, options = argv.args, argv.flags, argv.options
    i, n, literal = start, len(values), False
    while i < n:
        word = values[i]
        i += 1
        if word[:1] != "-" or literal or word == "-":
            if stop:
                argv.end = i - 1
                return argv
            args.append(word)
            if subcommands:  # the first positional: switch to the subcommand's spec
                subcommands = False
                argv.sub_at = len(args) - 1
                sub = specs.get(key + " " + word)
                if sub is not None:
                    aliases, valued, attached, single, _, end_after = sub
            if end_after and len(args) >= end_after:
                literal = True
        elif word == "--":
            literal = True
            if stop:
                argv.end = i
                return argv
        elif word[1] == "-" or single:  # ``--name[=value]``, ``--name value`` when valued
            spelled, eq, value = word.partition("=")
            name = spelled.lstrip("-")
            canonical = aliases.get(name, name)
            flags.add(canonical)
            if eq:
                options.append((canonical, value))
            elif spelled in valued and i < n:
                options.append((canonical, values[i]))
                i += 1
        elif len(word) == 2:  # ``-x``, the most common option: _short_options inlined
            canonical = aliases.get(word[1], word[1])
            flags.add(canonical)
            if word in valued and i < n:
                options.append((canonical, values[i]))
                i += 1
        else:
            i = _short_options(word, values, i, aliases, valued, attached, argv)
    argv.end = n
    return argv


def _short_options(
    word: str,
    values: List[str],
    i: int,
    aliases: Dict[str, str],
    valued: FrozenSet[str],
    attached: FrozenSet[str],
    argv: Argv,
) -> int:
    """One ``-abc`` cluster; a valued letter takes the rest of the cluster or the next word."""
    flags = argv.flags
    for j in range(1, len(word)):
        char = word[j]
        canonical = aliases.get(char, char)
        flags.add(canonical)
        spelled = "-" + char
        if spelled in valued:
            if j + 1 < len(word):
                argv.options.append((canonical, word[j + 1 :]))
            elif i < len(values):
                argv.options.append((canonical, values[i]))
                i += 1
            return i
        if spelled in attached:
            if j + 1 < len(word):
                argv.options.append((canonical, word[j + 1 :]))
            return i
    return i
