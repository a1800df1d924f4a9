"""What kit and its worker say to each other: pickled tuples over a `multiprocessing.connection`
Connection, after both ends passed its HMAC challenge with the folder's key.

    kit -> worker:  ("status",) | ("stop",) | ("call", Build, op)
    worker -> kit:  a status dict | ("stopping", pid) | ("accepted", child pid) | ("stale", why)
                    | ("starting",) | ("busy", why) | ("unavailable", why)
    after "accepted", with the child that serves the call:
    kit -> child:   stdout and stderr (SCM_RIGHTS), then ("payload", {env, cwd, debug, args}),
                    then perhaps ("cancel",)
    child -> kit:   ("event", StreamEvent)* then ("result", value) | ("error", encoded KitError)
                    | ("interrupted",) | ("crash", traceback text)

Both ends are the same kit (the worker checks the caller's `Build` before anything else), so kit's
own objects (LLMRequest, LLMResponse, StreamEvent) travel as they are; errors are encoded by hand,
because an exception's pickle keeps only its constructor arguments.
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback
from dataclasses import dataclass
from multiprocessing.connection import Connection, answer_challenge, deliver_challenge
from pathlib import Path
from typing import Any

from kit_py import errors

HANDSHAKE_TIMEOUT = 3.0
"""Seconds a worker may take to accept and answer the challenge before kit calls it busy."""


def authenticate_as_client(conn: Connection, authkey: bytes) -> None:
    answer_challenge(conn, authkey)
    deliver_challenge(conn, authkey)


def authenticate_as_server(conn: Connection, authkey: bytes) -> None:
    deliver_challenge(conn, authkey)
    answer_challenge(conn, authkey)


@dataclass(frozen=True)
class Build:
    """Which kit a process runs: a worker serves only callers of the very same kit."""

    version: str
    package: str
    """The folder kit_py was imported from (another checkout or install is another kit)."""
    prefix: str
    """sys.prefix: the virtualenv, hence the litellm and Python it uses."""

    @classmethod
    def current(cls) -> Build:
        import kit_py

        return cls(kit_py.__version__, str(Path(kit_py.__file__).resolve().parent), sys.prefix)

    def mismatch(self, caller: Build) -> str | None:
        """Why a worker of this build cannot serve `caller`, in words; None when it can."""
        if caller.version != self.version:
            return f"it runs kit {self.version}, this is kit {caller.version}"
        if caller.package != self.package or caller.prefix != self.prefix:
            theirs, ours = f"{self.package} ({self.prefix})", f"{caller.package} ({caller.prefix})"
            return f"it runs the kit in {theirs}, this is {ours}"
        return None


def package_sources(package: str) -> dict[str, tuple[int, int]]:
    """(mtime, size) of every module of kit imported in this process: a worker whose code changed on
    disk since it loaded it is stale even when the version string is the same (a checkout being edited)."""
    sources = {}
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if isinstance(path, str) and path.startswith(package):
            try:
                info = os.stat(path)
            except OSError:
                continue
            sources[path] = (info.st_mtime_ns, info.st_size)
    return sources


def changed_source(sources: dict[str, tuple[int, int]]) -> str | None:
    """The first of `sources` that is not as it was, or None."""
    for path, seen in sources.items():
        try:
            info = os.stat(path)
        except OSError:
            return path
        if (info.st_mtime_ns, info.st_size) != seen:
            return path
    return None


class WorkerTraceback(Exception):
    """Where an error was raised in the worker: the `__cause__` of the error kit raises, so --debug
    shows the worker's traceback as it would show an in-process one."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return f"\n(in the model worker)\n{self.text}"


def encode_error(exc: errors.KitError) -> dict[str, Any]:
    """A kit error as plain data: its class, message and attributes (a `StreamBroken`'s cause too)."""
    state = dict(vars(exc))
    cause = state.get("cause")
    if isinstance(cause, errors.KitError):
        state["cause"] = encode_error(cause)
    elif isinstance(cause, BaseException):
        state["cause"] = {"interrupt": type(cause).__name__}
    kind = type(exc)
    return {
        "class": f"{kind.__module__}:{kind.__qualname__}",
        "state": state,
        "traceback": "".join(traceback.format_exception(exc)),
    }


def decode_error(data: dict[str, Any]) -> errors.KitError:
    """The error `encode_error` described, as an instance of its own class (only kit's error classes)."""
    module, _, name = str(data["class"]).partition(":")
    kind = getattr(importlib.import_module(module), name, None) if module.startswith("kit_py.") else None
    if not (isinstance(kind, type) and issubclass(kind, errors.KitError)):
        raise ValueError(f"not a kit error: {data['class']}")
    state = dict(data["state"])
    cause = state.get("cause")
    if isinstance(cause, dict):
        state["cause"] = KeyboardInterrupt() if "interrupt" in cause else decode_error(cause)
    error = kind.__new__(kind)
    Exception.__init__(error, state.get("message", ""))
    error.__dict__.update(state)
    error.__cause__ = WorkerTraceback(str(data.get("traceback", "")))
    return error
