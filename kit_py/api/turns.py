"""Talking through a session: `run`, `stream`, `json` and their async forms (the `Turns` mixin of
`Session`), and how one such call becomes engine turns: its prompt and settings, the structured-output
exchange, the engine's failures as the API documents them, and the result."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Generator, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, overload

from kit_py import errors, llm
from kit_py.api import structured
from kit_py.api.approvals import Approver
from kit_py.api.data import is_message
from kit_py.api.messages import Approval, Event, Message, RunResult, api_event
from kit_py.api.options import litellm_options
from kit_py.api.streaming import Put, iterate_async, iterate_sync
from kit_py.config import Settings
from kit_py.engine import events
from kit_py.engine.conversation import Conversation, user_message
from kit_py.engine.turn import TurnFailed, TurnResult
from kit_py.session.store import NO_SESSION_HINT

T = TypeVar("T")
_CALL_ARGUMENTS = ("prompt", "images", "temperature", "max_tokens", "llm_options", "schema", "retries")


@dataclass
class Call:
    """One turn to run: the user message and that turn's settings."""

    entry: dict[str, Any]
    settings: Settings


def json_exchange(
    schema: object, retries: int, first: Call
) -> Generator[Call, RunResult[None], RunResult[Any]]:
    """The structured-output exchange for both drivers (sync and async): the prompt, then one retry
    per answer that does not validate, each sent the validation error. Raises StructuredOutputError
    when the last retry fails too (the driver discards every attempt then)."""
    results = [(yield first)]
    for attempt in range(retries + 1):
        try:
            output = structured.validate(schema, results[-1].text)
            break
        except ValueError as exc:
            if attempt == retries:
                raise errors.StructuredOutputError(
                    f"the model's answer does not match {structured.schema_name(schema)}: {exc}"
                ) from None
            results.append((yield Call(user_message(structured.retry_prompt(str(exc))), first.settings)))
    final: RunResult[Any] = results[-1]
    for earlier in results[:-1]:
        final.usage.add(earlier.usage)
    final.messages = [m for r in results for m in r.messages]
    final.approvals = [a for r in results for a in r.approvals]
    final.output = output
    return final


def json_prompt(
    prompt: str, schema: object, llm_options: Mapping[str, Any] | None
) -> tuple[str, dict[str, Any]]:
    """The prompt with the schema written into it, and the options with `response_format` added.
    TypeError / ValueError for a bad schema, before anything is sent."""
    schema_dict = structured.schema_of(schema)
    options = {"response_format": structured.response_format(schema, schema_dict), **(llm_options or {})}
    return f"{prompt}\n\n{structured.instruction(schema_dict)}", options


def run_result(turn: TurnResult, session_id: str, approvals: list[Approval]) -> RunResult[None]:
    added = [Message.from_entry(e) for e in turn.entries if is_message(e)]
    return RunResult(
        turn.text, added, turn.model, turn.stop_reason, turn.usage, session_id, approvals=list(approvals)
    )


@contextlib.contextmanager
def public_errors(cancelled: type[BaseException]) -> Iterator[None]:
    """The engine's failures as the API documents them: the `AgentError` itself (its cause kept), the
    caller's own cancellation (`KeyboardInterrupt` for sync calls, `CancelledError` for async ones),
    and messages worded for Python, not for the command line."""
    try:
        yield
    except TurnFailed as failed:
        cause = failed.cause
        interrupted = isinstance(getattr(cause, "cause", None), KeyboardInterrupt)  # Ctrl-C mid-stream
        if isinstance(cause, errors.Cancelled) or interrupted:
            raise cancelled() from None
        if isinstance(cause, errors.AgentError):
            raise cause from cause.__cause__
        raise errors.AgentError(cause.message) from cause
    except errors.MissingAPIKeyError as exc:
        keys = " or ".join(exc.env_vars) or "the provider's key variable"
        raise errors.MissingAPIKeyError(
            f"no API key for {exc.provider}: set {keys}, or pass api_key= to Agent",
            provider=exc.provider,
            env_vars=exc.env_vars,
        ) from exc
    except errors.SessionWriteError as exc:
        if NO_SESSION_HINT not in exc.message:
            raise
        message = exc.message.replace(NO_SESSION_HINT, "use MemoryStore() to keep the session in memory")
        raise errors.SessionWriteError(message, exc.path) from exc


