"""Where API sessions are kept: interchangeable stores behind one small interface.

A session is the CLI's session tree: a header plus an append-only log of entries. A store hands
out `SessionManager`s whose appends go straight into it (`open_session`, `new_session`); the
built-in stores then write only what is new (a line in the session file, a row in SQLite, an item
in a list), never the whole session again, and never read it back.

A store also keeps session *data*, the plain dict `Session.to_dict()` returns
(`{"format": 1, "header", "entries", "leaf_id"}`), through `save` / `load`. A custom store
(Redis, S3, ...) subclasses `SessionStore` and implements only `save`, `load`, `delete` and
`list_sessions`: its sessions are then saved whole after every append, which is simple and fine
for small sessions.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Container, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from kit_py import catalog
from kit_py.errors import SessionConflictError
from kit_py.session import SessionFile, SessionManager, Tree
from kit_py.session import format as fmt
from kit_py.session.store import LoadResult, Rebase, SharedLog, gc_paused, load_lines

if TYPE_CHECKING:
    from kit_py.api.messages import SessionSummary

SessionData = dict[str, Any]
Entry = dict[str, Any]
DATA_FORMAT = 1
_DATA_KEYS = frozenset({"format", "header", "entries", "leaf_id"})


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

    def open_session(self, session_id: str) -> SessionManager | None:
        """The stored session as a SessionManager whose later appends go to this store (None: unknown).

        This default loads the data once and then, after every append, saves the whole session
        (`save(id, {"format", "header", "entries", "leaf_id"})`). The built-in stores override it to
        append only the new entries.
        """
        data = self.load(session_id)
        if data is None:
            return None
        # A full header whatever was saved, and the key it is stored under is its id.
        header = {**fmt.header("", session_id=session_id), **_keyed_header(data, session_id)}
        entries = list(data.get("entries") or [])
        extra = {k: v for k, v in data.items() if k not in _DATA_KEYS}
        log = SnapshotLog(self, session_id, entries, extra)
        return SessionManager.from_entries(header, entries, log, leaf_id=data.get("leaf_id"))

    def new_session(self, header: Entry) -> SessionManager:
        """An empty session (the header holds its id and cwd) whose appends go to this store.

        Nothing is stored until the first append. The id must be new: check with `load` first, as
        appends to a taken id would mix two sessions.
        """
        return SessionManager(header, Tree(), SnapshotLog(self, _header_id(header), [], {}))

    def channel_history(self, channel: str) -> list[SessionSummary]:
        """The sessions `Session.create(channel, store=self)` made, newest first (`Session.history`).

        Only stores that list sessions by channel (`PostgresStore`) have this; channels of files are
        folders, listed by `Session.history(channel)` without a store."""
        raise TypeError(f"{type(self).__name__} does not list sessions by channel")

    def search_sessions(self, text: str, channel: str | None = None) -> list[SessionSummary]:
        """Sessions whose messages hold the words of `text`, best first (`Session.search(store=...)`).

        Only stores with a search of their own (`PostgresStore`) have this; sessions in files are
        searched by `Session.search` without a store."""
        raise TypeError(f"{type(self).__name__} has no full-text search")


class SnapshotLog:
    """The default `EntryLog` of a custom store: after each append, `save` the whole session data."""

    path: Path | None = None

    def __init__(
        self, store: SessionStore, session_id: str, entries: list[Entry], extra: SessionData
    ) -> None:
        self._store = store
        self._session_id = session_id
        self._entries = entries
        self._extra = extra
        self._lock = threading.Lock()

    def append(self, header: Entry, entries: list[Entry], lines: bytes) -> None:
        with self._lock:
            stored = self._store.load(self._session_id)
            held = len(stored.get("entries") or []) if stored is not None else 0
            if held != len(self._entries) and (stored is not None or self._entries):
                raise _conflict(self._session_id, held, len(self._entries))
            after = self._entries + entries
            data = {
                **self._extra,
                "format": DATA_FORMAT,
                "header": header,
                "entries": after,
                "leaf_id": _leaf_after(after),
            }
            self._store.save(self._session_id, orjson.loads(orjson.dumps(data)))  # the store gets a copy
            self._entries = after

    def sync(self) -> None:
        return None

    def close(self) -> None:
        return None


class _EntryStore(SessionStore):
    """A built-in store that keeps entries (not files): it appends what a session adds and rebuilds
    sessions from its entries; subclasses say how to `_append`, `_read` and `_sync`."""

    @abstractmethod
    def _append(
        self,
        session_id: str,
        header: Entry,
        entries: list[Entry],
        lines: list[bytes],
        position: int,
        rebase: Rebase | None = None,
    ) -> int:
        """Store `entries` (encoded one each in `lines`) after the session's others, of which there
        should be `position`. When another writer added some: with `rebase`, they are handed to it
        (atomically with the insert) and what it returns is stored instead; without, nothing is stored
        and SessionConflictError is raised. Returns how many entries the session holds now."""

    @abstractmethod
    def _read(self, session_id: str) -> tuple[Entry, list[Entry], SessionData, str | None] | None:
        """(header, entries in order, extra top-level keys, leaf) or None when unknown."""

    def _sync(self) -> None:
        """Make appended entries durable (called once per completed turn)."""

    def load(self, session_id: str) -> SessionData | None:
        read = self._read(session_id)
        return None if read is None else _data(*read)

    def open_session(self, session_id: str) -> SessionManager | None:
        read = self._read(session_id)
        if read is None:
            return None
        header, entries, _extra_keys, _leaf = read
        return SessionManager.from_entries(header, entries, StoreLog(self, session_id, len(entries)))

    def new_session(self, header: Entry) -> SessionManager:
        return SessionManager(header, Tree(), StoreLog(self, _header_id(header), 0))


class StoreLog(SharedLog):
    """The `EntryLog` of a built-in store that is not a file: appends go to `store._append`.

    Another writer's entries are followed as in a session file (the engine's rule for concurrent
    writers), unless the log is `exclusive`: a `Session` object's is, so two objects on one id raise
    SessionConflictError instead of interleaving their turns unnoticed."""

    path: Path | None = None

    def __init__(self, store: _EntryStore, session_id: str, position: int) -> None:
        self._store = store
        self._session_id = session_id
        self._position = position
        """How many entries the store holds for the session as far as this log knows."""
        self._lock = threading.Lock()
        self.exclusive = False

    def append(self, header: Entry, entries: list[Entry], lines: bytes, rebase: Rebase | None = None) -> None:
        with self._lock:
            split = _split_lines(entries, lines)
            follow = None if self.exclusive else rebase
            self._position = self._store._append(
                self._session_id, header, entries, split, self._position, follow
            )

    def sync(self) -> None:
        self._store._sync()

    def close(self) -> None:
        return None


# --- memory ------------------------------------------------------------------------------------------


@dataclass
class _Record:
    header: bytes
    lines: list[bytes] = field(default_factory=list)  # one encoded entry each, in order
    ids: set[str] = field(default_factory=set)
    leaf: str | None = None
    extra: bytes | None = None


class MemoryStore(_EntryStore):
    """Process-local: a list of (encoded) entries per session; the default for `agent.session()`."""

    def __init__(self) -> None:
        self._sessions: dict[str, _Record] = {}
        self._lock = threading.Lock()

    def _append(
        self,
        session_id: str,
        header: Entry,
        entries: list[Entry],
        lines: list[bytes],
        position: int,
        rebase: Rebase | None = None,
    ) -> int:
        if not entries:
            return position
        encoded_header = fmt.dumps(header)
        with self._lock:
            record = self._sessions.get(session_id)
            held = len(record.lines) if record is not None else 0
            if held != position:
                if rebase is None or record is None:
                    raise _conflict(session_id, held, position)
                entries, lines = _rebased(rebase, record.lines[position:], entries, lines)
            if record is None:
                record = self._sessions[session_id] = _Record(encoded_header)
            record.lines.extend(lines)
            record.ids.update(_entry_id(e) for e in entries)
            record.leaf = _leaf_after(entries)
            return len(record.lines)

    def _sync(self) -> None:
        return None

    def save(self, session_id: str, data: SessionData) -> None:
        """Append the entries not stored yet (and a leaf marker if the leaf moved); replace header/extras."""
        header = fmt.dumps(_keyed_header(data, session_id))  # encoded: a copy, and proof the data is JSON
        extra = _extra(data)
        with self._lock:
            record = self._sessions.get(session_id)
            if record is None:
                record = _Record(header)
            new = _unsaved(data, record.ids, record.leaf)
            lines = [fmt.dumps(e) for e in new]
            record.header, record.extra = header, extra
            record.lines.extend(lines)
            record.ids.update(_entry_id(e) for e in new)
            if new:
                record.leaf = _leaf_after(new)
            self._sessions[session_id] = record

    def _read(self, session_id: str) -> tuple[Entry, list[Entry], SessionData, str | None] | None:
        with self._lock:
            record = self._sessions.get(session_id)
            if record is None:
                return None
            header, lines, extra, leaf = record.header, list(record.lines), record.extra, record.leaf
        entries = orjson.loads(b"[" + b",".join(lines) + b"]")
        return orjson.loads(header), entries, (orjson.loads(extra) if extra is not None else {}), leaf

    def delete(self, session_id: str) -> bool:
        with self._lock:
            return self._sessions.pop(session_id, None) is not None

    def list_sessions(self) -> list[str]:
        with self._lock:
            return list(self._sessions)


# --- SQLite ------------------------------------------------------------------------------------------

_SCHEMA = (
    # One row per session: its header, the extra keys of saved data, and times for listing.
    "CREATE TABLE IF NOT EXISTS sessions ("
    "id TEXT PRIMARY KEY, header BLOB NOT NULL, extra BLOB, created REAL NOT NULL, updated REAL NOT NULL)",
    # The log: one row per entry, in append order (seq counts from 0 within a session).
    "CREATE TABLE IF NOT EXISTS entries ("
    "session_id TEXT NOT NULL, seq INTEGER NOT NULL, entry_id TEXT NOT NULL, entry BLOB NOT NULL, "
    "PRIMARY KEY (session_id, seq))",
    # Which entries a session already holds, answered from the index alone (`save` skips those).
    "CREATE INDEX IF NOT EXISTS entries_by_id ON entries (session_id, entry_id)",
)


class SQLiteStore(_EntryStore):
    """One SQLite file in WAL mode: safe for many threads (a connection each) and many processes.

    Each appended entry is one row of `entries`; `sessions` holds each header. A file written by
    the earlier one-blob-per-session layout is converted on open (every session kept).
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 30.0) -> None:
        self.path = Path(path)
        self.timeout = timeout
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._conn().execute("PRAGMA journal_mode=WAL")
        with self._write() as conn:
            columns = {row[1] for row in conn.execute("PRAGMA table_info(sessions)")}
            if "data" in columns:
                _migrate_blobs(conn)
            else:
                for statement in _SCHEMA:
                    conn.execute(statement)

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            # Autocommit unless BEGIN is said; busy_timeout waits out other writers.
            conn = sqlite3.connect(
                self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False
            )
            conn.execute(f"PRAGMA busy_timeout={int(self.timeout * 1000)}")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction, taken at once (BEGIN IMMEDIATE) so two writers never both read then write."""
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    @contextmanager
    def _snapshot(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every SELECT in it sees the same state."""
        conn = self._conn()
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            if conn.in_transaction:
                conn.execute("COMMIT")

    def _append(
        self,
        session_id: str,
        header: Entry,
        entries: list[Entry],
        lines: list[bytes],
        position: int,
        rebase: Rebase | None = None,
    ) -> int:
        if not entries:
            return position
        now = time.time()
        with self._write() as conn:
            conn.execute(
                "INSERT INTO sessions (id, header, created, updated) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET updated = excluded.updated",
                (session_id, fmt.dumps(header), now, now),
            )
            if rebase is not None and _held(conn, session_id) != position:
                others = [
                    bytes(row[0]) if isinstance(row[0], bytes) else str(row[0]).encode()
                    for row in conn.execute(
                        "SELECT entry FROM entries WHERE session_id = ? AND seq >= ? ORDER BY seq",
                        (session_id, position),
                    )
                ]
                entries, lines = _rebased(rebase, others, entries, lines)
                position += len(others)
            _insert_entries(conn, session_id, entries, lines, position)
            return position + len(entries)

    def _sync(self) -> None:
        """fsync the write-ahead log once per turn: commits (synchronous=NORMAL) survive a crash of the
        process; this makes the turn survive a power loss too, as the JSONL file's fsync does."""
        try:
            fd = os.open(f"{self.path}-wal", os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return  # checkpointed away: the database file itself was synced by the checkpoint
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def save(self, session_id: str, data: SessionData) -> None:
        """Append the entries not stored yet (and a leaf marker if the leaf moved); replace header/extras."""
        header = fmt.dumps(_keyed_header(data, session_id))
        extra = _extra(data)
        now = time.time()
        with self._write() as conn:
            rows = conn.execute("SELECT entry_id FROM entries WHERE session_id = ?", (session_id,))
            known = {str(r[0]) for r in rows}
            last = conn.execute(
                "SELECT entry FROM entries WHERE session_id = ? ORDER BY seq DESC LIMIT 1", (session_id,)
            ).fetchone()
            new = _unsaved(data, known, _leaf_after([orjson.loads(last[0])]) if last else None)
            conn.execute(
                "INSERT INTO sessions (id, header, extra, created, updated) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET header = excluded.header, extra = excluded.extra, "
                "updated = excluded.updated",
                (session_id, header, extra, now, now),
            )
            _insert_entries(conn, session_id, new, [fmt.dumps(e) for e in new])

    def _read(self, session_id: str) -> tuple[Entry, list[Entry], SessionData, str | None] | None:
        with self._snapshot() as conn:
            row = conn.execute("SELECT header, extra FROM sessions WHERE id = ?", (session_id,)).fetchone()
            if row is None:
                return None
            blobs = conn.execute(
                "SELECT entry FROM entries WHERE session_id = ? ORDER BY seq", (session_id,)
            ).fetchall()
        entries = orjson.loads(b"[" + b",".join(bytes(b[0]) for b in blobs) + b"]")
        extra = orjson.loads(row[1]) if row[1] is not None else {}
        return orjson.loads(row[0]), entries, extra, _leaf_after(entries)

    def delete(self, session_id: str) -> bool:
        with self._write() as conn:
            conn.execute("DELETE FROM entries WHERE session_id = ?", (session_id,))
            return conn.execute("DELETE FROM sessions WHERE id = ?", (session_id,)).rowcount > 0

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


def _insert_entries(
    conn: sqlite3.Connection,
    session_id: str,
    entries: list[Entry],
    lines: list[bytes],
    position: int | None = None,
) -> None:
    """Append rows after the session's last one (inside the caller's write transaction); with
    `position`, only if that is how many rows the session has (SessionConflictError otherwise)."""
    if not entries:
        return
    start = _held(conn, session_id)
    if position is not None and start != position:
        raise _conflict(session_id, start, position)
    pairs = enumerate(zip(entries, lines, strict=True))
    rows = [(session_id, start + i, _entry_id(e), line) for i, (e, line) in pairs]
    conn.executemany("INSERT INTO entries (session_id, seq, entry_id, entry) VALUES (?, ?, ?, ?)", rows)


def _held(conn: sqlite3.Connection, session_id: str) -> int:
    """How many entries the session holds (its last sequence number + 1)."""
    (last,) = conn.execute("SELECT max(seq) FROM entries WHERE session_id = ?", (session_id,)).fetchone()
    return 0 if last is None else int(last) + 1


def _migrate_blobs(conn: sqlite3.Connection) -> None:
    """Convert the old layout (`sessions(id, data, updated)`, one JSON blob each) into header + entry rows."""
    conn.execute("ALTER TABLE sessions RENAME TO sessions_blobs_old")
    for statement in _SCHEMA:
        conn.execute(statement)
    rows = conn.execute("SELECT id, data, updated FROM sessions_blobs_old").fetchall()
    for session_id, blob, updated in rows:
        data = orjson.loads(blob)
        new = _unsaved(data, set(), None)  # the saved leaf becomes a kit:leaf marker when it is not the last
        conn.execute(
            "INSERT INTO sessions (id, header, extra, created, updated) VALUES (?, ?, ?, ?, ?)",
            (session_id, fmt.dumps(data.get("header") or {}), _extra(data), updated, updated),
        )
        _insert_entries(conn, session_id, new, [fmt.dumps(e) for e in new])
    conn.execute("DROP TABLE sessions_blobs_old")


# --- JSONL -------------------------------------------------------------------------------------------


@dataclass
class _FileState:
    """What a file held when this store last read or wrote it, valid while its size is unchanged."""

    path: Path
    size: int
    ids: set[str]
    leaf: str | None


class JSONLStore(SessionStore):
    """The CLI's own session tree files, so `kit -s ID` resumes an API session and the reverse.

    With no `directory`, files go where the CLI keeps them: `<KIT_HOME>/sessions/<encoded cwd>/`,
    using the session header's `cwd`. With a `directory`, every session is a file directly in it
    (that is how channels work). A session from `open_session` / `new_session` appends to its file
    directly. `save` only ever appends too: entries already in the file are skipped, and a leaf that
    moved without a new entry (a cleared session) is recorded with a `kit:leaf` marker.
    """

    def __init__(
        self, directory: str | os.PathLike[str] | None = None, *, root: str | os.PathLike[str] | None = None
    ) -> None:
        self.directory = Path(directory).expanduser() if directory is not None else None
        self.root = Path(root).expanduser() if root is not None else None
        self._paths: dict[str, Path] = {}  # id -> its file, once seen
        self._pending: dict[str, Path] = {}  # id -> the file a new session will create on its first append
        self._states: dict[str, _FileState] = {}
        self._session_locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def _home(self) -> Path:
        return self.root if self.root is not None else catalog.kit_home()

    def _folders(self) -> list[Path]:
        if self.directory is not None:
            return [self.directory]
        return catalog.session_folders(self._home())

    def _new_path(self, header: Entry) -> Path:
        cwd = str(header.get("cwd") or "") or os.getcwd()
        folder = self.directory or catalog.sessions_dir_for(cwd, self._home())
        return folder / fmt.session_file_name()

    def path_of(self, session_id: str) -> Path | None:
        """The file holding `session_id` (exact id match), or None."""
        with self._lock:
            cached = self._paths.get(session_id)
            pending = self._pending.get(session_id)
        for candidate in (cached, pending):
            if candidate is not None:
                info = catalog.read_info(candidate)
                if info is not None and info.session_id == session_id:
                    self._remember(session_id, candidate)
                    return candidate
        for info in catalog.list_sessions_in(self._folders(), include_empty=True):
            if info.session_id == session_id:
                self._remember(session_id, info.path)
                return info.path
        return None

    def _remember(self, session_id: str, path: Path) -> None:
        with self._lock:
            self._paths[session_id] = path
            if self._pending.get(session_id) == path:
                del self._pending[session_id]

    def _session_lock(self, session_id: str) -> threading.Lock:
        with self._lock:
            return self._session_locks.setdefault(session_id, threading.Lock())

    def _state(self, session_id: str, path: Path) -> _FileState:
        """Ids and leaf of the file, from the cache when nobody wrote to it since, else by reading it."""
        size = path.stat().st_size
        with self._lock:
            state = self._states.get(session_id)
        if state is not None and state.path == path and state.size == size:
            return state
        with gc_paused():
            loaded = load_lines(path)
            tree, _warnings = Tree.load(loaded.entries, loaded.linenos)
        return _FileState(path, size, set(tree.by_id), tree.leaf_id)

    def save(self, session_id: str, data: SessionData) -> None:
        header = {**(data.get("header") or {}), "id": session_id}
        with self._session_lock(session_id):
            path = self.path_of(session_id)
            if path is None:
                with self._lock:
                    path = self._pending.get(session_id)
                path = path or self._new_path(header)
                state = _FileState(path, 0, set(), None)
            else:
                state = self._state(session_id, path)
            new = _unsaved(data, state.ids, state.leaf)
            if not new and path.exists():
                return
            handle = SessionFile(path)
            try:
                handle.append(header, new, b"".join(fmt.dumps(e) + b"\n" for e in new))
                handle.sync()
            finally:
                handle.close()
            state.ids.update(_entry_id(e) for e in new)
            if new:
                state.leaf = _leaf_after(new)
            state.size = handle.size
            with self._lock:
                self._states[session_id] = state
            self._remember(session_id, path)

    def load(self, session_id: str) -> SessionData | None:
        path = self.path_of(session_id)
        if path is None:
            return None
        manager = SessionManager.open(path)
        return _data(dict(manager.header), list(manager.entries), {}, manager.leaf_id)

    def open_session(self, session_id: str) -> SessionManager | None:
        """The session's file, opened for appending (`SessionManager.open`)."""
        path = self.path_of(session_id)
        return None if path is None else SessionManager.open(path)

    def new_session(self, header: Entry) -> SessionManager:
        """A new session file (under `<KIT_HOME>/sessions/<encoded cwd>/`, or in `directory`).

        The file appears with the first append (or a `save`).
        """
        session_id = _header_id(header)
        path = self._new_path(header)
        with self._lock:
            self._pending[session_id] = path
        return SessionManager(header, Tree(), SessionFile(path))

    def delete(self, session_id: str) -> bool:
        path = self.path_of(session_id)
        with self._lock:
            self._paths.pop(session_id, None)
            self._pending.pop(session_id, None)
            self._states.pop(session_id, None)
        if path is None:
            return False
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        return True

    def list_sessions(self) -> list[str]:
        return [info.session_id for info in catalog.list_sessions_in(self._folders(), include_empty=True)]

    def infos(self) -> list[catalog.SessionInfo]:
        """Listing details (name, preview, message count, times) of every session, newest first."""
        return catalog.list_sessions_in(self._folders())


# --- helpers -----------------------------------------------------------------------------------------


def _rebased(
    rebase: Rebase, others: list[bytes], entries: list[Entry], lines: list[bytes]
) -> tuple[list[Entry], list[bytes]]:
    """What to store after another writer's `others` (encoded entries): the engine's answer."""
    parsed = [orjson.loads(line) for line in others]
    new_entries, new_lines = rebase(LoadResult(None, parsed, list(range(1, len(parsed) + 1))))
    return new_entries, _split_lines(new_entries, new_lines)


def _conflict(session_id: str, held: int, known: int) -> SessionConflictError:
    return SessionConflictError(
        f"session {session_id!r} was written by someone else since this Session read it (the store "
        f"holds {held} entries, this Session knew of {known}); nothing was written. Load the session "
        "again to continue it: two Session objects on one id would overwrite each other"
    )


def _keyed_header(data: SessionData, session_id: str) -> Entry:
    """The header a store keeps under `session_id`: its id is that key (as in a JSONL store's file),
    so a session loaded back is the one it was saved as, whatever id the data said."""
    return {**(data.get("header") or {}), "id": session_id}


def _header_id(header: Entry) -> str:
    session_id = header.get("id")
    if not isinstance(session_id, str) or not session_id:
        raise ValueError("a session header needs an `id`")
    return session_id


def _entry_id(entry: Entry) -> str:
    eid = entry.get("id")
    return eid if isinstance(eid, str) else ""


def _extra(data: SessionData) -> bytes | None:
    """The keys of saved data beyond the session itself (kept as saved), encoded; None if none."""
    extra = {k: v for k, v in data.items() if k not in _DATA_KEYS}
    return orjson.dumps(extra) if extra else None


def _data(header: Entry, entries: list[Entry], extra: SessionData, leaf: str | None) -> SessionData:
    """Session data shaped as `Session.to_dict()` shapes it (`leaf`: the one a reader of the log sees)."""
    return {**extra, "format": DATA_FORMAT, "header": header, "entries": entries, "leaf_id": leaf}


def _leaf_after(appended: list[Entry]) -> str | None:
    """The leaf a reader sees when `appended` ends the log (a trailing kit:leaf marker points up)."""
    if not appended:
        return None
    last = appended[-1]
    if fmt.is_leaf_marker(last) and last.get("parent_id") is not None:
        return str(last["parent_id"])
    return _entry_id(last) or None


def _unsaved(data: SessionData, known: Container[str], stored_leaf: str | None) -> list[Entry]:
    """The entries of `data` a log holding `known` (with leaf `stored_leaf`) lacks, in order, plus a
    `kit:leaf` marker when the data's leaf is not the one the log would then show."""
    new: list[Entry] = []
    seen: set[str] = set()
    for entry in data.get("entries") or []:
        eid = _entry_id(entry)
        if eid and eid not in known and eid not in seen:  # an entry without an id is unreadable anyway
            seen.add(eid)
            new.append(entry)
    shown = _leaf_after(new) if new else stored_leaf
    leaf = data.get("leaf_id")
    if leaf != shown and (leaf is not None or shown is not None):
        marker = fmt.extension_data(fmt.LEAF_EXT_TYPE, "")
        marker.update(id=fmt.new_entry_id(), timestamp=fmt.now_timestamp())
        if leaf is not None:
            marker["parent_id"] = leaf
        new.append(marker)
    return new


def _split_lines(entries: list[Entry], lines: bytes) -> list[bytes]:
    """One encoded line per entry (JSON lines hold no raw newline); re-encoded if they do not match."""
    parts = lines.split(b"\n")
    if parts and not parts[-1]:
        parts.pop()
    return parts if len(parts) == len(entries) else [fmt.dumps(e) for e in entries]
