"""The Python API: `Agent`, `Session`, `Message`, `RunResult` and streamed `Event`s.

A thin face over the CLI's engine: every turn is `kit_py.engine.turn.run_turn` on a `SessionManager`
tree, so context building, tools, safe mode and compaction behave exactly as in `kit`. A session
lives in memory and is written to its `SessionStore` after each change (`autosave`); a failed turn
is discarded before anything is saved, so it never shows up in `session.messages` or in a store.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import queue
import re
import threading
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from kit_py import errors
from kit_py.api import structured
from kit_py.api.stores import JSONLStore, MemoryStore, SessionStore
from kit_py.config import DEFAULT_MODEL, Settings
from kit_py.session import SessionManager, Tree
from kit_py.session import format as fmt
from kit_py.tools.base import Tool

__all__ = [
    "Agent",
    "Approval",
    "Event",
    "Message",
    "RunResult",
    "Session",
    "SessionSummary",
    "channel_dir",
]

DATA_FORMAT = 1
_APPROVAL_ANSWERS = ("approved", "denied", "always", "refused")
_CHANNEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


# --- messages, events, results ---------------------------------------------------------------------


@dataclass
class Message:
    """One conversation message: a role and its parts in the session wire format."""

    role: str
    parts: list[dict[str, Any]] = field(default_factory=list)
    id: str | None = None
    timestamp: str | None = None
    model: str | None = None
    usage: dict[str, Any] | None = None

    @classmethod
    def user(cls, text: str, images: list[dict[str, str]] | None = None) -> Message:
        """A user message; `images` items are `{"data": <base64>, "media_type": "image/png"}`."""
        parts = [fmt.text_part(text)] + [fmt.image_part(i["data"], i["media_type"]) for i in images or []]
        return cls("user", parts)

    @classmethod
    def assistant(cls, text: str) -> Message:
        return cls("assistant", [fmt.text_part(text)])

    @classmethod
    def system(cls, text: str) -> Message:
        return cls("system", [fmt.text_part(text)])

    @property
    def text(self) -> str:
        """The text parts joined by newlines; for a tool message, its results' contents joined so."""
        if self.role == "tool":
            return "\n".join(str(r.get("content", "")) for r in self.tool_results)
        return fmt.message_text({"parts": self.parts})

    @property
    def reasoning(self) -> str:
        return "".join(p["data"].get("thinking", "") for p in self.parts if p.get("type") == "reasoning")

    @property
    def tool_calls(self) -> list[dict[str, Any]]:
        """`{"id", "name", "arguments"}` for each tool call, arguments decoded from JSON."""
        return [
            {"id": d.get("id"), "name": d.get("name"), "arguments": _decode(d.get("input"))}
            for d in (p["data"] for p in self.parts if p.get("type") == "tool_call")
        ]

    @property
    def tool_results(self) -> list[dict[str, Any]]:
        return [dict(p["data"]) for p in self.parts if p.get("type") == "tool_result"]

    def to_dict(self) -> dict[str, Any]:
        """The message entry in wire form (without tree links)."""
        parts = orjson.loads(orjson.dumps(self.parts))
        entry: dict[str, Any] = {"type": "message", "role": self.role, "parts": parts}
        for key in ("id", "timestamp", "model", "usage"):
            value = getattr(self, key)
            if value is not None:
                entry[key] = value
        return entry

    @classmethod
    def from_dict(cls, entry: dict[str, Any]) -> Message:
        return cls(
            role=str(entry.get("role", "")),
            parts=orjson.loads(orjson.dumps(entry.get("parts") or [])),
            id=entry.get("id"),
            timestamp=entry.get("timestamp"),
            model=entry.get("model"),
            usage=entry.get("usage"),
        )


def _decode(arguments: Any) -> Any:
    if not isinstance(arguments, str):
        return arguments
    try:
        return json.loads(arguments) if arguments.strip() else {}
    except ValueError:
        return arguments


@dataclass
class Approval:
    """A safe-mode decision: which call asked, why, and whether it was allowed."""

    tool: str
    arguments: dict[str, Any]
    reason: str
    approved: bool
    answer: str = ""
    """"approved", "denied", "always", "refused" (nobody to ask), or "always (remembered)" for a call
    allowed without asking by an earlier "always" in the same turn."""


