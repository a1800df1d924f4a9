"""One session JSONL file: locked crash-safe appends and a tolerant load.

Every append is ONE `os.write` of whole lines on an O_APPEND descriptor under an exclusive
`flock`, so concurrent writers never interleave and a crash leaves at most one torn last
line, which the load skips and the next append terminates with a newline first.
"""

from __future__ import annotations

import fcntl
import gc
import os
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from kit_py.session.format import HEADER_TYPE, dumps

FILE_MODE = 0o600
DIR_MODE = 0o700


def ensure_private_dir(path: Path) -> None:
    """Create `path` (and missing parents) as 0700 folders; existing folders are left alone."""
    missing = []
    p = path
    while not p.exists():
        missing.append(p)
        if p.parent == p:
            break
        p = p.parent
    for d in reversed(missing):
        try:
            os.mkdir(d, DIR_MODE)
        except FileExistsError:
            continue
        os.chmod(d, DIR_MODE)  # mkdir's mode is reduced by the umask


class SessionFile:
    """The JSONL `EntryLog` for one file; the file and its folder appear with the first append."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._closer: weakref.finalize | None = None
        self._dir_unsynced = False  # we created the file: its directory entry needs one fsync
        self.size = -1  # file size after our last append (-1: none yet): lets a cache spot other writers

    def _open(self) -> int:
        if self._fd is None:
            ensure_private_dir(self.path.parent)
            self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
            self._closer = weakref.finalize(self, os.close, self._fd)  # no fd leak if close() is forgotten
        return self._fd

    def append(self, header: dict[str, Any], entries: list[dict[str, Any]], lines: bytes) -> None:
        """Write `lines` (the entries' whole `\\n`-terminated lines) in one locked write.

        An empty file first gets the header line; a file whose last byte is not a newline (a torn
        write, or a foreign writer) first gets a newline so the new lines stay intact.
        """
        fd = self._open()
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            size = os.fstat(fd).st_size
            payload = lines
            if size == 0:
                payload = dumps(header) + b"\n" + payload
                self._dir_unsynced = True
            elif os.pread(fd, 1, size - 1) != b"\n":
                payload = b"\n" + payload
            view = memoryview(payload)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            self.size = size + len(payload)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def sync(self) -> None:
        """fsync: called once per completed turn, not per entry (appends are already flushed)."""
        if self._fd is not None:
            os.fsync(self._fd)
        if self._dir_unsynced:
            dir_fd = os.open(self.path.parent, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
            self._dir_unsynced = False

    def close(self) -> None:
        if self._closer is not None:
            self._closer()  # runs os.close at most once
            self._closer = None
        self._fd = None


@contextmanager
def gc_paused() -> Iterator[None]:
    """Keep the cyclic GC off the many (acyclic) dicts a load builds.

    Left on, it rescans them over and over and triples the load time; afterwards they are
    frozen (moved out of the collected generations) so later collections skip them too.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


@dataclass
class LoadResult:
    header: dict[str, Any] | None
    entries: list[dict[str, Any]] = field(default_factory=list)
    linenos: list[int] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def load_lines(path: Path) -> LoadResult:
    """Parse a session file, skipping what cannot be read and saying so by line number.

    Streams the file line by line (no whole-file copy) and keeps orjson's dicts as they are,
    which is what keeps a 100 MB session under its time and memory budget.
    """
    result = LoadResult(header=None)
    warnings = result.warnings
    entries = result.entries
    linenos = result.linenos
    loads = orjson.loads
    first = True
    with open(path, "rb", buffering=1 << 20) as f:
        lineno = 0
        for line in f:
            lineno += 1
            try:
                obj = loads(line)
            except orjson.JSONDecodeError:
                if not line.strip():
                    continue
                if not line.endswith(b"\n"):
                    warnings.append(f"line {lineno}: incomplete last line (interrupted write) ignored")
                else:
                    warnings.append(f"line {lineno}: malformed JSON ignored")
                continue
            if obj.__class__ is not dict:
                warnings.append(f"line {lineno}: not a JSON object, ignored")
                continue
            if first:
                first = False
                if obj.get("type") == HEADER_TYPE:
                    result.header = obj
                    continue
                warnings.append(f"line {lineno}: session header missing; reading entries anyway")
            entries.append(obj)
            linenos.append(lineno)
    return result
