"""Many session files: where they live, listing, search, continue-most-recent, lookup by id, cleanup.

This is the only place that lists or searches session folders: the CLI, the REPL and the API's
JSONL store, channels and `Session.history` / `Session.search` all come here.

Listing reads only each file's first line (the header) plus the directory entry's mtime,
which keeps 10,000 sessions well under 400 ms without an index file that could go stale;
names, previews and message counts are read lazily, only for the sessions shown.
"""

from __future__ import annotations

import fcntl
import os
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from kit_py.session.format import HEADER_TYPE, message_text, parse_timestamp

HEADER_READ = 8192
PREVIEW_CHARS = 100
EMPTY_MIN_AGE = 60.0


class SessionNotFound(LookupError):
    """No session matches a path or id prefix."""


class AmbiguousSession(LookupError):
    """An id prefix matches several sessions; `candidates` lists them."""

    def __init__(self, ref: str, candidates: list[SessionInfo]) -> None:
        self.ref = ref
        self.candidates = candidates
        shown = "\n".join(f"  {c.session_id}  {c.path}  ({c.cwd})" for c in candidates[:10])
        more = f"\n  ... and {len(candidates) - 10} more" if len(candidates) > 10 else ""
        super().__init__(
            f"session reference {ref!r} matches {len(candidates)} sessions; use a longer prefix:\n"
            f"{shown}{more}"
        )


def kit_home() -> Path:
    """`$KIT_HOME`, else `~/.kit`."""
    env = os.environ.get("KIT_HOME")
    return Path(env).expanduser() if env else Path.home() / ".kit"


def encode_cwd(cwd: str) -> str:
    """Go kit's folder name for a cwd (lossy): `/home/u/proj` -> `home--u--proj`."""
    s = cwd.replace("\\", "--").replace("/", "--")
    if s.startswith("--"):
        s = s[2:]
    for ch in ':<>"|?*':
        s = s.replace(ch, "")
    return s


def sessions_root(root: Path | None = None) -> Path:
    """`<root>/sessions`, where `root` is the kit home (default `kit_home()`)."""
    return (root if root is not None else kit_home()) / "sessions"


def sessions_dir_for(cwd: str, root: Path | None = None) -> Path:
    return sessions_root(root) / encode_cwd(cwd)


@dataclass
class SessionInfo:
    """One session file as listed: header facts now, name/preview/count on first access."""

    file: str  # a str, not a Path: building 10,000 Path objects alone costs ~100 ms
    session_id: str
    cwd: str
    timestamp: str  # the header's creation time as written
    modified: float  # file mtime (epoch seconds): the recency used for sorting
    has_entries: bool
    parent_session_id: str | None = None
    _details: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    @property
    def path(self) -> Path:
        return Path(self.file)

    @property
    def created(self) -> datetime | None:
        try:
            return parse_timestamp(self.timestamp)
        except ValueError:
            return None

    def _scan(self) -> dict[str, Any]:
        if self._details is None:
            self._details = _scan_details(self.file)
        return self._details

    @property
    def name(self) -> str | None:
        return self._scan()["name"]

    @property
    def preview(self) -> str:
        """The first user message, on one line, shortened."""
        return str(self._scan()["preview"])

    @property
    def message_count(self) -> int:
        return int(self._scan()["message_count"])


def _scan_details(path: str) -> dict[str, Any]:
    """Name (last session_info), first user message and message count, by cheap byte tests first."""
    name: str | None = None
    preview = ""
    count = 0
    try:
        with open(path, "rb", buffering=1 << 20) as f:
            for line in f:
                if b'"message"' in line:
                    count += line.count(b'"type":"message"')
                    if not preview and b'"user"' in line:
                        entry = _parse(line)
                        if entry and entry.get("type") == "message" and entry.get("role") == "user":
                            preview = " ".join(message_text(entry).split())[:PREVIEW_CHARS]
                elif b'"session_info"' in line:
                    entry = _parse(line)
                    if entry and entry.get("type") == "session_info" and isinstance(entry.get("name"), str):
                        name = entry["name"] or None
    except OSError:
        pass
    return {"name": name, "preview": preview, "message_count": count}


def _parse(line: bytes) -> dict[str, Any] | None:
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    return obj if isinstance(obj, dict) else None