@dataclass
class RunResult:
    """What one `run`/`send`/`json` call produced. `str(result)` is the answer text."""

    text: str
    messages: list[Message]
    """Messages this call added to the session (user prompt, assistant steps, tool results)."""
    model: str
    stop_reason: str
    usage: Any
    """`kit_py.llm.Usage`: input/output/cache tokens and cost_usd (None when the price is unknown)."""
    session_id: str
    output: Any = None
    """The validated output of `session.json(...)`: a pydantic object, or plain JSON for a dict schema."""
    approvals: list[Approval] = field(default_factory=list)

    @property
    def tool_calls(self) -> list[dict[str, Any]]:
        return [call for m in self.messages for call in m.tool_calls]

    def __str__(self) -> str:
        return self.text


@dataclass
class Event:
    """A streamed event: `text_delta`, `reasoning_delta`, `tool_call`, `tool_result`, `done`, and the
    engine's notices: `retry`, `compaction` (context being summarized), `notice`."""

    type: str
    text: str = ""
    tool: str | None = None
    call_id: str | None = None
    arguments: Any = None
    is_error: bool = False
    result: RunResult | None = None
    """Set on `done`."""


def _event(turn_event: Any) -> Event | None:
    kind, data = turn_event.type, turn_event.data
    if kind == "tool_call":
        arguments = data.get("arguments", "")
        return Event(
            kind, arguments, tool=data.get("name"), call_id=data.get("id"), arguments=_decode(arguments)
        )
    if kind == "tool_result":
        return Event(
            kind,
            turn_event.text,
            tool=data.get("name"),
            call_id=data.get("id"),
            is_error=bool(data.get("is_error")),
        )
    if kind == "step_done":
        return None
    return Event(kind, turn_event.text)  # text_delta, reasoning_delta, retry, and engine notices


@dataclass
class SessionSummary:
    """A persisted session as listed by `Session.history` / `Session.search`."""

    id: str
    channel: str | None
    name: str | None
    preview: str
    message_count: int
    created: str
    modified: float
    path: Path


# --- agent -----------------------------------------------------------------------------------------


ToolSpec = str | Tool | Callable[..., Any]
ApproveFn = Callable[[Any], Any]
"""Gets a `kit_py.engine.turn.PendingAction` (.tool, .arguments, .reason, .preview); returns True to allow,
False to deny, or "always" to allow this tool for the rest of the turn's tool setup."""


