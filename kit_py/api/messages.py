"""The API's data: `Message`, `RunResult`, streamed `Event`s, `Approval` records, `SessionSummary`,
`Branch`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

import orjson

from kit_py.engine import events
from kit_py.llm.types import Usage
from kit_py.session import format as fmt

OutputT = TypeVar("OutputT")
Role = Literal["user", "assistant", "tool", "system"]
_ROLES = ("user", "assistant", "tool", "system")


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
    def from_dict(cls, entry: Mapping[str, Any]) -> Message:
        """A message from its wire form (`to_dict()`, a session entry) or an OpenAI-style chat message
        (`{"role", "content", "tool_calls"?, "tool_call_id"?}`); ValueError says what does not fit."""
        if not isinstance(entry, Mapping):
            raise TypeError(f"a message is a Message or a dict, not {type(entry).__name__}")
        role = entry.get("role")
        if role not in _ROLES:
            raise ValueError(f"a message needs a role ({', '.join(_ROLES)}), not {role!r}: {_short(entry)}")
        if "parts" in entry:
            parts = entry["parts"]
            if not isinstance(parts, list) or not all(isinstance(p, dict) and "type" in p for p in parts):
                raise ValueError(f"`parts` must be a list of {{'type', 'data'}} dicts: {_short(entry)}")
            parts = orjson.loads(orjson.dumps(parts))
        elif "content" in entry or "tool_calls" in entry:
            parts = _openai_parts(entry)
        else:
            raise ValueError(f"a message needs `parts` (kit's form) or `content` (OpenAI's): {_short(entry)}")
        return cls(
            role=str(role),
            parts=parts,
            id=entry.get("id"),
            timestamp=entry.get("timestamp"),
            model=entry.get("model"),
            usage=entry.get("usage"),
        )

    @classmethod
    def from_entry(cls, entry: Mapping[str, Any]) -> Message:
        """A stored message entry as it is (read from a tree, which already skipped what is unreadable)."""
        return cls(
            role=str(entry.get("role", "")),
            parts=orjson.loads(orjson.dumps(entry.get("parts") or [])),
            id=entry.get("id"),
            timestamp=entry.get("timestamp"),
            model=entry.get("model"),
            usage=entry.get("usage"),
        )


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def _openai_parts(message: Mapping[str, Any]) -> list[dict[str, Any]]:
    """kit parts for an OpenAI chat message: text, `data:` image URLs, tool calls and a tool result."""
    content = message.get("content")
    texts: list[str] = []
    parts: list[dict[str, Any]] = []
    if isinstance(content, str):
        texts.append(content)
    elif isinstance(content, list):
        for block in content:
            kind = block.get("type") if isinstance(block, dict) else None
            if kind == "text":
                texts.append(str(block.get("text", "")))
            elif kind == "image_url":
                parts.append(_image_part(block))
            else:
                raise ValueError(f"unsupported content block {_short(block)} (text and image_url only)")
    elif content is not None:
        raise ValueError(f"`content` must be a string or a list of blocks: {_short(message)}")
    if message.get("role") == "tool":
        call_id = message.get("tool_call_id")
        if not isinstance(call_id, str):
            raise ValueError(f"a tool message needs `tool_call_id`: {_short(message)}")
        return [fmt.tool_result_part(call_id, str(message.get("name", "")), "\n".join(texts), False)]
    text_parts = [fmt.text_part("\n".join(texts))] if texts else []
    calls = []
    for call in message.get("tool_calls") or []:
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise ValueError(f"a tool call needs `function.name`: {_short(call)}")
        arguments = function.get("arguments", "{}")
        arguments = arguments if isinstance(arguments, str) else json.dumps(arguments)
        calls.append(fmt.tool_call_part(str(call.get("id", "")), function["name"], arguments))
    return [*text_parts, *parts, *calls]


def _image_part(block: Mapping[str, Any]) -> dict[str, Any]:
    image = block.get("image_url")
    url = image.get("url") if isinstance(image, dict) else image
    if not isinstance(url, str) or not url.startswith("data:") or ";base64," not in url:
        raise ValueError("only inline images (data:<type>;base64,...) can be stored in a session")
    head, data = url[5:].split(";base64,", 1)
    return fmt.image_part(data, head or "image/png")


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
class RunResult(Generic[OutputT]):
    """What one `run`/`send`/`json` call produced. `str(result)` is the answer text.

    Generic in the type of `output`: `session.json(prompt, schema=Model)` returns `RunResult[Model]`.
    """

    text: str
    messages: list[Message]
    """Messages this call added to the session (user prompt, assistant steps, tool results)."""
    model: str
    stop_reason: str
    usage: Usage
    """Input/output/cache tokens and cost_usd (None when the price is unknown) of this call."""
    session_id: str
    output: OutputT = None  # type: ignore[assignment]  # None for run(); the validated value for json()
    """The validated output of `session.json(...)`: a pydantic object, or plain JSON for a dict schema."""
    approvals: list[Approval] = field(default_factory=list)

    @property
    def tool_calls(self) -> list[dict[str, Any]]:
        return [call for m in self.messages for call in m.tool_calls]

    def __str__(self) -> str:
        return self.text


EventType = Literal[
    "text_delta", "reasoning_delta", "tool_call", "tool_result", "retry", "compaction", "notice", "done"
]


@dataclass
class Event:
    """A streamed event: `text_delta`, `reasoning_delta`, `tool_call`, `tool_result`, `done`, and the
    engine's notices: `retry`, `compaction` (context being summarized), `notice`."""

    type: EventType
    text: str = ""
    tool: str | None = None
    call_id: str | None = None
    arguments: Any = None
    is_error: bool = False
    result: RunResult[Any] | None = None
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
    created: datetime | None
    modified: float
    path: Path | None
    """The session file; None for a session kept in a database (`PostgresStore`)."""


@dataclass
class Branch:
    """One branch of the session tree: the path from the root to a message nothing continues.

    Failed or cancelled calls and `clear()` leave branches too (their attempts stay in the store)."""

    id: str
    """The id of the branch's last message (`session.move_to(branch.id)` continues from it)."""
    current: bool
    """Whether the session is at the end of this branch (its next turn continues it)."""
    messages: int
    """How many messages the branch holds (the system prompt not counted)."""
    last: Message
    label: str | None = None
    """The label given to its last message (`session.label(id, text)`), if any."""
