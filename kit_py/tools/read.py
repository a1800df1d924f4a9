"""read: show a text file with line numbers, a window at a time."""

from __future__ import annotations

import mimetypes
from typing import Any

from kit_py.tools.base import Tool, ToolContext, ToolError, ToolResult
from kit_py.tools.paths import display_path, resolve_path
from kit_py.tools.text import looks_binary

MAX_LINE_CHARS = 2000
IMAGE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "image/svg+xml"}

PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "path": {
            "type": "string",
            "description": "File to read, absolute or relative to the working directory.",
        },
        "offset": {"type": "integer", "minimum": 1, "description": "1-based line number to start at."},
        "limit": {"type": "integer", "minimum": 1, "description": "Maximum number of lines to show."},
    },
    "required": ["path"],
    "additionalProperties": False,
}


def _positive(args: dict[str, Any], key: str) -> int | None:
    value = args.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ToolError(f"{key} must be a positive integer, got {value!r}")
    return value


def run(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    path = resolve_path(ctx, args.get("path", ""))
    shown = display_path(ctx, path)
    offset = _positive(args, "offset") or 1
    limit = _positive(args, "limit")
    if not path.exists():
        raise ToolError(f"File not found: {shown}")
    if path.is_dir():
        raise ToolError(f"{shown} is a directory; use ls to list it")
    data = path.read_bytes()
    details: dict[str, Any] = {"path": str(path)}
    media_type = mimetypes.guess_type(path.name)[0]
    if media_type in IMAGE_TYPES and media_type != "image/svg+xml":
        details["media_type"] = media_type
        return ToolResult(
            f"{shown} is an image ({media_type}, {len(data)} bytes); it cannot be shown as text.",
            details=details,
        )
    if looks_binary(data):
        return ToolResult(f"{shown} is a binary file ({len(data)} bytes); not shown.", details=details)

    lines = data.decode("utf-8", errors="replace").splitlines()
    total = len(lines)
    if total == 0:
        return ToolResult(f"{shown} is empty.", details=details)
    if offset > total:
        raise ToolError(f"offset {offset} is beyond the end of {shown} ({total} lines)")
    max_lines = min(limit or ctx.max_lines, ctx.max_lines)
    out: list[str] = []
    size = 0
    cut_line = False
    for number in range(offset, min(total, offset - 1 + max_lines) + 1):
        text = lines[number - 1]
        if len(text) > MAX_LINE_CHARS:
            text = text[:MAX_LINE_CHARS] + f" ... [line cut at {MAX_LINE_CHARS} characters]"
            cut_line = True
        row = f"{number:>5}\t{text}"
        if out and size + len(row.encode()) + 1 > ctx.max_bytes:
            break
        out.append(row)
        size += len(row.encode()) + 1
    last = offset + len(out) - 1
    content = "\n".join(out)
    if last < total:
        shown_by_request = limit is not None and len(out) == limit
        reason = (
            ""
            if shown_by_request
            else f" (output limited to {ctx.max_lines} lines / {ctx.max_bytes // 1024} KB)"
        )
        content += (
            f"\n\n[Showing lines {offset}-{last} of {total}{reason}. Use offset={last + 1} to continue.]"
        )
        if not shown_by_request:
            details["truncated"] = True
    if cut_line:
        content += "\n[Some long lines were cut; use bash (e.g. cut, fold) to see them in full.]"
    return ToolResult(content, details=details)


TOOL = Tool(
    name="read",
    description=(
        "Read a text file. Output has line numbers (`   12\\tcode`). Large files are shown "
        "2000 lines / 50 KB at a time; use offset and limit to page through. "
        "Reports images and binary files instead of dumping them."
    ),
    parameters=PARAMETERS,
    run=run,
    path_params=("path",),
)
