"""The Gemini API for clients: what Gemini CLI calls with ``GOOGLE_GEMINI_BASE_URL`` set.

Serves ``POST …/v1beta/models/{model}:generateContent``, ``:streamGenerateContent`` (``alt=sse``
for translated targets), ``:countTokens`` and ``GET …/v1beta/models`` (the aliases), behind any
path prefix. Unlike the other APIs the model is named in the URL, not the body, and the Reins
token arrives as ``x-goog-api-key`` (or ``?key=``); both are taken out before anything is sent
upstream. Routing, fallback, budgets and usage rows are the gateway's own (``Gateway.dispatch``
sends Gemini paths here, ``Gateway._route_and_forward`` plans them, ``forward`` below tries the
attempts). A Gemini-kind target is passthrough: the body byte for byte, the target's model in
the path and the provider key injected. Other kinds go through ``gateway.translated``, so their
answers, streams and errors come back in Gemini's shape; ``countTokens`` is then estimated.

This module never decides what counts as a fallback (``proxy.forward`` does) and never rewrites a
passthrough body.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import quote, unquote

from . import auth, headers, translated
from .bodyscan import BodyError
from .incoming import ClientConnection, Request
from .proxy import DROP_REQUEST, Plan
from .proxy import forward as proxy_forward
from .routing import Attempt
from .translate import TranslationError
from .usage import UsageRecord

if TYPE_CHECKING:
    from .server import Gateway

PREFIX = "/v1beta/models"
# Gemini method -> the endpoint name on usage rows (count_tokens as for Anthropic: never billed).
METHODS = {
    "generateContent": "generate_content",
    "streamGenerateContent": "stream_generate_content",
    "countTokens": "count_tokens",
}
_CALL = re.compile(r"/v1beta/models/([^/:]+):([A-Za-z]+)$")
_KEY_PARAM = re.compile(r"(?:^|&)key=[^&]*")
DROP_CLIENT_KEY = headers.dropper(("x-goog-api-key",))


class Call(NamedTuple):
    """What a Gemini path asks for: the model (an alias of ours) and the method."""

    model: str
    method: str

    @property
    def endpoint(self) -> str:
        return METHODS[self.method]

    @property
    def stream(self) -> bool:
        return self.method == "streamGenerateContent"


def parse_call(path: str) -> Call | None:
    """The call a path names (any prefix before ``/v1beta``), None when it names none we serve."""
    found = _CALL.search(path)
    if found is None or found.group(2) not in METHODS:
        return None
    return Call(unquote(found.group(1)), found.group(2))


def find_model(request: Request) -> tuple[str | None, int, int]:
    """The model to route (from the path) as ``bodyscan.find_model`` gives it for other APIs.

    Like there, the body is only checked for being a JSON object: decoding a 60 KB Gemini CLI
    body would cost ~0.15 ms, and a mistake inside is the provider's 400, in Gemini's shape too.
    """
    body = request.body
    if body[:64].lstrip()[:1] != b"{" or body[-64:].rstrip()[-1:] != b"}":
        raise BodyError("the body is not a JSON object")
    call = parse_call(request.path)
    return (call.model if call else None), 0, 0


def presented_token(request: Request) -> str | None:
    """The caller's Reins token: ``x-goog-api-key``, ``?key=``, else the usual headers."""
    key = request.lower.get("x-goog-api-key")
    if key:
        return key
    for param in request.query.lstrip("?").split("&"):
        name, _, value = param.partition("=")
        if name == "key" and value:
            return unquote(value)
    return auth.presented_token(request.lower)


def upstream_query(query: str) -> str:
    """The client's query string without its ``key=`` (the Reins token), else as received."""
    if "key=" not in query:
        return query
    rest = _KEY_PARAM.sub("", query.lstrip("?")).lstrip("&")
    return f"?{rest}" if rest else ""


def dispatch(gw: Gateway, client: ClientConnection, request: Request) -> bool:
    """Answer one request on a ``/v1beta/…`` path; True if the connection may serve another."""
    path = request.path
    if path.endswith(PREFIX) and request.method == "GET":
        return list_models(gw, client, request)
    call = parse_call(path)
    if call is None:
        message = (
            f"no such endpoint: {request.method} {path}; the gateway serves "
            "models/{model}:generateContent, :streamGenerateContent and :countTokens"
        )
        return gw.send_error(client, request, "gemini", 404, message)
    if request.method != "POST":
        return gw.send_error(client, request, "gemini", 405, f"use POST for {path}")
    return gw.model_request(client, request, "gemini", call.endpoint)


def list_models(gw: Gateway, client: ClientConnection, request: Request) -> bool:
    """``GET /v1beta/models``: the configured aliases in Gemini's ``ListModels`` shape."""
    if gw.authenticate(client, request, "gemini") is None:
        return request.keep_alive
    models = [
        {
            "name": f"models/{name}",
            "baseModelId": name,
            "displayName": name,
            "supportedGenerationMethods": list(METHODS),
        }
        for name in gw.config.models
    ]
    body = json.dumps({"models": models}).encode()
    return gw._send(client, request, 200, body, "application/json")


def forward(
    gw: Gateway,
    client: ClientConnection,
    request: Request,
    record: UsageRecord,
    model: tuple[str, int, int],
    attempts: list[Attempt],
) -> bool:
    """``proxy.forward`` with Gemini's plan: the model in the path, the client's key dropped."""
    call = Call(model[0], _method(record.endpoint))
    forwarded = DROP_CLIENT_KEY.sub("", DROP_REQUEST.sub("", request.block))
    plan = Plan(
        lambda attempt: _passthrough(gw, request, call, attempt, forwarded),
        lambda: _inbound(request, call),
        "gemini",
    )
    return proxy_forward(gw, client, request, record, model, attempts, plan)


def _method(endpoint: str) -> str:
    return next(m for m, e in METHODS.items() if e == endpoint)


def _no_key(provider: str, env: str | None) -> str:
    return (
        f"the gateway has no key for provider '{provider}': set {env} in the gateway's "
        "environment and restart it"
    )


def _passthrough(
    gw: Gateway, request: Request, call: Call, attempt: Attempt, forwarded: str
) -> tuple[bytes, bytes]:
    """Head and body for a Gemini target: the body as received, the target's model in the path."""
    provider = attempt.provider
    model = quote(attempt.target.model, safe="")
    path = f"{provider.base_path}{PREFIX}/{model}:{call.method}{upstream_query(request.query)}"
    head = (
        f"POST {path} HTTP/1.1\r\n{gw.provider_headers[provider.name]}{forwarded}"
        f"Content-Length: {len(request.body)}\r\n\r\n"
    ).encode("latin-1")
    return head, request.body


def _inbound(request: Request, call: Call) -> translated.Inbound:
    """The decoded body for translated attempts; Gemini says "stream" in the path, not the body."""
    inbound = translated.Inbound(request.body, call.model)
    inbound.stream = call.stream
    inbound.body.pop("stream", None)
    if call.stream:  # how gateway.translate.gemini learns it (see its parse_request)
        inbound.body["stream"] = True
    if call.stream and "alt=sse" not in request.query:
        raise TranslationError(
            "only streamGenerateContent?alt=sse (server-sent events) is served for "
            "non-Gemini targets; the JSON-array stream is not"
        )
    wrapped = inbound.body.get("generateContentRequest")
    if call.endpoint == "count_tokens" and isinstance(wrapped, dict):
        inbound.body = wrapped  # countTokens may wrap a whole generateContent request
    return inbound