class Agent:
    """A model and how to talk to it: options, tools, safe mode. Sessions hold the conversations.

    `model` is any litellm model string (default: `$KIT_MODEL`, else kit's default); `provider=`
    prefixes a bare model name. `api_base`/`api_key` default to `$KIT_API_BASE`/`$KIT_API_KEY`;
    any other keyword is a litellm option passed through untouched.
    """

    def __init__(
        self,
        model: str | None = None,
        *,
        provider: str | None = None,
        api_base: str | None = None,
        api_key: str | None = None,
        system: str | None = None,
        tools: Iterable[ToolSpec] | None = None,
        safe_mode: bool = False,
        approve: ApproveFn | None = None,
        auto_compact: bool = True,
        compaction_model: str | None = None,
        context_window: int | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        thinking_level: str = "off",
        max_steps: int = 25,
        timeout: float = 600.0,
        max_retries: int = 3,
        cwd: str | os.PathLike[str] | None = None,
        store: SessionStore | None = None,
        **llm_options: Any,
    ) -> None:
        model = model or os.environ.get("KIT_MODEL") or DEFAULT_MODEL
        if provider and not model.startswith(f"{provider}/"):
            model = f"{provider}/{model}"
        self.model = model
        self.api_base = api_base or os.environ.get("KIT_API_BASE") or None
        self.api_key = api_key or os.environ.get("KIT_API_KEY") or None
        self.system = system
        self.tools = resolve_tools(tools)
        self.safe_mode = safe_mode
        self.approve = approve
        self.auto_compact = auto_compact
        self.compaction_model = compaction_model
        self.context_window = context_window
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.thinking_level = thinking_level
        self.max_steps = max_steps
        self.timeout = timeout
        self.max_retries = max_retries
        self.cwd = Path(cwd).expanduser().absolute() if cwd is not None else Path.cwd()
        self.store = store if store is not None else MemoryStore()
        self.llm_options = llm_options
        self._checked = False

    def __repr__(self) -> str:
        return f"Agent(model={self.model!r}, tools={[t.name for t in self.tools]})"

    def settings(self, **overrides: Any) -> Settings:
        """A fresh `Settings` for one turn; `overrides` are per-call options (None = agent default)."""
        llm_options = dict(self.llm_options)
        llm_options.update(overrides.pop("llm_options", {}))
        settings = Settings(
            model=self.model,
            api_base=self.api_base,
            api_key=self.api_key,
            max_tokens=self.max_tokens,
            temperature=self.temperature,
            thinking_level=self.thinking_level,
            timeout=self.timeout,
            max_retries=self.max_retries,
            auto_compact=self.auto_compact,
            compaction_model=self.compaction_model,
            safe_mode=self.safe_mode,
            max_steps=self.max_steps,
            llm_options=llm_options,
        )
        # context_window: the model's window when litellm does not know it (drives auto-compaction).
        for key, value in {"context_window": self.context_window, **overrides}.items():
            if value is not None:
                setattr(settings, key, value)
        return settings

    def check(self) -> None:
        """Fail early (no network) on an unknown model or a missing API key; done before the first turn."""
        if not self._checked:
            from kit_py import llm

            llm.check_model(self.model, self.api_key, self.api_base)
            self._checked = True

    def session(
        self,
        session_id: str | None = None,
        *,
        system: str | None = None,
        messages: Iterable[Message] | None = None,
        store: SessionStore | None = None,
        autosave: bool = True,
        safe_mode: bool | None = None,
        approve: ApproveFn | None = None,
    ) -> Session:
        """A new session, or the stored one when `session_id` already exists in the store.

        `system` (default: the agent's) and `messages` only seed a NEW session.
        """
        store = store if store is not None else self.store
        if session_id is not None:
            data = store.load(session_id)
            if data is not None:
                return Session.from_dict(
                    data, self, store=store, autosave=autosave, safe_mode=safe_mode, approve=approve
                )
        manager = SessionManager(fmt.header(str(self.cwd), session_id=session_id), Tree(), None)
        session = Session(self, manager, store=store, autosave=autosave, safe_mode=safe_mode, approve=approve)
        prompt = system if system is not None else self.system
        with session._lock:
            if prompt:
                manager.append(fmt.message("system", [fmt.text_part(prompt)]))
            for message in messages or []:
                manager.append(_entry_of(message))
            session._autosave()
        return session

    def run(self, prompt: str, **options: Any) -> RunResult:
        """One question in a fresh session."""
        return self.session().run(prompt, **options)


def resolve_tools(specs: Iterable[ToolSpec] | None) -> list[Tool]:
    """Built-in names ("read", "ls" ...), `Tool` objects and plain functions, as `Tool`s."""
    out: list[Tool] = []
    for spec in specs or []:
        if isinstance(spec, str):
            from kit_py.tools.registry import select_tools

            out.extend(select_tools([spec]))
        elif isinstance(spec, Tool):
            out.append(spec)
        elif callable(spec):
            from kit_py.tools.decorator import FunctionTool

            out.append(FunctionTool(spec))
        else:
            raise TypeError(f"not a tool: {spec!r} (use a built-in name, a @tool function or a Tool)")
    names = [t.name for t in out]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"two tools share the name(s) {', '.join(duplicates)}")
    return out


def _entry_of(message: Message | dict[str, Any]) -> dict[str, Any]:
    entry = message.to_dict() if isinstance(message, Message) else dict(message)
    entry.pop("id", None)
    entry.pop("parent_id", None)
    entry.pop("timestamp", None)
    extra = {k: v for k, v in entry.items() if k not in ("type", "role", "parts")}
    return fmt.message(entry["role"], entry["parts"], **extra)


# --- session ---------------------------------------------------------------------------------------


