"""Where API sessions are kept: four interchangeable stores behind one small interface.

A store keeps session *data*, the plain dict `Session.to_dict()` returns (header, tree entries in
wire form, current leaf). Writing a custom store (Redis, S3, ...) means subclassing `SessionStore`
and implementing the four methods below.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

import orjson

from kit_py.session import catalog
from kit_py.session import format as fmt

SessionData = dict[str, Any]


class SessionStore(ABC):
    """Saves, loads, deletes and lists session data by id. Implementations must be thread-safe."""

    @abstractmethod
    def save(self, session_id: str, data: SessionData) -> None:
        """Store `data` under `session_id`, replacing what was stored before."""

    @abstractmethod
    def load(self, session_id: str) -> SessionData | None:
        """The stored data (a fresh copy the caller may change), or None when unknown."""

    @abstractmethod
    def delete(self, session_id: str) -> bool:
        """Forget a session; True if it existed."""

    @abstractmethod
    def list_sessions(self) -> list[str]:
        """Ids of every stored session."""


class MemoryStore(SessionStore):
    """Process-local dict of serialized sessions; the default for `agent.session()`."""

    def __init__(self) -> None:
        self._data: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def save(self, session_id: str, data: SessionData) -> None:
        blob = orjson.dumps(data)  # a copy, and proof the data is JSON like every other store needs
        with self._lock:
            self._data[session_id] = blob

    def load(self, session_id: str) -> SessionData | None:
        with self._lock:
            blob = self._data.get(session_id)
        return None if blob is None else orjson.loads(blob)

    def delete(self, session_id: str) -> bool:
        with self._lock:
            return self._data.pop(session_id, None) is not None

    def list_sessions(self) -> list[str]:
        with self._lock:
            return list(self._data)


class SQLiteStore(SessionStore):
    """One SQLite file in WAL mode: safe for many threads (a connection each) and many processes."""

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 30.0) -> None:
        self.path = Path(path)
        self.timeout = timeout
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        conn = self._conn()
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS sessions ("
            "id TEXT PRIMARY KEY, data BLOB NOT NULL, updated REAL NOT NULL)"
        )

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            # Autocommit: every statement is its own transaction; busy_timeout waits out other writers.
            conn = sqlite3.connect(
                self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False
            )
            conn.execute(f"PRAGMA busy_timeout={int(self.timeout * 1000)}")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    def save(self, session_id: str, data: SessionData) -> None:
        self._conn().execute(
            "INSERT INTO sessions (id, data, updated) VALUES (?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET data = excluded.data, updated = excluded.updated",
            (session_id, orjson.dumps(data), time.time()),
        )

    def load(self, session_id: str) -> SessionData | None:
        row = self._conn().execute("SELECT data FROM sessions WHERE id = ?", (session_id,)).fetchone()
        return None if row is None else orjson.loads(row[0])

    def delete(self, session_id: str) -> bool:
        return self._conn().execute("DELETE FROM sessions WHERE id = ?", (session_id,)).rowcount > 0

    def list_sessions(self) -> list[str]:
        rows = self._conn().execute("SELECT id FROM sessions ORDER BY updated DESC, id").fetchall()
        return [str(r[0]) for r in rows]

    def close(self) -> None:
        """Close every connection this store opened (in any thread)."""
        with self._lock:
            connections, self._connections = self._connections, []
        for conn in connections:
            conn.close()
        self._local = threading.local()


class JSONLStore(SessionStore):
    """The CLI's own session tree files, so `kit -s ID` resumes an API session and the reverse.

    With no `directory`, files go where the CLI keeps them: `<KIT_HOME>/sessions/<encoded cwd>/`,
    using the session header's `cwd`. With a `directory`, every session is a file directly in it
    (that is how channels work). Saving only ever appends: entries already in the file are skipped,
    and a leaf that moved without a new entry (a cleared session) is recorded with a `kit:leaf` marker.
    """

    def __init__(
        self, directory: str | os.PathLike[str] | None = None, *, root: str | os.PathLike[str] | None = None
    ) -> None:
        self.directory = Path(directory).expanduser() if directory is not None else None
        self.root = Path(root).expanduser() if root is not None else None
        self._paths: dict[str, Path] = {}
        self._lock = threading.Lock()

    def _home(self) -> Path:
        return self.root if self.root is not None else catalog.kit_home()

    def _folders(self) -> list[Path]:
        if self.directory is not None:
            return [self.directory]
        base = catalog.sessions_root(self._home())
        try:
            return [p for p in base.iterdir() if p.is_dir()]
        except FileNotFoundError:
            return []

    def _infos(self) -> list[catalog.SessionInfo]:
        """Every session file, newest first."""
        infos = []
        for folder in self._folders():
            try:
                files = [p for p in folder.iterdir() if p.suffix == ".jsonl"]
            except FileNotFoundError:
                continue
            for path in files:
                info = catalog.read_info(path)
                if info is not None:
                    infos.append(info)
        infos.sort(key=lambda i: i.modified, reverse=True)
        return infos

    def path_of(self, session_id: str) -> Path | None:
        """The file holding `session_id` (exact id match), or None."""
        with self._lock:
            cached = self._paths.get(session_id)
        if cached is not None:
            info = catalog.read_info(cached)
            if info is not None and info.session_id == session_id:
                return cached
        for info in self._infos():
            if info.session_id == session_id:
                with self._lock:
                    self._paths[session_id] = info.path
                return info.path
        return None

    def save(self, session_id: str, data: SessionData) -> None:
        from kit_py.session import SessionManager

        header = {**data["header"], "id": session_id}
        path = self.path_of(session_id)
        if path is None:
            cwd = header.get("cwd") or os.getcwd()
            folder = self.directory or catalog.sessions_dir_for(cwd, self._home())
            path = folder / fmt.session_file_name()
            with self._lock:
                self._paths[session_id] = path
            known: set[str] = set()
            file_leaf: str | None = None
        else:
            existing = SessionManager.open(path)
            known = {e["id"] for e in existing.entries}
            file_leaf = existing.leaf_id
        new = [e for e in data.get("entries", []) if e.get("id") not in known]
        if new:
            file_leaf = _leaf_after(new)
        leaf = data.get("leaf_id")
        if leaf != file_leaf and (leaf is not None or file_leaf is not None):
            marker = fmt.extension_data(fmt.LEAF_EXT_TYPE, "")
            marker.update(id=fmt.new_entry_id(), timestamp=fmt.now_timestamp())
            if leaf is not None:
                marker["parent_id"] = leaf
            new.append(marker)
        if not new and path.exists():
            return
        from kit_py.session.store import SessionFile

        handle = SessionFile(path)
        try:
            handle.append(b"".join(fmt.dumps(e) + b"\n" for e in new), fmt.dumps(header) + b"\n")
            handle.sync()
        finally:
            handle.close()

    def load(self, session_id: str) -> SessionData | None:
        from kit_py.session import SessionManager

        path = self.path_of(session_id)
        if path is None:
            return None
        manager = SessionManager.open(path)
        return {"header": dict(manager.header), "entries": list(manager.entries), "leaf_id": manager.leaf_id}

    def delete(self, session_id: str) -> bool:
        path = self.path_of(session_id)
        if path is None:
            return False
        with self._lock:
            self._paths.pop(session_id, None)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        return True

    def list_sessions(self) -> list[str]:
        return [info.session_id for info in self._infos()]

    def infos(self) -> list[catalog.SessionInfo]:
        """Listing details (name, preview, message count, times) of every session, newest first."""
        return [info for info in self._infos() if info.has_entries]


def _leaf_after(appended: list[dict[str, Any]]) -> str | None:
    """The leaf a reader sees when `appended` ends the file (a trailing kit:leaf marker points up)."""
    last = appended[-1]
    if fmt.is_leaf_marker(last) and last.get("parent_id") is not None:
        return str(last["parent_id"])
    return str(last["id"])
