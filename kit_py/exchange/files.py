"""Where an export goes and how it is written: a name from the session, never an overwrite by accident.

The format comes from the extension (`.jsonl`, `.md`, `.html`); a bare extension (`md`) or a folder
gets the default name. A new file is created exclusively (another file appearing meanwhile is not
clobbered); `force` replaces atomically, so a reader never sees half a file. Exports are 0600: they
hold the whole conversation.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

from kit_py.errors import KitError, UsageError

FILE_MODE = 0o600
FORMATS = {".jsonl": "jsonl", ".md": "markdown", ".markdown": "markdown", ".html": "html", ".htm": "html"}
DEFAULT_EXTENSION = ".html"
_SLUG_MAX = 60


def slug(text: str) -> str:
    """`Refactor the auth module!` -> `refactor-the-auth-module` (empty when nothing usable is left)."""
    words = re.sub(r"[^0-9A-Za-z]+", "-", text.strip().lower()).strip("-")
    return words[:_SLUG_MAX].rstrip("-")


def default_name(name: str | None, session_id: str, extension: str) -> str:
    """`<session name slug>-<id prefix><ext>`, or `session-<id prefix><ext>` for an unnamed session."""
    short = session_id[:8] or "unsaved"
    base = slug(name or "")
    return f"{base}-{short}{extension}" if base else f"session-{short}{extension}"


def destination(given: str | None, cwd: Path, name: str | None, session_id: str) -> tuple[Path, str]:
    """(path, format) for `/export [path]` and `kit export SESSION [path]`."""
    text = (given or "").strip()
    bare = text.lower().lstrip(".")
    if not text or f".{bare}" in FORMATS and "/" not in text:
        extension = f".{bare}" if text else DEFAULT_EXTENSION
        return cwd / default_name(name, session_id, extension), FORMATS[extension]
    path = Path(text).expanduser()
    if not path.is_absolute():
        path = cwd / path
    if text.endswith("/") or path.is_dir():
        return path / default_name(name, session_id, DEFAULT_EXTENSION), "html"
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise UsageError(
            f"cannot tell which format to write for {path}: name it .jsonl (the session file), .md or .html"
        )
    return path, kind


def write_new(path: Path, data: bytes, *, force: bool) -> None:
    """Write `data` to `path`: a new file (an existing one is an error unless `force`), mode 0600."""
    folder = path.parent
    if not folder.is_dir():
        raise UsageError(f"cannot write {path}: the folder {folder} does not exist")
    if path.is_dir():
        raise UsageError(f"cannot write {path}: it is a folder")
    if force:
        _replace(path, data)
        return
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE)
    except FileExistsError:
        raise UsageError(f"{path} already exists; use --force to overwrite it") from None
    except OSError as exc:
        raise KitError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        _write_all(fd, data)
    except OSError as exc:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise KitError(f"cannot write {path}: {exc.strerror or exc}") from None
    os.close(fd)


def _replace(path: Path, data: bytes) -> None:
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, FILE_MODE)
        try:
            _write_all(fd, data)
        finally:
            os.close(fd)
        os.replace(temp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise KitError(f"cannot write {path}: {exc.strerror or exc}") from None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    os.fsync(fd)
