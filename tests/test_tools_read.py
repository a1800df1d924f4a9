"""read tool: line numbers, paging, truncation notes, binaries, missing files."""

from __future__ import annotations

from pathlib import Path

import pytest

from kit_py.tools import BUILTIN_TOOLS, ToolContext, run_tool

READ = BUILTIN_TOOLS["read"]


@pytest.fixture
def ctx(tmp_path: Path) -> ToolContext:
    return ToolContext(cwd=tmp_path)


def read(ctx: ToolContext, **args: object):
    return run_tool(READ, args, ctx)


def test_shows_numbered_lines_and_records_path(ctx: ToolContext) -> None:
    (ctx.cwd / "a.py").write_text("import os\n\nprint(os.sep)\n")
    res = read(ctx, path="a.py")
    assert not res.is_error
    assert res.content == "    1\timport os\n    2\t\n    3\tprint(os.sep)"
    assert res.details["path"] == str(ctx.cwd / "a.py")
    assert res.details["cwd"] == str(ctx.cwd)
    assert isinstance(res.details["duration_ms"], int)


def test_offset_and_limit_select_a_window_and_say_how_to_continue(ctx: ToolContext) -> None:
    (ctx.cwd / "n.txt").write_text("".join(f"line {i}\n" for i in range(1, 11)))
    res = read(ctx, path="n.txt", offset=4, limit=3)
    assert res.content.splitlines()[:3] == ["    4\tline 4", "    5\tline 5", "    6\tline 6"]
    assert "Showing lines 4-6 of 10" in res.content
    assert "offset=7" in res.content
    tail = read(ctx, path="n.txt", offset=9)
    assert tail.content == "    9\tline 9\n   10\tline 10"


def test_offset_past_end_is_an_error(ctx: ToolContext) -> None:
    (ctx.cwd / "n.txt").write_text("a\nb\n")
    res = read(ctx, path="n.txt", offset=5)
    assert res.is_error
    assert "beyond the end" in res.content and "2 lines" in res.content


def test_long_file_is_cut_at_2000_lines_with_a_note(ctx: ToolContext) -> None:
    (ctx.cwd / "big.txt").write_text("".join(f"{i}\n" for i in range(1, 2501)))
    res = read(ctx, path="big.txt")
    body, note = res.content.split("\n\n[")
    assert len(body.splitlines()) == 2000
    assert body.splitlines()[-1] == " 2000\t2000"
    assert "Showing lines 1-2000 of 2500" in note and "offset=2001" in note
    assert res.details["truncated"] is True


def test_file_over_50kb_is_cut_by_bytes(ctx: ToolContext) -> None:
    (ctx.cwd / "wide.txt").write_text(("x" * 999 + "\n") * 100)  # 100 KB in 100 lines
    res = read(ctx, path="wide.txt")
    body = res.content.split("\n\n[")[0]
    assert len(body.encode()) <= 50 * 1024
    shown = len(body.splitlines())
    assert 40 <= shown < 100
    assert f"offset={shown + 1}" in res.content


def test_missing_file_and_directory_are_errors(ctx: ToolContext) -> None:
    missing = read(ctx, path="nope.txt")
    assert missing.is_error and "not found" in missing.content and "nope.txt" in missing.content
    (ctx.cwd / "sub").mkdir()
    folder = read(ctx, path="sub")
    assert folder.is_error and "directory" in folder.content


def test_binary_and_image_files_are_reported_not_dumped(ctx: ToolContext) -> None:
    (ctx.cwd / "blob.bin").write_bytes(b"\x00\x01\x02garbage" * 10)
    res = read(ctx, path="blob.bin")
    assert not res.is_error and "binary" in res.content and "garbage" not in res.content
    (ctx.cwd / "pic.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    img = read(ctx, path="pic.png")
    assert "image" in img.content and img.details["media_type"] == "image/png"


def test_empty_file(ctx: ToolContext) -> None:
    (ctx.cwd / "e.txt").write_text("")
    assert "empty" in read(ctx, path="e.txt").content
