"""`Agent` and `Session`: the two objects a library user holds; a thin face over the engine's
`Conversation`. An Agent is a model and how to talk to it; a Session is one conversation.

Every turn is `Conversation.run`, so context building, tools, safe mode, compaction and the failure
policy behave exactly as in `kit`. A session appends to its store as it goes (the built-in stores
append entries, like the session file); a failed turn is stepped back from ("discard" policy): it
never shows up in `session.messages`, and stays in the store only as a side branch.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import threading
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson

from kit_py import errors
from kit_py.api import structured
from kit_py.api.channels import channel_dir, channel_dirs
from kit_py.api.messages import Approval, Event, Message, RunResult, SessionSummary, api_event
from kit_py.api.stores import JSONLStore, MemoryStore, SessionStore
from kit_py.api.tools import ApproveFn, ToolSpec, resolve_tools
from kit_py.config import DEFAULT_MODEL, Settings
from kit_py.engine import approval, events
from kit_py.engine.approval import PendingAction, ToolSetup
from kit_py.engine.conversation import Conversation, model_string
from kit_py.engine.turn import TurnFailed
from kit_py.session import SessionManager, catalog
from kit_py.session import format as fmt
from kit_py.session.cwd import logical_cwd

DATA_FORMAT = 1


# --- agent ---------------------------------------------------------------------------------------


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
        caching: bool = True,
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
        self.caching = caching
        self.compaction_model = compaction_model
        self.context_window = context_window
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.thinking_level = thinking_level
        self.max_steps = max_steps
        self.timeout = timeout
        self.max_retries = max_retries
        self.cwd = Path(cwd).expanduser().absolute() if cwd is not None else Path(logical_cwd())
        self.store = store if store is not None else MemoryStore()
        self.llm_options = llm_options

    def __repr__(self) -> str:
        return f"Agent(model={self.model!r}, tools={[t.name for t in self.tools]})"

    def settings(self, **overrides: Any) -> Settings:
        """A fresh `Settings` for one turn; `overrides` are per-call options (None = agent default).

        The agent's model and thinking level are explicit: they win over what a loaded session
        recorded (the system prompt is the session's own)."""
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
            caching=self.caching,
            compaction_model=self.compaction_model,
            safe_mode=self.safe_mode,
            max_steps=self.max_steps,
            llm_options=llm_options,
            explicit={"model", "thinking_level"},
        )
        # context_window: the model's window when litellm does not know it (drives auto-compaction).
        for key, value in {"context_window": self.context_window, **overrides}.items():
            if value is not None:
                setattr(settings, key, value)
        return settings

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
        return Session.open_or_create(
            self,
            session_id,
            store=store if store is not None else self.store,
            system=system if system is not None else self.system,
            messages=messages,
            autosave=autosave,
            safe_mode=safe_mode,
            approve=approve,
        )

    def run(self, prompt: str, **options: Any) -> RunResult:
        """One question in a fresh session."""
        return self.session().run(prompt, **options)


# --- session -------------------------------------------------------------------------------------


