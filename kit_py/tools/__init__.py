"""Built-in tools the model can call: read, write, edit, bash, ls, grep.

Pure Python: no LLM, terminal or session I/O. The agent loop uses `select_tools`,
`tool_schemas`, `needs_confirmation`, each tool's `preview` and `run_tool`.
"""

from kit_py.tools.base import Tool, ToolContext, ToolError, ToolResult
from kit_py.tools.paths import is_outside, needs_confirmation, resolve_path
from kit_py.tools.registry import BUILTIN_TOOLS, run_tool, select_tools, tool_schemas

__all__ = [
    "BUILTIN_TOOLS",
    "Tool",
    "ToolContext",
    "ToolError",
    "ToolResult",
    "is_outside",
    "needs_confirmation",
    "resolve_path",
    "run_tool",
    "select_tools",
    "tool_schemas",
]
