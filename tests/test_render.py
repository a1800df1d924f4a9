"""Streaming markdown renders like a one-shot render of the whole answer, at linear cost."""

from __future__ import annotations

import io

from rich.console import Console
from rich.markdown import Markdown

from kit_py.terminal.markdown_stream import BlockSplitter, MarkdownStream

ANSWER = (
    "# Title\n\nFirst paragraph.\n\nSecond paragraph.\n\n```python\ndef f():\n    return 1\n```\n\nEnd.\n"
)


def rendered(feed) -> str:
    out = io.StringIO()
    console = Console(file=out, width=60, force_terminal=False, color_system=None)
    feed(console)
    return out.getvalue()


def test_streamed_answer_looks_like_the_whole_answer_rendered_at_once():
    def whole(console):
        console.print(Markdown(ANSWER))

    def streamed(console):
        stream = MarkdownStream(console)
        for i in range(0, len(ANSWER), 3):
            stream.feed(ANSWER[i : i + 3])
        stream.finish()

    assert [line.rstrip() for line in rendered(streamed).splitlines()] == [
        line.rstrip() for line in rendered(whole).splitlines()
    ]


def test_block_splitter_never_splits_inside_a_code_fence():
    splitter = BlockSplitter()
    out = [splitter.feed(c) for c in "para\n\n```\ncode\n\nmore code\n```\ntail"]
    finished = [o for o in out if o]
    assert finished == ["para\n\n", "```\ncode\n\nmore code\n```\n"]
    assert splitter.pending == "tail"
