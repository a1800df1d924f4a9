"""`kit sessions`: list saved sessions of this directory (or all), newest first; tidy empty files."""

from __future__ import annotations

import sys
import time
from typing import Any

import orjson


def _age(modified: float) -> str:
    seconds = max(0, int(time.time() - modified))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def list_sessions_command(*, all_dirs: bool, json_output: bool) -> int:
    from kit_py.session import catalog
    from kit_py.session.cwd import logical_cwd

    cwd = None if all_dirs else logical_cwd()
    infos = catalog.list_sessions(catalog.kit_home(), cwd)
    if json_output:
        for info in infos:
            row: dict[str, Any] = {
                "id": info.session_id,
                "path": str(info.path),
                "cwd": info.cwd,
                "created": info.created,
                "modified": info.modified,
                "name": info.name,
                "messages": info.message_count,
                "preview": info.preview,
            }
            sys.stdout.buffer.write(orjson.dumps(row) + b"\n")
        return 0
    if not infos:
        where = "anywhere" if all_dirs else "for this directory"
        print(f"no sessions {where} (run kit to start one)", file=sys.stderr)
        return 0
    for info in infos:
        title = info.name or info.preview or "(no messages)"
        place = f"  {info.cwd}" if all_dirs else ""
        print(
            f"{info.session_id[:12]}  {_age(info.modified):>8}  {info.message_count:>4} msgs  {title}{place}"
        )
    return 0


def cleanup_command() -> int:
    """Remove empty session files (Go kit leaves them) that are old and not open anywhere."""
    from kit_py.session import catalog

    removed = catalog.cleanup_empty(catalog.kit_home())
    for path in removed:
        print(f"removed {path}")
    print(f"{len(removed)} empty session file(s) removed", file=sys.stderr)
    return 0
