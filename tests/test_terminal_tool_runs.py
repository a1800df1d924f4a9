"""How tool runs read: live output while a command runs, summaries that show how the output ENDED."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

from rich.console import Console

from kit_py.engine import events
from kit_py.engine.approval import ToolSetup
from kit_py.engine.tool_calls import execute_tool_call
from kit_py.terminal.tool_lines import OutputTail, result_summary
from kit_py.terminal.turn_view import TurnView
from kit_py.tools.registry import BUILTIN_TOOLS
from tests.test_repl_pty import Screen


def test_summary_shows_the_last_line_of_the_output_where_errors_are():
    pytest_output = "collected 3 items\n\ntest_a.py ..F\n\nFAILED test_a.py::test_c - assert 1 == 2\n"
    content = pytest_output + "[Exit code 1]"
    assert result_summary(content, {"exit_code": 1, "duration_ms": 2340}) == (
        "FAILED test_a.py::test_c - assert 1 == 2 (last of 3 lines)  [exit 1 · 2.3 s]"
    )
    assert result_summary("Wrote 12 bytes to a.py", {"duration_ms": 3}) == "Wrote 12 bytes to a.py  [3 ms]"
    assert result_summary("", {"exit_code": 0}) == "(no output)  [exit 0]"


def test_a_command_ended_by_a_signal_is_said_so_by_name_to_the_user_and_the_model(tmp_path: Path):
    setup = ToolSetup(tools=list(BUILTIN_TOOLS.values()), cwd=tmp_path)
    command = json.dumps({"command": "echo started; kill -TERM $$"})
    content, is_error, details = execute_tool_call("bash", command, setup, "c1")
    assert is_error and details["exit_code"] == -15
    assert content == "started\n[Killed by SIGTERM]"
    assert result_summary(content, details).startswith("started  [killed by SIGTERM · ")
    timed_out = "step 9\n[Command timed out after 1 s; its process group was killed.]"
    assert result_summary(timed_out, {"exit_code": -15, "timed_out": True, "duration_ms": 1000}) == (
        "step 9  [timed out · 1.0 s]"
    )


def test_bash_reports_its_output_while_it_runs_after_saying_it_started(tmp_path: Path):
    setup = ToolSetup(tools=list(BUILTIN_TOOLS.values()), cwd=tmp_path)
    seen: list[tuple[float, str]] = []
    started = time.monotonic()
    command = json.dumps({"command": "echo first; sleep 0.5; printf 'caf\\xc3'; printf '\\xa9 done\\n'"})
    content, _, _ = execute_tool_call(
        "bash", command, setup, "c1", on_progress=lambda text: seen.append((time.monotonic(), text))
    )
    finished = time.monotonic()
    assert seen[0][1] == ""  # the call started (after any question)
    assert "".join(text for _, text in seen) == "first\ncafé done\n" == content + "\n"
    first = next(at for at, text in seen if "first" in text)
    assert first - started < finished - started - 0.3  # shown well before the command ended


def test_output_tail_keeps_the_newest_lines_as_a_terminal_shows_them():
    tail = OutputTail(keep=3)
    tail.add("\x1b[32mgreen\x1b[0m\ndownloading 10%\rdownloading 55%")
    assert tail.lines() == ["green", "downloading 55%"]
    tail.add("\rdownloading 100%\nbell\x07\n" + "".join(f"line {i}\n" for i in range(100_000)))
    assert tail.lines() == ["line 99997", "line 99998", "line 99999"] and tail.line_count == 100_003
    tail.add("x" * 10_000_000)  # a huge line without a newline: bounded memory, still shown
    assert len(tail.lines()[-1]) <= OutputTail.MAX_LINE


def _screen(console: Console) -> list[str]:
    raw = console.file.getvalue().replace("\n", "\r\n")  # type: ignore[attr-defined]
    return Screen(rows=24, cols=80).feed(raw).text().splitlines()


def test_a_running_tool_shows_a_spinner_and_its_newest_output_then_only_its_summary():
    console = Console(file=io.StringIO(), width=80, height=24, force_terminal=True)
    view = TurnView(console, "monokai")
    view(events.ToolCallStarted("c1", "bash", json.dumps({"command": "make test"})))
    view(events.ToolProgress("c1"))
    for i in range(1, 9):
        view(events.ToolProgress("c1", f"compiling part {i}\n"))
    deadline = time.monotonic() + 10  # the live region redraws itself: the tool blocks the emitting thread
    while "compiling part 8" not in (shown := _screen(console))[-1] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert shown[0] == "⚙ bash $ make test"
    assert any(line.startswith("⠋ running") or "running " in line for line in shown)
    assert [line.strip() for line in shown if "compiling" in line] == [
        f"compiling part {i}" for i in range(4, 9)
    ]
    view(
        events.ToolFinished(
            "c1", "bash", "compiling part 8\n[Exit code 2]", True, {"exit_code": 2, "is_error": True}
        )
    )
    view.finish()
    assert _screen(console) == ["⚙ bash $ make test", "  ✗ compiling part 8  [exit 2]"]


def test_a_quick_tool_call_leaves_no_spinner_behind():
    console = Console(file=io.StringIO(), width=80, height=24, force_terminal=True)
    view = TurnView(console, "monokai")
    view(events.ToolCallStarted("c1", "read", json.dumps({"path": "a.py"})))
    view(events.ToolProgress("c1"))
    view(events.ToolFinished("c1", "read", "print(1)", False, {"duration_ms": 1}))
    view.finish()
    assert "running" not in console.file.getvalue()  # type: ignore[attr-defined]
    assert _screen(console) == ["⚙ read a.py", "  ✓ print(1)  [1 ms]"]
