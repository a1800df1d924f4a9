"""The default system prompt of the `kit` command: where the model is working, with which tools, and
the project's own instructions (AGENTS.md / CLAUDE.md in the working directory and its parents), as
pi and Go kit give theirs. `--system-prompt` (or `system_prompt:` in a config file) replaces all of it;
the Python API sends only what its caller gives.

The prompt is recorded in the session with its first turn, so a resumed session keeps the one it was
started with (its date included) instead of a new one.
"""

from __future__ import annotations

import datetime
import platform
from dataclasses import dataclass, field
from pathlib import Path

INSTRUCTION_FILES = ("AGENTS.md", "CLAUDE.md")
MAX_INSTRUCTION_BYTES = 64 * 1024
"""A larger file is cut (and says so): instructions are sent with every request."""


@dataclass
class SystemPrompt:
    text: str
    sources: list[str] = field(default_factory=list)
    """The instruction files that went into it, outermost folder first."""


def instruction_files(cwd: Path) -> list[Path]:
    """AGENTS.md and CLAUDE.md found in `cwd` and each folder above it, outermost first (so the
    nearest, most specific instructions come last and read as the final word)."""
    found: list[Path] = []
    for folder in [cwd, *cwd.parents]:
        found[:0] = [folder / name for name in INSTRUCTION_FILES if (folder / name).is_file()]
    return found


def _read_instructions(path: Path) -> str | None:
    try:
        data = path.read_bytes()
    except OSError:
        return None  # unreadable: left out, as if it were not there
    text = data[:MAX_INSTRUCTION_BYTES].decode("utf-8", errors="replace").strip()
    if len(data) > MAX_INSTRUCTION_BYTES:
        text += f"\n[cut at {MAX_INSTRUCTION_BYTES // 1024} KiB of {len(data) // 1024} KiB]"
    return text


def default_system_prompt(
    cwd: Path, tools: list[tuple[str, str]], today: datetime.date | None = None
) -> SystemPrompt:
    """The prompt for `cwd` with `tools` as (name, description) pairs."""
    today = today or datetime.date.today()
    lines = [
        "You are kit, an assistant working with the user in their terminal. You help with software and "
        "everyday computing tasks: reading and changing files, running commands, explaining and writing "
        "code.",
        "",
        f"Working directory: {cwd}",
        f"Operating system: {platform.system()} {platform.release()}".rstrip(),
        f"Today's date: {today.isoformat()}",
    ]
    if tools:
        lines += ["", "Tools you can call:"]
        lines += [f"- {name}: {description.split('. ')[0].rstrip('.')}" for name, description in tools]
        lines += [
            "",
            "Read a file before changing it and prefer small edits to rewriting whole files. Say what you "
            "changed. Ask before anything destructive or irreversible.",
        ]
    else:
        lines += ["", "No tools are available in this session: answer from the conversation alone."]
    lines += ["", "Answer concisely in Markdown; put code in fenced blocks with a language."]
    sources = []
    for path in instruction_files(cwd):
        text = _read_instructions(path)
        if text:
            lines += ["", f"Project instructions from {path}:", "", text]
            sources.append(str(path))
    return SystemPrompt("\n".join(lines), sources)
