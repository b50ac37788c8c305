"""Cost on every usage row and in a response header: real gateway, fake upstream, real SQLite."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
import requests

from gateway.config import parse
from gateway.costing import check_config
from gateway.pricing import PriceTableError, load_prices


def anthropic_body(model: str, **usage: int) -> bytes:
    counts = {"input_tokens": 0, "output_tokens": 0, **usage}
    return json.dumps(
        {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [{"type": "text", "text": "hi"}],
            "stop_reason": "end_turn",
            "usage": counts,
        }
    ).encode()


def post(gw, model: str, stream: bool = False) -> requests.Response:
    body = {"model": model, "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
    if stream:
        body["stream"] = True
    return requests.post(gw.url + "/v1/messages", json=body, headers=gw.auth(), timeout=10)


def test_known_model_cost_is_in_the_header_and_on_the_row(upstream_factory, gateway_factory, fakes):
    usage = {
        "input_tokens": 1000,
        "output_tokens": 500,
        "cache_read_input_tokens": 2000,
        "cache_creation_input_tokens": 100,
    }
    upstream = upstream_factory(
        lambda seen: fakes.Reply(body=anthropic_body("claude-sonnet-4-5", **usage))
    )
    gw = gateway_factory({"providers": {"anthropic": fakes.provider(upstream)}}, {"FAKE_KEY": "k"})
    response = post(gw, "claude-sonnet-4-5")
    assert response.status_code == 200, response.text
    # 1000 x $3 + 500 x $15 + 2000 x $0.30 + 100 x $3.75, per million tokens.
    expected = (1000 * 3 + 500 * 15 + 2000 * 0.30 + 100 * 3.75) / 1e6
    assert Decimal(response.headers["X-Reins-Cost-USD"]) == Decimal("0.011475")
    [row] = gw.usage_rows(1)
    assert row["cost_usd"] == pytest.approx(expected, rel=1e-12)
    assert row["input_tokens"] == 1000 and row["cache_read_tokens"] == 2000


def test_a_stream_carries_its_cost_on_the_row_only(upstream_factory, gateway_factory, fakes):
    events = fakes.sse(
        (
            "message_start",
            {
                "type": "message_start",
                "message": {"usage": {"input_tokens": 2000, "output_tokens": 1}},
            },
        ),
        ("message_delta", {"type": "message_delta", "usage": {"output_tokens": 300}}),
        ("message_stop", {"type": "message_stop"}),
    )
    chunked = upstream_factory(lambda seen: fakes.Stream(events))
    # The same stream in one Content-Length body (as small fakes and some proxies send it): its
    # input tokens sit in the first event, so it must not be priced from its last one alone.
    whole = upstream_factory(
        lambda seen: fakes.Reply(
            body=b"".join(events), headers={"content-type": "text/event-stream"}
        )
    )
    for upstream in (chunked, whole):
        gw = gateway_factory(
            {"providers": {"anthropic": fakes.provider(upstream)}}, {"FAKE_KEY": "k"}
        )
        response = post(gw, "claude-haiku-4-5", stream=True)
        assert response.status_code == 200
        assert "X-Reins-Cost-USD" not in response.headers
        [row] = gw.usage_rows(1)
        assert (row["input_tokens"], row["output_tokens"]) == (2000, 300)
        assert row["cost_usd"] == pytest.approx((2000 * 1.00 + 300 * 5.00) / 1e6, rel=1e-12)


def test_unknown_model_gets_null_and_a_counted_warning(upstream_factory, gateway_factory, fakes):
    upstream = upstream_factory(
        lambda seen: fakes.Reply(body=anthropic_body("mystery-1", input_tokens=10, output_tokens=5))
    )
    gw = gateway_factory({"providers": {"anthropic": fakes.provider(upstream)}}, {"FAKE_KEY": "k"})
    for _ in range(3):
        response = post(gw, "mystery-1")
        assert response.status_code == 200
        assert "X-Reins-Cost-USD" not in response.headers
    rows = gw.usage_rows(3)
    assert [r["cost_usd"] for r in rows] == [None, None, None]
    assert [r["input_tokens"] for r in rows] == [10, 10, 10]  # the tokens are still counted
    metrics = requests.get(gw.url + "/metrics", timeout=5).text
    assert 'reins_gateway_unpriced_rows_total{model="mystery-1"} 3' in metrics
    assert gw.output().count("no price for model 'mystery-1'") == 1


def test_error_rows_have_no_cost_and_no_warning(upstream_factory, gateway_factory, fakes):
    error = b'{"type":"error","error":{"type":"invalid_request_error","message":"bad"}}'
    upstream = upstream_factory(lambda seen: fakes.Reply(status=400, body=error))
    gw = gateway_factory({"providers": {"anthropic": fakes.provider(upstream)}}, {"FAKE_KEY": "k"})
    assert post(gw, "mystery-2").status_code == 400
    [row] = gw.usage_rows(1)
    assert row["cost_usd"] is None
    assert "unpriced" not in requests.get(gw.url + "/metrics", timeout=5).text


def test_config_prices_override_the_table(upstream_factory, gateway_factory, fakes):
    upstream = upstream_factory(
        lambda seen: fakes.Reply(body=anthropic_body("mystery-1", input_tokens=10, output_tokens=5))
    )
    config = {
        "providers": {"anthropic": fakes.provider(upstream)},
        "prices": {"mystery-1": {"input": 100, "output": 1000}},
    }
    gw = gateway_factory(config, {"FAKE_KEY": "k"})
    response = post(gw, "mystery-1")
    assert Decimal(response.headers["X-Reins-Cost-USD"]) == Decimal("0.006")
    [row] = gw.usage_rows(1)
    assert row["cost_usd"] == pytest.approx(0.006)


def test_openai_cached_input_is_not_billed_twice(upstream_factory, gateway_factory, fakes):
    body = {
        "id": "resp_1",
        "object": "response",
        "status": "completed",
        "output": [],
        "usage": {
            "input_tokens": 1000,
            "input_tokens_details": {"cached_tokens": 400},
            "output_tokens": 100,
            "output_tokens_details": {"reasoning_tokens": 20},
            "total_tokens": 1100,
        },
    }
    upstream = upstream_factory(lambda seen: fakes.Reply(body=json.dumps(body).encode()))
    gw = gateway_factory(
        {"providers": {"openai": fakes.provider(upstream, kind="openai")}}, {"FAKE_KEY": "k"}
    )
    response = requests.post(
        gw.url + "/v1/responses",
        json={"model": "gpt-5", "input": "hi"},
        headers={"authorization": f"Bearer {gw.token}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    # 600 plain x $1.25 + 400 cached x $0.125 + 100 x $10, per million.
    assert Decimal(response.headers["X-Reins-Cost-USD"]) == Decimal("0.0018")
    [row] = gw.usage_rows(1)
    assert row["cost_usd"] == pytest.approx(0.0018)


def test_bad_price_or_budget_config_is_a_clear_error() -> None:
    with pytest.raises(PriceTableError, match=r"prices\.m1\.prices\[0\]\.input"):
        check_config(parse({"prices": {"m1": {"input": "cheap", "output": 1}}}))
    with pytest.raises(ValueError, match="team budget without members"):
        check_config(
            parse(
                {
                    "budgets": [
                        {
                            "scope": "team",
                            "subject": "a",
                            "period": "daily",
                            "unit": "usd",
                            "hard": 1,
                        }
                    ]
                }
            )
        )
    assert load_prices().lookup("claude-sonnet-4-5") is not None


def test_a_price_with_more_than_six_decimals_is_still_exact_in_the_header(
    upstream_factory, gateway_factory, fakes
):
    upstream = upstream_factory(
        lambda seen: fakes.Reply(body=anthropic_body("odd-1", input_tokens=3, output_tokens=7))
    )
    config = {
        "providers": {"anthropic": fakes.provider(upstream)},
        "prices": {"odd-1": {"input": "0.0000001", "output": "1.2345678"}},
    }
    gw = gateway_factory(config, {"FAKE_KEY": "k"})
    response = post(gw, "odd-1")
    # 3 * 0.0000001 + 7 * 1.2345678 = 8.6419749 USD per million: 0.0000086419749 USD
    assert response.headers["X-Reins-Cost-USD"] == "0.000008642"  # 10 decimals, no trailing 0
    [row] = gw.usage_rows(1)
    assert row["cost_usd"] == pytest.approx(0.0000086419749)
