"""An MCP tool result as the text a kit tool result holds.

The session format keeps a tool result as one string, so content blocks become text: text as it is,
embedded text resources inlined, and binary blocks (images, audio, blobs) described by type and size
instead of dumped. Structured content is used when a server sends nothing else. Long output keeps its
beginning, within the same limits as the built-in tools. No SDK import: blocks are read by shape.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from kit_py.tools.base import ToolContext


def result_text(result: Any, ctx: ToolContext) -> tuple[str, bool]:
    """The text for the model and whether it was cut to the tool output limits."""
    parts = [_block_text(block) for block in getattr(result, "content", None) or []]
    parts = [p for p in parts if p]
    structured = getattr(result, "structured_content", None)
    if not parts and structured is not None:
        parts.append(json.dumps(structured, ensure_ascii=False, indent=2))
    text = "\n".join(parts) or "(no output)"
    return _head(text, ctx.max_lines, ctx.max_bytes)


def _block_text(block: Any) -> str:
    kind = getattr(block, "type", None)
    if kind == "text":
        return str(block.text)
    if kind in ("image", "audio"):
        return f"[{kind} {block.mime_type}, {_size(block.data)} bytes: not shown]"
    if kind == "resource_link":
        name = f" ({block.name})" if getattr(block, "name", None) else ""
        return f"[resource link: {block.uri}{name}]"
    if kind == "resource":
        resource = block.resource
        text = getattr(resource, "text", None)
        if text is not None:
            return str(text)
        mime = getattr(resource, "mime_type", None) or "binary"
        return f"[resource {resource.uri} ({mime}), {_size(resource.blob)} bytes: not shown]"
    return f"[{kind or 'unknown'} content: not shown]"


def _size(data: str) -> int:
    try:
        return len(base64.b64decode(data, validate=False))
    except ValueError:
        return len(data)


def _head(text: str, max_lines: int, max_bytes: int) -> tuple[str, bool]:
    """The first lines of `text` within both limits, with a note saying how much was left out."""
    lines = text.split("\n")
    kept: list[str] = []
    size = 0
    for line in lines:
        cost = len(line.encode()) + 1
        if len(kept) >= max_lines or size + cost > max_bytes:
            if not kept:  # one enormous line: keep its start
                kept.append(line.encode()[:max_bytes].decode(errors="ignore"))
            total = len(text.encode())
            note = f"[Output truncated: showing {len(kept)} of {len(lines)} lines ({total} bytes in all).]"
            return "\n".join([*kept, note]), True
        kept.append(line)
        size += cost
    return text, False
