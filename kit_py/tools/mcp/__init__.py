"""MCP servers as a source of tools: configuration, connections (official `mcp` SDK), `server__tool` names.

Importing this package is cheap; the SDK is imported on the MCP loop thread when a server starts.
See `servers.py` for how tools come and go, `config.py` for what an entry may say.
"""

from kit_py.tools.mcp.config import ServerConfig, load_servers, parse_cli_server, parse_server
from kit_py.tools.mcp.servers import McpServers, ServerStatus

__all__ = ["McpServers", "ServerConfig", "ServerStatus", "load_servers", "parse_cli_server", "parse_server"]
