"""Approval decisions, approval records and tool display text, in-process (no model, no subprocess)."""

from __future__ import annotations

import json
import os
import select
from pathlib import Path

import pytest

from kit_py.engine import approval as approval_module
from kit_py.engine.approval import PendingAction, ToolSetup
from kit_py.engine.tool_calls import execute_tool_call
from kit_py.terminal import approval_prompt as approval
from kit_py.terminal import tool_lines as tool_display
from kit_py.tools import select_tools


class Approver:
    """Answers questions from a script and remembers what it was asked."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.asked: list[PendingAction] = []

    def __call__(self, action: PendingAction) -> str:
        self.asked.append(action)
        return self.answers.pop(0)


def read_available(fd: int) -> str:
    """Everything the terminal holds now: the echo of typed input and the prompt arrive as separate reads."""
    chunks = []
    while select.select([fd], [], [], 0.2)[0]:
        chunks.append(os.read(fd, 65536))
    return b"".join(chunks).decode()


def setup_for(cwd: Path, approver: Approver | None, safe: bool = True) -> ToolSetup:
    return ToolSetup(tools=select_tools(None), cwd=cwd, safe_mode=safe, approve=approver)


def records(setup: ToolSetup) -> list[dict]:
    assert all(e["type"] == "extension_data" and e["ext_type"] == "kit:approval" for e in setup.records)
    return [json.loads(e["data"]) for e in setup.records]


def call(setup: ToolSetup, name: str, call_id: str = "c", **args: object) -> tuple[str, bool, dict]:
    return execute_tool_call(name, json.dumps(args), setup, call_id)


def test_safe_mode_asks_with_the_diff_and_records_question_answer_and_action(tmp_path):
    approver = Approver("approved", "denied")
    setup = setup_for(tmp_path, approver)
    content, is_error, details = call(setup, "write", "c1", path="a.txt", content="hello\n")
    assert not is_error and (tmp_path / "a.txt").read_text() == "hello\n"
    assert details["approval"] == "approved" and "+hello" in details["diff"]
    assert details["cwd"] == str(tmp_path)
    assert approver.asked[0].reason == "safe mode" and "+hello" in approver.asked[0].preview

    content, is_error, details = call(setup, "bash", "c2", command="touch made")
    assert is_error and "denied" in content and not (tmp_path / "made").exists()
    assert approver.asked[1].preview == "$ touch made"

    first, second = records(setup)
    assert first["tool"] == "write" and first["tool_call_id"] == "c1"
    assert first["arguments"] == {"path": "a.txt", "content": "hello\n"}
    assert first["answer"] == "approved" and first["action"] == "ran" and first["is_error"] is False
    assert first["question"].startswith("Allow write?") and "+hello" in first["preview"]
    assert first["asked_at"] <= first["answered_at"] <= first["finished_at"]
    assert (second["answer"], second["action"]) == ("denied", "not run")


def test_always_covers_one_tool_and_not_paths_outside_the_working_directory(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    (work / "f.txt").write_text("one\n")
    approver = Approver("always", "approved")
    setup = setup_for(work, approver)
    assert not call(setup, "edit", path="f.txt", old_text="one", new_text="two")[1]
    assert not call(setup, "edit", path="f.txt", old_text="two", new_text="three")[1]
    assert len(approver.asked) == 1 and setup.always_allowed == {"edit"}
    # Outside the working directory is a separate question, even for an "always" tool.
    (tmp_path / "g.txt").write_text("x\n")
    assert not call(setup, "edit", path="../g.txt", old_text="x", new_text="y")[1]
    assert approver.asked[-1].reason.startswith("path outside working directory")
    assert (tmp_path / "g.txt").read_text() == "y\n"
    assert [r["answer"] for r in records(setup)] == ["always", "approved"]


def test_always_for_an_outside_path_covers_that_folder_only(tmp_path):
    work, notes, other = tmp_path / "work", tmp_path / "notes", tmp_path / "other"
    for folder in (work, notes, other, notes / "sub"):
        folder.mkdir()
    approver = Approver("always", "denied")
    setup = setup_for(work, approver, safe=False)
    assert not call(setup, "write", path=str(notes / "a.md"), content="a")[1]
    assert "[a]lways for write in " + str(notes) in approval_module.question_text(approver.asked[0])
    assert not call(setup, "write", path=str(notes / "sub" / "b.md"), content="b")[1]  # below it: not asked
    assert len(approver.asked) == 1
    assert call(setup, "write", path=str(other / "c.md"), content="c")[1]  # elsewhere: asked, and denied
    assert len(approver.asked) == 2 and not (other / "c.md").exists()
    assert (notes / "sub" / "b.md").read_text() == "b"


def test_without_a_way_to_ask_actions_are_refused_and_reads_inside_run(tmp_path):
    outside = tmp_path / "secret.txt"
    outside.write_text("secret\n")
    work = tmp_path / "work"
    work.mkdir()
    (work / "link.txt").symlink_to(outside)
    (work / "in.txt").write_text("inside\n")
    setup = setup_for(work, None)
    content, is_error, details = call(setup, "write", path="new.txt", content="x")
    assert is_error and "no terminal" in content and details["approval"] == "refused"
    assert not (work / "new.txt").exists()
    assert "inside" in call(setup, "read", path="in.txt")[0]
    content, is_error, _ = call(setup, "read", path="link.txt")
    assert is_error and "secret" not in content
    assert [(r["tool"], r["answer"]) for r in records(setup)] == [("write", "refused"), ("read", "refused")]
    # Outside paths need approval even without safe mode.
    no_safe = setup_for(work, None, safe=False)
    assert call(no_safe, "read", path=str(outside))[1]
    assert not call(no_safe, "write", path="ok.txt", content="fine")[1]


def test_calls_that_cannot_run_are_not_asked_about(tmp_path):
    (tmp_path / "f.txt").write_text("abc\n")
    approver = Approver()
    setup = setup_for(tmp_path, approver)
    content, is_error, _ = call(setup, "edit", path="f.txt", old_text="zzz", new_text="y")
    assert is_error and "not found" in content
    content, is_error, details = execute_tool_call("write", "{not json", setup, "c")
    assert is_error and "not valid JSON" in content
    content, is_error, _ = call(setup, "fly", to="moon")
    assert is_error and "unknown tool 'fly'" in content
    assert approver.asked == [] and setup.records == []


def test_ctrl_c_at_the_question_is_recorded_and_propagates(tmp_path):
    def interrupt(action: PendingAction) -> str:
        raise KeyboardInterrupt

    setup = ToolSetup(tools=select_tools(["bash"]), cwd=tmp_path, safe_mode=True, approve=interrupt)
    with pytest.raises(KeyboardInterrupt):
        call(setup, "bash", command="true")
    assert [(r["answer"], r["action"]) for r in records(setup)] == [("interrupted", "not run")]


def test_terminal_prompt_reads_y_n_a_and_asks_again_on_anything_else(monkeypatch):
    master, slave = os.openpty()
    monkeypatch.setattr(approval, "_open_tty", lambda: os.dup(slave))
    action = PendingAction("bash", {"command": "ls"}, "safe mode", "$ ls")
    os.write(master, b"maybe\n")
    os.write(master, b"A\n")
    assert approval.ask_on_terminal(action) == "always"
    os.write(master, b"yes\n")
    assert approval.ask_on_terminal(action) == "approved"
    shown = os.read(master, 65536).decode()
    assert "bash needs approval (safe mode)" in shown and "$ ls" in shown
    assert "Please answer y, n or a." in shown
    os.close(master)
    os.close(slave)
    monkeypatch.setattr(approval, "_open_tty", lambda: None)
    assert approval.ask_on_terminal(action) == "refused"


def test_headers_and_summaries_are_one_compact_line():
    assert tool_display.call_header("bash", '{"command": "make test"}') == "bash $ make test"
    two_lines = json.dumps({"path": "a.py", "content": "x\ny\n"})
    assert tool_display.call_header("write", two_lines) == "write a.py (2 lines)"
    assert tool_display.call_header("edit", '{"path": "a.py", "edits": [{}, {}]}') == "edit a.py (2 edits)"
    assert tool_display.call_header("read", '{"path": "a.py", "offset": 10}') == "read a.py offset=10"
    assert tool_display.call_header("grep", '{"pattern": "TODO", "path": "src"}') == 'grep "TODO" in src'
    assert tool_display.call_header("ls", "{}") == "ls ."
    long = tool_display.call_header("bash", json.dumps({"command": "echo " + "x" * 500}))
    assert len(long) <= tool_display.MAX_HEADER and "\n" not in long
    output = "line one\nline two\n[Exit code 2]"
    summary = tool_display.result_summary(output, {"exit_code": 2, "duration_ms": 7})
    assert summary == "line two (last of 2 lines)  [exit 2 · 7 ms]"


def test_diffs_are_colored_only_when_asked_and_long_ones_cut():
    diff = "--- a/f\n+++ b/f\n@@ -1 +1 @@\n-old\n+new\n"
    assert tool_display.ansi_diff(diff, color=False) == diff.rstrip("\n")
    colored = tool_display.ansi_diff(diff, color=True)
    assert "\x1b[31m-old\x1b[0m" in colored and "\x1b[32m+new\x1b[0m" in colored
    many = "".join(f"+{i}\n" for i in range(100))
    assert tool_display.diff_lines(many, limit=10)[-1] == "… 90 more diff lines"


def test_a_yes_no_callback_answers_approved_or_denied(tmp_path):
    answers = iter([True, False])
    setup = ToolSetup(
        tools=select_tools(["bash"]), cwd=tmp_path, safe_mode=True, approve=lambda a: next(answers)
    )
    assert not call(setup, "bash", command="touch yes")[1]
    assert call(setup, "bash", command="touch no")[1]
    assert (tmp_path / "yes").exists() and not (tmp_path / "no").exists()
    assert [r["answer"] for r in records(setup)] == ["approved", "denied"]


def test_control_characters_cannot_disguise_what_is_shown(monkeypatch):
    sneaky = "echo safe\x1b[2K\rrm -rf ~"
    assert (
        tool_display.call_header("bash", json.dumps({"command": sneaky}))
        == "bash $ echo safe\\x1b[2K\\x0drm -rf ~"
    )
    assert tool_display.diff_lines("+a\x1b[1A\r\n-b\r\n") == ["+a\\x1b[1A", "-b"]
    master, slave = os.openpty()
    monkeypatch.setattr(approval, "_open_tty", lambda: os.dup(slave))
    os.write(master, b"n\n")
    assert (
        approval.ask_on_terminal(PendingAction("bash", {"command": sneaky}, "safe mode", sneaky)) == "denied"
    )
    assert "echo safe\\x1b[2K\\x0drm -rf ~" in read_available(master)
    os.close(master)
    os.close(slave)
