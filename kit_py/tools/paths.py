"""Path resolution and the safety checks the agent loop uses before running a tool."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from kit_py.tools.base import Tool, ToolContext, ToolError


def resolve_path(ctx: ToolContext, p: str | os.PathLike[str]) -> Path:
    """Absolute, normalized path for `p` (relative paths are taken from ctx.cwd; `~` expands).

    Symlinks are NOT followed so messages show the path the model asked for.
    """
    raw = os.fspath(p)
    if not isinstance(raw, str) or not raw.strip():
        raise ToolError("path must be a non-empty string")
    path = Path(raw).expanduser()
    if not path.is_absolute():
        path = ctx.cwd / path
    return Path(os.path.normpath(path))


def is_outside(ctx: ToolContext, path: Path) -> bool:
    """True if `path`, with symlinks resolved, lies outside the working directory."""
    real = Path(os.path.realpath(path))
    root = Path(os.path.realpath(ctx.cwd))
    return not real.is_relative_to(root)


def display_path(ctx: ToolContext, path: Path) -> str:
    """Path relative to cwd when inside it (shorter for the model), absolute otherwise."""
    try:
        rel = path.relative_to(ctx.cwd)
    except ValueError:
        return str(path)
    return str(rel) if str(rel) != "." else "."


def outside_path(tool: Tool, args: Any, ctx: ToolContext) -> Path | None:
    """The first path argument of `tool` that lies outside the working directory, or None."""
    if not isinstance(args, dict):
        return None
    for param in tool.path_params:
        value = args.get(param)
        if not isinstance(value, str) or not value.strip():
            continue
        path = resolve_path(ctx, value)
        if is_outside(ctx, path):
            return path
    return None


def needs_confirmation(tool: Tool, args: Any, ctx: ToolContext) -> str | None:
    """Reason to ask the user before running `tool`, or None when it stays inside cwd."""
    path = outside_path(tool, args, ctx)
    return None if path is None else f"path outside working directory: {path}"