class _Failure:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def _entry_of(message: Message | dict[str, Any]) -> dict[str, Any]:
    entry = message.to_dict() if isinstance(message, Message) else dict(message)
    for key in ("id", "parent_id", "timestamp"):
        entry.pop(key, None)
    extra = {k: v for k, v in entry.items() if k not in ("type", "role", "parts")}
    return fmt.message(entry["role"], entry["parts"], **extra)


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
        self._approvals: list[Approval] = []
        self._conversation = Conversation.resume(
            manager, agent.settings(), tools=self._tool_setup(), failure_policy="discard"
        )
        self._lock = threading.RLock()

    @classmethod
    def open_or_create(
        cls,
        agent: Agent,
        session_id: str | None,
        *,
        store: SessionStore,
        system: str | None,
        messages: Iterable[Message] | None,
        autosave: bool,
        safe_mode: bool | None,
        approve: ApproveFn | None,
    ) -> Session:
        """The stored session `session_id`, or a new one seeded with `system` and `messages`."""
        options: dict[str, Any] = {"autosave": autosave, "safe_mode": safe_mode, "approve": approve}
        if session_id is not None:
            if autosave:
                manager = store.open_session(session_id)
                if manager is not None:
                    return cls(agent, manager, store=store, **options)
            else:
                data = store.load(session_id)
                if data is not None:
                    return cls.from_dict(data, agent, store=store, **options)
        header = fmt.header(str(agent.cwd), session_id=session_id)
        manager = store.new_session(header) if autosave else SessionManager.from_entries(header, [], None)
        session = cls(agent, manager, store=store, **options)
        with session._lock:
            if system:
                session._conversation.add_message(fmt.message("system", [fmt.text_part(system)]))
                session._conversation.settings.system_prompt = system
            for message in messages or []:
                session._conversation.add_message(_entry_of(message))
            if autosave and not manager.entries:
                session.save()  # an empty session is stored (and listed) too
        return session

    def __repr__(self) -> str:
        return f"Session(id={self.id!r}, messages={len(self.messages)})"

    # --- state ------------------------------------------------------------------------------------

    @property
    def _manager(self) -> SessionManager:
        return self._conversation.session

    @property
    def id(self) -> str:
        return self._conversation.id

    @property
    def system(self) -> str | None:
        """The system prompt: the latest `system` message of the conversation, if any."""
        return self._conversation.system_prompt

    @property
    def messages(self) -> list[Message]:
        """A copy of the conversation on the current branch (system prompt excluded: see `.system`)."""
        with self._lock:
            return [Message.from_dict(e) for e in self._conversation.messages() if e.get("role") != "system"]

    @property
    def name(self) -> str | None:
        return self._manager.name

    @name.setter
    def name(self, value: str) -> None:
        with self._lock:
            self._conversation.rename(value)

    @property
    def entries(self) -> list[dict[str, Any]]:
        """Every tree entry in wire form (a copy), for tools that want the whole tree."""
        with self._lock:
            return orjson.loads(orjson.dumps(self._manager.entries))

    def add_message(self, message: Message) -> None:
        """Append a message to the conversation as if it had been said."""
        with self._lock:
            self._conversation.add_message(_entry_of(message))

    def clear(self) -> None:
        """Start over (the system prompt stays). Earlier messages remain in the tree, off the branch."""
        with self._lock:
            system = self.system
            self._conversation.reset()
            if system:
                self._conversation.add_message(fmt.message("system", [fmt.text_part(system)]))

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
            if self.store is not None and self.autosave:
                target = self.store.new_session(header)
            else:
                target = SessionManager.from_entries(header, [], None)
            child = Session(
                self.agent, target, store=self.store, autosave=self.autosave, safe_mode=self.safe_mode,
                approve=self.approve,
            )
            if self._manager.leaf_id is not None:
                self._conversation.fork(into=target)
            child._conversation = Conversation.resume(
                target, self.agent.settings(), tools=child._tool_setup(), failure_policy="discard"
            )
            return child

    def compact(self, focus: str | None = None) -> str | None:
        """Summarize the older conversation now (as `/compact` does); returns the summary, or None
        when there is too little to compact. Nothing is deleted: later requests send the summary
        plus the recent turns (and the system prompt, first), while `messages` still lists everything."""
        with self._lock:
            outcome = self._conversation.compact(focus)
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
        """Rebuild a session from `to_dict()` (or store) data; without `agent`, the recorded model is used.

        The rebuilt session lives in memory until `save()` (or autosave after a change) writes it."""
        manager = _manager_from(data)
        if agent is None:
            agent = Agent(model=_recorded_model(manager))
        session = cls(
            agent,
            manager,
            store=store if store is not None else agent.store,
            autosave=autosave,
            safe_mode=safe_mode,
            approve=approve,
        )
        session._save_on_change = True
        return session

    _save_on_change = False
    """A session rebuilt in memory (from_dict, autosave off) is not attached to its store's log."""

    def save(self) -> None:
        """Write the session to its store now (a session attached to its store is always saved)."""
        if self.store is not None:
            self.store.save(self.id, self.to_dict())

    def _after_change(self) -> None:
        if self.autosave and self._save_on_change:
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
            result = self._turn(Message.user(prompt, images), settings, None)
            self._after_change()
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
        `kit_py.errors.StructuredOutputError` is raised and `messages` is left as it was (the attempts
        stay in the store, off the branch).
        """
        schema_dict = structured.schema_of(schema)
        llm_options = dict(options.pop("llm_options", {}))
        for key in [k for k in options if k not in ("temperature", "max_tokens")]:
            llm_options[key] = options.pop(key)
        llm_options.setdefault("response_format", structured.response_format(schema, schema_dict))
        settings = self.agent.settings(llm_options=llm_options, **options)
        text = f"{prompt}\n\n{structured.instruction(schema_dict)}"
        with self._lock, self._conversation.discarding():  # a failed validation discards the attempts
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
        self._after_change()
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
                    result = self._turn(Message.user(prompt), settings, put)
                    self._after_change()
                put(Event("done", result.text, result=result))
            except BaseException as exc:  # handed to the consumer, who re-raises it
                put(_Failure(exc))

        threading.Thread(target=work, name=f"kit-turn-{self.id[:8]}", daemon=True).start()

    def _turn(self, message: Message, settings: Settings, put: Callable[[Any], None] | None) -> RunResult:
        self._approvals = []

        def on_event(event: events.Event) -> None:
            public = api_event(event)
            if public is not None and put is not None:
                put(public)

        self._conversation.on_event = on_event
        settings.system_prompt = self._conversation.settings.system_prompt
        if self._conversation.tools is not None:
            self._conversation.tools.safe_mode = self.safe_mode
        try:
            turn = self._conversation.run(_entry_of(message), settings=settings)
        except TurnFailed as failed:
            cause = failed.cause
            if not isinstance(cause, errors.AgentError):
                if isinstance(getattr(cause, "cause", None), KeyboardInterrupt):
                    raise KeyboardInterrupt from None
                raise errors.AgentError(cause.message) from None
            raise cause from None
        added = [Message.from_dict(e) for e in turn.entries if e.get("type") == "message"]
        added = [m for m in added if m.role != "system"]
        return RunResult(
            turn.text, added, turn.model, turn.stop_reason, turn.usage, self.id, approvals=self._approvals
        )

    def _tool_setup(self) -> ToolSetup | None:
        if not self.agent.tools:
            return None
        user_approve = self.approve

        def ask(action: PendingAction) -> Any:  # the engine expects an answer string
            # Without a callback nothing that needs approval runs: refusing is the safe default.
            if user_approve is None:
                answer = approval.REFUSED
            else:
                try:
                    reply = user_approve(action)
                except Exception as exc:  # a broken callback fails the turn like any other turn failure
                    raise errors.ToolError(
                        f"the approve callback raised {type(exc).__name__} for {action.tool}: {exc}"
                    ) from exc
                if reply not in approval.ANSWERS:
                    reply = approval.APPROVED if reply else approval.DENIED
                answer = reply
            allowed = answer in (approval.APPROVED, approval.ALWAYS)
            record = Approval(action.tool, dict(action.arguments), action.reason, allowed, answer)
            self._approvals.append(record)
            return answer

        def remembered(action: PendingAction) -> None:
            self._approvals.append(
                Approval(action.tool, dict(action.arguments), action.reason, True, "always (remembered)")
            )

        return ToolSetup(
            tools=list(self.agent.tools),
            cwd=self.agent.cwd,
            safe_mode=self.safe_mode,
            approve=ask,
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
            candidates.extend(JSONLStore(d) for d in channel_dirs())
            candidates.append(JSONLStore())
        for candidate in candidates:
            manager = candidate.open_session(session_id)  # attached: later turns append to it
            if manager is not None:
                if agent is None:
                    agent_options.setdefault("model", _recorded_model(manager))
                    agent = Agent(**agent_options)
                return cls(agent, manager, store=candidate)
        raise errors.SessionError(f"no saved session with id {session_id!r}")

    @classmethod
    def history(cls, channel: str) -> list[SessionSummary]:
        """The channel's sessions, newest first."""
        store = JSONLStore(channel_dir(channel))
        return [_summary(info, channel) for info in store.infos()]

    @classmethod
    def search(cls, text: str, channel: str | None = None) -> list[SessionSummary]:
        """Sessions (in `channel`, or in every channel) with a message containing `text` (any case)."""
        dirs = [channel_dir(channel)] if channel is not None else channel_dirs()
        return [_summary(info, info.path.parent.name) for info in catalog.search_sessions(text, dirs)]


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
    header = copy.get("header") or fmt.header("")
    manager = SessionManager.from_entries(header, copy.get("entries") or [], None, copy.get("leaf_id"))
    if "leaf_id" in copy and copy["leaf_id"] is None:  # a cleared session: an empty branch
        manager.tree.leaf_id = None
    return manager


def _recorded_model(manager: SessionManager) -> str | None:
    """The model a session last used (its last `model_change`), as a litellm model string."""
    recorded = manager.current_model()
    if not recorded or not recorded[1]:
        return None
    provider, model_id, _thinking = recorded
    return model_string(provider, model_id)


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
