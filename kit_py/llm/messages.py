"""Session messages (role + parts) -> the OpenAI chat messages litellm translates per provider."""

from __future__ import annotations

from typing import Any

from kit_py.llm.types import provider_of
from kit_py.session.context import part_problem
from kit_py.session.format import ROLES

# litellm routes that send an assistant message's `thinking_blocks` on to a Claude model (the Anthropic
# Messages API, or Bedrock's reasoningContent); elsewhere they are dropped or rejected.
_CLAUDE_ROUTES = frozenset({"bedrock", "bedrock_converse", "vertex_ai", "vertex_ai_beta", "azure_ai"})


def replays_reasoning(model: str | None) -> bool:
    """True when reasoning goes back to the model: Anthropic (and Claude on litellm's Anthropic-compatible
    routes) takes signed thinking blocks; other providers take none."""
    if not model:
        return False
    name = model.lower()
    if "/" not in model:
        return name.startswith("claude")  # litellm's bare Anthropic model names
    provider = provider_of(name)
    return provider == "anthropic" or (provider in _CLAUDE_ROUTES and "claude" in name)


def _from_claude(message: dict[str, Any]) -> bool:
    """Whether an assistant message's signatures can be Anthropic's: written by a Claude model, or with no
    model recorded. Another provider's signature (a model switch mid-session) fails verification."""
    provider, model = message.get("provider"), message.get("model")
    if not provider and not model:
        return True
    return (isinstance(provider, str) and provider.lower() == "anthropic") or (
        isinstance(model, str) and "claude" in model.lower()
    )


def to_llm_messages(
    messages: list[dict[str, Any]], model: str | None = None, *, warnings: list[str] | None = None
) -> list[dict[str, Any]]:
    """Convert kit messages (role + parts) to OpenAI chat messages; litellm translates them per provider.

    `model` is the litellm model the request goes to: it decides how reasoning parts are replayed
    (`thinking_blocks` with their signatures for Anthropic, when a Claude model wrote them; otherwise
    dropped).
    Several text parts are joined with "\\n" (as Go kit does). Messages that would be empty (an assistant
    message without text and tool calls, a user or system message without text and images) are left out.
    Never raises on malformed data: unknown roles and malformed parts are skipped, and described in
    `warnings` when a list is given (each once).
    """
    notes: list[str] = warnings if warnings is not None else []
    noted = set(notes)

    def warn(text: str) -> None:
        if text not in noted:
            noted.add(text)
            notes.append(text)

    replays = replays_reasoning(model)
    out: list[dict[str, Any]] = []
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            warn(f"message {index + 1}: not an object; not sent")
            continue
        role = message.get("role")
        if not isinstance(role, str) or role not in ROLES:
            warn(f"message {index + 1}: unknown role {role!r}; not sent")
            continue
        parts = message.get("parts")
        if not isinstance(parts, list):
            warn(f"message {index + 1}: its parts are not a list; nothing of it is sent")
            parts = []
        thinking = replays and role == "assistant" and _from_claude(message)
        texts: list[str] = []
        other: list[dict[str, Any]] = []  # tool call, tool result and image parts, in order
        blocks: list[dict[str, Any]] = []
        for i, part in enumerate(parts):
            problem = part_problem(part)
            if problem is not None:
                warn(f"message {index + 1}: part {i + 1}, {problem}, is skipped")
                continue
            ptype, data = part["type"], part["data"]
            if ptype == "text":
                if data["text"]:
                    texts.append(data["text"])
            elif ptype == "reasoning":
                # Anthropic verifies each block's signature: an unsigned one (another provider's
                # reasoning, a stream cut short) is rejected, so it is left out, as litellm does.
                signature = data.get("signature")
                if thinking and isinstance(signature, str) and signature:
                    blocks.append({"type": "thinking", "thinking": data["thinking"], "signature": signature})
            elif ptype != "finish":
                other.append(part)
        text = "\n".join(texts)
        if role == "tool":
            out.extend(
                {"role": "tool", "tool_call_id": p["data"]["tool_call_id"], "content": p["data"]["content"]}
                for p in other
                if p["type"] == "tool_result"
            )
        elif role == "assistant":
            calls = [p["data"] for p in other if p["type"] == "tool_call"]
            if not text and not calls:
                continue  # strict providers reject an empty assistant message; reasoning alone is no content
            converted: dict[str, Any] = {"role": "assistant", "content": text or None}
            if calls:
                converted["tool_calls"] = [
                    {
                        "id": c["id"],
                        "type": "function",
                        "function": {"name": c["name"], "arguments": c["input"]},
                    }
                    for c in calls
                ]
            if blocks:
                converted["thinking_blocks"] = blocks
            out.append(converted)
        else:
            images = [p["data"] for p in other if p["type"] == "image"] if role == "user" else []
            if images:
                content: list[dict[str, Any]] = [{"type": "text", "text": text}] if text else []
                content += [
                    {"type": "image_url", "image_url": {"url": f"data:{i['media_type']};base64,{i['data']}"}}
                    for i in images
                ]
                out.append({"role": role, "content": content})
            elif text:
                out.append({"role": role, "content": text})
    return out
