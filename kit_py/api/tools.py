"""What a library user may pass as tools and as an approver, resolved to the engine's `Tool`s."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from kit_py.engine.approval import PendingAction
from kit_py.tools.base import Tool

ToolSpec = str | Tool | Callable[..., Any]
ApproveFn = Callable[[PendingAction], Any]
"""Gets a `kit_py.engine.approval.PendingAction` (.tool, .arguments, .reason, .preview); returns True
to allow, False to deny, or "always" to allow this tool for the rest of the turn's tool setup."""


def resolve_tools(specs: Iterable[ToolSpec] | None) -> list[Tool]:
    """Built-in names ("read", "ls" ...), `Tool` objects and plain functions, as `Tool`s."""
    out: list[Tool] = []
    for spec in specs or []:
        if isinstance(spec, str):
            from kit_py.tools.registry import select_tools

            out.extend(select_tools([spec]))
        elif isinstance(spec, Tool):
            out.append(spec)
        elif callable(spec):
            from kit_py.tools.decorator import FunctionTool

            out.append(FunctionTool(spec))
        else:
            raise TypeError(f"not a tool: {spec!r} (use a built-in name, a @tool function or a Tool)")
    names = [t.name for t in out]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"two tools share the name(s) {', '.join(duplicates)}")
    return out
