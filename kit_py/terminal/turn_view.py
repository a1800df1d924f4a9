"""How the conversation looks: a finished session rendered on resume, and a turn rendered as it streams.

Answers are markdown (rich, syntax-highlighted code); reasoning is dimmed and collapsed to one line once
the answer starts (`/reasoning` shows it in full); tool calls get one-line headers, a spinner with the
newest output while they run, and a one-line summary of how their output ended.
"""

from __future__ import annotations

import re
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from kit_py.engine import events
from kit_py.session.format import TYPED_KEY, message_text
from kit_py.terminal.markdown_stream import REFRESH_SECONDS
from kit_py.text import shorten

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderResult
    from rich.live import Live
    from rich.status import Status

    from kit_py.terminal.tool_lines import OutputTail

Entry = dict[str, Any]
REASONING_TAIL_LINES = 4
HISTORY_MESSAGES = 60
"""On resume only the last messages are drawn: a huge session must not delay the prompt."""


FILE_BLOCK = re.compile(r'\n*<file path="([^"]*)">\n.*?</file>', re.S)
"""An `@file` attachment inlined into a user message (see attachments.py)."""


def user_display(entry: Entry) -> str:
    """A user message as the user typed it: inlined attachments are named, not printed again."""
    text = message_text(entry)
    typed = entry.get(TYPED_KEY)
    if isinstance(typed, str) and text.startswith(typed):
        shown, names = typed, FILE_BLOCK.findall(text[len(typed) :])
    else:  # written before kit kept the typed text
        shown, names = FILE_BLOCK.sub("", text).rstrip(), FILE_BLOCK.findall(text)
    return shown + f"  [attached: {', '.join(names)}]" if names else text


def one_line(text: str, width: int = 160) -> str:
    return shorten(" ".join(text.split()), width)


def reasoning_summary(text: str) -> str:
    words = len(text.split())
    return f"▸ thought for {words} word{'s' if words != 1 else ''} (/reasoning to show)"


def print_user(console: Console, text: str, images: int = 0) -> None:
    from rich.text import Text

    line = Text("❯ ", style="kit.user")
    line.append(text)
    if images:
        line.append(f"  [{images} image{'s' if images > 1 else ''}]", style="kit.dim")
    console.print(line)


def print_tool_call(console: Console, name: str, arguments: str) -> None:
    """One line per call (`⚙ bash $ make test`), worded like print mode's (tool_display.py)."""
    from rich.text import Text

    from kit_py.terminal.tool_lines import call_header

    header = call_header(name, arguments)
    console.print(Text.assemble(("⚙ ", "kit.tool"), (header, "kit.tool")), soft_wrap=True)


def print_tool_result(console: Console, content: str, data: dict[str, Any]) -> None:
    """A one-line summary of the result, then the diff of a write or edit."""
    from rich.text import Text

    from kit_py.terminal.tool_lines import result_summary

    mark = ("  ✗ ", "kit.error") if data.get("is_error") else ("  ✓ ", "kit.ok")
    console.print(Text.assemble(mark, (result_summary(content, data), "kit.dim")), soft_wrap=True)
    print_diff(console, str(data.get("diff") or ""))


def print_diff(console: Console, diff: str, limit: int | None = None) -> None:
    from rich.text import Text

    from kit_py.terminal.tool_lines import MAX_DIFF_LINES, diff_lines, diff_style

    for line in diff_lines(diff, limit or MAX_DIFF_LINES):
        console.print(Text(line, style=_DIFF_STYLES.get(diff_style(line) or "", "")), soft_wrap=True)


_DIFF_STYLES = {"green": "kit.ok", "red": "kit.error", "cyan": "kit.tool", "bold": "bold"}


def render_history(console: Console, path: list[Entry], code_theme: str) -> None:
    """Draw the current path of a resumed session: what the user sees is what the model will see."""
    shown = [e for e in path if e.get("type") in ("message", "compaction", "branch_summary")]
    hidden = max(0, len(shown) - HISTORY_MESSAGES)
    if hidden:
        console.print(f"[kit.dim]… {hidden} earlier entries not shown[/]")
    for entry in shown[hidden:]:
        render_entry(console, entry, code_theme)
    if shown:
        console.rule(style="kit.dim")


