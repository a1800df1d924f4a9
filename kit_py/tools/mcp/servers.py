"""`McpServers`: the MCP servers of one kit run (or one API `Agent`), as a source of tools.

The engine asks it for the tools to offer before every model step (`current_tools`), so a server
that failed or died simply has no tools any more; what happened is said once (`take_notices`).
Servers start in parallel in the background, on the first `start()` or when tools are first needed,
each bounded by its startup timeout. Every MCP tool becomes an ordinary `Tool` named `server__tool`:
it runs through the same approval policy and is recorded like a built-in one, its result `details`
naming the server. Tools that declare themselves read-only (`readOnlyHint`) do not ask in safe mode.
`close()` ends every server; kit calls it on exit, so no server process outlives kit.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import contextlib
import functools
import json
import threading
import weakref
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kit_py.tools.base import Tool, ToolContext, ToolResult
from kit_py.tools.mcp.config import ServerConfig
from kit_py.tools.mcp.loop import LoopThread
from kit_py.tools.mcp.names import namespaced
from kit_py.tools.mcp.results import result_text

if TYPE_CHECKING:
    from kit_py.tools.mcp.connection import Connection

IMPORT_TIMEOUT = 60.0
"""Seconds to wait for the SDK import on the loop thread (a second or two on a slow machine)."""
CLOSE_TIMEOUT = 10.0
"""Seconds to wait for servers to end at exit; the SDK itself escalates to SIGKILL within about 6 s."""
NOT_STARTED = "not started"


@dataclass
class ServerStatus:
    """One line of `/servers`: how a server is reached, its state and its tools."""

    name: str
    transport: str
    target: str
    state: str
    tools: list[str] = field(default_factory=list)
    error: str = ""
    started_in: float | None = None


class McpServers:
    """Configured MCP servers, started lazily and in parallel, their tools offered as `server__tool`."""

    def __init__(self, configs: Sequence[ServerConfig], cwd: str | Path) -> None:
        self.configs = list(configs)
        self.cwd = Path(cwd)
        self._lock = threading.Lock()
        self._loop: LoopThread | None = None
        self._launched = threading.Event()
        self._connections: dict[str, Connection] = {}
        self._tasks: list[Any] = []
        self._tools: dict[str, list[Tool]] = {}
        self._taken: set[str] = set()
        self._notices: deque[str] = deque()
        self._failure = ""
        self._closed = False
        _LIVE.add(self)

    def __repr__(self) -> str:
        return f"McpServers({[c.name for c in self.configs]})"

    # --- the engine's ToolSource ---------------------------------------------------------------------

    def start(self) -> None:
        """Begin starting every server in the background (once); returns at once."""
        with self._lock:
            if self._loop is not None or self._closed or not self.configs:
                return
            self._loop = LoopThread("kit-mcp")
            self._loop.call(self._launch)

    def current_tools(self, wait: bool = True) -> list[Tool]:
        """The tools of every server that is up now (waiting, the first time, for them to start,
        unless `wait` is False)."""
        if wait:
            self.wait_started()
        with self._lock:
            return [
                tool
                for name, connection in self._connections.items()
                if connection.state == "ready"
                for tool in self._tools.get(name, [])
            ]

    def take_notices(self) -> list[str]:
        """What happened to servers since the last call (failed to start, stopped), each said once."""
        out: list[str] = []
        while self._notices:
            out.append(self._notices.popleft())
        return out

    # --- for faces --------------------------------------------------------------------------------

    def wait_started(self) -> None:
        """Start the servers if needed and wait until each is up or has failed (its timeout bounds it)."""
        if not self.configs or self._closed:
            return
        self.start()
        self._launched.wait(IMPORT_TIMEOUT)
        for connection in list(self._connections.values()):
            connection.settled.wait(connection.config.startup_timeout + 5)

    def statuses(self) -> list[ServerStatus]:
        """Every configured server with its state, tools and error (`not started` before the first start)."""
        out: list[ServerStatus] = []
        with self._lock:
            for config in self.configs:
                connection = self._connections.get(config.name)
                status = ServerStatus(config.name, config.transport, config.describe(), NOT_STARTED)
                if connection is not None:
                    status.state, status.error = connection.state, connection.error
                    status.started_in = connection.started_in
                    if connection.state == "ready":
                        status.tools = [t.name for t in self._tools.get(config.name, [])]
                elif self._failure:
                    status.state, status.error = "failed", self._failure
                out.append(status)
        return out

    def close(self) -> None:
        """Stop every server and the loop thread; a stdio server gets end of input, then SIGTERM and
        SIGKILL if it lingers. Safe to call twice."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            loop = self._loop
        _LIVE.discard(self)
        if loop is None:
            return
        with contextlib.suppress(concurrent.futures.TimeoutError, RuntimeError):
            loop.submit(self._stop_all()).result(timeout=CLOSE_TIMEOUT + 1)
        loop.stop()

    # --- loop thread --------------------------------------------------------------------------------

    def _launch(self) -> None:
        """Create every connection and start them all at once (imports the SDK, on the loop thread)."""
        import asyncio

        try:
            from kit_py.tools.mcp.connection import Connection
        except ImportError as exc:  # the `mcp` package is missing or broken
            self._failure = f"the MCP SDK cannot be loaded ({exc}); install kit_py with its dependencies"
            self._notices.append(f"MCP servers are not available: {self._failure}")
            self._launched.set()
            return
        if self._closed:
            self._launched.set()
            return
        for config in self.configs:
            connection = Connection(config, self.cwd, self._changed)
            with self._lock:
                self._connections[config.name] = connection
            self._tasks.append(asyncio.ensure_future(connection.run()))
        self._launched.set()

    async def _stop_all(self) -> None:
        import asyncio

        for connection in self._connections.values():
            connection.stop()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=CLOSE_TIMEOUT)

    def _changed(self, connection: Connection) -> None:
        """A connection changed state: offer its tools, or withdraw them and say why."""
        name = connection.config.name
        if connection.state == "ready":
            with self._lock:
                self._tools[name] = [self._kit_tool(connection, t) for t in connection.tools]
        elif connection.state == "failed":
            self._notices.append(f"MCP server {name!r} failed to start: {connection.error}")
        elif connection.state == "stopped":
            count = len(self._tools.get(name, []))
            self._notices.append(
                f"MCP server {name!r} stopped ({connection.error}); its {count} tool(s) are withdrawn"
            )

    # --- tools ------------------------------------------------------------------------------------

    def _kit_tool(self, connection: Connection, tool: Any) -> Tool:
        """A kit `Tool` for one MCP tool (called under the lock: names are unique across servers)."""
        server = connection.config.name
        annotations = tool.annotations
        read_only = bool(annotations is not None and annotations.read_only_hint)
        title = annotations.title if annotations is not None else None
        return Tool(
            name=namespaced(server, tool.name, self._taken),
            description=tool.description or title or f"{tool.name} (from the MCP server {server})",
            parameters=_parameters(tool.input_schema),
            run=functools.partial(self._call, connection, tool.name),
            modifies_state=not read_only,
            preview=functools.partial(_preview, server, tool.name),
        )

    def _call(self, connection: Connection, tool: str, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        """Run one MCP tool call from the tool layer's thread; Ctrl-C cancels it on the server."""
        from kit_py.tools.mcp.connection import NotRunning

        server = connection.config.name
        details: dict[str, Any] = {"server": server, "mcp_tool": tool}
        assert self._loop is not None  # a tool exists only once its server started
        future = self._loop.submit(connection.call(tool, args))
        try:
            while not future.done():
                concurrent.futures.wait([future], timeout=0.1)
                if ctx.cancel is not None and ctx.cancel.is_set() and not future.done():
                    future.cancel()
                    details["aborted"] = True
                    return ToolResult("Error: aborted: the call was cancelled", True, details)
            result = future.result()
        except KeyboardInterrupt:
            future.cancel()
            raise
        except NotRunning as exc:
            return ToolResult(f"Error: the MCP server {server!r} {exc}", True, details)
        except TimeoutError:
            limit = connection.config.timeout
            details["timed_out"] = True
            text = f"Error: {tool} did not finish within {limit:g} s (MCP server {server!r}); cancelled"
            return ToolResult(text, True, details)
        except Exception as exc:  # the server refused the call (unknown tool, bad arguments, ...)
            message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
            return ToolResult(f"Error: the MCP server {server!r} refused the call: {message}", True, details)
        text, cut = result_text(result, ctx)
        if cut:
            details["truncated"] = True
        return ToolResult(text, bool(result.is_error), details)


def _parameters(schema: Any) -> dict[str, Any]:
    """The tool's input schema as a provider accepts it (an object schema with `properties`)."""
    parameters = dict(schema) if isinstance(schema, dict) else {}
    parameters.setdefault("type", "object")
    if parameters["type"] == "object":
        parameters.setdefault("properties", {})
    return parameters


def _preview(server: str, tool: str, args: dict[str, Any], ctx: ToolContext) -> str:
    """What a safe-mode question shows: which server, which tool, every argument."""
    arguments = json.dumps(args, ensure_ascii=False, indent=2) if args else "(no arguments)"
    return f"MCP server {server!r}, tool {tool!r}\n{arguments}"


_LIVE: weakref.WeakSet[McpServers] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    """An API user who never closed their Agent still gets the servers stopped at interpreter exit."""
    for servers in list(_LIVE):
        servers.close()
