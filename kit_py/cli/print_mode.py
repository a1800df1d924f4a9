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
from kit_py.config import Settings
from kit_py.engine import turn as agent
from kit_py.errors import ExitCode, KitError
from kit_py.terminal import tool_lines as tool_display


@dataclass
class OutputMode:
    json: bool = False
    quiet: bool = False
    debug: bool = False


def _stderr(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _note_compaction(event: agent.TurnEvent) -> None:
    """stderr line when the turn compacted the history first (stdout carries only the answer)."""
    if event.type != "compaction" or event.data.get("phase") != "end":
        return
    if event.data.get("compacted") or event.data.get("error"):
        print(f"kit: {event.text}", file=sys.stderr, flush=True)


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

    def __call__(self, event: agent.TurnEvent) -> None:
        if event.type == "text_delta" and event.text:
            self._write(event.text)
            self.ended_with_newline = event.text.endswith("\n")
        elif event.type in ("retry", "notice"):
            _stderr(f"kit: {event.text}")
        elif event.type == "tool_call":
            if not self.ended_with_newline:  # the next step's text starts on its own line
                self._write("\n")
                self.ended_with_newline = True
            _stderr(f"⚙ {tool_display.call_header(event.data['name'], event.data['arguments'])}")
        elif event.type == "tool_result":
            mark = "✗" if event.data.get("is_error") else "✓"
            _stderr(f"  {mark} {tool_display.result_summary(event.text, event.data)}")
            if event.data.get("diff"):
                _stderr(tool_display.ansi_diff(event.data["diff"], color=self.color))
        else:
            _note_compaction(event)

    def finish(self) -> None:
        self._write("" if self.ended_with_newline else "\n")


class MarkdownSink:
    """Terminal stdout: live rendered markdown; reasoning shown dimmed before the answer."""

    def __init__(self) -> None:
        from rich.console import Console

        from kit_py.terminal.markdown_stream import MarkdownStream

        self.console = Console(highlight=False)
        self.stream = MarkdownStream(self.console)
        self.in_reasoning = False

    def __call__(self, event: agent.TurnEvent) -> None:
        if event.type == "reasoning_delta":
            self.in_reasoning = True
            self.console.print(event.text, style="dim italic", end="", markup=False)
        elif event.type == "text_delta":
            if self.in_reasoning:
                self.console.print()
                self.in_reasoning = False
            self.stream.feed(event.text)
        elif event.type in ("retry", "notice"):
            self.console.print(event.text, style="yellow", markup=False, highlight=False)
        elif event.type == "tool_call":
            self.stream.finish()
            if self.in_reasoning:
                self.console.print()
                self.in_reasoning = False
            header = tool_display.call_header(event.data["name"], event.data["arguments"])
            self._line(("⚙ ", "cyan"), (header, "bold"))
        elif event.type == "tool_result":
            mark = ("  ✗ ", "red") if event.data.get("is_error") else ("  ✓ ", "green")
            self._line(mark, (tool_display.result_summary(event.text, event.data), "dim"))
            for line in tool_display.diff_lines(event.data.get("diff") or ""):
                self._line((line, tool_display.diff_style(line) or ""))
        elif event.type == "compaction":
            self.stream.finish()
            _note_compaction(event)

    def _line(self, *pieces: tuple[str, str]) -> None:
        from rich.text import Text

        self.console.print(Text.assemble(*pieces), soft_wrap=True)

    def finish(self) -> None:
        self.stream.finish()


class SilentSink:
    """--json and --quiet print only at the end."""

    def __call__(self, event: agent.TurnEvent) -> None:
        if event.type in ("retry", "notice"):
            print(f"kit: {event.text}", file=sys.stderr, flush=True)
        else:
            _note_compaction(event)

    def finish(self) -> None:
        pass


def _pick_sink(mode: OutputMode) -> Any:
    if mode.json or mode.quiet:
        return SilentSink()
    if sys.stdout.isatty():
        return MarkdownSink()
    return PlainSink()


def usage_summary(result: agent.TurnResult) -> dict[str, Any]:
    u = result.usage
    return {
        "input_tokens": u.input_tokens,
        "output_tokens": u.output_tokens,
        "total_tokens": u.total_tokens,
        "cost_usd": u.cost_usd,
    }


def json_report(
    result: agent.TurnResult, session_id: str | None, error: str | None = None, exit_code: int | None = None
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


def _footer(result: agent.TurnResult) -> None:
    """A dim status line on stderr when a person is watching it."""
    if not sys.stderr.isatty():
        return
    u = result.usage
    cost = f" · ${u.cost_usd:.4f}" if u.cost_usd else ""
    print(
        f"\x1b[2m{result.model} · {u.input_tokens} in / {u.output_tokens} out{cost}\x1b[0m", file=sys.stderr
    )


def run_oneshot(
    session: Any, settings: Settings, prompt: str, mode: OutputMode, tool_setup: Any = None
) -> int:
    """Run one turn and report it; returns the process exit code."""
    sink = _pick_sink(mode)
    session_id = session.session_id if session.path is not None else None
    try:
        result = agent.run_turn(
            session,
            settings,
            agent.user_message(prompt),
            on_event=sink,
            tool_setup=tool_setup,
            debug=mode.debug,
        )
    except agent.TurnFailed as failed:
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
        print(f"kit: {cancelled.message}", file=sys.stderr)
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