def render_entry(console: Console, entry: Entry, code_theme: str) -> None:
    etype = entry.get("type")
    if etype == "compaction":
        removed = entry.get("messages_removed")
        console.rule(
            f"[kit.dim]earlier conversation compacted ({removed or '?'} messages summarized)[/]",
            style="kit.dim",
        )
        return
    if etype == "branch_summary":
        from kit_py.compaction.branch import PREAMBLE

        summary = str(entry.get("summary", "")).removeprefix(PREAMBLE)
        console.print(
            f"↳ branch summary: {one_line(summary, 120)}",
            style="kit.dim",
            markup=False,
            highlight=False,
        )
        return
    parts = [p for p in entry.get("parts") or [] if isinstance(p, dict)]
    role = entry.get("role")
    if role == "user":
        images = sum(1 for p in parts if p.get("type") == "image")
        print_user(console, user_display(entry), images)
    elif role == "tool":
        for part in parts:
            data = part.get("data") or {}
            if part.get("type") == "tool_result":
                print_tool_result(console, str(data.get("content", "")), data)
    elif role == "assistant":
        _render_assistant(console, entry, parts, code_theme)
    elif role == "system":
        console.print(
            f"system: {one_line(message_text(entry), 120)}", style="kit.dim", markup=False, highlight=False
        )


def _render_assistant(console: Console, entry: Entry, parts: list[Entry], code_theme: str) -> None:
    for part in parts:
        data = part.get("data") or {}
        ptype = part.get("type")
        if ptype == "reasoning" and data.get("thinking"):
            console.print(reasoning_summary(str(data["thinking"])), style="kit.reasoning", highlight=False)
        elif ptype == "text" and data.get("text"):
            from kit_py.terminal.markdown_render import markdown, print_markdown

            print_markdown(console, markdown(str(data["text"]), code_theme))
        elif ptype == "tool_call":
            print_tool_call(console, str(data.get("name", "?")), str(data.get("input", "")))
    stop = entry.get("stop_reason")
    if stop == "aborted":
        console.print("[kit.warn]⏹ interrupted[/]")
    elif stop == "error":
        console.print(
            f"✗ {entry.get('error') or 'the answer failed'}", style="kit.error", markup=False, highlight=False
        )
    console.print()


class ToolActivity:
    """What a running tool looks like: a spinner with the time it has taken, and the last lines it
    printed. Drawn by a live region's own refresh thread (the tool blocks the thread that runs it),
    so output is added under a lock."""

    SPINNER_AFTER = 0.3
    """A call that ends sooner shows nothing: no spinner flashing for every quick read."""
    OUTPUT_LINES = 5

    def __init__(self) -> None:
        from rich.spinner import Spinner

        from kit_py.terminal.tool_lines import OutputTail

        self.started = time.monotonic()
        self.output: OutputTail = OutputTail(self.OUTPUT_LINES)
        self._lock = threading.Lock()
        self._spinner = Spinner("dots", style="kit.dim")

    def add(self, output: str) -> None:
        with self._lock:
            self.output.add(output)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich.text import Text

        from kit_py.terminal.tool_lines import duration

        elapsed = time.monotonic() - self.started
        with self._lock:
            lines, count = self.output.lines(), self.output.line_count
        if elapsed < self.SPINNER_AFTER and not lines:
            return
        printed = f" · {count} line{'s' if count != 1 else ''} of output" if count else ""
        self._spinner.text = Text(f"running {duration(elapsed * 1000)}{printed}", style="kit.dim")
        yield self._spinner
        for line in lines:
            yield Text(f"    {line}", style="kit.dim", no_wrap=True, overflow="ellipsis")


