"""Helpers for the MCP tests: command lines for tests/mcp_server.py, a streamable HTTP server on
127.0.0.1 shared by the tests of a worker, reading pid files, and checking that a process is gone."""

from __future__ import annotations

import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

SERVER = Path(__file__).resolve().parent / "mcp_server.py"
SERVER_TOOLS = ("echo", "add", "write_note", "fail", "crash", "slow")


def server_command(*flags: str) -> str:
    """The command line that starts the test server over stdio (`--fail`, `--hang` for the bad ones)."""
    return shlex.join([sys.executable, str(SERVER), *flags])


def server_entry(*flags: str, **extra: object) -> dict[str, object]:
    """A `.kit.yml` / `Agent(mcp_servers=...)` entry for the test server."""
    return {"command": sys.executable, "args": [str(SERVER), *flags], **extra}


@pytest.fixture(scope="session", name="http_mcp_url")
def http_mcp_url_fixture() -> Iterator[str]:
    """The test server over streamable HTTP on 127.0.0.1 (one per worker), as its endpoint URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, str(SERVER), "--http", str(port)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the HTTP MCP test server did not start") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.kill()  # it may be busy with a call a test left running (a timed-out `slow`)
        proc.wait(10)


def pids(pidfile: Path) -> list[int]:
    return [int(line) for line in pidfile.read_text().split()] if pidfile.exists() else []


def running(pid: int) -> bool:
    """Whether a process still runs (a zombie waiting to be reaped does not count)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] != "Z"


def wait_gone(pid_list: list[int], seconds: float = 5) -> list[int]:
    """The pids still running after up to `seconds` (an exiting process takes a moment to go)."""
    deadline = time.monotonic() + seconds
    while True:
        alive = [pid for pid in pid_list if running(pid)]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.05)
