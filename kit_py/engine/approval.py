"""Approval policy: which tool calls wait for the user, the answers, and the `kit:approval` record.

How a face asks is its own business (a /dev/tty question in print mode, the REPL's prompt, a Python
callback in the API); what is asked, what an answer means and what is recorded is decided here once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import orjson

from kit_py.session import format as fmt

if TYPE_CHECKING:
    from kit_py.tools.base import Tool

APPROVAL_EXT_TYPE = "kit:approval"
APPROVED, DENIED, ALWAYS, REFUSED, INTERRUPTED = "approved", "denied", "always", "refused", "interrupted"
ANSWERS = (APPROVED, DENIED, ALWAYS, REFUSED)
MAX_RECORDED_PREVIEW = 20_000
MAX_PROMPT_PREVIEW_LINES = 200
REPLIES = {"y": APPROVED, "yes": APPROVED, "n": DENIED, "no": DENIED, "a": ALWAYS, "always": ALWAYS}
"""What a person may type at an approval question, for every face that asks one."""


@dataclass
class PendingAction:
    """A tool call waiting for the user's approval (safe mode, or a path outside the working directory)."""

    tool: str
    arguments: dict[str, Any]
    reason: str
    preview: str
    scope: str = ""
    """What an "always" answer allows (`edit in /etc`); empty: every call of this tool."""


ApproveCallback = Callable[[PendingAction], str | bool]
"""Returns "approved", "denied", "always" (for this tool) or "refused" (nobody can answer); True/False
mean approved/denied."""


class ToolSource(Protocol):
    """Tools that come and go while kit runs (an MCP server's, kit_py/tools/mcp): asked for before
    every model step, so a source whose tools vanish stops offering them at once."""

    def start(self) -> None:
        """Get ready in the background (faces call it early, so the first turn does not wait)."""

    def current_tools(self, wait: bool = True) -> list[Tool]:
        """The tools to offer now; `wait=False` never blocks (on servers still starting), for estimates."""

    def take_notices(self) -> list[str]:
        """What the user should hear about since the last call (a server failed or stopped)."""

    def close(self) -> None:
        """Release what `start` took (stop server processes); whoever built the setup calls it."""


@dataclass
class ToolSetup:
    """The tools offered each turn and how their state-modifying calls get approved."""

    tools: list[Tool]
    cwd: Path
    safe_mode: bool = False
    approve: ApproveCallback | None = None
    unanswerable: str = "no terminal is available to ask"
    """Why a "refused" answer means nobody could be asked; the model reads it in the refusal."""
    always_allowed: set[str] = field(default_factory=set)
    on_remembered: Callable[[PendingAction], None] | None = None
    """Told of each call that runs unasked because of an earlier "always" (its preview is empty)."""
    records: list[dict[str, Any]] = field(default_factory=list)
    """Entries (`kit:approval`) made while a step's calls ran; appended after its tool message."""
    sources: list[ToolSource] = field(default_factory=list)

    def offered(self, wait: bool = True) -> list[Tool]:
        """The fixed tools, then those every source offers now (`wait=False`: without waiting for a
        source that is still starting, e.g. for the status line's estimate)."""
        return [*self.tools, *(tool for source in self.sources for tool in source.current_tools(wait))]

    def warm_up(self) -> None:
        for source in self.sources:
            source.start()

    def take_notices(self) -> list[str]:
        return [notice for source in self.sources for notice in source.take_notices()]

    def close(self) -> None:
        for source in self.sources:
            source.close()

    def start_turn(self) -> None:
        """An "always" answer allows a tool for the rest of one turn only: the next turn asks again."""
        self.always_allowed.clear()

    def set_safe_mode(self, on: bool) -> None:
        """Between turns (REPL `/safe`, the API's `safe_mode`); no "always" is left to forget then."""
        self.safe_mode = on


def question_text(action: PendingAction) -> str:
    return f"Allow {action.tool}? [y]es / [n]o / [a]lways for {action.scope or action.tool}: "


def approval_entry(data: dict[str, Any]) -> dict[str, Any]:
    """An `extension_data` entry holding the record as JSON text (Go kit declares `data` a string)."""
    record = dict(data)
    preview = record.get("preview")
    if isinstance(preview, str) and len(preview) > MAX_RECORDED_PREVIEW:
        record["preview"] = preview[:MAX_RECORDED_PREVIEW] + "\n[preview truncated]"
    return fmt.extension_data(APPROVAL_EXT_TYPE, orjson.dumps(record).decode())
