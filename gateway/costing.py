"""The cost of each model call: priced from its usage row, and sent as a header when known early.

``Costing.row_cost(record)`` runs in the background recorder when a usage row is serialised:
the stored counts (as the provider reported them) go through ``from_reported`` first, so OpenAI
and Gemini cached input is not billed twice, then ``PriceTable.cost`` at the row's own time.
A row with token counts whose model has no price gets ``cost_usd`` NULL and a counted warning
(``reins_gateway_unpriced_rows_total{model=…}`` in ``/metrics``, and one log line per model per
process); a row without token counts (an error answer) gets NULL and no warning.

``Costing.header(record, body)`` prices a complete, non-streamed JSON answer before its first
byte is sent (``X-Reins-Cost-USD``). Streams carry their cost on the usage row only: it is not
known until the last event. Never guesses a price, never does I/O.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from .config import GatewayConfig
from .metrics import Metrics
from .pricing import PICO, PriceTable, load_prices
from .translate.usage import Usage, from_reported
from .usage import UsageRecord, extract_tokens

log = logging.getLogger("reins.gateway")
COST_HEADER = "X-Reins-Cost-USD"
UNPRICED = "reins_gateway_unpriced_rows_total"


def check_config(config: GatewayConfig) -> PriceTable:
    """The price table with the config's ``prices:`` merged in; raises ``ValueError`` (a
    ``PriceTableError`` or ``BudgetError`` naming the key) when either section is malformed."""
    from policy_server.budgets import parse_definitions

    prices = load_prices(overrides=config.prices)
    parse_definitions(config.budgets, "gateway config")
    return prices


def neutral_usage(record: UsageRecord) -> Usage | None:
    """The record's counts with neutral semantics, or None when the answer reported none."""
    if not record.tokens:
        return None
    return from_reported(record.inbound, record.tokens)


def total_tokens(usage: Usage | None) -> int:
    """Every token the call was billed for: input, cache reads and writes, output."""
    if usage is None:
        return 0
    return (
        usage.input_tokens
        + usage.cache_read_tokens
        + usage.cache_write_tokens
        + usage.output_tokens
    )


class Costing:
    """Prices usage rows; counts the rows it could not price."""

    def __init__(self, prices: PriceTable, metrics: Metrics) -> None:
        self.prices = prices
        self.metrics = metrics
        self.warned: set[str] = set()

    def row_cost(self, record: UsageRecord) -> Decimal | None:
        """USD cost of the record's call (stored in ``cost_usd``); None when unknown."""
        if record.priced:  # the cost header already did it
            return record.cost_usd if record.cost_pico is None else record.cost_pico * PICO
        usage = neutral_usage(record)
        if usage is None:
            return None
        cost = self.prices.cost_at(record.model, usage, record.time_us)
        if cost is None:
            self._unpriced(record.model)
        return cost

    def header(self, record: UsageRecord, body: bytes) -> str:
        """``X-Reins-Cost-USD: …`` for a complete JSON answer whose usage is in ``body``.

        A priced answer keeps its counts and cost on the record (``priced``), so the recorder
        neither reads the body again nor prices it twice."""
        counts = extract_tokens(record.inbound, b"", body)
        if not counts:
            return ""
        usage = from_reported(record.inbound, counts)
        pico = self.prices.pico_cost_at(record.model, usage, record.time_us)
        if pico is not None:  # the usual case: ints only, Decimal waits for the recorder
            record.tokens, record.cost_pico, record.priced = counts, pico, True
            return f"{COST_HEADER}: {format_pico(pico)}\r\n"
        cost = self.prices.cost_at(record.model, usage, record.time_us)
        if cost is None:
            return ""  # the recorder prices the row again and counts the missing price
        record.tokens, record.cost_usd, record.priced = counts, cost, True
        return f"{COST_HEADER}: {format_usd(cost)}\r\n"

    def _unpriced(self, model: str) -> None:
        label = model.replace("\\", "\\\\").replace('"', '\\"')[:200]
        self.metrics.inc(UNPRICED, f'model="{label}"')
        if model not in self.warned:
            self.warned.add(model)
            log.warning(
                "no price for model %r: its usage rows get cost_usd NULL; add it to "
                "gateway/prices.yaml or to the gateway config's prices: section",
                model,
            )


def format_usd(amount: Any) -> str:
    """A USD amount with up to 10 decimals, without trailing zeros (``0.0001234``)."""
    text = format(amount if type(amount) is Decimal else Decimal(amount), ".10f").rstrip("0")
    return text + "0" if text.endswith(".") else text


def format_pico(amount: int) -> str:
    """``format_usd`` of ``amount`` pico-USD (>= 0), with ints only: the same text, rounded
    half to even at the tenth decimal as ``Decimal`` does."""
    tenths, rest = divmod(amount, 100)
    if rest > 50 or (rest == 50 and tenths & 1):
        tenths += 1
    whole, fraction = divmod(tenths, 10**10)
    text = f"{whole}.{fraction:010d}".rstrip("0")
    return text + "0" if text.endswith(".") else text
