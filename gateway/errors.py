"""Errors of our own, in the shape of the inbound API, so each harness shows them properly.

Anthropic clients get ``{"type":"error","error":{"type":…,"message":…}}``; OpenAI clients
(Responses, Chat Completions, models) get ``{"error":{"message":…,"type":…,"code":…}}``; Gemini
clients ``{"error":{"code":<status>,"message":…,"status":"INVALID_ARGUMENT"…}}``. A
stream that breaks after its first byte ends with an error *event* of the inbound format
instead. Upstream errors are never rewritten here: they pass through unchanged.
"""

from __future__ import annotations

import json

from .translate.gemini import render_error as gemini_error

# Our status -> (Anthropic error type, OpenAI error type)
_TYPES = {
    400: ("invalid_request_error", "invalid_request_error"),
    401: ("authentication_error", "invalid_api_key"),
    403: ("permission_error", "permission_denied"),
    404: ("not_found_error", "not_found"),
    408: ("timeout_error", "timeout"),
    413: ("request_too_large", "request_too_large"),
    426: ("invalid_request_error", "upgrade_required"),
    429: ("rate_limit_error", "rate_limit_exceeded"),
    431: ("request_too_large", "request_too_large"),
    502: ("api_error", "bad_gateway"),
    503: ("overloaded_error", "service_unavailable"),
    504: ("api_error", "gateway_timeout"),
}


def error_body(fmt: str, status: int, message: str) -> bytes:
    """The JSON error body for ``status`` in inbound format ``fmt``."""
    anthropic_type, openai_type = _TYPES.get(status, ("api_error", "server_error"))
    if fmt == "anthropic":
        payload: dict = {"type": "error", "error": {"type": anthropic_type, "message": message}}
    elif fmt == "gemini":
        payload = gemini_error(status, "", message)
    else:
        payload = {
            "error": {
                "message": message,
                "type": "invalid_request_error" if status < 500 else "server_error",
                "param": None,
                "code": openai_type,
            }
        }
    return json.dumps(payload).encode()


def stream_error_event(fmt: str, message: str) -> bytes:
    """A well-formed terminal SSE event for a stream that broke after its first byte."""
    if fmt == "anthropic":
        data = {"type": "error", "error": {"type": "api_error", "message": message}}
        return b"event: error\ndata: " + json.dumps(data).encode() + b"\n\n"
    if fmt == "responses":
        data = {
            "type": "response.failed",
            "response": {
                "object": "response",
                "status": "failed",
                "error": {"code": "server_error", "message": message},
            },
        }
        return b"event: response.failed\ndata: " + json.dumps(data).encode() + b"\n\n"
    if fmt == "gemini":  # Gemini streams are data-only: an error object ends them
        return b"data: " + json.dumps(gemini_error(500, "", message)).encode() + b"\n\n"
    data = {"error": {"message": message, "type": "server_error", "param": None, "code": None}}
    return b"data: " + json.dumps(data).encode() + b"\n\n"
