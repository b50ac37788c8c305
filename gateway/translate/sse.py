"""Server-sent events: encode client events per format, and split upstream bytes into events.

Anthropic and Responses frames name the event (``event: <type>``, equal to the JSON ``type``);
Chat and Gemini frames are ``data:`` lines only, and Chat ends with ``data: [DONE]``.
``SSEParser`` is incremental: feed it bytes as they arrive; it accepts LF, CRLF and CR line ends
and ``data:`` split over several lines, and keeps an incomplete frame for the next feed.

Must never do I/O.
"""

from __future__ import annotations

import json
from typing import Any

NAMED = frozenset({"anthropic", "responses"})
DONE = "[DONE]"


class MalformedEvent(ValueError):
    """An SSE ``data:`` payload that is neither JSON nor ``[DONE]``."""


def encode_sse(fmt: str, event: Any) -> bytes:
    """One client event (a dict, or Chat's ``[DONE]``) as an SSE frame for ``fmt``."""
    if event == DONE:
        return b"data: [DONE]\n\n"
    data = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
    if fmt in NAMED and "type" in event:
        return f"event: {event['type']}\ndata: {data}\n\n".encode()
    return f"data: {data}\n\n".encode()


def encode_all(fmt: str, events: list[Any]) -> bytes:
    return b"".join(encode_sse(fmt, e) for e in events)


def parse_data(data: str) -> Any:
    """The JSON payload of one frame, or ``[DONE]``; raises ``MalformedEvent`` otherwise."""
    if data.strip() == DONE:
        return DONE
    try:
        return json.loads(data)
    except ValueError as exc:
        raise MalformedEvent(
            f"upstream sent an SSE event that is not JSON: {data[:120]!r}"
        ) from exc


class SSEParser:
    """Incremental SSE splitter: ``feed(bytes)`` returns the complete ``(event, data)`` pairs."""

    def __init__(self) -> None:
        self._buf = ""
        self._pending = b""

    def feed(self, chunk: bytes) -> list[tuple[str, str]]:
        data = self._pending + chunk
        try:
            text = data.decode("utf-8")
            self._pending = b""
        except UnicodeDecodeError as exc:
            if exc.reason != "unexpected end of data":  # not a character split across chunks
                raise MalformedEvent("upstream sent bytes that are not UTF-8") from exc
            text = data[: exc.start].decode("utf-8")
            self._pending = data[exc.start :]
        if text.endswith("\r"):  # maybe half of a CRLF: wait for the next chunk
            text = text[:-1]
            self._pending = b"\r" + self._pending
        self._buf += text.replace("\r\n", "\n").replace("\r", "\n")
        frames = self._buf.split("\n\n")
        self._buf = frames.pop()
        return [f for f in (self._frame(raw) for raw in frames) if f is not None]

    def close(self) -> list[tuple[str, str]]:
        """Whatever complete-looking frame is left when the upstream closes."""
        rest, self._buf = self._buf, ""
        frame = self._frame(rest)
        return [frame] if frame is not None else []

    @staticmethod
    def _frame(raw: str) -> tuple[str, str] | None:
        event = ""
        data: list[str] = []
        for line in raw.split("\n"):
            if line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
            elif line.startswith("event:"):
                event = line[6:].strip()
        if not data:
            return None
        return event, "\n".join(data)
