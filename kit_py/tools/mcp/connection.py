"""One MCP server, held open on the MCP loop thread (tools/mcp/loop.py) with the official SDK.

`run()` starts the server (a child process over stdio, or a streamable HTTP endpoint), lists its
tools and keeps the connection until kit stops it or the server ends by itself. Its state is
changed only on the loop thread; other threads read it and wait on `settled`. Importing this module
imports the SDK (about half a second), so only the loop thread does, and only when a server starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import anyio
from mcp import Client, MCPError, StdioServerParameters
from mcp import types as mcp_types
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

from kit_py import __version__
from kit_py.tools.bash import guard_process_group, unguard_process_group
from kit_py.tools.mcp.config import ServerConfig

STARTING, READY, FAILED, STOPPED, CLOSED = "starting", "ready", "failed", "stopped", "closed"
MAX_PAGES = 100
STDERR_TAIL = 2000


class NotRunning(Exception):
    """The server is not (or no longer) connected; the message says why ("stopped during the call (...)")."""


class Connection:
    """A server's state (`starting` -> `ready` -> `stopped`, or `failed`; `closed` when kit ends it)."""

    def __init__(self, config: ServerConfig, cwd: Path, on_change: Callable[[Connection], None]) -> None:
        self.config = config
        self.cwd = cwd
        self.state = STARTING
        self.error = ""
        self.tools: list[mcp_types.Tool] = []
        self.started_in: float | None = None
        self.settled = threading.Event()
        """Set when the start is over, either way (ready or failed)."""
        self._on_change = on_change
        self._client: Client | None = None
        self._stop: asyncio.Event | None = None
        self._ended: asyncio.Event | None = None
        self._scope: anyio.CancelScope | None = None
        self._stderr: Any = None
        self._stderr_mark = 0
        """How much stderr there was when the last call began: a death is explained by what came after."""

    # --- lifecycle (loop thread) -------------------------------------------------------------------

    async def run(self) -> None:
        """Start, list tools, then hold the connection until `stop()` or until the server ends."""
        self._stop, self._ended = asyncio.Event(), asyncio.Event()
        if self.state != STARTING:  # kit closed it before it began
            return
        if self.config.problem:
            self._settle(FAILED, self.config.problem)
            return
        began = time.monotonic()
        deadline = asyncio.get_running_loop().call_later(self.config.startup_timeout, self._timed_out)
        try:
            with anyio.CancelScope() as self._scope, self._stderr_log():
                try:
                    async with Client(self._transport(), client_info=_CLIENT) as client:
                        tools = await _list_tools(client)
                        deadline.cancel()
                        if self.state != STARTING:
                            return
                        self._client, self.tools = client, _allowed(tools, self.config.allowed_tools)
                        self.started_in = time.monotonic() - began
                        self._stderr_mark = self._stderr_size()
                        self._settle(READY)
                        await _first(self._stop.wait(), self._ended.wait())
                        self._client = None
                        if self._ended.is_set():
                            self._settle(STOPPED, self._why_ended())
                except Exception as exc:  # a server must never take kit down with it
                    self._settle(FAILED if self.state == STARTING else STOPPED, self._describe(exc))
        finally:
            deadline.cancel()
            self._client = None
            if self.state in (STARTING, READY):
                self._settle(CLOSED)

    def stop(self) -> None:
        """Close the connection (a child process gets end of input, then SIGTERM if it lingers)."""
        if self._stop is not None:
            self._stop.set()
        if self.state == STARTING:
            self._settle(CLOSED)
            if self._scope is not None:
                self._scope.cancel()

    def _timed_out(self) -> None:
        if self.state == STARTING:
            self._settle(FAILED, f"did not start within {self.config.startup_timeout:g} s (startup_timeout)")
            if self._scope is not None:
                self._scope.cancel()

    def _settle(self, state: str, error: str = "") -> None:
        """Move to `state` (once out of starting/ready, a connection never moves again)."""
        if self.state not in (STARTING, READY) or state == self.state:
            return
        self.state, self.error = state, error
        self._on_change(self)  # before `settled`: a waiter must find the tools of a ready server
        self.settled.set()

    # --- calls (loop thread, awaited from the tool layer's thread) ---------------------------------

    async def call(self, tool: str, arguments: dict[str, Any]) -> mcp_types.CallToolResult:
        """Call one tool; raises NotRunning, TimeoutError or MCPError (the server refused the call)."""
        client = self._client
        if client is None or self.state != READY:
            raise NotRunning(f"is not running ({self.error or self.state})")
        self._stderr_mark = self._stderr_size()
        try:
            with anyio.fail_after(self.config.timeout):
                return await client.call_tool(tool, arguments)
        except MCPError as exc:
            if exc.code != mcp_types.CONNECTION_CLOSED:
                raise
            why = self._why_ended()
        except TimeoutError:
            raise
        except Exception as exc:  # the transport broke (an HTTP server went away)
            why = self._describe(exc)
        self._client = None
        self._settle(STOPPED, why)
        assert self._ended is not None
        self._ended.set()
        raise NotRunning(f"stopped during the call ({why})")

    # --- transports -------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _transport(self) -> AsyncIterator[Any]:
        """The SDK transport, with its read side watched: its end means the server is gone."""
        config = self.config
        assert self._ended is not None
        if config.url:
            import httpx2

            timeout = httpx2.Timeout(30, read=max(300, config.timeout))
            async with (
                httpx2.AsyncClient(headers=config.headers, timeout=timeout) as http,
                streamable_http_client(config.url, http_client=http) as (read, write),
            ):
                yield _Watched(read, self._ended), write
            return
        params = StdioServerParameters(
            command=config.command or "",
            args=config.args,
            env={**os.environ, **config.env},
            cwd=self.cwd / config.cwd if config.cwd else self.cwd,
        )
        pid = None
        try:
            async with stdio_client(params, errlog=self._stderr) as (read, write):
                # The SDK stops the server when kit closes it; the watchdog covers a kit that is
                # killed (SIGKILL) while the server is busy or hung and would not notice end of input.
                pid = _child_writing_to(self._stderr)
                if pid is not None:
                    guard_process_group(pid)
                yield _Watched(read, self._ended), write
        finally:
            if pid is not None:
                unguard_process_group(pid)

    @contextlib.contextmanager
    def _stderr_log(self) -> Any:
        """A stdio server's stderr goes to a temp file, never to kit's screen; its tail explains a failure."""
        if self.config.url:
            yield
            return
        with tempfile.TemporaryFile("a+", encoding="utf-8", errors="replace", prefix="kit-mcp-") as log:
            self._stderr = log
            try:
                yield
            finally:
                self._stderr = None

    def _stderr_size(self) -> int:
        try:
            return os.fstat(self._stderr.fileno()).st_size if self._stderr is not None else 0
        except (OSError, ValueError):
            return 0

    def stderr_tail(self, since: int = 0) -> str:
        """The last lines the server wrote to stderr after offset `since` (read with pread: the
        server shares the file offset)."""
        log = self._stderr
        if log is None:
            return ""
        try:
            size = self._stderr_size()
            start = max(since, size - STDERR_TAIL)
            data = os.pread(log.fileno(), size - start, start) if size > start else b""
        except (OSError, ValueError):
            return ""
        lines = [line.strip() for line in data.decode("utf-8", "replace").splitlines() if line.strip()]
        return " | ".join(lines[-3:])

    def _why_ended(self) -> str:
        tail = self.stderr_tail(since=self._stderr_mark)
        return "the connection closed" + (f"; stderr: {tail}" if tail else "")

    def _describe(self, exc: BaseException) -> str:
        """One line for a failure: the innermost real error, plus the server's last words on stderr."""
        exc = _innermost(exc)
        if isinstance(exc, MCPError) and exc.code == mcp_types.CONNECTION_CLOSED:
            return self._why_ended() if self.state != STARTING else self._exited_early()
        if isinstance(exc, FileNotFoundError) and not self.config.url:
            return f"command not found: {self.config.command}"
        text = str(exc).strip() or type(exc).__name__
        tail = self.stderr_tail(since=self._stderr_mark)
        return f"{type(exc).__name__}: {text}" + (f"; stderr: {tail}" if tail else "")

    def _exited_early(self) -> str:
        tail = self.stderr_tail()
        return "it exited before it answered" + (f"; stderr: {tail}" if tail else "")


