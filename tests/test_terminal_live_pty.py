"""What a 24-row terminal shows while `kit` works: read from the screen of a real pseudo-terminal.

A long tool run shows a spinner and its newest output lines, and its summary shows how it ended; a
code block taller than the screen shows its newest lines while it streams (not its top and `...`),
and is printed whole, copyable, once it ends.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import TypeVar

import pexpect

from tests.conftest import MODEL, kit_command
from tests.test_repl_pty import CSI, Screen

T = TypeVar("T")
ROWS, COLS = 24, 80
STEPS = 25
CODE = "".join(f"value_{i} = {i}\n" for i in range(100))


class LiveScreen:
    """A 24x80 screen fed with what the process writes, as it writes it."""

    def __init__(self, child: pexpect.spawn) -> None:
        self.child = child
        self.screen = Screen(rows=ROWS, cols=COLS)
        self.raw = ""
        self._held = ""

    def pump(self, timeout: float = 0.05) -> None:
        try:
            data = self.child.read_nonblocking(65536, timeout=timeout)
        except (pexpect.TIMEOUT, pexpect.EOF):
            return
        self.raw += data
        data, self._held = self._held + data, ""
        escape = data.rfind("\x1b")
        if escape >= 0 and not CSI.match(data, escape) and len(data) - escape < 16:
            data, self._held = data[:escape], data[escape:]  # an escape sequence cut between two reads
        self.screen.feed(data)

    def rows(self) -> list[str]:
        """The rows on the screen now (not what scrolled off)."""
        return ["".join(row).rstrip() for row in self.screen.grid]

    def wait_for(self, found: Callable[[list[str]], T | None], timeout: float = 30) -> T:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.pump()
            result = found(self.rows())
            if result:
                return result
        raise AssertionError("not seen on screen; it shows:\n" + "\n".join(self.rows()))


def numbers(rows: list[str], pattern: str) -> list[int]:
    return [int(m.group(1)) for row in rows if (m := re.fullmatch(pattern, row.strip()))]


def test_long_tool_runs_and_tall_code_blocks_show_their_newest_lines_at_24_rows(kit_env, workdir, provider):
    command = f"for i in $(seq 1 {STEPS}); do echo step $i; sleep 0.04; done; kill -TERM $$"
    provider.reply(tool_calls=[{"id": "call_1", "name": "bash", "arguments": {"command": command}}])
    answer = f"Here is the code:\n\n```python\n{CODE}```\n\nEND-OF-ANSWER\n"
    provider.reply(answer, chunk_size=12, delay=0.012)
    cmd = [*kit_command(), "-m", MODEL, "--api-base", provider.base_url, "write the code"]
    child = pexpect.spawn(
        cmd[0], cmd[1:], env=kit_env, cwd=str(workdir), encoding="utf-8", timeout=30, dimensions=(ROWS, COLS)
    )
    term = LiveScreen(child)
    try:
        # While bash runs: a spinner with the time taken, and the newest lines it printed, in order.
        def running(rows: list[str]) -> list[str] | None:
            steps = numbers(rows, r"step (\d+)")
            return rows if any("running" in row for row in rows) and steps and steps[-1] >= 10 else None

        rows = term.wait_for(running)
        steps = numbers(rows, r"step (\d+)")
        assert steps == list(range(steps[0], steps[-1] + 1)) and len(steps) <= 5 and 1 not in steps
        assert any(re.search(r"running \d+(\.\d)? (ms|s) · \d+ lines of output", row) for row in rows)

        # Its summary: the END of the output, and the signal that ended it by name.
        summary = term.wait_for(lambda rows: next((r for r in rows if "killed by" in r), None))
        assert re.fullmatch(
            rf"\s*✗ step {STEPS} \(last of {STEPS} lines\)  \[killed by SIGTERM · .*\]", summary
        )

        # A code block taller than the screen: its newest lines are on screen while it still streams.
        def deep_in_the_block(rows: list[str]) -> list[str] | None:
            values = numbers(rows, r"value_(\d+) = \d+")
            return rows if values and values[-1] >= 60 else None

        rows = term.wait_for(deep_in_the_block)
        assert "END-OF-ANSWER" not in term.raw  # the block has not ended yet
        values = numbers(rows, r"value_(\d+) = \d+")
        assert values == list(range(values[0], values[-1] + 1)) and len(values) >= ROWS - 4
        assert any(re.fullmatch(r"… \d+ more lines above", row) for row in rows)
        assert not any(row.rstrip().endswith("...") for row in rows)  # not the frozen top of the block

        term.wait_for(lambda rows: any("END-OF-ANSWER" in row for row in rows))
        while child.isalive():
            term.pump()
        term.pump()
    finally:
        child.close(force=True)
    assert child.exitstatus == 0

    # Once finished, the block is printed whole, once, and copied from the terminal it runs.
    shown = term.screen.text().splitlines()
    first = shown.index("value_0 = 0")
    copied = "\n".join(shown[first : first + 100]) + "\n"
    assert copied == CODE
    compile(copied, "<copied>", "exec")
    assert sum(line == "value_99 = 99" for line in shown) == 1
    assert not any("running" in line or "more lines above" in line for line in shown)
