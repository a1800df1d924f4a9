"""A small MCP server for the tests, written with the official SDK (`MCPServer`, once `FastMCP`).

    python tests/mcp_server.py                 stdio
    python tests/mcp_server.py --http PORT     streamable HTTP on 127.0.0.1:PORT (path /mcp)
    python tests/mcp_server.py --fail          exits at once with a message on stderr
    python tests/mcp_server.py --hang          reads stdin and never answers (a hung server)

Tools: `echo`, `add` and `slow` declare themselves read-only; `write_note` does not (it appends a
line to the file named by $MCP_TEST_NOTES); `fail` raises (an error result); `crash` kills the
server in the middle of the call; `slow` sleeps (noting in $MCP_TEST_NOTES that it started). With
$MCP_TEST_PIDFILE set, the server writes its pid there, so a test can check it does not outlive kit.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path


def build() -> object:
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError
    from mcp.types import ToolAnnotations

    server = MCPServer("kit-test-server")
    read_only = ToolAnnotations(read_only_hint=True)

    @server.tool(annotations=read_only)
    def echo(text: str) -> str:
        """Return the text unchanged."""
        return f"echo: {text}"

    @server.tool(annotations=read_only)
    def add(a: int, b: int) -> str:
        """Add two whole numbers."""
        return str(a + b)

    @server.tool()
    def write_note(text: str) -> str:
        """Append a line to the notes file."""
        with open(os.environ["MCP_TEST_NOTES"], "a", encoding="utf-8") as notes:
            notes.write(text + "\n")
        return "noted"

    @server.tool()
    def fail(message: str) -> str:
        """Always fails with the given message."""
        raise ToolError(message)

    @server.tool()
    def crash() -> str:
        """Kill the server in the middle of the call."""
        os._exit(7)

    @server.tool(annotations=read_only)
    def slow(seconds: float) -> str:
        """Sleep, then answer."""
        if os.environ.get("MCP_TEST_NOTES"):
            with open(os.environ["MCP_TEST_NOTES"], "a", encoding="utf-8") as notes:
                notes.write("slow started\n")
        time.sleep(seconds)
        return "done"

    return server


def main(argv: list[str]) -> None:
    pidfile = os.environ.get("MCP_TEST_PIDFILE")
    if pidfile:
        with open(pidfile, "a", encoding="utf-8") as f:
            f.write(f"{os.getpid()}\n")
    if argv[:1] == ["--fail"]:
        print("kit-test-server: cannot open the database /nonexistent/db", file=sys.stderr, flush=True)
        sys.exit(3)
    if argv[:1] == ["--hang"]:
        sys.stdin.read()  # never answers; ends when its stdin closes
        return
    server = build()
    if argv[:1] == ["--http"]:
        server.run("streamable-http", host="127.0.0.1", port=int(argv[1]))  # type: ignore[attr-defined]
    else:
        server.run()  # type: ignore[attr-defined]


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main(sys.argv[1:])