_CLIENT = mcp_types.Implementation(name="kit", version=__version__)


class _Watched:
    """A transport's read stream that sets `ended` when it runs out (the server exited or hung up)."""

    def __init__(self, inner: Any, ended: asyncio.Event) -> None:
        self._inner, self._ended = inner, ended

    def __getattr__(self, name: str) -> Any:  # e.g. `last_context`, read by the SDK's dispatcher
        return getattr(self._inner, name)

    async def receive(self) -> Any:
        try:
            return await self._inner.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            self._ended.set()
            raise

    def __aiter__(self) -> _Watched:
        return self

    async def __anext__(self) -> Any:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def __aenter__(self) -> _Watched:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


async def _list_tools(client: Client) -> list[mcp_types.Tool]:
    tools: list[mcp_types.Tool] = []
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        page = await client.list_tools(cursor=cursor)
        tools.extend(page.tools)
        cursor = page.next_cursor
        if not cursor:
            break
    return tools


def _allowed(tools: list[mcp_types.Tool], names: list[str] | None) -> list[mcp_types.Tool]:
    return tools if names is None else [t for t in tools if t.name in names]


async def _first(*waits: Any) -> None:
    """Wait until the first of several awaitables is done; cancel the others."""
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()


def _child_writing_to(log: Any) -> int | None:
    """The pid of the child process whose stderr is `log` (each server has its own log file), found
    through /proc; None where there is no /proc (the server then relies on end of input alone)."""
    try:
        mine = os.fstat(log.fileno())
        children: list[str] = []
        for task in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{task}/children", encoding="ascii") as listing:
                children += listing.read().split()
    except (OSError, ValueError):
        return None
    for pid in children:
        try:
            found = os.stat(f"/proc/{pid}/fd/2")
        except OSError:
            continue
        if (found.st_ino, found.st_dev) == (mine.st_ino, mine.st_dev):
            return int(pid)
    return None


def _innermost(exc: BaseException) -> BaseException:
    """The first real error inside (nested) exception groups, as anyio task groups wrap them."""
    while isinstance(exc, BaseExceptionGroup):
        inner = [e for e in exc.exceptions if not isinstance(e, asyncio.CancelledError)]
        exc = inner[0] if inner else exc.exceptions[0]
    return exc
