"""Where a SessionManager's appends go: the small `EntryLog` protocol and an in-memory log.

A session is a log of entries: the tree is rebuilt from them in order, and every change is one
more entry, so a destination only ever has to append. `SessionFile` (kit_py/session/store.py) is
the JSONL implementation; the API's stores (SQLite rows, a list per session, a custom store) are
others. None of them is ever asked to rewrite or re-read what it already holds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, runtime_checkable

Entry = dict[str, Any]


@runtime_checkable
class EntryLog(Protocol):
    """An append-only destination for one session's entries."""

    @property
    def path(self) -> Path | None:
        """The JSONL file the entries go to, or None when they do not go to a file."""
        ...

    def append(self, header: Entry, entries: list[Entry], lines: bytes) -> None:
        """Persist `entries` (already prepared: ids, parents, timestamps) after the ones already held.

        `lines` is their JSONL encoding, one `\\n`-terminated line each, in order. `header` is the
        session header, for a log that writes it first when it is still empty. Either everything is
        persisted or the call raises.
        """
        ...

    def sync(self) -> None:
        """Make what was appended durable (called once per completed turn)."""
        ...

    def close(self) -> None:
        """Release handles; a later append may reopen them."""
        ...


class MemoryLog:
    """A list: the entries appended so far (and the header), in order. Nothing leaves the process."""

    path: Path | None = None

    def __init__(self, entries: list[Entry] | None = None) -> None:
        self.header: Entry | None = None
        self.entries: list[Entry] = list(entries) if entries is not None else []

    def append(self, header: Entry, entries: list[Entry], lines: bytes) -> None:
        if self.header is None:
            self.header = header
        self.entries.extend(entries)

    def sync(self) -> None:
        return None

    def close(self) -> None:
        return None
