"""The catalog index: a SQLite file (FTS5 search, per-session totals) kept in step with the JSONL files.

`<kit home>/index/catalog.sqlite3` is a cache, never the source of truth: it can be deleted at any
time (`kit sessions reindex` does) and is rebuilt from the session files. `refresh` brings it up to
date incrementally: a file whose size, mtime and inode are unchanged is not opened; one that grew is
read from the position reached last time (only the new bytes, and only whole lines) after checking
that the bytes just before it are still the same; one that was replaced, cut or changed without
growing is read again from the start; a file that is gone is dropped.

Several kit processes may refresh at once: files are read outside any lock, and each batch of them
is parsed and written in one `BEGIN IMMEDIATE` transaction that first checks that nobody indexed the
same bytes meanwhile (if someone did, their result stands). When the index cannot be written (its
folder is not writable), an in-memory one is built for the command instead, so every command still
works, only slower. A damaged index is deleted and rebuilt (`with_index`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import orjson

from kit_py.catalog.listing import subfolders
from kit_py.catalog.paths import index_path, sessions_root
from kit_py.catalog.scan import FileFacts, scan_lines
from kit_py.errors import SessionError
from kit_py.session.format import parse_timestamp
from kit_py.session.store import FILE_MODE, ensure_private_dir

if TYPE_CHECKING:
    import sqlite3

SCHEMA_VERSION = 4
TAIL = 32  # bytes before the indexed position kept to notice a file rewritten in place
BATCH_BYTES = 32 << 20  # commit at least this often, so other processes see progress
BUSY_TIMEOUT_MS = 30_000

T = TypeVar("T")
UsageRow = tuple[int, str, str, int, int, int, int, int, int, float | None]
"""(file, UTC day, model, messages, answers, input, output, cache read, cache write, cost)."""
Progress = Callable[[int, int], None]
"""Called with (bytes read so far, bytes to read in all) while a refresh reads files."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files(
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    folder TEXT NOT NULL,
    dev INTEGER NOT NULL,
    ino INTEGER NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    pos INTEGER NOT NULL,
    tail BLOB NOT NULL,
    branch_messages INTEGER NOT NULL,
    facts BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS files_folder ON files(folder);
