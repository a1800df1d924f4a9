"""A scripted model for tests: canned replies and tool calls, answered in-process without a network,
litellm or an API key (like llm's mock model). Public as `kit_py.api.testing.ScriptedModel`.

A `ScriptedModel` registers itself under a model string `scripted/<name>`; `kit_py.llm.client` answers
requests for such a model from its script instead of calling litellm, so everything above the
model boundary (the turn loop, tools, approvals, compaction, stores) runs exactly as in production.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kit_py import errors
from kit_py.llm.types import LLMRequest, LLMResponse, StreamEvent, ToolCall, Usage

PREFIX = "scripted/"
_models: weakref.WeakValueDictionary[str, ScriptedModel] = weakref.WeakValueDictionary()
_names = itertools.count(1)
_registry_lock = threading.Lock()
_WORDS = re.compile(r"\S+\s*|\s+")


@dataclass
class ScriptedReply:
    """One canned answer: text, reasoning and tool calls (`{"name", "arguments", "id"?}`), or an error."""

    text: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    reasoning: str = ""
    error: errors.AgentError | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None


@dataclass
class ScriptedRequest:
    """What the model was asked: OpenAI-format `messages`, the offered tool names, the options."""

    messages: list[dict[str, Any]]
    tools: list[str]
    options: dict[str, Any]

    @property
    def prompt(self) -> str:
        """The text of the last user message (what the user just said)."""
        for message in reversed(self.messages):
            if message.get("role") == "user":
                content = message.get("content")
                if isinstance(content, list):
                    return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
                return str(content or "")
        return ""


class ScriptedModel:
    """Answers each request with the next scripted reply, in order.

    `replies` items are reply texts or `reply()` keyword dicts. When the script is used up the model
    answers `default`, or (default None) fails the turn with an `AgentError` saying so, so a test that
    makes more calls than it scripted fails loudly. Every request is kept in `requests`.
    """

    def __init__(
        self,
        replies: Iterable[str | Mapping[str, Any]] = (),
        *,
        default: str | None = None,
        name: str | None = None,
    ) -> None:
        self.default = default
        self.requests: list[ScriptedRequest] = []
        self._script: deque[ScriptedReply] = deque()
        self._lock = threading.Lock()
        with _registry_lock:
            self.name = name or str(next(_names))
            if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", self.name):
                raise ValueError(f"bad scripted model name {self.name!r}: use letters, digits, . _ or -")
            if self.model in _models:
                raise ValueError(f"a scripted model named {self.name!r} already exists")
            _models[self.model] = self
        for reply in replies:
            if isinstance(reply, str):
                self.reply(reply)
            else:
                self.reply(**dict(reply))

    @property
    def model(self) -> str:
        """The model string sessions record (`scripted/<name>`); `Agent(model=...)` takes either."""
        return PREFIX + self.name

    def __repr__(self) -> str:
        return f"ScriptedModel({self.model!r}, pending={self.pending})"

    def reply(
        self,
        text: str = "",
        *,
        tool_calls: Iterable[Mapping[str, Any]] = (),
        reasoning: str = "",
        input_tokens: int | None = None,
        output_tokens: int | None = None,
    ) -> ScriptedModel:
        """Add a reply. `tool_calls` items: `{"name": ..., "arguments": {...}, "id": "call_1"}` (id
        optional). Returns the model, so replies chain."""
        calls = [dict(call) for call in tool_calls]
        for call in calls:
            if not isinstance(call.get("name"), str):
                raise ValueError(f"a scripted tool call needs a name: {call!r}")
        self._push(ScriptedReply(text, calls, reasoning, None, input_tokens, output_tokens))
        return self

    def fail(self, error: errors.AgentError) -> ScriptedModel:
        """Add a failure: the request raises `error` (e.g. `kit_py.errors.RateLimitError("slow down")`)."""
        self._push(ScriptedReply(error=error))
        return self

    @property
    def pending(self) -> int:
        """Replies not used yet."""
        with self._lock:
            return len(self._script)

    def _push(self, reply: ScriptedReply) -> None:
        with self._lock:
            self._script.append(reply)

    def _next(self, req: LLMRequest) -> ScriptedReply:
        tools = [str(t.get("function", {}).get("name", "")) for t in req.tools or []]
        options = {"temperature": req.temperature, "max_tokens": req.max_tokens, **req.extra}
        with self._lock:
            self.requests.append(ScriptedRequest(list(req.messages), tools, options))
            if self._script:
                return self._script.popleft()
            used = len(self.requests)
        if self.default is not None:
            return ScriptedReply(self.default)
        raise errors.AgentError(
            f"the scripted model {self.model} has no reply left for request {used} "
            "(script more replies, or give it a default)",
            provider="scripted",
        )

    def answer(self, req: LLMRequest, on_event: Callable[[StreamEvent], None]) -> LLMResponse:
        """One streamed step (the engine's view), events included."""
        reply = self._next(req)
        if reply.error is not None:
            raise reply.error
        response = LLMResponse(model=req.model, provider="scripted")
        if reply.reasoning:
            response.reasoning = reply.reasoning
            on_event(StreamEvent("reasoning_delta", reply.reasoning))
        for piece in _WORDS.findall(reply.text):
            on_event(StreamEvent("text_delta", piece))
        response.text = reply.text
        response.tool_calls = [
            ToolCall(
                id=str(call.get("id") or f"call_{n}"),
                name=call["name"],
                arguments=_arguments(call.get("arguments", {})),
            )
            for n, call in enumerate(reply.tool_calls, 1)
        ]
        response.stop_reason = "tool_use" if response.tool_calls else "stop"
        response.usage = _usage(reply, req)
        return response

    def complete(self, req: LLMRequest) -> tuple[str, Usage]:
        """A non-streamed request (a compaction summary): the next reply's text."""
        reply = self._next(req)
        if reply.error is not None:
            raise reply.error
        return reply.text, _usage(reply, req)


def scripted_model(model: str) -> ScriptedModel | None:
    """The live ScriptedModel a model string names, or None for a real model."""
    if not model.startswith(PREFIX):
        return None
    found = _models.get(model)
    if found is None:
        raise errors.ModelNotFoundError(
            f"no scripted model {model!r} in this process (a ScriptedModel lives only while you hold it)"
        )
    return found


def _arguments(arguments: Any) -> str:
    return arguments if isinstance(arguments, str) else json.dumps(arguments)


def _usage(reply: ScriptedReply, req: LLMRequest) -> Usage:
    """Token counts the way a provider reports them (estimated from the text when not scripted)."""
    estimated_in = len(json.dumps(req.messages)) // 4
    estimated_out = len(reply.text) // 4 + 1
    return Usage(
        input_tokens=reply.input_tokens if reply.input_tokens is not None else estimated_in,
        output_tokens=reply.output_tokens if reply.output_tokens is not None else estimated_out,
    )
