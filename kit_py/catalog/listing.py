"""Listing session files cheaply: the header line and the directory entry, nothing else.

Listing reads only each file's first line (the header) plus the directory entry's mtime, which keeps
10,000 sessions well under 400 ms without an index that could go stale; names, previews and message
counts are read lazily, only for the sessions shown. `--continue`, `-s ID` and the API's stores list
through here; `kit sessions list` adds tokens, cost and branch counts from the search index
(`kit_py.catalog.index`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from kit_py.catalog.paths import sessions_dir_for, sessions_root
from kit_py.session.format import HEADER_TYPE, message_text, parse_timestamp

HEADER_READ = 8192
PREVIEW_CHARS = 100


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
    size: int = 0
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
                        entry = parse_line(line)
                        if entry and entry.get("type") == "message" and entry.get("role") == "user":
                            preview = one_line(message_text(entry))
                elif b'"session_info"' in line:
                    entry = parse_line(line)
                    if entry and entry.get("type") == "session_info" and isinstance(entry.get("name"), str):
                        name = entry["name"] or None
    except OSError:
        pass
    return {"name": name, "preview": preview, "message_count": count}


def one_line(text: str, limit: int = PREVIEW_CHARS) -> str:
    """A message shown in a list: whitespace collapsed, shortened."""
    return " ".join(text.split())[:limit]


def parse_line(line: bytes) -> dict[str, Any] | None:
    """One JSONL line as an object, or None when it is not one."""
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
    header = parse_line(head)
    if not header or header.get("type") != HEADER_TYPE:
        return None
    rest = b"" if newline < 0 else buf[newline + 1 :]
    has_entries = bool(rest.strip()) or len(buf) < st.st_size
    parent = header.get("parent_session_id")
    return SessionInfo(
        file=os.fspath(path),
        session_id=str(header.get("id", "")),
        cwd=str(header.get("cwd", "")),
        timestamp=str(header.get("timestamp", "")),
        modified=st.st_mtime,
        has_entries=has_entries,
        parent_session_id=parent if isinstance(parent, str) else None,
        size=st.st_size,
    )


def session_files(folder: Path) -> list[tuple[float, str, os.stat_result]]:
    """(mtime, path, stat) of the non-empty `*.jsonl` files directly in `folder`."""
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


def subfolders(base: Path) -> list[Path]:
    try:
        with os.scandir(base) as it:
            return [Path(de.path) for de in it if de.is_dir()]
    except (FileNotFoundError, NotADirectoryError):
        return []


def folders_for(root: Path | None, cwd: str | None) -> list[Path]:
    """The folder of `cwd`, or (cwd None) every per-cwd folder under `<root>/sessions`."""
    if cwd is not None:
        return [sessions_dir_for(cwd, root)]
    return subfolders(sessions_root(root))


def session_folders(root: Path | None = None) -> list[Path]:
    """Every per-cwd folder under `<root>/sessions` (root: the kit home, default `kit_home()`)."""
    return folders_for(root, None)


def same_cwd(a: str, b: str) -> bool:
    return os.path.normpath(a) == os.path.normpath(b) if a and b else a == b


def _list(folders: list[Path], cwd: str | None, include_empty: bool) -> list[SessionInfo]:
    files: list[tuple[float, str, os.stat_result]] = []
    for folder in folders:
        files.extend(session_files(folder))
    files.sort(key=lambda t: t[0], reverse=True)
    out = []
    for _, path, st in files:
        info = read_info(path, st)
        if info is None or (cwd is not None and not same_cwd(info.cwd, cwd)):
            continue
        if info.has_entries or include_empty:
            out.append(info)
    return out


def list_sessions(
    root: Path | None = None, cwd: str | None = None, *, include_empty: bool = False
) -> list[SessionInfo]:
    """Sessions newest first (by mtime); with `cwd`, only those whose header cwd matches it."""
    return _list(folders_for(root, cwd), cwd, include_empty)


def list_sessions_in(folders: list[Path], *, include_empty: bool = False) -> list[SessionInfo]:
    """The session files directly in `folders` (a channel, a store's folder), newest first (by mtime).

    Files without a session header are skipped; so are header-only files unless `include_empty`.
    """
    return _list(list(folders), None, include_empty)


def most_recent(cwd: str, root: Path | None = None) -> SessionInfo | None:
    """The newest non-empty session whose header cwd is `cwd` (the folder name alone is lossy)."""
    files = session_files(sessions_dir_for(cwd, root))
    files.sort(key=lambda t: t[0], reverse=True)
    for _, path, st in files:
        info = read_info(path, st)
        if info is not None and info.has_entries and same_cwd(info.cwd, cwd):
            return info
    return None