class TurnView:
    """Receives a turn's events and draws them: reasoning as a dim live tail, the answer as live markdown."""

    def __init__(self, console: Console, code_theme: str) -> None:
        from kit_py.terminal.markdown_stream import MarkdownStream

        self.console = console
        self.stream = MarkdownStream(console, code_theme=code_theme)
        self.reasoning: list[str] = []
        self._tail = ""
        self._live: Live | None = None
        self._last_draw = 0.0
        self._drawing = False
        self._interrupt_pending = False
        self._status: Status | None = None
        self._waiting_label = ""
        self._step_used_tools = False
        self._tool_live: Live | None = None
        self._tool_activity: ToolActivity | None = None

    def waiting(self, label: str) -> None:
        """A spinner until the next event: a model can take seconds before its first token."""
        from rich.status import Status

        self._stop_waiting()
        self._waiting_label = label
        self._status = Status(label, console=self.console, spinner="dots", spinner_style="kit.dim")
        self._status.start()

    def _stop_waiting(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None

    @property
    def reasoning_text(self) -> str:
        return "".join(self.reasoning)

    @contextmanager
    def deferring_interrupts(self) -> Iterator[None]:
        """Ctrl-C in the middle of drawing would leave the live region half-drawn on screen: while a
        draw is in progress the interrupt waits for it to finish, then is raised as usual."""

        def on_sigint(signum: int, frame: Any) -> None:
            if self._drawing:
                self._interrupt_pending = True
            else:
                raise KeyboardInterrupt

        previous = signal.signal(signal.SIGINT, on_sigint)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)

    def __call__(self, event: events.Event) -> None:
        self._drawing = True
        try:
            self._draw(event)
        finally:
            self._drawing = False
        if self._interrupt_pending:
            self._interrupt_pending = False
            raise KeyboardInterrupt

    def _draw(self, event: events.Event) -> None:
        self._stop_waiting()
        if isinstance(event, events.ToolProgress):
            self._tool_progress(event.output)
            return
        self._stop_tool()
        if isinstance(event, events.ReasoningDelta):
            self._reasoning(event.text)
        elif isinstance(event, events.TextDelta):
            self._close_reasoning()
            self.stream.feed(event.text)
        elif isinstance(event, events.Retry):
            self.console.print(f"↻ {event.text}", style="kit.warn", markup=False, highlight=False)
            if self._waiting_label:
                self.waiting(self._waiting_label)
        elif isinstance(event, events.Notice):
            self._close_reasoning()
            self.stream.finish()
            self.console.print(event.text, style="kit.warn", markup=False, highlight=False)
        elif isinstance(event, events.ToolCallStarted):
            self._step_used_tools = True
            self._close_reasoning()
            self.stream.finish()
            print_tool_call(self.console, event.name, event.arguments)
        elif isinstance(event, events.ToolFinished):
            print_tool_result(self.console, event.content, event.details)
        elif isinstance(event, events.CompactionStarted | events.CompactionProgress):
            # A spinner while the history is summarized; after it, the model is waited for again.
            self._close_reasoning()
            self.stream.finish()
            label = self._waiting_label
            self.waiting(f"{event.text}…")
            self._waiting_label = label
        elif isinstance(event, events.CompactionDone):
            if event.text:
                style = "kit.warn" if event.error else "kit.note"
                self.console.print(f"↻ {event.text}", style=style, markup=False, highlight=False)
            if self._waiting_label:
                self.waiting(self._waiting_label)
        elif isinstance(event, events.StepDone):
            self._close_reasoning()
            self.stream.finish()
            if self._step_used_tools and self._waiting_label:  # the model answers the tool results next
                self._step_used_tools = False
                self.waiting(self._waiting_label)

    def _tool_progress(self, output: str) -> None:
        """A spinner and the newest output lines while a tool runs; the result line replaces them."""
        if self._tool_activity is None:
            from rich.live import Live

            self._tool_activity = ToolActivity()
            self._tool_live = Live(
                self._tool_activity, console=self.console, refresh_per_second=10, transient=True
            )
            self._tool_live.start()
        if output:
            self._tool_activity.add(output)

    def _stop_tool(self) -> None:
        if self._tool_live is not None:
            self._tool_live.update("", refresh=True)
            self._tool_live.stop()
        self._tool_live, self._tool_activity = None, None

    def _reasoning(self, delta: str) -> None:
        self.reasoning.append(delta)
        # Only a bounded tail is redrawn, so long reasoning costs linear time overall.
        self._tail = (self._tail + delta)[-2000:]
        now = time.monotonic()
        if now - self._last_draw < REFRESH_SECONDS:
            return
        self._last_draw = now
        from rich.text import Text

        lines = self._tail.splitlines()[-REASONING_TAIL_LINES:]
        body = Text(
            "\n".join(one_line(line, self.console.width - 4) for line in lines), style="kit.reasoning"
        )
        if self._live is None:
            from rich.live import Live

            self._live = Live(console=self.console, auto_refresh=False, transient=True)
            self._live.start()
        self._live.update(body, refresh=True)

    def _close_reasoning(self) -> None:
        if self._live is not None:
            self._live.update("", refresh=True)
            self._live.stop()
            self._live = None
        if self._tail:
            self.console.print(reasoning_summary(self.reasoning_text), style="kit.reasoning", highlight=False)
            self._tail = ""

    def finish(self) -> None:
        """Flush whatever is still live (also after an interrupt or error)."""
        self._drawing = True  # a second Ctrl-C while the last block is drawn must not garble it
        try:
            self._stop_waiting()
            self._stop_tool()
            self._close_reasoning()
            self.stream.finish()
        finally:
            self._drawing = False
            self._interrupt_pending = False
