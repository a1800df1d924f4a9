"""Print mode: answer one prompt, stream it to stdout, persist it, exit.

stdout carries only the answer (rendered markdown on a terminal, plain text flushed as it arrives
otherwise, or one JSON object with --json); everything else goes to stderr.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import orjson

from kit_py import agent
from kit_py.compactor import CompactionCancelled
from kit_py.config import Settings
from kit_py.errors import ExitCode, KitError


@dataclass
class OutputMode:
    json: bool = False
    quiet: bool = False
    debug: bool = False


def _note_compaction(event: agent.TurnEvent) -> None:
    """stderr line when the turn compacted the history first (stdout carries only the answer)."""
    if event.type != "compaction" or event.data.get("phase") != "end":
        return
    if event.data.get("compacted") or event.data.get("error"):
        print(f"kit: {event.text}", file=sys.stderr, flush=True)


class PlainSink:
    """Non-terminal stdout: plain text, flushed per delta so pipes see it as it arrives."""

    def __init__(self) -> None:
        self.ended_with_newline = True

    def __call__(self, event: agent.TurnEvent) -> None:
        if event.type == "text_delta" and event.text:
            sys.stdout.write(event.text)
            sys.stdout.flush()
            self.ended_with_newline = event.text.endswith("\n")
        elif event.type == "retry":
            print(f"kit: {event.text}", file=sys.stderr, flush=True)
        elif event.type == "tool_call":
            print(
                f"kit: tool {event.data['name']} {event.data['arguments'][:200]}", file=sys.stderr, flush=True
            )
        else:
            _note_compaction(event)

    def finish(self) -> None:
        if not self.ended_with_newline:
            sys.stdout.write("\n")
        sys.stdout.flush()


class MarkdownSink:
    """Terminal stdout: live rendered markdown; reasoning shown dimmed before the answer."""

    def __init__(self) -> None:
        from rich.console import Console

        from kit_py.render import MarkdownStream

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
        elif event.type == "retry":
            self.console.print(f"[yellow]{event.text}[/]", markup=True, highlight=False)
        elif event.type == "tool_call":
            self.stream.finish()
            self.console.print(
                f"[cyan]⚙ {event.data['name']}[/] {event.data['arguments'][:200]}", markup=True
            )
        elif event.type == "tool_result":
            mark = "[red]✗[/]" if event.data.get("is_error") else "[green]✓[/]"
            first = (event.text.splitlines() or [""])[0][:200]
            self.console.print(f"  {mark} {first}", markup=True, highlight=False)
        elif event.type == "compaction":
            self.stream.finish()
            _note_compaction(event)

    def finish(self) -> None:
        self.stream.finish()


class SilentSink:
    """--json and --quiet print only at the end."""

    def __call__(self, event: agent.TurnEvent) -> None:
        if event.type == "retry":
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


def json_report(result: agent.TurnResult, session_id: str | None, error: str | None = None) -> bytes:
    """The --json object: mirrors the stored form of the turn's messages."""
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
        if mode.json:
            sys.stdout.buffer.write(json_report(failed.result, session_id, failed.message))
        elif mode.quiet and failed.result.text:
            print(failed.result.text)
        note = "interrupted" if failed.exit_code == ExitCode.INTERRUPTED else f"error: {failed.message}"
        kept = " (partial answer kept in the session)" if failed.result.text and session.path else ""
        print(f"kit: {note}{kept}", file=sys.stderr)
        return int(failed.exit_code)
    except KitError:
        sink.finish()
        raise
    except CompactionCancelled as cancelled:
        sink.finish()
        print(f"kit: {cancelled.message}", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)
    sink.finish()
    if mode.json:
        sys.stdout.buffer.write(json_report(result, session_id))
    elif mode.quiet:
        print(result.text)
    else:
        _footer(result)
    return 0
