"""Prompt-caching breakpoints for providers that need them marked (Anthropic, and Claude on Bedrock/Vertex).

The markers are litellm's own: `cache_control` on OpenAI-format content blocks and tool definitions,
which litellm translates into each provider's request (Anthropic `cache_control`, Bedrock `cachePoint`).
They are computed per request from the messages actually sent, so they follow compaction and branch
moves. Providers that cache on their own (OpenAI and compatible) get no markers.
"""

from __future__ import annotations

import copy
from typing import Any

MAX_BREAKPOINTS = 4
"""Anthropic accepts at most four `cache_control` breakpoints per request."""
EPHEMERAL = {"type": "ephemeral"}


def supports_breakpoints(litellm: Any, model: str) -> bool:
    """True when litellm routes `model` to a Claude model that takes explicit cache breakpoints."""
    try:
        from litellm.llms.anthropic.common_utils import supports_anthropic_cache_control
    except ImportError:  # an older or newer litellm layout: mark nothing rather than guess
        return False
    try:
        return bool(supports_anthropic_cache_control(model, None))
    except Exception:
        return False


def _mark(message: dict[str, Any]) -> dict[str, Any] | None:
    """A copy of `message` with a breakpoint on its last content block, or None when it has no content
    that can carry one (an assistant message of tool calls only)."""
    content = message.get("content")
    if isinstance(content, str) and content:
        blocks: list[Any] = [{"type": "text", "text": content}]
    elif isinstance(content, list) and content and isinstance(content[-1], dict):
        blocks = [dict(b) if isinstance(b, dict) else b for b in content]
    else:
        return None
    blocks[-1] = {**blocks[-1], "cache_control": dict(EPHEMERAL)}
    return {**message, "content": blocks}


def add_breakpoints(
    messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]] | None]:
    """Mark the cacheable prefix: the tool definitions (last tool), the system prompt (last system
    message), the latest message, and the message the previous request ended with (the one before the
    latest assistant answer), so the next request reads what this one wrote. At most four; the inputs
    are not changed."""
    out = list(messages)
    budget = MAX_BREAKPOINTS
    marked_tools = tools
    if tools:
        marked_tools = copy.deepcopy(tools)
        marked_tools[-1]["cache_control"] = dict(EPHEMERAL)
        budget -= 1
    candidates: list[int] = []
    systems = [i for i, m in enumerate(out) if m.get("role") == "system"]
    if systems:
        candidates.append(systems[-1])
    if out and out[-1].get("role") != "system":
        candidates.append(len(out) - 1)
    answers = [i for i, m in enumerate(out) if m.get("role") == "assistant"]
    if answers and answers[-1] > 0 and out[answers[-1] - 1].get("role") in ("user", "tool"):
        candidates.append(answers[-1] - 1)
    for index in dict.fromkeys(candidates):  # in order, without repeats
        if budget <= 0:
            break
        marked = _mark(out[index])
        if marked is not None:
            out[index] = marked
            budget -= 1
    return out, marked_tools
