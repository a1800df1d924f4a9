"""`PostgresStore`: sessions in PostgreSQL, shared by many processes on many machines.

Two tables (kit_py/api/postgres/schema.py): `sessions`, one row each (header, channel, name,
preview, counts, times), and `entries`, the append-only log (one row per entry: its JSONL line and its
position). A turn writes only its own rows, in one transaction that first locks the session's row, so
writers take turns entry by entry. A writer whose view is stale continues after the others' entries,
as two `kit` processes on one file do (`SessionManager.append_many`): nothing is lost, and an answer
always stays with the message it answers.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool

from kit_py.api.messages import SessionSummary
from kit_py.api.postgres.schema import SCHEMA_NAME, migrate
from kit_py.api.postgres.words import entry_words, tsquery
from kit_py.api.stores import (
    Entry,
    SessionData,
    SessionStore,
    _data,
    _entry_id,
    _extra,
    _header_id,
    _keyed_header,
    _leaf_after,
    _rebased,
    _split_lines,
    _unsaved,
)
from kit_py.catalog.listing import one_line
from kit_py.errors import SessionError, SessionWriteError
from kit_py.session import SessionManager, Tree
from kit_py.session import format as fmt
from kit_py.session.store import Rebase, SharedLog

ENV_URL = "KIT_DATABASE_URL"

_UPSERT = (
    # Creates the session's row, or locks it (writers on one session take turns here) and moves its
    # counters (`count` more entries) and listing columns.
    "INSERT INTO {s}.sessions AS s (id, header, channel, extra, name, preview, message_count, "
    "entry_count, created, updated) VALUES (%(id)s, %(header)s::json, %(channel)s, %(extra)s::json, "
    "%(name)s, %(preview)s, %(messages)s, %(count)s, %(created)s, now()) "
    "ON CONFLICT (id) DO UPDATE SET "
    "entry_count = s.entry_count + excluded.entry_count, "
    "message_count = s.message_count + excluded.message_count, "
    "name = CASE WHEN %(named)s THEN excluded.name ELSE s.name END, "
    "preview = CASE WHEN s.preview = '' THEN excluded.preview ELSE s.preview END, "
    "header = CASE WHEN %(replace)s THEN excluded.header ELSE s.header END, "
    "extra = CASE WHEN %(replace)s THEN excluded.extra ELSE s.extra END, "
    "channel = CASE WHEN %(replace)s THEN excluded.channel ELSE s.channel END, "
    "updated = now()"
)
_COLUMNS = "INSERT INTO {s}.entries (session_id, seq, entry_id, entry, words) "


def _rows(first_seq: str) -> str:
    """The entries given as arrays (ids, lines, words), as rows whose positions start at `first_seq`."""
    return (
        f"SELECT %(id)s, {first_seq} + t.n - 1, t.entry_id, t.line::json, to_tsvector('simple', t.words) "
        "FROM unnest(%(ids)s::text[], %(lines)s::text[], %(words)s::text[]) "
        "WITH ORDINALITY AS t(entry_id, line, words, n)"
    )


_APPEND = (
    # The usual append, one statement (its own transaction): when the session holds `position`
    # entries, count them in and insert the rows; otherwise nothing happens and no row comes back.
    f"WITH held AS ({_UPSERT} WHERE s.entry_count = %(position)s RETURNING s.entry_count), "
    f"added AS ({_COLUMNS}{_rows('held.entry_count - %(count)s')}, held) "
    "SELECT entry_count FROM held"
)
_LOCK = f"{_UPSERT} RETURNING s.entry_count"
_INSERT = _COLUMNS + _rows("%(start)s")
_SINCE = (
    "SELECT entry::text FROM {s}.entries WHERE session_id = %s AND seq >= %s AND seq < %s ORDER BY seq"
)
_READ = (
    "SELECT s.header::text, s.extra::text, "
    "(SELECT '[' || coalesce(string_agg(e.entry::text, ',' ORDER BY e.seq), '') || ']' "
    "FROM {s}.entries e WHERE e.session_id = s.id) FROM {s}.sessions s WHERE s.id = %s"
)
_SUMMARY = "s.id, s.channel, s.name, s.preview, s.message_count, s.created, s.updated"
_HISTORY = f"SELECT {_SUMMARY} FROM {{s}}.sessions s WHERE s.channel = %s ORDER BY s.updated DESC, s.id"
_SEARCH = (
    # Best match first (the best message of each session), then the newest.
    f"SELECT {_SUMMARY} FROM {{s}}.sessions s JOIN ("
    "SELECT e.session_id, max(ts_rank(e.words, q)) AS score FROM {s}.entries e, "
    "to_tsquery('simple', %(query)s) q WHERE e.words @@ q GROUP BY e.session_id"
    ") hits ON hits.session_id = s.id "
    "WHERE %(channel)s::text IS NULL OR s.channel = %(channel)s "
    "ORDER BY hits.score DESC, s.updated DESC, s.id"
)


class PostgresStore(SessionStore):
    """Sessions in a PostgreSQL database: one history for every process and machine that serves it.

    `dsn` is a libpq connection string or URL (`postgresql://user@host/db`); None takes
    `$KIT_DATABASE_URL`, else libpq's own variables (PGHOST, PGUSER, PGPASSWORD, ~/.pgpass, ...).
    Credentials stay there: nothing of the DSN is written into sessions. The tables live in
    `schema` (created on first use, migrated forward by later versions). Connections come from a
    psycopg pool of at most `max_connections`; `timeout` bounds the wait for one (and for the row
    lock another writer holds). Close the store (or use `with`) to close its connections; a store
    must not cross a `fork()`: make one per process.
    """

    def __init__(
        self,
        dsn: str | None = None,
        *,
        schema: str = "kit",
        max_connections: int = 10,
        timeout: float = 30.0,
    ) -> None:
        if not SCHEMA_NAME.match(schema):
            raise ValueError(f"bad schema name {schema!r}: use lower-case letters, digits and '_'")
        conninfo = dsn if dsn is not None else os.environ.get(ENV_URL, "")
        self.schema = schema
        self.where = describe(conninfo)
        """Where the store is (user, host, port, database; never a password), for messages."""
        self.timeout = timeout
        try:
            with psycopg.connect(conninfo, autocommit=True, connect_timeout=max(2, int(timeout))) as conn:
                migrate(conn, schema)
        except psycopg.Error as exc:
            raise SessionError(f"cannot use the PostgreSQL store {self.where}: {_reason(exc)}") from None
        self._sql = {name: _compose(text, schema) for name, text in _STATEMENTS.items()}
        self._pool = ConnectionPool(
            conninfo,
            min_size=1,
            max_size=max(1, max_connections),
            kwargs={"autocommit": True},
            configure=self._configure,
            check=ConnectionPool.check_connection,  # a connection the server dropped is replaced, not used
            timeout=timeout,
            name=f"kit {self.where}",
            open=True,
        )
        # A store dropped without close() (or alive at exit) closes its pool from here, not from the
        # pool's own __del__, which may run in one of the pool's threads and cannot join it.
        self._closer = weakref.finalize(self, self._pool.close)

    def _configure(self, conn: psycopg.Connection) -> None:
        """Each new connection waits at most `timeout` for a row lock another writer holds."""
        conn.execute(f"SET lock_timeout = {int(self.timeout * 1000)}")

    def __repr__(self) -> str:
        return f"PostgresStore({self.where!r}, schema={self.schema!r})"

    def close(self) -> None:
        """Close every connection of the store's pool."""
        self._closer()

    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _connection(self, action: str, session_id: str | None = None) -> Iterator[psycopg.Connection]:
        """A pooled connection (autocommit: each statement is a transaction unless one is opened);
        database failures become a one-line SessionError (SessionWriteError for a write)."""
        try:
            with self._pool.connection() as conn:
                yield conn
        except psycopg.Error as exc:  # the pool's own errors (timeout, closed) are psycopg errors too
            what = f"session {session_id!r}" if session_id is not None else "sessions"
            error = SessionWriteError if action == "write" else SessionError
            message = f"cannot {action} {what} in the PostgreSQL store {self.where}: {_reason(exc)}"
            raise error(message) from None

    # --- the log ---------------------------------------------------------------------------------------

    def _append(
        self,
        log: _PostgresLog,
        header: Entry,
        entries: list[Entry],
        lines: list[bytes],
        rebase: Rebase | None,
    ) -> None:
        """Insert `entries` after every entry of the session (others' included, handed to `rebase`)."""
        count = len(entries)
        params = {
            **self._params(log.session_id, header, None, _Facts.of(entries), replace=False),
            **_arrays(entries, lines),
            "position": log.position,
        }
        with self._connection("write", log.session_id) as conn:
            row = conn.execute(self._sql["append"], params).fetchone()
            if row is not None:
                start = int(row[0]) - count
            else:  # others wrote since this log last did: read theirs, then write after them
                with conn.transaction():
                    start = self._lock(conn, params) - count
                    found = conn.execute(self._sql["since"], (log.session_id, log.position, start))
                    others = [text.encode() for (text,) in found]
                    log.position = start  # the tree takes them now, whatever happens to this write
                    if rebase is not None:
                        entries, lines = _rebased(rebase, others, entries, lines)
                        params.update(_arrays(entries, lines))
                    conn.execute(self._sql["insert"], {**params, "start": start})
        log.position = start + len(entries)

    def _params(
        self, session_id: str, header: Entry, extra: bytes | None, facts: _Facts, *, replace: bool
    ) -> dict[str, Any]:
        """The session row's values for `_UPSERT`."""
        channel = header.get("channel")
        return {
            "id": session_id,
            "header": fmt.dumps(header).decode(),
            "channel": channel if isinstance(channel, str) else None,
            "extra": extra.decode() if extra is not None else None,
            "name": facts.name,
            "named": facts.named,
            "preview": facts.preview,
            "messages": facts.messages,
            "count": facts.count,
            "created": _created(header),
            "replace": replace,
        }

    def _lock(self, conn: psycopg.Connection, params: dict[str, Any]) -> int:
        """Lock the session's row (creating it) and count `params["count"]` entries in; the new count."""
        row = conn.execute(self._sql["lock"], params).fetchone()
        assert row is not None
        return int(row[0])

    # --- SessionStore ------------------------------------------------------------------------------

    def _read(self, session_id: str) -> tuple[Entry, list[Entry], SessionData] | None:
        with self._connection("read", session_id) as conn:
            row = conn.execute(self._sql["read"], (session_id,)).fetchone()
        if row is None:
            return None
        header, extra, entries = row
        return orjson.loads(header), orjson.loads(entries), (orjson.loads(extra) if extra else {})

    def load(self, session_id: str) -> SessionData | None:
        read = self._read(session_id)
        if read is None:
            return None
        header, entries, extra = read
        return _data(header, entries, extra, _leaf_after(entries))

    def open_session(self, session_id: str) -> SessionManager | None:
        read = self._read(session_id)
        if read is None:
            return None
        header, entries, _extra_keys = read
        return SessionManager.from_entries(header, entries, _PostgresLog(self, session_id, len(entries)))

    def new_session(self, header: Entry) -> SessionManager:
        return SessionManager(header, Tree(), _PostgresLog(self, _header_id(header), 0))

    def save(self, session_id: str, data: SessionData) -> None:
        """Append the entries not stored yet (and a leaf marker if the leaf moved); replace header/extras."""
        header = _keyed_header(data, session_id)
        with self._connection("write", session_id) as conn, conn.transaction():
            held = self._lock(conn, self._params(session_id, header, _extra(data), _Facts(), replace=True))
            known = {r[0] for r in conn.execute(self._sql["ids"], (session_id,))}
            last = conn.execute(self._sql["last"], (session_id,)).fetchone()
            stored_leaf = _leaf_after([orjson.loads(last[0])]) if last is not None else None
            new = _unsaved(data, known, stored_leaf)
            if new:
                params = self._params(session_id, header, None, _Facts.of(new), replace=False)
                self._lock(conn, params)
                conn.execute(self._sql["insert"], {**params, **_arrays(new), "start": held})

    def delete(self, session_id: str) -> bool:
        with self._connection("delete", session_id) as conn:
            return conn.execute(self._sql["delete"], (session_id,)).rowcount > 0

    def list_sessions(self) -> list[str]:
        with self._connection("list") as conn:
            return [r[0] for r in conn.execute(self._sql["list"])]

    def channel_history(self, channel: str) -> list[SessionSummary]:
        """The sessions created in `channel` (`Session.create(channel, store=...)`), newest first."""
        with self._connection("list") as conn:
            return [_summary(r) for r in conn.execute(self._sql["history"], (channel,))]

    def search_sessions(self, text: str, channel: str | None = None) -> list[SessionSummary]:
        """Sessions whose user or assistant messages hold the words of `text` (PostgreSQL full-text
        search; the CLI's query syntax), best match first; only `channel`'s when given."""
        query = tsquery(text)
        with self._connection("search") as conn:
            rows = conn.execute(self._sql["search"], {"query": query, "channel": channel})
            return [_summary(r) for r in rows]


