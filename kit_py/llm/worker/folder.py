"""Where the warm worker lives and who may talk to it: one private folder per user and boot.

The folder is `$KIT_WORKER_DIR` when set, else `$XDG_RUNTIME_DIR/kit-worker-<boot>` (a per-user
folder the system empties at logout and reboot), else `${TMPDIR:-/tmp}/kit-worker-<uid>-<boot>`.
The boot id in the name means a socket or key left by an earlier boot is never trusted, so the
worker never outlives a reboot. Everything in the folder must belong to this user and be closed to
everyone else (folder 0700, files 0600); anything else is refused, never repaired, because someone
else may have put it there.
"""

from __future__ import annotations

import contextlib
import os
import socket
import stat
import struct
from pathlib import Path

SOCKET = "worker.sock"
AUTHKEY = "authkey"
LOCK = "worker.lock"
"""Held (flock) by the worker for its whole life: a free lock means no worker is starting or running."""
LOG = "worker.log"
"""The worker's own stderr: why it failed to start, when it did."""
ENV_FOLDER = "KIT_WORKER_DIR"
_MAX_SOCKET_PATH = 104
"""sun_path holds 108 bytes on Linux (104 on the BSDs)."""


class Refused(Exception):
    """The folder or a file in it is not private to this user; the message says what is wrong."""


def unsupported() -> str | None:
    """Why this system cannot run the worker (None when it can): it needs Unix sockets whose peer can be
    asked for its uid (Linux's SO_PEERCRED), fork, and a boot id."""
    if not hasattr(socket, "AF_UNIX") or not hasattr(socket, "SO_PEERCRED") or not hasattr(os, "fork"):
        return "not supported on this system (it needs Linux's SO_PEERCRED)"
    if boot_id() is None:
        return "not supported on this system (no /proc/sys/kernel/random/boot_id)"
    return None


def boot_id() -> str | None:
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as f:
            return f.read().strip().replace("-", "")[:12] or None
    except OSError:
        return None


def worker_folder() -> Path:
    """The folder of this user's worker (see the module docstring)."""
    chosen = os.environ.get(ENV_FOLDER)
    if chosen:
        return Path(chosen).expanduser().absolute()
    boot = boot_id() or "noboot"
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and _is_private_folder(Path(runtime)):
        return Path(runtime) / f"kit-worker-{boot}"
    return Path(os.environ.get("TMPDIR") or "/tmp") / f"kit-worker-{os.getuid()}-{boot}"


def _is_private_folder(path: Path) -> bool:
    try:
        check_private(path, folder=True)
    except Refused:
        return False
    return path.is_dir()


def check_private(path: Path, *, folder: bool = False, kind: str = "file") -> os.stat_result | None:
    """The path's status when it is this user's and closed to others; None when it does not exist.
    Raises `Refused` otherwise (a symlink, another owner, group or world access, the wrong type)."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(info.st_mode):
        raise Refused(f"{path} is a symlink")
    if info.st_uid != os.getuid():
        raise Refused(f"{path} is owned by uid {info.st_uid}, not {os.getuid()}")
    if stat.S_IMODE(info.st_mode) & 0o077:
        raise Refused(f"{path} is open to other users (mode {stat.S_IMODE(info.st_mode):o})")
    wanted = stat.S_ISDIR if folder else (stat.S_ISSOCK if kind == "socket" else stat.S_ISREG)
    if not wanted(info.st_mode):
        raise Refused(f"{path} is not a {'folder' if folder else kind}")
    return info


def make_private_folder(path: Path) -> None:
    """Create the folder (0700, parents too) unless it exists; either way it must then be private."""
    with contextlib.suppress(FileExistsError):
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.mkdir(mode=0o700)
    check_private(path, folder=True)


def write_private(path: Path, data: bytes) -> None:
    """Replace `path` with a new 0600 file holding `data` (written beside it, then renamed)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    os.replace(temporary, path)


def read_authkey(folder: Path) -> bytes:
    """The key both ends prove they know (multiprocessing's HMAC challenge); only a private file counts."""
    fd = os.open(folder / AUTHKEY, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        info = os.fstat(fd)
        if info.st_uid != os.getuid() or stat.S_IMODE(info.st_mode) & 0o077:
            raise Refused(f"{folder / AUTHKEY} is not private to uid {os.getuid()}")
        return os.read(fd, 4096)
    finally:
        os.close(fd)


def socket_path(folder: Path) -> str:
    path = str(folder / SOCKET)
    if len(path.encode()) >= _MAX_SOCKET_PATH:
        raise Refused(f"the socket path {path} is too long for a Unix socket (set {ENV_FOLDER} shorter)")
    return path


def set_timeouts(sock: socket.socket, seconds: float) -> None:
    """Kernel send/receive timeouts on a blocking socket (0 = wait forever): the socket stays blocking,
    as multiprocessing's Connection needs, yet a peer that stops answering cannot hang the other end."""
    whole = int(seconds)
    timeval = struct.pack("ll", whole, int((seconds - whole) * 1_000_000))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, timeval)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeval)


def peer_uid(sock: socket.socket) -> int:
    """The uid of the process at the other end, as the kernel recorded it when it connected."""
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return int(struct.unpack("3i", creds)[1])


def connect(folder: Path, timeout: float) -> socket.socket:
    """A connected socket to the worker, after checking the folder and socket are this user's and the
    process listening runs as this user. OSError when nothing listens there; `Refused` when not private."""
    if check_private(folder, folder=True) is None:
        raise FileNotFoundError(f"no folder {folder}")
    path = socket_path(folder)
    if check_private(Path(path), kind="socket") is None:
        raise FileNotFoundError(f"no socket {path}")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        set_timeouts(sock, timeout)
        sock.connect(path)
        uid = peer_uid(sock)
        if uid != os.getuid():
            raise Refused(f"the process listening on {path} runs as uid {uid}, not {os.getuid()}")
    except BaseException:
        sock.close()
        raise
    return sock
