"""The neutral stream events between a format's stream decoder and another format's encoder.

A decoder turns parsed upstream events into these dicts; an encoder turns them into events of
the client's format. Events (``t`` is the kind):

- ``{"t": "start", "id", "model"}`` — the upstream message began
- ``{"t": "block", "i", "kind": "text" | "tool" | "thinking", "id", "name"}`` — block ``i`` opens
- ``{"t": "delta", "i", "text"}`` — text, thinking text, or a fragment of tool arguments (JSON)
- ``{"t": "stop_block", "i"}`` — block ``i`` is complete
- ``{"t": "usage", "usage": Usage}`` — the usage so far (replaces earlier values)
- ``{"t": "finish", "stop": STOP}`` — the model stopped, for this reason
- ``{"t": "error", "message"}`` — the upstream failed mid-stream
- ``{"t": "end"}`` — the upstream's terminal event (usage may come between finish and end)
- ``{"t": "ping"}``

``Encoder`` keeps the client's invariants whatever the upstream does: one block open at a time
with indices in order, deltas only for the open block, exactly one terminal sequence. Thinking
blocks never cross a format boundary here (reasoning state is only valid for the provider that
made it), so encoders drop them.

Must never do I/O.
"""

from __future__ import annotations

from typing import Any

from gateway.translate.usage import Usage


def _key(index: Any) -> Any:
    """Block keys come from upstream JSON: make sure a malformed one is still hashable."""
    try:
        hash(index)
    except TypeError:
        return repr(index)
    return index


class Encoder:
    """Base of the per-format stream encoders; subclasses implement the ``on_*`` hooks."""

    def __init__(self, model: str, custom: set[str] | None = None) -> None:
        self.model = model
        self.custom = custom or set()
        self.upstream_id = ""
        self.usage = Usage()
        self.stop: str | None = None
        self.started = False
        self.done = False
        self.blocks: dict[Any, dict] = {}
        self.order: list[dict] = []
        self.current: dict | None = None

    def feed(self, ev: dict) -> list[dict]:
        if self.done:
            return []
        t = ev["t"]
        if "i" in ev:
            ev["i"] = _key(ev["i"])
        out: list[dict] = []
        if t == "start":
            self.upstream_id = self.upstream_id or str(ev.get("id") or "")
            out += self._ensure_started()
        elif t == "block":
            out += self._open(ev)
        elif t == "delta":
            out += self._delta(ev)
        elif t == "stop_block":
            state = self.blocks.get(ev["i"])
            if state is not None and state is self.current:
                out += self._close()
        elif t == "usage":
            self.usage = ev["usage"]
        elif t == "finish":
            self.stop = ev["stop"]
        elif t == "error":
            out += self.fail(ev.get("message") or "upstream error")
        elif t == "end":
            out += self.finish()
        elif t == "ping" and self.started:
            out += self.on_ping()
        return out

    def _ensure_started(self) -> list[dict]:
        if self.started:
            return []
        self.started = True
        return self.on_start()

    def _open(self, ev: dict) -> list[dict]:
        out = self._ensure_started()
        if self.current is not None:
            out += self._close()
        kind = ev["kind"]
        state = {
            "kind": kind,
            "id": ev.get("id") or "",
            "name": ev.get("name") or "",
            "buf": [],
            "open": True,
        }
        self.blocks[ev["i"]] = state
        if kind == "thinking":
            state["open"] = False
            return out
        state["index"] = len(self.order)
        self.order.append(state)
        self.current = state
        return out + self.on_block_start(state)

    def _delta(self, ev: dict) -> list[dict]:
        state = self.blocks.get(ev["i"])
        if state is None:  # a delta with no opening event: open a text block for it
            out = self._open({"i": ev["i"], "kind": "text"})
            state = self.blocks[ev["i"]]
        else:
            out = []
        text = ev.get("text")
        if state is not self.current or not isinstance(text, str) or not text:
            return out
        state["buf"].append(text)
        return out + self.on_delta(state, text)

    def _close(self) -> list[dict]:
        state = self.current
        self.current = None
        if state is None:
            return []
        state["open"] = False
        return self.on_block_stop(state)

    def final_stop(self) -> str:
        if self.stop and self.stop != "end_turn":
            return self.stop
        return (
            "tool_use"
            if any(s["kind"] == "tool" for s in self.order)
            else (self.stop or "end_turn")
        )

    def finish(self) -> list[dict]:
        """Close whatever is open and emit the client's terminal sequence (once)."""
        if self.done:
            return []
        out = self._ensure_started() + self._close()
        self.done = True
        return out + self.on_end(self.final_stop())

    def fail(self, message: str) -> list[dict]:
        """End the stream with the client's well-formed failure (once).

        An open block is left unclosed: closing it would present half a tool call as complete.
        """
        if self.done:
            return []
        out = self._ensure_started()
        self.current = None
        self.done = True
        return out + self.on_fail(message)

    # Hooks -----------------------------------------------------------------------------------
    def on_start(self) -> list[dict]:
        return []

    def on_block_start(self, state: dict) -> list[dict]:
        return []

    def on_delta(self, state: dict, text: str) -> list[dict]:
        return []

    def on_block_stop(self, state: dict) -> list[dict]:
        return []

    def on_end(self, stop: str) -> list[dict]:
        return []

    def on_fail(self, message: str) -> list[dict]:
        return []

    def on_ping(self) -> list[dict]:
        return []
