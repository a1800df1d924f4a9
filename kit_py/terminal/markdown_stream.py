"""Live markdown rendering of a streamed answer whose cost grows linearly with its length.

Re-rendering the whole answer on every token is quadratic. Instead the text is cut between top-level
markdown blocks as they finish: finished blocks are printed once, and only the block still being
written is redrawn, in a transient live region. That region shows the newest lines of the open block
(a code block taller than the screen scrolls in it); the finished block is then printed whole.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from rich.console import Console, ConsoleOptions, RenderResult
    from rich.live import Live
    from rich.segment import Segment

REFRESH_SECONDS = 0.08
"""Shortest interval between two redraws of a live region (the streamed block, the reasoning tail)."""


class Throttle:
    """Lets a job run again only after `interval` and twice its last duration.

    A job whose cost grows with its input (re-parsing or redrawing an ever longer open block) then
    takes at most about a third of the time, so the whole stream still costs linear time.
    """

    def __init__(self, interval: float, cost_factor: float = 2.0) -> None:
        self.interval = interval
        self.cost_factor = cost_factor
        self.next_run = 0.0

    def ready(self) -> bool:
        return time.monotonic() >= self.next_run

    @contextmanager
    def timed(self) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            ended = time.monotonic()
            self.next_run = ended + max(self.interval, self.cost_factor * (ended - started))


class BlockSplitter:
    """Cuts streamed markdown between top-level blocks, as markdown-it (rich's own parser) sees them.

    A block is finished once the next top-level block has begun (CommonMark never lets text rejoin a
    closed block), or at the closing line of a fenced code block. Cutting only there keeps a list
    with blank lines or code inside its items in one piece, so the streamed answer looks exactly like
    the whole answer rendered at once (as on resume). Text is parsed only when a line arrives that could
    begin a new block (never inside an open code fence), at most a third of the time (Throttle).
    """

    def __init__(self, throttle: Throttle | None = None) -> None:
        self.lines: list[str] = []
        """Complete lines of the open text, each ending in a newline."""
        self._partial: list[str] = []
        self._held_cr = False
        self._blank = True
        self._could_cut = False
        self._throttle = throttle or Throttle(0.0)
        self.open_fence: tuple[str, int] | None = None
        """When the open text ends in a code fence still waiting for its closing line: the fence's
        marker (```` ``` ````, `~~~~`...) and the index of its opening line in `lines`."""
        self._parser: MarkdownIt | None = None

    @property
    def partial(self) -> str:
        return "".join(self._partial)

    @property
    def pending(self) -> str:
        """Everything not yet printed."""
        return "".join(self.lines) + self.partial

    @property
    def blank(self) -> bool:
        return self._blank

    def feed(self, delta: str) -> str:
        """Add text; return the finished blocks it completed (possibly empty)."""
        text = self._normalized(delta)
        if text.strip():
            self._blank = False
        *complete, rest = text.split("\n")
        if complete:
            complete[0] = self.partial + complete[0]
            self._partial = []
            for line in complete:
                self._add_line(line + "\n")
        if rest:
            self._partial.append(rest)
        if self._could_cut and self._throttle.ready():
            return self._cut()
        return ""

    def finish(self) -> str:
        """Everything left (the splitter is not used after this)."""
        return self.pending + ("\n" if self._held_cr else "")

    def _normalized(self, delta: str) -> str:
        """CR LF and a lone CR are line ends, as markdown-it counts lines; a CR at the end of a delta
        waits for the next one, which may start with its LF."""
        if self._held_cr:
            delta = "\r" + delta
        self._held_cr = delta.endswith("\r")
        if self._held_cr:
            delta = delta[:-1]
        return delta.replace("\r\n", "\n").replace("\r", "\n") if "\r" in delta else delta

    def _add_line(self, line: str) -> None:
        self.lines.append(line)
        if self.open_fence is not None:
            if _closes(self.open_fence[0], line):
                self._could_cut = True
        elif line[:4].strip():  # indented four columns or more it cannot start a top-level block
            self._could_cut = True

    def _markdown_it(self) -> MarkdownIt:
        if self._parser is None:
            from markdown_it import MarkdownIt

            # The same block rules as rich.markdown.Markdown's parser.
            self._parser = MarkdownIt().enable("strikethrough").enable("table").disable("inline")
        return self._parser

    def _cut(self) -> str:
        from kit_py.terminal.markdown_render import top_level_blocks

        self._could_cut = False
        parser = self._markdown_it()  # built outside the timing: it is a one-off cost
        with self._throttle.timed():
            blocks = top_level_blocks(parser.parse("".join(self.lines)))
        if not blocks:
            return ""
        last = blocks[-1]
        assert last.map is not None
        start, end = last.map
        fence = last.type == "fence"
        closed = fence and end - 1 > start and _closes(last.markup, self.lines[end - 1])
        cut = len(self.lines) if closed else start
        self.open_fence = (last.markup, start - cut) if fence and not closed else None
        if cut == 0:
            return ""
        finished, self.lines = "".join(self.lines[:cut]), self.lines[cut:]
        self._blank = not (self.partial.strip() or any(line.strip() for line in self.lines))
        return finished


def _closes(marker: str, line: str) -> bool:
    """Is `line` the closing line of a fence opened with `marker`: the same character, at least as many
    times, indented less than four columns?"""
    stripped = line.strip()
    return (
        len(line) - len(line.lstrip(" ")) < 4
        and len(stripped) >= len(marker)
        and stripped == marker[0] * len(stripped)
    )


class _Rows:
    """Already rendered lines, drawn as they are."""

    def __init__(self, rows: list[list[Segment]]) -> None:
        self.rows = rows

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich.segment import Segment

        for row in self.rows:
            yield from row
            yield Segment.line()


class MarkdownStream:
    """Feed deltas; finished blocks are printed once, the open block is redrawn live."""

    def __init__(self, console: Console, code_theme: str = "monokai") -> None:
        self.console = console
        self.code_theme = code_theme
        self.splitter = BlockSplitter()
        self.live: Live | None = None
        self._throttle = Throttle(REFRESH_SECONDS)
        self.blocks_printed = 0
        self._previous_type = ""
        """The markdown-it type of the last top-level block printed."""

    def feed(self, delta: str) -> None:
        finished = self.splitter.feed(delta)
        if finished:
            self._clear_live()
            self._print_block(finished)
        if not self.splitter.blank and self._throttle.ready():
            with self._throttle.timed():
                self._draw_live()

    def _draw_live(self) -> None:
        if self.live is None:
            from rich.live import Live

            self.live = Live(console=self.console, auto_refresh=False, transient=True)
            self.live.start()
        self.live.update(self._tail_view(), refresh=True)

    def _tail_view(self) -> Any:
        """The open block as it looks now, cut to its newest lines when it is taller than the screen.

        An open code fence is rendered from its last lines only, so a long one costs no more to redraw
        than a short one.
        """
        from rich.segment import Segment

        from kit_py.terminal.markdown_render import markdown, trimmed_lines

        height = max(2, self.console.height - 1)  # the cursor's line stays free
        lines, skipped, fence = self.splitter.lines, 0, self.splitter.open_fence
        if fence is not None and len(lines) - fence[1] > height:
            opening = fence[1]
            skipped = len(lines) - opening - height
            lines = [lines[opening], *lines[-height + 1 :]]
        text = "".join(lines) + self.splitter.partial
        rows = trimmed_lines(self.console, markdown(text, self.code_theme))
        if skipped + len(rows) <= height:
            return _Rows(rows)
        shown = rows[-(height - 1) :]
        hidden = skipped + len(rows) - len(shown)
        dim = self.console.get_style("kit.dim", default="dim")
        note = Segment(f"… {hidden} more line{'s' if hidden != 1 else ''} above", dim)
        return _Rows([[note], *shown])

    def _clear_live(self) -> None:
        if self.live is not None:
            self.live.update("", refresh=True)
            self.live.stop()
            self.live = None

    def finish(self) -> None:
        """Print what is left as a final block."""
        self._clear_live()
        rest, self.splitter = self.splitter.finish(), BlockSplitter()
        self._print_block(rest)

    def _print_block(self, text: str) -> None:
        """Print finished markdown, separated from the previous block as in a whole render of both."""
        from kit_py.terminal.markdown_render import (
            markdown,
            needs_blank_line,
            print_markdown,
            top_level_blocks,
        )

        if not text.strip():
            return
        rendered = markdown(text, self.code_theme)
        blocks = top_level_blocks(rendered.parsed)
        if self.blocks_printed and blocks and needs_blank_line(self._previous_type, blocks[0].type):
            self.console.print()
        print_markdown(self.console, rendered)
        self.blocks_printed += 1
        self._previous_type = blocks[-1].type if blocks else self._previous_type
