"""A streamed answer looks exactly as the same answer does on resume, at linear cost.

Live, the answer is cut between top-level markdown blocks and each finished block is printed alone;
on resume the whole text is rendered at once. Both must give the same lines, whatever the chunking.
"""

from __future__ import annotations

import io
import random

import pytest
from rich.console import Console

from kit_py.engine import events
from kit_py.terminal.markdown_stream import BlockSplitter, Throttle
from kit_py.terminal.turn_view import TurnView, render_entry
from tests.test_repl_pty import Screen

ANSWERS = {
    "paragraphs and code": (
        "# Title\n\nFirst paragraph.\n\nSecond paragraph.\n\n```python\ndef f():\n    return 1\n```\n\nEnd.\n"
    ),
    "list with blank lines and nested code": (
        "Steps:\n\n1. First item\n\n   continued after a blank line\n\n2. Second item with code:\n\n"
        "   ```python\n   def g():\n\n       return 2\n   ```\n\n3. Third\n\nAfter the list.\n"
    ),
    "quotes, rules and tables": (
        "- a\n- b\n\n- c\n\npara\n\n---\n\n> quote line\n> more\n\n> second quote\n\n"
        "| a | b |\n|---|---|\n| 1 | 2 |\n\ntext\n***\nafter rule\n"
    ),
    "lazy lines, indented code, setext headings, html": (
        "para\nlazy\n\n    indented code\n\n    more indented\n\nheading\n=======\n\n"
        "~~~\ntilde fence\n```\nstill code\n~~~\n\n<div>\nhtml\n</div>\n\nend"
    ),
    "unclosed fence": "```\nunclosed fence\n\nwith blank\n",
    "fences back to back, CRLF": (
        "\n\n```js\nlet x = 1\n```\n```\nback to back\n```\n- item\n  ```\n  nested\n  ```\n"
        "* other list\n\ntext with CRLF\r\nline two\r\n\r\nnext para\r"
    ),
}


def _console() -> Console:
    return Console(file=io.StringIO(), width=60, height=24, force_terminal=True, color_system="truecolor")


def screen(console: Console) -> str:
    """What the terminal shows once the output is drawn (live regions erased as they go)."""
    output = console.file.getvalue().replace("\n", "\r\n")  # type: ignore[attr-defined]  # as a tty does
    return Screen(rows=24, cols=60).feed(output).text()


def on_resume(answer: str) -> str:
    console = _console()
    text_part = {"type": "text", "data": {"text": answer}}
    render_entry(console, {"type": "message", "role": "assistant", "parts": [text_part]}, "monokai")
    return screen(console)


def streamed(answer: str, chunks: list[int], throttled: bool) -> tuple[str, int]:
    console = _console()
    view = TurnView(console, "monokai")
    if not throttled:  # every block is cut the moment it finishes
        view.stream.splitter = BlockSplitter(Throttle(0.0, cost_factor=0))
    start = 0
    for size in chunks:
        view(events.TextDelta(answer[start : start + size]))
        start += size
    blocks_before_the_end = view.stream.blocks_printed
    view.finish()
    return screen(console), blocks_before_the_end


@pytest.mark.parametrize("name", ANSWERS)
def test_streamed_answer_looks_exactly_like_the_answer_on_resume(name: str):
    answer = ANSWERS[name]
    expected = on_resume(answer)
    rng = random.Random(name)
    chunkings = [[1] * len(answer), [3] * len(answer), [rng.randint(1, 25) for _ in answer], [len(answer)]]
    cut_early = 0
    for chunks in chunkings:
        for throttled in (False, True):
            shown, blocks = streamed(answer, chunks, throttled)
            assert shown == expected, (chunks[:3], throttled)
            cut_early = max(cut_early, blocks)
    if name != "unclosed fence":
        assert cut_early >= 2  # blocks really were printed while the answer still streamed


def feed_lines(splitter: BlockSplitter, text: str) -> list[str]:
    out = [splitter.feed(line) for line in text.splitlines(keepends=True)]
    return [piece for piece in out if piece]


def test_a_list_with_blank_lines_and_code_in_its_items_is_cut_only_where_it_ends():
    splitter = BlockSplitter(Throttle(0.0, cost_factor=0))
    answer = ANSWERS["list with blank lines and nested code"]
    assert feed_lines(splitter, answer) == [
        "Steps:\n\n",
        answer[len("Steps:\n\n") : answer.index("After the list.")],
    ]
    assert splitter.pending == "After the list.\n"


def test_a_code_fence_is_finished_at_its_closing_line_and_never_cut_inside():
    splitter = BlockSplitter(Throttle(0.0, cost_factor=0))
    finished = feed_lines(splitter, "para\n\n````\ncode\n\n```\nmore code\n````\ntail")
    assert finished == ["para\n\n", "````\ncode\n\n```\nmore code\n````\n"]
    assert splitter.pending == "tail"