async def preload_for(model: str) -> None:
    """Import litellm in a thread before the first async turn, so the event loop never waits 2-3 s."""
    if not llm.is_loaded() and llm.scripted_model(model) is None:
        await asyncio.to_thread(llm.load_litellm)


async def acquire(lock: threading.Lock) -> None:
    """A session's turn lock, without blocking the event loop (other sessions' turns go on meanwhile)."""
    delay = 0.001
    while not lock.acquire(blocking=False):
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.05)


class AgentSettings(Protocol):
    """What a turn needs from the session's agent."""

    model: str

    def settings(
        self,
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
        llm_options: Mapping[str, Any] | None = None,
    ) -> Settings: ...


class Turns:
    """The calls that talk through a session (`run`, `stream`, `json` and their async forms); mixed
    into `Session`, which owns the state they use."""

    agent: AgentSettings
    _conversation: Conversation
    _turn_lock: threading.Lock
    _approver: Approver
    _safe_mode: bool
    _frozen: tuple[str | None, int] | None

    @property
    def id(self) -> str:
        return self._conversation.id

    def _view(self) -> tuple[str | None, int]:
        raise NotImplementedError

    def _record_settings(self) -> None:
        raise NotImplementedError

    def _after_change(self) -> None:
        raise NotImplementedError

    def run(
        self,
        prompt: str,
        *,
        images: list[dict[str, str]] | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        llm_options: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> RunResult[None]:
        """Send `prompt`, run any tool steps, return the answer. Raises `kit_py.errors.AgentError`.

        Keywords are litellm options for this turn only (`top_p=0.9`); extras in `llm_options={...}`."""
        call = self._call("run", prompt, images, temperature, max_tokens, llm_options, options)
        with self._turn_lock, self._turn_state(None):
            return self._one_turn(call)

    def send(self, text: str) -> RunResult[None]:
        """Shorthand for `run` on a persisted (channel) session: the answer is saved before this returns."""
        return self.run(text)

    async def run_async(
        self,
        prompt: str,
        *,
        images: list[dict[str, str]] | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        llm_options: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> RunResult[None]:
        """`run` without blocking the event loop (litellm's async client). Cancelling the task
        (`task.cancel()`, `asyncio.wait_for`) closes the request and adds nothing to the session."""
        call = self._call("run_async", prompt, images, temperature, max_tokens, llm_options, options)
        return await self._turn_async(call, None)

    def stream(
        self,
        prompt: str,
        *,
        images: list[dict[str, str]] | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        llm_options: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> Iterator[Event]:
        """Yield events while the turn runs (in a worker thread); the last one is `done` with the result.

        Leaving the loop early (or Ctrl-C) cancels the turn: the request is closed and nothing is added.
        """
        call = self._call("stream", prompt, images, temperature, max_tokens, llm_options, options)
        return iterate_sync(lambda put: self._turn_async(call, put))

    async def stream_async(
        self,
        prompt: str,
        *,
        images: list[dict[str, str]] | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        llm_options: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> AsyncIterator[Event]:
        """`async for ev in await session.stream_async(...)`; cancelling the consuming task (or closing
        the iterator early) cancels the turn."""
        call = self._call("stream_async", prompt, images, temperature, max_tokens, llm_options, options)
        return iterate_async(lambda put: self._turn_async(call, put))

    @overload
    def json(self, prompt: str, schema: type[T], *, retries: int = ..., **options: Any) -> RunResult[T]: ...

    @overload
    def json(self, prompt: str, schema: object, *, retries: int = ..., **options: Any) -> RunResult[Any]: ...

    def json(
        self,
        prompt: str,
        schema: object,
        *,
        retries: int = 1,
        images: list[dict[str, str]] | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        llm_options: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> RunResult[Any]:
        """Ask for JSON matching `schema`; `result.output` is the validated value (typed: a pydantic
        model class `Model` gives a `RunResult[Model]`).

        `schema` is a pydantic model class (or another type pydantic understands): `output` is an
        instance of it; or a JSON schema dict: `output` is the plain JSON value, checked against it
        with `jsonschema`. Anything else raises TypeError, an invalid schema dict ValueError.

        The schema goes to the provider as `response_format` (where supported) and into the prompt.
        An answer that does not validate is sent back once with the error; if it still fails,
        `kit_py.errors.StructuredOutputError` is raised and `messages` is left as it was (the attempts
        stay in the store, off the branch).
        """
        text, extras = json_prompt(prompt, schema, llm_options)
        exchange = json_exchange(
            schema, retries, self._call("json", text, images, temperature, max_tokens, extras, options)
        )
        with self._turn_lock, self._turn_state(None), self._conversation.discarding():
            answer: RunResult[None] | None = None
            while True:
                try:
                    call = exchange.send(answer)  # type: ignore[arg-type]  # None starts it
                except StopIteration as done:
                    return done.value
                answer = self._one_turn(call)

    @overload
    async def json_async(
        self, prompt: str, schema: type[T], *, retries: int = ..., **options: Any
    ) -> RunResult[T]: ...

    @overload
    async def json_async(
        self, prompt: str, schema: object, *, retries: int = ..., **options: Any
    ) -> RunResult[Any]: ...

    async def json_async(
        self,
        prompt: str,
        schema: object,
        *,
        retries: int = 1,
        images: list[dict[str, str]] | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        llm_options: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> RunResult[Any]:
        """The async form of `json`."""
        text, extras = json_prompt(prompt, schema, llm_options)
        exchange = json_exchange(
            schema, retries, self._call("json_async", text, images, temperature, max_tokens, extras, options)
        )
        await preload_for(self.agent.model)
        await acquire(self._turn_lock)
        try:
            with self._turn_state(None), self._conversation.discarding():
                answer: RunResult[None] | None = None
                while True:
                    try:
                        call = exchange.send(answer)  # type: ignore[arg-type]  # None starts it
                    except StopIteration as done:
                        return done.value
                    answer = await self._one_turn_async(call)
        finally:
            self._turn_lock.release()

    def _call(
        self,
        where: str,
        prompt: str,
        images: list[dict[str, str]] | None,
        temperature: float | None,
        max_tokens: int | None,
        llm_options: Mapping[str, Any] | None,
        options: dict[str, Any],
    ) -> Call:
        """A turn's user message and settings; TypeError for an unknown keyword, before anything runs."""
        if not isinstance(prompt, str):
            raise TypeError(f"{where}(): the prompt must be a string, not {type(prompt).__name__}")
        extras = litellm_options(where, options, _CALL_ARGUMENTS, llm_options)
        settings = self.agent.settings(temperature=temperature, max_tokens=max_tokens, llm_options=extras)
        return Call(Message.user(prompt, images).to_dict(), settings)

    @contextlib.contextmanager
    def _turn_state(self, put: Put | None) -> Iterator[None]:
        """Around the turn(s) of one call (the turn lock held): readers see the session as it was,
        events go to `put`, the settings record is brought up to date."""
        self._frozen = self._view()

        def on_event(event: events.Event) -> None:
            public = api_event(event)
            if public is not None and put is not None:
                put(public)

        self._conversation.on_event = on_event
        try:
            if self._conversation.tools is not None:
                self._conversation.tools.safe_mode = self._safe_mode
            self._record_settings()
            yield
        finally:
            self._frozen = None
            self._after_change()

    def _start(self, call: Call) -> Settings:
        self._approver.decisions = []
        call.settings.system_prompt = self._conversation.settings.system_prompt
        return call.settings

    def _one_turn(self, call: Call) -> RunResult[None]:
        settings = self._start(call)
        with public_errors(KeyboardInterrupt):
            turn = self._conversation.run(dict(call.entry), settings=settings)
        return run_result(turn, self.id, self._approver.decisions)

    async def _one_turn_async(self, call: Call) -> RunResult[None]:
        settings = self._start(call)
        with public_errors(asyncio.CancelledError):
            turn = await self._conversation.arun(dict(call.entry), settings=settings)
        return run_result(turn, self.id, self._approver.decisions)

    async def _turn_async(self, call: Call, put: Put | None) -> RunResult[None]:
        await preload_for(self.agent.model)
        await acquire(self._turn_lock)
        try:
            with self._turn_state(put):
                return await self._one_turn_async(call)
        finally:
            self._turn_lock.release()
