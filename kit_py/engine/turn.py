"""The turn loop: build context from the session, stream a step from the model, run tools, append entries.

`Conversation.run` (engine/conversation.py) is the only caller: faces never drive this loop
themselves. A turn's entries reach the session store only as whole steps (assistant message + the
tool message holding all its results, in one write), so a crash or Ctrl-C never leaves a tool call
without a result.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kit_py import llm
from kit_py.config import Settings
from kit_py.engine import events
from kit_py.engine.approval import ToolSetup
from kit_py.errors import Cancelled, ContextOverflowError, KitError
from kit_py.session import format as fmt
from kit_py.tools import coroutines

if TYPE_CHECKING:
    from kit_py.session import SessionManager


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


def _assistant_entry(response: llm.LLMResponse, **extra: Any) -> dict[str, Any]:
    return fmt.message(
        "assistant",
        response.parts(),
        model=response.model.split("/", 1)[-1],
        provider=response.provider,
        usage=response.usage.as_dict(),
        stop_reason=response.stop_reason,
        **extra,
    )


def run_turn(
    session: SessionManager,
    settings: Settings,
    opening: list[dict[str, Any]],
    *,
    emit: events.EventSink = events.ignore,
    tool_setup: ToolSetup | None = None,
    said: set[str] | None = None,
) -> TurnResult:
    """Run one user turn to completion (through any tool steps) and persist it.

    `opening` is what the turn starts with: any repair, system prompt or model change the
    conversation must record first, then the user message. It is written and fsynced BEFORE any
    request, so a crash never loses what the user typed; then each step is written as it completes
    (the assistant message before its tools run, their results after), so a killed tool leaves its
    call on record (the next turn answers it as interrupted).
    """
    plan = _turn_plan(session, settings, opening, emit, tool_setup, said, threading.Event())
    sent: Any = None
    thrown: BaseException | None = None
    while True:
        try:
            effect = plan.throw(thrown) if thrown is not None else plan.send(sent)
        except StopIteration as done:
            return done.value
        sent, thrown = None, None
        try:
            if isinstance(effect, _Request):
                sent = llm.stream_completion(effect.request, effect.forward)
            else:
                sent = effect.run()
        except BaseException as exc:  # raised in the plan, where the call was made
            thrown = exc


async def arun_turn(
    session: SessionManager,
    settings: Settings,
    opening: list[dict[str, Any]],
    *,
    emit: events.EventSink = events.ignore,
    tool_setup: ToolSetup | None = None,
    said: set[str] | None = None,
) -> TurnResult:
    """`run_turn` on an event loop: the model streams through litellm's async client, and blocking
    work (tool calls, a compaction) runs in a thread, so many turns share one loop.

    Cancelling the task closes the HTTP stream at once; tools still running are stopped (a bash
    command is killed) and their results recorded; then `TurnFailed` is raised with cause
    `kit_py.errors.Cancelled` (faces turn it back into `asyncio.CancelledError`).
    """
    import asyncio  # only async callers (the API) need it: not imported at start-up

    cancel = threading.Event()
    plan = _turn_plan(session, settings, opening, emit, tool_setup, said, cancel)
    loop_token = coroutines.home_loop.set(asyncio.get_running_loop())  # async callbacks run here
    try:
        sent: Any = None
        thrown: BaseException | None = None
        while True:
            try:
                effect = plan.throw(thrown) if thrown is not None else plan.send(sent)
            except StopIteration as done:
                return done.value
            sent, thrown = None, None
            try:
                if isinstance(effect, _Request):
                    sent = await llm.astream_completion(effect.request, effect.forward)
                else:
                    sent = await _in_thread(effect.run, cancel)
            except BaseException as exc:  # raised in the plan, where the call was made
                thrown = exc
    finally:
        coroutines.home_loop.reset(loop_token)


@dataclass
class _Request:
    """The plan asks its driver to stream one model step (sync or async client)."""

    request: llm.LLMRequest
    forward: Callable[[llm.StreamEvent], None]


@dataclass
class _Work:
    """The plan asks its driver to do blocking local work (tool calls, a compaction)."""

    run: Callable[[], Any]


_Plan = Generator["_Request | _Work", Any, TurnResult]


async def _in_thread(work: Callable[[], Any], cancel: threading.Event) -> Any:
    """Blocking work off the event loop. A cancellation sets `cancel` (running tools stop, the rest
    are answered "interrupted") and still waits for the thread, so what it did is recorded; the plan
    then ends the turn as cancelled."""
    import asyncio

    future = asyncio.ensure_future(asyncio.to_thread(work))
    while True:
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            cancel.set()


def _cancelled(cancel: threading.Event, model: str) -> None:
    """End the step as cancelled when the caller cancelled while blocking work ran."""
    if cancel.is_set():
        partial = llm.LLMResponse(model=model, provider=llm.provider_of(model))
        partial.stop_reason = "aborted"
        raise llm.StreamBroken(Cancelled("cancelled"), partial)


def _turn_plan(
    session: SessionManager,
    settings: Settings,
    opening: list[dict[str, Any]],
    emit: events.EventSink,
    tool_setup: ToolSetup | None,
    said: set[str] | None,
    cancel: threading.Event,
) -> _Plan:
    """The turn as a plan: everything a turn decides and writes, once, for both drivers. It yields
    each model request and each piece of blocking work, and gets their outcome (or exception) back."""
    stored: list[dict[str, Any]] = []
    total = llm.Usage()
    if tool_setup is not None:
        tool_setup.start_turn()

    def forward(event: llm.StreamEvent) -> None:
        if event.type == "text_delta":
            emit(events.TextDelta(event.text))
        elif event.type == "reasoning_delta":
            emit(events.ReasoningDelta(event.text))
        elif event.type == "retry":
            emit(events.Retry(event.text))

    def persist(entries: list[dict[str, Any]]) -> None:
        stored.extend(session.append_many(entries))

    said_before = said if said is not None else set()

    def offered_tools() -> list[dict[str, Any]] | None:
        """Asked again every step: a tool source (an MCP server) may have lost its tools meanwhile."""
        if tool_setup is None:
            return None
        tools = tool_setup.offered()
        for notice in tool_setup.take_notices():
            emit(events.Notice(notice))
        from kit_py.tools.registry import tool_schemas

        return tool_schemas(tools) if tools else None

    def build_request() -> llm.LLMRequest:
        context = session.build_context()
        for warning in context.warnings:  # damaged session data: said once per conversation
            if warning not in said_before:
                said_before.add(warning)
                emit(events.Notice(f"warning: {warning}"))
        messages = context.messages
        if recovery.strip_images:
            from kit_py.compaction.runner import without_images

            messages = without_images(messages)
        return llm.LLMRequest(
            model=settings.model,
            messages=llm.to_llm_messages(messages, settings.model),
            api_base=settings.api_base,
            api_key=settings.api_key,
            max_tokens=settings.max_tokens,
            temperature=settings.temperature,
            thinking_level=settings.thinking_level,
            tools=offered_tools(),
            timeout=settings.timeout,
            max_retries=settings.max_retries,
            caching=settings.caching,
            extra=settings.llm_options,
        )

    persist(opening)
    session.sync()
    recovery = _Recovery()
    if settings.auto_compact:
        from kit_py.compaction.runner import over_threshold

        if over_threshold(session, settings, []):
            try:
                yield _Work(lambda: compact_with_events(session, settings, emit, "threshold", force=False))
            except KitError as error:  # the context may still fit: a failed summary must not cost the turn
                emit(events.CompactionDone("threshold", error=error.message))
            if cancel.is_set():
                session.sync()
                kept = TurnResult("", settings.model, "aborted", total, stored)
                raise TurnFailed(Cancelled("cancelled"), kept)
    response: llm.LLMResponse | None = None
    stop_reason = ""
    for _step in range(max(1, settings.max_steps)):
        try:
            response = yield from _stream_recovering(
                session, settings, build_request, forward, emit, recovery, cancel
            )
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
        persist([_assistant_entry(response)])
        if response.tool_calls:
            # Even with no tools offered, every call gets a result (an error) so none is orphaned.
            setup = tool_setup or ToolSetup(tools=[], cwd=Path.cwd())
            run_calls = functools.partial(_run_tool_calls, response.tool_calls, setup, emit, cancel)
            tool_message, interrupted, failure = yield _Work(run_calls)
            persist([tool_message, *setup.records])
            setup.records.clear()
            emit(events.StepDone())
            if failure is not None:
                session.sync()
                raise failure
            if interrupted:
                session.sync()
                if cancel.is_set():
                    result = TurnResult("", settings.model, "aborted", total, stored)
                    raise TurnFailed(Cancelled("cancelled while tools ran"), result)
                raise KeyboardInterrupt
            continue
        emit(events.StepDone())
        break
    else:
        steps = max(1, settings.max_steps)
        note = f"stopped after {steps} steps (max steps) before the model finished; the session is saved"
        emit(events.Notice(note))
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
    emit: events.EventSink,
    recovery: _Recovery,
    cancel: threading.Event,
) -> Generator[_Request | _Work, Any, llm.LLMResponse]:
    """Stream one step; a context-overflow error compacts the session and retries once without images."""
    _cancelled(cancel, settings.model)
    try:
        return (yield _Request(build_request(), forward))
    except ContextOverflowError:
        if recovery.used:
            raise
    recovery.used = True
    recovery.strip_images = True
    yield _Work(lambda: compact_with_events(session, settings, emit, "overflow", force=True))
    _cancelled(cancel, settings.model)
    try:
        return (yield _Request(build_request(), forward))
    except ContextOverflowError as again:
        raise ContextOverflowError(
            f"{again.message} — still too long after compacting the history: shorten the message or "
            "use a model with a larger context window"
        ) from None


def compact_with_events(
    session: SessionManager,
    settings: Settings,
    emit: events.EventSink,
    reason: str,
    *,
    force: bool,
    focus: str | None = None,
) -> Any:
    """Compact, telling the face through Compaction* events (a spinner, then one line).

    Returns the `CompactionOutcome`, or None when there was nothing to compact. Failures propagate
    (KitError, or CompactionCancelled on Ctrl-C) after nothing was written.
    """
    from kit_py.compaction.runner import compact_session

    emit(events.CompactionStarted(reason))
    outcome = compact_session(
        session,
        settings,
        focus=focus,
        force=force,
        on_progress=lambda text: emit(events.CompactionProgress(reason, text)),
    )
    emit(events.CompactionDone(reason, outcome))
    return outcome


def _run_tool_calls(
    calls: list[llm.ToolCall], setup: ToolSetup, emit: events.EventSink, cancel: threading.Event
) -> tuple[dict[str, Any], bool, BaseException | None]:
    """Run every call of one step. On Ctrl-C (or `cancel`: the caller cancelled the turn) the remaining
    calls get 'interrupted' results; when the turn fails (e.g. an approve callback raised), every call
    still gets a result and the failure is returned to raise once they are written, so no call is ever
    left without a result."""
    from kit_py.engine.tool_calls import execute_tool_call

    parts: list[dict[str, Any]] = []
    interrupted = False
    failure: BaseException | None = None
    for call in calls:
        interrupted = interrupted or cancel.is_set()
        if interrupted or failure is not None:
            why = "the turn failed" if failure is not None else "interrupted by the user"
            if cancel.is_set():
                why = "the turn was cancelled"
            part = fmt.tool_result_part(call.id, call.name, f"{why} before this tool ran", True)
        else:
            emit(events.ToolCallStarted(call.id, call.name, call.arguments))
            started = time.monotonic()
            try:
                content, is_error, details = execute_tool_call(
                    call.name,
                    call.arguments,
                    setup,
                    call.id,
                    cancel=cancel,
                    on_progress=_progress(call.id, emit),
                )
            except KeyboardInterrupt as exc:
                interrupted = True
                partial = getattr(exc, "result", None)  # a tool's output so far (ToolInterrupted)
                if partial is not None:
                    content, is_error, details = partial.content, True, partial.details
                else:
                    content, is_error = "interrupted by the user", True
                    duration_ms = round((time.monotonic() - started) * 1000)
                    details = {"duration_ms": duration_ms, "cwd": str(setup.cwd)}
            except Exception as exc:
                failure = exc
                content, is_error = f"not run: {getattr(exc, 'message', None) or exc}", True
                details = {"duration_ms": round((time.monotonic() - started) * 1000), "cwd": str(setup.cwd)}
            part = _result_part(call, content, is_error, details)
            emit(events.ToolFinished(call.id, call.name, content, is_error, dict(part["data"])))
        parts.append(part)
    return fmt.message("tool", parts), interrupted or cancel.is_set(), failure


def _progress(call_id: str, emit: events.EventSink) -> Callable[[str], None]:
    return lambda output: emit(events.ToolProgress(call_id, output))


def _result_part(call: llm.ToolCall, content: str, is_error: bool, details: dict[str, Any]) -> dict[str, Any]:
    # Extra details first: the wire fields must never be overwritten by them.
    extra = {k: v for k, v in details.items() if k not in ("tool_call_id", "name", "content", "is_error")}
    part = fmt.tool_result_part(call.id, call.name, content, is_error)
    part["data"] = {**extra, **part["data"]}
    return part