CREATE TABLE IF NOT EXISTS nodes(
    file INTEGER NOT NULL, entry TEXT NOT NULL, depth INTEGER NOT NULL, PRIMARY KEY(file, entry)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS usage(
    file INTEGER NOT NULL, day TEXT NOT NULL, model TEXT NOT NULL,
    messages INTEGER NOT NULL, answers INTEGER NOT NULL,
    input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL,
    cache_read_tokens INTEGER NOT NULL, cache_write_tokens INTEGER NOT NULL, cost REAL,
    PRIMARY KEY(file, day, model)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS texts(
    id INTEGER PRIMARY KEY, file INTEGER NOT NULL, entry TEXT NOT NULL, role TEXT NOT NULL, time TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS texts_file ON texts(file);
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(body, tokenize = 'unicode61 remove_diacritics 2');
"""

_UPSERT_USAGE = """
INSERT INTO usage VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(file, day, model) DO UPDATE SET
    messages = messages + excluded.messages,
    answers = answers + excluded.answers,
    input_tokens = input_tokens + excluded.input_tokens,
    output_tokens = output_tokens + excluded.output_tokens,
    cache_read_tokens = cache_read_tokens + excluded.cache_read_tokens,
    cache_write_tokens = cache_write_tokens + excluded.cache_write_tokens,
    cost = CASE WHEN excluded.cost IS NULL THEN cost ELSE coalesce(cost, 0) + excluded.cost END
"""


@dataclass
class IndexedSession:
    """One session file as the index knows it; reads like `SessionInfo` (session_id, name, preview,
    message_count, created, modified, path), plus what needs the whole file: tokens, cost, branch."""

    id: int
    file: str
    size: int
    modified: float
    branch_messages: int
    facts: FileFacts

    @property
    def path(self) -> Path:
        return Path(self.file)

    @property
    def session_id(self) -> str:
        return self.facts.session_id

    @property
    def cwd(self) -> str:
        return self.facts.cwd

    @property
    def name(self) -> str | None:
        return self.facts.name

    @property
    def preview(self) -> str:
        return self.facts.first_message

    @property
    def message_count(self) -> int:
        return self.facts.messages

    @property
    def created(self) -> datetime | None:
        try:
            return parse_timestamp(self.facts.created)
        except ValueError:
            return None

    @property
    def tokens(self) -> int:
        return self.facts.input_tokens + self.facts.output_tokens


@dataclass
class RefreshStats:
    """What a refresh read: how many files were opened and how many of their bytes were new."""

    files_read: int = 0
    bytes_read: int = 0


@dataclass
class _Row:
    id: int
    path: str
    dev: int
    ino: int
    size: int
    mtime_ns: int
    pos: int
    tail: bytes


@dataclass
class _Work:
    """A file to (re)read: where from, and what the index held when we looked."""

    path: str
    folder: str
    stat: os.stat_result
    row: _Row | None
    start: int
    facts: FileFacts = field(default_factory=FileFacts)


class Index:
    """An open catalog index (use `open_index`)."""

    def __init__(self, conn: sqlite3.Connection, root: Path | None, *, in_memory: bool) -> None:
        self.conn = conn
        self.root = root
        self.in_memory = in_memory

    @property
    def path(self) -> Path:
        return index_path(self.root)

    def close(self) -> None:
        self.conn.close()

    # --- refreshing -----------------------------------------------------------------------------

    def refresh(self, folders: list[Path] | None = None, progress: Progress | None = None) -> RefreshStats:
        """Bring the index up to date for the files in `folders` (default: every session folder)."""
        folders = subfolders(sessions_root(self.root)) if folders is None else folders
        names = {os.fspath(f) for f in folders}
        on_disk = _files_on_disk(folders)
        rows = self._rows(names)
        stats = RefreshStats()
        gone = [row for path, row in rows.items() if path not in on_disk]
        work: list[_Work] = []
        for path, (folder, st) in on_disk.items():
            row = rows.get(path)
            if row is not None and (row.dev, row.ino, row.size, row.mtime_ns) == (
                st.st_dev,
                st.st_ino,
                st.st_size,
                st.st_mtime_ns,
            ):
                continue
            work.append(_Work(path, folder, st, row, self._resume_point(path, st, row)))
        if gone:
            with self._writing():
                for row in gone:
                    self._drop(row.id)
        total = sum(max(0, w.stat.st_size - w.start) for w in work)
        done = 0
        batch: list[_Read] = []
        batch_bytes = 0
        for item in work:
            if item.row is not None and item.start > 0:
                item.facts = self._facts(item.row.id)
            read = _read_lines(item)
            stats.files_read += 1
            stats.bytes_read += read.end - item.start
            batch.append(read)
            batch_bytes += read.end - item.start
            done += max(0, item.stat.st_size - item.start)
            if batch_bytes >= BATCH_BYTES:
                self._apply(batch)
                batch, batch_bytes = [], 0
            if progress is not None:
                progress(done, total)
        if batch:
            self._apply(batch)
        return stats

    def _resume_point(self, path: str, st: os.stat_result, row: _Row | None) -> int:
        """Where to read from: the indexed position when the file only grew, else 0 (read it all)."""
        if row is None or (row.dev, row.ino) != (st.st_dev, st.st_ino) or st.st_size <= row.size:
            return 0  # new, replaced, cut, or changed without growing (rewritten in place): read it all
        if row.pos == 0:
            return 0
        try:
            with open(path, "rb") as f:
                f.seek(max(0, row.pos - TAIL))
                tail = f.read(min(TAIL, row.pos))
        except OSError:
            return 0
        return row.pos if tail == row.tail else 0

    def _apply(self, batch: list[_Read]) -> None:
        """Write what a batch of files added, in one transaction and one statement per table."""
        conn = self.conn
        with self._writing():
            next_file = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM files").fetchone()[0]
            next_text = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM texts").fetchone()[0]
            nodes: list[tuple[int, str, int]] = []
            texts: list[tuple[int, int, str, str, str]] = []
            bodies: list[tuple[int, str]] = []
            usage: list[tuple[Any, ...]] = []
            inserted: list[tuple[Any, ...]] = []
            updated: list[tuple[Any, ...]] = []
            for read in batch:
                item = read.work
                row = self._row_by_path(item.path)
                if (row is None) != (item.row is None) or (
                    row is not None and item.row is not None and row.pos != item.row.pos
                ):
                    continue  # another process indexed this file meanwhile: its result stands
                if row is not None and item.start == 0:
                    self._drop(row.id)
                    row = None
                file_id = next_file if row is None else row.id
                next_file += row is None
                scanned = scan_lines(read.lines, item.facts, self._depth_lookup(file_id), start=item.start)
                nodes.extend((file_id, eid, depth) for eid, depth in scanned.depths.items())
                for t in scanned.texts:
                    texts.append((next_text, file_id, t.entry_id, t.role, t.time))
                    bodies.append((next_text, t.text))
                    next_text += 1
                usage.extend(
                    (file_id, day, model, u.messages, u.answers, u.input_tokens, u.output_tokens)
                    + (u.cache_read_tokens, u.cache_write_tokens, u.cost)
                    for (day, model), u in scanned.usage.items()
                )
                facts = item.facts
                branch = 0
                if facts.leaf_id is not None:
                    branch = (
                        scanned.depths.get(facts.leaf_id) or self._depth_lookup(file_id)(facts.leaf_id) or 0
                    )
                st = item.stat
                values = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, read.end, read.tail, branch)
                if row is None:
                    inserted.append((file_id, item.path, item.folder, *values, orjson.dumps(facts)))
                else:
                    updated.append((*values, orjson.dumps(facts), file_id))
            conn.executemany("INSERT INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", inserted)
            conn.executemany(
                "UPDATE files SET dev = ?, ino = ?, size = ?, mtime_ns = ?, pos = ?, tail = ?,"
                " branch_messages = ?, facts = ? WHERE id = ?",
                updated,
            )
            conn.executemany("INSERT OR IGNORE INTO nodes VALUES (?, ?, ?)", nodes)
            conn.executemany("INSERT INTO texts VALUES (?, ?, ?, ?, ?)", texts)
            conn.executemany("INSERT INTO fts(rowid, body) VALUES (?, ?)", bodies)
            conn.executemany(_UPSERT_USAGE, usage)

    def _depth_lookup(self, file_id: int) -> Callable[[str], int | None]:
        """How many messages lie on the path to an entry indexed in an earlier refresh."""

        def depth_of(entry_id: str) -> int | None:
            found = self.conn.execute(
                "SELECT depth FROM nodes WHERE file = ? AND entry = ?", (file_id, entry_id)
            ).fetchone()
            return None if found is None else int(found[0])

        return depth_of

    def _drop(self, file_id: int) -> None:
        """Forget a file, its words included: a removed session leaves nothing of it in the index."""
        conn = self.conn
        conn.execute("DELETE FROM fts WHERE rowid IN (SELECT id FROM texts WHERE file = ?)", (file_id,))
        for table in ("texts", "nodes", "usage"):
            conn.execute(f"DELETE FROM {table} WHERE file = ?", (file_id,))
        conn.execute("DELETE FROM files WHERE id = ?", (file_id,))

    @contextmanager
    def _writing(self) -> Iterator[None]:
        import sqlite3

        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise SessionError(f"the session index is busy ({exc}); try again") from None
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # --- reading --------------------------------------------------------------------------------

    def _rows(self, folders: set[str]) -> dict[str, _Row]:
        out = {}
        for rid, path, folder, dev, ino, size, mtime_ns, pos, tail in self.conn.execute(
            "SELECT id, path, folder, dev, ino, size, mtime_ns, pos, tail FROM files"
        ):
            if folder in folders:
                out[path] = _Row(rid, path, dev, ino, size, mtime_ns, pos, tail)
        return out

    def _row_by_path(self, path: str) -> _Row | None:
        found = self.conn.execute(
            "SELECT id, path, dev, ino, size, mtime_ns, pos, tail FROM files WHERE path = ?", (path,)
        ).fetchone()
        return None if found is None else _Row(*found)

    def _facts(self, file_id: int) -> FileFacts:
        blob = self.conn.execute("SELECT facts FROM files WHERE id = ?", (file_id,)).fetchone()[0]
        return _facts_from(blob)

    def files(self, folders: list[Path] | None = None) -> list[IndexedSession]:
        """Indexed session files (with a header) in `folders` (default: all), newest first."""
        names = None if folders is None else {os.fspath(f) for f in folders}
        out = []
        for rid, path, folder, size, mtime_ns, branch, blob in self.conn.execute(
            "SELECT id, path, folder, size, mtime_ns, branch_messages, facts FROM files"
        ):
            if names is not None and folder not in names:
                continue
            facts = _facts_from(blob)
            if facts.has_header:
                out.append(IndexedSession(rid, path, size, mtime_ns / 1e9, branch, facts))
        out.sort(key=lambda f: f.modified, reverse=True)
        return out

    def files_matching(self, query: str) -> set[int]:
        """Ids of the indexed files with a message matching the FTS5 `query` (no refresh: what the
        index holds now; the resume picker asks on every key)."""
        rows = self.conn.execute(
            "SELECT DISTINCT texts.file FROM fts JOIN texts ON texts.id = fts.rowid WHERE fts MATCH ?",
            (query,),
        )
        return {int(row[0]) for row in rows}

    def files_by_id(self, ids: set[int]) -> dict[int, IndexedSession]:
        """The indexed sessions with these ids (a search's matches: only those rows are decoded)."""
        out = {}
        wanted = sorted(ids)
        for start in range(0, len(wanted), 900):
            chunk = wanted[start : start + 900]
            for rid, path, size, mtime_ns, branch, blob in self.conn.execute(
                "SELECT id, path, size, mtime_ns, branch_messages, facts FROM files"
                f" WHERE id IN ({','.join('?' * len(chunk))})",
                chunk,
            ):
                out[rid] = IndexedSession(rid, path, size, mtime_ns / 1e9, branch, _facts_from(blob))
        return out

    def usage_rows(self, first_day: str | None, folders: list[Path]) -> list[UsageRow]:
        """(file, day, model, messages, answers, input, output, cache read, cache write, cost) of the
        files in `folders`, from `first_day` (UTC, YYYY-MM-DD) on."""
        names = {os.fspath(f) for f in folders}
        files = {rid for rid, folder in self.conn.execute("SELECT id, folder FROM files") if folder in names}
        rows = self.conn.execute(
            "SELECT file, day, model, messages, answers, input_tokens, output_tokens, cache_read_tokens,"
            " cache_write_tokens, cost FROM usage WHERE day >= ?",
            (first_day or "",),
        )
        return [row for row in rows if row[0] in files]


def _facts_from(blob: bytes) -> FileFacts:
    if not blob:
        return FileFacts()
    data: dict[str, Any] = orjson.loads(blob)
    try:
        return FileFacts(**data)
    except TypeError:  # written by another version of the schema: keep what is known
        known = FileFacts.__dataclass_fields__
        return FileFacts(**{k: v for k, v in data.items() if k in known})


def _files_on_disk(folders: list[Path]) -> dict[str, tuple[str, os.stat_result]]:
    out: dict[str, tuple[str, os.stat_result]] = {}
    for folder in folders:
        name = os.fspath(folder)
        try:
            with os.scandir(folder) as it:
                for de in it:
                    if not de.name.endswith(".jsonl"):
                        continue
                    try:
                        st = de.stat()
                    except OSError:
                        continue
                    if st.st_size:
                        out[de.path] = (name, st)
        except (FileNotFoundError, NotADirectoryError):
            continue
    return out


@dataclass
class _Read:
    """The whole lines of a file from its resume point, where they end, and the bytes before that."""

    work: _Work
    lines: list[bytes]
    end: int
    tail: bytes


def _read_lines(work: _Work) -> _Read:
    start = work.start
    try:
        with open(work.path, "rb") as f:
            f.seek(start)
            data = f.read()
    except OSError:
        data = b""
    cut = data.rfind(b"\n")
    if cut < 0:
        return _Read(work, [], start, work.row.tail if work.row is not None and start else b"")
    before = work.row.tail if work.row is not None and start else b""
    return _Read(work, data[:cut].split(b"\n"), start + cut + 1, (before + data[: cut + 1])[-TAIL:])


# --- opening ------------------------------------------------------------------------------------------


def open_index(root: Path | None = None) -> Index:
    """The catalog index under `root` (the kit home): created when missing, deleted and rebuilt when
    damaged or from another schema, in memory when it cannot be opened for writing."""
    import sqlite3

    path = index_path(root)
    for attempt in (1, 2):
        try:
            return Index(_connect(path), root, in_memory=False)
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise SessionError(f"the session index is busy ({exc}); try again") from None
            break  # cannot be opened or written here: never delete what another process may use
        except OSError:
            break
        except sqlite3.DatabaseError:  # not a database, damaged, another schema: it is only a cache
            if attempt == 2:
                break
            with suppress(OSError):
                drop_index(root)
    conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    conn.executescript(_SCHEMA)
    return Index(conn, root, in_memory=True)


def with_index(root: Path | None, work: Callable[[Index], T]) -> T:
    """Run `work` on the open index and close it. A damaged index (it is only a cache) is deleted and
    `work` runs once more on a new one; a busy one is a one-line SessionError."""
    import sqlite3

    for attempt in (1, 2):
        index = open_index(root)
        try:
            return work(index)
        except sqlite3.OperationalError as exc:
            raise SessionError(f"the session index cannot be used now ({exc}); try again") from None
        except sqlite3.DatabaseError:
            if attempt == 2 or index.in_memory:
                raise
        finally:
            index.close()
        with suppress(OSError):
            drop_index(root)
    raise AssertionError("unreachable")


def _connect(path: Path) -> sqlite3.Connection:
    import sqlite3

    ensure_private_dir(path.parent)
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, FILE_MODE))
    conn = sqlite3.connect(
        path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False
    )
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = OFF")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version not in (0, SCHEMA_VERSION):
            raise sqlite3.DatabaseError(f"index schema {version}, expected {SCHEMA_VERSION}")
        if version == 0:  # every statement is idempotent: two processes may create it at once
            conn.executescript(_SCHEMA)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            # merge FTS segments less eagerly than the default 4: a faster build, the same answers
            conn.execute("INSERT INTO fts(fts, rank) VALUES ('automerge', 16)")
        conn.execute("SELECT count(*) FROM files").fetchone()
    except BaseException:
        conn.close()
        raise
    return conn


def drop_index(root: Path | None = None) -> None:
    """Delete the index files (the database and its WAL); the next command rebuilds it."""
    path = index_path(root)
    for suffix in ("", "-wal", "-shm", "-journal"):
        with suppress(FileNotFoundError):
            os.unlink(f"{path}{suffix}")
