"""`!cmd` runs a shell command and adds its output to the conversation; `!!cmd` only shows it.

The output is both printed and, for `!`, kept as a user message so the model sees what the user saw.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kit_py.text import exit_status, strip_terminal_escapes

MAX_CONTEXT_CHARS = 30_000


@dataclass
class ShellRun:
    command: str
    output: str
    exit_code: int
    interrupted: bool = False

    def as_message_text(self) -> str:
        """The user message that puts this run into the context (colour escapes left out)."""
        output = strip_terminal_escapes(self.output)
        if len(output) > MAX_CONTEXT_CHARS:
            output = output[:MAX_CONTEXT_CHARS] + f"\n… [output truncated: {len(output)} chars in total]"
        status = "interrupted" if self.interrupted else exit_status(self.exit_code)
        fence = "````" if "```" in output else "```"
        return f"I ran `{self.command}` ({status}):\n{fence}\n{output.rstrip()}\n{fence}"


def parse(line: str) -> tuple[str, bool] | None:
    """(command, add_to_context) for `!cmd` / `!!cmd`, None for anything else (`\\!` escapes a `!`)."""
    if line.startswith("!!"):
        return line[2:].strip(), False
    if line.startswith("!"):
        return line[1:].strip(), True
    return None


def run(command: str, cwd: Path, on_output: Callable[[str], None] | None = None) -> ShellRun:
    """Run through the user's shell with stdout and stderr merged, passing output on as it arrives.

    Ctrl-C stops the command, not kit: what it printed so far is kept.
    """
    import os

    shell = os.environ.get("SHELL") or "/bin/sh"
    show = on_output or (lambda text: None)
    try:
        proc = subprocess.Popen(
            [shell, "-c", command],
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
    except OSError as exc:
        return ShellRun(command, f"cannot run {shell}: {exc.strerror or exc}", 127)
    assert proc.stdout is not None
    chunks: list[str] = []
    try:
        for line in iter(proc.stdout.readline, b""):
            text = line.decode("utf-8", errors="replace")
            chunks.append(text)
            show(text)
        code = proc.wait()
    except KeyboardInterrupt:
        proc.kill()
        proc.wait()
        return ShellRun(command, "".join(chunks), 130, interrupted=True)
    finally:
        proc.stdout.close()
    return ShellRun(command, "".join(chunks), code)
