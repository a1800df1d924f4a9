"""Code in an answer can be copied from the terminal and run: no padding, no trailing spaces, whole lines.

Checked live (the answer streamed through the turn view) and on resume (the session drawn again).
"""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from kit_py.engine import events
from kit_py.terminal.turn_view import TurnView, render_history
from tests.test_repl_pty import Screen, clean

WIDTH = 60
CODE = '''import sys


def main(argv):
    """Say hello."""
    for name in argv:
        if name:
            print("hello", name)

    return 0
'''
LONG_LINE = 'print("' + "a rather long line of output that the terminal has to wrap " * 2 + '")'
ANSWER = f"Here:\n\n```python\n{CODE}{LONG_LINE}\n```\n\nDone.\n"


def _console() -> Console:
    return Console(file=io.StringIO(), width=WIDTH, height=24, force_terminal=True, color_system="truecolor")


def live(answer: str) -> str:
    console = _console()
    view = TurnView(console, "monokai")
    for start in range(0, len(answer), 5):
        view(events.TextDelta(answer[start : start + 5]))
    view.finish()
    return console.file.getvalue()  # type: ignore[attr-defined]


def on_resume(answer: str) -> str:
    console = _console()
    entry = {"type": "message", "role": "assistant", "parts": [{"type": "text", "data": {"text": answer}}]}
    render_history(console, [entry], "monokai")
    return console.file.getvalue()  # type: ignore[attr-defined]


def copied_code(output: str) -> str:
    """What a user selects on the screen: the lines from the first code line to the last one."""
    lines = Screen(rows=24, cols=WIDTH).feed(output.replace("\n", "\r\n")).text().splitlines()
    first = next(i for i, line in enumerate(lines) if "import sys" in line)
    last = next(i for i, line in enumerate(lines) if "return 0" in line)
    return "\n".join(lines[first : last + 1]) + "\n"


@pytest.mark.parametrize("draw", [live, on_resume])
def test_code_copied_from_the_screen_compiles_and_is_the_code_that_was_sent(draw):
    output = draw(ANSWER)
    code = copied_code(output)
    assert code == CODE
    compile(code, "<copied>", "exec")  # no IndentationError: nothing before the first column
    assert re.search(r"\x1b\[38;2;[0-9;]*m(import|def)\x1b\[0m", output)  # still syntax-highlighted


@pytest.mark.parametrize("draw", [live, on_resume])
def test_printed_lines_have_no_trailing_spaces_and_long_code_lines_stay_whole(draw):
    lines = clean(draw(ANSWER)).splitlines()  # everything written, the live region's drafts included
    assert LONG_LINE in lines  # one line, longer than the terminal: the terminal wraps it, copying joins it
    assert [line for line in lines if line != line.rstrip()] == []


def test_code_inside_a_list_item_wraps_within_the_item_and_loses_nothing():
    words = "nested code that is long enough to wrap inside the list item for sure"
    lines = clean(on_resume(f"- step one:\n\n  ```\n  {words}\n  ```\n")).splitlines()
    first = next(i for i, line in enumerate(lines) if "nested" in line)
    rows = lines[first : first + 2]
    assert all(row.startswith("   ") and len(row) <= WIDTH for row in rows)
    assert " ".join(" ".join(rows).split()) == words
