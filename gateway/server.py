"""The gateway object: accepts connections, answers local endpoints, forwards model requests.

``make_gateway(config, transport=...)`` builds one; ``Gateway.handle`` is the connection
handler for a gevent ``StreamServer``. All state (token table, router health, pools, pending
usage rows, metrics) lives on the object. It never monkey-patches (the entry point does) and
never touches the store on the request path: tokens are refreshed and usage rows written by
background greenlets started with ``start_background``.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import gevent

from . import gemini_inbound
from .auth import ANONYMOUS, Caller, RateLimiter, TokenTable, presented_token
from .bodyscan import BodyError, find_model, top_level
from .budget_guard import BudgetGuard, refusal_status
from .config import GatewayConfig
from .costing import Costing, check_config
from .incoming import ClientConnection, Request, RequestError, response_head
from .metrics import Metrics
from .proxy import error_response, forward
from .recorder import Recorder
from .routing import RequestFacts, Router, TranslatorLookup
from .translate import translator_for
from .upstream import Transport
from .usage import UsageRecord

log = logging.getLogger("reins.gateway")

# Path suffix -> (inbound format, endpoint). A prefix before "/v1" is allowed and ignored.
ENDPOINTS = (
    ("/v1/messages/count_tokens", "anthropic", "count_tokens"),
    ("/v1/messages", "anthropic", "messages"),
    ("/v1/responses", "responses", "responses"),
    ("/v1/chat/completions", "chat", "chat"),
)


class Gateway:
    """One gateway process: config, pools, router health, tokens, metrics, usage rows."""

    def __init__(
        self,
        config: GatewayConfig,
        *,
        transport: Transport | None = None,
        db: str | Path | None = None,
        environ: Mapping[str, str] | None = None,
        translators: TranslatorLookup = translator_for,
        metrics_dir: Path | None = None,
        bodies_log: Path | None = None,
        clock: Callable[[], float] = time.monotonic,
        workers: int = 1,
    ) -> None:
        environ = os.environ if environ is None else environ
        self.config = config
        self.transport = transport or Transport()
        self.router = Router(config, translators, clock)
        self.tokens = TokenTable()
        self.limiter = RateLimiter(config.requests_per_minute, time.time, workers)
        self.metrics = Metrics(metrics_dir)
        self.db = db
        self.recorder = Recorder(
            self._connect if db is not None else None,
            bodies_log,
            self.metrics,
            config.usage_flush_s,
        )
        prices = check_config(config)  # cost of every row, budgets (issue 5)
        self.recorder.costing = self.costing = Costing(prices, self.metrics)
        self.recorder.budgets = self.budgets = BudgetGuard(config.budgets, prices, self.metrics)
        self.keys = {
            name: environ.get(p.api_key_env, "")
            for name, p in config.providers.items()
            if p.api_key_env
        }
        self.provider_headers = {name: self._static_headers(name) for name in config.providers}
        self.ids = itertools.count(1)
        self.id_prefix = f"{os.getpid():x}{time.time_ns() // 1000:x}"
        self.started = time.time()

    # -- background work ---------------------------------------------------------------

    def missing_keys(self) -> dict[str, str]:
        """Provider -> the environment variable to set, for providers without a key."""
        return {
            name: p.api_key_env
            for name, p in self.config.providers.items()
            if p.api_key_env and not self.keys.get(name)
        }

    def refresh_tokens(self) -> None:
        if self.db is None:
            return
        conn = self._connect()
        try:
            self.tokens.load(conn, time.time_ns() // 1000)
        finally:
            conn.close()

    def start_background(self) -> list[gevent.Greenlet]:
        """Token refresh, usage writer and metrics snapshots; call after forking."""
        # Request ids must be unique across workers forked from one parent.
        self.id_prefix = f"{os.getpid():x}{time.time_ns() // 1000:x}"

        def refresh_loop() -> None:
            while True:
                gevent.sleep(self.config.token_refresh_s)
                try:
                    gevent.get_hub().threadpool.apply(self.refresh_tokens)
                except (OSError, sqlite3.Error) as exc:  # keep serving with the last table
                    log.warning("token refresh failed, keeping the last table: %s", exc)

        def metrics_loop() -> None:
            while True:
                gevent.sleep(2)
                # A full disk must not stop the gateway; the scrape lags.
                with contextlib.suppress(OSError):
                    self.metrics.flush()

        background = [
            gevent.spawn(refresh_loop),
            gevent.spawn(self.recorder.run),
            gevent.spawn(metrics_loop),
        ]
        if self.db is not None:
            self.budgets.refresh(self._connect, self.recorder)  # before the first request
            background.append(gevent.spawn(self.budgets.run, self._connect, self.recorder))
        return background

    def _connect(self) -> sqlite3.Connection:
        from policy_server import store

        return store.connect(self.db)  # type: ignore[arg-type]

    def _static_headers(self, name: str) -> str:
        provider = self.config.providers[name]
        host = provider.host if provider.port in (80, 443) else f"{provider.host}:{provider.port}"
        lines = f"Host: {host}\r\nAccept-Encoding: identity\r\n"
        key = self.keys.get(name)
        if key:
            if provider.kind == "anthropic":
                lines += f"x-api-key: {key}\r\n"
            elif provider.kind == "gemini":
                lines += f"x-goog-api-key: {key}\r\n"
            else:
                lines += f"Authorization: Bearer {key}\r\n"
        return lines

    # -- connections -------------------------------------------------------------------

    def handle(self, sock, address) -> None:
        client = ClientConnection(sock, self.config.limits, self.transport.watchdog)
        try:
            while True:
                try:
                    request = client.read_request()
                except RequestError as exc:
                    self._refuse(client, exc)
                    return
                except OSError:
                    return
                if request is None or not self.dispatch(client, request):
                    return
        finally:
            client.close()

    def _refuse(self, client: ClientConnection, exc: RequestError) -> None:
        fmt = _error_format(exc.path)
        head, body = error_response(fmt, exc.status, exc.message, [("Connection", "close")])
        self.metrics.inc("reins_gateway_requests_total", f'format="{fmt}",status="{exc.status}"')
        with contextlib.suppress(OSError):
            client.send(head + body)

    def dispatch(self, client: ClientConnection, request: Request) -> bool:
        """Answer one request; True if the connection may serve another."""
        path = request.path
        if "/v1beta/" in path and request.method != "HEAD":
            return gemini_inbound.dispatch(self, client, request)
        for suffix, fmt, endpoint in ENDPOINTS:
            if path.endswith(suffix):
                if request.method != "POST":
                    return self._not_post(client, request, fmt)
                return self.model_request(client, request, fmt, endpoint)
        if request.method == "HEAD":
            return self._send(client, request, 200, b"", "text/plain")
        if path == "/healthz":
            return self._send(client, request, 200, b'{"status":"ok"}', "application/json")
        if path == "/metrics":
            gauges = {
                "reins_gateway_usage_rows_pending": self.recorder.backlog(),
                "reins_gateway_tokens_loaded": len(self.tokens.by_hash),
                "reins_gateway_targets_resting": self.router.resting(),
            }
            text = self.metrics.render(gauges).encode()
            return self._send(client, request, 200, text, "text/plain; version=0.0.4")
        if path.endswith("/v1/models"):
            return self.models(client, request)
        return self.send_error(
            client, request, _error_format(path), 404, f"no such endpoint: {request.method} {path}"
        )

    def _not_post(self, client: ClientConnection, request: Request, fmt: str) -> bool:
        if request.lower.get("upgrade", "").lower() == "websocket":
            # Codex tries a WebSocket first; refusing at once makes it use HTTP without delay.
            message = "this gateway speaks HTTP only: use POST /v1/responses (supports_websockets = false)"
            return self.send_error(client, request, fmt, 426, message)
        return self.send_error(client, request, fmt, 405, f"use POST for {request.path}")

    def models(self, client: ClientConnection, request: Request) -> bool:
        caller = self.authenticate(client, request, "openai")
        if caller is None:
            return False
        names = list(self.config.models)
        if "anthropic-version" in request.lower:
            data = [
                {"type": "model", "id": n, "display_name": n, "created_at": "1970-01-01T00:00:00Z"}
                for n in names
            ]
            payload = {
                "data": data,
                "has_more": False,
                "first_id": names[0] if names else None,
                "last_id": names[-1] if names else None,
            }
        else:
            created = int(self.started)
            data = [
                {"id": n, "object": "model", "created": created, "owned_by": "reins"} for n in names
            ]
            payload = {"object": "list", "data": data}
        return self._send(client, request, 200, json.dumps(payload).encode(), "application/json")

    def authenticate(self, client: ClientConnection, request: Request, fmt: str) -> Caller | None:
        """The caller, or None after answering 401 in the inbound API's shape."""
        if not self.config.auth_required:
            return ANONYMOUS
        presented = (
            gemini_inbound.presented_token(request)
            if fmt == "gemini"
            else presented_token(request.lower)
        )
        caller = self.tokens.authenticate(presented, time.time_ns() // 1000, client.token_memo)
        if caller is None:
            self.metrics.inc("reins_gateway_auth_failures_total")
            message = (
                "unknown, revoked or expired Reins token; create one with `reins token create`"
            )
            self.send_error(client, request, fmt, 401, message)
        return caller

    def model_request(
        self, client: ClientConnection, request: Request, fmt: str, endpoint: str
    ) -> bool:
        caller = self.authenticate(client, request, fmt)
        if caller is None:
            return request.keep_alive
        record = self._record(request, fmt, endpoint, caller)
        try:
            return self._route_and_forward(client, request, record, caller)
        finally:
            record.latency_us = int((time.perf_counter() - request.received) * 1e6)
            self.recorder.add(record)  # also counts it in /metrics, off the request path

    def _route_and_forward(
        self, client: ClientConnection, request: Request, record: UsageRecord, caller: Caller
    ) -> bool:
        fmt = record.inbound
        wait = self.limiter.allow(caller.token_id)
        if wait is not None:
            self.metrics.inc("reins_gateway_rate_limited_total")
            record.status, record.outcome = 429, "rate_limited"
            message = (
                f"more than {self.config.requests_per_minute} requests per minute for this token"
            )
            return self.send_error(
                client, request, fmt, 429, message, [("retry-after", str(int(wait) + 1))]
            )
        gemini = fmt == "gemini"  # Gemini names the model in the path; its body has none
        send = gemini_inbound.forward if gemini else forward
        try:
            model, start, end = (
                gemini_inbound.find_model(request) if gemini else find_model(request.body)
            )
        except BodyError as exc:
            record.status, record.outcome = 400, "bad_request"
            return self.send_error(client, request, fmt, 400, f"malformed JSON body: {exc}")
        if model is None:
            record.status, record.outcome = 400, "bad_request"
            return self.send_error(
                client, request, fmt, 400, 'the request body has no "model" string'
            )
        facts = RequestFacts(
            format=fmt,
            model=model,
            agent=record.agent,
            user=caller.user,
            roles=caller.roles,
            route=request.lower.get("x-reins-route", ""),
            shape=_lazy_shape(request.body),
        )
        try:
            route, attempts = self.router.plan(facts)
        except BodyError as exc:
            record.status, record.outcome = 400, "bad_request"
            return self.send_error(client, request, fmt, 400, f"malformed JSON body: {exc}")
        record.route = route
        if not attempts:
            record.status, record.outcome = 400, "no_target"
            message = f"no provider speaks the {fmt} format for model {route!r}: add one under providers: or an alias under models:"
            return self.send_error(client, request, fmt, 400, message)
        verdict = self.budgets.admit(record, attempts[0].target.model)
        if verdict is not None and verdict.blocked is not None:
            record.status, record.outcome = refusal_status(fmt), "budget_exceeded"
            self.metrics.inc("reins_gateway_budget_rejections_total")
            try:
                client.send(self.budgets.refusal(fmt, verdict.blocked))
            except OSError:
                return False
            return request.keep_alive
        return send(self, client, request, record, (model, start, end), attempts)

    def response_notes(self, record: UsageRecord, body: bytes | None) -> str:
        """Header lines of our own for a response head: budget warnings, and the cost when
        ``body`` (the complete, non-streamed answer) is known before the head is sent."""
        notes = self.budgets.warning_headers(record.budget[1]) if record.budget else ""
        if body is not None and record.status < 400:
            notes += self.costing.header(record, body)
        return notes

    def _record(self, request: Request, fmt: str, endpoint: str, caller: Caller) -> UsageRecord:
        lower = request.lower
        return UsageRecord(
            request_id=f"{self.id_prefix}-{next(self.ids):x}",
            time_us=time.time_ns() // 1000,
            inbound=fmt,
            endpoint=endpoint,
            user=caller.user,
            token_id=caller.token_id or None,
            agent=caller.agent or lower.get("x-reins-agent", "interactive"),
            run_id=caller.run_id or lower.get("x-reins-run", ""),
            session_id=lower.get("x-claude-code-session-id") or lower.get("session-id", ""),
            request_bytes=len(request.body),
        )

    # -- answers of our own ------------------------------------------------------------

    def send_error(
        self,
        client: ClientConnection,
        request: Request,
        fmt: str,
        status: int,
        message: str,
        extra: list[tuple[str, str]] | None = None,
        record: UsageRecord | None = None,
    ) -> bool:
        head, body = error_response(fmt, status, message, extra or [])
        if record is not None:
            record.status = status
        if fmt and status in (401, 404, 405, 426):
            self.metrics.inc("reins_gateway_requests_total", f'format="{fmt}",status="{status}"')
        try:
            client.send(head + body)
        except OSError:
            return False
        return request.keep_alive

    def _send(
        self, client: ClientConnection, request: Request, status: int, body: bytes, ctype: str
    ) -> bool:
        headers = [("Content-Type", ctype), ("Content-Length", str(len(body)))]
        try:
            client.send(
                response_head(status, headers) + (b"" if request.method == "HEAD" else body)
            )
        except OSError:
            return False
        return request.keep_alive

    def close(self) -> None:
        self.recorder.flush()
        self.recorder.close()
        self.transport.close()
        self.transport.watchdog.stop()


def _error_format(path: str) -> str:
    """The API whose error shape a refusal on ``path`` takes."""
    if "/v1beta/" in path:
        return "gemini"
    return "anthropic" if "/messages" in path else "openai"


def _lazy_shape(body: bytes) -> Callable[[], dict]:
    cache: list[dict] = []

    def shape() -> dict:
        if not cache:
            cache.append(top_level(body))
        return cache[0]

    return shape


def make_gateway(config: GatewayConfig, transport: Transport | None = None, **options) -> Gateway:
    """Build a gateway; ``options`` are ``Gateway``'s keyword arguments (db, environ, ...)."""
    return Gateway(config, transport=transport, **options)
