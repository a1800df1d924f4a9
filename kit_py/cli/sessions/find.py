"""`kit sessions search` (ranked full-text search) and `kit sessions reindex` (drop and rebuild)."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kit_py.cli.sessions.browse import session_row
from kit_py.cli.sessions.output import age, emit_json, progress_bar

if TYPE_CHECKING:
    from kit_py.catalog import Snippet


def _snippet_json(snippet: Snippet) -> dict[str, Any]:
    return {
        "entry_id": snippet.entry_id,
        "role": snippet.role,
        "time": snippet.time,
        "text": snippet.text,
        "highlights": [list(span) for span in snippet.highlights],
    }


def search_command(text: str, *, all_dirs: bool, json_output: bool, root: Path) -> int:
    from kit_py.catalog import search
    from kit_py.session.cwd import logical_cwd

    with progress_bar() as progress:
        hits = search(text, root=root, cwd=None if all_dirs else logical_cwd(), progress=progress)
    if json_output:
        emit_json(
            {
                "query": text,
                "results": [
                    {
                        **session_row(hit.session),
                        "score": round(hit.score, 4),
                        "hits": hit.hits,
                        "snippets": [_snippet_json(s) for s in hit.snippets],
                    }
                    for hit in hits
                ],
            }
        )
        return 0
    if not hits:
        where = "" if all_dirs else " in this directory's sessions (--all searches every directory)"
        print(f"no messages match {text!r}{where}", file=sys.stderr)
        return 0
    from rich.console import Console
    from rich.text import Text

    console = Console(highlight=False, soft_wrap=True)
    now = time.time()
    for hit in hits:
        session = hit.session
        title = session.name or session.preview or "(no messages)"
        place = f"  ({session.cwd})" if all_dirs else ""
        matches = f"{hit.hits} match{'es' if hit.hits != 1 else ''}"
        console.print(
            Text(f"{session.session_id[:12]}  {age(session.modified, now)}  {matches}  ", style="bold")
            + Text(title[:60] + place)
        )
        for snippet in hit.snippets:
            line = Text(f"    {snippet.role}: ")
            body = Text(snippet.text)
            for start, end in snippet.highlights:
                body.stylize("bold reverse", start, end)
            console.print(line + body)
    return 0


def reindex_command(*, json_output: bool, root: Path) -> int:
    """Drop the index and build it again from every session file."""
    from kit_py.catalog.index import drop_index, open_index

    started = time.perf_counter()
    drop_index(root)
    index = open_index(root)
    try:
        with progress_bar() as progress:
            stats = index.refresh(None, progress)
    finally:
        index.close()
    seconds = time.perf_counter() - started
    where = "in memory (the kit home is not writable)" if index.in_memory else str(index.path)
    if json_output:
        emit_json(
            {
                "index": None if index.in_memory else str(index.path),
                "files": stats.files_read,
                "bytes": stats.bytes_read,
                "seconds": round(seconds, 3),
            }
        )
        return 0
    megabytes = stats.bytes_read / 1e6
    print(f"indexed {stats.files_read} session files ({megabytes:.1f} MB) in {seconds:.1f} s: {where}")
    return 0