class _Failure:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class Session:
    """One conversation tree. Create with `agent.session()`, `Session.create()` or `Session.load()`."""

    def __init__(
        self,
        agent: Agent,
        manager: SessionManager,
        *,
        store: SessionStore | None = None,
        autosave: bool = True,
        safe_mode: bool | None = None,
        approve: ApproveFn | None = None,
    ) -> None:
        self.agent = agent
        self.store = store
        self.autosave = autosave
        self.safe_mode = agent.safe_mode if safe_mode is None else safe_mode
        self.approve = approve if approve is not None else agent.approve
        self._manager = manager
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return f"Session(id={self.id!r}, messages={len(self.messages)})"

    # --- state ------------------------------------------------------------------------------------

    @property
    def id(self) -> str:
        return self._manager.session_id

    @property
    def system(self) -> str | None:
        """The system prompt (a `system` message at the start of the conversation), if any."""
        for entry in self._manager.path_entries():
            if entry.get("type") == "message":
                return fmt.message_text(entry) if entry.get("role") == "system" else None
        return None

    @property
    def messages(self) -> list[Message]:
        """A copy of the conversation on the current branch (system prompt excluded: see `.system`)."""
        with self._lock:
            return [
                Message.from_dict(e)
                for e in self._manager.path_entries()
                if e.get("type") == "message" and e.get("role") != "system"
            ]

    @property
    def name(self) -> str | None:
        return self._manager.name

    @name.setter
    def name(self, value: str) -> None:
        with self._lock:
            self._manager.set_name(value)
            self._autosave()

    @property
    def entries(self) -> list[dict[str, Any]]:
        """Every tree entry in wire form (a copy), for tools that want the whole tree."""
        with self._lock:
            return orjson.loads(orjson.dumps(self._manager.entries))

    def add_message(self, message: Message) -> None:
        """Append a message to the conversation as if it had been said."""
        with self._lock:
            self._manager.append(_entry_of(message))
            self._autosave()

    def clear(self) -> None:
        """Start over (the system prompt stays). Earlier messages remain in the tree, off the branch."""
        with self._lock:
            system = self.system
            self._manager.tree.leaf_id = None
            self._manager.append(fmt.extension_data(fmt.LEAF_EXT_TYPE, "clear"))
            if system:
                self._manager.append(fmt.message("system", [fmt.text_part(system)]))
            self._autosave()

    def fork(self, session_id: str | None = None) -> Session:
        """A new session holding this conversation so far; the two diverge from here.

        Raises `kit_py.errors.SessionExistsError` when `session_id` is this session's or already stored.
        """
        with self._lock:
            if session_id is not None:
                if session_id == self.id:
                    raise errors.SessionExistsError(f"cannot fork session {session_id!r} into itself")
                _require_new(self.store, session_id)
            header = fmt.header(self._manager.cwd, session_id=session_id, parent_session_id=self.id or None)
            tree = Tree()
            parent: str | None = None
            for entry in orjson.loads(orjson.dumps(self._manager.path_entries())):
                entry.pop("parent_id", None)
                if parent is not None:
                    entry["parent_id"] = parent
                tree.add(entry)
                parent = entry["id"]
            child = Session(
                self.agent,
                SessionManager(header, tree, None),
                store=self.store,
                autosave=self.autosave,
                safe_mode=self.safe_mode,
                approve=self.approve,
            )
        child._autosave()
        return child

    def compact(self, focus: str | None = None) -> str | None:
        """Summarize the older conversation now (as `/compact` does); returns the summary, or None
        when there is too little to compact. Nothing is deleted: later requests send the summary
        plus the recent turns, while `messages` still lists everything."""
        from kit_py.compaction.runner import compact_session

        with self._lock:
            before = self._snapshot()
            self.agent.check()
            try:
                outcome = compact_session(self._manager, self.agent.settings(), focus=focus, force=True)
            except BaseException:
                self._rollback(before)
                raise
            self._autosave()
        return outcome.summary if outcome is not None else None

    # --- persistence ------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data (header, every tree entry, current leaf); `from_dict` restores it."""
        with self._lock:
            return orjson.loads(
                orjson.dumps(
                    {
                        "format": DATA_FORMAT,
                        "header": self._manager.header,
                        "entries": self._manager.entries,
                        "leaf_id": self._manager.leaf_id,
                    }
                )
            )

    @classmethod
    def from_dict(
        cls,
        data: dict[str, Any],
        agent: Agent | None = None,
        *,
        store: SessionStore | None = None,
        autosave: bool = True,
        safe_mode: bool | None = None,
        approve: ApproveFn | None = None,
    ) -> Session:
        """Rebuild a session from `to_dict()` (or store) data; without `agent`, the recorded model is used."""
        manager = _manager_from(data)
        if agent is None:
            agent = Agent(model=_recorded_model(manager))
        return cls(
            agent,
            manager,
            store=store if store is not None else agent.store,
            autosave=autosave,
            safe_mode=safe_mode,
            approve=approve,
        )

    def save(self) -> None:
        """Write the session to its store now (autosave does this after every change)."""
        if self.store is not None:
            self.store.save(self.id, self.to_dict())

    def _autosave(self) -> None:
        if self.autosave:
            self.save()

    # --- turns ------------------------------------------------------------------------------------

    def run(
        self,
        prompt: str,
        *,
        images: list[dict[str, str]] | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        **llm_options: Any,
    ) -> RunResult:
        """Send `prompt`, run any tool steps, return the answer. Raises `kit_py.errors.AgentError`."""
        settings = self.agent.settings(
            temperature=temperature, max_tokens=max_tokens, llm_options=llm_options
        )
        with self._lock:
            before = self._snapshot()
            try:
                result = self._turn(Message.user(prompt, images), settings, None)
            except BaseException:
                self._rollback(before)
                raise
            self._autosave()
            return result

    def send(self, text: str) -> RunResult:
        """Shorthand for `run` on a persisted (channel) session: the answer is saved before this returns."""
        return self.run(text)

    async def run_async(self, prompt: str, **options: Any) -> RunResult:
        return await asyncio.to_thread(self.run, prompt, **options)

    def json(self, prompt: str, schema: Any, *, retries: int = 1, **options: Any) -> RunResult:
        """Ask for JSON matching `schema`; `result.output` is the validated value.

        `schema` is a pydantic model class (or another type pydantic understands): `output` is an
        instance of it; or a JSON schema dict: `output` is the plain JSON value, checked against it
        with `jsonschema`. Anything else raises TypeError, an invalid schema dict ValueError.

        The schema goes to the provider as `response_format` (where supported) and into the prompt.
        An answer that does not validate is sent back once with the error; if it still fails,
        `kit_py.errors.StructuredOutputError` is raised and the session is left unchanged.
        """
        schema_dict = structured.schema_of(schema)
        llm_options = dict(options.pop("llm_options", {}))
        for key in [k for k in options if k not in ("temperature", "max_tokens")]:
            llm_options[key] = options.pop(key)
        llm_options.setdefault("response_format", structured.response_format(schema, schema_dict))
        settings = self.agent.settings(llm_options=llm_options, **options)
        text = f"{prompt}\n\n{structured.instruction(schema_dict)}"
        with self._lock:
            before = self._snapshot()
            try:
                results = [self._turn(Message.user(text), settings, None)]
                for attempt in range(retries + 1):
                    try:
                        output = structured.validate(schema, results[-1].text)
                        break
                    except ValueError as exc:
                        if attempt == retries:
                            raise errors.StructuredOutputError(
                                f"the model's answer does not match {structured.schema_name(schema)}: {exc}"
                            ) from None
                        retry = Message.user(structured.retry_prompt(str(exc)))
                        results.append(self._turn(retry, settings, None))
            except BaseException:
                self._rollback(before)
                raise
            self._autosave()
        final = results[-1]
        for earlier in results[:-1]:
            final.usage.add(earlier.usage)
        final.messages = [m for r in results for m in r.messages]
        final.approvals = [a for r in results for a in r.approvals]
        final.output = output
        return final

    async def json_async(self, prompt: str, schema: Any, **options: Any) -> RunResult:
        return await asyncio.to_thread(self.json, prompt, schema, **options)

    def stream(self, prompt: str, **options: Any) -> Iterator[Event]:
        """Yield events while the turn runs (in a worker thread); the last one is `done` with the result.

        Breaking out early does not cancel the turn: it finishes and is saved in the background.
        """
        events: queue.Queue[Event | _Failure] = queue.Queue()
        self._start_worker(prompt, options, events.put)
        while True:
            item = events.get()
            if isinstance(item, _Failure):
                raise item.exc
            yield item
            if item.type == "done":
                return

    async def stream_async(self, prompt: str, **options: Any) -> AsyncIterator[Event]:
        """`async for ev in await session.stream_async(...)`: the turn starts when awaited."""
        loop = asyncio.get_running_loop()
        events: asyncio.Queue[Event | _Failure] = asyncio.Queue()

        def put(item: Event | _Failure) -> None:
            # If the event loop is gone the turn still completes and saves.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(events.put_nowait, item)

        self._start_worker(prompt, options, put)

        async def iterate() -> AsyncIterator[Event]:
            while True:
                item = await events.get()
                if isinstance(item, _Failure):
                    raise item.exc
                yield item
                if item.type == "done":
                    return

        return iterate()

    def _start_worker(self, prompt: str, options: dict[str, Any], put: Callable[[Any], None]) -> None:
        settings = self.agent.settings(
            temperature=options.pop("temperature", None),
            max_tokens=options.pop("max_tokens", None),
            llm_options=options,
        )

        def work() -> None:
            try:
                with self._lock:
                    before = self._snapshot()
                    try:
                        result = self._turn(Message.user(prompt), settings, put)
                    except BaseException:
                        self._rollback(before)
                        raise
                    self._autosave()
                put(Event("done", result.text, result=result))
            except BaseException as exc:  # handed to the consumer, who re-raises it
                put(_Failure(exc))

        threading.Thread(target=work, name=f"kit-turn-{self.id[:8]}", daemon=True).start()

    def _snapshot(self) -> tuple[int, str | None]:
        return len(self._manager.entries), self._manager.leaf_id

    def _rollback(self, snapshot: tuple[int, str | None]) -> None:
        """Forget everything appended since `snapshot` (nothing of it was saved yet)."""
        count, leaf = snapshot
        entries = self._manager.entries
        if len(entries) == count and self._manager.leaf_id == leaf:
            return
        kept = entries[:count]
        tree, _warnings = Tree.load(kept, list(range(1, count + 1)))
        tree.leaf_id = leaf
        self._manager = SessionManager(self._manager.header, tree, None)

    def _turn(self, message: Message, settings: Settings, put: Callable[[Any], None] | None) -> RunResult:
        from kit_py.engine import turn as engine

        self.agent.check()
        approvals: list[Approval] = []

        def on_event(turn_event: Any) -> None:
            event = _event(turn_event)
            if event is not None and put is not None:
                put(event)

        try:
            turn = engine.run_turn(
                self._manager,
                settings,
                _entry_of(message),
                on_event=on_event,
                tool_setup=self._tool_setup(approvals),
            )
        except engine.TurnFailed as failed:
            cause = failed.cause
            if not isinstance(cause, errors.AgentError):
                if isinstance(getattr(cause, "cause", None), KeyboardInterrupt):
                    raise KeyboardInterrupt from None
                raise errors.AgentError(cause.message) from None
            raise cause from None
        added = [Message.from_dict(e) for e in turn.entries if e.get("type") == "message"]
        return RunResult(
            turn.text, added, turn.model, turn.stop_reason, turn.usage, self.id, approvals=approvals
        )

    def _tool_setup(self, approvals: list[Approval]) -> Any:
        if not self.agent.tools:
            return None
        from kit_py.engine.turn import PendingAction, ToolSetup

        user_approve = self.approve

        def approve(action: PendingAction) -> Any:  # the engine expects an answer string
            # Without a callback nothing that needs approval runs: refusing is the safe default.
            if user_approve is None:
                answer = "refused"
            else:
                try:
                    reply = user_approve(action)
                except Exception as exc:  # a broken callback fails the turn like any other turn failure
                    raise errors.ToolError(
                        f"the approve callback raised {type(exc).__name__} for {action.tool}: {exc}"
                    ) from exc
                answer = reply if reply in _APPROVAL_ANSWERS else ("approved" if reply else "denied")
            allowed = answer in ("approved", "always")
            approvals.append(Approval(action.tool, dict(action.arguments), action.reason, allowed, answer))
            return answer

        def remembered(action: PendingAction) -> None:
            approvals.append(
                Approval(action.tool, dict(action.arguments), action.reason, True, "always (remembered)")
            )

        return ToolSetup(
            tools=list(self.agent.tools),
            cwd=self.agent.cwd,
            safe_mode=self.safe_mode,
            approve=approve,
            unanswerable="no approve callback was given (Agent or session `approve=`) to ask",
            on_remembered=remembered,
        )

    # --- channels ---------------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        channel: str,
        *,
        model: str | None = None,
        system_prompt: str | None = None,
        session_id: str | None = None,
        **agent_options: Any,
    ) -> Session:
        """A new persisted session in `channel` (a folder of session files under `$KIT_HOME/channels/`).

        Raises `kit_py.errors.SessionExistsError` when `session_id` is already taken (use `Session.load`).
        """
        agent = Agent(model=model, **agent_options)
        store = JSONLStore(channel_dir(channel))
        if session_id is not None:
            _require_new(store, session_id)
        return agent.session(session_id=session_id, system=system_prompt, store=store)

    @classmethod
    def load(
        cls,
        session_id: str,
        *,
        channel: str | None = None,
        store: SessionStore | None = None,
        agent: Agent | None = None,
        **agent_options: Any,
    ) -> Session:
        """A saved session by id: from `store`, else from `channel`, else any channel or CLI session.

        Without `agent`, one is made from `agent_options` with the session's recorded model.
        """
        candidates: list[SessionStore] = []
        if store is not None:
            candidates.append(store)
        elif channel is not None:
            candidates.append(JSONLStore(channel_dir(channel)))
        else:
            candidates.extend(JSONLStore(d) for d in _channel_dirs())
            candidates.append(JSONLStore())
        for candidate in candidates:
            data = candidate.load(session_id)
            if data is not None:
                if agent is None:
                    agent_options.setdefault("model", _recorded_model(_manager_from(data)))
                    agent = Agent(**agent_options)
                return cls.from_dict(data, agent, store=candidate)
        raise errors.SessionError(f"no saved session with id {session_id!r}")

    @classmethod
    def history(cls, channel: str) -> list[SessionSummary]:
        """The channel's sessions, newest first."""
        store = JSONLStore(channel_dir(channel))
        return [_summary(info, channel) for info in store.infos()]

    @classmethod
    def search(cls, text: str, channel: str | None = None) -> list[SessionSummary]:
        """Sessions (in `channel`, or in every channel) with a message containing `text` (any case)."""
        needle = text.casefold()
        dirs = [channel_dir(channel)] if channel is not None else _channel_dirs()
        found = []
        for folder in dirs:
            for info in JSONLStore(folder).infos():
                manager = SessionManager.open(info.path)
                if any(
                    e.get("type") == "message" and needle in fmt.message_text(e).casefold()
                    for e in manager.entries
                ):
                    found.append(_summary(info, folder.name))
        found.sort(key=lambda s: s.modified, reverse=True)
        return found


