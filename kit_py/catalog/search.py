"""Full-text search over the messages of every session: ranked sessions with highlighted snippets.

Backed by the index's FTS5 table (kit_py/catalog/index.py), refreshed first so a search always sees
what was just written. `search` is the one entry point: `kit sessions search`, the API's
`Session.search` and the resume picker call it.

Query syntax: words (all must occur, in any order; case and accents ignored), `"a phrase"`, and
`word*` for a prefix.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from kit_py.catalog.index import Index, IndexedSession, Progress, with_index
from kit_py.catalog.listing import folders_for, same_cwd
from kit_py.errors import UsageError

if TYPE_CHECKING:
    import sqlite3

SNIPPET_TOKENS = 24
SNIPPETS_PER_SESSION = 1
_OPEN, _CLOSE = "\x02", "\x03"
_TERM = re.compile(r'"([^"]*)"?|(\S+)')


@dataclass
class Snippet:
    """A piece of one matching message; `highlights` are (start, end) character spans in `text`."""

    entry_id: str
    role: str
    time: str
    text: str
    highlights: list[tuple[int, int]]


@dataclass
class SearchHit:
    """A session with matching messages: `score` ranks (higher is better), `hits` counts messages."""

    session: IndexedSession
    score: float
    hits: int
    snippets: list[Snippet] = field(default_factory=list)


def fts_query(text: str) -> str:
    """The FTS5 query for what a user typed: every word (or "quoted phrase") must match; a trailing
    `*` on a word matches it as a prefix. UsageError when nothing searchable is left."""
    terms = []
    for m in _TERM.finditer(text):
        phrase, word = m.group(1), m.group(2)
        prefix = False
        if phrase is None:
            prefix = word.endswith("*")
            phrase = word.rstrip("*")
        if not re.search(r"\w", phrase):
            continue
        terms.append('"' + phrase.replace('"', '""') + '"' + ("*" if prefix else ""))
    if not terms:
        raise UsageError(f"nothing to search for in {text!r}: give a word")
    return " ".join(terms)


def search(
    text: str,
    *,
    root: Path | None = None,
    cwd: str | None = None,
    folders: list[Path] | None = None,
    progress: Progress | None = None,
    snippets: int = SNIPPETS_PER_SESSION,
) -> list[SearchHit]:
    """Sessions whose user or assistant messages match `text`, best first (ties: newest first).

    Searches `folders` when given (a channel, a store), else the sessions of `cwd` (matched on the
    header cwd), else every session under `root` (the kit home). All matches, no cap.
    """
    query = fts_query(text)
    scope = folders if folders is not None else folders_for(root, cwd)

    def find(index: Index) -> list[SearchHit]:
        index.refresh(scope, progress)
        return _ranked(index, query, scope, cwd if folders is None else None, snippets)

    return with_index(root, find)


def _ranked(index: Index, query: str, scope: list[Path], cwd: str | None, snippets: int) -> list[SearchHit]:
    conn = index.conn
    best: dict[int, list[float]] = {}  # file -> [best bm25, hits]
    top: dict[int, list[tuple[float, int]]] = {}  # file -> [(bm25, text id)], the best few
    for file_id, rowid, rank in conn.execute(
        "SELECT texts.file, fts.rowid, bm25(fts) FROM fts JOIN texts ON texts.id = fts.rowid"
        " WHERE fts MATCH ?",
        (query,),
    ):
        seen = best.get(file_id)
        if seen is None:
            best[file_id] = [rank, 1]
            top[file_id] = [(rank, rowid)][:snippets]
            continue
        seen[1] += 1
        if rank < seen[0]:
            seen[0] = rank
        kept = top[file_id]
        if snippets and (len(kept) < snippets or rank < kept[-1][0]):
            kept.append((rank, rowid))
            kept.sort()
            del kept[snippets:]
    folders = {os.fspath(f) for f in scope}
    hits = [
        SearchHit(session=session, score=-best[fid][0], hits=int(best[fid][1]))
        for fid, session in index.files_by_id(set(best)).items()
        if os.path.dirname(session.file) in folders
        and session.facts.has_header
        and (cwd is None or same_cwd(session.cwd, cwd))
    ]
    hits.sort(key=lambda h: (-h.score, -h.session.modified))
    wanted = [rowid for hit in hits for _, rowid in top[hit.session.id]]
    found = _snippets(conn, query, wanted) if wanted else {}
    for hit in hits:
        hit.snippets = [found[rowid] for _, rowid in top[hit.session.id] if rowid in found]
    return hits


def _snippets(conn: sqlite3.Connection, query: str, rowids: list[int]) -> dict[int, Snippet]:
    out: dict[int, Snippet] = {}
    for start in range(0, len(rowids), 500):
        chunk = rowids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        rows = conn.execute(
            f"SELECT fts.rowid, texts.entry, texts.role, texts.time,"
            f" snippet(fts, 0, '{_OPEN}', '{_CLOSE}', '…', {SNIPPET_TOKENS})"
            f" FROM fts JOIN texts ON texts.id = fts.rowid WHERE fts MATCH ? AND fts.rowid IN ({marks})",
            (query, *chunk),
        )
        for rowid, entry, role, time, marked in rows:
            text, spans = _unmark(" ".join(marked.split()))
            out[rowid] = Snippet(entry_id=entry, role=role, time=time, text=text, highlights=spans)
    return out


def _unmark(marked: str) -> tuple[str, list[tuple[int, int]]]:
    """Text without the highlight markers, and the spans they enclosed."""
    text: list[str] = []
    spans: list[tuple[int, int]] = []
    length = 0
    start = -1
    for piece in re.split(f"([{_OPEN}{_CLOSE}])", marked):
        if piece == _OPEN:
            start = length
        elif piece == _CLOSE:
            if start >= 0:
                spans.append((start, length))
            start = -1
        else:
            text.append(piece)
            length += len(piece)
    return "".join(text), spans


def search_sessions(text: str, folders: list[Path], *, root: Path | None = None) -> list[IndexedSession]:
    """The sessions in `folders` whose messages match `text`, best match first (for the API)."""
    return [hit.session for hit in search(text, root=root, folders=folders, snippets=0)]
