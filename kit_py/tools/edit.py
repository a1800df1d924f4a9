"""edit: exact search-and-replace edits in a file, all applied or none."""

from __future__ import annotations

from typing import Any

from kit_py.tools.base import Tool, ToolContext, ToolError, ToolResult
from kit_py.tools.paths import display_path, resolve_path
from kit_py.tools.text import unified_diff
from kit_py.tools.write import read_existing

_EDIT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "old_text": {"type": "string", "description": "Exact text to find; must occur exactly once."},
        "new_text": {"type": "string", "description": "Replacement text."},
    },
    "required": ["old_text", "new_text"],
    "additionalProperties": False,
}

PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "path": {
            "type": "string",
            "description": "File to edit, absolute or relative to the working directory.",
        },
        "edits": {
            "type": "array",
            "items": _EDIT_SCHEMA,
            "minItems": 1,
            "description": "Replacements applied in order; each old_text must match exactly once.",
        },
        "old_text": {"type": "string", "description": "Single edit: exact text to find (instead of edits)."},
        "new_text": {"type": "string", "description": "Single edit: replacement text (instead of edits)."},
    },
    "required": ["path"],
    "additionalProperties": False,
}


def _edits(args: dict[str, Any]) -> list[tuple[str, str]]:
    raw = args.get("edits")
    if raw is None:
        if "old_text" not in args or "new_text" not in args:
            raise ToolError("give either edits=[{old_text, new_text}, ...] or old_text and new_text")
        raw = [{"old_text": args["old_text"], "new_text": args["new_text"]}]
    elif "old_text" in args or "new_text" in args:
        raise ToolError("give either edits or old_text/new_text, not both")
    if not isinstance(raw, list) or not raw:
        raise ToolError("edits must be a non-empty list of {old_text, new_text} objects")
    pairs = []
    for i, item in enumerate(raw, 1):
        old = item.get("old_text") if isinstance(item, dict) else None
        new = item.get("new_text") if isinstance(item, dict) else None
        if not isinstance(old, str) or not isinstance(new, str):
            raise ToolError(f"edit {i}: old_text and new_text must both be strings")
        if not old:
            raise ToolError(f"edit {i}: old_text must not be empty")
        pairs.append((old, new))
    return pairs


def _apply(text: str, pairs: list[tuple[str, str]], shown: str) -> str:
    """Apply every replacement in order to an in-memory copy; raise on the first bad one."""
    for i, (old, new) in enumerate(pairs, 1):
        where = f"edit {i} of {len(pairs)}: " if len(pairs) > 1 else ""
        count = text.count(old)
        if count == 0 and "\r\n" in text and "\r\n" not in old:
            old, new = old.replace("\n", "\r\n"), new.replace("\n", "\r\n")  # CRLF file, LF edit
            count = text.count(old)
        if count == 0:
            raise ToolError(
                f"{where}old_text not found in {shown}. It must match the file exactly, "
                "including whitespace and indentation; read the file again and retry."
            )
        if count > 1:
            raise ToolError(
                f"{where}old_text matches {count} times in {shown}; it must match exactly once. "
                "Include more surrounding lines to make it unique."
            )
        text = text.replace(old, new, 1)
    return text


def _plan(args: dict[str, Any], ctx: ToolContext) -> tuple[str, str, str, str]:
    path = resolve_path(ctx, args.get("path", ""))
    shown = display_path(ctx, path)
    pairs = _edits(args)
    old = read_existing(path, shown, strict=True)
    if old is None:
        raise ToolError(f"File not found: {shown} (use write to create it)")
    new = _apply(old, pairs, shown)
    if new == old:
        raise ToolError(f"edits leave {shown} unchanged")
    return str(path), shown, new, unified_diff(old, new, shown)


def preview(args: dict[str, Any], ctx: ToolContext) -> str:
    return _plan(args, ctx)[3]


def run(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    path, shown, new, diff = _plan(args, ctx)
    with open(path, "wb") as fh:
        fh.write(new.encode("utf-8"))
    count = len(args["edits"]) if isinstance(args.get("edits"), list) else 1
    plural = "s" if count != 1 else ""
    return ToolResult(f"Applied {count} edit{plural} to {shown}.", details={"path": path, "diff": diff})


TOOL = Tool(
    name="edit",
    description=(
        "Edit a file by exact text replacement. Each old_text must match the file exactly once "
        "(whitespace included); give several edits in `edits` to change multiple places at once. "
        "Either all edits apply or none do."
    ),
    parameters=PARAMETERS,
    run=run,
    modifies_state=True,
    preview=preview,
    path_params=("path",),
)
