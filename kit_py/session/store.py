"""One session JSONL file: locked crash-safe appends and a tolerant load.

Every append is ONE `os.write` of whole lines on an O_APPEND descriptor under an exclusive
`flock`, so concurrent writers never interleave. Under that lock, before writing, the file is
kept valid for Go kit (which refuses a file with any malformed line):

- an interrupted last line (unterminated and not JSON) is copied to a sidecar
  `<name>.jsonl.torn-<UTC time>` and cut off: the only time existing bytes are removed;
  a complete last line that only lacks its newline gets one;
- an empty (or whitespace-only) file gets the session header first; a file with entries but no
  header is never appended to;
- lines other processes appended since this one last read or wrote the file are read (only those
  bytes) and handed to the caller, which may re-parent what it writes;
- a write that fails (disk full, I/O error) is cut back to the size before it, so the file stays
  what it was, and reported as a `SessionWriteError` naming the path and the free space.
"""

from __future__ import annotations

import errno
import fcntl
import gc
import os
import stat
import weakref
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from kit_py.errors import SessionWriteError
from kit_py.session.format import HEADER_TYPE, dumps

FILE_MODE = 0o600
DIR_MODE = 0o700
HEAD_PROBE = 4096
TAIL_CHUNK = 1 << 16
NO_SESSION_HINT = "use --no-session to chat without saving"

Entry = dict[str, Any]


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


def _not_a_folder(folder: Path) -> Path | None:
    """The first existing component of `folder` (from the root down) that is not a folder, if any."""
    for p in (*reversed(folder.parents), folder):
        try:
            mode = os.stat(p).st_mode
        except FileNotFoundError:
            return None
        except NotADirectoryError:
            return p.parent
        except OSError:
            return None  # not ours to diagnose here: the mkdir/open below says what is wrong
        if not stat.S_ISDIR(mode):
            return p
    return None


def _reason(exc: OSError) -> str:
    """A short lower-case reason for an OSError ("read-only file system", "no space left on device")."""
    if exc.errno == errno.ENOTDIR:
        return "not a folder"
    if exc.errno == errno.EISDIR:
        return "is a folder, not a file"
    if exc.errno == errno.EPERM:
        return "operation not permitted (immutable or protected)"
    text = exc.strerror or str(exc) or type(exc).__name__
    return text[:1].lower() + text[1:]


def _human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{int(size)} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} bytes"  # pragma: no cover


def _free_space(folder: Path) -> str:
    try:
        st = os.statvfs(folder)  # what shutil.disk_usage reports, without importing shutil at start-up
        return f"{_human_bytes(st.f_bavail * st.f_frsize)} free"
    except OSError:
        return "free space unknown"


_SPACE_ERRORS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO})


def write_error(path: Path, exc: OSError, action: str = "write to session") -> SessionWriteError:
    """The one-line error for a failed session write: "cannot <action> <path>: <reason>[, <free>]; <hint>".

    The path is the one the system call named (a folder that could not be made, a sidecar), else `path`.
    """
    where = Path(exc.filename) if isinstance(exc.filename, str) and exc.filename else path
    space = f", {_free_space(path.parent)}" if exc.errno in _SPACE_ERRORS else ""
    return SessionWriteError(f"cannot {action} {where}: {_reason(exc)}{space}; {NO_SESSION_HINT}", str(where))


