"""Where kit keeps things: the kit home (`$KIT_HOME`, else `~/.kit`) and its per-cwd session folders.

Go kit names a cwd's folder the same (lossy) way, so both tools find each other's sessions.
"""

from __future__ import annotations

import os
from pathlib import Path


def kit_home() -> Path:
    """`$KIT_HOME`, else `~/.kit`."""
    env = os.environ.get("KIT_HOME")
    return Path(env).expanduser() if env else Path.home() / ".kit"


def encode_cwd(cwd: str) -> str:
    """Go kit's folder name for a cwd (lossy): `/home/u/proj` -> `home--u--proj`."""
    s = cwd.replace("\\", "--").replace("/", "--")
    if s.startswith("--"):
        s = s[2:]
    for ch in ':<>"|?*':
        s = s.replace(ch, "")
    return s


def sessions_root(root: Path | None = None) -> Path:
    """`<root>/sessions`, where `root` is the kit home (default `kit_home()`)."""
    return (root if root is not None else kit_home()) / "sessions"


def sessions_dir_for(cwd: str, root: Path | None = None) -> Path:
    return sessions_root(root) / encode_cwd(cwd)


def trash_root(root: Path | None = None) -> Path:
    """`<root>/trash`: removed sessions wait here (same folder layout) until restored or pruned."""
    return (root if root is not None else kit_home()) / "trash"


def audit_path(root: Path | None = None) -> Path:
    return (root if root is not None else kit_home()) / "audit.jsonl"


def index_path(root: Path | None = None) -> Path:
    """The catalog index (search, totals): a cache beside the sessions, never the source of truth."""
    return (root if root is not None else kit_home()) / "index" / "catalog.sqlite3"
