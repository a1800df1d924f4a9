"""The API's data: `Message`, `RunResult`, streamed `Event`s, `Approval` records, `SessionSummary`."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from kit_py.engine import events
from kit_py.session import format as fmt


@dataclass
class Message:
    """One conversation message: a role and its parts in the session wire format."""

    role: str
    parts: list[dict[str, Any]] = field(default_factory=list)
    id: str | None = None
    timestamp: str | None = None
    model: str | None = None
    usage: dict[str, Any] | None = None

    @classmethod
    def user(cls, text: str, images: list[dict[str, str]] | None = None) -> Message:
        """A user message; `images` items are `{"data": <base64>, "media_type": "image/png"}`."""
        parts = [fmt.text_part(text)] + [fmt.image_part(i["data"], i["media_type"]) for i in images or []]
        return cls("user", parts)

    @classmethod
    def assistant(cls, text: str) -> Message:
        return cls("assistant", [fmt.text_part(text)])

    @classmethod
    def system(cls, text: str) -> Message:
        return cls("system", [fmt.text_part(text)])

    @property
    def text(self) -> str:
        """The text parts joined by newlines; for a tool message, its results' contents joined so."""
        if self.role == "tool":
            return "\n".join(str(r.get("content", "")) for r in self.tool_results)
        return fmt.message_text({"parts": self.parts})

    @property
    def reasoning(self) -> str:
        return "".join(p["data"].get("thinking", "") for p in self.parts if p.get("type") == "reasoning")

    @property
    def tool_calls(self) -> list[dict[str, Any]]:
        """`{"id", "name", "arguments"}` for each tool call, arguments decoded from JSON."""
        return [
            {"id": d.get("id"), "name": d.get("name"), "arguments": decode_arguments(d.get("input"))}
            for d in (p["data"] for p in self.parts if p.get("type") == "tool_call")
        ]

    @property
    def tool_results(self) -> list[dict[str, Any]]:
        return [dict(p["data"]) for p in self.parts if p.get("type") == "tool_result"]

    def to_dict(self) -> dict[str, Any]:
        """The message entry in wire form (without tree links)."""
        parts = orjson.loads(orjson.dumps(self.parts))
        entry: dict[str, Any] = {"type": "message", "role": self.role, "parts": parts}
        for key in ("id", "timestamp", "model", "usage"):
            value = getattr(self, key)
            if value is not None:
                entry[key] = value
        return entry

    @classmethod
    def from_dict(cls, entry: dict[str, Any]) -> Message:
        return cls(
            role=str(entry.get("role", "")),
            parts=orjson.loads(orjson.dumps(entry.get("parts") or [])),
            id=entry.get("id"),
            timestamp=entry.get("timestamp"),
            model=entry.get("model"),
            usage=entry.get("usage"),
        )


def decode_arguments(arguments: Any) -> Any:
    """Tool-call arguments as the model meant them (JSON decoded; text that is not JSON as it is)."""
    if not isinstance(arguments, str):
        return arguments
    try:
        return json.loads(arguments) if arguments.strip() else {}
    except ValueError:
        return arguments


@dataclass
class Approval:
    """A safe-mode decision: which call asked, why, and whether it was allowed."""

    tool: str
    arguments: dict[str, Any]
    reason: str
    approved: bool
    answer: str = ""
    """"approved", "denied", "always", "refused" (nobody to ask), or "always (remembered)" for a call
    allowed without asking by an earlier "always" in the same turn."""


@dataclass
class RunResult:
    """What one `run`/`send`/`json` call produced. `str(result)` is the answer text."""

    text: str
    messages: list[Message]
    """Messages this call added to the session (user prompt, assistant steps, tool results)."""
    model: str
    stop_reason: str
    usage: Any
    """`kit_py.llm.Usage`: input/output/cache tokens and cost_usd (None when the price is unknown)."""
    session_id: str
    output: Any = None
    """The validated output of `session.json(...)`: a pydantic object, or plain JSON for a dict schema."""
    approvals: list[Approval] = field(default_factory=list)

    @property
    def tool_calls(self) -> list[dict[str, Any]]:
        return [call for m in self.messages for call in m.tool_calls]

    def __str__(self) -> str:
        return self.text


@dataclass
class Event:
    """A streamed event: `text_delta`, `reasoning_delta`, `tool_call`, `tool_result`, `done`, and the
    engine's notices: `retry`, `compaction` (context being summarized), `notice`."""

    type: str
    text: str = ""
    tool: str | None = None
    call_id: str | None = None
    arguments: Any = None
    is_error: bool = False
    result: RunResult | None = None
    """Set on `done`."""


def api_event(event: events.Event) -> Event | None:
    """The public `Event` for an engine event (None for engine bookkeeping the API does not show)."""
    if isinstance(event, events.ToolCallStarted):
        return Event(
            "tool_call",
            event.arguments,
            tool=event.name,
            call_id=event.call_id,
            arguments=decode_arguments(event.arguments),
        )
    if isinstance(event, events.ToolFinished):
        return Event(
            "tool_result", event.content, tool=event.name, call_id=event.call_id, is_error=event.is_error
        )
    if isinstance(event, events.TextDelta):
        return Event("text_delta", event.text)
    if isinstance(event, events.ReasoningDelta):
        return Event("reasoning_delta", event.text)
    if isinstance(event, events.Retry):
        return Event("retry", event.text)
    if isinstance(event, events.Notice):
        return Event("notice", event.text)
    if isinstance(event, events.CompactionStarted | events.CompactionProgress | events.CompactionDone):
        return Event("compaction", event.text)
    return None


@dataclass
class SessionSummary:
    """A persisted session as listed by `Session.history` / `Session.search`."""

    id: str
    channel: str | None
    name: str | None
    preview: str
    message_count: int
    created: str
    modified: float
    path: Path
