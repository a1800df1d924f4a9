"""A tiny terminal for driving the real `kit` REPL in a pseudo-terminal, plus its own smoke test.

Output is read as raw bytes and matched with escape sequences stripped. Cursor position requests
(`ESC[6n`) are answered like a real terminal would, so prompt_toolkit draws its bottom toolbar.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pexpect

from tests.conftest import MODEL, kit_command

ANSI = re.compile(
    r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC (title, clipboard)
    r"|\x1bP.*?\x1b\\"  # DCS
    r"|\x1b\[[0-?]*[ -/]*[@-~]"  # CSI
    r"|\x1b[@-Z\\-_=>]"  # two-character escapes
)
ENTER = "\r"
ALT_ENTER = "\x1b\r"
CTRL_J = "\n"
CTRL_C = "\x03"
CTRL_D = "\x04"
CTRL_R = "\x12"
UP = "\x1b[A"
SHIFT_TAB = "\x1b[Z"
TAB = "\t"
PROMPT = "❯ "
TOOLBAR_MARK = "· thinking "


CSI = re.compile(r"\x1b\[([0-?]*)[ -/]*([@-~])")


def clean(text: str) -> str:
    return ANSI.sub("", text).replace("\r", "")


class Screen:
    """Just enough of a VT100 to replay output into lines: cursor moves, erases, wrapping, scrolling.

    prompt_toolkit and rich redraw by diffs and cursor moves, so what the user finally sees can only be
    checked on a screen, not in the byte stream.
    """

    def __init__(self, rows: int = 40, cols: int = 120) -> None:
        self.rows, self.cols = rows, cols
        self.grid = [[" "] * cols for _ in range(rows)]
        self.scrolled: list[str] = []
        self.row = self.col = 0

    def _newline(self) -> None:
        self.row += 1
        if self.row == self.rows:
            self.scrolled.append("".join(self.grid.pop(0)).rstrip())
            self.grid.append([" "] * self.cols)
            self.row -= 1

    def _csi(self, params: str, final: str) -> None:
        if params.startswith("?"):
            return
        numbers = [int(p) if p.isdigit() else 0 for p in params.split(";")] if params else [0]
        n = numbers[0] or 1
        if final == "A":
            self.row = max(0, self.row - n)
        elif final == "B":
            self.row = min(self.rows - 1, self.row + n)
        elif final == "C":
            self.col = min(self.cols - 1, self.col + n)
        elif final == "D":
            self.col = max(0, self.col - n)
        elif final == "G":
            self.col = n - 1
        elif final == "H":
            self.row, self.col = n - 1, (numbers[1] if len(numbers) > 1 and numbers[1] else 1) - 1
        elif final in "JK":
            whole = numbers[0] == 2
            start = 0 if whole else self.col
            self.grid[self.row][start:] = [" "] * (self.cols - start)
            if final == "J":
                for row in range(0 if whole else self.row + 1, self.rows):
                    self.grid[row] = [" "] * self.cols

    def feed(self, data: str) -> Screen:
        i = 0
        while i < len(data):
            char = data[i]
            if char == "\x1b":
                csi = CSI.match(data, i)
                other = csi or ANSI.match(data, i)
                if csi:
                    self._csi(csi.group(1), csi.group(2))
                i = other.end() if other else i + 1
                continue
            i += 1
            if char == "\r":
                self.col = 0
            elif char == "\n":
                self._newline()
            elif char == "\b":
                self.col = max(0, self.col - 1)
            elif char >= " ":
                if self.col >= self.cols:
                    self.col = 0
                    self._newline()
                self.grid[self.row][self.col] = char
                self.col += 1
        return self

    def text(self) -> str:
        return "\n".join(self.scrolled + ["".join(line).rstrip() for line in self.grid]).rstrip()


class Terminal:
    """One `kit` process in a 40x120 pty; `expect` moves a cursor through the cleaned output."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path) -> None:
        cmd = kit_command()
        self.child = pexpect.spawn(
            cmd[0], cmd[1:] + args, env=env, cwd=str(cwd), dimensions=(40, 120), encoding="utf-8", timeout=20
        )
        self.raw = ""
        self.pos = 0

    @classmethod
    def kit(cls, provider, env: dict[str, str], cwd: Path, *args: str) -> Terminal:  # type: ignore[no-untyped-def]
        return cls(["-m", MODEL, "--api-base", provider.base_url, *args], env, cwd)

    def _pump(self, timeout: float) -> None:
        try:
            data = self.child.read_nonblocking(65536, timeout=timeout)
        except (pexpect.TIMEOUT, pexpect.EOF):
            return
        if "\x1b[6n" in data:
            self.child.send("\x1b[1;1R")
        self.raw += data

    @property
    def text(self) -> str:
        return clean(self.raw)

    def screen(self) -> str:
        """What the terminal shows now (with everything scrolled off above it)."""
        self._pump(0.05)
        return Screen().feed(self.raw).text()

    def expect(self, needle: str, timeout: float = 20) -> str:
        """Wait until `needle` appears after the cursor; returns the text between and moves past it."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.text
            found = text.find(needle, self.pos)
            if found >= 0:
                between = text[self.pos : found]
                self.pos = found + len(needle)
                return between
            if time.monotonic() > deadline:
                rest = text[self.pos :][-3000:]
                raise AssertionError(f"{needle!r} did not appear; output after cursor:\n{rest}")
            if not self.child.isalive():
                self._pump(0.05)
                if needle not in self.text[self.pos :]:
                    raise AssertionError(f"kit exited before {needle!r}; output:\n{self.text[-3000:]}")
                continue
            self._pump(0.05)

    def settle(self, seconds: float = 0.3) -> None:
        """Read whatever arrives for a short while (let a redraw finish)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self._pump(0.05)
        self.pos = len(self.text)

    def ready(self) -> str:
        """Wait for the input line (its status toolbar is drawn with it); returns what came before."""
        return self.expect(TOOLBAR_MARK)

    def send(self, keys: str) -> None:
        self.child.send(keys)

    def line(self, text: str) -> None:
        """Type a line and press Enter, after waiting for the prompt."""
        self.expect(PROMPT)
        self.send(text + ENTER)

    def wait_exit(self, timeout: float = 20) -> int:
        deadline = time.monotonic() + timeout
        while self.child.isalive() and time.monotonic() < deadline:
            self._pump(0.05)
        self._pump(0.05)
        self.child.close()
        return int(self.child.exitstatus if self.child.exitstatus is not None else -1)


def test_prompt_appears_with_toolbar_and_ctrl_c_twice_exits(kit_env, workdir, provider, tmp_path):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")  # config dir unusable: history and preferences degrade, the chat still works
    term = Terminal.kit(provider, {**kit_env, "KIT_CONFIG_DIR": str(blocked)}, workdir)
    banner = term.expect(PROMPT)
    assert "input history is not saved" in banner
    assert (
        banner.splitlines()[-1].startswith("kit ") and "openai/scripted" in banner and "new session" in banner
    )
    term.expect("thinking off")
    term.send("/name scratch" + "\r")
    term.expect("session named: scratch")
    term.send("/theme light" + "\r")
    term.expect("could not remember it")
    term.expect("theme: light (for this session only)")
    term.send("some text")
    term.expect("some text")
    term.send(CTRL_C)  # clears the typed text, does not exit
    term.settle()
    assert term.child.isalive()
    term.send(CTRL_C)
    term.expect("press Ctrl-C again")
    term.send(CTRL_C)
    assert term.wait_exit() == 0
    assert provider.chat_requests == []
    assert not re.search(r"\x1b\[[0-9;]*(?:3[0-9]|4[0-9]|9[0-7])[;m]", term.raw)  # NO_COLOR: no colours
