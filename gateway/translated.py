"""The translated path: one attempt at a target that speaks another API than the client.

``proxy.forward`` calls ``prepare`` to turn the client's request into the target's (model name,
tools, system, thinking, via ``gateway.translate``) and, once the attempt answered before its
first byte, ``relay`` to send the answer back in the client's format: an error body in the
client's error shape, a JSON body translated whole, or a stream translated event by event. A
translated stream always ends well-formed for its client (``message_stop``,
``response.completed``, ``[DONE]``), and an upstream that breaks or sends garbage mid-stream
ends it with the client's error event; the usage row then says ``stream_broken``. Token counts
come from the translated usage and are stored in the *inbound* format's semantics, like
passthrough rows (see ``reported``). ``count_tokens`` for another API is estimated locally.

The client's body is decoded once per request (``Inbound``), only when a translated attempt is
tried; the passthrough path never comes here. This module never decides about fallback.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING
from urllib.parse import quote

from .bufsock import FramingError, PeerClosed
from .incoming import ClientConnection, Request, response_head
from .routing import Attempt
from .translate import (
    MalformedEvent,
    SSEParser,
    StreamTranslator,
    TranslationError,
    Usage,
    encode_sse,
    estimate_input_tokens,
    parse_data,
    usage_from_body,
)
from .upstream import UpstreamResponse
from .usage import UsageRecord

if TYPE_CHECKING:
    from .server import Gateway

MAX_BODY = 16 * 1024 * 1024
MAX_LOGGED_BODY = 1024 * 1024
READ_ERRORS = (OSError, PeerClosed, FramingError, TimeoutError)
ANTHROPIC_VERSION = "2023-06-01"
# Below the provider's base path (OpenAI kinds' base URLs end in /v1, Anthropic's do not).
PATHS = {"anthropic": "/v1/messages", "responses": "/responses", "chat": "/chat/completions"}


class Inbound:
    """The client's request body, decoded once for every translated attempt of the request."""

    __slots__ = ("body", "model", "stream")

    def __init__(self, raw: bytes, model: str) -> None:
        body = json.loads(raw)
        if not isinstance(body, dict):
            raise TranslationError("the request body is not a JSON object")
        self.body = body
        self.model = model  # the name the client asked for, shown back to it
        self.stream = body.get("stream") is True


def upstream_path(fmt: str, model: str, stream: bool) -> str:
    """The endpoint of ``fmt`` below a provider's base path (Gemini names the model here)."""
    if fmt == "gemini":
        method = "streamGenerateContent?alt=sse" if stream else "generateContent"
        return f"/v1beta/models/{quote(model, safe='')}:{method}"
    return PATHS[fmt]