class _PostgresLog(SharedLog):
    """One session's `EntryLog` in a PostgresStore: appends go to `PostgresStore._append`."""

    path: Path | None = None

    def __init__(self, store: PostgresStore, session_id: str, position: int) -> None:
        self._store = store
        self.session_id = session_id
        self.position = position
        """How many entries the store holds for the session as far as this log knows."""
        self._lock = threading.Lock()

    def append(self, header: Entry, entries: list[Entry], lines: bytes, rebase: Rebase | None = None) -> None:
        if not entries:
            return
        with self._lock:
            self._store._append(self, header, entries, _split_lines(entries, lines), rebase)

    def sync(self) -> None:
        """Nothing to do: every append is a committed transaction, durable when it returns."""

    def close(self) -> None:
        return None


# --- helpers -----------------------------------------------------------------------------------------


@dataclass
class _Facts:
    """What some entries change in their session's row."""

    count: int = 0
    messages: int = 0
    named: bool = False
    name: str | None = None
    preview: str = ""

    @classmethod
    def of(cls, entries: list[Entry]) -> _Facts:
        facts = cls(count=len(entries))
        for entry in entries:
            etype = entry.get("type")
            if etype == "message":
                facts.messages += 1
                if not facts.preview and entry.get("role") == "user":
                    facts.preview = _listable(one_line(fmt.message_text(entry)))
            elif etype == "session_info" and isinstance(entry.get("name"), str):
                facts.named, facts.name = True, _listable(entry["name"]) or None
        return facts


