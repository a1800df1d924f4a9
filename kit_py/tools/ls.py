"""ls: list a directory's entries, directories marked with a trailing slash."""

from __future__ import annotations

import os
from typing import Any

from kit_py.tools.base import Tool, ToolContext, ToolError, ToolResult
from kit_py.tools.paths import display_path, resolve_path

DEFAULT_LIMIT = 500

PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "path": {"type": "string", "description": "Directory to list (default: the working directory)."},
        "limit": {
            "type": "integer",
            "minimum": 1,
            "description": f"Maximum entries (default {DEFAULT_LIMIT}).",
        },
    },
    "required": [],
    "additionalProperties": False,
}


def run(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    path = resolve_path(ctx, args.get("path") or ".")
    shown = display_path(ctx, path)
    limit = args.get("limit", DEFAULT_LIMIT)
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ToolError(f"limit must be a positive integer, got {limit!r}")
    if not path.exists():
        raise ToolError(f"Directory not found: {shown}")
    if not path.is_dir():
        raise ToolError(f"{shown} is a file, not a directory; use read to see it")
    try:
        with os.scandir(path) as it:
            names = [e.name + ("/" if e.is_dir() else "") for e in it]
    except PermissionError as exc:
        raise ToolError(f"Permission denied: {shown}") from exc
    names.sort(key=lambda n: (n.lower(), n))
    details: dict[str, Any] = {"path": str(path), "entries": len(names)}
    if not names:
        return ToolResult(f"{shown} is empty.", details=details)
    content = "\n".join(names[:limit])
    if len(names) > limit:
        content += (
            f"\n\n[Showing {limit} of {len(names)} entries. Use a larger limit, or grep/bash to filter.]"
        )
        details["truncated"] = True
    return ToolResult(content, details=details)


TOOL = Tool(
    name="ls",
    description=(
        "List a directory's entries (hidden ones included), sorted by name, directories ending in '/'. "
        f"Shows at most {DEFAULT_LIMIT} unless limit is given."
    ),
    parameters=PARAMETERS,
    run=run,
    path_params=("path",),
)
