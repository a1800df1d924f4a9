"""Print mode: answer one prompt, stream it to stdout, persist it, exit.

stdout carries only the answer (rendered markdown on a terminal, plain text flushed as it arrives
otherwise, or one JSON object with --json); everything else goes to stderr.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Any

import orjson

from kit_py.compaction.runner import CompactionCancelled
from kit_py.engine import events
from kit_py.engine.conversation import Conversation
from kit_py.engine.turn import TurnFailed, TurnResult
from kit_py.errors import ExitCode, KitError
from kit_py.terminal import tool_lines


@dataclass
class OutputMode:
    json: bool = False
    quiet: bool = False
    debug: bool = False


def _stderr(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _note_compaction(event: events.Event) -> None:
    """stderr line when the turn compacted the history first (stdout carries only the answer)."""
    if isinstance(event, events.CompactionDone) and event.text:
        _stderr(f"kit: {event.text}")


class PlainSink:
    """Non-terminal stdout: plain text, flushed per delta so pipes see it as it arrives.

    Tool activity (header, summary, diff) goes to stderr only, so stdout stays the answer.
    """

    def __init__(self) -> None:
        self.ended_with_newline = True
        self.color = sys.stderr.isatty() and not os.environ.get("NO_COLOR")

    def _write(self, text: str) -> None:
        try:
            sys.stdout.write(text)
            sys.stdout.flush()
        except BrokenPipeError:
            # The reader left (`kit ... | head`): finish the turn and save it, just stop printing.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)

    def __call__(self, event: events.Event) -> None:
        if isinstance(event, events.TextDelta) and event.text:
            self._write(event.text)
            self.ended_with_newline = event.text.endswith("\n")
        elif isinstance(event, events.Retry | events.Notice):
            _stderr(f"kit: {event.text}")
        elif isinstance(event, events.ToolCallStarted):
            if not self.ended_with_newline:  # the next step's text starts on its own line
                self._write("\n")
                self.ended_with_newline = True
            _stderr(f"⚙ {tool_lines.call_header(event.name, event.arguments)}")
        elif isinstance(event, events.ToolFinished):
            mark = "✗" if event.is_error else "✓"
            _stderr(f"  {mark} {tool_lines.result_summary(event.content, event.details)}")
            if event.details.get("diff"):
                _stderr(tool_lines.ansi_diff(event.details["diff"], color=self.color))
        else:
            _note_compaction(event)

    def finish(self) -> None:
        self._write("" if self.ended_with_newline else "\n")


class TerminalSink:
    """Terminal stdout: the same renderer as the REPL (live markdown, reasoning, tool lines, diffs)."""

    def __init__(self, theme_name: str) -> None:
        from rich.console import Console

        from kit_py.terminal.theme import get_theme, rich_theme
        from kit_py.terminal.turn_view import TurnView

        theme = get_theme(theme_name)
        self.view = TurnView(Console(theme=rich_theme(theme), highlight=False), theme.code_theme)

    def __call__(self, event: events.Event) -> None:
        self.view(event)

    def finish(self) -> None:
        self.view.finish()


class SilentSink:
    """--json and --quiet print only at the end."""

    def __call__(self, event: events.Event) -> None:
        if isinstance(event, events.Retry | events.Notice):
            _stderr(f"kit: {event.text}")
        else:
            _note_compaction(event)

    def finish(self) -> None:
        pass


def _pick_sink(mode: OutputMode, theme: str) -> Any:
    if mode.json or mode.quiet:
        return SilentSink()
    if sys.stdout.isatty():
        return TerminalSink(theme)
    return PlainSink()


def usage_summary(result: TurnResult) -> dict[str, Any]:
    u = result.usage
    return {
        "input_tokens": u.input_tokens,
        "output_tokens": u.output_tokens,
        "total_tokens": u.total_tokens,
        "cache_read_tokens": u.cache_read_tokens,
        "cache_creation_tokens": u.cache_creation_tokens,
        "cost_usd": u.cost_usd,
    }


def json_report(
    result: TurnResult, session_id: str | None, error: str | None = None, exit_code: int | None = None
) -> bytes:
    """The --json object: mirrors the stored form of the turn's messages (plus error and exit_code)."""
    report: dict[str, Any] = {
        "text": result.text,
        "model": result.model,
        "stop_reason": result.stop_reason,
        "session_id": session_id,
        "usage": usage_summary(result),
        "messages": result.session_messages,
    }
    if error:
        report["error"] = error
        report["exit_code"] = exit_code
    return orjson.dumps(report, option=orjson.OPT_INDENT_2) + b"\n"


def _footer(result: TurnResult) -> None:
    """A dim status line on stderr when a person is watching it."""
    if not sys.stderr.isatty():
        return
    u = result.usage
    cost = f" · ${u.cost_usd:.4f}" if u.cost_usd else ""
    print(
        f"\x1b[2m{result.model} · {u.input_tokens} in / {u.output_tokens} out{cost}\x1b[0m", file=sys.stderr
    )


def run_oneshot(conversation: Conversation, prompt: str, mode: OutputMode) -> int:
    """Run one turn and report it; returns the process exit code."""
    sink = _pick_sink(mode, conversation.settings.theme)
    conversation.on_event = sink
    session = conversation.session
    session_id = session.session_id if session.path is not None else None
    try:
        result = conversation.run(prompt)
    except TurnFailed as failed:
        sink.finish()
        if mode.debug:  # what the provider library said, behind the one-line summary
            import traceback

            traceback.print_exception(failed.cause)
        if mode.json:
            report = json_report(failed.result, session_id, failed.message, int(failed.exit_code))
            sys.stdout.buffer.write(report)
        elif mode.quiet and failed.result.text:
            print(failed.result.text)
        note = "interrupted" if failed.exit_code == ExitCode.INTERRUPTED else f"error: {failed.message}"
        kept = " (partial answer kept in the session)" if failed.result.text and session.path else ""
        print(f"kit: {note}{kept}", file=sys.stderr)
        return int(failed.exit_code)
    except CompactionCancelled as cancelled:  # a KeyboardInterrupt: must come first
        sink.finish()
        kept = " (your prompt is kept in the session)" if session.path else ""
        print(f"kit: {cancelled.message}{kept}", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)
    except (KitError, KeyboardInterrupt):
        sink.finish()
        raise
    sink.finish()
    if mode.json:
        sys.stdout.buffer.write(json_report(result, session_id))
    elif mode.quiet:
        print(result.text)
    else:
        _footer(result)
    return 0
