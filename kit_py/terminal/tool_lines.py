"""How tool activity reads in a terminal: a one-line header per call, a result summary, diff styling.

Pure text helpers shared by print mode, the safe-mode prompt and the REPL; no terminal I/O here.
"""

from __future__ import annotations

import json
import re
from collections import deque
from typing import Any

from kit_py.text import exit_status, shorten, strip_terminal_escapes

MAX_HEADER = 120
MAX_DIFF_LINES = 80
_ANSI = {"green": "\x1b[32m", "red": "\x1b[31m", "cyan": "\x1b[36m", "bold": "\x1b[1m", "dim": "\x1b[2m"}
_RESET = "\x1b[0m"
# Control characters shown as \xNN: file text or a command must not move the cursor or erase lines,
# least of all in a safe-mode question.
_VISIBLE = {c: f"\\x{c:02x}" for c in [*range(0x20), 0x7F, *range(0x80, 0xA0)] if c not in (0x09, 0x0A)}


def visible(text: str) -> str:
    """`text` with terminal control characters (escape, carriage return, ...) made visible."""
    return text.translate(_VISIBLE)


def _clip(text: str, limit: int = MAX_HEADER) -> str:
    return shorten(visible(text.replace("\n", " ⏎ ")), limit)


def _line_count(text: str) -> int:
    return text.count("\n") + (0 if text.endswith("\n") or not text else 1)


def _args(arguments_json: str) -> dict[str, Any] | None:
    try:
        value = json.loads(arguments_json) if arguments_json.strip() else {}
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def call_header(name: str, arguments_json: str) -> str:
    """`bash $ make test`, `write src/a.py (3 lines)`, `grep "TODO" in src`: what the call is about."""
    args = _args(arguments_json)
    if args is None:
        return _clip(f"{name} {arguments_json}")
    path = str(args.get("path") or "")
    if name == "bash":
        return _clip(f"bash $ {args.get('command', '')}")
    if name == "write":
        content = args.get("content")
        lines = _line_count(content) if isinstance(content, str) else 0
        return _clip(f"write {path} ({lines} line{'s' if lines != 1 else ''})")
    if name == "edit":
        edits = args.get("edits")
        count = len(edits) if isinstance(edits, list) else 1
        return _clip(f"edit {path} ({count} edit{'s' if count != 1 else ''})")
    if name == "read":
        extra = "".join(f" {k}={args[k]}" for k in ("offset", "limit") if args.get(k) is not None)
        return _clip(f"read {path}{extra}")
    if name == "ls":
        return _clip(f"ls {path or '.'}")
    if name == "grep":
        where = f" in {path}" if path else ""
        return _clip(f"grep {json.dumps(args.get('pattern', ''), ensure_ascii=False)}{where}")
    return _clip(f"{name} {json.dumps(args, ensure_ascii=False)}")


# The notes bash adds after a command's output (tools/bash.py `_result`), and the engine's word for a
# call stopped before it returned: the summary says the same from `details`, so they are skipped.
_KIT_NOTE = re.compile(
    r"\[(Exit code -?\d+|Killed by \w+|Output truncated: .*|Command (timed out|aborted) .*"
    r"|interrupted by the user.*)\]|interrupted by the user"
)


def result_summary(content: str, data: dict[str, Any]) -> str:
    """The LAST line of the output (errors come at the end), how many lines it ended, how the command
    ended (`exit 1`, `killed by SIGTERM`, `timed out`) and how long it took."""
    lines = [line for line in content.splitlines() if line.strip()]
    while len(lines) > 1 and _KIT_NOTE.fullmatch(lines[-1].strip()):
        lines.pop()
    last = _clip(" ".join(lines[-1].split()), 100) if lines else "(no output)"
    more = "+" if data.get("full_output_path") else ""
    count = f" (last of {len(lines)}{more} lines)" if len(lines) > 1 else ""
    facts = []
    if data.get("timed_out"):
        facts.append("timed out")
    elif data.get("aborted"):
        facts.append("stopped")
    elif data.get("exit_code") is not None:
        facts.append(exit_status(int(data["exit_code"])))
    if data.get("duration_ms") is not None:
        facts.append(duration(int(data["duration_ms"])))
    tail = f"  [{' · '.join(facts)}]" if facts else ""
    return f"{last}{count}{tail}"


def duration(ms: float) -> str:
    """`830 ms`, `12.4 s`, `3m 05s`."""
    if ms < 1000:
        return f"{ms:.0f} ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f} s"
    minutes, seconds = divmod(int(ms // 1000), 60)
    return f"{minutes}m {seconds:02d}s"


class OutputTail:
    """The last lines a running command printed, as a terminal would show them: colours and cursor
    escapes dropped, a carriage return starting its line again (progress bars), control characters
    made visible. Memory stays bounded however much it prints."""

    MAX_LINE = 1000

    def __init__(self, keep: int = 5) -> None:
        self._lines: deque[str] = deque(maxlen=keep)
        self._partial = ""
        self.line_count = 0

    def add(self, output: str) -> None:
        *complete, self._partial = (self._partial + output).split("\n")
        self._partial = self._partial[-4 * self.MAX_LINE :]
        self.line_count += len(complete)
        for line in complete[-(self._lines.maxlen or 1) :]:
            self._lines.append(line[-4 * self.MAX_LINE :])

    def lines(self) -> list[str]:
        """The newest lines, the one still being written last."""
        raw = [*self._lines, self._partial] if self._partial else list(self._lines)
        shown = [_as_shown(line) for line in raw]
        return [line for line in shown if line.strip()][-(self._lines.maxlen or 1) :]


def _as_shown(line: str) -> str:
    """One output line as a terminal leaves it: after a carriage return only the newest text counts."""
    text = strip_terminal_escapes(line)
    parts = [part for part in text.split("\r") if part.strip()]
    return visible(parts[-1] if parts else "")[: OutputTail.MAX_LINE]


def diff_style(line: str) -> str | None:
    """Style name for one unified-diff line (a rich style and a key of the ANSI table)."""
    if line.startswith(("+++", "---")):
        return "bold"
    if line.startswith("+"):
        return "green"
    if line.startswith("-"):
        return "red"
    if line.startswith("@@"):
        return "cyan"
    return None


def diff_lines(diff: str, limit: int = MAX_DIFF_LINES) -> list[str]:
    """The diff's lines, cut to `limit` with a note saying how many were left out."""
    lines = [visible(line.removesuffix("\r")) for line in diff.split("\n")]  # CRLF files read as LF
    if lines and not lines[-1]:
        lines.pop()
    if len(lines) <= limit:
        return lines
    return lines[:limit] + [f"… {len(lines) - limit} more diff lines"]


def ansi_diff(diff: str, color: bool, limit: int = MAX_DIFF_LINES) -> str:
    """The diff as terminal text, colored with ANSI escapes when `color` is set."""
    out = []
    for line in diff_lines(diff, limit):
        style = diff_style(line) if color else None
        out.append(f"{_ANSI[style]}{line}{_RESET}" if style else line)
    return "\n".join(out)
