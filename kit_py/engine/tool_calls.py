"""Run one tool call for the agent loop, asking the user first when the call needs it.

A call needs approval in safe mode when its tool modifies state, and always when it touches a path
outside the working directory (symlinks resolved). Every question becomes a `kit:approval` record in
`setup.records`, which the agent appends right after the step's tool message. An "always" answer is
remembered in `setup.always_allowed` per tool (`edit`), and for a path outside the working directory
per tool and folder (`edit@/etc`: that folder and below, never every path anywhere).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from threading import Event
from typing import Any

from kit_py.engine import approval
from kit_py.engine.approval import PendingAction, ToolSetup
from kit_py.tools.base import Tool, ToolContext, ToolError, ToolInterrupted, ToolResult
from kit_py.tools.paths import outside_path
from kit_py.tools.registry import parse_args, run_tool


def execute_tool_call(
    name: str,
    arguments_json: str,
    setup: ToolSetup,
    call_id: str = "",
    cancel: Event | None = None,
    on_progress: Callable[[str], None] | None = None,
) -> tuple[str, bool, dict[str, Any]]:
    """Content, is_error and details (duration_ms, cwd, diff, exit_code, approval) of one call.
    `cancel`, once set, stops a running command (the caller cancelled the turn). `on_progress` gets ""
    when the tool starts running (after any question) and then the output it prints as it comes."""
    tools = setup.offered()
    tool = next((t for t in tools if t.name == name), None)
    ctx = ToolContext(cwd=setup.cwd, cancel=cancel, on_output=on_progress)
    if tool is None:
        offered = ", ".join(t.name for t in tools) or "none"
        return f"Error: unknown tool {name!r}; available tools: {offered}", True, _not_run(ctx)
    pending = _pending_action(tool, arguments_json, setup, ctx)
    if pending is None:
        result = _run(tool, arguments_json, ctx)
        return result.content, result.is_error, result.details
    action, always_key = pending
    record: dict[str, Any] = {
        "tool": name,
        "tool_call_id": call_id,
        "arguments": action.arguments,
        "reason": action.reason,
        "question": approval.question_text(action),
        "preview": action.preview,
        "asked_at": _now(),
    }
    try:
        answer = _ask(setup, action)
        record.update(answer=answer, answered_at=_now())
        if answer == approval.ALWAYS:
            setup.always_allowed.add(always_key)
        if answer not in (approval.APPROVED, approval.ALWAYS):
            record["action"] = "not run"
            content = _declined(name, action.reason, answer, setup.unanswerable)
            return content, True, {**_not_run(ctx), "approval": answer}
        record["action"] = "interrupted"  # stays so only if Ctrl-C stops the tool while it runs
        result = _run(tool, arguments_json, ctx)
        record.update(action="ran", is_error=result.is_error)
        return result.content, result.is_error, {**result.details, "approval": answer}
    except KeyboardInterrupt as exc:
        record.setdefault("answer", approval.INTERRUPTED)
        record.setdefault("action", "not run")
        if isinstance(exc, ToolInterrupted):  # the partial result is recorded like a finished one
            exc.result.details["approval"] = record["answer"]
        raise
    finally:
        record["finished_at"] = _now()
        setup.records.append(approval.approval_entry(record))


def _run(tool: Tool, arguments_json: str, ctx: ToolContext) -> ToolResult:
    if ctx.on_output is not None:
        ctx.on_output("")  # it starts now: a live view may show a spinner
    return run_tool(tool, arguments_json, ctx)


def _not_run(ctx: ToolContext) -> dict[str, Any]:
    """Details of a call that never ran, shaped like those of one that did."""
    return {"duration_ms": 0, "cwd": str(ctx.cwd)}


def _now() -> str:
    from kit_py.session.format import now_timestamp

    return now_timestamp()


def _pending_action(
    tool: Tool, arguments_json: str, setup: ToolSetup, ctx: ToolContext
) -> tuple[PendingAction, str] | None:
    """The question to ask before running this call (with its "always" key), or None to just run it.

    Calls that cannot run anyway (bad arguments, an edit whose text is missing) are not asked about:
    running them only produces their error, and nothing changes.
    """
    try:
        args = parse_args(arguments_json)
        outside = outside_path(tool, args, ctx)
    except ToolError:
        return None
    scope = ""
    if outside is not None:
        real = Path(os.path.realpath(outside))
        folder = real if real.is_dir() else real.parent
        reason, key = f"path outside working directory: {outside}", f"{tool.name}@{folder}"
        scope = f"{tool.name} in {folder}"
        folders = [k.split("@", 1)[1] for k in setup.always_allowed if k.startswith(f"{tool.name}@")]
        allowed = any(real.is_relative_to(f) for f in folders)
    elif setup.safe_mode and tool.modifies_state:
        reason, key = "safe mode", tool.name
        allowed = key in setup.always_allowed
    else:
        return None
    if allowed:
        if setup.on_remembered is not None:
            setup.on_remembered(PendingAction(tool=tool.name, arguments=args, reason=reason, preview=""))
        return None
    plain = f"{tool.name} {json.dumps(args, ensure_ascii=False)}"
    try:
        preview = tool.preview(args, ctx) if tool.preview else plain
    except ToolError:
        return None
    except Exception as exc:  # a preview that breaks must not hide the question
        preview = f"{plain}\n(no preview: {type(exc).__name__}: {exc})"
    return PendingAction(tool=tool.name, arguments=args, reason=reason, preview=preview, scope=scope), key


def _ask(setup: ToolSetup, action: PendingAction) -> str:
    """The user's answer; with no way to ask (no callback) the action is refused."""
    if setup.approve is None:
        return approval.REFUSED
    answer = setup.approve(action)
    if isinstance(answer, bool):
        return approval.APPROVED if answer else approval.DENIED
    if answer not in (approval.APPROVED, approval.DENIED, approval.ALWAYS, approval.REFUSED):
        raise ValueError(f"approval callback returned {answer!r}")
    return answer


def _declined(tool: str, reason: str, answer: str, unanswerable: str) -> str:
    if answer == approval.REFUSED:
        return (
            f"Error: {tool} was not run: it needs the user's approval ({reason}) but {unanswerable}. "
            "Nothing was changed; tell the user what you wanted to do instead."
        )
    return f"Error: the user denied this {tool} call ({reason}); it was not run and nothing was changed."
