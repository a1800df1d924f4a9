"""Session data in and out of the API: `to_dict()` data checked before it becomes a session, messages
(kit's form or OpenAI's) as entries to append, catalog rows as `SessionSummary`s."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from kit_py.api.messages import Message, SessionSummary
from kit_py.catalog import SessionInfo
from kit_py.catalog.index import IndexedSession
from kit_py.session import SessionManager
from kit_py.session import format as fmt

DATA_FORMAT = 1
_SHAPE = "the dict Session.to_dict() returns ({'format': 1, 'header', 'entries', 'leaf_id'})"


def manager_from(data: Mapping[str, Any]) -> SessionManager:
    """An in-memory SessionManager holding a copy of `to_dict()`-shaped data; ValueError otherwise."""
    if not isinstance(data, Mapping):
        raise ValueError(f"not session data ({type(data).__name__}); expected {_SHAPE}")
    if data.get("format", DATA_FORMAT) != DATA_FORMAT:
        raise ValueError(f"session data format {data.get('format')!r} is not {DATA_FORMAT}")
    header, entries, leaf = data.get("header"), data.get("entries"), data.get("leaf_id")
    if not isinstance(header, Mapping) or not isinstance(header.get("id"), str) or not header["id"]:
        raise ValueError(f"session data needs a header with an id; expected {_SHAPE}")
    if not isinstance(entries, list):
        raise ValueError(f"session data needs a list of entries; expected {_SHAPE}")
    for n, entry in enumerate(entries):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("id"), str) or "type" not in entry:
            raise ValueError(f"entry {n} of the session data is not an entry (it needs `type` and `id`)")
    if leaf is not None and leaf not in {e["id"] for e in entries}:
        raise ValueError(f"session data's leaf_id {leaf!r} is none of its entries")
    try:
        copy = orjson.loads(orjson.dumps(dict(data)))
    except TypeError as exc:
        raise ValueError(f"session data must be plain JSON: {exc}") from None
    manager = SessionManager.from_entries(copy["header"], copy["entries"], None, leaf)
    if "leaf_id" in copy and leaf is None:  # a cleared session: an empty branch
        manager.tree.leaf_id = None
    return manager


def entry_of(message: Message | Mapping[str, Any]) -> dict[str, Any]:
    """A message entry to append, from a Message or a dict (kit's wire form or OpenAI's chat form)."""
    if not isinstance(message, Message):
        message = Message.from_dict(message)
    entry = message.to_dict()
    for key in ("id", "parent_id", "timestamp"):
        entry.pop(key, None)
    extra = {k: v for k, v in entry.items() if k not in ("type", "role", "parts")}
    return fmt.message(entry["role"], entry["parts"], **extra)


def is_message(entry: Mapping[str, Any]) -> bool:
    """A conversation message (the system prompt is the session's `.system`, not one of these)."""
    return entry.get("type") == "message" and entry.get("role") != "system"


def summary(info: SessionInfo | IndexedSession, channel: str | None) -> SessionSummary:
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
