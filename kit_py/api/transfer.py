"""Moving a session between stores (PostgreSQL and the CLI's JSONL files, either way) by appending.

A copy keeps the session's id, header and entries exactly (their integrity hashes included) and
appends only what the target lacks, so copying again later brings just the new turns, and a file
copied out of a database opens with `kit -s ID` like any session the CLI wrote.
"""

from __future__ import annotations

from kit_py.api.stores import SessionStore
from kit_py.errors import SessionError
from kit_py.session import SessionManager


def copy_session(source: SessionStore, target: SessionStore, session_id: str) -> int:
    """Copy `session_id` from `source` into `target` (e.g. `copy_session(pg, JSONLStore(), id)`);
    returns how many entries `target` gained. SessionError when `source` does not hold it."""
    data = source.load(session_id)
    if data is None:
        raise SessionError(f"no session with id {session_id!r} in {source!r}")
    return _save(target, session_id, data)


def store_session(session: SessionManager, target: SessionStore) -> int:
    """Copy a session opened from a file (`SessionManager.open`) into `target`, under its own id."""
    data = {"format": 1, "header": session.header, "entries": session.entries, "leaf_id": session.leaf_id}
    return _save(target, session.session_id, data)


def _save(target: SessionStore, session_id: str, data: dict) -> int:
    before = target.load(session_id)
    target.save(session_id, data)
    after = target.load(session_id)
    held = len(before["entries"]) if before is not None else 0
    return len(after["entries"]) - held if after is not None else 0
