"""Gateway settings: providers, model aliases, routing rules and limits, read from YAML and validated.

The YAML is either a standalone file or the ``gateway:`` section of the main Reins config. Every
error names the key (``models.claude-sonnet-4-5[1].provider``), the bad value and the fix. With
no file at all the gateway still runs, with the Anthropic and OpenAI providers of ``DEFAULTS``.
This module never reads provider keys: it records the *name* of the environment variable only.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

# Inbound/upstream wire formats. A provider speaks some of them; passthrough needs the same one.
FORMATS = ("anthropic", "responses", "chat", "gemini")
KIND_FORMATS: Mapping[str, tuple[str, ...]] = {
    "anthropic": ("anthropic",),
    "openai": ("responses", "chat"),
    "openai-compatible": ("chat",),
    "gemini": ("gemini",),
}
# Where the API version sits: in the base URL (OpenAI kinds) or added by the gateway.
VERSIONED_BASE = {"openai": True, "openai-compatible": True, "anthropic": False, "gemini": False}
DEFAULTS: dict[str, Any] = {
    "providers": {
        "anthropic": {
            "kind": "anthropic",
            "base_url": "https://api.anthropic.com",
            "api_key_env": "ANTHROPIC_API_KEY",
        },
        "openai": {
            "kind": "openai",
            "base_url": "https://api.openai.com/v1",
            "api_key_env": "OPENAI_API_KEY",
        },
    }
}
RULE_MATCHERS = ("agent", "user", "role", "route", "format", "model", "tools", "output_schema")


class GatewayConfigError(ValueError):
    """A gateway setting that cannot be used; the message names the key and the fix."""


@dataclass(frozen=True)
class Provider:
    name: str
    kind: str
    scheme: str
    host: str
    port: int
    base_path: str  # "" or "/v1", never with a trailing slash
    api_key_env: str | None
    formats: tuple[str, ...]
    connect_timeout_s: float = 5.0
    first_byte_timeout_s: float = 300.0
    read_timeout_s: float = 300.0


@dataclass(frozen=True)
class Target:
    provider: str
    model: str
    weight: int = 0  # >0: takes part in weighted spreading of the primary choice
    log_bodies: bool = False


@dataclass(frozen=True)
class Rule:
    when: Mapping[str, Any]
    use: str  # an alias (or a plain model name)


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int = 32 * 1024 * 1024
    max_header_bytes: int = 64 * 1024
    request_timeout_s: float = 60.0  # the whole request (head and body) must arrive within this
    idle_timeout_s: float = 300.0  # an idle keep-alive connection is closed after this


@dataclass(frozen=True)
class GatewayConfig:
    providers: Mapping[str, Provider]
    models: Mapping[str, tuple[Target, ...]] = field(default_factory=dict)
    rules: tuple[Rule, ...] = ()
    limits: Limits = field(default_factory=Limits)
    auth_required: bool = True
    requests_per_minute: int = 0  # per token; 0 = unlimited
    token_refresh_s: float = 5.0
    cooldown_s: float = 30.0  # after a 429 without retry-after, and when a circuit opens
    failure_threshold: int = 5  # consecutive failures that open a target's circuit
    usage_flush_s: float = 0.5
    # Metadata of every request is in the usage table; bodies (redacted) go to this JSON-lines
    # file for targets with ``log_bodies`` (or all, with ``traffic_log.bodies``).
    traffic_log: str | None = None  # default: gateway-bodies.jsonl next to the store
    log_bodies: bool = False
    # Kept as written; ``gateway.pricing`` and ``policy_server.budgets`` validate their own sections.
    prices: Mapping[str, Any] = field(default_factory=dict)
    budgets: tuple[Any, ...] = ()


def load_file(path: str | Path | None) -> GatewayConfig:
    """Read ``path`` (standalone, or a main config with a ``gateway:`` section); None = defaults."""
    if path is None:
        return parse(DEFAULTS)
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise GatewayConfigError(
            f"gateway config {path} not found. Fix: create it or drop --config."
        ) from None
    except yaml.YAMLError as exc:
        raise GatewayConfigError(f"gateway config {path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise GatewayConfigError(f"gateway config {path} must be a mapping")
    if isinstance(data.get("gateway"), dict):
        data = data["gateway"]
    elif "gateway" in data or "providers" not in data:
        # A main config without a gateway section: only the defaults apply.
        data = {}
    try:
        return parse(data)
    except GatewayConfigError as exc:
        raise GatewayConfigError(f"{path}: {exc}") from None


def parse(data: Mapping[str, Any]) -> GatewayConfig:
    """Validate a gateway mapping (as loaded from YAML) into a ``GatewayConfig``."""
    known = (
        "providers",
        "models",
        "rules",
        "limits",
        "auth",
        "fallback",
        "usage",
        "traffic_log",
        "prices",
        "budgets",
    )
    _no_unknown(data, known, "")
    providers_raw = data.get("providers") or DEFAULTS["providers"]
    _mapping(providers_raw, "providers")
    providers = {str(n): _provider(str(n), p) for n, p in providers_raw.items()}
    models = {
        str(alias): _targets(str(alias), raw, providers)
        for alias, raw in _mapping(data.get("models") or {}, "models").items()
    }
    rules = tuple(_rule(i, r, models) for i, r in enumerate(_list(data.get("rules"), "rules")))
    auth = _mapping(data.get("auth") or {}, "auth")
    _no_unknown(auth, ("required", "requests_per_minute", "refresh_s"), "auth.")
    fallback = _mapping(data.get("fallback") or {}, "fallback")
    _no_unknown(fallback, ("cooldown_s", "failure_threshold"), "fallback.")
    usage = _mapping(data.get("usage") or {}, "usage")
    _no_unknown(usage, ("flush_s",), "usage.")
    traffic = _mapping(data.get("traffic_log") or {}, "traffic_log")
    _no_unknown(traffic, ("path", "bodies"), "traffic_log.")
    return GatewayConfig(
        providers=providers,
        models=models,
        rules=rules,
        limits=_limits(_mapping(data.get("limits") or {}, "limits")),
        auth_required=_bool(auth.get("required", True), "auth.required"),
        requests_per_minute=_number(
            auth.get("requests_per_minute", 0), "auth.requests_per_minute", int, 0
        ),
        token_refresh_s=_number(auth.get("refresh_s", 5.0), "auth.refresh_s", float, 0.1),
        cooldown_s=_number(fallback.get("cooldown_s", 30.0), "fallback.cooldown_s", float, 0),
        failure_threshold=_number(
            fallback.get("failure_threshold", 5), "fallback.failure_threshold", int, 1
        ),
        usage_flush_s=_number(usage.get("flush_s", 0.5), "usage.flush_s", float, 0.01),
        traffic_log=str(traffic["path"]) if traffic.get("path") else None,
        log_bodies=_bool(traffic.get("bodies", False), "traffic_log.bodies"),
        prices=_mapping(data.get("prices") or {}, "prices"),
        budgets=tuple(_list(data.get("budgets"), "budgets")),
    )


def _provider(name: str, raw: Any) -> Provider:
    key = f"providers.{name}"
    raw = _mapping(raw, key)
    _no_unknown(raw, ("kind", "base_url", "api_key_env", "formats", "timeouts"), key + ".")
    kind = raw.get("kind")
    if kind not in KIND_FORMATS:
        raise GatewayConfigError(
            f"{key}.kind is {kind!r}. Fix: set it to one of {', '.join(KIND_FORMATS)}."
        )
    base_url = raw.get("base_url")
    parts = urlsplit(str(base_url or ""))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise GatewayConfigError(
            f"{key}.base_url is {base_url!r}. Fix: give a full URL such as https://api.anthropic.com."
        )
    if not VERSIONED_BASE[kind] and parts.path.rstrip("/").endswith(("/v1", "/v1beta")):
        raise GatewayConfigError(
            f"{key}.base_url is {base_url!r}. Fix: drop the version path (e.g. "
            f"{parts.scheme}://{parts.netloc}); the gateway adds /v1/messages (anthropic) or "
            "/v1beta/models/<model>:generateContent (gemini) itself."
        )
    formats = raw.get("formats", KIND_FORMATS[kind])
    if not isinstance(formats, list | tuple) or not formats or set(formats) - set(FORMATS):
        raise GatewayConfigError(
            f"{key}.formats is {formats!r}. Fix: a list drawn from {', '.join(FORMATS)}."
        )
    env = raw.get("api_key_env")
    if env is not None and (not isinstance(env, str) or not env.isidentifier()):
        raise GatewayConfigError(
            f"{key}.api_key_env is {env!r}. Fix: the NAME of an environment variable, such as "
            "ANTHROPIC_API_KEY (never the key itself)."
        )
    timeouts = _mapping(raw.get("timeouts") or {}, key + ".timeouts")
    _no_unknown(timeouts, ("connect_s", "first_byte_s", "read_s"), key + ".timeouts.")
    t = key + ".timeouts."
    return Provider(
        name=name,
        kind=kind,
        scheme=parts.scheme,
        host=parts.hostname,
        port=parts.port or (443 if parts.scheme == "https" else 80),
        base_path=parts.path.rstrip("/"),
        api_key_env=env,
        formats=tuple(formats),
        connect_timeout_s=_number(timeouts.get("connect_s", 5.0), t + "connect_s", float, 0.001),
        first_byte_timeout_s=_number(
            timeouts.get("first_byte_s", 300.0), t + "first_byte_s", float, 0.001
        ),
        read_timeout_s=_number(timeouts.get("read_s", 300.0), t + "read_s", float, 0.001),
    )


def _targets(alias: str, raw: Any, providers: Mapping[str, Provider]) -> tuple[Target, ...]:
    items = [raw] if isinstance(raw, dict) else raw
    if not isinstance(items, list) or not items:
        raise GatewayConfigError(
            f"models.{alias} must be a non-empty list of targets such as "
            "[{provider: anthropic, model: claude-sonnet-4-5}]"
        )
    targets = []
    for i, item in enumerate(items):
        key = f"models.{alias}[{i}]"
        item = _mapping(item, key)
        _no_unknown(item, ("provider", "model", "weight", "log_bodies"), key + ".")
        provider = item.get("provider")
        if provider not in providers:
            close = difflib.get_close_matches(str(provider), list(providers), n=1)
            hint = f"Did you mean '{close[0]}'? " if close else ""
            raise GatewayConfigError(
                f"{key}.provider is {provider!r}, which is not defined. Fix: {hint}use one of "
                f"{', '.join(providers)} or add it under providers:."
            )
        model = item.get("model", alias)
        if not isinstance(model, str) or not model:
            raise GatewayConfigError(f"{key}.model is {model!r}. Fix: the provider's model name.")
        targets.append(
            Target(
                provider=provider,
                model=model,
                weight=_number(item.get("weight", 0), key + ".weight", int, 0),
                log_bodies=_bool(item.get("log_bodies", False), key + ".log_bodies"),
            )
        )
    return tuple(targets)


def _rule(index: int, raw: Any, models: Mapping[str, tuple[Target, ...]]) -> Rule:
    key = f"rules[{index}]"
    raw = _mapping(raw, key)
    _no_unknown(raw, ("when", "use"), key + ".")
    when = _mapping(raw.get("when") or {}, key + ".when")
    _no_unknown(when, RULE_MATCHERS, key + ".when.")
    if not when:
        raise GatewayConfigError(
            f"{key}.when is empty. Fix: give at least one of {', '.join(RULE_MATCHERS)}."
        )
    if "format" in when and when["format"] not in FORMATS:
        raise GatewayConfigError(
            f"{key}.when.format is {when['format']!r}. Fix: one of {', '.join(FORMATS)}."
        )
    for flag in ("tools", "output_schema"):
        if flag in when:
            _bool(when[flag], f"{key}.when.{flag}")
    use = raw.get("use")
    if not isinstance(use, str) or not use:
        raise GatewayConfigError(f"{key}.use is {use!r}. Fix: the model alias to route to.")
    return Rule(when=dict(when), use=use)


def _limits(raw: Mapping[str, Any]) -> Limits:
    _no_unknown(raw, tuple(Limits.__dataclass_fields__), "limits.")
    defaults = Limits()
    return Limits(
        max_body_bytes=_number(
            raw.get("max_body_bytes", defaults.max_body_bytes), "limits.max_body_bytes", int, 1
        ),
        max_header_bytes=_number(
            raw.get("max_header_bytes", defaults.max_header_bytes),
            "limits.max_header_bytes",
            int,
            1024,
        ),
        request_timeout_s=_number(
            raw.get("request_timeout_s", defaults.request_timeout_s),
            "limits.request_timeout_s",
            float,
            0.01,
        ),
        idle_timeout_s=_number(
            raw.get("idle_timeout_s", defaults.idle_timeout_s), "limits.idle_timeout_s", float, 0.01
        ),
    )


def _no_unknown(raw: Mapping[str, Any], known: tuple[str, ...], prefix: str) -> None:
    for key in raw:
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f"Did you mean '{close[0]}'?" if close else f"Known keys: {', '.join(known)}."
            raise GatewayConfigError(f"unknown key '{prefix}{key}'. {hint}")


def _mapping(raw: Any, key: str) -> Mapping[str, Any]:
    if not isinstance(raw, dict):
        raise GatewayConfigError(f"{key} must be a mapping, got {type(raw).__name__}")
    return raw


def _list(raw: Any, key: str) -> list:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise GatewayConfigError(f"{key} must be a list, got {type(raw).__name__}")
    return raw


def _bool(raw: Any, key: str) -> bool:
    if not isinstance(raw, bool):
        raise GatewayConfigError(f"{key} is {raw!r}. Fix: true or false.")
    return raw


def _number(raw: Any, key: str, kind: type, minimum: float) -> Any:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or raw < minimum:
        raise GatewayConfigError(f"{key} is {raw!r}. Fix: a number of at least {minimum}.")
    if kind is int and raw != int(raw):
        raise GatewayConfigError(f"{key} is {raw!r}. Fix: a whole number.")
    return kind(raw)
