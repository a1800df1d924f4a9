"""Where the session picker's rows come from: the catalog index (kit_py/catalog/index.py), opened once
for the picker's life and used from one worker thread, so the screen is drawn at once and typing
never waits for the disk.

Listing a scope refreshes only its folders (this directory: one folder), then reads names, first
messages and counts from the index instead of the files. A content search asks the index's full-text
table directly, without refreshing again for every key: the refresh done when the scope was listed
is what "once indexed" means, and that is what keeps a key under 50 ms with 10,000 sessions.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from kit_py.catalog.listing import folders_for, same_cwd
from kit_py.catalog.search import fts_query
from kit_py.errors import UsageError
from kit_py.repl.session_rows import Listed

if TYPE_CHECKING:
    from kit_py.catalog.index import Index, IndexedSession


def listed(session: IndexedSession) -> Listed:
    facts = session.facts
    return Listed(
        file=session.file,
        session_id=facts.session_id,
        name=facts.name,
        preview=facts.first_message,
        message_count=facts.messages,
        cwd=facts.cwd,
        modified=session.modified,
        parent_session_id=facts.parent_session_id,
    )


def typed_query(text: str) -> str | None:
    """The full-text query for what is typed so far: the last word, still being typed, is a
    prefix. None when there is no word to search for."""
    stripped = text.strip()
    if len(stripped) < 2:  # one letter is in nearly every session: no search worth its time
        return None
    if not text.endswith((" ", '"', "*")):
        stripped += "*"
    try:
        return fts_query(stripped)
    except UsageError:
        return None


class SessionSource:
    """The picker's sessions: `here` (those whose header cwd is `cwd`) or all, and content search.

    Every call returns a Future resolved on the worker thread; `close()` ends it and the index."""

    def __init__(self, cwd: str, root: Path | None = None) -> None:
        self.cwd = cwd
        self.root = root
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kit-picker")
        self._index: Index | None = None
        self._by_id: dict[int, str] = {}  # index file id -> path, for content matches

    def _open(self) -> Index:
        if self._index is None:
            from kit_py.catalog.index import open_index

            self._index = open_index(self.root)
        return self._index

    def sessions(self, everywhere: bool) -> Future[list[Listed]]:
        """The sessions of this directory (or of every directory), with entries, newest first."""
        return self._worker.submit(self._sessions, everywhere)

    def _sessions(self, everywhere: bool) -> list[Listed]:
        index = self._open()
        scope = folders_for(self.root, None if everywhere else self.cwd)
        index.refresh(scope)
        found = index.files(scope)
        for session in found:
            self._by_id[session.id] = session.file
        return [
            listed(s)
            for s in found
            if s.facts.entries and s.facts.has_header and (everywhere or same_cwd(s.cwd, self.cwd))
        ]

    def content(self, text: str) -> Future[set[str]]:
        """The files with a message matching what was typed (the last word as a prefix)."""
        return self._worker.submit(self._content, text)

    def _content(self, text: str) -> set[str]:
        query = typed_query(text)
        if query is None:
            return set()
        import sqlite3

        try:
            found = self._open().files_matching(query)
        except sqlite3.Error:  # a query FTS5 cannot parse while the user is still typing it
            return set()
        return {self._by_id[file_id] for file_id in found if file_id in self._by_id}

    def close(self) -> None:
        self._worker.shutdown(wait=True, cancel_futures=True)
        if self._index is not None:
            self._index.close()
            self._index = None
