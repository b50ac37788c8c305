"""The price table: lookups, effective dates, large-prompt tiers, overrides and bad tables."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.costing import format_pico, format_usd
from gateway.pricing import PriceTableError, load_prices
from gateway.translate import Usage

DAY = dt.date(2026, 11, 29)


@pytest.fixture(scope="module")
def table():
    return load_prices()


def test_bundled_table_loads_and_covers_each_provider(table) -> None:
    assert len(table) >= 20
    assert {table.lookup(m).provider for m in ("claude-sonnet-4-5", "gpt-5", "gemini-2.5-pro")} == {
        "anthropic",
        "openai",
        "gemini",
    }


@pytest.mark.parametrize(
    ("model", "usage", "expected"),
    [
        # 50k of each kind of token (prompt 150k, under the 200k tier): 5% of the four prices.
        (
            "claude-sonnet-4-5",
            Usage(50_000, 50_000, 50_000, 50_000),
            (Decimal("3") + Decimal("15") + Decimal("0.30") + Decimal("3.75")) / 20,
        ),
        (
            "claude-sonnet-4-5",
            Usage(1_000_000, 1_000_000, 1_000_000, 1_000_000),
            Decimal("6") + Decimal("22.50") + Decimal("0.60") + Decimal("7.50"),
        ),
        ("claude-haiku-4-5", Usage(input_tokens=2_000, output_tokens=500), Decimal("0.0045")),
        (
            "gpt-5",
            Usage(input_tokens=60, output_tokens=20, cache_read_tokens=40),
            Decimal("0.000280"),
        ),
        ("gemini-2.5-flash", Usage(input_tokens=1_000_000), Decimal("0.30")),
    ],
)
def test_cost_is_exact_decimal_arithmetic(
    table, model: str, usage: Usage, expected: Decimal
) -> None:
    assert table.cost(model, usage, DAY) == expected


def test_cached_tokens_are_cheaper_than_plain_input(table) -> None:
    plain = table.cost("claude-sonnet-4-5", Usage(input_tokens=100_000), DAY)
    cached = table.cost("claude-sonnet-4-5", Usage(cache_read_tokens=100_000), DAY)
    written = table.cost("claude-sonnet-4-5", Usage(cache_write_tokens=100_000), DAY)
    assert cached < plain < written


@pytest.mark.parametrize(
    "model", ["nonexistent-model", "claude-sonnet-4-5-extra", "gpt-5-turbo-ultra", "", None]
)
def test_unknown_model_costs_none_never_a_guess(table, model) -> None:
    assert table.cost(model, Usage(input_tokens=10), DAY) is None
    assert model not in table


def test_aliases_and_prefixes_resolve_but_nothing_fuzzy(table) -> None:
    assert table.lookup("claude-sonnet-4-5-20250929").name == "claude-sonnet-4-5"
    assert table.lookup("models/gemini-2.5-pro").name == "gemini-2.5-pro"
    assert table.lookup("openai/gpt-5").name == "gpt-5"
    assert table.lookup("gpt-5-2099-01-01") is None


def test_effective_dates_pick_the_price_in_force(table) -> None:
    usage = Usage(input_tokens=1_000_000)
    assert table.cost("o3", usage, dt.date(2025, 6, 9)) == Decimal("10")
    assert table.cost("o3", usage, dt.date(2025, 6, 10)) == Decimal("2")
    assert table.cost("o3", usage, dt.date(2025, 1, 1)) is None  # before the model had a price
    read = Usage(cache_read_tokens=1_000_000)
    assert table.cost("claude-sonnet-5-5", read, dt.date(2026, 10, 6)) == Decimal("0.20")
    assert table.cost(
        "claude-sonnet-5-5", read, dt.datetime(2026, 10, 7, 0, 30, tzinfo=dt.UTC)
    ) == Decimal("0.10")


def test_aware_datetimes_are_converted_to_utc_days(table) -> None:
    usage = Usage(input_tokens=1_000_000)
    late_evening_new_york = dt.datetime(
        2025, 6, 9, 21, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5))
    )
    assert table.cost("o3", usage, late_evening_new_york) == Decimal("2")  # already 10 June in UTC


def test_large_prompts_switch_the_whole_call_to_the_long_tier(table) -> None:
    small = table.cost("gemini-2.5-pro", Usage(input_tokens=200_000, output_tokens=1_000), DAY)
    large = table.cost(
        "gemini-2.5-pro",
        Usage(input_tokens=150_000, cache_read_tokens=50_001, output_tokens=1_000),
        DAY,
    )
    assert small == Decimal("0.26")  # 0.2 M x 1.25 + 0.001 M x 10
    assert large == Decimal("150000") * Decimal("2.5") / 10**6 + Decimal("50001") * Decimal(
        "0.25"
    ) / 10**6 + Decimal("0.015")


def test_usage_may_be_a_mapping(table) -> None:
    assert table.cost("gpt-5", {"input_tokens": 1_000_000}, DAY) == Decimal("1.25")
    with pytest.raises(PriceTableError, match=r"usage\.output_tokens"):
        table.cost("gpt-5", {"output_tokens": -1}, DAY)


def test_overrides_replace_prices_and_keep_aliases() -> None:
    table = load_prices(
        overrides={"gpt-5": {"input": 1, "output": 2}, "my-local-llama": {"input": 0, "output": 0}}
    )
    assert table.cost(
        "gpt-5-codex", Usage(input_tokens=1_000_000, output_tokens=1_000_000), DAY
    ) == Decimal("3")
    assert table.cost("my-local-llama", Usage(input_tokens=5), DAY) == Decimal("0")
    dated = load_prices(
        overrides={"gpt-5": {"prices": [{"from": "2030-01-01", "input": 9, "output": 9}]}}
    )
    assert dated.cost("gpt-5", Usage(input_tokens=1), DAY) is None


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            {"m": {"input": "cheap", "output": 1}},
            r"prices\.m\.prices\[0\]\.input: 'cheap' is not a number",
        ),
        ({"m": {"input": -1, "output": 1}}, ">= 0"),
        ({"m": {"output": 1}}, "missing input"),
        ({"m": {"input": 1, "output": 1, "from": "last tuesday"}}, "must be a date"),
        ({"m": {"input": 1, "output": 1, "cache_hit": 1}}, r"unknown key\(s\) \['cache_hit'\]"),
        ({"m": {"prices": []}}, "non-empty list"),
        (
            {"m": {"input": 1, "output": 1, "long_prompt": {"input": 2, "output": 2}}},
            "'above' must be",
        ),
        ({"m": 5}, "expected a mapping"),
        (["m"], "expected a mapping of model name"),
    ],
)
def test_bad_overrides_name_the_model_key_and_fix(override, message: str) -> None:
    with pytest.raises(PriceTableError, match=message):
        load_prices(overrides=override)


def test_a_table_file_can_replace_the_bundled_one(tmp_path: Path) -> None:
    path = tmp_path / "prices.yaml"
    path.write_text(
        "models:\n  only-model:\n    prices:\n      - {from: 2024-01-01, input: 1, output: 1}\n"
    )
    table = load_prices(path)
    assert len(table) == 1 and table.cost("gpt-5", Usage(), DAY) is None
    path.write_text("models: [1, 2]\n")
    with pytest.raises(PriceTableError, match="top-level 'models:' mapping"):
        load_prices(path)
    path.write_text("models: {a: [\n")
    with pytest.raises(PriceTableError, match="not valid YAML"):
        load_prices(path)


# Rates as the YAML may give them: up to 6 decimals (the int path) and up to 9 (Decimal only).
_rate = st.decimals(min_value=0, max_value=200, places=9, allow_nan=False, allow_infinity=False)
_tokens = st.integers(min_value=0, max_value=5_000_000)


@settings(max_examples=400, deadline=None)
@given(
    rates=st.lists(_rate, min_size=4, max_size=4),
    long_rates=st.lists(_rate, min_size=4, max_size=4),
    counts=st.lists(_tokens, min_size=4, max_size=4),
    above=st.integers(min_value=1, max_value=1_000_000),
)
def test_int_pricing_equals_decimal_pricing_and_prints_the_same(
    rates, long_rates, counts, above
) -> None:
    names = ("input", "output", "cache_write", "cache_read")
    period = {
        **{k: str(v) for k, v in zip(names, rates, strict=True)},
        "long_prompt": {
            "above": above,
            **{k: str(v) for k, v in zip(names, long_rates, strict=True)},
        },
    }
    table = load_prices(overrides={"m": period})
    usage = Usage(*counts)
    now_us = 1_790_000_000_000_000
    exact = table.cost_at("m", usage, now_us)
    pico = table.pico_cost_at("m", usage, now_us)
    prompt = usage.input_tokens + usage.cache_read_tokens + usage.cache_write_tokens
    used = long_rates if prompt > above else rates
    if all((r * 1_000_000) == (r * 1_000_000).to_integral_value() for r in used):
        assert pico is not None
        assert Decimal(pico) == exact * 10**12
        assert format_pico(pico) == format_usd(exact)
    else:
        assert pico is None  # the cost header falls back to Decimal


def test_format_pico_rounds_half_to_even_like_decimal() -> None:
    for pico in (0, 49, 50, 51, 150, 250, 12_345_678_950, 10**12, 3 * 10**14 + 50):
        assert format_pico(pico) == format_usd(Decimal(pico) / 10**12), pico
