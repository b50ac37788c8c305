"""Model prices and the cost of one model call, from the bundled table plus config overrides.

The table (``gateway/prices.yaml``, shipped with the package) lists per model the USD price per
million input, output, cache-write and cache-read tokens, each period with the date it took effect
and an optional large-prompt tier. ``load_prices(overrides=…)`` merges the gateway config's
``prices:`` mapping over it (an overridden model's periods replace the bundled ones).

``PriceTable.cost(model, usage, at)`` returns an exact ``Decimal`` in USD, or None when the
model (or a price in force at ``at``) is unknown: the caller records null and counts a warning.
It never guesses a price, never fetches one over the network and is never on the request path
before the first byte (cost is computed when the usage row is written).

Token semantics follow ``gateway.translate.usage``: ``input_tokens`` excludes cache reads and
writes; ``output_tokens`` includes reasoning tokens.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from .translate.usage import Usage

PRICE_KEYS = ("input", "output", "cache_write", "cache_read")
MILLION = Decimal(1_000_000)
PICO = Decimal("1e-12")
DAY_US = 86_400_000_000
_EPOCH = dt.date(1970, 1, 1).toordinal()
MAX_CACHED_PERIODS = 4096  # (model, day) pairs; clients may invent model names
_PREFIXES = ("models/", "anthropic/", "openai/", "gemini/", "google/")


class PriceTableError(ValueError):
    """A price table or override is malformed; the message names the model, key and fix."""


@dataclass(frozen=True)
class Rates:
    input: Decimal
    output: Decimal
    cache_write: Decimal
    cache_read: Decimal
    # The same rates in pico-USD per token (USD per million tokens x 10**6), when each is a
    # whole number of them (at most 6 decimals): the cost header prices with plain ints, which
    # cost a fraction of Decimal arithmetic on a cold request path. None otherwise.
    pico: tuple[int, int, int, int] | None = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        scaled = [
            rate * MILLION for rate in (self.input, self.output, self.cache_write, self.cache_read)
        ]
        exact = all(value == value.to_integral_value() for value in scaled)
        pico = tuple(int(value) for value in scaled) if exact else None
        object.__setattr__(self, "pico", pico)


@dataclass(frozen=True)
class Period:
    start: dt.date
    rates: Rates
    long_above: int | None = None
    long_rates: Rates | None = None

    def rates_for(self, prompt_tokens: int) -> Rates:
        """The large-prompt tier's rates above its threshold, else the plain ones."""
        if self.long_above is not None and prompt_tokens > self.long_above:
            return self.long_rates  # type: ignore[return-value]
        return self.rates


@dataclass(frozen=True)
class ModelPrice:
    name: str
    provider: str
    periods: tuple[Period, ...]  # sorted by start

    def period_at(self, day: dt.date) -> Period | None:
        found = None
        for period in self.periods:
            if period.start <= day:
                found = period
        return found


