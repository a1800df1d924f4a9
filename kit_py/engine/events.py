"""What a face sees while a conversation works: one small typed event per thing that happened.

Faces (the terminal renderer, print mode's plain sinks, the Python API) receive these through an
`EventSink` and match on the class; nothing is keyed by strings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kit_py.compaction.runner import CompactionOutcome


@dataclass(frozen=True)
class TextDelta:
    """A piece of the answer text, as it streams."""

    text: str


@dataclass(frozen=True)
class ReasoningDelta:
    """A piece of the model's reasoning (thinking), as it streams."""

    text: str


@dataclass(frozen=True)
class Retry:
    """The provider failed in a way that may pass; the request is sent again. `text` says why."""

    text: str


@dataclass(frozen=True)
class Notice:
    """Something the user should know that is not an error (e.g. the max-steps limit was reached)."""

    text: str


@dataclass(frozen=True)
class ToolCallStarted:
    """The model called a tool and it is about to run (after any approval)."""

    call_id: str
    name: str
    arguments: str
    """JSON-encoded arguments, exactly as the model produced them."""


@dataclass(frozen=True)
class ToolProgress:
    """A tool is running: sent once as it starts (after any approval) with empty `output`, then with
    each piece of output it prints as it arrives (bash), for a live view. The result still comes
    whole in ToolFinished."""

    call_id: str
    output: str = ""


@dataclass(frozen=True)
class ToolFinished:
    """A tool call's result, as stored: `details` holds duration_ms, cwd, exit_code, diff, approval..."""

    call_id: str
    name: str
    content: str
    is_error: bool
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StepDone:
    """One model step (and its tool results) is complete and saved."""


@dataclass(frozen=True)
class CompactionStarted:
    """The history is being summarized; `reason` is "threshold", "overflow" or "manual"."""

    reason: str
    text: str = "compacting the conversation"


@dataclass(frozen=True)
class CompactionProgress:
    """A summary request is on its way (`text` says which), for a spinner."""

    reason: str
    text: str


@dataclass(frozen=True)
class CompactionDone:
    """Compaction ended: `outcome` is None when nothing was compacted; `error` when it failed."""

    reason: str
    outcome: CompactionOutcome | None = None
    error: str | None = None

    @property
    def text(self) -> str:
        """The one line faces show."""
        if self.error:
            return f"compaction failed: {self.error}; sending the full history"
        return self.outcome.describe() if self.outcome is not None else ""


Event = (
    TextDelta
    | ReasoningDelta
    | Retry
    | Notice
    | ToolCallStarted
    | ToolProgress
    | ToolFinished
    | StepDone
    | CompactionStarted
    | CompactionProgress
    | CompactionDone
)
EventSink = Callable[[Event], None]


def ignore(event: Event) -> None:
    """The sink of a conversation nobody watches."""
