"""Safe mode for library users: the `approve` callback, failing closed.

The engine decides what needs approval and records every decision (`kit_py.engine.approval`); this
module turns a Python callback's answer into the engine's answer. Only `True`, `False` and the
`ApprovalAnswer` values count; an `async def` callback is awaited. Anything else (`"no"`, `"deny"`,
`1`, `None`, an un-awaited coroutine) is refused with `ToolError`: an ambiguous answer never runs a
state-modifying tool.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import TypeAlias

from kit_py import errors
from kit_py.api.messages import Approval
from kit_py.engine import approval
from kit_py.engine.approval import PendingAction
from kit_py.tools.coroutines import run_coroutine


class ApprovalAnswer(StrEnum):
    """What an approve callback may answer besides True (approve) and False (deny)."""

    APPROVE = approval.APPROVED
    DENY = approval.DENIED
    ALWAYS = approval.ALWAYS
    """Approve, and allow this tool without asking for the rest of the turn."""


Answer: TypeAlias = bool | ApprovalAnswer
ApproveFn: TypeAlias = Callable[[PendingAction], Answer | Awaitable[Answer]]
"""Gets the pending action (`.tool`, `.arguments`, `.reason`, `.preview`); returns True, False or an
`ApprovalAnswer` (or a coroutine giving one: `async def` callbacks are awaited)."""

_ACCEPTED = {a.value: a.value for a in ApprovalAnswer}


def answer_of(reply: object, action: PendingAction) -> str:
    """The engine's answer for a callback's reply; ToolError for anything that is not a clear answer."""
    if reply is True:
        return approval.APPROVED
    if reply is False:
        return approval.DENIED
    if isinstance(reply, str) and reply in _ACCEPTED:
        return _ACCEPTED[reply]
    raise errors.ToolError(
        f"the approve callback answered {reply!r} for {action.tool}; nothing was run. Return True, "
        "False or an ApprovalAnswer (APPROVE, DENY, ALWAYS)"
    )


class Approver:
    """The engine's approve callback for one session: asks the user's function and keeps the records
    of the current turn (`decisions`, listed in `RunResult.approvals`)."""

    def __init__(self, user_approve: ApproveFn | None) -> None:
        self.user_approve = user_approve
        self.decisions: list[Approval] = []

    def ask(self, action: PendingAction) -> str:
        # Without a callback nothing that needs approval runs: refusing is the safe default.
        answer = approval.REFUSED if self.user_approve is None else answer_of(self._reply(action), action)
        allowed = answer in (approval.APPROVED, approval.ALWAYS)
        self.decisions.append(Approval(action.tool, dict(action.arguments), action.reason, allowed, answer))
        return answer

    def _reply(self, action: PendingAction) -> object:
        assert self.user_approve is not None
        try:
            reply: object = self.user_approve(action)
            if inspect.isawaitable(reply):
                reply = run_coroutine(reply)
        except Exception as exc:  # a broken callback fails the turn like any other turn failure
            raise errors.ToolError(
                f"the approve callback raised {type(exc).__name__} for {action.tool}: {exc}"
            ) from exc
        return reply

    def remembered(self, action: PendingAction) -> None:
        self.decisions.append(
            Approval(action.tool, dict(action.arguments), action.reason, True, "always (remembered)")
        )
