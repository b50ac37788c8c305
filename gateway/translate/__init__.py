"""Format translation between Anthropic Messages, OpenAI Responses, Chat Completions and Gemini.

This package is PURE: it never does I/O (no sockets, files, database, logging handlers or
environment), never reads a clock and imports nothing but the standard library and itself
(no gevent, flask, sqlite, yaml). The gateway parses bytes, calls these functions and writes
bytes; ``tests/test_repo_shape.py`` fails if a module here imports anything else.

Public API:

- ``translator_for(inbound, upstream)``: a ``Translator`` with ``request``, ``response``, ``error``
  and ``stream`` for one format pair (None when no translation is needed) — the gateway's
  ``translators`` seam
- ``translate_request(body, source, target, model)`` / ``translate_response(body, source, target)``
- ``translate_error(status, body, source, target) -> (status, body)`` in the client's error shape
- ``StreamTranslator(upstream, client, model, request)`` with ``feed(event)``, ``finish()``,
  ``fail(reason)`` and ``usage``; ``encode_sse(fmt, event)`` and ``SSEParser`` for the bytes
- ``usage_from_body(fmt, body)`` and ``StreamUsage(fmt)`` for passthrough traffic;
  ``from_reported(fmt, counts)`` turns counts stored as the provider reported them into the
  neutral ``Usage`` that ``gateway.pricing`` prices
- ``estimate_input_tokens(body, fmt)``: a rough count for ``count_tokens`` on other providers
- ``validate_stream(fmt, events)``: the event grammar a client of each format accepts

Formats are named ``anthropic``, ``responses``, ``chat`` and ``gemini`` (``FORMATS``).
"""

from gateway.translate.api import (
    StreamTranslator,
    Translator,
    error_message,
    estimate_input_tokens,
    parse_request,
    render_request,
    translate_error,
    translate_request,
    translate_response,
    translator_for,
)
from gateway.translate.grammar import StreamGrammarError, validate_stream
from gateway.translate.ir import FAMILY, FORMATS, TranslationError
from gateway.translate.sse import (
    DONE,
    MalformedEvent,
    SSEParser,
    encode_all,
    encode_sse,
    parse_data,
)
from gateway.translate.usage import StreamUsage, Usage, from_reported, usage_from_body

__all__ = [
    "DONE",
    "FAMILY",
    "FORMATS",
    "MalformedEvent",
    "SSEParser",
    "StreamGrammarError",
    "StreamTranslator",
    "StreamUsage",
    "TranslationError",
    "Translator",
    "Usage",
    "encode_all",
    "encode_sse",
    "error_message",
    "estimate_input_tokens",
    "from_reported",
    "parse_data",
    "parse_request",
    "render_request",
    "translate_error",
    "translate_request",
    "translate_response",
    "translator_for",
    "usage_from_body",
    "validate_stream",
]
