"""Forward one model request: try its targets in order, then relay the answer byte for byte.

Fallback happens only while nothing has reached the client: on a connect error, a timeout
before the first byte, a 429 (its ``retry-after`` rests the target), a 5xx or a 529, and when a
target's connection breaks before its first body byte. The last target's error is passed
through unchanged (status and body). Once the first byte is sent, a broken upstream ends the
stream with an error event of the inbound format. A client that goes away closes the upstream
connection, which cancels the provider's work. Every attempt is recorded on the usage row.
A target whose provider speaks another API than the client (its attempt has a translator) is
asked and answered through ``translated``, with the same fallback rules; same-API targets never
touch it, so their bytes and speed are unchanged.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from . import headers, translated
from .bodyscan import replace_model
from .bufsock import FramingError, PeerClosed
from .errors import error_body, stream_error_event
from .incoming import ClientConnection, Request, response_head
from .routing import Attempt
from .translate import TranslationError
from .upstream import UpstreamResponse, UpstreamUnavailable
from .usage import UsageRecord

if TYPE_CHECKING:
    from .server import Gateway

# Never forwarded upstream: hop-by-hop headers, the client's Reins token, our own headers.
DROP_REQUEST = headers.dropper(
    (
        "host",
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
        "expect",
        "authorization",
        "x-api-key",
        "accept-encoding",
        "x-reins-*",
    )
)
DROP_RESPONSE = headers.dropper(
    ("connection", "keep-alive", "transfer-encoding", "content-length", "trailer", "upgrade")
)
FALLBACK_STATUS = frozenset({408, 429, 500, 502, 503, 504, 529})
HEAD_WINDOW = 8 * 1024  # Anthropic message_start is the first event, well under 8 KB
TAIL_WINDOW = 16 * 1024  # usage sits at the end of the last events
MAX_LOGGED_BODY = 1024 * 1024
UPSTREAM_PATHS = {
    ("anthropic", "messages"): "/v1/messages",
    ("anthropic", "count_tokens"): "/v1/messages/count_tokens",
    ("responses", "responses"): "/responses",
    ("chat", "chat"): "/chat/completions",
}


class Failed(NamedTuple):
    """An attempt that produced nothing for the client: try the next target."""

    kind: str  # connect, timeout, reset, no_key, or the upstream status
    status: int
    message: str


class Plan(NamedTuple):
    """How one inbound API's request goes out: the head and body for a target of the same API
    (``passthrough``), the body decoded for translated targets (``decode``, called at most once,
    only when such a target is tried), and the error shape of the client's API."""

    passthrough: Callable[[Attempt], tuple[bytes, bytes]]
    decode: Callable[[], translated.Inbound]
    error_format: str


def own_plan(
    gw: Gateway, request: Request, record: UsageRecord, model: tuple[str, int, int]
) -> Plan:
    """The plan of the APIs whose body names the model (Anthropic, Responses, Chat)."""
    forwarded = DROP_REQUEST.sub("", request.block)
    return Plan(
        lambda attempt: _passthrough(gw, request, record, attempt, model, forwarded),
        lambda: translated.Inbound(request.body, model[0]),
        record.inbound,
    )


