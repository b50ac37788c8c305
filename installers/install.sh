#!/bin/sh
# Reins one-line installer (POSIX sh). The policy server serves it at GET /install.sh with its own
# external URL filled in below, so a developer machine needs only sh, curl and python3 >= 3.9:
#
#   curl -fsSL http://SERVER:8700/install.sh | sh -s -- --token TOKEN [--agent NAME]
#        [--fail-mode open|closed] [--gateway URL] [--python PATH] [--home DIR] [--client-only]
#
# It finds a real python3 >= 3.9 (the binary itself, never a version-manager shim), downloads
# reins-installer.pyz from the same server into $REINS_HOME (default ~/.reins), and runs
# `python3 reins-installer.pyz install --all ...`, which lays out the hook client and configures
# every harness it finds (Claude Code, Codex, Gemini CLI). Any other option is passed on to
# `install` unchanged (e.g. --mode http). This script holds no secret: the token comes from the
# command line (or $REINS_TOKEN) and is never printed.
set -eu

REINS_SERVER='__REINS_SERVER_URL__'
TOKEN=${REINS_TOKEN:-}
PYTHON=${REINS_PYTHON:-}
HOME_DIR=${REINS_HOME:-}
AGENT=''
FAIL_MODE=''
GATEWAY=''
CLIENT_ONLY=''
# Interpreters tried in order when --python / REINS_PYTHON is not given (space-separated).
SEARCH=${REINS_PYTHON_SEARCH:-python3 python3.13 python3.12 python3.11 python3.10 python3.9 python /usr/bin/python3 /usr/local/bin/python3 /opt/homebrew/bin/python3}

say() { printf 'reins: %s\n' "$*" >&2; }
die() { printf 'reins: error: %s\n' "$*" >&2; exit 1; }

usage() {
    cat <<'EOF'
Reins one-line installer.

  curl -fsSL http://SERVER:8700/install.sh | sh -s -- --token TOKEN [options]

  --token TOKEN       your Reins token (or set REINS_TOKEN); create one with `reins token create`
  --agent NAME        agent name sent with every event (default: interactive)
  --fail-mode MODE    open or closed: what the hook does when the server and its cached policy
                      bundle are both unavailable
  --gateway URL       also send the harnesses' model traffic through the Reins gateway
  --server URL        policy server URL (default: the server this script came from)
  --python PATH       python3 >= 3.9 to use for the hook client (or set REINS_PYTHON;
                      REINS_PYTHON_SEARCH lists the names tried otherwise)
  --home DIR          where the hook client lives (or set REINS_HOME; default ~/.reins)
  --client-only       lay out the hook client and its config only, configure no harness
                      (for the Claude Code / Codex plugin, which brings its own hooks)
  -h, --help          this help
Other options are passed on to `reins-installer.pyz install`.
EOF
}

# Parse our options; everything else is rotated to the end of "$@" and passed on.
n=$#
while [ "$n" -gt 0 ]; do
    arg=$1
    shift
    n=$((n - 1))
    case $arg in
        --token | --agent | --fail-mode | --gateway | --server | --python | --home)
            [ "$n" -gt 0 ] || die "$arg needs a value (see --help)"
            value=$1
            shift
            n=$((n - 1))
            ;;
        --*=*) value=${arg#*=} arg=${arg%%=*} ;;
        *) value='' ;;
    esac
    case $arg in
        --token) TOKEN=$value ;;
        --agent) AGENT=$value ;;
        --fail-mode) FAIL_MODE=$value ;;
        --gateway) GATEWAY=$value ;;
        --server) REINS_SERVER=$value ;;
        --python) PYTHON=$value ;;
        --home) HOME_DIR=$value ;;
        --client-only) CLIENT_ONLY=1 ;;
        -h | --help)
            usage
            exit 0
            ;;
        *)
            if [ -n "$value" ]; then set -- "$@" "$arg=$value"; else set -- "$@" "$arg"; fi
            ;;
    esac
done

case $REINS_SERVER in
    http://?* | https://?*) REINS_SERVER=${REINS_SERVER%/} ;;
    *) die "no server URL: pass --server http://HOST:8700 (this copy of the script was not served by a Reins server)" ;;
esac
[ -n "$TOKEN" ] || die "no token: pass --token TOKEN (ask your Reins admin: reins token create --user \$USER --role developer)"
case $FAIL_MODE in
    '' | open | closed) ;;
    *) die "--fail-mode must be open or closed, not '$FAIL_MODE'" ;;
