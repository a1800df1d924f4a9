"""The Python API for library users: Agent, Session, Message, stores and structured output.

A face over the engine (`kit_py.engine.Conversation`), like the CLI and the REPL. See docs/api.md.
"""

from kit_py.api.channels import channel_dir
from kit_py.api.messages import Approval, Event, Message, RunResult, SessionSummary
from kit_py.api.session import Agent, Session
from kit_py.api.stores import JSONLStore, MemoryStore, SessionStore, SQLiteStore

__all__ = [
    "Agent",
    "Approval",
    "Event",
    "JSONLStore",
    "Message",
    "MemoryStore",
    "RunResult",
    "SQLiteStore",
    "Session",
    "SessionStore",
    "SessionSummary",
    "channel_dir",
]