def read_info(path: str | os.PathLike[str], stat: os.stat_result | None = None) -> SessionInfo | None:
    """Header-only read of one file; None if it is not a session file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        st = stat or os.fstat(fd)
        buf = os.read(fd, HEADER_READ)
        while b"\n" not in buf and len(buf) < st.st_size:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            buf += chunk
    except OSError:
        return None
    finally:
        os.close(fd)
    newline = buf.find(b"\n")
    head = buf if newline < 0 else buf[:newline]
    header = _parse(head)
    if not header or header.get("type") != HEADER_TYPE:
        return None
    rest = b"" if newline < 0 else buf[newline + 1 :]
    has_entries = bool(rest.strip()) or len(buf) < st.st_size
    return SessionInfo(
        file=os.fspath(path),
        session_id=str(header.get("id", "")),
        cwd=str(header.get("cwd", "")),
        timestamp=str(header.get("timestamp", "")),
        modified=st.st_mtime,
        has_entries=has_entries,
        parent_session_id=header.get("parent_session_id"),
    )


def _session_files(folder: Path) -> list[tuple[float, str, os.stat_result]]:
    out = []
    try:
        with os.scandir(folder) as it:
            for de in it:
                if de.name.endswith(".jsonl"):
                    try:
                        st = de.stat()
                    except OSError:
                        continue
                    if st.st_size:
                        out.append((st.st_mtime, de.path, st))
    except (FileNotFoundError, NotADirectoryError):
        pass
    return out


def _folders(root: Path | None, cwd: str | None) -> list[Path]:
    if cwd is not None:
        return [sessions_dir_for(cwd, root)]
    base = sessions_root(root)
    try:
        with os.scandir(base) as it:
            return [Path(de.path) for de in it if de.is_dir()]
    except FileNotFoundError:
        return []


def session_folders(root: Path | None = None) -> list[Path]:
    """Every per-cwd folder under `<root>/sessions` (root: the kit home, default `kit_home()`)."""
    return _folders(root, None)


def _same_cwd(a: str, b: str) -> bool:
    return os.path.normpath(a) == os.path.normpath(b) if a and b else a == b


def _list(folders: list[Path], cwd: str | None, include_empty: bool) -> list[SessionInfo]:
    files: list[tuple[float, str, os.stat_result]] = []
    for folder in folders:
        files.extend(_session_files(folder))
    files.sort(key=lambda t: t[0], reverse=True)
    out = []
    for _, path, st in files:
        info = read_info(path, st)
        if info is None or (cwd is not None and not _same_cwd(info.cwd, cwd)):
            continue
        if info.has_entries or include_empty:
            out.append(info)
    return out


def list_sessions(
    root: Path | None = None, cwd: str | None = None, *, include_empty: bool = False
) -> list[SessionInfo]:
    """Sessions newest first (by mtime); with `cwd`, only those whose header cwd matches it."""
    return _list(_folders(root, cwd), cwd, include_empty)


def list_sessions_in(folders: list[Path], *, include_empty: bool = False) -> list[SessionInfo]:
    """The session files directly in `folders` (a channel, a store's folder), newest first (by mtime).

    Files without a session header are skipped; so are header-only files unless `include_empty`.
    """
    return _list(list(folders), None, include_empty)


def search_sessions(text: str, folders: list[Path]) -> list[SessionInfo]:
    """Sessions in `folders` with a message whose text contains `text` (any case), newest first."""
    needle = text.casefold()
    return [info for info in list_sessions_in(folders) if _mentions(info.file, needle)]


def _mentions(path: str, needle: str) -> bool:
    """Whether a message in the file contains `needle` (already casefolded); stops at the first hit."""
    try:
        with open(path, "rb", buffering=1 << 20) as f:
            for line in f:
                if b'"message"' not in line:
                    continue
                entry = _parse(line)
                if entry and entry.get("type") == "message" and needle in message_text(entry).casefold():
                    return True
    except OSError:
        pass
    return False


def most_recent(cwd: str, root: Path | None = None) -> SessionInfo | None:
    """The newest non-empty session whose header cwd is `cwd` (the folder name alone is lossy)."""
    files = _session_files(sessions_dir_for(cwd, root))
    files.sort(key=lambda t: t[0], reverse=True)
    for _, path, st in files:
        info = read_info(path, st)
        if info is not None and info.has_entries and _same_cwd(info.cwd, cwd):
            return info
    return None


def _file_id(file: str) -> str:
    stem = os.path.basename(file).removesuffix(".jsonl")
    return stem.rsplit("_", 1)[-1]


def find_session(ref: str, root: Path | None = None, cwd: str | None = None) -> SessionInfo:
    """Resolve a path, or a unique prefix of a session id / file-name id / file name.

    When a prefix matches several sessions and `cwd` is given, a single match from that cwd wins.
    """
    ref = ref.strip()
    if not ref:
        raise SessionNotFound("empty session reference")
    candidate = Path(ref).expanduser()
    if "/" in ref or os.sep in ref or ref.endswith(".jsonl"):
        if candidate.is_file():
            info = read_info(candidate)
            if info is None:
                raise SessionNotFound(f"{candidate} is not a session file (no session header)")
            return info
        if "/" in ref or os.sep in ref:
            raise SessionNotFound(f"no session file at {candidate}")
    needle = ref.lower().removesuffix(".jsonl")
    matches = [
        info
        for info in list_sessions(root, include_empty=True)
        if info.session_id.lower().startswith(needle)
        or _file_id(info.file).lower().startswith(needle)
        or os.path.basename(info.file).lower().startswith(needle)
    ]
    if not matches:
        raise SessionNotFound(f"no session matches {ref!r} under {sessions_root(root)}")
    if len(matches) > 1 and cwd is not None:
        local = [m for m in matches if _same_cwd(m.cwd, cwd)]
        if len(local) == 1:
            return local[0]
    if len(matches) > 1:
        raise AmbiguousSession(ref, matches)
    return matches[0]


def cleanup_empty(
    root: Path | None = None, *, min_age: float = EMPTY_MIN_AGE, now: float | None = None
) -> list[Path]:
    """Delete header-only session files older than `min_age` seconds that nobody holds locked.

    Returns the removed paths. Files with entries, young files, files without a header and
    files another process has flock-ed are left alone.
    """
    now = time.time() if now is None else now
    removed: list[Path] = []
    for folder in _folders(root, None):
        for mtime, path, st in _session_files(folder):
            if now - mtime < min_age:
                continue
            info = read_info(path, st)
            if info is None or info.has_entries:
                continue
            if _remove_if_unlocked(path, st.st_size):
                removed.append(Path(path))
    return removed


def _open_by_other_process(path: str) -> bool:
    """Whether another process holds the file open (Linux /proc); Go kit keeps files open without a lock."""
    target = os.path.realpath(path)
    me = str(os.getpid())
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit() and p != me]
    except OSError:
        return False  # no /proc: the flock check and the age rule still apply
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                    return True
            except OSError:
                continue
    return False


def _remove_if_unlocked(path: str, size: int) -> bool:
    if _open_by_other_process(path):
        return False
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        if os.fstat(fd).st_size != size:  # written to since we looked
            return False
        os.unlink(path)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)
