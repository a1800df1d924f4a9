"""Asking the warm worker about itself, starting it and stopping it (`kit worker status|start|stop`)."""

from __future__ import annotations

import contextlib
import os
import time
from multiprocessing import AuthenticationError
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from kit_py.llm.worker import folder as place
from kit_py.llm.worker.client import start_in_background, worker_alive
from kit_py.llm.worker.protocol import HANDSHAKE_TIMEOUT, Build, authenticate_as_client

_POLL = 0.1


def _ask(folder: Path, request: tuple[Any, ...]) -> Any:
    """One request to the worker process itself (not a call): OSError/EOFError when it cannot answer."""
    sock = place.connect(folder, HANDSHAKE_TIMEOUT)
    with Connection(sock.detach()) as conn:
        try:
            authenticate_as_client(conn, place.read_authkey(folder))
        except AuthenticationError as exc:
            raise OSError(f"the worker did not accept this folder's key: {exc}") from None
        conn.send(request)
        return conn.recv()


def status(folder: Path) -> dict[str, Any]:
    """What the worker says of itself, with `state`: running, starting, failed (it stays to say why),
    stopped, refused (the folder is not private) or unresponsive; `stale` says why this kit would not
    use it."""
    base: dict[str, Any] = {"folder": str(folder)}
    try:
        answer = _ask(folder, ("status",))
    except place.Refused as exc:
        return {**base, "state": "refused", "reason": str(exc)}
    except (FileNotFoundError, ConnectionRefusedError):
        return {**base, "state": "starting" if worker_alive(folder) else "stopped"}
    except (OSError, EOFError) as exc:
        return {**base, "state": "unresponsive", "reason": f"{type(exc).__name__}: {exc}"}
    theirs = Build(answer["version"], answer["package"], answer["prefix"])
    changed = answer.pop("changed_source", None)
    stale = theirs.mismatch(Build.current()) or (
        changed and f"its code changed on disk since it started ({changed})"
    )
    return {**base, **answer, "stale": stale or None}


def stop(folder: Path, wait: float = 10.0) -> int | None:
    """Stop the worker (calls it is serving finish in their own processes); its pid, None if none ran.
    Returns once it has let go of the folder, so a new one can start at once."""
    try:
        _, pid = _ask(folder, ("stop",))
    except (place.Refused, OSError, EOFError):
        return None
    deadline = time.monotonic() + wait
    while _exists(pid) and time.monotonic() < deadline:
        time.sleep(_POLL)
    return int(pid)


def start(folder: Path, idle_seconds: float, wait: float = 120.0) -> tuple[dict[str, Any], bool]:
    """Start a worker unless one is up (a stale one is replaced) and wait until it serves or fails:
    (its status, whether this call started it). TimeoutError when it is not ready within `wait`."""
    current = status(folder)
    if current["state"] == "refused":
        raise place.Refused(current["reason"])
    if current.get("stale"):
        stop(folder)
        current = status(folder)
    started = current["state"] == "stopped"
    if started:
        start_in_background(folder, idle_seconds, yielding=False)  # someone waits for it
    deadline = time.monotonic() + wait
    while current["state"] not in ("running", "failed"):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the worker did not get ready within {wait:g} s (see {folder / place.LOG})")
        time.sleep(_POLL)
        current = status(folder)
    return current, started


def _exists(pid: int) -> bool:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, 0)
        return _not_zombie(pid)
    return False


def _not_zombie(pid: int) -> bool:
    """A worker this process started stays a zombie until reaped: that is gone too."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True
