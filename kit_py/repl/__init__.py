"""The interactive chat (`kit` with no prompt in a terminal).

Only `run_repl` is public; it imports prompt_toolkit and rich on call, so importing this package is free.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kit_py.engine.conversation import Conversation


def run_repl(
    open_conversation: Callable[[], Conversation], debug: bool = False, first_message: str | None = None
) -> int:
    """Open the conversation and chat until the user quits; returns the exit code. `first_message`
    (`kit -i PROMPT`) is sent as if typed at the first prompt.

    Without an `approve` callback in the conversation's tools, the REPL asks the user itself.
    """
    from kit_py.repl.app import run_repl as run

    return int(run(open_conversation, debug=debug, first_message=first_message))
