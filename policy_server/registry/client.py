"""The HTTP client the ``reins agent`` and ``reins runs`` verbs use to talk to a policy server.

Authors hold a token with the ``author`` role, not the store: every registry verb goes through
the API, so the server's role and ownership checks apply to the CLI too. The token comes from
``REINS_TOKEN`` or ``--token-file`` (never a flag value, which would show in ``ps``), and is never
printed or put in an error message.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

DEFAULT_SERVER = "http://127.0.0.1:8700"
TIMEOUT_S = 30


class ClientError(Exception):
    """The request failed; the message says why and what to do."""


class ApiClient:
    def __init__(self, server: str | None, token_file: str | None) -> None:
        self.server = (server or os.environ.get("REINS_SERVER") or DEFAULT_SERVER).rstrip("/")
        self._token = _token(token_file)

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        import requests  # here, not at the top: every `reins` command builds this module's parser

        headers = {"Authorization": f"Bearer {self._token}", **kwargs.pop("headers", {})}
        try:
            response = requests.request(
                method, self.server + path, headers=headers, timeout=TIMEOUT_S, **kwargs
            )
        except requests.RequestException as exc:
            raise ClientError(
                f"cannot reach the Reins server at {self.server} ({type(exc).__name__}); start it "
                "with `reins serve` or pass --server / set REINS_SERVER"
            ) from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code >= 400:
            message = body.get("error", {}).get("message") if isinstance(body, dict) else None
            raise ClientError(message or f"{method} {path} failed with HTTP {response.status_code}")
        return body


def _token(token_file: str | None) -> str:
    if token_file:
        try:
            token = Path(token_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ClientError(f"cannot read --token-file {token_file}: {exc.strerror}") from None
    else:
        token = os.environ.get("REINS_TOKEN", "").strip()
    if not token:
        raise ClientError(
            "no token: set REINS_TOKEN or pass --token-file FILE (an admin creates one with "
            "`reins token create --user YOU --role author`)"
        )
    return token
