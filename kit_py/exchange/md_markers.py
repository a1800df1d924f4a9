"""The invisible markers that let kit read its own Markdown exports back.

A Markdown export is meant for people, but every message, part and event in it is preceded by an HTML
comment `<!-- kit:KIND {json} -->` (hidden when rendered) that says what follows and carries the
fields that are not shown. Text runs between `<!-- kit:text -->` and `<!-- kit:end -->`; reasoning,
tool input and output, summaries and diffs sit in fenced blocks longer than any backtick run inside
them. A text line that itself starts like a marker is escaped with one more leading backslash.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from kit_py.text import valid_utf8

MARKER = re.compile(r"^<!-- kit:([a-z_]+)(?: (\{.*\}))? -->$")
TEXT, END = "text", "end"
_LOOKS_LIKE_MARKER = re.compile(r"^\\*<!-- kit:")
_ESCAPED_MARKER = re.compile(r"^\\+<!-- kit:")
_BACKTICKS = re.compile(r"`+")


def marker(kind: str, fields: dict[str, Any] | None = None) -> str:
    """`<!-- kit:KIND {json} -->` on one line; `>` is escaped so the JSON can never end the comment."""
    if not fields:
        return f"<!-- kit:{kind} -->"
    try:
        body = orjson.dumps(fields)
    except TypeError:
        body = orjson.dumps(valid_utf8(fields))
    return f"<!-- kit:{kind} {body.decode('utf-8').replace('>', chr(92) + 'u003e')} -->"


def escape_text(text: str) -> str:
    """Message text with every line that starts like a marker given one more leading backslash."""
    return "\n".join("\\" + line if _LOOKS_LIKE_MARKER.match(line) else line for line in text.split("\n"))


def unescape_line(line: str) -> str:
    return line[1:] if _ESCAPED_MARKER.match(line) else line


def fenced(content: str, info: str = "") -> str:
    """`content` in a backtick fence longer than any backtick run in it, so it comes back exactly."""
    longest = max((len(run) for run in _BACKTICKS.findall(content)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{content}\n{fence}"
