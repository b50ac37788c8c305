"""The one JSON error shape of the policy server, and the exceptions that map onto it.

Every error answer is ``{"error": {"status": N, "code": "...", "message": "..."}}`` with the
message written for the person who has to fix the request.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, current_app, jsonify
from werkzeug.exceptions import HTTPException

_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    500: "internal_error",
    503: "unavailable",
}


TOO_LARGE = "request body is larger than the limit (1 MiB); hook payloads are small JSON objects"


class ApiError(Exception):
    """Raised by handlers; rendered in the one error shape."""

    def __init__(self, status: int, message: str, code: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or _CODES.get(status, "error")


def error_document(status: int, message: str, code: str = "") -> dict[str, Any]:
    """The one error shape, as data."""
    return {
        "error": {"status": status, "code": code or _CODES.get(status, "error"), "message": message}
    }


def error_response(status: int, message: str, code: str = "") -> Response:
    reins = current_app.extensions.get("reins")
    if reins is not None:
        reins.metrics.inc("reins_http_errors_total", f'status="{status}"')
    response = jsonify(error_document(status, message, code))
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="reins"'
    return response


def install(app: Flask) -> None:
    """Route every error (ours, werkzeug's, and unexpected ones) through the one shape."""

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        return error_response(exc.status, exc.message, exc.code)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        messages = {
            404: "no such endpoint; see the README's endpoint list",
            405: f"method not allowed here; allowed: {', '.join(sorted(exc.valid_methods or []))}"
            if hasattr(exc, "valid_methods")
            else "method not allowed",
            413: TOO_LARGE,
        }
        return error_response(status, messages.get(status, exc.description or "error"))

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:  # isolation boundary: log, never leak internals
        app.logger.exception("unhandled error")
        return error_response(500, "internal error; the server log has the details")
