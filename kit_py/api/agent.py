"""`Agent`: a model and how to talk to it (options, tools, safe mode). Sessions hold the conversations."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kit_py.api.stores import MemoryStore, SessionStore
from kit_py.config import DEFAULT_MODEL, Settings
from kit_py.engine.approval import PendingAction
from kit_py.tools.base import Tool

if TYPE_CHECKING:
    from kit_py.api.messages import Message, RunResult
    from kit_py.api.session import Session


ToolSpec = str | Tool | Callable[..., Any]
ApproveFn = Callable[[PendingAction], Any]
"""Gets a `kit_py.engine.approval.PendingAction` (.tool, .arguments, .reason, .preview); returns True
to allow, False to deny, or "always" to allow this tool for the rest of the turn's tool setup."""


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
        from kit_py.api.session import Session

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
