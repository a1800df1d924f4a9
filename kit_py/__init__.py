"""kit_py: a terminal chat client whose conversations are append-only JSONL session trees.

The Python API (`Agent`, `Session`, `Message`, `tool`) is imported on first use, so `kit --version`
does not pay for it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from kit_py.api import (
        Agent,
        ApprovalAnswer,
        Event,
        Message,
        RunResult,
        ScriptedModel,
        Session,
        preload,
    )
    from kit_py.tools.decorator import tool

_LAZY = {
    "Agent": "kit_py.api",
    "Session": "kit_py.api",
    "Message": "kit_py.api",
    "RunResult": "kit_py.api",
    "Event": "kit_py.api",
    "ApprovalAnswer": "kit_py.api",
    "ScriptedModel": "kit_py.api",
    "preload": "kit_py.api",
    "tool": "kit_py.tools.decorator",
}

__all__ = [
    "Agent",
    "ApprovalAnswer",
    "Event",
    "Message",
    "RunResult",
    "ScriptedModel",
    "Session",
    "__version__",
    "preload",
    "tool",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'kit_py' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
