"""Text that can always be written as UTF-8.

Undecodable bytes from argv, stdin, file names or command output reach Python as lone surrogates
(surrogateescape). Neither JSON nor an HTTP body can carry them, so every place where text leaves the
process (session files, provider requests, tool results) replaces them with U+FFFD.
"""

from __future__ import annotations

import re
import signal
from typing import Any

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def valid_utf8(value: Any) -> Any:
    """`value` with each lone surrogate in its strings (dict keys too) replaced by U+FFFD, recursively."""
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value) if _LONE_SURROGATE.search(value) else value
    if isinstance(value, dict):
        return {valid_utf8(k): valid_utf8(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [valid_utf8(v) for v in value]
    return value


_TERMINAL_ESCAPE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")


def strip_terminal_escapes(text: str) -> str:
    """`text` without colour and cursor escapes (CSI, OSC, two-byte ESC sequences): what a command
    printed for a terminal, as the words a model should read."""
    return _TERMINAL_ESCAPE.sub("", text) if "\x1b" in text else text


def shorten(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, at a word boundary when one is near, ending in "…"."""
    if len(text) <= limit:
        return text
    cut = text[: max(0, limit - 1)]
    space = cut.rfind(" ")
    if space >= limit // 2:  # a word boundary in the second half: no word is cut in two
        cut = cut[:space]
    return cut.rstrip() + "…"


def exit_status(code: int) -> str:
    """`exit 2`, or `killed by SIGTERM` for a process a signal ended (Python reports that as -15)."""
    return f"exit {code}" if code >= 0 else f"killed by {signal_name(-code)}"


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
