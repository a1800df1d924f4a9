"""The turn loop: build context from the session, stream a step from the model, run tools, append entries.

Both faces (CLI/REPL and the Python API) call `run_turn`; nothing about turns is written twice.
A turn's entries reach the session store only as whole steps (assistant message + the tool message
holding all its results, in one write), so a crash or Ctrl-C never leaves a tool call without a result.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kit_py import llm
from kit_py.config import Settings
from kit_py.errors import ContextOverflowError, KitError

if TYPE_CHECKING:
    from kit_py.session import SessionManager
    from kit_py.tools.base import Tool

EventHandler = Callable[["TurnEvent"], None]
ApproveCallback = Callable[["PendingAction"], str | bool]
"""Returns "approved", "denied", "always" (for this tool) or "refused" (nobody can answer); True/False
mean approved/denied."""


@dataclass
class TurnEvent:
    """What a face shows while a turn runs."""

    # text_delta | reasoning_delta | retry | tool_call | tool_result | step_done | compaction | notice
    type: str
    text: str = ""
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class PendingAction:
    """A tool call waiting for the user's approval (safe mode, or a path outside the working directory)."""

    tool: str
    arguments: dict[str, Any]
    reason: str
    preview: str


@dataclass
class TurnResult:
    text: str
    model: str
    stop_reason: str
    usage: llm.Usage
    entries: list[dict[str, Any]]
    """Entries this turn added to the session, as stored."""

    @property
    def session_messages(self) -> list[dict[str, Any]]:
        return [e for e in self.entries if e.get("type") == "message"]


class TurnFailed(KitError):
    """A turn ended early; `result` holds what was kept (partial answer marked aborted/error)."""

    def __init__(self, cause: KitError, result: TurnResult) -> None:
        super().__init__(cause.message)
        self.cause = cause
        self.result = result
        self.exit_code = cause.exit_code


def user_message(text: str, images: list[dict[str, str]] | None = None) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [{"type": "text", "data": {"text": text}}]
    for image in images or []:
        parts.append({"type": "image", "data": {"data": image["data"], "media_type": image["media_type"]}})
    return {"type": "message", "role": "user", "parts": parts}


def apply_session_model(settings: Settings, session: SessionManager) -> None:
    """On resume, the model and thinking level recorded in the session win unless a flag overrides them."""
    recorded = session.current_model()
    if not recorded:
        return
    provider, model_id, thinking_level = recorded
    if "model" not in settings.explicit and model_id:
        settings.model = model_id if "/" in model_id or not provider else f"{provider}/{model_id}"
    if "thinking_level" not in settings.explicit and thinking_level:
        settings.thinking_level = thinking_level


def model_change_if_needed(settings: Settings, session: SessionManager) -> dict[str, Any] | None:
    """A `model_change` entry when the settings' model or thinking level differ from the session's."""
    provider = llm.provider_of(settings.model)
    model_id = settings.model.split("/", 1)[1] if "/" in settings.model else settings.model
    recorded = session.current_model()
    current = (provider, model_id, settings.thinking_level)
    if recorded and tuple(recorded) == current:
        return None
    return {
        "type": "model_change",
        "provider": provider,
        "model_id": model_id,
        "thinking_level": settings.thinking_level,
    }


def _assistant_entry(response: llm.LLMResponse, **extra: Any) -> dict[str, Any]:
    return {
        "type": "message",
        "role": "assistant",
        "parts": response.parts(),
        "model": response.model.split("/", 1)[-1],
        "provider": response.provider,
        "usage": response.usage.as_dict(),
        "stop_reason": response.stop_reason,
        **extra,
    }


@dataclass
class ToolSetup:
    """The tools offered this turn and how their state-modifying calls get approved."""

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


