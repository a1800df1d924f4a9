"""What a session is, recorded in the session itself, so `Session.load` / `from_dict` bring it back.

The model and thinking level live in `model_change` entries and the system prompt in a `system`
message (the engine records and restores those for every face). The rest of what the API configures
(safe mode, the endpoint, the tools, the options) is one `extension_data` entry of type
`kit:settings`, appended when a session starts and whenever it changes. Never the API key. What
cannot be recorded (a Python function: an `@tool`, the approve callback, a non-JSON option) is named
in the record, so a restore can say what it could not bring back instead of dropping it silently.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import orjson

from kit_py.session import format as fmt

if TYPE_CHECKING:
    from kit_py.session import Tree
    from kit_py.tools.base import Tool

SETTINGS_EXT_TYPE = "kit:settings"
OPTION_NAMES = (
    "temperature",
    "max_tokens",
    "max_steps",
    "timeout",
    "max_retries",
    "auto_compact",
    "caching",
    "compaction_model",
    "context_window",
)
"""Agent options a record keeps (and `Agent(...)` takes back by the same names)."""
_SECRET_HINTS = ("key", "token", "secret", "auth", "header", "password", "credential")
"""litellm options whose names say they may carry credentials: named in the record, never stored."""


class Configured(Protocol):
    """What a record is made of: an `Agent`'s settings (its options are read by name, OPTION_NAMES)."""

    @property
    def api_base(self) -> str | None: ...
    @property
    def tools(self) -> Sequence[Tool]: ...
    @property
    def llm_options(self) -> dict[str, Any]: ...
    @property
    def cwd(self) -> Path: ...


class RestoreWarning(UserWarning):
    """A reloaded session could not get back something it was made with (a Python function)."""


def settings_record(agent: Configured, safe_mode: bool, approve_given: bool) -> dict[str, Any]:
    """The record of a session's settings: plain JSON."""
    from kit_py.tools.registry import BUILTIN_TOOLS

    options = {name: getattr(agent, name) for name in OPTION_NAMES}
    llm_options: dict[str, Any] = {}
    unrecorded: list[str] = []
    for key, value in agent.llm_options.items():
        if any(hint in key.lower() for hint in _SECRET_HINTS):
            unrecorded.append(key)  # may hold credentials (extra_headers: Authorization): never written
            continue
        try:
            llm_options[key] = orjson.loads(orjson.dumps(value))
        except TypeError:
            unrecorded.append(key)
    return {
        "safe_mode": safe_mode,
        "api_base": agent.api_base,
        "tools": [t.name for t in agent.tools],
        "python_tools": [t.name for t in agent.tools if BUILTIN_TOOLS.get(t.name) is not t],
        "approve": approve_given,
        "options": options,
        "llm_options": llm_options,
        "unrecorded_options": unrecorded,
        "cwd": str(agent.cwd),
    }


def settings_entry(record: dict[str, Any]) -> dict[str, Any]:
    return fmt.extension_data(SETTINGS_EXT_TYPE, orjson.dumps(record).decode())


def recorded_settings(tree: Tree) -> dict[str, Any] | None:
    """The latest record on the current path, else the latest anywhere in the tree (a cleared session)."""
    path = tree.path() if tree.leaf_id is not None else []
    for entry in [*reversed(path), *reversed(tree.entries)]:
        if entry.get("type") == "extension_data" and entry.get("ext_type") == SETTINGS_EXT_TYPE:
            try:
                record = orjson.loads(str(entry.get("data") or ""))
            except orjson.JSONDecodeError:
                continue
            if isinstance(record, dict):
                return record
    return None


def agent_options(record: dict[str, Any]) -> dict[str, Any]:
    """`Agent(...)` keywords that rebuild what the record describes (built-in tools only: Python
    functions cannot be rebuilt from a file; `unrestorable` names them)."""
    from kit_py.tools.registry import BUILTIN_TOOLS

    python_tools = set(record.get("python_tools") or [])
    options: dict[str, Any] = {
        name: value for name, value in (record.get("options") or {}).items() if name in OPTION_NAMES
    }
    options["tools"] = [n for n in record.get("tools") or [] if n not in python_tools and n in BUILTIN_TOOLS]
    if record.get("api_base"):
        options["api_base"] = record["api_base"]
    if record.get("cwd"):
        options["cwd"] = record["cwd"]
    if isinstance(record.get("llm_options"), dict):
        options["llm_options"] = dict(record["llm_options"])
    return options


def unrestorable(
    record: dict[str, Any], agent: Configured, approve_given: bool, safe_mode: bool
) -> list[str]:
    """What the session was made with that it does not have now, one sentence each."""
    missing: list[str] = []
    offered = {t.name for t in agent.tools}
    lacking = [name for name in record.get("tools") or [] if name not in offered]
    if lacking:
        missing.append(
            f"the session used tool(s) {', '.join(lacking)}, which this agent does not offer "
            "(Python functions cannot be restored from a session: pass them again with tools=[...])"
        )
    if record.get("approve") and not approve_given and safe_mode:
        missing.append(
            "the session had an approve callback, which cannot be restored: every call that needs "
            "approval is refused until you pass approve=..."
        )
    lost = [name for name in record.get("unrecorded_options") or [] if name not in agent.llm_options]
    if lost:
        names = ", ".join(lost)
        missing.append(f"option(s) {names} were not recorded (not JSON, or credentials): pass them again")
    return missing
