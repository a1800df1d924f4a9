"""Text that can always be written as UTF-8.

Undecodable bytes from argv, stdin, file names or command output reach Python as lone surrogates
(surrogateescape). Neither JSON nor an HTTP body can carry them, so every place where text leaves the
process (session files, provider requests, tool results) replaces them with U+FFFD.
"""

from __future__ import annotations

import re
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
