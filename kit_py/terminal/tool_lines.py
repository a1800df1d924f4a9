"""How tool activity reads in a terminal: a one-line header per call, a result summary, diff styling.

Pure text helpers shared by print mode, the safe-mode prompt and the REPL; no terminal I/O here.
"""

from __future__ import annotations

import json
from typing import Any

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
    line = visible(text.replace("\n", " ⏎ "))
    return line if len(line) <= limit else line[: limit - 1] + "…"


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


def result_summary(content: str, data: dict[str, Any]) -> str:
    """First line of the output, how many more lines there are, exit code and duration."""
    lines = [line for line in content.splitlines() if line.strip()]
    first = _clip(" ".join(lines[0].split()), 100) if lines else "(no output)"
    more = f" (+{len(lines) - 1} more line{'s' if len(lines) > 2 else ''})" if len(lines) > 1 else ""
    facts = []
    if data.get("exit_code") is not None:
        facts.append(f"exit {data['exit_code']}")
    if data.get("duration_ms") is not None:
        facts.append(f"{data['duration_ms']} ms")
    tail = f"  [{' · '.join(facts)}]" if facts else ""
    return f"{first}{more}{tail}"


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
