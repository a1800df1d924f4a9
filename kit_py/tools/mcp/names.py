"""Tool names the model sees for MCP tools: `server__tool`.

Providers accept only letters, digits, `_` and `-` in a tool name, at most 64 of them (OpenAI and
Anthropic alike), while MCP servers may name tools `files.read` or `search/issues`. Every other
character becomes `_`; a name that would be too long or already taken gets a short stable suffix, so
the same server always yields the same names (a resumed session's tool calls keep matching).
"""

from __future__ import annotations

import hashlib
import re

SEPARATOR = "__"
MAX_LENGTH = 64
_NOT_ALLOWED = re.compile(r"[^A-Za-z0-9_-]")


def namespaced(server: str, tool: str, taken: set[str]) -> str:
    """The provider-safe name of `tool` of `server`, unique among `taken` (which it joins)."""
    name = f"{server}{SEPARATOR}{_NOT_ALLOWED.sub('_', tool) or 'tool'}"
    if len(name) > MAX_LENGTH or name in taken:
        digest = hashlib.sha256(f"{server}/{tool}".encode()).hexdigest()
        for size in range(6, len(digest) + 1):  # longer suffixes only if a short one collides
            candidate = f"{name[: MAX_LENGTH - size - 1]}_{digest[:size]}"
            if candidate not in taken:
                name = candidate
                break
    taken.add(name)
    return name
