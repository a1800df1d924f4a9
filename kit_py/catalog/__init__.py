"""Finding, searching, verifying and tidying many sessions: the session catalog.

Sits above `kit_py.session` (one session file) and below the engine and the faces: `kit sessions
...`, `-c`/`-s`, the REPL, the API's stores and `Session.search`, and the resume picker all come here.

| module | job |
|---|---|
| `paths` | where things live: the kit home, per-cwd session folders, trash, index, audit log |
| `listing` | cheap header-only listing (`--continue`, the API's stores) |
| `lookup` | one session from a path, an id prefix or a name |
| `index`, `scan` | the SQLite index (FTS5, totals), refreshed from only the bytes appended |
| `search` | ranked full-text search with snippets |
| `overview` | `list` rows and `stats` totals from the index |
| `verify` | file checks: parsing, links, Go kit readability, the hash chain |
| `trash` | rm / restore / prune / empty-file cleanup, never touching a session in use |
| `audit` | the append-only audit log of exports, shares, removals, restores and prunes |

sqlite3 is imported only when the index is opened, so importing this package stays cheap.
"""

from kit_py.catalog.audit import AuditRecord, read_audit, record_audit
from kit_py.catalog.listing import (
    SessionInfo,
    list_sessions,
    list_sessions_in,
    most_recent,
    read_info,
    session_folders,
)
from kit_py.catalog.lookup import AmbiguousSession, SessionNotFound, find_session
from kit_py.catalog.paths import encode_cwd, kit_home, sessions_dir_for, sessions_root
from kit_py.catalog.search import SearchHit, Snippet, search, search_sessions
from kit_py.catalog.trash import cleanup_empty

__all__ = [
    "AmbiguousSession",
    "AuditRecord",
    "SearchHit",
    "SessionInfo",
    "SessionNotFound",
    "Snippet",
    "cleanup_empty",
    "encode_cwd",
    "find_session",
    "kit_home",
    "list_sessions",
    "list_sessions_in",
    "most_recent",
    "read_audit",
    "read_info",
    "record_audit",
    "search",
    "search_sessions",
    "session_folders",
    "sessions_dir_for",
    "sessions_root",
]
