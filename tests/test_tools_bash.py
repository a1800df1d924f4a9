"""bash tool: exit codes, cwd, timeouts, truncation with the full output kept, no process outliving kit."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
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


# A stand-in for kit: runs one bash tool call through the registry in a worker thread that then ends
# (as the API runs a streamed turn), says so, then waits for its stdin to close (or for the SIGKILL).
_KIT_RUNNING_BASH = """
import sys, threading
from pathlib import Path
from kit_py.tools import BUILTIN_TOOLS, ToolContext, run_tool
call = lambda: run_tool(BUILTIN_TOOLS["bash"], {"command": sys.argv[1]}, ToolContext(cwd=Path.cwd()))
turn = threading.Thread(target=call)
turn.start()
turn.join()
print("returned", flush=True)
sys.stdin.read()
"""
_REPO = Path(__file__).resolve().parent.parent


def _running(pid: int) -> bool:
    """One look: the process exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def _descendants(pid: int) -> set[int]:
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (FileNotFoundError, ProcessLookupError, ValueError):
            continue
    found, todo = set(), [pid]
    while todo:
        parent = todo.pop()
        children = {child for child, ppid in parents.items() if ppid == parent} - found
        found |= children
        todo.extend(children)
    return found


def _read_pids(path: Path, count: int) -> set[int]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if path.exists() and len(lines := path.read_text().split()) >= count:
            return {int(line) for line in lines}
        time.sleep(0.02)
    raise AssertionError(f"the command did not record {count} pids: {path.read_text()!r}")


# Grandchildren in the background, two of them ignoring SIGTERM (so SIGKILL must follow).
_SPAWN_GRANDCHILDREN = (
    "sleep 300 & echo $! >> pids; "
    "bash -c 'trap \"\" TERM; sleep 300 & echo $! >> pids; exec sleep 300' & echo $! >> pids; "
    "echo $$ > shell.pid"
)


@pytest.mark.parametrize(
    "when",
    ["kit killed during the command", "kit killed after the call left jobs", "kit exits after the call"],
)
def test_the_commands_processes_do_not_outlive_kit(tmp_path: Path, when: str) -> None:
    during = when == "kit killed during the command"
    command = _SPAWN_GRANDCHILDREN + ("; wait" if during else "")
    kit = subprocess.Popen(
        [sys.executable, "-c", _KIT_RUNNING_BASH, command],
        cwd=tmp_path,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(_REPO)},
    )
    pids: set[int] = set()
    try:
        pids = _read_pids(tmp_path / "pids", 3)
        assert kit.stdout is not None and kit.stdin is not None
        if not during:  # background jobs still outlive the call itself, while kit runs
            assert kit.stdout.readline() == b"returned\n"
            assert all(_running(pid) for pid in pids)
        pids |= _read_pids(tmp_path / "shell.pid", 1)
        pids |= _descendants(kit.pid)  # every process kit started, the watchdog included
        if when == "kit exits after the call":
            kit.stdin.close()
        else:
            kit.kill()
        kit.wait(10)
        deadline = time.monotonic() + 5
        while (left := {pid for pid in pids if _running(pid)}) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not left, f"still running after kit ended: {left}"
    finally:
        kit.kill()
        kit.wait()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def test_a_killed_watchdog_is_started_again(ctx: ToolContext) -> None:
    def watchdogs() -> set[int]:
        found = set()
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(FileNotFoundError, ProcessLookupError):
                pid, (state, ppid) = int(stat.parent.name), stat.read_text().rsplit(")", 1)[1].split()[:2]
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
                if int(ppid) == os.getpid() and state != "Z" and b"kit-bash-watchdog" in cmdline:
                    found.add(pid)
        return found

    run_tool(BASH, {"command": "true"}, ctx)
    (first,) = watchdogs()
    os.kill(first, signal.SIGKILL)  # e.g. a command ran `killall bash`
    while first in watchdogs():
        time.sleep(0.01)
    res = run_tool(BASH, {"command": "echo still works"}, ctx)
    assert res.content == "still works" and not res.is_error
    (second,) = watchdogs()
    assert second != first
