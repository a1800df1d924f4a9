"""The session tree store: append-only JSONL files, their in-memory tree and the LLM context built from it.

Knows nothing of LLMs or terminals. Entries are plain dicts in their wire form (session-format.md).
"""

from kit_py.session.context import Context, build_context, current_model
from kit_py.session.format import (
    ENTRY_TYPES,
    LEAF_EXT_TYPE,
    VERSION,
    branch_summary,
    compaction,
    extension_data,
    header,
    image_part,
    label,
    message,
    message_text,
    model_change,
    new_entry_id,
    new_session_id,
    now_timestamp,
    parse_timestamp,
    reasoning_part,
    session_file_name,
    session_info,
    text_part,
    tool_call_part,
    tool_result_part,
)
from kit_py.session.log import EntryLog, MemoryLog
from kit_py.session.manager import SessionManager
from kit_py.session.store import SessionFile
from kit_py.session.tree import Tree

__all__ = [
    "ENTRY_TYPES",
    "LEAF_EXT_TYPE",
    "VERSION",
    "Context",
    "EntryLog",
    "MemoryLog",
    "SessionFile",
    "SessionManager",
    "Tree",
    "branch_summary",
    "build_context",
    "compaction",
    "current_model",
    "extension_data",
    "header",
    "image_part",
    "label",
    "message",
    "message_text",
    "model_change",
    "new_entry_id",
    "new_session_id",
    "now_timestamp",
    "parse_timestamp",
    "reasoning_part",
    "session_file_name",
    "session_info",
    "text_part",
    "tool_call_part",
    "tool_result_part",
]
