"""kit's side of the warm worker: the router kit_py/llm/client.py sends litellm calls to while a
one-shot run uses the worker (`worker_calls`), and starting the worker when there is none.

A call the worker cannot take before its first byte (none running, starting, stale, busy, broken,
refused) runs in this process instead, silently (--debug says why), and so do the rest of this
process's calls. The first run without a worker starts one in the background. Once the worker has
shown something (an event), it is never started over: a worker dying mid-answer is a stream cut off.
Ctrl-C and task cancellation reach the child as a cancel, and its partial answer comes back as the
in-process code would have raised it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pickle
import socket
import sys
import time
from collections.abc import Callable, Iterator
from multiprocessing import AuthenticationError
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from kit_py import errors
from kit_py.llm import client
from kit_py.llm.types import LLMResponse, StreamBroken, StreamEvent, learn_provider, provider_of
from kit_py.llm.worker import folder as place
from kit_py.llm.worker.protocol import HANDSHAKE_TIMEOUT, Build, authenticate_as_client, decode_error

ENV_OFF = "KIT_NO_WORKER"
CANCEL_WAIT = 3.0
"""Seconds to wait for a cancelled call's partial answer before giving up on it."""
_SPAWN_ENV = ("PATH", "HOME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "PYTHONPATH", "VIRTUAL_ENV")
_SPAWN_TLS_ENV = ("SSL_CERT_FILE", "SSL_CERT_DIR", "SSL_VERIFY", "SSL_SECURITY_LEVEL", "SSL_ECDH_CURVE")
"""What the worker process inherits of the environment that started it: no credentials (each call
brings its caller's environment to the child that serves it). The TLS settings let its warm-up build
the TLS context callers will use (litellm keeps one per CA file; loading one costs ~50 ms)."""


class Unavailable(Exception):
    """The worker could not take a call before its first byte; the message says why."""


def turned_off(enabled: bool) -> str | None:
    """Why one-shot runs do not use the worker (None when they do)."""
    if os.environ.get(ENV_OFF, "") not in ("", "0"):
        return f"off ({ENV_OFF}={os.environ[ENV_OFF]})"
    if not enabled:
        return "off (worker: false in the config)"
    return place.unsupported()


@contextlib.contextmanager
def worker_calls(enabled: bool, idle_minutes: float, *, debug: bool = False) -> Iterator[bool]:
    """While inside, this process's litellm calls go to the warm worker (yields True), unless it is
    turned off (`worker: false`, KIT_NO_WORKER=1) or unsupported here (yields False)."""
    note = _debug_note if debug else None
    why_not = turned_off(enabled)
    if why_not is not None:
        if note:
            note(f"model worker {why_not}")
        yield False
        return
    router = WorkerRouter(place.worker_folder(), idle_minutes * 60, debug=debug, note=note)
    client.route_calls(router)
    try:
        yield True
    finally:
        client.route_calls(None)


def _debug_note(text: str) -> None:
    print(f"kit: debug: {text}", file=sys.stderr, flush=True)


class WorkerRouter:
    """Sends calls to the worker in `folder`; the first call it cannot place turns it off for good."""

    def __init__(
        self, folder: Path, idle_seconds: float, *, debug: bool, note: Callable[[str], None] | None
    ) -> None:
        self.folder = folder
        self.idle_seconds = idle_seconds
        self.debug = debug
        self.note = note
        self.off: str | None = None
        self.limits: dict[str, tuple[int | None, int | None]] = {}
        self.announced = False

    def call(
        self,
        op: str,
        args: tuple[Any, ...],
        on_event: Callable[[StreamEvent], None] | None = None,
        cancel: CancelSignal | None = None,
    ) -> Any:
        """The call's answer from the worker, or `client.IN_PROCESS` when it is to run here."""
        if op == "limits" and args[0] in self.limits:
            return self.limits[args[0]]
        if self.off is not None:
            return client.IN_PROCESS
        try:
            answer = _Call(self, op, args, on_event, cancel).run()
        except Unavailable as why:
            self._fall_back(str(why))
            return client.IN_PROCESS
        if op == "check":  # one trip told the provider and limits too: later questions cost nothing
            provider, limits = answer
            learn_provider(args[0], provider)
            self.limits[args[0]] = limits
            return None
        return answer

    async def acall(self, op: str, args: tuple[Any, ...], on_event: Callable[[StreamEvent], None]) -> Any:
        """`call` from a coroutine: the exchange runs in a thread, events are delivered on the loop, and
        cancelling the task cancels the call (its partial answer comes back as `StreamBroken`)."""
        import asyncio  # only async callers pay for it

        loop = asyncio.get_running_loop()
        cancel = CancelSignal()

        def forward(event: StreamEvent) -> None:
            loop.call_soon_threadsafe(on_event, event)

        work = asyncio.ensure_future(asyncio.to_thread(self.call, op, args, forward, cancel))
        try:
            while True:
                try:
                    return await asyncio.shield(work)
                except asyncio.CancelledError:
                    cancel.set()
        finally:
            cancel.close()

    def _fall_back(self, why: str) -> None:
        self.off = why
        if self.note:
            self.note(f"model worker {why}; running litellm in this process")
        if self.debug:
            client.load_litellm(debug=True)  # as the in-process path does with --debug

    def announce(self, pid: int) -> None:
        if self.note and not self.announced:
            self.note(f"model worker in {self.folder}: calls answered by its children (first: pid {pid})")
        self.announced = True


class CancelSignal:
    """A cancel request another thread can wait on together with the worker's connection."""

    def __init__(self) -> None:
        self._read, self._write = os.pipe()

    def fileno(self) -> int:
        return self._read

    def set(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self._write, b"x")

    def close(self) -> None:
        for fd in (self._read, self._write):
            with contextlib.suppress(OSError):
                os.close(fd)


class _Call:
    """One call's exchange with the worker and the child serving it."""

    def __init__(
        self,
        router: WorkerRouter,
        op: str,
        args: tuple[Any, ...],
        on_event: Callable[[StreamEvent], None] | None,
        cancel: CancelSignal | None,
    ) -> None:
        self.router, self.op, self.args = router, op, args
        self.on_event, self.cancel = on_event, cancel
        self.texts: list[str] = []
        self.reasonings: list[str] = []
        self.shown = False
        """Whether an event reached the caller: from then on the call is never started over."""

    def run(self) -> Any:
        payload = self._payload()
        conn = self._connect()
        try:
            try:
                child = self._handshake(conn)
            except KeyboardInterrupt as interrupt:
                if self.op == "stream":  # nothing was asked of the provider yet: an empty aborted answer
                    raise StreamBroken(interrupt, self._partial("aborted")) from None
                raise
            self.router.announce(child)
            try:
                self._send_payload(conn, payload)
            except KeyboardInterrupt as interrupt:
                return self._interrupted(conn, interrupt)
            return self._receive(conn)
        finally:
            conn.close()

    def _payload(self) -> bytes:
        """The call as bytes, made before connecting: a request that cannot travel runs here."""
        body = {"env": dict(os.environ), "cwd": _cwd(), "debug": self.router.debug, "args": self.args}
        try:
            return pickle.dumps(("payload", body), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            raise Unavailable(f"cannot take this request ({type(exc).__name__}: {exc})") from None

    def _connect(self) -> Connection:
        folder = self.router.folder
        try:
            sock = place.connect(folder, HANDSHAKE_TIMEOUT)
        except place.Refused as exc:
            raise Unavailable(f"refused: {exc}") from None
        except (FileNotFoundError, ConnectionRefusedError):
            raise Unavailable(self._start_one("not running")) from None
        except OSError as exc:
            raise Unavailable(f"unreachable ({exc.strerror or exc})") from None
        conn = Connection(sock.detach())
        try:
            authenticate_as_client(conn, place.read_authkey(folder))
        except place.Refused as exc:
            conn.close()
            raise Unavailable(f"refused: {exc}") from None
        except (OSError, EOFError, AuthenticationError) as exc:
            conn.close()
            raise Unavailable(f"busy or broken (no handshake: {type(exc).__name__})") from None
        return conn

    def _start_one(self, why: str) -> str:
        """Start a worker for the next runs unless one is starting already; says what happened."""
        if worker_alive(self.router.folder):
            return f"{why} (one is starting)"
        try:
            start_in_background(self.router.folder, self.router.idle_seconds)
        except OSError as exc:
            return f"{why} (and it could not be started: {exc})"
        return f"{why}; started one in the background for the next runs"

    def _handshake(self, conn: Connection) -> int:
        try:
            conn.send(("call", Build.current(), self.op))
            reply = conn.recv()
        except (OSError, EOFError) as exc:
            raise Unavailable(f"busy or broken (no answer: {type(exc).__name__})") from None
        kind = reply[0]
        if kind == "accepted":
            with socket.socket(fileno=os.dup(conn.fileno())) as sock:
                place.set_timeouts(sock, 0)
            return int(reply[1])
        if kind == "stale":
            raise Unavailable(self._start_one(f"stale: {reply[1]}"))
        if kind == "starting":
            raise Unavailable("starting (litellm is loading)")
        raise Unavailable(f"{kind}: {reply[1]}")

    def _send_payload(self, conn: Connection, payload: bytes) -> None:
        try:
            with socket.socket(fileno=os.dup(conn.fileno())) as sock:
                socket.send_fds(sock, [b"stdio"], [_fd_of(sys.stdout, 1), _fd_of(sys.stderr, 2)])
            conn.send_bytes(payload)
        except (OSError, EOFError) as exc:
            raise Unavailable(f"broken before answering ({type(exc).__name__})") from None

    def _receive(self, conn: Connection) -> Any:
        deadline = self._deadline()
        waiting: list[Any] = [conn] if self.cancel is None else [self.cancel, conn]
        try:
            while True:
                ready = wait(waiting, timeout=max(0.0, deadline - time.monotonic()))
                if not ready:
                    return self._broken("stopped answering")
                if self.cancel is not None and self.cancel in ready:
                    return self._interrupted(conn, errors.Cancelled("cancelled"))
                message = conn.recv()
                if message[0] == "event":
                    self._forward(message[1])
                    continue
                return self._settle(message)
        except (EOFError, OSError):
            return self._broken("stopped")
        except KeyboardInterrupt as interrupt:
            return self._interrupted(conn, interrupt)

    def _deadline(self) -> float:
        """A bound on silence only a hung worker reaches: each attempt's timeout plus the longest wait
        between retries (Retry-After is capped at 60 s), with room to spare."""
        request = self.args[0] if self.op in ("stream", "complete") else None
        if request is None:
            return time.monotonic() + 300
        return time.monotonic() + (request.timeout + 60) * (request.max_retries + 1) + 60

    def _forward(self, event: StreamEvent) -> None:
        self.shown = True
        if event.type == "text_delta":
            self.texts.append(event.text)
        elif event.type == "reasoning_delta":
            self.reasonings.append(event.text)
        if self.on_event is not None:
            self.on_event(event)

    def _settle(self, message: tuple[Any, ...]) -> Any:
        kind = message[0]
        if kind == "result":
            return message[1]
        if kind == "error":
            raise decode_error(message[1])
        if kind == "interrupted":  # Ctrl-C reached the child on its own (a signal to the process group)
            raise KeyboardInterrupt
        last = str(message[1]).strip().splitlines()[-1:] or ["?"]
        return self._broken(f"failed ({last[0]})")

    def _broken(self, what: str) -> Any:
        """The worker went away: before anything was shown the call runs here instead; after, the
        answer was cut off, as a dropped stream is."""
        if not self.shown:
            raise Unavailable(f"{what} before answering")
        model = self.args[0].model
        raise StreamBroken(
            errors.IncompleteResponseError(
                f"the model worker {what} mid-answer (incomplete)", provider=provider_of(model)
            ),
            self._partial("error"),
        )

    def _interrupted(self, conn: Connection, cause: KeyboardInterrupt | errors.Cancelled) -> Any:
        """Ctrl-C (or a cancelled task): the child is told to stop; its partial answer, as the in-process
        code reported it, is raised with this caller's own cause. A child that does not answer in time
        is left to end (closing the connection ends it) and the partial is what was shown."""
        reported: LLMResponse | None = None
        with contextlib.suppress(OSError, EOFError, ValueError):
            conn.send(("cancel",))
            end = time.monotonic() + CANCEL_WAIT
            while conn.poll(max(0.0, end - time.monotonic())):
                message = conn.recv()
                if message[0] == "event":
                    continue
                if message[0] == "error":
                    error = decode_error(message[1])
                    reported = error.partial if isinstance(error, StreamBroken) else None
                elif message[0] == "interrupted" and isinstance(cause, KeyboardInterrupt):
                    raise cause  # interrupted outside the stream (waiting to retry): as in-process
                break
        if self.op != "stream":
            raise cause
        raise StreamBroken(cause, reported or self._partial("aborted")) from None

    def _partial(self, stop_reason: str) -> LLMResponse:
        model = self.args[0].model
        partial = LLMResponse(model=model, provider=provider_of(model))
        partial.text, partial.reasoning = "".join(self.texts), "".join(self.reasonings)
        partial.stop_reason = stop_reason
        return partial


def _cwd() -> str:
    try:
        return os.getcwd()
    except OSError:
        return "/"


def _fd_of(stream: Any, default: int) -> int:
    """The file descriptor behind sys.stdout / sys.stderr (they may be replaced, as tests do)."""
    try:
        return int(stream.fileno())
    except (AttributeError, OSError, ValueError):
        return default


def worker_alive(folder: Path) -> bool:
    """Whether a worker holds the folder's lock (it is starting or running)."""
    try:
        fd = os.open(folder / place.LOCK, os.O_RDWR | os.O_NOFOLLOW)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def start_in_background(folder: Path, idle_seconds: float, *, yielding: bool = True) -> int:
    """Start a worker for `folder` that outlives this process; returns its pid. It creates the folder,
    takes the lock (or leaves quietly when another worker has it) and serves once litellm is loaded.
    `yielding`: this process answers meanwhile itself, so the worker loads litellm only after it has
    ended, at a low priority (a first run is then no slower than without a worker)."""
    import subprocess

    import kit_py

    env = {k: v for k, v in os.environ.items() if k in _SPAWN_ENV + _SPAWN_TLS_ENV or k.startswith("LC_")}
    root = str(Path(kit_py.__file__).resolve().parent.parent)  # the same kit_py as this process
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    process = subprocess.Popen(
        [sys.executable, "-m", "kit_py.llm.worker", "--dir", str(folder), "--idle", f"{idle_seconds:g}"]
        + (["--after", str(os.getpid())] if yielding else []),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # no terminal signals (Ctrl-C in kit's terminal is not for it)
        close_fds=True,
        cwd="/",
        env=env,
    )
    return process.pid
