"""Routing: aliases, defaults by format, rules, weights, resting targets and the translation seam."""

from __future__ import annotations

import random
from collections import Counter

from gateway.config import parse
from gateway.routing import RequestFacts, Router

PROVIDERS = {
    "anthropic": {"kind": "anthropic", "base_url": "http://a"},
    "anthropic-eu": {"kind": "anthropic", "base_url": "http://eu"},
    "openai": {"kind": "openai", "base_url": "http://o/v1"},
}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def router(models: dict | None = None, rules: list | None = None) -> Router:
    config = parse({"providers": PROVIDERS, "models": models or {}, "rules": rules or []})
    return Router(config, clock=Clock(), rng=random.Random(7))


def names(attempts) -> list[tuple[str, str]]:
    return [(a.target.provider, a.target.model) for a in attempts]


def test_alias_targets_keep_their_order() -> None:
    r = router(
        {
            "sonnet": [
                {"provider": "anthropic", "model": "s1"},
                {"provider": "anthropic-eu", "model": "s2"},
            ]
        }
    )
    route, attempts = r.plan(RequestFacts(format="anthropic", model="sonnet"))
    assert route == "sonnet"
    assert names(attempts) == [("anthropic", "s1"), ("anthropic-eu", "s2")]


def test_unknown_model_goes_to_the_first_provider_speaking_the_format() -> None:
    r = router()
    assert names(r.plan(RequestFacts(format="responses", model="gpt-5"))[1]) == [
        ("openai", "gpt-5")
    ]
    assert names(r.plan(RequestFacts(format="anthropic", model="claude-x"))[1]) == [
        ("anthropic", "claude-x")
    ]


def test_targets_of_another_format_are_skipped_without_a_translator() -> None:
    r = router(
        {"mixed": [{"provider": "openai", "model": "gpt"}, {"provider": "anthropic", "model": "c"}]}
    )
    assert names(r.plan(RequestFacts(format="anthropic", model="mixed"))[1]) == [("anthropic", "c")]


def test_a_translator_lookup_plugs_cross_format_targets_in() -> None:
    config = parse(
        {"providers": PROVIDERS, "models": {"mixed": [{"provider": "openai", "model": "gpt"}]}}
    )
    seam = Router(
        config,
        translators=lambda inbound, upstream: (
            f"{inbound}->{upstream}" if upstream == "chat" else None
        ),
    )
    [attempt] = seam.plan(RequestFacts(format="anthropic", model="mixed"))[1]
    assert (attempt.upstream_format, attempt.translator) == ("chat", "anthropic->chat")


def test_x_reins_route_names_an_alias() -> None:
    r = router({"cheap": [{"provider": "anthropic", "model": "haiku"}]})
    route, attempts = r.plan(RequestFacts(format="anthropic", model="claude-opus", route="cheap"))
    assert (route, names(attempts)) == ("cheap", [("anthropic", "haiku")])


def test_rules_match_agent_user_role_model_and_shape() -> None:
    models = {
        "cheap": [{"provider": "anthropic", "model": "haiku"}],
        "eu": [{"provider": "anthropic-eu", "model": "s"}],
    }
    rules = [
        {"when": {"agent": "reviewer"}, "use": "cheap"},
        {"when": {"role": "admin", "model": "claude-opus-*"}, "use": "eu"},
        {"when": {"user": "ci", "tools": False}, "use": "cheap"},
        {"when": {"output_schema": True}, "use": "cheap"},
    ]
    r = router(models, rules)

    def plan(model: str = "claude-opus-4", **kw) -> str:
        return r.plan(RequestFacts(format="anthropic", model=model, **kw))[0]

    assert plan(agent="reviewer") == "cheap"
    assert plan(roles=("admin",)) == "eu"
    assert plan(roles=("admin",), model="claude-sonnet") == "claude-sonnet"
    assert plan(user="ci", shape=lambda: {"messages": []}) == "cheap"
    assert plan(user="ci", shape=lambda: {"tools": [{"name": "Bash"}]}) == "claude-opus-4"
    title = {"output_config": {"format": {"type": "json_schema", "schema": {}}}}
    assert plan(shape=lambda: title) == "cheap"


def test_weighted_targets_share_the_primary_slot() -> None:
    r = router(
        {
            "spread": [
                {"provider": "anthropic", "model": "m", "weight": 3},
                {"provider": "anthropic-eu", "model": "m", "weight": 1},
            ]
        }
    )
    firsts = Counter(
        r.plan(RequestFacts(format="anthropic", model="spread"))[1][0].target.provider
        for _ in range(4000)
    )
    assert 2700 < firsts["anthropic"] < 3300
    assert firsts["anthropic"] + firsts["anthropic-eu"] == 4000


def test_a_429_rests_the_target_for_retry_after_then_it_returns() -> None:
    clock = Clock()
    config = parse(
        {
            "providers": PROVIDERS,
            "models": {
                "s": [
                    {"provider": "anthropic", "model": "m"},
                    {"provider": "anthropic-eu", "model": "m"},
                ]
            },
        }
    )
    r = Router(config, clock=clock)
    facts = RequestFacts(format="anthropic", model="s")
    r.failed(r.plan(facts)[1][0].target, retry_after_s=20)
    assert names(r.plan(facts)[1]) == [("anthropic-eu", "m"), ("anthropic", "m")]
    clock.now += 21
    assert names(r.plan(facts)[1])[0] == ("anthropic", "m")


def test_the_circuit_opens_after_consecutive_failures_and_success_resets_it() -> None:
    clock = Clock()
    config = parse(
        {
            "providers": PROVIDERS,
            "models": {
                "s": [
                    {"provider": "anthropic", "model": "m"},
                    {"provider": "anthropic-eu", "model": "m"},
                ]
            },
            "fallback": {"failure_threshold": 3, "cooldown_s": 10},
        }
    )
    r = Router(config, clock=clock)
    facts = RequestFacts(format="anthropic", model="s")
    primary = r.plan(facts)[1][0].target
    r.failed(primary)
    r.failed(primary)
    r.succeeded(primary)
    r.failed(primary)
    assert names(r.plan(facts)[1])[0] == ("anthropic", "m")  # the success reset the count
    r.failed(primary)
    r.failed(primary)
    assert names(r.plan(facts)[1])[0] == ("anthropic-eu", "m")
    assert r.resting() == 1
    clock.now += 11
    assert names(r.plan(facts)[1])[0] == ("anthropic", "m")  # half-open: tried again
