"""bash tool: exit codes, cwd, timeouts, truncation with the full output kept."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from kit_py.tools import BUILTIN_TOOLS, ToolContext, run_tool
from kit_py.tools.base import ToolInterrupted

BASH = BUILTIN_TOOLS["bash"]


def _alive(pid: int) -> bool:
    """Running (not gone, not a zombie waiting for a reaper), polled briefly."""
    for _ in range(20):
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return False
        if state == "Z":
            return False
        time.sleep(0.05)
    return True


@pytest.fixture
def ctx(tmp_path: Path) -> ToolContext:
    return ToolContext(cwd=tmp_path)


def test_runs_in_cwd_with_stdout_and_stderr_combined(ctx: ToolContext) -> None:
    (ctx.cwd / "marker").write_text("")
    res = run_tool(BASH, {"command": "ls; echo to-err >&2"}, ctx)
    assert not res.is_error
    assert res.content == "marker\nto-err"
    assert res.details["exit_code"] == 0
    assert res.details["cwd"] == str(ctx.cwd)
    assert "full_output_path" not in res.details


def test_non_zero_exit_is_an_error_with_the_code(ctx: ToolContext) -> None:
    res = run_tool(BASH, {"command": "echo failing; exit 7"}, ctx)
    assert res.is_error
    assert res.details["exit_code"] == 7
    assert res.content.startswith("failing")
    assert "Exit code 7" in res.content


def test_no_output(ctx: ToolContext) -> None:
    res = run_tool(BASH, {"command": "true"}, ctx)
    assert res.content == "(no output)" and not res.is_error


def test_stdin_is_empty_so_reading_commands_do_not_hang(ctx: ToolContext) -> None:
    res = run_tool(BASH, {"command": "cat; echo done", "timeout": 5}, ctx)
    assert res.content == "done"


def test_timeout_kills_the_whole_process_group(ctx: ToolContext) -> None:
    pidfile = ctx.cwd / "child.pid"
    start = time.monotonic()
    res = run_tool(
        BASH, {"command": f"echo started; sleep 30 & echo $! > {pidfile}; wait", "timeout": 0.7}, ctx
    )
    assert time.monotonic() - start < 3
    assert res.is_error and res.details["timed_out"] is True
    assert "started" in res.content and "timed out after 0.7 s" in res.content
    assert not _alive(int(pidfile.read_text()))


def test_background_process_holding_the_pipe_does_not_block(ctx: ToolContext) -> None:
    start = time.monotonic()
    res = run_tool(BASH, {"command": "sleep 5 & echo launched", "timeout": 10}, ctx)
    assert time.monotonic() - start < 2
    assert res.content == "launched" and not res.is_error


def test_cancel_event_aborts(ctx: ToolContext) -> None:
    ctx.cancel = threading.Event()
    threading.Timer(0.3, ctx.cancel.set).start()
    res = run_tool(BASH, {"command": "sleep 20"}, ctx)
    assert res.is_error and res.details["aborted"] is True and "aborted" in res.content


def test_long_output_keeps_the_tail_and_the_full_text_in_a_file(ctx: ToolContext) -> None:
    res = run_tool(BASH, {"command": "seq 1 5000"}, ctx)
    assert not res.is_error
    full = Path(res.details["full_output_path"])
    try:
        body, note = res.content.rsplit("\n[", 1)
        lines = body.splitlines()
        assert len(lines) == 2000
        assert lines[0] == "3001" and lines[-1] == "5000"
        assert "last 2000 of 5000 lines" in note and str(full) in note
        assert full.read_text() == "".join(f"{i}\n" for i in range(1, 5001))
    finally:
        full.unlink()


def test_wide_output_is_cut_at_50kb(ctx: ToolContext) -> None:
    res = run_tool(BASH, {"command": "for i in $(seq 1 300); do printf '%0500d\\n' $i; done"}, ctx)
    full = Path(res.details["full_output_path"])
    try:
        body = res.content.rsplit("\n[", 1)[0]
        assert len(body.encode()) <= 50 * 1024
        assert body.splitlines()[-1].endswith("300")
        assert all(len(line) == 500 for line in body.splitlines())  # no partial first line
        assert full.stat().st_size == 300 * 501
    finally:
        full.unlink()


def test_output_of_a_cleanup_trap_on_timeout_is_kept(ctx: ToolContext) -> None:
    command = "trap 'echo cleanup-done; exit 1' TERM; echo start; sleep 30 & wait"
    res = run_tool(BASH, {"command": command, "timeout": 0.5}, ctx)
    assert res.details["timed_out"] is True
    assert res.content.startswith("start\ncleanup-done\n[Command timed out")


def test_bad_timeout_and_empty_command_are_errors(ctx: ToolContext) -> None:
    assert run_tool(BASH, {"command": "echo x", "timeout": -1}, ctx).is_error
    assert run_tool(BASH, {"command": "  "}, ctx).is_error


def test_preview_shows_the_command(ctx: ToolContext) -> None:
    assert BASH.preview is not None and BASH.preview({"command": "rm -rf build"}, ctx) == "$ rm -rf build"


def _interrupt(ctx: ToolContext, command: str) -> ToolInterrupted:
    """Run `command` and press Ctrl-C (a real SIGINT) once it wrote `ready`; return the interrupt."""

    def press_ctrl_c() -> None:
        deadline = time.monotonic() + 10
        while not (ctx.cwd / "ready").exists():
            if time.monotonic() > deadline:
                return
            time.sleep(0.02)
        os.kill(os.getpid(), signal.SIGINT)

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    threading.Thread(target=press_ctrl_c, daemon=True).start()
    try:
        with pytest.raises(KeyboardInterrupt) as caught:  # the turn still stops
            run_tool(BASH, {"command": command}, ctx)
    finally:
        signal.signal(signal.SIGINT, previous)
        (ctx.cwd / "ready").unlink(missing_ok=True)
    assert isinstance(caught.value, ToolInterrupted), "the output so far must come with the interrupt"
    return caught.value


def test_ctrl_c_keeps_the_output_so_far_and_leaves_no_temp_file(
    ctx: ToolContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    start = time.monotonic()
    stopped = _interrupt(ctx, "echo started; sleep 30 & echo $! > child.pid; touch ready; wait")
    assert time.monotonic() - start < 5
    res = stopped.result
    assert res.is_error
    assert res.content == "started\n[interrupted by the user (Ctrl-C); its process group was killed.]"
    assert res.details["aborted"] is True and isinstance(res.details["exit_code"], int)
    assert res.details["cwd"] == str(ctx.cwd) and isinstance(res.details["duration_ms"], int)
    assert not _alive(int((ctx.cwd / "child.pid").read_text()))
    assert list(temp.iterdir()) == []

    long = _interrupt(ctx, "seq 1 5000; touch ready; sleep 30").result
    full = Path(long.details["full_output_path"])  # truncated: the full text is kept and named
    assert full.parent == temp and f"Full output: {full}" in long.content
    assert long.content.endswith("[interrupted by the user (Ctrl-C); its process group was killed.]")
    assert full.read_text() == "".join(f"{i}\n" for i in range(1, 5001))


class _SlowStart(subprocess.Popen):
    """Popen whose caller is held up once the command runs (a busy machine), until `ready` exists."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        ready = Path(kwargs["cwd"]) / "ready"
        deadline = time.monotonic() + 10
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.3)  # the Ctrl-C arrives here, before the tool watches the command


def test_ctrl_c_while_the_command_starts_still_stops_it_and_leaves_no_temp_file(
    ctx: ToolContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    monkeypatch.setattr(subprocess, "Popen", _SlowStart)
    stopped = _interrupt(ctx, "echo started; sleep 30 & echo $! > child.pid; touch ready; wait")
    res = stopped.result
    assert res.content == "started\n[interrupted by the user (Ctrl-C); its process group was killed.]"
    assert res.details["aborted"] is True
    assert not _alive(int((ctx.cwd / "child.pid").read_text()))
    assert list(temp.iterdir()) == []
