"""Routing: which targets a request goes to, in which order, and which targets are resting.

A request names a model. ``Router.plan`` turns it into an ordered list of attempts: an
explicit ``X-Reins-Route`` alias wins, then the first matching rule (by agent, user, role,
route, format, model or request shape), then the model's own alias, else the first provider
that speaks the inbound format. Weighted targets share the primary slot at random; targets
cooling down after a 429 or with an open circuit go last. A target whose provider does not
speak the inbound format gets the translator ``translators(inbound, upstream)`` returns for the
first of its formats that has one (the gateway passes ``gateway.translate.translator_for``);
with none, the target is left out.
This module never does I/O.
"""

from __future__ import annotations

import fnmatch
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .config import GatewayConfig, Provider, Rule, Target

MAX_CACHED_PLANS = 1024
# (inbound format, upstream format) -> a translator, or None when none exists.
TranslatorLookup = Callable[[str, str], Any]


def no_translation(inbound: str, upstream: str) -> None:
    return None


@dataclass(frozen=True, slots=True)
class Attempt:
    target: Target
    provider: Provider
    upstream_format: str
    translator: Any = None  # None: passthrough


@dataclass
class RequestFacts:
    """What rules may look at. ``shape`` is decoded lazily, only when a rule needs it."""

    format: str
    model: str
    agent: str = ""
    user: str = ""
    roles: tuple[str, ...] = ()
    route: str = ""
    shape: Callable[[], dict] | None = None


class TargetState:
    __slots__ = ("cooldown_until", "failures")

    def __init__(self) -> None:
        self.cooldown_until = 0.0
        self.failures = 0


class Router:
    """Plans attempts and remembers per-target health. One per gateway process."""

    def __init__(
        self,
        config: GatewayConfig,
        translators: TranslatorLookup = no_translation,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self.translators = translators
        self.clock = clock
        self.rng = rng or random.Random()
        self.state: dict[tuple[str, str], TargetState] = {}
        self.cache: dict[tuple[str, str], tuple[str, list[Attempt], bool]] = {}

    def resolve(self, facts: RequestFacts) -> tuple[str, tuple[Target, ...]]:
        """The alias (or model) the request ends up using and its targets."""
        models = self.config.models
        if facts.route and facts.route in models:
            return facts.route, models[facts.route]
        for rule in self.config.rules:
            if _matches(rule, facts):
                return rule.use, models.get(rule.use) or self._default(facts.format, rule.use)
        if facts.model in models:
            return facts.model, models[facts.model]
        return facts.model, self._default(facts.format, facts.model)

    def plan(self, facts: RequestFacts) -> tuple[str, list[Attempt]]:
        # Without rules or a route header the answer depends on (format, model) only.
        simple = not self.config.rules and not facts.route
        cached = self.cache.get((facts.format, facts.model)) if simple else None
        if cached is None:
            if len(self.cache) >= MAX_CACHED_PLANS:  # clients may invent model names
                self.cache.clear()
            name, targets = self.resolve(facts)
            attempts = self._attempts(facts.format, targets)
            cached = (name, attempts, sum(1 for a in attempts if a.target.weight) > 1)
            if simple:
                self.cache[(facts.format, facts.model)] = cached
        name, attempts, weighted = cached
        if weighted:
            attempts = self._spread(attempts)
        if self.state:
            now = self.clock()
            ready = [a for a in attempts if self._ready(a.target, now)]
            if len(ready) < len(attempts):
                return name, ready + [a for a in attempts if not self._ready(a.target, now)]
        return name, list(attempts)

    def _attempts(self, fmt: str, targets: tuple[Target, ...]) -> list[Attempt]:
        attempts = []
        for target in targets:
            provider = self.config.providers[target.provider]
            if fmt in provider.formats:
                attempts.append(Attempt(target, provider, fmt))
                continue
            for upstream_format in provider.formats:
                translator = self.translators(fmt, upstream_format)
                if translator is not None:
                    attempts.append(Attempt(target, provider, upstream_format, translator))
                    break
        return attempts

    def succeeded(self, target: Target) -> None:
        state = self.state.get((target.provider, target.model))
        if state is not None:
            state.failures = 0

    def failed(self, target: Target, retry_after_s: float | None = None) -> None:
        """Count a failure; ``retry_after_s`` (a 429) rests the target for that long."""
        state = self.state.setdefault((target.provider, target.model), TargetState())
        now = self.clock()
        if retry_after_s is not None:
            state.cooldown_until = max(state.cooldown_until, now + retry_after_s)
            return
        state.failures += 1
        if state.failures >= self.config.failure_threshold:
            state.cooldown_until = now + self.config.cooldown_s

    def resting(self) -> int:
        now = self.clock()
        return sum(1 for s in self.state.values() if s.cooldown_until > now)

    def _ready(self, target: Target, now: float) -> bool:
        state = self.state.get((target.provider, target.model))
        return state is None or state.cooldown_until <= now

    def _default(self, fmt: str, model: str) -> tuple[Target, ...]:
        for provider in self.config.providers.values():
            if fmt in provider.formats:
                return (Target(provider=provider.name, model=model),)
        return ()

    def _spread(self, attempts: list[Attempt]) -> list[Attempt]:
        weighted = [a for a in attempts if a.target.weight > 0]
        if len(weighted) < 2:
            return attempts
        pick = self.rng.choices(weighted, weights=[a.target.weight for a in weighted])[0]
        return [pick, *(a for a in attempts if a is not pick)]


def _matches(rule: Rule, facts: RequestFacts) -> bool:
    when: Mapping[str, Any] = rule.when
    for key, want in when.items():
        if key == "agent" and facts.agent != want:
            return False
        if key == "user" and facts.user != want:
            return False
        if key == "role" and want not in facts.roles:
            return False
        if key == "route" and facts.route != want:
            return False
        if key == "format" and facts.format != want:
            return False
        if key == "model" and not fnmatch.fnmatchcase(facts.model, str(want)):
            return False
        if key in ("tools", "output_schema"):
            shape = facts.shape() if facts.shape else {}
            has = _has_tools(shape) if key == "tools" else _has_output_schema(shape)
            if has != want:
                return False
    return True


def _has_tools(body: dict) -> bool:
    return bool(body.get("tools"))


def _has_output_schema(body: dict) -> bool:
    """A structured-output request (e.g. Claude Code's title generation)."""
    output_config = body.get("output_config")
    if isinstance(output_config, dict) and output_config.get("format"):
        return True
    text = body.get("text")
    if isinstance(text, dict) and isinstance(text.get("format"), dict):
        return text["format"].get("type") == "json_schema"
    response_format = body.get("response_format")
    return isinstance(response_format, dict) and response_format.get("type") == "json_schema"
