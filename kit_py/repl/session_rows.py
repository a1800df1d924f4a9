"""The rows of the session picker (`kit -r`, `/resume`): which sessions a search and the named-only
filter keep, in which order, and how each reads. Pure (no terminal library, no files), so it is tested
in-process; kit_py/repl/session_picker.py draws the rows and kit_py/repl/session_source.py loads them.

Order: newest first; a fork is listed right under the session it was forked from (when that one is
listed too), newest fork first. Search: every word must match the name or the first message (as a
substring, or fuzzily: its letters in order inside one word, "rfctr" finds "refactor"), or the whole
query must match a message of the session (the full-text index says which).
"""

from __future__ import annotations

import re
import time
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import accumulate

INDENT = "  └ "
MAX_DEPTH = 4


@dataclass(frozen=True)
class Listed:
    """What the picker shows and searches of one session (built from the catalog index)."""

    file: str
    session_id: str
    name: str | None
    preview: str
    message_count: int
    cwd: str
    modified: float
    parent_session_id: str | None = None
    haystack: str = field(default="", compare=False, repr=False)
    """Name and first message, case folded: what a search reads (made once, not per key)."""

    def __post_init__(self) -> None:
        if not self.haystack:
            object.__setattr__(self, "haystack", f"{self.name or ''} {self.preview}".casefold())


@dataclass(frozen=True)
class SessionRow:
    session: Listed
    depth: int
    """How deep under the session it was forked from (0: not a listed fork)."""
    title: str
    named: bool


def title_of(session: Listed) -> str:
    """A session as a row names it: its name, else its first message."""
    return session.name or session.preview or "(no messages yet)"


def word_pattern(word: str) -> re.Pattern[str]:
    """What a search word matches: its letters in order inside one word ("rfctr" finds "refactor",
    and any substring finds itself). Case is folded by the caller."""
    return re.compile(r"\S*?".join(re.escape(c) for c in word))


def word_match(word: str, text: str) -> bool:
    return word_pattern(word).search(text) is not None


class SessionList:
    """The sessions of one scope, prepared once (newest first, their search text joined) so each key
    typed only scans and filters: fast with 10,000 sessions."""

    def __init__(self, sessions: Sequence[Listed]) -> None:
        self.sessions = sorted(sessions, key=lambda s: s.modified, reverse=True)
        self.text = "\n".join(s.haystack for s in self.sessions)
        self.starts = list(accumulate((len(s.haystack) + 1 for s in self.sessions), initial=0))
        self._rows: dict[tuple[str, int], SessionRow] = {}

    def searched(self, words: list[str]) -> set[int] | None:
        """Indexes of the sessions whose name or first message match every word (None: no words).
        One regex scan per word over the joined text, skipping to the next session after a hit."""
        kept: set[int] | None = None
        text, starts = self.text, self.starts
        for word in words:
            pattern = word_pattern(word)
            found: set[int] = set()
            at = 0
            while (hit := pattern.search(text, at)) is not None:
                index = bisect_right(starts, hit.start()) - 1
                found.add(index)
                at = starts[index + 1]
            kept = found if kept is None else kept & found
        return kept

    def rows(
        self, *, query: str = "", named_only: bool = False, content: set[str] | None = None
    ) -> list[SessionRow]:
        """The rows under a search `query` (`content`: files whose messages match it) and the
        named-only filter: newest first, each fork right under the session it came from."""
        hits = self.searched(query.casefold().split())
        found = content or set()
        kept = [
            s
            for i, s in enumerate(self.sessions)
            if (not named_only or s.name) and (hits is None or i in hits or s.file in found)
        ]
        ids = {s.session_id for s in kept if s.session_id}
        forks: dict[str, list[Listed]] = {}
        tops: list[Listed] = []
        for session in kept:
            parent = session.parent_session_id
            if parent and parent in ids and parent != session.session_id:
                forks.setdefault(parent, []).append(session)
            else:
                tops.append(session)
        if not forks:
            return [self._row(s, 0) for s in tops]
        out: list[SessionRow] = []
        placed: set[str] = set()
        stack: list[tuple[Listed, int]] = [(s, 0) for s in reversed(tops)]
        while stack:
            session, depth = stack.pop()
            if session.file in placed:
                continue
            placed.add(session.file)
            out.append(self._row(session, depth))
            for fork in reversed(forks.get(session.session_id, [])):
                stack.append((fork, min(depth + 1, MAX_DEPTH)))
        out.extend(self._row(s, 0) for s in kept if s.file not in placed)  # a loop of damaged headers
        return out

    def _row(self, session: Listed, depth: int) -> SessionRow:
        row = self._rows.get((session.file, depth))
        if row is None:
            row = SessionRow(session, depth, title_of(session), bool(session.name))
            self._rows[(session.file, depth)] = row
        return row


def session_rows(
    sessions: Sequence[Listed],
    *,
    query: str = "",
    named_only: bool = False,
    content: set[str] | None = None,
) -> list[SessionRow]:
    """The rows for `sessions` (any order); see `SessionList.rows`."""
    return SessionList(sessions).rows(query=query, named_only=named_only, content=content)


def age(modified: float, now: float | None = None) -> str:
    """How long ago, short: "now", "5m", "3h", "2d", "7w", "1y"."""
    seconds = max(0.0, (time.time() if now is None else now) - modified)
    for unit, size in (("y", 365 * 86400), ("w", 7 * 86400), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return "now"
