"""Approval policy: which tool calls wait for the user, the answers, and the `kit:approval` record.

How a face asks is its own business (a /dev/tty question in print mode, the REPL's prompt, a Python
callback in the API); what is asked, what an answer means and what is recorded is decided here once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

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


ApproveCallback = Callable[[PendingAction], str | bool]
"""Returns "approved", "denied", "always" (for this tool) or "refused" (nobody can answer); True/False
mean approved/denied."""


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

    def set_safe_mode(self, on: bool) -> None:
        """Turning safe mode off also forgets every "always" given while it was on."""
        self.safe_mode = on
        if not on:
            self.always_allowed.clear()


def question_text(action: PendingAction) -> str:
    return f"Allow {action.tool}? [y]es / [n]o / [a]lways for {action.tool}: "


def approval_entry(data: dict[str, Any]) -> dict[str, Any]:
    """An `extension_data` entry holding the record as JSON text (Go kit declares `data` a string)."""
    record = dict(data)
    preview = record.get("preview")
    if isinstance(preview, str) and len(preview) > MAX_RECORDED_PREVIEW:
        record["preview"] = preview[:MAX_RECORDED_PREVIEW] + "\n[preview truncated]"
    return fmt.extension_data(APPROVAL_EXT_TYPE, orjson.dumps(record).decode())
