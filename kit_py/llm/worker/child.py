"""One call, in a child the worker forked for it: the caller's environment, working directory, stdout
and stderr; the call made by the same in-process code kit would run (kit_py/llm/client.py); its
events and outcome sent back. The child ends with the call, so nothing of the caller (credentials
above all) outlives it, and nothing one call changes reaches the next.

A cancel from the caller becomes Ctrl-C in the call (the HTTP response is closed and the partial
answer reported, exactly as in kit's own process); a caller that goes away ends the child at once.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from typing import Any, NoReturn

from kit_py import errors
from kit_py.llm import client
from kit_py.llm.types import StreamEvent, provider_of
from kit_py.llm.worker.protocol import encode_error

CANCEL_GRACE = 3.0
"""Seconds a cancelled call has to report its partial answer before the child ends anyway."""


def _run(op: str, args: tuple[Any, ...], on_event: Callable[[StreamEvent], None]) -> Any:
    """The call, made by the in-process code kit runs without a worker (kit_py/llm/client.py)."""
    if op == "stream":
        (request,) = args
        return client.stream_completion(request, on_event)
    if op == "check":  # with what kit asks next about the model, in the same trip
        model, api_key, api_base = args
        client.check_model(model, api_key, api_base)
        return provider_of(model), client.model_limits(model)
    if op == "limits":
        return client.model_limits(*args)
    if op == "complete":
        return client.complete_text(*args)
    raise ValueError(f"no such call: {op!r}")


def serve_call(conn: Connection, op: str) -> NoReturn:
    """Serve `op` for the caller at the other end of `conn`, then end this process."""
    try:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        conn.send(("accepted", os.getpid()))
        _adopt_stdio(conn)
        kind, payload = conn.recv()
        if kind != "payload":
            os._exit(1)
        _adopt_caller(payload)
        threading.Thread(target=_watch, args=(conn, threading.get_ident()), daemon=True).start()
        outcome = _outcome(op, payload["args"], _event_sender(conn))
        with _sigint_deferred():
            conn.send(outcome)
    except (EOFError, OSError):
        pass
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        os._exit(0)
    raise AssertionError("unreachable")  # for type checkers: os._exit does not return


def _adopt_stdio(conn: Connection) -> None:
    """The caller's stdout and stderr become this child's: what litellm prints (its --debug logs)
    lands where it would in kit's own process."""
    with socket.socket(fileno=os.dup(conn.fileno())) as sock:
        _, fds, _, _ = socket.recv_fds(sock, 16, 2)
    for fd, target in zip(fds, (1, 2), strict=True):
        os.dup2(fd, target)
        os.close(fd)


def _adopt_caller(payload: dict[str, Any]) -> None:
    """The caller's environment (its API keys, proxies, KIT_* settings) and working directory."""
    os.environ.clear()
    os.environ.update(payload["env"])
    with contextlib.suppress(OSError):  # a folder removed since: the call does not need it
        os.chdir(payload["cwd"])
    client.claim_process(debug=payload["debug"])
    if payload["debug"]:
        client.load_litellm(debug=True)


def _outcome(op: str, args: tuple[Any, ...], send: Callable[[StreamEvent], None]) -> tuple[Any, ...]:
    try:
        return ("result", _run(op, args, send))
    except errors.KitError as exc:
        return ("error", encode_error(exc))
    except KeyboardInterrupt:
        return ("interrupted",)
    except BaseException:
        return ("crash", traceback.format_exc())


@contextmanager
def _sigint_deferred() -> Iterator[None]:
    """A cancel arriving while a message is being written waits until it is written whole."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _event_sender(conn: Connection) -> Callable[[StreamEvent], None]:
    def send(event: StreamEvent) -> None:
        with _sigint_deferred():
            conn.send(("event", event))

    return send


def _watch(conn: Connection, call_thread: int) -> None:
    """Listen to the caller while the call runs: a cancel interrupts the call (Ctrl-C, as in kit's own
    process), a caller gone ends the child at once (the kernel then closes the HTTP connection)."""
    try:
        while True:
            if conn.recv() == ("cancel",):
                signal.pthread_kill(call_thread, signal.SIGINT)
                threading.Timer(CANCEL_GRACE, os._exit, args=(1,)).start()
    except (EOFError, OSError):
        os._exit(1)
