"""The Python API for library users: Agent, Session, Message, stores, channels and structured output.

A face over the engine (`kit_py.engine.Conversation`), like the CLI and the REPL. See docs/api.md.
"""

from kit_py.api.approvals import ApprovalAnswer, ApproveFn
from kit_py.api.channels import ChannelSettings, channel_dir, channel_settings, configure_channel
from kit_py.api.messages import Approval, Branch, Event, Message, RunResult, SessionSummary
from kit_py.api.recorded import RestoreWarning
from kit_py.api.session import Agent, Session, preload
from kit_py.api.stores import JSONLStore, MemoryStore, SessionStore, SQLiteStore
from kit_py.engine.approval import PendingAction
from kit_py.llm.scripted import ScriptedModel
from kit_py.llm.types import Usage, UsageTotals

__all__ = [
    "Agent",
    "Approval",
    "ApprovalAnswer",
    "ApproveFn",
    "Branch",
    "ChannelSettings",
    "Event",
    "JSONLStore",
    "Message",
    "MemoryStore",
    "PendingAction",
    "RestoreWarning",
    "RunResult",
    "SQLiteStore",
    "ScriptedModel",
    "Session",
    "SessionStore",
    "SessionSummary",
    "Usage",
    "UsageTotals",
    "channel_dir",
    "channel_settings",
    "configure_channel",
    "preload",
]