def _arrays(entries: list[Entry], lines: list[bytes] | None = None) -> dict[str, list[Any]]:
    """Entries as the three arrays `_rows` takes: ids, JSON lines (given, or encoded now), words."""
    encoded = lines if lines is not None else [fmt.dumps(e) for e in entries]
    return {
        "ids": [_entry_id(e) for e in entries],
        "lines": [line.decode() for line in encoded],
        "words": [entry_words(e) for e in entries],
    }


def _listable(text: str) -> str:
    """Text for a listing column: PostgreSQL text holds no NUL (the entry itself keeps it, as JSON)."""
    return text.replace("\x00", "\ufffd")


_STATEMENTS = {
    "append": _APPEND,
    "lock": _LOCK,
    "insert": _INSERT,
    "since": _SINCE,
    "read": _READ,
    "ids": "SELECT entry_id FROM {s}.entries WHERE session_id = %s",
    "last": "SELECT entry::text FROM {s}.entries WHERE session_id = %s ORDER BY seq DESC LIMIT 1",
    "delete": "DELETE FROM {s}.sessions WHERE id = %s",
    "list": "SELECT id FROM {s}.sessions ORDER BY updated DESC, id",
    "history": _HISTORY,
    "search": _SEARCH,
}


def _compose(text: str, schema: str) -> str:
    """A statement with the schema's quoted name in place of `{s}` (composed once, not per call)."""
    return sql.SQL(text).format(s=sql.Identifier(schema)).as_string()


def describe(conninfo: str) -> str:
    """Where a DSN points, without its password: `user@host:port/dbname` (libpq defaults omitted)."""
    try:
        parts = conninfo_to_dict(conninfo)
    except psycopg.ProgrammingError:
        return "(an unreadable connection string)"
    host = str(parts.get("host") or os.environ.get("PGHOST") or "localhost")
    user = parts.get("user")
    port = parts.get("port")
    dbname = parts.get("dbname")
    where = f"{user}@" if user else ""
    where += host + (f":{port}" if port else "")
    return where + (f"/{dbname}" if dbname else "")


def _reason(exc: BaseException) -> str:
    """The first line of a database error (libpq's messages run on with hints and context)."""
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def _created(header: Entry) -> datetime:
    stamp = header.get("timestamp")
    if isinstance(stamp, str):
        try:
            return fmt.parse_timestamp(stamp)
        except ValueError:
            pass
    return datetime.now(UTC)


def _summary(row: tuple[Any, ...]) -> SessionSummary:
    session_id, channel, name, preview, count, created, updated = row
    return SessionSummary(
        id=session_id,
        channel=channel,
        name=name,
        preview=preview,
        message_count=count,
        created=created,
        modified=updated.timestamp(),
        path=None,
    )
