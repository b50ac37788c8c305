"""The entry points the gateway calls: translate a request, a response, an error or a stream.

Formats: ``anthropic`` (Messages), ``responses`` (OpenAI Responses), ``chat`` (Chat Completions),
``gemini`` (generateContent). ``source`` is the format the body is in, ``target`` the one wanted.
When both are equal nothing is translated and the body is returned as is (the gateway should
not call these functions at all on a passthrough route).

Must never do I/O.
"""

from __future__ import annotations

from typing import Any

from gateway.translate import anthropic, chat, gemini, ir, responses
from gateway.translate.anthropic_stream import AnthropicDecoder, AnthropicEncoder
from gateway.translate.chat_stream import ChatDecoder, ChatEncoder
from gateway.translate.gemini_stream import GeminiDecoder, GeminiEncoder
from gateway.translate.responses_stream import ResponsesDecoder, ResponsesEncoder
from gateway.translate.stream import Encoder
from gateway.translate.usage import Usage

_BODIES = {"anthropic": anthropic, "responses": responses, "chat": chat, "gemini": gemini}
_DECODERS = {
    "anthropic": AnthropicDecoder,
    "responses": ResponsesDecoder,
    "chat": ChatDecoder,
    "gemini": GeminiDecoder,
}
_ENCODERS: dict[str, type[Encoder]] = {
    "anthropic": AnthropicEncoder,
    "responses": ResponsesEncoder,
    "chat": ChatEncoder,
    "gemini": GeminiEncoder,
}


def _body(body: Any) -> dict:
    if not isinstance(body, dict):
        raise ir.TranslationError(f"expected a JSON object body, got {type(body).__name__}")
    return body


def parse_request(body: dict, source: str) -> dict:
    """A request body of ``source`` format in the neutral form (see ``ir``)."""
    return _BODIES[ir.check_format(source)].parse_request(_body(body))


def render_request(req: dict, target: str, model: str, default_max_tokens: int = 8192) -> dict:
    if ir.check_format(target) == "anthropic":
        return anthropic.render_request(req, model, default_max_tokens)
    return _BODIES[target].render_request(req, model)


def translate_request(
    body: dict, source: str, target: str, model: str, default_max_tokens: int = 8192
) -> dict:
    """``body`` (a ``source`` request) as a ``target`` request for ``model``.

    ``default_max_tokens`` is used only when the target requires a limit (Anthropic) and the
    source gave none. Gemini takes the model in the URL, so its body has no ``model``.
    """
    if ir.check_format(source) == ir.check_format(target):
        return body
    return render_request(parse_request(body, source), target, model, default_max_tokens)


def translate_response(
    body: dict, source: str, target: str, model: str | None = None, request: dict | None = None
) -> dict:
    """A non-streaming ``source`` response body as a ``target`` response.

    ``model`` is the name to show the client (defaults to the upstream's); ``request`` is the
    client's original request, needed to turn freeform tool calls back into Responses
    ``custom_tool_call`` items.
    """
    if ir.check_format(source) == ir.check_format(target):
        return body
    resp = _BODIES[source].parse_response(_body(body))
    model = model or resp["model"]
    if target == "responses":
        return responses.render_response(resp, model, responses.custom_tool_names(request))
    return _BODIES[target].render_response(resp, model)


def error_message(body: Any, source: str) -> str:
    """The human message inside an upstream error body (or the body itself, shortened)."""
    parser = {"anthropic": anthropic.parse_error, "gemini": gemini.parse_error}.get(
        source, responses.parse_error
    )
    _, message = parser(body)
    if message:
        return message
    text = body if isinstance(body, str) else ir.dumps(body) if body is not None else ""
    return text[:500] or "upstream error"


def translate_error(status: int, body: Any, source: str, target: str) -> tuple[int, dict]:
    """An upstream ``source`` error as ``(status, body)`` in the ``target`` (client) API's shape.

    The upstream's own message is kept (trap: hidden upstream errors). Anthropic's 529
    (overloaded) becomes 503 for clients that do not know it.
    """
    ir.check_format(source)
    ir.check_format(target)
    if source == target and isinstance(body, dict):
        return status, body
    message = error_message(body, source)
    if status == 529 and target != "anthropic":
        status = 503
    kind = anthropic.ERROR_TYPES.get(
        status, "api_error" if status >= 500 else "invalid_request_error"
    )
    render = {
        "anthropic": anthropic.render_error,
        "responses": responses.render_error,
        "chat": responses.render_error,  # one OpenAI error shape
        "gemini": gemini.render_error,
    }[target]
    return status, render(status, kind if target == "anthropic" else "", message)


