"""`Agent` and `Session`, the two objects a library user holds: an Agent is a model and how to talk to
it; a Session is one conversation tree, a thin face over the engine's `Conversation` (the calls that
talk through it, `run`/`stream`/`json` and their async forms, are its `Turns` in `api/turns.py`).

Every turn is `Conversation.run` (sync calls) or `Conversation.arun` (async calls and streams, on
litellm's async client), so context building, tools, safe mode, compaction and the failure policy
behave exactly as in `kit`. A session appends to its store as it goes (the built-in stores append
entries, like the session file). A failed or cancelled turn is stepped back from (the "discard"
policy, interrupts included): it never shows up in `session.messages`, and stays in the store only
as a side branch.

Turns on one session take turns (a lock); reading it (`messages`, `to_dict()`, `repr`) never waits:
while a turn runs, reads show the session as it was before that turn.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from kit_py import catalog, errors, llm
from kit_py.api.approvals import ApproveFn, Approver
from kit_py.api.channels import channel_dir, channel_dirs, channel_settings
from kit_py.api.data import DATA_FORMAT, entry_of, is_message, manager_from, summary
from kit_py.api.messages import Branch, Message, RunResult, SessionSummary
from kit_py.api.options import litellm_options
from kit_py.api.recorded import (
    RestoreWarning,
    agent_options,
    recorded_settings,
    settings_entry,
    settings_record,
    unrestorable,
)
from kit_py.api.stores import JSONLStore, MemoryStore, SessionStore, StoreLog
from kit_py.api.tools import ToolSpec, resolve_mcp_servers, resolve_tools
from kit_py.api.turns import Turns
from kit_py.config import DEFAULT_MODEL, THINKING_LEVELS, Settings
from kit_py.engine.approval import ToolSetup
from kit_py.engine.branching import branch_tips, tip_of
from kit_py.engine.conversation import Conversation, model_string
from kit_py.llm.scripted import ScriptedModel
from kit_py.llm.types import UsageTotals, usage_totals
from kit_py.session import SessionManager
from kit_py.session import format as fmt
from kit_py.session.cwd import logical_cwd

AGENT_ARGUMENTS = (
    "model", "provider", "api_base", "api_key", "system", "tools", "mcp_servers", "safe_mode", "approve",
    "auto_compact", "caching", "compaction_model", "context_window", "temperature", "max_tokens",
    "thinking_level", "max_steps", "timeout", "max_retries", "cwd", "store", "llm_options",
)  # fmt: skip


class Agent:
    """A model and how to talk to it: options, tools, safe mode. Sessions hold the conversations.

    `model` is any litellm model string (default: `$KIT_MODEL`, else kit's default) or a
    `ScriptedModel` (tests); `provider=` prefixes a bare model name. `api_base`/`api_key` default to
    `$KIT_API_BASE`/`$KIT_API_KEY`. Other keywords are litellm request options (`seed`, `top_p`...);
    an unknown keyword is a TypeError, and provider extras kit does not know go in `llm_options={...}`.
    """

    def __init__(
        self,
        model: str | ScriptedModel | None = None,
        *,
        provider: str | None = None,
        api_base: str | None = None,
        api_key: str | None = None,
        system: str | None = None,
        tools: Iterable[ToolSpec] | None = None,
        mcp_servers: Mapping[str, Any] | None = None,
        safe_mode: bool | None = None,
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
        llm_options: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> None:
        self.scripted = model if isinstance(model, ScriptedModel) else None
        """The scripted model this agent answers with (held, so it stays alive), if any."""
        name = model.model if isinstance(model, ScriptedModel) else model
        name = name or os.environ.get("KIT_MODEL") or DEFAULT_MODEL
        if provider and not name.startswith(f"{provider}/"):
            name = f"{provider}/{name}"
        if thinking_level not in THINKING_LEVELS:
            levels = ", ".join(THINKING_LEVELS)
            raise ValueError(f"thinking_level must be one of {levels}, not {thinking_level!r}")
        if safe_mode is not None and not isinstance(safe_mode, bool):
            raise TypeError(f"safe_mode must be True or False, not {safe_mode!r}")
        self.model: str = name
        self.api_base = api_base or os.environ.get("KIT_API_BASE") or None
        self.api_key = api_key or os.environ.get("KIT_API_KEY") or None
        self.system = system
        self.tools = resolve_tools(tools)
        self.safe_mode = safe_mode
        """None: not set here (sessions use their recorded or channel setting, else off)."""
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
        self.mcp = resolve_mcp_servers(mcp_servers, self.cwd)
        """The agent's MCP servers (shared by its sessions), started with the first turn; see `close`."""
        self.store: SessionStore = store if store is not None else MemoryStore()
        self.llm_options: dict[str, Any] = litellm_options("Agent", options, AGENT_ARGUMENTS, llm_options)

    def __repr__(self) -> str:
        return f"Agent(model={self.model!r}, tools={[t.name for t in self.tools]})"

    def close(self) -> None:
        """Stop the agent's MCP servers (interpreter exit does it too); `with Agent(...)` calls it."""
        if self.mcp is not None:
            self.mcp.close()

    def __enter__(self) -> Agent:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def settings(
        self,
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
        llm_options: Mapping[str, Any] | None = None,
    ) -> Settings:
        """A fresh `Settings` for one turn; the arguments are per-call options (None: the agent's).

        The agent's model and thinking level are explicit: they win over what a loaded session
        recorded (the system prompt is the session's own)."""
        return Settings(
            model=self.model,
            api_base=self.api_base,
            api_key=self.api_key,
            max_tokens=max_tokens if max_tokens is not None else self.max_tokens,
            temperature=temperature if temperature is not None else self.temperature,
            thinking_level=self.thinking_level,
            timeout=self.timeout,
            max_retries=self.max_retries,
            auto_compact=self.auto_compact,
            caching=self.caching,
            compaction_model=self.compaction_model,
            context_window=self.context_window,
            max_steps=self.max_steps,
            llm_options={**self.llm_options, **(llm_options or {})},
            explicit={"model", "thinking_level"},
        )

    def session(
        self,
        session_id: str | None = None,
        *,
        system: str | None = None,
        messages: Iterable[Message | Mapping[str, Any]] | None = None,
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

    def run(self, prompt: str, **options: Any) -> RunResult[None]:
        """One question in a fresh session."""
        return self.session().run(prompt, **options)


def preload(*, background: bool = False) -> threading.Thread | None:
    """Import the model library (litellm, 2-3 s) now instead of in the first call: at start-up of a
    service, or in the background (`background=True` returns the thread) while it gets ready."""
    if background:
        return llm.warm_up()
    llm.load_litellm()
    return None


class Session(Turns):
    """One conversation tree. Create with `agent.session()`, `Session.create()` or `Session.load()`."""

    agent: Agent

    def __init__(
        self,
        agent: Agent,
        manager: SessionManager,
        *,
        store: SessionStore | None = None,
        autosave: bool = True,
        safe_mode: bool | None = None,
        approve: ApproveFn | None = None,
        channel: str | None = None,
    ) -> None:
        self.agent = agent
        self.store = store
        self.autosave = autosave
        if isinstance(manager.log, StoreLog):
            manager.log.exclusive = True  # two Session objects on one id raise instead of interleaving
        self.channel = channel
        """The channel the session lives in (`Session.create` / `Session.load`), else None."""
        self._approver = Approver(approve if approve is not None else agent.approve)
        self._recorded = recorded_settings(manager.tree)
        recorded_safe = self._recorded.get("safe_mode") if self._recorded else None
        # This session's argument, else the agent's, else what the session recorded: fail closed.
        self._safe_mode = _first_set(safe_mode, agent.safe_mode, recorded_safe, False)
        self._turn_lock = threading.Lock()
        self._frozen: tuple[str | None, int] | None = None
        """(leaf, entry count) readers see while a turn runs: the session before it."""
        self._conversation = Conversation.resume(
            manager,
            agent.settings(),
            tools=self._tool_setup(),
            failure_policy="discard",
            keep_interrupted=False,
        )
        if self._recorded is not None:
            for problem in unrestorable(self._recorded, agent, self.approve is not None, self._safe_mode):
                warnings.warn(f"session {self.id}: {problem}", RestoreWarning, stacklevel=3)

    # --- creating, finding ------------------------------------------------------------------------

    @classmethod
    def open_or_create(
        cls,
        agent: Agent,
        session_id: str | None,
        *,
        store: SessionStore,
        system: str | None,
        messages: Iterable[Message | Mapping[str, Any]] | None,
        autosave: bool,
        safe_mode: bool | None,
        approve: ApproveFn | None,
        channel: str | None = None,
    ) -> Session:
        """The stored session `session_id`, or a new one seeded with `system` and `messages`."""
        options: dict[str, Any] = {
            "autosave": autosave, "safe_mode": safe_mode, "approve": approve, "channel": channel
        }  # fmt: skip
        if session_id is not None:
            if autosave:
                manager = store.open_session(session_id)
                if manager is not None:
                    return cls(agent, manager, store=store, **options)
            else:
                data = store.load(session_id)
                if data is not None:
                    return cls.from_dict(data, agent, store=store, **options)
        seeded = [entry_of(m) for m in messages or []]  # bad messages fail before anything is written
        header = fmt.header(str(agent.cwd), session_id=session_id)
        if channel is not None:
            header["channel"] = channel  # a store that keeps no folders per channel lists it by this
        manager = store.new_session(header) if autosave else SessionManager.from_entries(header, [], None)
        session = cls(agent, manager, store=store, **options)
        with session._turn_lock:
            if system:
                session._conversation.add_message(fmt.message("system", [fmt.text_part(system)]))
                session._conversation.settings.system_prompt = system
            session._record_settings()
            for entry in seeded:
                session._conversation.add_message(entry)
        return session

    @classmethod
    def create(
        cls,
        channel: str,
        *,
        model: str | None = None,
        system_prompt: str | None = None,
        session_id: str | None = None,
        safe_mode: bool | None = None,
        approve: ApproveFn | None = None,
        store: SessionStore | None = None,
        **agent_options: Any,
    ) -> Session:
        """A new persisted session in `channel` (a folder of session files under `$KIT_HOME/channels/`,
        or, with `store`, that store's sessions listed under the channel's name).

        What is not given comes from the channel's settings (`kit_py.api.configure_channel`).
        Raises `kit_py.errors.SessionExistsError` when `session_id` is already taken (use `Session.load`).
        """
        defaults = channel_settings(channel)
        if defaults.thinking_level is not None:
            agent_options.setdefault("thinking_level", defaults.thinking_level)
        if defaults.tools is not None:
            agent_options.setdefault("tools", list(defaults.tools))
        agent = Agent(model=model or defaults.model, **agent_options)
        store = store if store is not None else JSONLStore(channel_dir(channel))
        if session_id is not None:
            _require_new(store, session_id)
        return cls.open_or_create(
            agent,
            session_id,
            store=store,
            system=system_prompt if system_prompt is not None else defaults.system_prompt,
            messages=None,
            autosave=True,
            safe_mode=safe_mode if safe_mode is not None else defaults.safe_mode,
            approve=approve,
            channel=channel,
        )

    @classmethod
    def load(
        cls,
        session_id: str,
        *,
        channel: str | None = None,
        store: SessionStore | None = None,
        agent: Agent | None = None,
        safe_mode: bool | None = None,
        approve: ApproveFn | None = None,
        **agent_options: Any,
    ) -> Session:
        """A saved session by id: from `store`, else from `channel`, else any channel or CLI session.

        Without `agent`, one is made for what the session recorded (model, endpoint, built-in tools,
        options, safe mode), with `agent_options` on top. What cannot be restored (Python function
        tools, the approve callback) is named in a `RestoreWarning`.
        """
        candidates: list[tuple[SessionStore, str | None]] = []
        if store is not None:
            candidates.append((store, None))
        elif channel is not None:
            candidates.append((JSONLStore(channel_dir(channel)), channel))
        else:
            candidates.extend((JSONLStore(d), d.name) for d in channel_dirs())
            candidates.append((JSONLStore(), None))
        for candidate, channel_name in candidates:
            manager = candidate.open_session(session_id)  # attached: later turns append to it
            if manager is not None:
                agent = agent or _agent_for(manager, agent_options)
                session = cls(agent, manager, store=candidate, safe_mode=safe_mode, approve=approve)
                recorded = manager.header.get("channel")
                session.channel = channel_name or (recorded if isinstance(recorded, str) else None)
                return session
        raise errors.SessionError(f"no saved session with id {session_id!r}")

    @classmethod
    def history(cls, channel: str, *, store: SessionStore | None = None) -> list[SessionSummary]:
        """The channel's sessions, newest first (with `store`: those `Session.create` put there)."""
        if store is not None:
            return store.channel_history(channel)
        files = JSONLStore(channel_dir(channel))
        return [summary(info, channel) for info in files.infos()]

    @classmethod
    def search(
        cls, text: str, channel: str | None = None, *, store: SessionStore | None = None
    ) -> list[SessionSummary]:
        """Sessions (in `channel`, or in every channel) whose messages hold the words of `text`, best
        match first: the full-text index `kit sessions search` uses (whole words, any case or accent;
        `word*` for a prefix, `"two words"` for a phrase). With `store`, the store's own search
        (every session it holds when `channel` is None)."""
        if store is not None:
            return store.search_sessions(text, channel)
        dirs = [channel_dir(channel)] if channel is not None else channel_dirs()
        return [summary(info, info.path.parent.name) for info in catalog.search_sessions(text, dirs)]

    def __repr__(self) -> str:
        return f"Session(id={self.id!r}, messages={len(self.messages)})"

    # --- what it is -------------------------------------------------------------------------------

    @property
    def _manager(self) -> SessionManager:
        return self._conversation.session

    @property
    def id(self) -> str:
        return self._conversation.id

    @property
    def session_id(self) -> str:
        """The session's id (the same as `id`)."""
        return self.id

    @property
    def created(self) -> datetime | None:
        """When the session was started (its header's timestamp, UTC)."""
        stamp = self._manager.header.get("timestamp")
        try:
            return fmt.parse_timestamp(stamp) if isinstance(stamp, str) else None
        except ValueError:
            return None

    @property
    def model(self) -> str:
        """The litellm model string the next turn uses."""
        return self.agent.model

    @property
    def system(self) -> str | None:
        """The system prompt: the latest `system` message of the conversation, if any."""
        return self._conversation.system_prompt

    @property
    def safe_mode(self) -> bool:
        """Whether state-modifying tool calls wait for `approve` (recorded in the session)."""
        return self._safe_mode

    @safe_mode.setter
    def safe_mode(self, value: bool) -> None:
        if not isinstance(value, bool):
            raise TypeError(f"safe_mode must be True or False, not {value!r}")
        with self._turn_lock:
            self._safe_mode = value
            if self._conversation.tools is not None:
                self._conversation.tools.set_safe_mode(value)
            self._record_settings()
            self._after_change()

    @property
    def approve(self) -> ApproveFn | None:
        """The approve callback (True/False/`ApprovalAnswer`, or a coroutine giving one)."""
        return self._approver.user_approve

    @approve.setter
    def approve(self, value: ApproveFn | None) -> None:
        self._approver.user_approve = value

    @property
    def name(self) -> str | None:
        return self._manager.name

    @name.setter
    def name(self, value: str) -> None:
        with self._turn_lock:
            self._conversation.rename(value)
            self._after_change()

    def _view(self) -> tuple[str | None, int]:
        frozen = self._frozen
        if frozen is not None:
            return frozen
        return self._manager.leaf_id, len(self._manager.entries)

    def _path(self, leaf: str | None) -> list[dict[str, Any]]:
        return self._manager.tree.path(leaf) if leaf is not None else []

    @property
    def messages(self) -> list[Message]:
        """A copy of the conversation on the current branch (system prompt excluded: see `.system`)."""
        leaf, _count = self._view()
        return [Message.from_entry(e) for e in self._path(leaf) if is_message(e)]

    @property
    def entries(self) -> list[dict[str, Any]]:
        """Every tree entry in wire form (a copy), for tools that want the whole tree."""
        _leaf, count = self._view()
        return orjson.loads(orjson.dumps(self._manager.entries[:count]))

    @property
    def usage(self) -> UsageTotals:
        """Tokens and cost of every answer in the session so far (all branches: what was paid for)."""
        _leaf, count = self._view()
        return usage_totals(self._manager.entries[:count])

    # --- changing it ------------------------------------------------------------------------------

    def add_message(self, message: Message | Mapping[str, Any]) -> None:
        """Append a message as if it had been said (a `Message`, or an OpenAI-style dict)."""
        entry = entry_of(message)
        with self._turn_lock:
            self._conversation.add_message(entry)
            self._after_change()

    def clear(self) -> None:
        """Start over (the system prompt stays). Earlier messages remain in the tree, off the branch."""
        with self._turn_lock:
            system = self.system
            self._conversation.reset()
            if system:
                self._conversation.add_message(fmt.message("system", [fmt.text_part(system)]))
            self._after_change()

    def fork(self, session_id: str | None = None) -> Session:
        """A new session holding this conversation so far; the two diverge from here.

        Raises `kit_py.errors.SessionExistsError` when `session_id` is this session's or already stored.
        """
        with self._turn_lock:
            if session_id is not None:
                if session_id == self.id:
                    raise errors.SessionExistsError(f"cannot fork session {session_id!r} into itself")
                _require_new(self.store, session_id)
            header = fmt.header(self._manager.cwd, session_id=session_id, parent_session_id=self.id or None)
            if self.store is not None and self.autosave:
                target = self.store.new_session(header)
            else:
                target = SessionManager.from_entries(header, [], None)
            if self._manager.leaf_id is not None:
                self._conversation.fork(into=target)
            return Session(
                self.agent,
                target,
                store=self.store,
                autosave=self.autosave,
                safe_mode=self._safe_mode,
                approve=self.approve,
                channel=self.channel,
            )

    def compact(self, focus: str | None = None) -> str | None:
        """Summarize the older conversation now (as `/compact` does); returns the summary, or None
        when there is too little to compact. Nothing is deleted: later requests send the summary
        plus the recent turns (and the system prompt, first), while `messages` still lists everything."""
        with self._turn_lock:
            outcome = self._conversation.compact(focus)
            self._after_change()
        return outcome.summary if outcome is not None else None

    # --- branches ---------------------------------------------------------------------------------

    @property
    def leaf_id(self) -> str | None:
        """The entry the session stands at: the next turn continues from it."""
        return self._view()[0]

    @property
    def labels(self) -> dict[str, str]:
        """Labels by entry id (`label(...)`)."""
        return self._manager.labels

    def branches(self) -> list[Branch]:
        """Every branch of the tree (as the CLI's tree shows them), in the order they were written."""
        tree = self._manager.tree
        leaf, count = self._view()
        here = tip_of(tree, leaf)
        labels = self._manager.labels
        out: list[Branch] = []
        for tip in branch_tips(tree, leaf, count):
            path = [e for e in tree.path(tip) if is_message(e)]
            if path:
                last = Message.from_entry(path[-1])
                out.append(Branch(tip, tip == here, len(path), last, labels.get(tip)))
        return out

    def move_to(self, entry_id: str, *, summarize: bool = False) -> str | None:
        """Continue from `entry_id`, as the CLI's tree (`/tree`) does: the next turn follows the path to
        it. A user message is stepped before and its text returned, to send again (edited); for any
        other entry (e.g. a `Branch.id`) None. `summarize=True` first summarizes the part of the branch
        left behind into a `branch_summary`, sent as context. Persisted: a reload is where it was left.
        """
        with self._turn_lock:
            self._require_entry(entry_id)
            moved = self._conversation.navigate(entry_id, summarize=summarize)
            self._after_change()
        return moved.edit_text

    def label(self, entry_id: str, text: str) -> None:
        """Label an entry (shown by `branches()` and the CLI's tree); "" removes the label."""
        with self._turn_lock:
            self._require_entry(entry_id)
            self._conversation.label(entry_id, text)
            self._after_change()

    def _require_entry(self, entry_id: str) -> None:
        if self._manager.get(entry_id) is None:
            raise ValueError(f"no entry {entry_id!r} in session {self.id}")

    # --- persistence ------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data: the whole session tree (`Session.from_dict` restores it)."""
        leaf, count = self._view()
        data = {
            "format": DATA_FORMAT,
            "header": self._manager.header,
            "entries": self._manager.entries[:count],
            "leaf_id": leaf,
        }
        return orjson.loads(orjson.dumps(data))

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        agent: Agent | None = None,
        *,
        store: SessionStore | None = None,
        autosave: bool = True,
        safe_mode: bool | None = None,
        approve: ApproveFn | None = None,
        channel: str | None = None,
    ) -> Session:
        """Rebuild a session from `to_dict()` (or store) data; without `agent`, one is made for what
        the session recorded. ValueError when `data` is not session data.

        The rebuilt session lives in memory until `save()` (or autosave after a change) writes it."""
        manager = manager_from(data)
        agent = agent or _agent_for(manager, {})
        session = cls(
            agent,
            manager,
            store=store if store is not None else agent.store,
            autosave=autosave,
            safe_mode=safe_mode,
            approve=approve,
            channel=channel,
        )
        session._save_on_change = True
        return session

    _save_on_change = False
    """A session rebuilt in memory (from_dict, autosave off) is not attached to its store's log."""

    def save(self) -> None:
        """Write the session to its store now (a session attached to its store is always saved).

        Raises `kit_py.errors.SessionConflictError` when the store holds entries this session has not
        seen (another `Session` object or process wrote to it): saving would lose them."""
        if self.store is None or self._manager.log is not None:
            return  # attached to its store: every entry was written as it was added
        data = self.to_dict()
        stored = self.store.load(self.id)
        if stored is not None:
            mine = {e.get("id") for e in data["entries"]}
            theirs = [e.get("id") for e in stored.get("entries") or [] if e.get("id") not in mine]
            if theirs:
                raise errors.SessionConflictError(
                    f"session {self.id!r} was changed in its store by another writer ({len(theirs)} "
                    "entries this session has not seen); load it again instead of saving over it"
                )
        self.store.save(self.id, data)

    def _after_change(self) -> None:
        if self.autosave and self._save_on_change:
            self.save()

    def _record_settings(self) -> None:
        """Append the settings record when it differs from the one the session holds (lock held)."""
        record = settings_record(self.agent, self._safe_mode, self.approve is not None)
        if record != self._recorded:
            self._conversation.add_message(settings_entry(record))
            self._recorded = record

    def _tool_setup(self) -> ToolSetup | None:
        if not self.agent.tools and self.agent.mcp is None:
            return None
        return ToolSetup(
            tools=list(self.agent.tools),
            cwd=self.agent.cwd,
            safe_mode=self._safe_mode,
            approve=self._approver.ask,
            unanswerable="no approve callback was given (Agent or session `approve=`) to ask",
            on_remembered=self._approver.remembered,
            sources=[self.agent.mcp] if self.agent.mcp is not None else [],
        )


# --- helpers ---------------------------------------------------------------------------------------


def _agent_for(manager: SessionManager, given: dict[str, Any]) -> Agent:
    """An agent for what the session recorded (its model and thinking level, endpoint, built-in tools,
    options), with the `given` Agent arguments on top."""
    options = dict(given)
    record = recorded_settings(manager.tree)
    if record is not None:
        for key, value in agent_options(record).items():
            options.setdefault(key, value)
    recorded = manager.current_model()
    if recorded and recorded[1]:
        provider, model_id, thinking = recorded
        options.setdefault("model", model_string(provider, model_id))
        if thinking:
            options.setdefault("thinking_level", thinking)
    return Agent(**options)


def _first_set(*values: bool | None) -> bool:
    return next(v for v in values if v is not None)


def _require_new(store: SessionStore | None, session_id: str) -> None:
    """Refuse an explicit id for a new session when the store already holds it (saving would clobber it)."""
    if store is not None and store.load(session_id) is not None:
        raise errors.SessionExistsError(
            f"a session with id {session_id!r} already exists in the store; choose another id "
            "(or load that session to continue it)"
        )
