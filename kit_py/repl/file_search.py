"""Finding a file by a few of its letters, for `@` completion and for the "did you mean" of a
mistyped `@path`."""

from __future__ import annotations

import os
import re
from pathlib import Path

SKIPPED_FOLDERS = {"node_modules", "__pycache__", "venv", "dist", "build", "target"}
MAX_FILES_SEARCHED = 20_000


def fuzzy_paths(typed: str, cwd: Path, limit: int = 50) -> list[str]:
    """Files under `cwd` whose relative path holds the typed letters in order (`mdl` finds
    `kit_py/repl/model.py`), best first: the name containing them as one piece, then shorter paths.
    Hidden and dependency folders are skipped, and at most MAX_FILES_SEARCHED files are looked at."""
    needle = typed.lower()
    pattern = re.compile(".*?".join(map(re.escape, needle)))
    found: list[tuple[int, int, str]] = []
    seen = 0
    for root, folders, files in os.walk(cwd):
        folders[:] = sorted(f for f in folders if not f.startswith(".") and f not in SKIPPED_FOLDERS)
        for name in sorted(files):
            seen += 1
            if seen > MAX_FILES_SEARCHED:
                break
            relative = os.path.relpath(os.path.join(root, name), cwd)
            if pattern.search(relative.lower()):
                rank = 0 if needle in name.lower() else 1 if needle in relative.lower() else 2
                found.append((rank, len(relative), relative))
        if seen > MAX_FILES_SEARCHED:
            break
    return [path for _, _, path in sorted(found)[:limit]]