class StreamTranslator:
    """Translates one upstream stream into the client's format, event by event.

    Feed it the upstream's parsed events in order (SSE ``data`` JSON as dicts; Chat's ``[DONE]``
    as the string). Each call returns the client events to send now (dicts, or ``"[DONE]"``),
    ready for ``encode_sse(client, event)``. Call ``finish()`` when the upstream closes and
    ``fail(reason)`` on a read error or timeout: the client stream then always ends well-formed
    (a truncated upstream stream becomes a failure, never a silent success).
    """

    def __init__(self, upstream: str, client: str, model: str, request: dict | None = None) -> None:
        ir.check_format(upstream)
        ir.check_format(client)
        self.upstream = upstream
        self.client = client
        self._decoder = _DECODERS[upstream]()
        custom = responses.custom_tool_names(request) if client == "responses" else set()
        self._encoder = _ENCODERS[client](model, custom)
        self._failed = False

    @property
    def usage(self) -> Usage:
        """Usage reported by the upstream so far, in the neutral form."""
        return self._encoder.usage

    @property
    def done(self) -> bool:
        return self._encoder.done

    @property
    def failed(self) -> bool:
        """True when the client stream ended with an error (upstream error or truncation)."""
        return self._failed

    def feed(self, event: Any) -> list[Any]:
        out: list[Any] = []
        for ev in self._decoder.feed(event):
            if ev["t"] == "error" and not self._encoder.done:
                self._failed = True
            out += self._encoder.feed(ev)
        return out

    def finish(self) -> list[Any]:
        out: list[Any] = []
        for ev in self._decoder.flush():
            out += self._encoder.feed(ev)
        if self._encoder.done:
            return out
        if not self._decoder.complete:
            return out + self.fail("upstream stream ended before completion")
        return out + self._encoder.finish()

    def fail(self, reason: str) -> list[Any]:
        if not self._encoder.done:
            self._failed = True
        return self._encoder.fail(reason)


class Translator:
    """Everything one (client format, upstream format) pair needs, for ``gateway.routing``.

    ``translator_for(inbound, upstream)`` returns one (or None when no translation is needed).
    """

    __slots__ = ("inbound", "upstream")

    def __init__(self, inbound: str, upstream: str) -> None:
        self.inbound = ir.check_format(inbound)
        self.upstream = ir.check_format(upstream)

    def request(self, body: dict, model: str, default_max_tokens: int = 8192) -> dict:
        return translate_request(body, self.inbound, self.upstream, model, default_max_tokens)

    def response(self, body: dict, model: str | None = None, request: dict | None = None) -> dict:
        return translate_response(body, self.upstream, self.inbound, model, request)

    def error(self, status: int, body: Any) -> tuple[int, dict]:
        return translate_error(status, body, self.upstream, self.inbound)

    def stream(self, model: str, request: dict | None = None) -> StreamTranslator:
        return StreamTranslator(self.upstream, self.inbound, model, request)


def translator_for(inbound: str, upstream: str) -> Translator | None:
    """The translator between two formats; None when they are the same (passthrough)."""
    return None if inbound == upstream else Translator(inbound, upstream)


def estimate_input_tokens(body: dict, source: str) -> int:
    """A rough input-token count (about 4 characters per token) for ``count_tokens`` answers.

    Used when the target cannot count for us (Claude Code calls ``/v1/messages/count_tokens``
    and errors on a 404). Images count a flat 1,600 tokens, Anthropic's figure for ~1 MP.
    """
    req = parse_request(body, source)
    chars = sum(len(t) for t in req["system"])
    images = 0
    for m in req["messages"]:
        for b in m["content"]:
            if b["type"] == "text":
                chars += len(b["text"])
            elif b["type"] == "image":
                images += 1
            elif b["type"] == "tool_call":
                chars += len(b["name"]) + len(ir.dumps(b["args"]))
            elif b["type"] == "tool_result":
                chars += sum(len(c.get("text", "")) for c in b["content"])
                images += sum(c["type"] == "image" for c in b["content"])
    chars += sum(
        len(t["name"]) + len(t["description"]) + len(ir.dumps(t["schema"])) for t in req["tools"]
    )
    return (chars + 3) // 4 + images * 1600
