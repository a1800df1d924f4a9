"""Removing sessions safely: the trash (`rm` / `restore`), retention (`prune`) and empty files.

A removed session goes to `<kit home>/trash/<its folder>/` with its sidecar files (`.torn-*`, Go
kit's `.lock`) and a `<file>.trashinfo` note of where it came from and when, so `restore` puts it
back exactly. `prune` deletes for good, but only what it was asked to (sessions and trash older than
a limit, and empty files by the `--cleanup` rule); nothing here runs on its own. A session another
process has open or locked is never moved or deleted. Every removal is written to the audit log.
"""

from __future__ import annotations

import errno
import fcntl
import os
import time
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import orjson

from kit_py.catalog.audit import record_audit
from kit_py.catalog.listing import SessionInfo, list_sessions, read_info, session_files, subfolders
from kit_py.catalog.paths import sessions_root, trash_root
from kit_py.errors import SessionError
from kit_py.session.store import ensure_private_dir

EMPTY_MIN_AGE = 60.0
TRASHINFO = ".trashinfo"


@dataclass
class Trashed:
    """A session in the trash: the file there, where it came from and when it was removed."""

    info: SessionInfo
    original: Path
    trashed_at: float


# --- is it in use? ---------------------------------------------------------------------------------


def open_elsewhere() -> set[str]:
    """Real paths of the files other processes hold open (Linux /proc), read once per command.

    Go kit keeps a session file open (and flock-s `<file>.lock`) for as long as it shows it; kit_py
    keeps it open between appends. Without /proc the set is empty and the lock checks still apply.
    """
    me = str(os.getpid())
    found: set[str] = set()
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit() and p != me]
    except OSError:
        return found
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                found.add(os.readlink(f"/proc/{pid}/fd/{fd}"))
            except OSError:
                continue
    return found