def forward(
    gw: Gateway,
    client: ClientConnection,
    request: Request,
    record: UsageRecord,
    model: tuple[str, int, int],
    attempts: list[Attempt],
    plan: Plan | None = None,
) -> bool:
    """Try ``attempts`` in order and relay the first usable answer; True if keep-alive is safe."""
    plan = plan or own_plan(gw, request, record, model)
    last_error: tuple[int, str] = (502, "no target could be tried")
    keep_framing = request.version == "HTTP/1.1"
    inbound: translated.Inbound | None = None  # the body decoded, for translated attempts only
    last = len(attempts) - 1
    for index, attempt in enumerate(attempts):
        final = index == last
        target, provider = attempt.target, attempt.provider
        key = gw.keys.get(provider.name)
        if provider.api_key_env and not key:
            message = (
                f"the gateway has no key for provider '{provider.name}': set "
                f"{provider.api_key_env} in the gateway's environment and restart it"
            )
            record.attempts.append(
                {"provider": provider.name, "model": target.model, "error": "no_key"}
            )
            last_error = (400, message)
            continue
        began = time.perf_counter()
        if attempt.translator is None:
            head, body = plan.passthrough(attempt)
        else:
            try:
                inbound = inbound or plan.decode()
                if record.endpoint == "count_tokens":
                    return translated.count_tokens(gw, client, request, record, attempt, inbound)
                head, body = translated.prepare(gw, attempt, inbound)
            except (TranslationError, ValueError) as exc:
                note = {"provider": provider.name, "model": target.model, "error": "translate"}
                record.attempts.append(note)
                last_error = (400, f"cannot translate the request for {provider.name}: {exc}")
                continue
        outcome = _try(gw, attempt, head, body, final, attempt.translator is None and keep_framing)
        note = {
            "provider": provider.name,
            "model": target.model,
            "format": attempt.upstream_format,
            "ms": _ms(began),
        }
        record.attempts.append(note)  # the recorder counts it in /metrics, off this path
        if isinstance(outcome, Failed):
            note["error"] = outcome.kind
            last_error = (outcome.status, outcome.message)
            continue
        response, first = outcome
        note["status"] = response.status
        record.provider, record.model = provider.name, target.model
        if attempt.translator is not None:
            return translated.relay(gw, client, request, record, attempt, response, first, inbound)
        return relay(gw, client, request, record, response, first, target.log_bodies)
    record.status, record.outcome = last_error[0], "no_target"
    return gw.send_error(
        client, request, plan.error_format, last_error[0], last_error[1], record=record
    )


