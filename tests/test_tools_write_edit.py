"""write and edit: file changes, unified diffs, all-or-nothing edits, previews."""

from __future__ import annotations

from pathlib import Path

import pytest

from kit_py.tools import BUILTIN_TOOLS, ToolContext, ToolError, run_tool

WRITE = BUILTIN_TOOLS["write"]
EDIT = BUILTIN_TOOLS["edit"]


@pytest.fixture
def ctx(tmp_path: Path) -> ToolContext:
    return ToolContext(cwd=tmp_path)


def test_write_creates_parents_and_returns_new_file_diff(ctx: ToolContext) -> None:
    res = run_tool(WRITE, '{"path": "src/pkg/mod.py", "content": "a = 1\\nb = 2\\n"}', ctx)
    assert not res.is_error
    assert (ctx.cwd / "src/pkg/mod.py").read_text() == "a = 1\nb = 2\n"
    assert res.details["path"] == str(ctx.cwd / "src/pkg/mod.py")
    assert res.details["diff"] == "--- /dev/null\n+++ b/src/pkg/mod.py\n@@ -0,0 +1,2 @@\n+a = 1\n+b = 2\n"
    assert "Created" in res.content


def test_write_overwrite_diff_against_previous_content(ctx: ToolContext) -> None:
    target = ctx.cwd / "f.txt"
    target.write_text("keep\nold\n")
    res = run_tool(WRITE, {"path": "f.txt", "content": "keep\nnew"}, ctx)
    assert target.read_text() == "keep\nnew"
    assert res.details["diff"] == (
        "--- a/f.txt\n+++ b/f.txt\n@@ -1,2 +1,2 @@\n keep\n-old\n+new\n\\ No newline at end of file\n"
    )


def test_write_preview_shows_diff_without_writing(ctx: ToolContext) -> None:
    target = ctx.cwd / "f.txt"
    target.write_text("x\n")
    assert WRITE.preview is not None
    shown = WRITE.preview({"path": "f.txt", "content": "y\n"}, ctx)
    assert "-x\n+y\n" in shown
    assert target.read_text() == "x\n"


def test_write_missing_content_is_an_error(ctx: ToolContext) -> None:
    res = run_tool(WRITE, {"path": "f.txt"}, ctx)
    assert res.is_error and "content" in res.content
    assert not (ctx.cwd / "f.txt").exists()


def test_edit_single_replacement_with_diff(ctx: ToolContext) -> None:
    target = ctx.cwd / "m.py"
    target.write_text("def f():\n    return 1\n\n\ndef g():\n    return 2\n")
    res = run_tool(EDIT, {"path": "m.py", "old_text": "return 2", "new_text": "return 3"}, ctx)
    assert not res.is_error, res.content
    assert target.read_text().endswith("return 3\n")
    diff = res.details["diff"]
    assert diff.startswith("--- a/m.py\n+++ b/m.py\n")
    assert "-    return 2\n+    return 3\n" in diff
    assert "-    return 1" not in diff


def test_edit_several_edits_apply_in_order(ctx: ToolContext) -> None:
    target = ctx.cwd / "t.txt"
    target.write_text("alpha\nbeta\ngamma\n")
    edits = [{"old_text": "alpha", "new_text": "ALPHA"}, {"old_text": "gamma", "new_text": "GAMMA"}]
    res = run_tool(EDIT, {"path": "t.txt", "edits": edits}, ctx)
    assert not res.is_error and "2 edits" in res.content
    assert target.read_text() == "ALPHA\nbeta\nGAMMA\n"


def test_edit_not_found_changes_nothing(ctx: ToolContext) -> None:
    target = ctx.cwd / "t.txt"
    target.write_text("alpha\nbeta\n")
    edits = [{"old_text": "alpha", "new_text": "A"}, {"old_text": "delta", "new_text": "D"}]
    res = run_tool(EDIT, {"path": "t.txt", "edits": edits}, ctx)
    assert res.is_error
    assert "edit 2 of 2" in res.content and "not found" in res.content
    assert target.read_text() == "alpha\nbeta\n"


def test_edit_ambiguous_match_says_how_many_times(ctx: ToolContext) -> None:
    target = ctx.cwd / "t.txt"
    target.write_text("x = 1\nx = 1\nx = 1\n")
    res = run_tool(EDIT, {"path": "t.txt", "old_text": "x = 1", "new_text": "x = 2"}, ctx)
    assert res.is_error and "3 times" in res.content
    assert target.read_text() == "x = 1\nx = 1\nx = 1\n"


def test_edit_missing_file_and_bad_arguments(ctx: ToolContext) -> None:
    missing = run_tool(EDIT, {"path": "none.txt", "old_text": "a", "new_text": "b"}, ctx)
    assert missing.is_error and "not found" in missing.content.lower()
    (ctx.cwd / "t.txt").write_text("a\n")
    no_edit = run_tool(EDIT, {"path": "t.txt"}, ctx)
    assert no_edit.is_error and "old_text" in no_edit.content
    empty = run_tool(EDIT, {"path": "t.txt", "old_text": "", "new_text": "b"}, ctx)
    assert empty.is_error and "empty" in empty.content


def test_edit_preserves_crlf_files(ctx: ToolContext) -> None:
    target = ctx.cwd / "w.txt"
    target.write_bytes(b"one\r\ntwo\r\nthree\r\n")
    res = run_tool(EDIT, {"path": "w.txt", "old_text": "one\ntwo", "new_text": "1\n2"}, ctx)
    assert not res.is_error, res.content
    assert target.read_bytes() == b"1\r\n2\r\nthree\r\n"


def test_edit_preview_is_the_diff_and_does_not_write(ctx: ToolContext) -> None:
    target = ctx.cwd / "t.txt"
    target.write_text("hello\n")
    assert EDIT.preview is not None
    shown = EDIT.preview({"path": "t.txt", "old_text": "hello", "new_text": "bye"}, ctx)
    assert shown == "--- a/t.txt\n+++ b/t.txt\n@@ -1 +1 @@\n-hello\n+bye\n"
    assert target.read_text() == "hello\n"
    with pytest.raises(ToolError, match="not found"):  # the call would fail: nobody is asked
        EDIT.preview({"path": "t.txt", "old_text": "zzz", "new_text": "q"}, ctx)
