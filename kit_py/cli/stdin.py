"""Turn command-line words and piped stdin into the user's prompt."""

from __future__ import annotations

import sys
from typing import TextIO

from kit_py.errors import UsageError


def read_piped_stdin(stream: TextIO | None = None) -> str | None:
    """Stdin's text when something is piped in; None for a terminal (never wait on a keyboard)."""
    stream = stream if stream is not None else sys.stdin
    if stream is None or stream.closed:
        return None
    try:
        if stream.isatty():
            return None
        return stream.read()
    except (OSError, ValueError):
        return None


def compose_prompt(words: list[str], stdin_text: str | None) -> str:
    """`kit "review this"` + piped text -> prompt followed by a delimited block; `kit -` -> stdin alone."""
    prompt = " ".join(words).strip()
    piped = stdin_text if stdin_text and stdin_text.strip() else None
    if prompt == "-":
        if piped is None:
            raise UsageError("'-' reads the prompt from stdin, but nothing was piped in")
        return piped.strip("\n")
    if piped is None:
        if not prompt:
            raise UsageError("empty prompt: give a prompt as an argument or pipe one on stdin")
        return prompt
    if not prompt:
        return piped.strip("\n")
    body = piped if piped.endswith("\n") else piped + "\n"
    return f"{prompt}\n\n<stdin>\n{body}</stdin>"