def _passthrough(
    gw: Gateway,
    request: Request,
    record: UsageRecord,
    attempt: Attempt,
    model: tuple[str, int, int],
    forwarded: str,
) -> tuple[bytes, bytes]:
    """Head and body for a target of the client's own API: the body as received, but its model."""
    requested, start, end = model
    target, provider = attempt.target, attempt.provider
    body = request.body
    if target.model != requested and start:
        body = replace_model(body, start, end, target.model)
    path = provider.base_path + UPSTREAM_PATHS[(attempt.upstream_format, record.endpoint)]
    head = (
        f"{request.method} {path}{request.query} HTTP/1.1\r\n"
        f"{gw.provider_headers[provider.name]}{forwarded}"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode("latin-1")
    return head, body


def _try(
    gw: Gateway, attempt: Attempt, head: bytes, body: bytes, final: bool, keep_framing: bool
) -> tuple[UpstreamResponse, bytes | None] | Failed:
    """One attempt: the response and its first body piece, or why it failed."""
    target, provider = attempt.target, attempt.provider
    try:
        response = gw.transport.open(provider, head, body)
    except UpstreamUnavailable as exc:
        gw.router.failed(target)
        status = 504 if exc.reason == "timeout" else 502
        return Failed(exc.reason, status, f"upstream {provider.name} unavailable: {exc}")
    status = response.status
    if status in FALLBACK_STATUS and not final:
        error = response.read_all(1024 * 1024)
        gw.router.failed(
            target, _retry_after(response, gw.config.cooldown_s) if status == 429 else None
        )
        return Failed(str(status), status, error.decode("utf-8", "replace")[:2000])
    pieces = response.body(keep_framing)
    try:
        first = next(pieces, None)
    except (OSError, PeerClosed, FramingError, TimeoutError) as exc:
        gw.router.failed(target)
        return Failed("reset", 502, f"upstream {provider.name} broke before its first byte: {exc}")
    if status < 500 and status != 429:
        gw.router.succeeded(target)
    response.pieces = pieces
    return response, first


def relay(
    gw: Gateway,
    client: ClientConnection,
    request: Request,
    record: UsageRecord,
    response: UpstreamResponse,
    first: bytes | None,
    log_bodies: bool,
) -> bool:
    """Send the upstream answer to the client as it arrives; True if keep-alive is safe."""
    stream = record.stream = response.is_stream
    record.status = response.status
    length = response.lower.get("content-length")
    fixed = length is not None and "chunked" not in response.lower.get("transfer-encoding", "")
    chunked = not fixed and request.version == "HTTP/1.1"
    keep = request.keep_alive and (fixed or chunked)
    framed = record.framed = response.framed  # already chunked on the wire: relay as is
    if fixed:
        framing = f"Content-Length: {length}\r\n"
    else:
        framing = "Transfer-Encoding: chunked\r\n" if chunked else ""
    closing = "" if keep else "Connection: close\r\n"
    # Cost and budget headers (gateway.costing): the cost only when the whole body is here.
    # A stream keeps its usage in its first and last events: it is priced on its usage row only.
    whole = (
        first if fixed and not stream and first is not None and str(len(first)) == length else None
    )
    pending = (
        f"HTTP/1.1 {response.status} {response.reason}\r\n"
        f"{DROP_RESPONSE.sub('', response.block)}{framing}"
        f"x-reins-request-id: {record.request_id}\r\n{gw.response_notes(record, whole)}{closing}\r\n"
    ).encode("latin-1")
    tail: deque[bytes] = deque()
    tail_size = size = 0
    capture: list[bytes] | None = [] if (log_bodies or gw.config.log_bodies) else None
    piece = first
    pieces = response.pieces or iter(())
    try:
        while piece is not None:
            if size == 0:
                record.ttfb_us = int((time.perf_counter() - request.received) * 1e6)
                if stream:
                    record.head = piece[:HEAD_WINDOW]
            size += len(piece)
            tail.append(piece)
            tail_size += len(piece)
            while tail_size - len(tail[0]) >= TAIL_WINDOW:
                tail_size -= len(tail.popleft())
            if capture is not None and size <= MAX_LOGGED_BODY:
                capture.append(piece)
            data = b"%x\r\n%b\r\n" % (len(piece), piece) if chunked and not framed else piece
            try:
                client.send(pending + data if pending else data)
            except OSError:
                return _client_gone(gw, record, response)
            pending = b""
            try:
                piece = next(pieces, None)
            except (OSError, PeerClosed, FramingError, TimeoutError) as exc:
                return _broken(gw, client, record, response, exc, stream and chunked, pending)
    finally:
        record.response_bytes = size
        record.tail = b"".join(tail)[-TAIL_WINDOW:]
        if capture is not None:
            record.request_body = request.body
            record.response_body = b"".join(capture)
    try:
        ending = pending + b"0\r\n\r\n" if chunked and not framed else pending
        if ending:
            client.send(ending)
    except OSError:
        record.outcome = "client_gone"
        return False
    if response.status >= 400:
        record.outcome = "upstream_error"
    return keep


def _client_gone(gw: Gateway, record: UsageRecord, response: UpstreamResponse) -> bool:
    """The client went away: close the upstream connection, which cancels the provider's work."""
    response.discard()
    record.outcome = "client_gone"
    gw.metrics.inc("reins_gateway_client_disconnects_total")
    return False


def _broken(
    gw: Gateway,
    client: ClientConnection,
    record: UsageRecord,
    response: UpstreamResponse,
    exc: BaseException,
    can_signal: bool,
    pending: bytes,
) -> bool:
    """The upstream broke after the first byte: end the stream with an error event."""
    response.discard()
    record.outcome = "stream_broken"
    gw.metrics.inc("reins_gateway_stream_errors_total")
    if can_signal:
        event = stream_error_event(record.inbound, f"upstream stream broke: {exc}")
        try:
            client.send(pending + b"%x\r\n%b\r\n0\r\n\r\n" % (len(event), event))
        except OSError:
            record.outcome = "client_gone"
    return False


def _retry_after(response: UpstreamResponse, default: float) -> float:
    value = response.lower.get("retry-after", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return default


def _ms(began: float) -> float:
    """Milliseconds since ``began``, to the microsecond (``round`` to 3 places is twice as slow)."""
    return int((time.perf_counter() - began) * 1e6) / 1000


def error_response(
    fmt: str, status: int, message: str, extra: list[tuple[str, str]]
) -> tuple[bytes, bytes]:
    """Head and body of one of our own errors."""
    body = error_body(fmt, status, message)
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body))), *extra]
    return response_head(status, headers), body