def _locked(path: str) -> bool:
    """Whether another open file description holds a flock on `path` (absent: not locked)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)  # closing drops our lock too
    return False


def in_use(path: str, open_paths: set[str]) -> bool:
    """Whether a session is open or locked by another process (kit_py or Go kit)."""
    real = os.path.realpath(path)
    if real in open_paths or f"{real}.lock" in open_paths:
        return True
    return _locked(path) or _locked(f"{path}.lock")


# --- moving files ----------------------------------------------------------------------------------


def sidecars(path: Path) -> list[Path]:
    """The files that belong to a session file: `<name>.torn-*`, `<name>.lock` (not `.trashinfo`)."""
    prefix = path.name + "."
    try:
        with os.scandir(path.parent) as it:
            return [
                Path(de.path)
                for de in it
                if de.name.startswith(prefix) and not de.name.endswith(TRASHINFO) and de.is_file()
            ]
    except OSError:
        return []


def _move(src: Path, dst: Path) -> None:
    """Move without ever replacing an existing file (a hard link then unlink; a rename where links
    are not supported)."""
    try:
        os.link(src, dst)
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
            raise
        if dst.exists():
            raise FileExistsError(errno.EEXIST, "file exists", str(dst)) from None
        if exc.errno == errno.EXDEV:
            import shutil

            shutil.copy2(src, dst)
            os.unlink(src)
        else:
            os.rename(src, dst)
        return
    os.unlink(src)


def _move_session(src: Path, folder: Path) -> Path:
    ensure_private_dir(folder)
    dst = folder / src.name
    if dst.exists():
        raise SessionError(f"cannot move {src}: {dst} already exists")
    try:
        _move(src, dst)
    except FileExistsError:
        raise SessionError(f"cannot move {src}: {dst} already exists") from None
    except OSError as exc:
        raise SessionError(f"cannot move {src} to {folder}: {exc.strerror or exc}") from None
    for extra in sidecars(src):
        try:
            _move(extra, folder / extra.name)
        except OSError:
            continue  # a sidecar that cannot follow stays beside where the file was
    return dst


def _now_iso(now: float | None = None) -> str:
    return datetime.fromtimestamp(time.time() if now is None else now, UTC).isoformat(timespec="seconds")


# --- rm / restore ----------------------------------------------------------------------------------


def trash_session(info: SessionInfo, root: Path | None = None, open_paths: set[str] | None = None) -> Path:
    """Move a session (and its sidecars) to the trash; returns its path there. SessionError when it
    is in use by another process or cannot be moved."""
    src = info.path
    if in_use(str(src), open_elsewhere() if open_paths is None else open_paths):
        raise SessionError(f"session {info.session_id} is open in another process; close it first ({src})")
    folder = trash_root(root) / src.parent.name
    dst = _move_session(src, folder)
    note = orjson.dumps({"path": str(src), "trashed": _now_iso()}) + b"\n"
    fd = os.open(folder / (dst.name + TRASHINFO), os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, note)
    finally:
        os.close(fd)
    record_audit("rm", info.session_id or None, root=root, path=str(src), trash=str(dst))
    return dst


def _trash_note(path: Path) -> tuple[Path | None, float | None]:
    try:
        note = orjson.loads(path.with_name(path.name + TRASHINFO).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None, None
    if not isinstance(note, dict):
        return None, None
    original = Path(note["path"]) if isinstance(note.get("path"), str) else None
    when: float | None = None
    if isinstance(note.get("trashed"), str):
        try:
            when = datetime.fromisoformat(note["trashed"]).timestamp()
        except ValueError:
            when = None
    return original, when


def list_trash(root: Path | None = None) -> list[Trashed]:
    """Sessions in the trash, most recently removed first."""
    out = []
    base = sessions_root(root)
    for folder in subfolders(trash_root(root)):
        for _, file, st in session_files(folder):
            info = read_info(file, st)
            if info is None:
                continue
            original, when = _trash_note(info.path)
            out.append(
                Trashed(
                    info=info,
                    original=original or base / folder.name / info.path.name,
                    trashed_at=when if when is not None else st.st_ctime,
                )
            )
    out.sort(key=lambda t: t.trashed_at, reverse=True)
    return out


def trash_folders(root: Path | None = None) -> list[Path]:
    return subfolders(trash_root(root))


def restore_session(trashed: Trashed, root: Path | None = None) -> Path:
    """Put a trashed session back where it was removed from; SessionError if a file is there now."""
    src = trashed.info.path
    target = trashed.original
    if target.exists():
        raise SessionError(f"cannot restore {trashed.info.session_id}: {target} exists")
    folder = target.parent
    dst = _move_session(src, folder)
    if dst != target:  # never happens with kit's own notes; a hand-edited one named another file
        os.rename(dst, target)
    with suppress(OSError):
        os.unlink(src.with_name(src.name + TRASHINFO))
    record_audit("restore", trashed.info.session_id or None, root=root, path=str(target))
    return target


# --- deleting for good ------------------------------------------------------------------------------


def _delete(path: Path) -> None:
    for extra in sidecars(path):
        try:
            os.unlink(extra)
        except OSError:
            continue
    os.unlink(path)
    with suppress(FileNotFoundError):
        os.unlink(path.with_name(path.name + TRASHINFO))


def _remove_if_unlocked(path: str, size: int, open_paths: set[str]) -> bool:
    """Delete `path` unless someone has it open or locked, or it changed size since it was seen."""
    if in_use(path, open_paths):
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
        _delete(Path(path))
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def empty_sessions(
    root: Path | None = None, *, min_age: float = EMPTY_MIN_AGE, now: float | None = None
) -> list[SessionInfo]:
    """Header-only session files older than `min_age` seconds (Go kit leaves them behind)."""
    now = time.time() if now is None else now
    found = []
    for folder in subfolders(sessions_root(root)):
        for mtime, path, st in session_files(folder):
            if now - mtime < min_age:
                continue
            info = read_info(path, st)
            if info is not None and not info.has_entries:
                found.append(info)
    return found


def cleanup_empty(
    root: Path | None = None, *, min_age: float = EMPTY_MIN_AGE, now: float | None = None
) -> list[Path]:
    """Delete header-only session files older than `min_age` seconds that nobody holds open or locked.

    Returns the removed paths. Files with entries, young files, files without a header and
    files another process has open or flock-ed are left alone.
    """
    open_paths = open_elsewhere()
    return [
        info.path
        for info in empty_sessions(root, min_age=min_age, now=now)
        if _remove_for_good(info, root, open_paths, "empty")
    ]


def _remove_for_good(info: SessionInfo, root: Path | None, open_paths: set[str], reason: str) -> bool:
    if not _remove_if_unlocked(info.file, info.size, open_paths):
        return False
    record_audit("prune", info.session_id or None, root=root, path=info.file, reason=reason)
    return True


@dataclass
class PrunePlan:
    """What `prune` removes for good: old sessions, old trash and old empty files; what it skips."""

    sessions: list[SessionInfo] = field(default_factory=list)
    trash: list[Trashed] = field(default_factory=list)
    empty: list[SessionInfo] = field(default_factory=list)
    in_use: list[SessionInfo] = field(default_factory=list)


def plan_prune(root: Path | None, older_than: float, now: float | None = None) -> PrunePlan:
    """Sessions not written to for `older_than` seconds, trash removed longer ago than that, and
    empty files by the `--cleanup` rule. Sessions open in another process are set aside."""
    now = time.time() if now is None else now
    limit = now - older_than
    open_paths = open_elsewhere()
    plan = PrunePlan()
    for info in list_sessions(root):
        if info.modified < limit:
            (plan.in_use if in_use(info.file, open_paths) else plan.sessions).append(info)
    plan.trash = [t for t in list_trash(root) if t.trashed_at < limit]
    plan.empty = [info for info in empty_sessions(root, now=now) if not in_use(info.file, open_paths)]
    return plan


def apply_prune(plan: PrunePlan, root: Path | None, reason: str) -> list[Path]:
    """Delete what `plan` lists (re-checking that nobody opened it meanwhile); returns what went."""
    open_paths = open_elsewhere()
    removed = [info.path for info in plan.sessions if _remove_for_good(info, root, open_paths, reason)]
    for item in plan.trash:
        try:
            _delete(item.info.path)
        except OSError:
            continue
        record_audit(
            "prune",
            item.info.session_id or None,
            root=root,
            path=str(item.original),
            reason=f"trash {reason}",
        )
        removed.append(item.info.path)
    removed.extend(info.path for info in plan.empty if _remove_for_good(info, root, open_paths, "empty"))
    return removed
