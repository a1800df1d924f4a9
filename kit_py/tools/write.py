"""write: create or overwrite a file, returning the unified diff of the change."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kit_py.tools.base import Tool, ToolContext, ToolError, ToolResult
from kit_py.tools.paths import display_path, resolve_path
from kit_py.tools.text import looks_binary, unified_diff

PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "path": {
            "type": "string",
            "description": "File to write, absolute or relative to the working directory.",
        },
        "content": {"type": "string", "description": "The complete new content of the file."},
    },
    "required": ["path", "content"],
    "additionalProperties": False,
}


def read_existing(path: Path, shown: str, strict: bool = False) -> str | None:
    """Current text of `path`, None if it does not exist; refuses directories and binaries.

    `strict` refuses non-UTF-8 files, for callers that write the text back (edit).
    """
    if not path.exists():
        return None
    if path.is_dir():
        raise ToolError(f"{shown} is a directory")
    data = path.read_bytes()
    if looks_binary(data):
        raise ToolError(f"{shown} is a binary file; refusing to treat it as text")
    try:
        return data.decode("utf-8", errors="strict" if strict else "replace")
    except UnicodeDecodeError as exc:
        raise ToolError(f"{shown} is not valid UTF-8 ({exc.reason}); edit it with bash instead") from exc


def _plan(args: dict[str, Any], ctx: ToolContext) -> tuple[Path, str, str | None, str, str]:
    path = resolve_path(ctx, args.get("path", ""))
    content = args.get("content")
    if not isinstance(content, str):
        raise ToolError("content must be a string")
    shown = display_path(ctx, path)
    old = read_existing(path, shown)
    return path, shown, old, content, unified_diff(old, content, shown)


def preview(args: dict[str, Any], ctx: ToolContext) -> str:
    _, shown, old, content, diff = _plan(args, ctx)
    if old == content:
        return f"write {shown}: no change"
    return diff


def run(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    path, shown, old, content, diff = _plan(args, ctx)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode("utf-8"))
    size = len(content.encode("utf-8"))
    lines = content.count("\n") + (0 if content.endswith("\n") or not content else 1)
    if old is None:
        verb = "Created"
    elif old == content:
        verb = "Rewrote (unchanged)"
    else:
        verb = "Updated"
    return ToolResult(
        f"{verb} {shown} ({lines} lines, {size} bytes).", details={"path": str(path), "diff": diff}
    )


TOOL = Tool(
    name="write",
    description=(
        "Write a file with the given content, replacing it entirely if it exists. "
        "Creates missing parent directories. Prefer edit for changing part of a file."
    ),
    parameters=PARAMETERS,
    run=run,
    modifies_state=True,
    preview=preview,
    path_params=("path",),
)
