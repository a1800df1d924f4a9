"""Print mode's approval question: asked on the controlling terminal (/dev/tty), so it works when
stdout is piped; without a terminal nobody can answer and the action is refused, never run silently.
"""

from __future__ import annotations

import contextlib
import os

from kit_py.engine.approval import (
    DENIED,
    MAX_PROMPT_PREVIEW_LINES,
    REFUSED,
    REPLIES,
    PendingAction,
    question_text,
)


def _open_tty() -> int | None:
    try:
        return os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        return None


def _render(action: PendingAction, color: bool) -> str:
    from kit_py.terminal.tool_lines import ansi_diff

    bold, reset = ("\x1b[1m", "\x1b[0m") if color else ("", "")
    body = ansi_diff(action.preview, color, MAX_PROMPT_PREVIEW_LINES)
    return f"\n{bold}kit: {action.tool} needs approval ({action.reason}){reset}\n{body}\n"


def ask_on_terminal(action: PendingAction) -> str:
    """Show the action and read y / n / a from the terminal; REFUSED when there is none.

    End of input counts as "no". Ctrl-C raises KeyboardInterrupt like anywhere else in a turn.
    """
    fd = _open_tty()
    if fd is None:
        return REFUSED
    color = not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"
    try:
        os.write(fd, _render(action, color).encode("utf-8", "replace"))
        while True:
            os.write(fd, question_text(action).encode())
            raw = os.read(fd, 4096)
            if not raw:
                os.write(fd, b"\n")
                return DENIED
            answer = REPLIES.get(raw.decode("utf-8", "replace").strip().lower())
            if answer is not None:
                return answer
            os.write(fd, b"Please answer y, n or a.\n")
    except OSError:
        return REFUSED
    except KeyboardInterrupt:
        with contextlib.suppress(OSError):
            os.write(fd, b"\n")  # the run's own messages start on a fresh line
        raise
    finally:
        os.close(fd)
