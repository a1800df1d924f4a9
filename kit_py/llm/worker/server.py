"""The warm worker: a long-lived process with litellm imported and rehearsed, serving model calls
to short-lived `kit` processes on a Unix socket in its private folder (kit_py/llm/worker/folder.py).

It listens at once and loads litellm in a background thread, answering "starting" until
then, so `kit worker status|stop` work from the first moment. Each call gets a forked child
(kit_py/llm/worker/child.py); this process itself never sees a caller's environment or makes a
request. It exits after `idle` seconds without calls, when asked to, when a caller finds it stale
(another kit, or its code changed on disk), or when its socket is removed or replaced.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import os
import select
import signal
import socket
import sys
import threading
import time
from multiprocessing import AuthenticationError
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from kit_py.llm import client
from kit_py.llm.worker import folder as place
from kit_py.llm.worker.child import serve_call
from kit_py.llm.worker.protocol import (
    HANDSHAKE_TIMEOUT,
    Build,
    authenticate_as_server,
    changed_source,
    package_sources,
)
from kit_py.llm.worker.rehearsal import rehearse, warm_spare

MAX_CALLS = 16
"""Calls served at once; one more is answered "busy" (kit then answers it itself)."""
SPARES = 2
AFTER_LIMIT = 600.0
"""Seconds a worker waits for the run that started it before it loads litellm anyway."""
_TICK = 1.0
"""Seconds between the checks for idleness, finished children and a replaced socket."""


class Worker:
    """The worker's state and main loop (one thread: accept, answer, fork; a loader thread at start)."""

    def __init__(self, folder: Path, idle: float, *, after: int | None = None) -> None:
        self.folder = folder
        self.idle = idle
        self.after = after
        """The kit run that started this worker and answers meanwhile: loading waits until it ended."""
        self.build = Build.current()
        self.started = time.time()
        self.ready_after: float | None = None
        self.state = "starting"
        self.error: str | None = None
        self.sources: dict[str, tuple[int, int]] = {}
        self.children: dict[int, float] = {}
        self.served = 0
        self.last_call = time.monotonic()
        self.running = True
        self._loaded = threading.Event()
        self._loader: threading.Thread | None = None
        self._lock_fd = -1
        self._spares: list[tuple[int, socket.socket]] = []
        """Children forked ahead of the next calls (pid, our end of its socket pair): forking a big
        process takes tens of milliseconds, which a caller then never waits for. Two, so that a
        one-shot's second call (the answer, right after the model check) finds one too."""
        self._listener: socket.socket | None = None
        self._socket_inode = 0
        self._authkey = b""

    # --- life ---------------------------------------------------------------------------------------

    def claim(self) -> bool:
        """Take the folder: its lock (False when another worker holds it), a new key, a new socket."""
        place.make_private_folder(self.folder)
        self._lock_fd = os.open(self.folder / place.LOCK, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock_fd)
            return False
        self._authkey = os.urandom(32)
        place.write_private(self.folder / place.AUTHKEY, self._authkey)
        path = place.socket_path(self.folder)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old_umask = os.umask(0o177)
        try:
            listener.bind(path)
        finally:
            os.umask(old_umask)
        os.chmod(path, 0o600)
        listener.listen(64)
        self._listener = listener
        self._socket_inode = os.lstat(path).st_ino
        return True

    def serve(self) -> None:
        self._loader = threading.Thread(target=self._load, name="kit-worker-load", daemon=True)
        self._loader.start()
        while self.running:
            self._tick()
            assert self._listener is not None
            readable, _, _ = select.select([self._listener], [], [], _TICK)
            if readable and self.running:
                self._accept()
        self.release()

    def release(self) -> None:
        """Give the folder back: the socket goes (if it is still ours), then the lock. The spare child
        sees its socket close and ends."""
        for _, pair in self._spares:
            pair.close()
        self._spares = []
        if self._listener is not None:
            self._listener.close()
            self._listener = None
            path = self.folder / place.SOCKET
            with contextlib.suppress(OSError):
                if os.lstat(path).st_ino == self._socket_inode:
                    os.unlink(path)
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1

    def _load(self) -> None:
        """Import litellm and rehearse. After the run that started this worker has ended (on a 2-core
        machine the two imports at once slow that run by a quarter), and niced (this thread only:
        children are forked from the main thread, at normal priority)."""
        if self.after is not None:
            with contextlib.suppress(OSError):
                os.nice(19)
            deadline = time.monotonic() + AFTER_LIMIT
            while os.getppid() == self.after and self.running and time.monotonic() < deadline:
                time.sleep(0.05)  # it is our parent until it exits
        try:
            client.load_litellm()
            rehearse(_log)
            self.sources = package_sources(self.build.package)
        except BaseException as exc:  # the worker stays to say so; kit answers in-process meanwhile
            self.error = f"{type(exc).__name__}: {exc}"
            _log(f"failed to load litellm: {self.error}")
        self._loaded.set()

    def _tick(self) -> None:
        self._reap()
        if self.state == "starting" and self._loaded.is_set():
            assert self._loader is not None
            self._loader.join()
            others = [t.name for t in threading.enumerate() if t is not threading.main_thread()]
            if others:  # fork copies only this thread: a lock one of them holds would stay held
                _log(f"threads running before the first fork: {', '.join(others)}")
            if self.error is None:
                gc.freeze()  # forked children then share these pages instead of copying them on first touch
                self.state, self.ready_after = "running", time.time() - self.started
            else:
                self.state = "failed"
        while self.state == "running" and len(self._spares) < SPARES and self.running:
            try:
                self._fork_spare()
            except OSError as exc:  # out of processes or memory: calls get a child forked then
                _log(f"cannot fork a spare child: {exc}")
                break
        if not self.children and time.monotonic() - self.last_call >= self.idle:
            _log(f"idle for {self.idle:g} s: exiting")
            self.running = False
        elif not self._socket_is_ours():
            _log("the socket was removed or replaced: exiting")
            self.running = False

    def _socket_is_ours(self) -> bool:
        try:
            return os.lstat(self.folder / place.SOCKET).st_ino == self._socket_inode
        except OSError:
            return False

    def _reap(self) -> None:
        for spare in [s for s in self._spares if _ended(s[0])]:
            spare[1].close()
            self._spares.remove(spare)
        for pid in list(self.children):
            with contextlib.suppress(ChildProcessError):
                done, _ = os.waitpid(pid, os.WNOHANG)
                if not done:
                    continue
            del self.children[pid]
            self.last_call = time.monotonic()

    # --- one connection -----------------------------------------------------------------------------

    def _accept(self) -> None:
        assert self._listener is not None
        try:
            sock, _ = self._listener.accept()
        except OSError:
            return
        try:
            if place.peer_uid(sock) != os.getuid():  # the folder is 0700 already; this is the second lock
                _log(f"refused a connection from uid {place.peer_uid(sock)}")
                sock.close()
                return
            place.set_timeouts(sock, HANDSHAKE_TIMEOUT)
            conn = Connection(sock.detach())
        except OSError:
            sock.close()
            return
        with conn:
            try:
                authenticate_as_server(conn, self._authkey)
                self._answer(conn, conn.recv())
            except (OSError, EOFError, AuthenticationError, ValueError, TypeError) as exc:
                _log(f"dropped a connection: {type(exc).__name__}: {exc}")

    def _answer(self, conn: Connection, request: Any) -> None:
        kind = request[0] if isinstance(request, tuple) and request else None
        if kind == "status":
            conn.send(self.status())
        elif kind == "stop":
            self.running = False
            self.release()  # before answering: the caller may start a new worker right away
            conn.send(("stopping", os.getpid()))
        elif kind == "call" and isinstance(request[1], Build) and isinstance(request[2], str):
            self._call(conn, request[1], request[2])

    def _call(self, conn: Connection, caller: Build, op: str) -> None:
        stale = self.build.mismatch(caller)
        changed = changed_source(self.sources) if self.state == "running" else None
        if stale or changed:
            self.running = False
            self.release()
            conn.send(("stale", stale or f"its code changed on disk since it started ({changed})"))
            _log(f"stale for a caller: {stale or changed}: exiting")
        elif self.state == "starting":
            conn.send(("starting",))
        elif self.state == "failed":
            conn.send(
                ("unavailable", f"it could not load litellm ({self.error}); see {self.folder / place.LOG}")
            )
        elif len(self.children) >= MAX_CALLS:
            conn.send(("busy", f"{len(self.children)} calls running"))
        else:
            self._fork(conn, op)

    def _fork(self, conn: Connection, op: str) -> None:
        """The call goes to a spare child (the next tick forks another, once this connection is closed
        here: a spare holding it would keep the caller from seeing its child end), or to a child
        forked now."""
        if self._hand_off(conn, op):
            return
        pid = os.fork()
        if pid == 0:
            try:
                self._become_child()
                _serve(conn, op)
            finally:
                os._exit(1)
        self._started_call(pid)

    def _hand_off(self, conn: Connection, op: str) -> bool:
        if not self._spares:
            return False
        pid, pair = self._spares.pop(0)
        try:
            socket.send_fds(pair, [op.encode()], [conn.fileno()])
        except OSError:  # the spare is gone (or goes now: its socket closes): the call gets a new child
            pair.close()
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
            return False
        finally:
            pair.close()
        self._started_call(pid)
        return True

    def _started_call(self, pid: int) -> None:
        self.children[pid] = time.time()
        self.served += 1
        self.last_call = time.monotonic()

    def _fork_spare(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        pid = os.fork()
        if pid == 0:
            try:
                ours.close()
                self._become_child()
                warm_spare()
                message, fds, _, _ = socket.recv_fds(theirs, 64, 1)
                if fds:  # else the worker is gone: so is the spare
                    _serve(Connection(fds[0]), message.decode())
            finally:
                os._exit(0)
        theirs.close()
        self._spares.append((pid, ours))

    def _become_child(self) -> None:
        """Drop what only the worker holds: the listening socket, the spare's socket pair and the lock
        (a child must not keep a successor from starting)."""
        if self._listener is not None:
            self._listener.close()
        for _, pair in self._spares:
            pair.close()
        os.close(self._lock_fd)

    def status(self) -> dict[str, Any]:
        self._reap()
        return {
            "state": self.state,
            "pid": os.getpid(),
            "version": self.build.version,
            "package": self.build.package,
            "prefix": self.build.prefix,
            "folder": str(self.folder),
            "started_at": self.started,
            "ready_after_s": self.ready_after,
            "idle_limit_s": self.idle,
            "idle_for_s": 0.0 if self.children else time.monotonic() - self.last_call,
            "served": self.served,
            "running_calls": sorted(self.children),
            "rss_bytes": _rss(),
            "error": self.error,
            "changed_source": changed_source(self.sources),
        }


def _serve(conn: Connection, op: str) -> None:
    """In a child: the call's connection loses the handshake's timeouts (a call may take long)."""
    with socket.socket(fileno=os.dup(conn.fileno())) as sock:
        place.set_timeouts(sock, 0)
    serve_call(conn, op)


def _ended(pid: int) -> bool:
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return done != 0


def _rss() -> int | None:
    """This process's resident memory now (not its peak)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def _log(text: str) -> None:
    print(
        f"{time.strftime('%Y-%m-%dT%H:%M:%S')} kit worker {os.getpid()}: {text}", file=sys.stderr, flush=True
    )


def main(folder: Path, idle: float, *, after: int | None = None) -> int:
    """`python -m kit_py.llm.worker`: run the worker until it exits."""
    worker = Worker(folder, idle, after=after)
    try:
        if not worker.claim():
            return 0  # another worker holds the folder: it serves
    except (OSError, place.Refused) as exc:
        print(f"kit worker: cannot use {folder}: {exc}", file=sys.stderr)
        return 1
    _log_to(folder / place.LOG)
    _log(f"listening on {folder / place.SOCKET} (kit {worker.build.version}, idle limit {idle:g} s)")
    signal.signal(signal.SIGTERM, lambda signum, frame: setattr(worker, "running", False))
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        worker.serve()
    finally:
        worker.release()
    return 0


def _log_to(path: Path) -> None:
    """stdout and stderr (ours, litellm's) go to the log file, which starts empty."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    for target in (1, 2):
        os.dup2(fd, target)
    os.close(fd)
