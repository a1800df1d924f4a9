"""The interactive chat (`kit` with no prompt in a terminal).

Only `run_repl` is public; it imports prompt_toolkit and rich on call, so importing this package is free.
"""

from __future__ import annotations

from typing import Any


def run_repl(settings: Any, open_session: Any, debug: bool = False, tool_setup: Any = None) -> int:
    """Open the session and chat until the user quits; returns the exit code.

    `tool_setup` is an `agent.ToolSetup` (None offers no tools); without an `approve` callback the REPL
    asks the user itself.
    """
    from kit_py.repl.app import run_repl as run

    return int(run(settings, open_session, debug=debug, tool_setup=tool_setup))