def run_turn(
    session: SessionManager,
    settings: Settings,
    user_entry: dict[str, Any],
    *,
    on_event: EventHandler | None = None,
    tool_setup: ToolSetup | None = None,
    debug: bool = False,
) -> TurnResult:
    """Run one user turn to completion (through any tool steps) and persist it."""
    emit = on_event or (lambda event: None)
    pending: list[dict[str, Any]] = []
    change = model_change_if_needed(settings, session)
    if change:
        pending.append(change)
    pending.append(user_entry)
    stored: list[dict[str, Any]] = []
    total = llm.Usage()
    schemas = None
    if tool_setup and tool_setup.tools:
        from kit_py.tools.registry import tool_schemas

        schemas = tool_schemas(tool_setup.tools)

    def forward(event: llm.StreamEvent) -> None:
        emit(TurnEvent(event.type, event.text))

    def persist(step_entries: list[dict[str, Any]]) -> None:
        nonlocal pending
        stored.extend(session.append_many(pending + step_entries))
        pending = []

    def build_request() -> llm.LLMRequest:
        context = session.build_context()
        messages = list(context.messages) + [e for e in pending if e.get("type") == "message"]
        if recovery.strip_images:
            from kit_py.compaction.runner import without_images

            messages = without_images(messages)
        return llm.LLMRequest(
            model=settings.model,
            messages=llm.to_llm_messages(messages, settings.system_prompt),
            api_base=settings.api_base,
            api_key=settings.api_key,
            max_tokens=settings.max_tokens,
            temperature=settings.temperature,
            thinking_level=settings.thinking_level,
            tools=schemas,
            timeout=settings.timeout,
            max_retries=settings.max_retries,
            extra=settings.llm_options,
        )

    recovery = _Recovery()
    if settings.auto_compact:
        from kit_py.compaction.runner import over_threshold

        if over_threshold(session, settings, [e for e in pending if e.get("type") == "message"]):
            try:
                _compact(session, settings, emit, "threshold", force=False)
            except KitError as error:  # the context may still fit: a failed summary must not cost the turn
                data = {"phase": "end", "reason": "threshold", "compacted": False, "error": error.message}
                emit(
                    TurnEvent(
                        "compaction", f"compaction failed: {error.message}; sending the full history", data
                    )
                )
    response: llm.LLMResponse | None = None
    stop_reason = ""
    for _step in range(max(1, settings.max_steps)):
        try:
            response = _stream_recovering(session, settings, build_request, forward, emit, recovery)
        except llm.StreamBroken as broken:
            total.add(broken.partial.usage)
            entry = _assistant_entry(broken.partial, error=broken.message)
            # Tool calls of a broken step never ran: drop them so no call is left without a result.
            entry["parts"] = [p for p in entry["parts"] if p["type"] != "tool_call"]
            persist([entry])
            session.sync()
            result = TurnResult(
                broken.partial.text, settings.model, broken.partial.stop_reason, total, stored
            )
            cause = broken.cause if isinstance(broken.cause, KitError) else broken
            raise TurnFailed(cause, result) from None
        except KitError as error:
            # Nothing arrived: the prompt is still kept, beside a failed answer that is never replayed.
            nothing = llm.LLMResponse(model=settings.model, provider=llm.provider_of(settings.model))
            nothing.stop_reason = "error"
            persist([_assistant_entry(nothing, error=error.message)])
            session.sync()
            raise TurnFailed(error, TurnResult("", settings.model, "error", total, stored)) from None
        total.add(response.usage)
        step_entries = [_assistant_entry(response)]
        if response.tool_calls:
            # Even with no tools offered, every call gets a result (an error) so none is orphaned.
            setup = tool_setup or ToolSetup(tools=[], cwd=Path.cwd())
            tool_message, interrupted = _run_tool_calls(response.tool_calls, setup, emit)
            step_entries.append(tool_message)
            step_entries.extend(setup.records)
            setup.records.clear()
            persist(step_entries)
            emit(TurnEvent("step_done"))
            if interrupted:
                session.sync()
                raise KeyboardInterrupt
            continue
        persist(step_entries)
        emit(TurnEvent("step_done"))
        break
    else:
        steps = max(1, settings.max_steps)
        note = f"stopped after {steps} steps (max steps) before the model finished; the session is saved"
        emit(TurnEvent("notice", note))
        stop_reason = "max_steps"
    session.sync()
    assert response is not None
    return TurnResult(response.text, settings.model, stop_reason or response.stop_reason, total, stored)


