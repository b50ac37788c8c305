"""Reins hook client: one harness hook event in, the Reins policy server's answer out.

Each harness runs it for every hook event, with the resolved interpreter (never a version-manager
shim, which costs ~45 ms a call) and ``-I -S`` (no site-packages: a fast, isolated start)::

    Claude Code  ~/.claude/settings.json, a handler under hooks.<Event>[].hooks:
      {"type": "command", "command": "/usr/bin/python3", "timeout": 10,
       "args": ["-I", "-S", "/home/me/.reins/reins_hook.py", "claude-code"]}
    Codex        ~/.codex/hooks.json (one command string, no ``args``):
      {"type": "command", "timeout": 10,
       "command": "/usr/bin/python3 -I -S /home/me/.reins/reins_hook.py codex"}
    Gemini CLI   ~/.gemini/settings.json (timeout in milliseconds):
      {"type": "command", "name": "reins", "timeout": 10000,
       "command": "/usr/bin/python3 -I -S /home/me/.reins/reins_hook.py gemini"}
    By hand
      echo '{"hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": {"command": "ls"}}' \\
        | python3 -I -S ~/.reins/reins_hook.py claude-code

It POSTs the payload on stdin unchanged to ``<server>/v1/hooks/<harness>`` with context headers
(agent ``REINS_AGENT``, run ``REINS_RUN``, host, home, ``REINS_HARNESS_VERSION``) and prints the
server's answer unchanged. When the server cannot answer (refused, timeout, non-200, not JSON),
the cached bundle (``bundle.json``, fetched at SessionStart and when older than ``bundle_max_age``)
is evaluated by the engine copy in ``lib/reins_engine`` -- the server's own code -- and the event
is spooled (``spool/``) for ``/v1/audit/batch`` at the next successful contact. Without a usable
bundle the fail mode decides: ``closed`` denies naming the server, ``open`` allows (still spooled).
Settings: ``$REINS_HOME/config.json`` (default ``~/.reins``), see ``DEFAULTS``; ``fail_mode`` unset
means closed when ``REINS_RUN`` is set, else open; ``REINS_SERVER``/``REINS_TOKEN`` override.

It must never crash or exit non-zero (a block is JSON on stdout, exit 0: the harnesses fail OPEN
on a crash, and Claude Code reads an accidental exit 2 as a block), print anything but one JSON
object, wait on the network past its timeout, import outside the standard library, or write the
token anywhere. ``main()`` also works with this file imported as a module, whose bytecode Python
caches (a script is compiled on every run). The online path imports builtins only (``json``/``socket`` pull in ``re`` and
``enum``: ~20 ms here).
"""

from __future__ import annotations

import os
import sys
import time

# The C scanner parses JSON without importing ``json`` (and its ``re``): ~8 ms saved.
from _json import make_scanner as _make_scanner

HARNESSES = ("claude-code", "codex", "gemini")
BUNDLE_FORMAT = "reins-bundle/1"
DEFAULTS = {  # config.json keys; a missing or invalid one takes this value (and is reported)
    "server": "",  # http(s)://host:port of the policy server
    "token_file": "",  # the Reins token (default <REINS_HOME>/token, mode 0600)
    "agent": "",  # X-Reins-Agent when REINS_AGENT is unset ("" = interactive)
    "fail_mode": "",  # open | closed when the server is down and no bundle is usable
    "timeout": 3.0,  # seconds for the whole exchange with the server
    "bundle_max_age": 3600.0,  # seconds before the cached bundle is refreshed
    "spool_max_events": 10000,  # events kept while offline; more are counted in spool/dropped
}
FAIL_MODES = ("", "open", "closed")  # "" = closed for scheduled runs (REINS_RUN), else open
MAX_STDIN = 32 * 1024 * 1024
MAX_RESPONSE = 32 * 1024 * 1024
MAX_SPOOL_ITEM = 512 * 1024  # a larger spooled payload keeps its fields but loses tool input/output
UPLOAD_BATCH = 500  # the server takes at most 1000 per batch
STALE_CLAIM_S = 300.0  # a claim older than this belonged to a process that died mid-upload
CONTEXT_HEADERS = {
    "agent": "X-Reins-Agent",
    "run_id": "X-Reins-Run",
    "host": "X-Reins-Host",
    "harness_version": "X-Reins-Harness-Version",
    "home": "X-Reins-Home",
}
# When even the last resort fails (no test reaches it): the legacy block shape.
LAST_WORD = b'{"decision":"block","reason":"The Reins hook client failed; run reins doctor."}'
OFFLINE_NOTE = " [Reins server unreachable: decided offline from cached policy revision {rev}]"