def _require_new(store: SessionStore | None, session_id: str) -> None:
    """Refuse an explicit id for a new session when the store already holds it (saving would clobber it)."""
    if store is not None and store.load(session_id) is not None:
        raise errors.SessionExistsError(
            f"a session with id {session_id!r} already exists in the store; choose another id "
            "(or load that session to continue it)"
        )


def _manager_from(data: dict[str, Any]) -> SessionManager:
    """An in-memory SessionManager holding a copy of `to_dict()`-shaped data."""
    copy = orjson.loads(orjson.dumps(data))
    entries = copy.get("entries") or []
    tree, _warnings = Tree.load(entries, list(range(1, len(entries) + 1)))
    if "leaf_id" in copy and (copy["leaf_id"] is None or copy["leaf_id"] in tree.by_id):
        tree.leaf_id = copy["leaf_id"]
    return SessionManager(copy.get("header") or fmt.header(""), tree, None)


def _recorded_model(manager: SessionManager) -> str | None:
    """The model a session last used (its last `model_change`), as a litellm model string."""
    recorded = manager.current_model()
    if not recorded or not recorded[1]:
        return None
    provider, model_id, _thinking = recorded
    return model_id if "/" in model_id or not provider else f"{provider}/{model_id}"


def channel_dir(channel: str) -> Path:
    """`$KIT_HOME/channels/<channel>/`: one folder of CLI-format session files per channel."""
    if not _CHANNEL_NAME.match(channel):
        raise ValueError(f"bad channel name {channel!r}: use letters, digits, '.', '_' or '-'")
    from kit_py.session import kit_home

    return kit_home() / "channels" / channel


def _channel_dirs() -> list[Path]:
    from kit_py.session import kit_home

    base = kit_home() / "channels"
    try:
        return sorted(p for p in base.iterdir() if p.is_dir())
    except FileNotFoundError:
        return []


def _summary(info: Any, channel: str | None) -> SessionSummary:
    return SessionSummary(
        id=info.session_id,
        channel=channel,
        name=info.name,
        preview=info.preview,
        message_count=info.message_count,
        created=info.created,
        modified=info.modified,
        path=info.path,
    )
