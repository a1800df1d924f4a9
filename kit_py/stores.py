"""Where API sessions are kept: `from kit_py.stores import PostgresStore, SQLiteStore, ...`.

The public home of the stores (they live in `kit_py.api`). `PostgresStore` needs the
`kit-py[postgres]` extra (psycopg 3) and is imported only when asked for, so the other stores work
without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kit_py.api.stores import JSONLStore, MemoryStore, SessionStore, SQLiteStore
from kit_py.api.transfer import copy_session, store_session

if TYPE_CHECKING:
    from kit_py.api.postgres import PostgresStore

__all__ = [
    "JSONLStore",
    "MemoryStore",
    "PostgresStore",
    "SQLiteStore",
    "SessionStore",
    "copy_session",
    "store_session",
]


def __getattr__(name: str) -> Any:
    if name == "PostgresStore":
        from kit_py.api.postgres import PostgresStore

        globals()[name] = PostgresStore
        return PostgresStore
    raise AttributeError(f"module 'kit_py.stores' has no attribute {name!r}")
