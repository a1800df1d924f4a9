"""What a library user may pass as tools (names, `@tool` functions, `Tool`s, MCP server entries),
resolved to the engine's `Tool`s."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kit_py.tools.base import Tool

if TYPE_CHECKING:
    from kit_py.tools.mcp import McpServers

ToolSpec = str | Tool | Callable[..., Any]
"""A built-in tool's name ("read"), a `Tool` (a `@tool` function) or a plain typed function."""


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


def resolve_mcp_servers(specs: Mapping[str, Any] | None, cwd: Path) -> McpServers | None:
    """`Agent(mcp_servers=...)`: entries shaped like `.kit.yml`'s `mcp_servers` (a mapping, or a command
    line / URL string), checked now (ValueError names the bad one); the servers start with the first turn."""
    if not specs:
        return None
    import warnings

    from kit_py.tools.mcp import McpServers, load_servers

    configs, typos = load_servers(specs, lambda name: f"mcp_servers[{name!r}]")
    for typo in typos:
        warnings.warn(typo, stacklevel=3)
    return McpServers(configs, cwd)
