"""Live markdown rendering of a streamed answer whose cost grows linearly with its length.

Re-rendering the whole answer on every token is quadratic. Instead the text is split at stable block
boundaries (a blank line outside a code fence): finished blocks are printed once, and only the block
still being written is redrawn, at a bounded refresh rate, in a transient live region.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.live import Live

REFRESH_SECONDS = 0.08
"""Shortest interval between two redraws of a live region (the streamed block, the reasoning tail)."""


class BlockSplitter:
    """Finds finished markdown blocks (ending at a blank line or a closing fence) as text arrives.

    Each line is scanned once, so splitting costs linear time in the answer's length.
    """

    def __init__(self) -> None:
        self.pending = ""
        self.scan_pos = 0
        self.in_fence = False

    def feed(self, delta: str) -> str:
        """Add text; return the finished blocks it completed (possibly empty)."""
        self.pending += delta
        cut = 0
        while True:
            newline = self.pending.find("\n", self.scan_pos)
            if newline < 0:
                break
            stripped = self.pending[self.scan_pos : newline].strip()
            self.scan_pos = newline + 1
            if stripped.startswith(("```", "~~~")):
                self.in_fence = not self.in_fence
                if not self.in_fence:
                    cut = self.scan_pos
            elif not stripped and not self.in_fence:
                cut = self.scan_pos
        finished, self.pending = self.pending[:cut], self.pending[cut:]
        self.scan_pos -= cut
        return finished


class MarkdownStream:
    """Feed deltas; finished blocks are printed once, the open block is redrawn live."""

    def __init__(self, console: Console, code_theme: str = "monokai") -> None:
        self.console = console
        self.code_theme = code_theme
        self.splitter = BlockSplitter()
        self.live: Live | None = None
        self.last_draw = 0.0
        self.blocks_printed = 0

    def _markdown(self, text: str) -> Any:
        from rich.markdown import Markdown

        return Markdown(text, code_theme=self.code_theme)

    def feed(self, delta: str) -> None:
        finished = self.splitter.feed(delta)
        if finished:
            self._clear_live()
            self._print_block(finished)
        now = time.monotonic()
        if self.splitter.pending.strip() and now - self.last_draw >= REFRESH_SECONDS:
            self._draw_live()
            self.last_draw = now

    def _draw_live(self) -> None:
        if self.live is None:
            from rich.live import Live

            self.live = Live(console=self.console, auto_refresh=False, transient=True)
            self.live.start()
        self.live.update(self._markdown(self.splitter.pending), refresh=True)

    def _clear_live(self) -> None:
        if self.live is not None:
            self.live.update("", refresh=True)
            self.live.stop()
            self.live = None

    def finish(self) -> None:
        """Print what is left as a final block."""
        self._clear_live()
        rest, self.splitter = self.splitter.pending, BlockSplitter()
        self._print_block(rest)

    def _print_block(self, text: str) -> None:
        """Print finished markdown, separated from the previous block by a blank line as a full render is."""
        if not text.strip():
            return
        if self.blocks_printed:
            self.console.print()
        self.console.print(self._markdown(text))
        self.blocks_printed += 1