def prepare(gw: Gateway, attempt: Attempt, inbound: Inbound) -> tuple[bytes, bytes]:
    """Head and body of the translated request; raises ``TranslationError`` if it cannot be."""
    fmt, provider, model = attempt.upstream_format, attempt.provider, attempt.target.model
    body = json.dumps(
        attempt.translator.request(inbound.body, model), ensure_ascii=False, separators=(",", ":")
    ).encode()
    extra = "Content-Type: application/json\r\n"
    if fmt == "anthropic":
        extra += f"anthropic-version: {ANTHROPIC_VERSION}\r\n"
    if inbound.stream:
        extra += "Accept: text/event-stream\r\n"
    path = provider.base_path + upstream_path(fmt, model, inbound.stream)
    head = (
        f"POST {path} HTTP/1.1\r\n{gw.provider_headers[provider.name]}{extra}"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode("latin-1")
    return head, body


def reported(fmt: str, usage: Usage) -> dict[str, int]:
    """Neutral usage as ``fmt`` reports it, the semantics the usage row's ``inbound`` names.

    OpenAI prompts include cache reads (not cache writes, which only Anthropic bills: they stay
    apart); Gemini's output excludes its thoughts. ``translate.from_reported`` undoes exactly this.
    """
    counts = {
        "input": usage.input_tokens,
        "output": usage.output_tokens,
        "cache_read": usage.cache_read_tokens,
        "cache_write": usage.cache_write_tokens,
        "reasoning": usage.reasoning_tokens,
    }
    if fmt != "anthropic":
        counts["input"] += usage.cache_read_tokens
    if fmt == "gemini":
        counts["output"] -= usage.reasoning_tokens
    return counts


def count_tokens(
    gw: Gateway,
    client: ClientConnection,
    request: Request,
    record: UsageRecord,
    attempt: Attempt,
    inbound: Inbound,
) -> bool:
    """``count_tokens`` for a target of another API: a local estimate, no upstream call."""
    tokens = estimate_input_tokens(inbound.body, record.inbound)
    record.provider, record.model = attempt.provider.name, attempt.target.model
    note = {"provider": attempt.provider.name, "model": attempt.target.model}
    record.attempts.append(note | {"format": attempt.upstream_format, "estimated": True})
    record.status = 200
    answer = {"totalTokens": tokens} if record.inbound == "gemini" else {"input_tokens": tokens}
    return _send_json(gw, client, request, record, 200, answer, [])


def relay(
    gw: Gateway,
    client: ClientConnection,
    request: Request,
    record: UsageRecord,
    attempt: Attempt,
    response: UpstreamResponse,
    first: bytes | None,
    inbound: Inbound,
) -> bool:
    """Send the upstream's answer to the client in the client's format; True if keep-alive is safe."""
    record.status = response.status
    if response.status >= 400:
        # The upstream's error, in the client's error shape, its message kept.
        status, error = attempt.translator.error(response.status, _error_body(response, first))
        record.outcome = "upstream_error"
        retry = response.lower.get("retry-after")
        extra = [("retry-after", retry)] if retry else []
        return _send_json(gw, client, request, record, status, error, extra)
    if inbound.stream and response.is_stream:
        record.stream = True
        translator = attempt.translator.stream(inbound.model, inbound.body)
        return _stream(
            gw, client, request, record, translator, response, first, _logging(gw, attempt)
        )
    body = _read_rest(response, first)
    try:
        answer = json.loads(body) if body is not None else None
    except ValueError:
        answer = None
    if not isinstance(answer, dict) or inbound.stream:
        record.outcome = "upstream_error"
        what = "a stream" if inbound.stream else "a JSON object"
        message = f"upstream {attempt.provider.name} did not answer with {what}"
        return gw.send_error(client, request, record.inbound, 502, message, record=record)
    usage = usage_from_body(attempt.upstream_format, answer)
    if usage is not None:
        record.tokens = reported(record.inbound, usage)
    try:
        out = attempt.translator.response(answer, inbound.model, inbound.body)
    except TranslationError as exc:
        record.outcome = "upstream_error"
        return gw.send_error(client, request, record.inbound, 502, str(exc), record=record)
    return _send_json(gw, client, request, record, 200, out, [], _logging(gw, attempt))


def _error_body(response: UpstreamResponse, first: bytes | None) -> object:
    """The upstream's error body: its JSON, else its text."""
    raw = _read_rest(response, first) or b""
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")


def _stream(
    gw: Gateway,
    client: ClientConnection,
    request: Request,
    record: UsageRecord,
    translator: StreamTranslator,
    response: UpstreamResponse,
    first: bytes | None,
    log_bodies: bool,
) -> bool:
    """Translate the upstream stream event by event; the client's stream always ends well-formed."""
    fmt = record.inbound
    chunked = request.version == "HTTP/1.1"
    keep = request.keep_alive and chunked
    pending = _head(
        200,
        [
            ("Content-Type", "text/event-stream"),
            ("Cache-Control", "no-cache"),
            *([("Transfer-Encoding", "chunked")] if chunked else []),
            ("x-reins-request-id", record.request_id),
            *([] if keep else [("Connection", "close")]),
        ],
        gw.response_notes(record, None),
    )
    capture: list[bytes] | None = [] if log_bodies else None
    size = 0
    batches = client_events(translator, response, first)
    for events in batches:
        if not events:
            continue
        out = b"".join(encode_sse(fmt, e) for e in events)
        if not size:
            record.ttfb_us = int((time.perf_counter() - request.received) * 1e6)
        size += len(out)
        if capture is not None and size <= MAX_LOGGED_BODY:
            capture.append(out)
        try:
            client.send(pending + (b"%x\r\n%b\r\n" % (len(out), out) if chunked else out))
        except OSError:
            batches.close()
            response.discard()
            record.outcome = "client_gone"
            gw.metrics.inc("reins_gateway_client_disconnects_total")
            keep = False
            break
        pending = b""
    else:
        try:
            client.send(pending + b"0\r\n\r\n" if chunked else pending)
        except OSError:
            record.outcome, keep = "client_gone", False
        if translator.failed:
            record.outcome = "stream_broken"
            gw.metrics.inc("reins_gateway_stream_errors_total")
    record.response_bytes = size
    if translator.usage != Usage():  # nothing reported (a broken stream): no counts, no cost
        record.tokens = reported(fmt, translator.usage)
    if capture is not None:
        record.request_body, record.response_body = request.body, b"".join(capture)
    return keep


def client_events(
    translator: StreamTranslator, response: UpstreamResponse, first: bytes | None
) -> Iterator[list]:
    """Batches of client events as upstream pieces arrive; the last batch ends the stream."""
    parser = SSEParser()
    pieces = response.pieces or iter(())
    piece = first
    try:
        while piece is not None:
            yield [e for _, d in parser.feed(piece) for e in translator.feed(parse_data(d))]
            piece = next(pieces, None)
        tail = [e for _, d in parser.close() for e in translator.feed(parse_data(d))]
        yield tail + translator.finish()
    except MalformedEvent as exc:
        response.discard()
        yield translator.fail(str(exc))
    except READ_ERRORS:
        # Complete if the upstream's terminal event had arrived (Gemini has no end marker after
        # its finishReason chunk), else the client's failure event: "ended before completion".
        response.discard()
        yield translator.finish()


def _read_rest(response: UpstreamResponse, first: bytes | None) -> bytes | None:
    """The whole body (``first`` and the rest), or None when it broke or was too large."""
    parts, size = [first or b""], len(first or b"")
    try:
        for piece in response.pieces or iter(()):
            parts.append(piece)
            size += len(piece)
            if size > MAX_BODY:
                response.discard()
                return None
    except READ_ERRORS:
        return None
    return b"".join(parts)


def _logging(gw: Gateway, attempt: Attempt) -> bool:
    return attempt.target.log_bodies or gw.config.log_bodies


def _send_json(
    gw: Gateway,
    client: ClientConnection,
    request: Request,
    record: UsageRecord,
    status: int,
    payload: dict,
    extra: list[tuple[str, str]],
    log_bodies: bool = False,
) -> bool:
    """One JSON answer of the client's API (translated body, error or estimate)."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    record.status, record.response_bytes = status, len(body)
    record.ttfb_us = int((time.perf_counter() - request.received) * 1e6)
    if log_bodies:
        record.request_body, record.response_body = request.body, body[:MAX_LOGGED_BODY]
    head = _head(
        status,
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            ("x-reins-request-id", record.request_id),
            *extra,
            *([] if request.keep_alive else [("Connection", "close")]),
        ],
        gw.response_notes(record, body if status < 400 else None),
    )
    try:
        client.send(head + body)
    except OSError:
        record.outcome = "client_gone"
        return False
    return request.keep_alive


def _head(status: int, headers: list[tuple[str, str]], notes: str) -> bytes:
    """A response head with the gateway's own header lines (cost, budget warnings) added."""
    return response_head(status, headers)[:-2] + notes.encode("latin-1") + b"\r\n"
