"""Shared types for built-in tools: what a tool is, what it gets, what it returns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from threading import Event
from typing import Any

MAX_LINES = 2000
MAX_BYTES = 50 * 1024


class ToolError(Exception):
    """A clean, expected failure; its message is shown to the model as an error result."""


@dataclass
class ToolContext:
    """Where and how tools run. `cancel` lets the agent loop abort a running bash command;
    `on_output` is told of the output a command prints, as it arrives (for a live view)."""

    cwd: Path
    bash_timeout: float = 120.0
    max_lines: int = MAX_LINES
    max_bytes: int = MAX_BYTES
    cancel: Event | None = None
    on_output: Callable[[str], None] | None = None

    def __post_init__(self) -> None:
        self.cwd = Path(self.cwd).expanduser().absolute()


@dataclass
class ToolResult:
    """Text for the model plus `details` recorded alongside the session's tool_result."""

    content: str
    is_error: bool = False
    details: dict[str, Any] = field(default_factory=dict)


class ToolInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped a tool; still a KeyboardInterrupt so the turn ends, but it keeps what the tool
    produced so far (`result`) for the session record."""

    def __init__(self, result: ToolResult) -> None:
        super().__init__("interrupted by the user")
        self.result = result


@dataclass
class Tool:
    """A callable tool with its JSON schema.

    `path_params` names the arguments holding file-system paths (checked for safety);
    `preview` shows what a state-modifying call would do without doing it.
    """

    name: str
    description: str
    parameters: dict[str, Any]
    run: Callable[[dict[str, Any], ToolContext], ToolResult]
    modifies_state: bool = False
    preview: Callable[[dict[str, Any], ToolContext], str] | None = None
    path_params: tuple[str, ...] = ()