@dataclass
class _Recovery:
    """Context-overflow recovery state of one turn: it compacts and retries at most once."""

    used: bool = False
    strip_images: bool = False


def _stream_recovering(
    session: SessionManager,
    settings: Settings,
    build_request: Callable[[], llm.LLMRequest],
    forward: Callable[[llm.StreamEvent], None],
    emit: EventHandler,
    recovery: _Recovery,
) -> llm.LLMResponse:
    """Stream one step; a context-overflow error compacts the session and retries once without images."""
    try:
        return llm.stream_completion(build_request(), forward)
    except ContextOverflowError:
        if recovery.used:
            raise
    recovery.used = True
    recovery.strip_images = True
    _compact(session, settings, emit, "overflow", force=True)
    try:
        return llm.stream_completion(build_request(), forward)
    except ContextOverflowError as again:
        raise ContextOverflowError(
            f"{again.message} — still too long after compacting the history: shorten the message or "
            "use a model with a larger context window"
        ) from None


def _compact(
    session: SessionManager, settings: Settings, emit: EventHandler, reason: str, force: bool
) -> None:
    """Compact inside a turn, with `compaction` events a face can turn into a spinner and a line.

    Event data: phase "start" | "progress" | "end", reason "threshold" | "overflow"; the "end" event
    has `compacted` and, when it did, messages_removed / tokens_before / tokens_after / summary, with
    the "compacted: N messages -> summary, T1 -> T2 tokens" line as its text.
    """
    from kit_py.compaction.runner import compact_session

    emit(TurnEvent("compaction", "compacting the conversation", {"phase": "start", "reason": reason}))
    outcome = compact_session(
        session,
        settings,
        force=force,
        on_progress=lambda text: emit(TurnEvent("compaction", text, {"phase": "progress", "reason": reason})),
    )
    data: dict[str, Any] = {"phase": "end", "reason": reason, "compacted": outcome is not None}
    if outcome is None:
        emit(TurnEvent("compaction", "", data))
        return
    data.update(
        messages_removed=outcome.messages_removed,
        tokens_before=outcome.tokens_before,
        tokens_after=outcome.tokens_after,
        summary=outcome.summary,
    )
    emit(TurnEvent("compaction", outcome.describe(), data))


def _run_tool_calls(
    calls: list[llm.ToolCall], setup: ToolSetup, emit: EventHandler
) -> tuple[dict[str, Any], bool]:
    """Run every call of one step; on Ctrl-C the remaining calls get 'interrupted' results."""
    from kit_py.engine.tool_calls import execute_tool_call

    parts: list[dict[str, Any]] = []
    interrupted = False
    for call in calls:
        if interrupted:
            result_part = _result_part(call, "interrupted by the user before this tool ran", True, {})
        else:
            emit(
                TurnEvent(
                    "tool_call", call.name, {"id": call.id, "name": call.name, "arguments": call.arguments}
                )
            )
            started = time.monotonic()
            try:
                content, is_error, details = execute_tool_call(call.name, call.arguments, setup, call.id)
            except KeyboardInterrupt as exc:
                interrupted = True
                partial = getattr(exc, "result", None)  # a tool's output so far (ToolInterrupted)
                if partial is not None:
                    content, is_error, details = partial.content, True, partial.details
                else:
                    content, is_error = "interrupted by the user", True
                    duration_ms = round((time.monotonic() - started) * 1000)
                    details = {"duration_ms": duration_ms, "cwd": str(setup.cwd)}
            result_part = _result_part(call, content, is_error, details)
            emit(TurnEvent("tool_result", content, {"id": call.id, "name": call.name, **result_part["data"]}))
        parts.append(result_part)
    return {"type": "message", "role": "tool", "parts": parts}, interrupted


def _result_part(call: llm.ToolCall, content: str, is_error: bool, details: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "tool_result",
        # Extra details first: the wire fields must never be overwritten by them.
        "data": {
            **details,
            "tool_call_id": call.id,
            "name": call.name,
            "content": content,
            "is_error": is_error,
        },
    }