def _stamp() -> str:
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H-%M-%S-") + f"{now.microsecond // 1000:03d}Z"


def _fsync_dir(folder: Path) -> None:
    dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


@dataclass
class LoadResult:
    header: dict[str, Any] | None
    entries: list[dict[str, Any]] = field(default_factory=list)
    linenos: list[int] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    end: int = 0  # bytes read, without an interrupted last line: where the next read starts
    lines: int = 0  # lines in those bytes
    open_line: bool = False  # the last of them has no newline yet (a complete line, kept)


Rebase = Callable[[LoadResult], tuple[list[Entry], bytes]]
"""Called under the lock with the entries other writers appended; returns what to write instead."""


class SharedLog(ABC):
    """An `EntryLog` other processes append to as well (a session file, a database table).

    Under its lock, an append first reads what others added since this log last read or wrote (only
    that) and hands it to `rebase`, which joins it to the tree and returns what to write instead: the
    engine's one rule for concurrent writers (`SessionManager.append_many`)."""

    @abstractmethod
    def append(self, header: Entry, entries: list[Entry], lines: bytes, rebase: Rebase | None = None) -> None:
        """Persist `entries` after everything held, others' included (see `EntryLog.append`)."""


class SessionFile(SharedLog):
    """The JSONL `EntryLog` for one file; the file and its folder appear with the first append.

    `known_size`/`known_lines` say how much of the file this process has already read (from a load);
    an append then first reads what others wrote after that and hands it to `rebase`. -1: unknown,
    others' lines are not read. `has_header` is what the load found (None: look when appending).
    """

    def __init__(
        self,
        path: Path,
        *,
        known_size: int = -1,
        known_lines: int = 0,
        open_line: bool = False,
        has_header: bool | None = None,
    ) -> None:
        self.path = Path(path)
        self._fd: int | None = None
        self._closer: weakref.finalize | None = None
        self._dir_unsynced = False  # we created the file: its directory entry needs one fsync
        self.size = -1  # file size after our last append (-1: none yet): lets a cache spot other writers
        self._known = known_size
        self._lines = known_lines
        self._open_line = open_line
        self._has_header = has_header
        self.notices: list[str] = []  # said once each: repairs done while appending

    # --- preflight ----------------------------------------------------------------------------------

    def check_writable(self) -> None:
        """Prove, without writing an entry, that the next append can succeed; else SessionWriteError.

        The folder is created (0700) if missing; an existing file is opened for appending (never
        created: a probe file is created and removed instead), so nothing is left behind.
        """
        folder = self.path.parent
        blocker = _not_a_folder(folder)
        if blocker is not None:
            raise SessionWriteError(
                f"cannot write session {self.path}: {blocker} is a file, not a folder; {NO_SESSION_HINT}",
                str(blocker),
            )
        try:
            ensure_private_dir(folder)
        except OSError as exc:
            raise write_error(self.path, exc, "create the session folder") from None
        if self._has_header is False:
            raise self._headerless()
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CLOEXEC)
        except FileNotFoundError:
            self._probe_create(folder)
            return
        except OSError as exc:
            raise write_error(self.path, exc) from None
        try:
            size = os.fstat(fd).st_size
            if self._has_header is None and size:
                state = self._head_state(fd, size)
                if state == "missing":
                    raise self._headerless()
        except OSError as exc:
            raise write_error(self.path, exc, "read session") from None
        finally:
            os.close(fd)

    def _probe_create(self, folder: Path) -> None:
        probe = folder / f".{self.path.name}.probe-{os.getpid()}"
        try:
            fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE)
        except FileExistsError:
            return  # a probe of ours from a crash: the folder took a file, so it is writable
        except OSError as exc:
            raise SessionWriteError(
                f"cannot write session {self.path}: cannot create files in {folder}: {_reason(exc)}; "
                f"{NO_SESSION_HINT}",
                str(folder),
            ) from None
        os.close(fd)
        with suppress(OSError):
            os.unlink(probe)

    def _headerless(self) -> SessionWriteError:
        return SessionWriteError(
            f"cannot append to {self.path}: it has entries but no session header line, so Go kit could "
            f"not read it; fork it into a new session instead; {NO_SESSION_HINT}",
            str(self.path),
        )

    # --- appending ------------------------------------------------------------------------------------

    def _open(self) -> int:
        if self._fd is None:
            try:
                ensure_private_dir(self.path.parent)
            except OSError as exc:
                raise write_error(self.path, exc, "create the session folder") from None
            try:
                self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
            except OSError as exc:
                raise write_error(self.path, exc, "open session") from None
            self._closer = weakref.finalize(self, os.close, self._fd)  # no fd leak if close() is forgotten
        return self._fd

    def append(self, header: Entry, entries: list[Entry], lines: bytes, rebase: Rebase | None = None) -> None:
        """Write `lines` (the entries' whole `\\n`-terminated lines) in one locked write.

        Under the lock: a torn last line is moved to a sidecar; an empty file first gets the header;
        a last line without its newline gets one; and, when `rebase` is given, the lines other
        writers appended since this process last read or wrote the file are parsed and passed to it,
        and what it returns is written instead. A failed write is cut back and raised as
        `SessionWriteError`; a file with entries but no header raises it before writing anything.
        """
        fd = self._open()
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError as exc:
            raise write_error(self.path, exc, "lock session") from None
        try:
            try:
                size = os.fstat(fd).st_size
                size, newline = self._repair_tail(fd, size)
                if self._known > size:  # cut by someone else: start over from what is there
                    self._known = size
                others = self._read_since(fd, size) if 0 <= self._known < size else None
            except SessionWriteError:
                raise
            except OSError as exc:
                raise write_error(self.path, exc, "read session") from None
            if others is not None and rebase is not None:
                entries, lines = rebase(others)
            state = "empty" if size == 0 else "ok" if self._has_header else None
            if state is None:
                try:
                    state = self._head_state(fd, size)
                except OSError as exc:
                    raise write_error(self.path, exc, "read session") from None
                if state == "missing":
                    self._has_header = False
                    raise self._headerless()
            prefix = b"\n" if newline else b""
            if state == "empty":  # no bytes, or only whitespace: the header comes first
                prefix += dumps(header) + b"\n"
            payload = prefix + lines
            self._write_all(fd, payload, size)
            if size == 0:
                self._dir_unsynced = True
            self._has_header = True
            self.size = size + len(payload)
            if self._known >= 0:
                self._known = self.size
                self._lines += payload.count(b"\n") - (1 if self._open_line and payload[:1] == b"\n" else 0)
                self._open_line = False
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def _write_all(self, fd: int, payload: bytes, start: int) -> None:
        """One write of `payload` at the end (more only if the kernel writes it short); on failure the
        file is cut back to `start`, which removes only what this call wrote."""
        view = memoryview(payload)
        try:
            while view:
                written = os.write(fd, view)
                if written <= 0:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                view = view[written:]
        except OSError as exc:
            error = write_error(self.path, exc)
            try:
                os.ftruncate(fd, start)
            except OSError as cut:
                error = SessionWriteError(
                    f"{error.message}; and the partial write could not be removed ({_reason(cut)})",
                    error.path,
                )
            raise error from None

    def _repair_tail(self, fd: int, size: int) -> tuple[int, bool]:
        """(size after the repair, whether a newline must come first).

        A last line without a newline that is not JSON is an interrupted write: its bytes go to a
        sidecar file beside the session (fsynced) and the file is cut back to the last newline. One
        that is JSON (a writer that forgot the newline), or only whitespace, just needs a newline.
        """
        if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
            return size, False
        pieces: list[bytes] = []
        pos = size
        line_start = 0
        while pos > 0:
            start = max(0, pos - TAIL_CHUNK)
            block = os.pread(fd, pos - start, start)
            cut = block.rfind(b"\n")
            if cut >= 0:
                pieces.append(block[cut + 1 :])
                line_start = start + cut + 1
                break
            pieces.append(block)
            pos = start
        tail = b"".join(reversed(pieces))
        if not tail.strip():
            return size, True
        try:
            orjson.loads(tail)
        except orjson.JSONDecodeError:
            pass
        else:
            return size, True
        sidecar = self._save_torn(tail)
        try:
            os.ftruncate(fd, line_start)
            os.fsync(fd)
        except OSError as exc:
            raise write_error(self.path, exc, "repair session") from None
        self.notices.append(
            f"repaired {self.path}: an interrupted last line ({len(tail)} bytes) was moved to {sidecar}"
        )
        return line_start, False

    def _save_torn(self, tail: bytes) -> Path:
        stamp = _stamp()
        for n in range(1000):
            sidecar = self.path.with_name(f"{self.path.name}.torn-{stamp}" + (f"-{n}" if n else ""))
            try:
                fd = os.open(sidecar, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE)
            except FileExistsError:
                continue
            except OSError as exc:
                raise write_error(sidecar, exc, "save the interrupted last line to") from None
            try:
                view = memoryview(tail)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            except OSError as exc:
                os.close(fd)
                with suppress(OSError):
                    os.unlink(sidecar)
                raise write_error(sidecar, exc, "save the interrupted last line to") from None
            os.close(fd)
            with suppress(OSError):
                _fsync_dir(sidecar.parent)
            return sidecar
        raise SessionWriteError(f"cannot name a sidecar for {self.path}; {NO_SESSION_HINT}", str(self.path))

    def _head_state(self, fd: int, size: int) -> str:
        """The head of the file: "ok" (its first non-blank line is a session header), "empty" (only
        whitespace) or "missing"."""
        offset = 0
        head = b""
        while offset < size:
            chunk = os.pread(fd, min(HEAD_PROBE, size - offset), offset)
            if not chunk:
                break
            offset += len(chunk)
            head = (head + chunk).lstrip()
            if b"\n" in head:
                break
        if not head:
            return "empty"
        first = head.split(b"\n", 1)[0]
        try:
            obj = orjson.loads(first)
        except orjson.JSONDecodeError:
            return "missing"
        return "ok" if isinstance(obj, dict) and obj.get("type") == HEADER_TYPE else "missing"

    def _read_since(self, fd: int, size: int) -> LoadResult:
        """Parse the lines others appended after the bytes this process knows (only those bytes)."""
        start = self._known
        chunks: list[bytes] = []
        offset = start
        while offset < size:
            chunk = os.pread(fd, size - offset, offset)
            if not chunk:
                break
            chunks.append(chunk)
            offset += len(chunk)
        data = b"".join(chunks)
        result = LoadResult(header=None)
        raw_lines = data.split(b"\n")
        ends_open = raw_lines[-1] != b""
        if not ends_open:
            raw_lines.pop()
        # An open last line was counted already: the first piece read ends it (usually just its newline).
        lineno = self._lines - (1 if self._open_line else 0)
        first_line = start == 0
        for raw in raw_lines:
            lineno += 1
            if not raw.strip():
                continue
            try:
                obj = orjson.loads(raw)
            except orjson.JSONDecodeError:
                result.warnings.append(f"line {lineno}: malformed JSON ignored")
                continue
            if obj.__class__ is not dict:
                result.warnings.append(f"line {lineno}: not a JSON object, ignored")
                continue
            if first_line:
                first_line = False
                if obj.get("type") == HEADER_TYPE:
                    result.header = obj
                    self._has_header = True
                    continue
            result.entries.append(obj)
            result.linenos.append(lineno)
        self._known = size
        self._lines = lineno
        self._open_line = ends_open
        return result

    # --- durability -------------------------------------------------------------------------------------

    def sync(self) -> None:
        """fsync: called once per completed turn, not per entry (appends are already flushed)."""
        try:
            if self._fd is not None:
                os.fsync(self._fd)
            if self._dir_unsynced:
                _fsync_dir(self.path.parent)
                self._dir_unsynced = False
        except OSError as exc:
            raise write_error(self.path, exc, "sync session") from None

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
    torn = b""
    line = b""
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
                    torn = line
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
        result.end = f.tell() - len(torn)
        result.lines = lineno - (1 if torn else 0)
        result.open_line = bool(line) and not torn and not line.endswith(b"\n")
    return result
