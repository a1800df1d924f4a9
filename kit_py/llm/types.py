"""What goes into and comes out of a model request: plain data, no litellm."""

from __future__ import annotations

import functools
import sys
from dataclasses import dataclass, field
from typing import Any

from kit_py import errors
from kit_py.session import format as fmt


@dataclass
class ToolCall:
    id: str
    name: str
    arguments: str
    """JSON-encoded arguments, exactly as the model produced them."""


@dataclass
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_creation_tokens: int = 0
    cost_usd: float | None = None

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def add(self, other: Usage) -> None:
        """Accumulate another step's usage; the cost stays unknown only while every part is unknown."""
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cache_read_tokens += other.cache_read_tokens
        self.cache_creation_tokens += other.cache_creation_tokens
        if other.cost_usd is not None:
            self.cost_usd = (self.cost_usd or 0.0) + other.cost_usd

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Usage:
        """The usage stored on an assistant entry (missing or bad numbers count as zero / unknown)."""
        cost = data.get("cost_usd")
        return cls(
            input_tokens=int(data.get("input_tokens") or 0),
            output_tokens=int(data.get("output_tokens") or 0),
            cache_read_tokens=int(data.get("cache_read_tokens") or 0),
            cache_creation_tokens=int(data.get("cache_creation_tokens") or 0),
            cost_usd=float(cost) if isinstance(cost, int | float) else None,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cache_read_tokens": self.cache_read_tokens,
            "cache_creation_tokens": self.cache_creation_tokens,
            "cost_usd": self.cost_usd,
        }


@dataclass
class UsageTotals(Usage):
    """Usage summed over a session, with how many messages and answers it took."""

    messages: int = 0
    answers: int = 0


def usage_totals(entries: list[dict[str, Any]]) -> UsageTotals:
    """Sum the usage of every assistant message in the session (all branches: it is what was paid)."""
    totals = UsageTotals()
    for entry in entries:
        if entry.get("type") != "message":
            continue
        totals.messages += 1
        if entry.get("role") != "assistant":
            continue
        totals.answers += 1
        usage = entry.get("usage")
        if isinstance(usage, dict):
            totals.add(Usage.from_dict(usage))
    return totals


def format_cost(cost: float | None) -> str:
    """Dollars with sensible precision; 'n/a' when the provider's price is unknown."""
    if cost is None:
        return "n/a"
    return f"${cost:.4f}" if cost < 1 else f"${cost:.2f}"


@dataclass
class LLMRequest:
    model: str
    messages: list[dict[str, Any]]
    """Messages already in OpenAI chat format (see `to_llm_messages`)."""
    api_base: str | None = None
    api_key: str | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    thinking_level: str = "off"
    tools: list[dict[str, Any]] | None = None
    timeout: float = 600.0
    max_retries: int = 3
    caching: bool = False
    """Mark prompt-cache breakpoints where the provider needs them (see `llm/caching.py`)."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Other litellm options, passed through untouched (library users)."""


@dataclass
class LLMResponse:
    """One assistant step, assembled from the stream."""

    model: str
    provider: str
    text: str = ""
    reasoning: str = ""
    reasoning_signature: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    stop_reason: str = "stop"
    usage: Usage = field(default_factory=Usage)

    def parts(self) -> list[dict[str, Any]]:
        """The step as session parts: reasoning, then text, then tool calls."""
        parts: list[dict[str, Any]] = []
        if self.reasoning:
            parts.append(fmt.reasoning_part(self.reasoning, self.reasoning_signature or None))
        if self.text:
            parts.append(fmt.text_part(self.text))
        parts.extend(fmt.tool_call_part(c.id, c.name, c.arguments) for c in self.tool_calls)
        return parts


@dataclass
class StreamEvent:
    """What the caller sees while a step streams: `text_delta`, `reasoning_delta`, `tool_call`, `retry`."""

    type: str
    text: str = ""
    tool_call: ToolCall | None = None


class StreamBroken(errors.KitError):
    """Raised with whatever arrived when a stream ends early (dropped, failed or interrupted)."""

    def __init__(self, cause: errors.KitError | KeyboardInterrupt, partial: LLMResponse) -> None:
        message = cause.message if isinstance(cause, errors.KitError) else "interrupted"
        super().__init__(message)
        self.cause = cause
        self.partial = partial
        self.exit_code = (
            cause.exit_code if isinstance(cause, errors.KitError) else errors.ExitCode.INTERRUPTED
        )


def provider_of(model: str) -> str:
    """The provider of a litellm model string: its prefix, or for a bare name (`claude-opus-4-6`)
    litellm's own lookup (`anthropic`) once litellm is imported, as it is before any request (or
    what the warm worker's litellm said, see `learn_provider`)."""
    if "/" in model:
        return model.split("/", 1)[0]
    if model in _learned:
        return _learned[model]
    return _bare_provider(model) if "litellm" in sys.modules else "openai"


_learned: dict[str, str] = {}


def learn_provider(model: str, provider: str) -> None:
    """Remember the provider litellm gave a bare model name in the warm worker (kit_py/llm/worker/),
    for a process that has not imported litellm itself."""
    _learned[model] = provider


@functools.lru_cache(maxsize=256)
def _bare_provider(model: str) -> str:
    import litellm

    try:
        return str(litellm.get_llm_provider(model)[1])
    except Exception:  # unknown to litellm: the OpenAI-compatible default, as litellm's own clients use
        return "openai"