def _decimal(value: Any, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise PriceTableError(
            f"{where}: expected a number of USD per million tokens, got {value!r}"
        )
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise PriceTableError(f"{where}: {value!r} is not a number") from None
    if number < 0 or not number.is_finite():
        raise PriceTableError(f"{where}: price must be a finite number >= 0, got {value!r}")
    return number


def _rates(data: Any, where: str) -> Rates:
    if not isinstance(data, Mapping):
        raise PriceTableError(f"{where}: expected a mapping with {', '.join(PRICE_KEYS)}")
    missing = [k for k in ("input", "output") if k not in data]
    if missing:
        raise PriceTableError(f"{where}: missing {', '.join(missing)} (USD per million tokens)")
    values = {k: _decimal(data[k], f"{where}.{k}") for k in PRICE_KEYS if k in data}
    values.setdefault("cache_write", values["input"])
    values.setdefault("cache_read", values["input"])
    return Rates(**values)


def _date(value: Any, where: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise PriceTableError(
            f"{where}: 'from' must be a date like 2025-06-17, got {value!r}"
        ) from None


def _period(data: Any, where: str) -> Period:
    if not isinstance(data, Mapping):
        raise PriceTableError(f"{where}: expected a mapping with from, input, output …")
    unknown = set(data) - {"from", "long_prompt", *PRICE_KEYS}
    if unknown:
        raise PriceTableError(
            f"{where}: unknown key(s) {sorted(unknown)}; allowed: from, {', '.join(PRICE_KEYS)}, long_prompt"
        )
    start = _date(data.get("from", "1970-01-01"), where)
    long = data.get("long_prompt")
    if long is None:
        return Period(start, _rates(data, where))
    above = long.get("above") if isinstance(long, Mapping) else None
    if not isinstance(above, int) or isinstance(above, bool) or above <= 0:
        raise PriceTableError(f"{where}.long_prompt: 'above' must be a positive token count")
    long_rates = _rates({k: v for k, v in long.items() if k != "above"}, f"{where}.long_prompt")
    return Period(start, _rates(data, where), above, long_rates)


def parse_model(name: str, data: Any) -> tuple[ModelPrice, list[str]]:
    """One model entry: either ``{prices: [periods], provider, aliases}`` or a single period."""
    where = f"prices.{name}"
    if not isinstance(data, Mapping):
        raise PriceTableError(f"{where}: expected a mapping, got {type(data).__name__}")
    raw = (
        data["prices"]
        if "prices" in data
        else [{k: v for k, v in data.items() if k not in ("provider", "aliases")}]
    )
    if not isinstance(raw, list) or not raw:
        raise PriceTableError(f"{where}.prices: expected a non-empty list of price periods")
    periods = sorted(
        (_period(p, f"{where}.prices[{i}]") for i, p in enumerate(raw)), key=lambda p: p.start
    )
    aliases = data.get("aliases") or []
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        raise PriceTableError(f"{where}.aliases: expected a list of model names")
    return ModelPrice(name, str(data.get("provider") or ""), tuple(periods)), aliases


class PriceTable:
    """Prices by model name (and alias); immutable once built."""

    def __init__(self, models: Mapping[str, Any]) -> None:
        self._models: dict[str, ModelPrice] = {}
        self._periods: dict[tuple[str, int], Period | None] = {}  # (model, UTC day) -> period
        parsed = [parse_model(str(name), data) for name, data in models.items()]
        for price, aliases in parsed:
            self._models.update(dict.fromkeys(aliases, price))
        for price, _ in parsed:  # a model's own name wins over another model's alias
            self._models[price.name] = price

    def __contains__(self, model: str) -> bool:
        return self.lookup(model) is not None

    def __len__(self) -> int:
        return len({id(p) for p in self._models.values()})

    def lookup(self, model: str) -> ModelPrice | None:
        """Exact name or alias; a ``models/`` or provider prefix is ignored. No fuzzy matching."""
        if not isinstance(model, str):
            return None
        found = self._models.get(model)
        if found is None:
            for prefix in _PREFIXES:
                if model.startswith(prefix):
                    return self._models.get(model[len(prefix) :])
        return found

    def rates(self, model: str, at: dt.date | dt.datetime, prompt_tokens: int = 0) -> Rates | None:
        price = self.lookup(model)
        period = price.period_at(_day(at)) if price else None
        return None if period is None else period.rates_for(prompt_tokens)

    def period_on(self, model: str, time_us: int) -> Period | None:
        """The price period in force for ``model`` on the UTC day of ``time_us`` (memoised: the
        hot path prices every answer with a dict lookup, not a table walk)."""
        key = (model, time_us // DAY_US)
        try:
            return self._periods[key]
        except KeyError:
            pass
        if len(self._periods) >= MAX_CACHED_PERIODS:
            self._periods.clear()
        price = self.lookup(model)
        day = dt.date.fromordinal(_EPOCH + key[1])
        period = self._periods[key] = price.period_at(day) if price else None
        return period

    def cost_at(self, model: str, usage: Usage, time_us: int) -> Decimal | None:
        """``cost`` for a checked neutral ``Usage`` at a time in µs since the epoch (the
        recorder's and the cost header's form: no validation, no date objects)."""
        period = self.period_on(model, time_us)
        if period is None:
            return None
        cache_read, cache_write = usage.cache_read_tokens, usage.cache_write_tokens
        rates = period.rates_for(usage.input_tokens + cache_read + cache_write)
        return _charge(rates, usage.input_tokens, usage.output_tokens, cache_write, cache_read)

    def pico_cost_at(self, model: str, usage: Usage, time_us: int) -> int | None:
        """``cost_at`` in whole pico-USD (10**-12), computed with ints: exact, and equal to
        ``cost_at`` times 10**12. None when there is no price, or a rate has more than 6
        decimals (then ``cost_at`` prices it)."""
        period = self.period_on(model, time_us)
        if period is None:
            return None
        cache_read, cache_write = usage.cache_read_tokens, usage.cache_write_tokens
        pico = period.rates_for(usage.input_tokens + cache_read + cache_write).pico
        if pico is None:
            return None
        fresh, output, write, read = pico
        return (
            usage.input_tokens * fresh
            + usage.output_tokens * output
            + cache_write * write
            + cache_read * read
        )

    def cost(self, model: str, usage: Any, at: dt.date | dt.datetime) -> Decimal | None:
        """USD cost of one call, exact; None when no price for ``model`` is in force at ``at``."""
        tokens = _tokens(usage)
        prompt = tokens["input"] + tokens["cache_read"] + tokens["cache_write"]
        rates = self.rates(model, at, prompt)
        if rates is None:
            return None
        return _charge(rates, *(tokens[k] for k in PRICE_KEYS))


def _charge(rates: Rates, fresh: int, output: int, cache_write: int, cache_read: int) -> Decimal:
    """USD for these token counts (``fresh``: input tokens not read from or written to a cache)
    at ``rates`` (USD per million tokens), exact."""
    total = (
        fresh * rates.input
        + output * rates.output
        + cache_write * rates.cache_write
        + cache_read * rates.cache_read
    )
    return total / MILLION


def _day(at: dt.date | dt.datetime) -> dt.date:
    if isinstance(at, dt.datetime):
        if at.tzinfo is not None:
            at = at.astimezone(dt.UTC)
        return at.date()
    return at


def _tokens(usage: Any) -> dict[str, int]:
    """Token counts from a ``Usage`` or a mapping with ``input_tokens`` … ``cache_write_tokens``."""
    get = usage.get if isinstance(usage, Mapping) else lambda k, d=0: getattr(usage, k, d)
    out = {}
    for key, name in (
        ("input", "input_tokens"),
        ("output", "output_tokens"),
        ("cache_read", "cache_read_tokens"),
        ("cache_write", "cache_write_tokens"),
    ):
        value = get(name, 0) or 0
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise PriceTableError(
                f"usage.{name} must be a whole number of tokens >= 0, got {value!r}"
            )
        out[key] = value
    return out


def bundled_table_text() -> str:
    return resources.files("gateway").joinpath("prices.yaml").read_text(encoding="utf-8")


def load_prices(
    path: str | Path | None = None, overrides: Mapping[str, Any] | None = None
) -> PriceTable:
    """The bundled table (or the YAML file at ``path``) with ``overrides`` merged over it.

    ``overrides`` maps model names to the same shape as the table's ``models:`` entries; a
    single-period shorthand ``{input: 3, output: 15}`` is accepted too.
    """
    text = Path(path).read_text(encoding="utf-8") if path else bundled_table_text()
    origin = str(path or "gateway/prices.yaml")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PriceTableError(f"{origin}: not valid YAML: {exc}") from None
    models = data.get("models") if isinstance(data, Mapping) else None
    if not isinstance(models, Mapping):
        raise PriceTableError(f"{origin}: expected a top-level 'models:' mapping")
    merged = dict(models)
    if overrides:
        if not isinstance(overrides, Mapping):
            raise PriceTableError(
                f"prices override: expected a mapping of model name to prices, got {type(overrides).__name__}"
            )
        for name, override in overrides.items():
            base = merged.get(name)
            if isinstance(base, Mapping) and isinstance(override, Mapping):
                # An override changes prices; the model keeps its provider and aliases.
                kept = {
                    k: base[k] for k in ("provider", "aliases") if k in base and k not in override
                }
                override = (
                    {**kept, **override} if "prices" in override else {**kept, "prices": [override]}
                )
            merged[name] = override
    return PriceTable(merged)
