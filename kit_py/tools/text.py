"""Text helpers shared by tools: truncation notes, binary sniffing, unified diffs."""

from __future__ import annotations

import difflib

SNIFF_BYTES = 8192


def looks_binary(head: bytes) -> bool:
    """Heuristic used by git and grep: a NUL byte near the start means binary."""
    return b"\0" in head[:SNIFF_BYTES]


def unified_diff(old: str | None, new: str, label: str) -> str:
    """Unified diff text between two file contents; `old=None` means the file is new."""
    old_lines = [] if old is None else old.splitlines(keepends=True)
    new_lines = new.splitlines(keepends=True)
    diff = difflib.unified_diff(
        old_lines,
        new_lines,
        fromfile="/dev/null" if old is None else f"a/{label}",
        tofile=f"b/{label}",
    )
    out = []
    for line in diff:
        out.append(line)
        if not line.endswith("\n"):
            out.append("\n\\ No newline at end of file\n")
    return "".join(out)


def tail_lines(text: str, max_lines: int, max_bytes: int) -> tuple[str, bool]:
    """Last lines of `text` within both limits; the bool says whether anything was cut."""
    lines = text.split("\n")
    kept: list[str] = []
    size = 0
    for line in reversed(lines):
        cost = len(line.encode()) + 1
        if len(kept) >= max_lines or size + cost > max_bytes:
            if not kept:  # one enormous line: keep its end
                kept.append(line.encode()[-max_bytes:].decode(errors="ignore"))
            return "\n".join(reversed(kept)), True
        kept.append(line)
        size += cost
    return text, False