class HookError(Exception):
    """A failure on the way to an answer (config, network, bundle); the message says why."""


# --- pure helpers --------------------------------------------------------------------------------


class _JsonContext:
    """What ``_json.make_scanner`` reads: ``json.JSONDecoder``'s defaults, NaN/Infinity refused."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int

    def parse_constant(self, name: str) -> object:
        raise ValueError(f"{name} is not valid JSON")


def parse_json(data: bytes | str) -> object:
    """Decode one JSON document; ValueError when it is not exactly one."""
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    text = text.strip(" \t\r\n")
    try:
        value, end = _make_scanner(_JsonContext())(text, 0)
    except StopIteration as exc:
        raise ValueError(f"not JSON at character {exc.value}") from None
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    except (SystemError, ValueError):
        # Some errors make the C scanner import json.decoder, which fails oddly under -I -S
        # (SystemError); the json module then says what is wrong. Only bad input pays for it.
        import json

        return json.loads(text, parse_constant=_JsonContext().parse_constant)
    if end != len(text):
        raise ValueError(f"extra data after JSON at character {end}")
    return value


def dump_json(value: object) -> bytes:
    import json  # only offline: the online path never encodes

    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def load_config(reins_home: str, environ: dict) -> tuple[dict, list[str]]:
    """``config.json`` over the defaults, then env overrides; problems are reported, not raised."""
    problems = []
    path = os.path.join(reins_home, "config.json")
    try:
        with open(path, "rb") as handle:
            loaded = parse_json(handle.read())
        if not isinstance(loaded, dict):
            raise ValueError("not a JSON object")
    except FileNotFoundError:
        loaded = {}
        problems.append(f"{path} is missing: run `reins install <harness> --server URL --token T`")
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        loaded = {}
        problems.append(f"{path} is unreadable ({exc}): fix it or re-run `reins install`")
    config = {}
    for key, default in DEFAULTS.items():
        value = _setting(key, loaded.get(key, default), default)
        if value is None:
            problems.append(f"{path}: {key}={loaded[key]!r} is invalid; using {default!r}")
            value = default
        config[key] = value
    config["server"] = (environ.get("REINS_SERVER") or config["server"]).rstrip("/")
    config["token"] = environ.get("REINS_TOKEN", "").strip()
    return config, problems


def _setting(key: str, value: object, default: object) -> object:
    """``value`` when valid for ``key`` (positive numbers, known fail modes, text), else None."""
    if isinstance(default, (int, float)):
        if type(value) not in (int, float) or value <= 0:
            return None
        return float(value) if isinstance(default, float) else value if type(value) is int else None
    if key == "fail_mode":
        return value if value in FAIL_MODES else None
    return value if isinstance(value, str) else None


def reins_home(environ: dict) -> str:
    """``REINS_HOME``, else the folder this file was installed in (or, imported from ``lib/`` by
    a launcher, its parent), else ``~/.reins``."""
    if environ.get("REINS_HOME"):
        return environ["REINS_HOME"]
    here = os.path.dirname(os.path.abspath(__file__))
    for folder in (here, os.path.dirname(here)):
        if os.path.isfile(os.path.join(folder, "config.json")):
            return folder
    return os.path.join(environ.get("HOME") or "/", ".reins")


def fail_mode(config: dict, environ: dict) -> str:
    """Configured (the installer writes the agent's choice), else closed for scheduled runs."""
    if config.get("fail_mode") in ("open", "closed"):
        return config["fail_mode"]
    return "closed" if environ.get("REINS_RUN") else "open"


def split_url(url: str) -> tuple[str, str, int, str]:
    """``http(s)://host[:port][/prefix]`` -> (scheme, host, port, prefix); ValueError if not."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in ("http", "https"):
        raise ValueError(f"server {url!r} is not an http:// or https:// URL")
    hostport, _, prefix = rest.partition("/")
    host, port = hostport, 443 if scheme == "https" else 80
    if hostport.startswith("["):  # [::1]:8700
        host, _, tail = hostport[1:].partition("]")
        if tail.startswith(":"):
            port = int(tail[1:])
    elif ":" in hostport:
        host, _, number = hostport.rpartition(":")
        port = int(number)
    if not host or not 0 < port < 65536:
        raise ValueError(f"server {url!r} has no valid host and port")
    return scheme, host, port, ("/" + prefix).rstrip("/")


def _header_value(value: str) -> str:
    """Environment text as a header value: no CR/LF (header injection), ASCII only."""
    return "".join(c if " " <= c <= "~" else "?" for c in value)[:512]


def event_context(config: dict, environ: dict) -> dict:
    """Who and where the event comes from (the server attributes the user from the token)."""
    values = {
        "agent": environ.get("REINS_AGENT") or config["agent"],
        "run_id": environ.get("REINS_RUN", ""),
        "host": os.uname().nodename,
        "harness_version": environ.get("REINS_HARNESS_VERSION", ""),
        "home": environ.get("HOME", ""),
    }
    return {key: _header_value(value) for key, value in values.items() if value}


def parse_response(raw: bytes) -> tuple[int, dict, bytes]:
    """An HTTP/1.1 response -> (status, lower-case headers, body); ValueError when malformed."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        raise ValueError("incomplete HTTP response")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise ValueError(f"not an HTTP response: {lines[0][:80]!r}")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = _unchunk(body)
    elif headers.get("content-length", "").isdigit():
        length = int(headers["content-length"])
        if len(body) < length:
            raise ValueError("HTTP response body cut short")
        body = body[:length]
    return int(parts[1]), headers, body


def _unchunk(body: bytes) -> bytes:
    out, pos = [], 0
    while True:
        end = body.find(b"\r\n", pos)
        if end < 0:
            raise ValueError("bad chunked HTTP body")
        size = int(body[pos:end].split(b";")[0] or b"x", 16)
        if size == 0:
            return b"".join(out)
        out.append(body[end + 2 : end + 2 + size])
        pos = end + 4 + size


def _complete(raw: bytes) -> bool:
    """Enough bytes for the whole response (the server may keep the connection open)."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        return False
    lower = head.lower()
    mark = lower.find(b"\r\ncontent-length:")
    if mark >= 0:
        value = lower[mark + 17 :].split(b"\r\n", 1)[0].strip()
        return value.isdigit() and len(body) >= int(value)
    return b"chunked" in lower and body.endswith(b"0\r\n\r\n")


def fallback_answer(harness: str, event_name: str, decision: str, reason: str) -> dict:
    """An answer without the engine copy (a broken install: fail-mode decisions only).

    ``responses.render`` of the engine is used whenever it imports; this covers the blocking
    shapes each harness accepts, so a broken install still fails the way it is configured to.
    """
    if decision != "deny" or event_name in ("SessionEnd", "Notification", "PreCompact"):
        return {}
    if harness == "gemini":
        return {"decision": "deny", "reason": reason}
    if event_name == "PreToolUse":
        specific = {"permissionDecision": "deny", "permissionDecisionReason": reason}
        return {"hookSpecificOutput": dict(specific, hookEventName=event_name)}
    return {"decision": "block", "reason": reason}


def fail_mode_reason(server: str, cause: str, mode: str) -> str:
    return (
        f"Reins could not reach its policy server {server or '(none configured)'} ({cause}) and "
        f"has no usable cached policy bundle, so this agent fails {mode}. Start or reach the "
        "server (the next event it answers caches the bundle), and run `reins doctor`."
    )


# --- the run ---------------------------------------------------------------------------------------


class HookRun:
    """One invocation: paths, config and the deadline every network call shares."""

    def __init__(self, harness: str, environ: dict, started: float) -> None:
        self.harness = harness
        self.environ = environ
        self.home = home = reins_home(environ)
        self.config, self.problems = load_config(home, environ)
        self.deadline = started + self.config["timeout"]
        self.spool_dir = os.path.join(home, "spool")
        self.bundle_path = os.path.join(home, "bundle.json")
        self.context = event_context(self.config, environ)
        self.headers = {CONTEXT_HEADERS[key]: value for key, value in self.context.items()}

    # network ------------------------------------------------------------------------------------

    def token(self) -> str:
        if self.config["token"]:
            return self.config["token"]
        path = self.config["token_file"] or os.path.join(self.home, "token")
        try:
            with open(path, encoding="utf-8") as handle:
                return handle.read().strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise HookError(f"token file {path} unreadable ({exc.__class__.__name__})") from None

    def request(self, method: str, path: str, body: bytes = b"", extra: dict | None = None):
        """One HTTP exchange within the deadline -> (status, headers, body); HookError if none."""
        if not self.config["server"]:
            raise HookError("no server configured")
        try:
            scheme, host, port, prefix = split_url(self.config["server"])
        except ValueError as exc:
            raise HookError(str(exc)) from None
        lines = [
            f"{method} {prefix}{path} HTTP/1.1",
            f"Host: {f'[{host}]' if ':' in host else host}:{port}",
            "Connection: close",
            "Content-Type: application/json",
            f"Content-Length: {len(body)}",
            f"Authorization: Bearer {_header_value(self.token())}",
        ]
        lines += [f"{k}: {v}" for k, v in {**self.headers, **(extra or {})}.items()]
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        try:
            raw = self._exchange(scheme, host, port, data)
            return parse_response(raw)
        except (OSError, ValueError) as exc:
            text = "timed out" if "timed out" in str(exc) else str(exc) or exc.__class__.__name__
            raise HookError(f"{self.config['server']}: {text}") from None

    def _remaining(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("timed out")
        return left

    def _exchange(self, scheme: str, host: str, port: int, data: bytes) -> bytes:
        sock = self._connect(scheme, host, port)
        try:
            sock.sendall(data)
            chunks, size = [], 0
            while True:
                sock.settimeout(self._remaining())
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
                if size > MAX_RESPONSE:
                    raise ValueError("response too large")
                if _complete(b"".join(chunks)):
                    break
            return b"".join(chunks)
        finally:
            sock.close()

    def _connect(self, scheme: str, host: str, port: int):
        if scheme == "https":  # TLS costs its imports; only https servers pay them
            import socket
            import ssl

            raw = socket.create_connection((host, port), timeout=self._remaining())
            return ssl.create_default_context().wrap_socket(raw, server_hostname=host)
        import _socket

        error: Exception = OSError(f"cannot resolve {host}")
        # An ASCII host as bytes: a str host loads the idna codec (and ``re``), ~7 ms.
        name = host.encode("ascii") if host.isascii() else host
        for family, kind, proto, _, address in _socket.getaddrinfo(
            name, port, 0, _socket.SOCK_STREAM
        ):
            sock = _socket.socket(family, kind, proto)
            try:
                sock.settimeout(self._remaining())
                sock.connect(address)
                return sock
            except OSError as exc:
                sock.close()
                error = exc
        raise error

    # online -------------------------------------------------------------------------------------

    def online(self, raw: bytes) -> bytes:
        """The server's answer to the event, unchanged; HookError when it gave none."""
        status, _, body = self.request("POST", f"/v1/hooks/{self.harness}", raw)
        if status != 200:
            raise HookError(f"{self.config['server']} answered HTTP {status}: {_snippet(body)}")
        try:
            answer = parse_json(body)
        except (ValueError, UnicodeDecodeError):
            raise HookError(
                f"{self.config['server']} answered non-JSON: {_snippet(body)}"
            ) from None
        if not isinstance(answer, dict):
            raise HookError(
                f"{self.config['server']} answered {type(answer).__name__}, not an object"
            )
        return body.strip()

    def after_contact(self, payload: dict) -> None:
        """Housekeeping while the server is up: refresh the bundle, upload the spool."""
        if payload.get("hook_event_name") == "SessionStart" or (
            self.bundle_age() > self.config["bundle_max_age"]
        ):
            try:
                self.refresh_bundle()
            except (HookError, OSError, ValueError) as exc:
                self.problems.append(f"policy bundle not refreshed: {exc}")
        try:
            self.upload_spool()
        except (HookError, OSError) as exc:
            self.problems.append(f"spool not uploaded: {exc}")

    def bundle_age(self) -> float:
        try:
            return time.time() - os.stat(self.bundle_path).st_mtime
        except OSError:
            return float("inf")

    def refresh_bundle(self) -> None:
        """GET /v1/bundle (If-None-Match the cached one); stored atomically, its mtime = fetched."""
        cached = load_bundle(self.bundle_path)
        etag = cached.get("etag") if cached else None
        extra = {"If-None-Match": _header_value(etag)} if isinstance(etag, str) else None
        status, _, body = self.request("GET", "/v1/bundle", extra=extra)
        if status == 304 and cached:
            os.utime(self.bundle_path)
            return
        if status != 200:
            raise HookError(f"bundle refresh: HTTP {status}: {_snippet(body)}")
        check_bundle(parse_json(body))
        write_atomic(self.bundle_path, body)

    def upload_spool(self) -> None:
        """Claim spooled events (atomic rename: one process per file), send them, then delete."""
        for _ in range(5):
            claimed = claim_spool(self.spool_dir, UPLOAD_BATCH)
            if not claimed:
                return
            self._upload(claimed)

    def _upload(self, claimed: list) -> None:
        items, good = [], []
        for path in claimed:
            try:
                with open(path, "rb") as handle:
                    data = handle.read()
                if not isinstance(parse_json(data), dict):
                    raise ValueError("not an object")
            except (OSError, ValueError, UnicodeDecodeError):
                _quiet(os.rename, path, _original(path) + ".rejected")
                continue
            items.append(data)
            good.append(path)
        if not good:
            return
        try:
            status, _, body = self.request(
                "POST", "/v1/audit/batch", b'{"events":[' + b",".join(items) + b"]}"
            )
        except HookError:
            status, body = 0, b""
        if status == 200:
            for path in good:
                _quiet(os.unlink, path)
        elif status == 400 and len(good) > 1:  # one bad event must not block the rest forever
            for path in good:
                self._upload([path])
        else:
            suffix = ".rejected" if status == 400 else ""
            for path in good:
                _quiet(os.rename, path, _original(path) + suffix)
            if status != 400:
                raise HookError(f"spool upload: HTTP {status or 'unreachable'}: {_snippet(body)}")

    # offline ------------------------------------------------------------------------------------

    def offline(self, payload: object, cause: str) -> dict:
        """Decide without the server (cached bundle, else the fail mode); spool the event."""
        started = time.perf_counter()
        name = payload.get("hook_event_name") if isinstance(payload, dict) else None
        name = name.strip() if isinstance(name, str) else ""
        engine, problem = import_engine(self.home)
        if problem:
            self.problems.append(problem)
        decided = self._evaluate(engine, payload) if engine and name else None
        if decided is None:
            mode = fail_mode(self.config, self.environ)
            decided = {
                "decision": "deny" if mode == "closed" else "allow",
                "reason": fail_mode_reason(self.config["server"], cause, mode),
                "rules": [],
                "revision": "",
                "explicit": False,
            }
        answer = render_answer(engine, self.harness, name, decided)
        if not name:  # the server would reject it; there is no event to audit
            self.problems.append("stdin is not a hook event (no hook_event_name): not spooled")
            return answer
        try:
            item = self.spool_item(payload, decided, cause, started)
            spool_event(self.spool_dir, item, self.config["spool_max_events"])
        except (HookError, OSError, ValueError) as exc:
            self.problems.append(f"event not spooled: {exc}")
        return answer

    def _evaluate(self, engine: dict, payload: dict) -> dict | None:
        bundle = load_bundle(self.bundle_path)
        if bundle is None:
            return None
        try:
            check_bundle(bundle)
            policies = compile_bundle(engine, bundle)
            principal = bundle.get("principal") or {}  # the token's user and roles
            context = {"agent": "interactive", **self.context, **principal}
            event = engine["adapters"].to_event(payload, self.harness, context)
            decision = policies.evaluate(event)
        except Exception as exc:
            self.problems.append(f"cached bundle unusable ({exc.__class__.__name__}: {exc})")
            return None
        note = OFFLINE_NOTE.format(rev=bundle.get("revision") or "?")
        return {
            "decision": decision.decision,
            "reason": decision.reason + note,
            "rules": decision.rules,
            "revision": decision.revision,
            "explicit": decision.explicit_allow,
        }

    def spool_item(self, payload: dict, decided: dict, cause: str, started: float) -> dict:
        item = {
            "event_id": os.urandom(16).hex(),
            "harness": self.harness,
            "payload": payload,
            "decision": decided["decision"],
            "reason": decided["reason"],
            "rules": decided["rules"],
            "revision": decided["revision"],
            "time_us": time.time_ns() // 1000,
            "eval_us": int((time.perf_counter() - started) * 1e6),
            "degraded": True,
            "offline_cause": cause,
        }
        item.update(self.context)
        return item


def _snippet(body: bytes) -> str:
    return body[:200].decode("utf-8", "replace").replace("\n", " ").strip() or "(empty body)"


# --- bundle, engine, spool: files under REINS_HOME -------------------------------------------------


def load_bundle(path: str) -> dict | None:
    try:
        with open(path, "rb") as handle:
            bundle = parse_json(handle.read())
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return bundle if isinstance(bundle, dict) else None


def check_bundle(bundle: object) -> None:
    """ValueError unless this is a policy bundle this client understands."""
    if not isinstance(bundle, dict) or bundle.get("format") != BUNDLE_FORMAT:
        raise ValueError(f"not a {BUNDLE_FORMAT} document")
    if not isinstance(bundle.get("rules"), list):
        raise ValueError("bundle has no rules list")


def compile_bundle(engine: dict, bundle: dict):
    """The bundle's rules through the server's own compiler -> a ``PolicySet``."""
    rule_class = engine["compiler"].Rule
    rules = [
        rule_class(spec, policy=spec.get("policy", ""), source=spec.get("source", ""), index=i)
        for i, spec in enumerate(bundle["rules"])
    ]
    default = bundle.get("default_decision", "allow")
    return engine["evaluator"].PolicySet(rules, default, str(bundle.get("revision", "")))


def import_engine(reins_home: str) -> tuple[dict | None, str]:
    """The engine copy under ``<home>/lib/reins_engine`` (imported only offline)."""
    lib = os.path.join(reins_home, "lib")
    if lib not in sys.path:
        sys.path.insert(0, lib)
    try:
        from reins_engine import adapters, compiler, evaluator, responses
    except Exception as exc:
        return None, f"engine copy under {lib} not importable ({exc}): re-run `reins install`"
    return {
        "adapters": adapters,
        "compiler": compiler,
        "evaluator": evaluator,
        "responses": responses,
    }, ""


def render_answer(engine: dict | None, harness: str, event_name: str, decided: dict) -> dict:
    if engine is not None and event_name:
        try:
            return engine["responses"].render(
                harness, event_name, decided["decision"], decided["reason"], decided["explicit"]
            )
        except Exception:
            pass
    return fallback_answer(harness, event_name, decided["decision"], decided["reason"])


def write_atomic(path: str, data: bytes) -> None:
    """Temp file in the same folder (O_EXCL), fsync, rename over ``path``, fsync the folder."""
    folder = os.path.dirname(path) or "."
    tmp = os.path.join(folder, f".tmp-{os.getpid()}-{os.urandom(4).hex()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        if not _write(fd, data):
            raise OSError(f"cannot write {tmp}")
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.rename(tmp, path)
    except OSError:
        _quiet(os.unlink, tmp)
        raise
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def spool_event(spool_dir: str, item: dict, max_events: int) -> None:
    """One file per event, ``<time_ns>-<random>.json``; bounded: past the limit it is counted
    in ``spool/dropped`` instead (and ``reins doctor`` shows it)."""
    os.makedirs(spool_dir, mode=0o700, exist_ok=True)
    names = [n for n in os.listdir(spool_dir) if ".json" in n]  # claimed and rejected count
    if len(names) >= max_events:
        dropped_path = os.path.join(spool_dir, "dropped")
        try:
            with open(dropped_path, encoding="ascii") as handle:
                dropped = int(handle.read().strip() or 0)
        except (OSError, ValueError):
            dropped = 0
        write_atomic(dropped_path, str(dropped + 1).encode())
        raise HookError(f"spool {spool_dir} is full ({max_events} events): event not spooled")
    data = dump_json(item)
    if len(data) > MAX_SPOOL_ITEM:  # keep the event, lose its bulk (a 50 MB Write, say)
        payload = {k: v for k, v in item["payload"].items() if len(dump_json(v)) <= 4096}
        data = dump_json(dict(item, payload=dict(payload, reins_truncated=True)))
    name = f"{time.time_ns():020d}-{os.urandom(6).hex()}.json"
    write_atomic(os.path.join(spool_dir, name), data)


def claim_spool(spool_dir: str, limit: int) -> list:
    """Rename up to ``limit`` spooled events to ``<name>.claim-<pid>-<rand>``: a rename succeeds
    for exactly one process, so concurrent hooks never upload the same file twice. Claims left
    by a dead process are released after STALE_CLAIM_S. (The server also ignores a re-sent
    event id, so a crash between upload and delete cannot duplicate a row.)"""
    try:
        names = sorted(os.listdir(spool_dir))
    except OSError:
        return []
    now, mine = time.time(), []
    tag = f".claim-{os.getpid()}-{os.urandom(3).hex()}"
    for name in names:
        path = os.path.join(spool_dir, name)
        if ".json.claim-" in name:
            try:
                if now - os.stat(path).st_mtime > STALE_CLAIM_S:
                    os.rename(path, _original(path))
                    name, path = os.path.basename(_original(path)), _original(path)
                else:
                    continue
            except OSError:
                continue
        if not name.endswith(".json") or len(mine) >= limit:
            continue
        try:
            os.rename(path, path + tag)
            os.utime(path + tag)  # the claim's age, for stale-claim release
        except OSError:
            continue  # another process claimed it first
        mine.append(path + tag)
    return mine


def _original(claimed: str) -> str:
    return claimed.split(".claim-", 1)[0]


def _quiet(operation, *paths: str) -> bool:
    """``os.rename``/``os.unlink`` where losing a race to another hook process is fine."""
    try:
        operation(*paths)
    except OSError:
        return False
    return True


# --- main: owns stdin, stdout, the exit code and the fail mode --------------------------------------


def run(harness: str, raw: bytes, environ: dict, started: float) -> tuple[bytes, list[str]]:
    """The answer to print for one event, and problems to report on stderr."""
    hook = HookRun(harness, environ, started)
    try:
        payload = parse_json(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        payload = None
        hook.problems.append(f"stdin is not a JSON hook payload ({exc})")
    if isinstance(payload, dict):
        try:
            answer = hook.online(raw)
        except HookError as exc:
            cause = str(exc)
        else:
            hook.after_contact(payload)
            return answer, hook.problems
    else:
        cause = "the payload was not sent: it is not a JSON object"
    hook.problems.append(f"deciding offline: {cause}")
    return dump_json(hook.offline(payload, cause)), hook.problems


def last_resort(harness: str, environ: dict, raw: bytes, error: BaseException) -> bytes:
    """The client itself broke: still a well-formed answer, per the fail mode."""
    try:
        config, _ = load_config(reins_home(environ), environ)
    except Exception:
        config = dict(DEFAULTS)
    if fail_mode(config, environ) == "open":
        return b"{}"
    try:
        name = parse_json(raw).get("hook_event_name", "")
    except Exception:
        name = ""
    reason = (
        f"The Reins hook client failed ({error.__class__.__name__}) and this agent fails "
        "closed: run `reins doctor` to find out why."
    )
    event = name if isinstance(name, str) else ""
    return dump_json(fallback_answer(harness, event, "deny", reason))


def main(argv: list | None = None) -> int:
    """Entry point: always prints one JSON object and exits 0."""
    started = time.monotonic()
    argv = sys.argv[1:] if argv is None else argv
    environ = dict(os.environ)
    harness = argv[0] if argv else ""
    raw = b""
    try:
        raw = sys.stdin.buffer.read(MAX_STDIN)
        if harness not in HARNESSES:
            raise HookError(f"usage: reins_hook.py <{'|'.join(HARNESSES)}> (got {harness!r})")
        answer, problems = run(harness, raw, environ, started)
    except BaseException as exc:
        problems = [f"{exc.__class__.__name__}: {exc}"]
        try:
            answer = last_resort(harness, environ, raw, exc)
        except BaseException:
            answer = LAST_WORD
    text = "".join(f"reins hook: {problem}\n" for problem in problems)
    _write(2, text.encode("utf-8", "replace"))
    _write(1, answer + b"\n")
    return 0


def _write(fd: int, data: bytes) -> bool:
    """Unbuffered, so a closed pipe fails here (ignored) and not in the exit-time flush."""
    try:
        while data:
            data = data[os.write(fd, data) :]
    except OSError:
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
