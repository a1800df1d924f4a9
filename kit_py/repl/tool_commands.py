"""`/servers` and `/tools`: what the model can use in this run, and how its MCP servers are doing."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from kit_py.tools.mcp import McpServers
from kit_py.tools.mcp.servers import NOT_STARTED

if TYPE_CHECKING:
    from kit_py.repl.face import ReplFace as Repl

MAX_DESCRIPTION = 90
STATE_STYLES = {"ready": "kit.ok", "starting": "kit.warn", "failed": "kit.error", "stopped": "kit.error"}
HOW_TO_ADD = (
    "add one under mcp_servers: in .kit.yml (command/args/env, or url/headers) "
    "or for one run with --mcp NAME=COMMAND"
)


def mcp_servers(repl: Repl) -> McpServers | None:
    setup = repl.tool_setup
    found = [s for s in setup.sources if isinstance(s, McpServers)] if setup is not None else []
    return found[0] if found else None


def show_servers(repl: Repl, args: str) -> None:
    """Every configured MCP server: state, tool count, how it is reached, and why it is down."""
    from rich.markup import escape
    from rich.table import Table

    servers = mcp_servers(repl)
    if servers is None or not servers.configs:
        repl.note(f"no MCP servers in this run; {HOW_TO_ADD}")
        return
    servers.start()
    table = Table(show_header=False, box=None, padding=(0, 2, 0, 0))
    for status in servers.statuses():
        style = STATE_STYLES.get(status.state, "kit.dim")
        count = f"{len(status.tools)} tool{'s' if len(status.tools) != 1 else ''}"
        took = f" in {status.started_in:.1f} s" if status.started_in is not None else ""
        table.add_row(
            f"[kit.accent]{escape(status.name)}[/]",
            f"[{style}]{status.state}{took}[/]",
            count if status.state == "ready" else "",
            f"[kit.dim]{status.transport}: {escape(status.target)}[/]",
        )
        if status.error:
            table.add_row("", f"[{style}]{escape(status.error)}[/]", "", "")
    repl.console.print(table)


def show_tools(repl: Repl, args: str) -> None:
    """Every tool the next request offers (built-in first, then each MCP server's), marking those
    that ask first in safe mode."""
    from rich.markup import escape
    from rich.table import Table

    setup = repl.tool_setup
    if setup is None or (not setup.tools and not setup.sources):
        repl.note("no tools are offered in this run (--no-tools)")
        return
    servers = mcp_servers(repl)
    starting = servers is not None and any(s.state in (NOT_STARTED, "starting") for s in servers.statuses())
    waiting = repl.console.status("[kit.dim]starting MCP servers…[/]", spinner="dots")
    with waiting if starting else contextlib.nullcontext():
        tools = setup.offered()
    table = Table(show_header=False, box=None, padding=(0, 2, 0, 0))
    for tool in tools:
        asks = "[kit.warn]asks[/]" if tool.modifies_state and setup.safe_mode else ""
        description = " ".join(tool.description.split())
        if len(description) > MAX_DESCRIPTION:
            description = description[: MAX_DESCRIPTION - 1] + "…"
        table.add_row(f"[kit.accent]{escape(tool.name)}[/]", asks, f"[kit.dim]{escape(description)}[/]")
    if tools:
        repl.console.print(table)
    down = [s for s in servers.statuses() if s.state != "ready"] if servers is not None else []
    for status in down:
        repl.warn(f"MCP server {status.name} is {status.state}: its tools are not offered (see /servers)")
    safe = "on: tools marked 'asks' wait for your answer" if setup.safe_mode else "off (/safe on asks first)"
    repl.note(f"{len(tools)} tools; safe mode {safe}")