esac
command -v curl >/dev/null 2>&1 || die "curl is needed to download the installer; install curl and run this again"

# A candidate interpreter prints "ok|old VERSION REALPATH". The real path, not the command
# name: a pyenv/asdf shim costs ~45 ms on every hook call, the binary behind it does not.
probe() {
    "$1" -c 'import os, sys; v = sys.version_info; sys.stdout.write(("ok " if v >= (3, 9) else "old ") + "%d.%d.%d " % tuple(v[:3]) + os.path.realpath(sys.executable) + "\n")' 2>/dev/null
}

try_python() {
    command -v "$1" >/dev/null 2>&1 || return 1
    answer=$(probe "$1") || return 1
    case $answer in
        ok\ *)
            answer=${answer#ok }
            FOUND_VERSION=${answer%% *}
            FOUND_PYTHON=${answer#* }
            return 0
            ;;
        old\ *) TOO_OLD="$TOO_OLD $1 (${answer#old })" ;;
    esac
    return 1
}

find_python() {
    TOO_OLD=''
    if [ -n "$PYTHON" ]; then
        try_python "$PYTHON" && return 0
        [ -z "$TOO_OLD" ] || die "Python 3.9 or newer is needed; --python gave:$TOO_OLD"
        die "--python $PYTHON is not a working Python interpreter"
    fi
    for candidate in $SEARCH; do
        try_python "$candidate" && return 0
    done
    if [ -n "$TOO_OLD" ]; then
        die "Python 3.9 or newer is needed; found only:$TOO_OLD. Install a newer python3 (python.org, brew install python, apt-get install python3) or pass --python /path/to/python3.9+"
    fi
    die "python3 (3.9 or newer) was not found on PATH. Install it (python.org, brew install python, apt-get install python3) or pass --python /path/to/python3"
}

find_python
say "using Python $FOUND_VERSION at $FOUND_PYTHON"

[ -n "$HOME_DIR" ] || HOME_DIR="$HOME/.reins"
mkdir -p "$HOME_DIR"
chmod 700 "$HOME_DIR"
export REINS_HOME="$HOME_DIR"
PYZ="$HOME_DIR/reins-installer.pyz"
partial="$PYZ.part.$$"
trap 'rm -f "$partial"' EXIT
trap 'rm -f "$partial"; exit 130' INT TERM
say "downloading $REINS_SERVER/v1/install/reins-installer.pyz"
curl -fsSL --retry 2 --connect-timeout 10 --max-time 120 -o "$partial" "$REINS_SERVER/v1/install/reins-installer.pyz" ||
    die "could not download the installer from $REINS_SERVER (is the server running and reachable from here?)"
mv -f "$partial" "$PYZ"

# The token travels in the environment, not in argv, so `ps` never shows it.
export REINS_TOKEN="$TOKEN"
if [ -n "$CLIENT_ONLY" ]; then
    # The plugin brings its own hooks: only the client, its config and the token are needed.
    "$FOUND_PYTHON" -I -c '
import os, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from installers.client_files import InstallError, install_client
try:
    install_client(Path(sys.argv[2]), server=sys.argv[3], token=os.environ["REINS_TOKEN"],
                   agent=sys.argv[4], fail_mode=sys.argv[5] or None, python=sys.argv[6])
except InstallError as exc:
    sys.exit("reins: error: %s" % exc)
print("reins: hook client installed in %s (no harness configured: --client-only)" % sys.argv[2])
' "$PYZ" "$HOME_DIR" "$REINS_SERVER" "$AGENT" "$FAIL_MODE" "$FOUND_PYTHON" ||
        die "the hook client could not be installed (see above)"
else
    [ -z "$AGENT" ] || set -- "$@" --agent "$AGENT"
    [ -z "$FAIL_MODE" ] || set -- "$@" --fail-mode "$FAIL_MODE"
    [ -z "$GATEWAY" ] || set -- "$@" --gateway "$GATEWAY"
    "$FOUND_PYTHON" -I "$PYZ" install --all --server "$REINS_SERVER" --python "$FOUND_PYTHON" "$@" ||
        die "installation failed (see above). No harness yet? Install Claude Code, Codex or Gemini CLI and run this again, or pass --client-only for the plugin"
fi

say "done. Check the setup any time with: $FOUND_PYTHON $PYZ doctor"
say "undo with: $FOUND_PYTHON $PYZ uninstall --all"
