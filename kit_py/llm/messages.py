"""Session messages (role + parts) -> the OpenAI chat messages litellm translates per provider."""

from __future__ import annotations

from typing import Any


def to_llm_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Convert kit messages (role + parts) to OpenAI chat messages; litellm translates them per provider.

    The system prompt is a `system` message of the session (session-format.md), converted like any other.
    """
    out: list[dict[str, Any]] = []
    for message in messages:
        role = message.get("role")
        parts = message.get("parts") or []
        if role == "tool":
            for part in parts:
                if part.get("type") == "tool_result":
                    data = part.get("data", {})
                    out.append(
                        {
                            "role": "tool",
                            "tool_call_id": data.get("tool_call_id", ""),
                            "content": data.get("content", ""),
                        }
                    )
            continue
        texts = [p["data"].get("text", "") for p in parts if p.get("type") == "text"]
        images = [p["data"] for p in parts if p.get("type") == "image"]
        if role == "assistant":
            entry: dict[str, Any] = {"role": "assistant", "content": "".join(texts) or None}
            calls = [p["data"] for p in parts if p.get("type") == "tool_call"]
            if calls:
                entry["tool_calls"] = [
                    {
                        "id": c["id"],
                        "type": "function",
                        "function": {"name": c["name"], "arguments": c["input"]},
                    }
                    for c in calls
                ]
            if entry["content"] is None and not calls:
                entry["content"] = ""
            out.append(entry)
        elif images:
            content: list[dict[str, Any]] = [{"type": "text", "text": t} for t in texts]
            content += [
                {"type": "image_url", "image_url": {"url": f"data:{i['media_type']};base64,{i['data']}"}}
                for i in images
            ]
            out.append({"role": role, "content": content})
        else:
            out.append({"role": role, "content": "".join(texts)})
    return out
