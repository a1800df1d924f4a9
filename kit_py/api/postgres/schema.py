"""The PostgreSQL store's tables, created on first use and moved forward by numbered migrations.

Every store opens with `migrate`: under a transaction-scoped advisory lock (so twenty workers starting
at once apply each step once), it reads the newest version in `schema_version` and applies the steps
after it, each in the same transaction as its version row. A database that a newer kit_py already
moved past what this one knows is refused rather than written in a shape it does not understand.
"""

from __future__ import annotations

import re
import zlib

import psycopg
from psycopg import sql

from kit_py.errors import SessionError

SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

# Version -> statements; `{s}` is the store's schema. Never edit a released step: add the next one.
MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        # One row per session: its header (the JSONL file's first line, text kept as written), where
        # it is listed (channel), what a listing shows (name, preview, counts) and its times.
        # `entry_count` is the next position: appends lock this row, so writers take turns.
        "CREATE TABLE {s}.sessions ("
        " id text PRIMARY KEY,"
        " header json NOT NULL,"
        " channel text,"
        " name text,"
        " preview text NOT NULL DEFAULT '',"
        " message_count integer NOT NULL DEFAULT 0,"
        " entry_count integer NOT NULL DEFAULT 0,"
        " extra json,"
        " created timestamptz NOT NULL,"
        " updated timestamptz NOT NULL)",
        "CREATE INDEX sessions_by_update ON {s}.sessions (updated DESC, id)",
        "CREATE INDEX sessions_by_channel ON {s}.sessions (channel, updated DESC)",
        # The log: one row per entry in append order (seq from 0), the entry as its JSONL line
        # (json keeps the text as written: key order, and the integrity hash it covers), and the words
        # of user and assistant messages for full-text search.
        "CREATE TABLE {s}.entries ("
        " session_id text NOT NULL REFERENCES {s}.sessions (id) ON DELETE CASCADE,"
        " seq integer NOT NULL,"
        " entry_id text NOT NULL,"
        " entry json NOT NULL,"
        " words tsvector,"
        " PRIMARY KEY (session_id, seq))",
        "CREATE INDEX entries_by_id ON {s}.entries (session_id, entry_id)",
        "CREATE INDEX entries_words ON {s}.entries USING gin (words) WHERE words IS NOT NULL",
    ),
}


def latest_version() -> int:
    return max(MIGRATIONS)


def migrate(conn: psycopg.Connection, schema: str) -> int:
    """Create or update the store's tables in `schema` (a connection in autocommit mode); returns
    the version the database is at. SessionError when it is newer than this kit_py knows."""
    s = sql.Identifier(schema)
    current = _version(conn, s)
    if current == latest_version():
        return current  # the usual case: one query, no lock
    with conn.transaction():
        # Serialize every store opening this schema, so concurrent first uses apply each step once.
        conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (0x6B6974, zlib.crc32(schema.encode()) - 2**31))
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(s))
        conn.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {}.schema_version "
                "(version integer PRIMARY KEY, applied timestamptz NOT NULL DEFAULT now())"
            ).format(s)
        )
        row = conn.execute(sql.SQL("SELECT max(version) FROM {}.schema_version").format(s)).fetchone()
        current = int(row[0]) if row is not None and row[0] is not None else 0  # another may have moved it
        if current > latest_version():
            raise SessionError(
                f"the PostgreSQL store's schema {schema!r} is at version {current}, newer than this "
                f"kit_py knows ({latest_version()}): upgrade kit_py to use it"
            )
        for version in sorted(v for v in MIGRATIONS if v > current):
            for statement in MIGRATIONS[version]:
                conn.execute(sql.SQL(statement).format(s=s))
            conn.execute(sql.SQL("INSERT INTO {}.schema_version (version) VALUES (%s)").format(s), (version,))
            current = version
    return current


def _version(conn: psycopg.Connection, s: sql.Identifier) -> int | None:
    """The newest applied version (0: none yet), or None when the schema has no version table."""
    try:
        row = conn.execute(sql.SQL("SELECT max(version) FROM {}.schema_version").format(s)).fetchone()
    except (psycopg.errors.UndefinedTable, psycopg.errors.InvalidSchemaName):
        return None
    return int(row[0]) if row is not None and row[0] is not None else 0
