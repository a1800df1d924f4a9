"""bash: run a shell command in the working directory with a timeout and bounded output.

Every command runs in a process group of its own, and that group must not outlive kit, however kit
ends (SIGKILL included: then nothing in kit runs any more). A watchdog process, started once per kit
process, does it: see _Watchdog.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import select
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from kit_py.text import signal_name
from kit_py.tools.base import Tool, ToolContext, ToolError, ToolInterrupted, ToolResult
from kit_py.tools.text import tail_lines

# After the shell exits, a background child may still hold the pipe open; stop reading then.
EXIT_GRACE_S = 0.3
KILL_GRACE_S = 0.5

PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "command": {
            "type": "string",
            "description": "Shell command, run with `bash -c` in the working directory.",
        },
        "timeout": {
            "type": "number",
            "exclusiveMinimum": 0,
            "description": "Seconds before it is killed (default 120).",
        },
    },
    "required": ["command"],
    "additionalProperties": False,
}

# The watchdog's script (bash, in a session of its own). Its stdin is a socket whose other end only kit
# holds: kit sends "+PGID" when a command starts and "-PGID" once its group has ended. End of file means
# kit is gone, whatever killed it: then every group still registered gets SIGTERM, and SIGKILL 0.5 s
# later if anything is left (the same steps as a timeout). While groups are registered it wakes every
# 2 s to forget those that ended by themselves (background jobs left behind by a command), so a group
# id the system gives out again later is not killed.
_WATCHDOG_SCRIPT = r"""
groups=' '
while :; do
    if [[ $groups == ' ' ]]; then read -r line; else read -r -t 2 line; fi
    status=$?
    if ((status == 0)); then
        case $line in
            +*) groups+="${line#+} " ;;
            -*) groups=${groups/ ${line#-} / } ;;
        esac
    elif ((status > 128)); then
        for g in $groups; do kill -0 -- "-$g" 2>/dev/null || groups=${groups/ $g / }; done
    else
        break
    fi
done
set -- $groups
(($#)) || exit 0
kill -s TERM -- "${@/#/-}" 2>/dev/null
for _ in 1 2 3 4 5 6 7 8 9 10; do
    alive=0
    for g; do kill -0 -- "-$g" 2>/dev/null && alive=1; done
    ((alive)) || exit 0
    sleep 0.05 2>/dev/null || break
done
kill -s KILL -- "${@/#/-}" 2>/dev/null
"""


_NO_SIGPIPE = getattr(socket, "MSG_NOSIGNAL", 0)  # Linux; elsewhere Python ignores SIGPIPE anyway


class _Watchdog:
    """Kills the commands' process groups when kit dies, however it dies.

    Nothing in a SIGKILLed process runs, so another process must notice. The watchdog is a small bash
    script, a child of kit in a session of its own (terminal signals and killpg of a command's group do
    not reach it), reading a socket whose other end is held by kit only (close-on-exec, dropped in forked
    children): the kernel closes it when kit ends, for any reason and whichever thread ran the command.
    One watchdog serves every call, so a call costs two small writes. It also covers background jobs
    that a command leaves running: they live on as before, until kit ends. (PR_SET_PDEATHSIG would only
    reach the direct child, not the grandchildren, and fires when the thread that started it exits.)
    Protection is best effort: if the watchdog cannot be started the command still runs.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._sock: socket.socket | None = None
        self._running: set[int] = set()  # groups whose leader kit has not reaped yet
        self._retired: list[subprocess.Popen[bytes]] = []  # earlier watchdogs, not yet reaped

    def ready(self) -> None:
        """Make sure a watchdog runs, before a command starts."""
        with self._lock:
            self._retired = [proc for proc in self._retired if proc.poll() is None]
            if self._proc is None or self._proc.poll() is not None:
                self._restart()

    def watch(self, pgid: int) -> None:
        with self._lock:
            self._running.add(pgid)
            if not self._send(b"+%d\n" % pgid):
                self._restart()

    def release(self, pgid: int) -> None:
        """The group's leader was reaped: forget the group if nothing is left in it."""
        try:
            os.killpg(pgid, 0)
            ended = False
        except ProcessLookupError:
            ended = True
        except PermissionError:
            ended = False
        with self._lock:
            self._running.discard(pgid)
            if ended:
                self._send(b"-%d\n" % pgid)

    def _send(self, line: bytes) -> bool:
        """False if the watchdog is gone (never SIGPIPE, never block)."""
        if self._sock is None:
            return False
        try:
            self._sock.send(line, _NO_SIGPIPE | socket.MSG_DONTWAIT)
        except BlockingIOError:  # it is alive but not reading: nothing better to do
            return True
        except OSError:
            return False
        return True

    def _restart(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self._proc is not None:
            if self._proc.poll() is None:  # dying (its socket is closed): reap it later
                self._retired.append(self._proc)
            self._proc = None
        ours, theirs = socket.socketpair()
        try:
            self._proc = subprocess.Popen(
                ["bash", "-c", 'eval "$KIT_BASH_WATCHDOG"', "kit-bash-watchdog"],
                cwd="/",
                stdin=theirs.fileno(),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
                env={"PATH": os.environ.get("PATH", os.defpath), "KIT_BASH_WATCHDOG": _WATCHDOG_SCRIPT},
            )
        except OSError:
            ours.close()
            return
        finally:
            theirs.close()
        self._sock = ours
        for pgid in self._running:
            self._send(b"+%d\n" % pgid)

    def forget_after_fork(self) -> None:
        """In a forked child: the parent's watchdog and commands are not ours, and holding the parent's
        socket would hide the parent's death from its watchdog."""
        self._lock = threading.Lock()
        if self._sock is not None:
            self._sock.close()
        if self._proc is not None:
            self._retired.append(self._proc)  # not our child: poll() just forgets it
        self._sock, self._proc = None, None
        self._running = set()


_WATCHDOG = _Watchdog()
os.register_at_fork(after_in_child=_WATCHDOG.forget_after_fork)


def guard_process_group(pgid: int) -> None:
    """Have the watchdog stop this process group too if kit dies (MCP servers: kit_py/tools/mcp)."""
    _WATCHDOG.ready()
    _WATCHDOG.watch(pgid)


def unguard_process_group(pgid: int) -> None:
    """The group's leader has exited: the watchdog forgets the group once nothing is left in it."""
    _WATCHDOG.release(pgid)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Stop the whole process group: SIGTERM, then SIGKILL for anything still alive."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        if sig == signal.SIGTERM:
            try:
                proc.wait(KILL_GRACE_S)
            except subprocess.TimeoutExpired:
                continue
    proc.wait()


class _Sink:
    """Keeps every byte in a temp file and a bounded tail in memory."""

    def __init__(self, keep: int) -> None:
        fd, self.path = tempfile.mkstemp(prefix="kit-bash-", suffix=".log")
        self.file = os.fdopen(fd, "wb")
        self.tail: deque[bytes] = deque()
        self.tail_size = 0
        self.keep = keep
        self.size = 0
        self.newlines = 0

    def write(self, chunk: bytes) -> None:
        self.file.write(chunk)
        self.size += len(chunk)
        self.newlines += chunk.count(b"\n")
        self.tail.append(chunk)
        self.tail_size += len(chunk)
        while self.tail_size - len(self.tail[0]) >= self.keep:
            self.tail_size -= len(self.tail.popleft())

    def close(self) -> bytes:
        self.file.close()
        return b"".join(self.tail)

    def discard(self) -> None:
        """Delete the temp file (no-op if already gone): nobody will be told its path."""
        self.file.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)


def _timeout(args: dict[str, Any], ctx: ToolContext) -> float:
    value = args.get("timeout")
    if value is None:
        return ctx.bash_timeout
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ToolError(f"timeout must be a positive number of seconds, got {value!r}")
    return float(value)


def _drain(fd: int, sink: _Sink) -> None:
    """Keep what a killed command wrote just before dying (until EOF or a quiet pipe)."""
    while select.select([fd], [], [], 0.1)[0]:
        chunk = os.read(fd, 65536)
        if not chunk:
            return
        sink.write(chunk)


def _stop(proc: subprocess.Popen[bytes], sink: _Sink, why: str) -> str:
    _kill_group(proc)
    assert proc.stdout is not None
    _drain(proc.stdout.fileno(), sink)
    return why


def _live_output(on_output: Callable[[str], None] | None) -> Callable[[bytes], None] | None:
    """Output bytes as text for `ToolContext.on_output`; a character split between two reads stays whole."""
    if on_output is None:
        return None
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def show(chunk: bytes) -> None:
        text = decoder.decode(chunk)
        if text:
            on_output(text)

    return show


def _pump(proc: subprocess.Popen[bytes], sink: _Sink, timeout: float, ctx: ToolContext) -> str | None:
    """Copy output until the command ends; returns "timed_out" or "aborted" if it was stopped."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    show = _live_output(ctx.on_output)
    deadline = time.monotonic() + timeout
    exited_at: float | None = None
    while True:
        now = time.monotonic()
        if exited_at is None and proc.poll() is None:
            if now >= deadline:
                return _stop(proc, sink, "timed_out")
            if ctx.cancel is not None and ctx.cancel.is_set():
                return _stop(proc, sink, "aborted")
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                return None
            sink.write(chunk)
            if show is not None:
                show(chunk)
        if proc.poll() is not None:
            if exited_at is None:
                exited_at = now
            if (now - exited_at > EXIT_GRACE_S and not ready) or now - exited_at > 10 * EXIT_GRACE_S:
                return None


@contextlib.contextmanager
def _ctrl_c_held() -> Iterator[None]:
    """Hold a Ctrl-C that comes while bash is being started and deliver it right after.

    Raised inside subprocess.Popen, the KeyboardInterrupt would lose the new process: its group would
    keep running and the temp file would stay behind. Only the main thread gets KeyboardInterrupt, and
    a handler set outside Python (getsignal() is None) cannot be put back, so those start unguarded.
    """
    previous = signal.getsignal(signal.SIGINT)
    if previous is None or threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []
    signal.signal(signal.SIGINT, lambda signum, frame: held.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if held:  # now the previous handler decides, as if the key had been pressed just now
            signal.raise_signal(signal.SIGINT)


def run(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    command = args.get("command")
    if not isinstance(command, str) or not command.strip():
        raise ToolError("command must be a non-empty string")
    timeout = _timeout(args, ctx)
    if not ctx.cwd.is_dir():
        raise ToolError(f"working directory does not exist: {ctx.cwd}")
    env = {**os.environ, "PAGER": "cat", "GIT_PAGER": "cat", "GIT_TERMINAL_PROMPT": "0"}
    sink = _Sink(keep=ctx.max_bytes * 2)
    proc: subprocess.Popen[bytes] | None = None
    try:
        try:
            with _ctrl_c_held():
                _WATCHDOG.ready()
                proc = subprocess.Popen(
                    ["bash", "-c", command],
                    cwd=ctx.cwd,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    env=env,
                )
                _WATCHDOG.watch(proc.pid)
            stopped = _pump(proc, sink, timeout, ctx)
        except KeyboardInterrupt:  # Ctrl-C: stop the command, keep its output so far
            if proc is None:
                raise
            stopped = _stop(proc, sink, "interrupted")
        except OSError as exc:
            if proc is not None:
                raise
            raise ToolError(f"cannot start bash: {exc}") from exc
        assert proc.stdout is not None
        proc.stdout.close()
        result = _result(sink.close(), sink, proc.wait(), stopped, timeout, ctx)
    except BaseException:  # e.g. a second Ctrl-C while stopping: leave no process and no temp file
        if proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            assert proc.stdout is not None
            proc.stdout.close()
        sink.discard()
        if proc is not None:
            proc.wait()
        raise
    finally:
        if proc is not None and proc.returncode is not None:
            _WATCHDOG.release(proc.pid)
    if stopped == "interrupted":
        raise ToolInterrupted(result)
    return result


def _result(
    tail: bytes, sink: _Sink, exit_code: int, stopped: str | None, timeout: float, ctx: ToolContext
) -> ToolResult:
    text = tail.decode("utf-8", errors="replace")
    had_partial_start = sink.size > len(tail)
    if had_partial_start:  # the tail may start mid-line: drop the fragment
        text = text.split("\n", 1)[1] if "\n" in text else text
    trailing_newline = text.endswith("\n")
    shown, cut = tail_lines(text[:-1] if trailing_newline else text, ctx.max_lines, ctx.max_bytes)
    cut = cut or had_partial_start
    details: dict[str, Any] = {"exit_code": exit_code}
    parts = [shown] if shown else []
    if cut:
        details["full_output_path"] = sink.path
        total_lines = sink.newlines + (0 if trailing_newline or not sink.size else 1)
        shown_lines = shown.count("\n") + 1
        parts.append(
            f"[Output truncated: showing the last {shown_lines} of {total_lines} lines "
            f"({sink.size} bytes). Full output: {sink.path}]"
        )
    else:
        os.unlink(sink.path)
    if not parts:
        parts.append("(no output)")
    if stopped == "timed_out":
        details["timed_out"] = True
        parts.append(f"[Command timed out after {timeout:g} s; its process group was killed.]")
    elif stopped == "aborted":
        details["aborted"] = True
        parts.append("[Command aborted by the user; its process group was killed.]")
    elif stopped == "interrupted":
        details["aborted"] = True
        parts.append("[interrupted by the user (Ctrl-C); its process group was killed.]")
    elif exit_code > 0:
        parts.append(f"[Exit code {exit_code}]")
    elif exit_code < 0:
        parts.append(f"[Killed by {signal_name(-exit_code)}]")
    return ToolResult("\n".join(parts), is_error=bool(stopped) or exit_code != 0, details=details)


def preview(args: dict[str, Any], ctx: ToolContext) -> str:
    command = args.get("command")
    if not isinstance(command, str):
        raise ToolError("command must be a string")
    timeout = _timeout(args, ctx)
    return f"$ {command}" + (f"\n(timeout {timeout:g} s)" if "timeout" in args else "")


TOOL = Tool(
    name="bash",
    description=(
        "Run a shell command with `bash -c` in the working directory; stdout and stderr are combined. "
        "Output over 2000 lines / 50 KB keeps its last part and the full text is saved to a file whose "
        "path is given. Non-interactive: stdin is empty. Default timeout 120 s."
    ),
    parameters=PARAMETERS,
    run=run,
    modifies_state=True,
    preview=preview,
)
