"""Finding one session from what a user types: a path, an id prefix, a file name, or its name.

`kit -s REF`, every `kit sessions <command> ID` and `restore` resolve references here, so one rule
decides everywhere: a path wins, then a unique prefix of a session id / file-name id / file name,
then an exact (case-insensitive) session name.
"""

from __future__ import annotations

import os
from pathlib import Path

from kit_py.catalog.listing import SessionInfo, list_sessions, list_sessions_in, read_info, same_cwd
from kit_py.catalog.paths import sessions_root


class SessionNotFound(LookupError):
    """No session matches a path, id prefix or name."""


class AmbiguousSession(LookupError):
    """A reference matches several sessions; `candidates` lists them."""

    def __init__(self, ref: str, candidates: list[SessionInfo]) -> None:
        self.ref = ref
        self.candidates = candidates
        shown = ", ".join(f"{c.session_id} ({c.cwd})" for c in candidates[:5])
        more = f" and {len(candidates) - 5} more" if len(candidates) > 5 else ""
        super().__init__(
            f"session reference {ref!r} matches {len(candidates)} sessions: {shown}{more}; "
            "use a longer prefix"
        )


def file_id(file: str) -> str:
    """The 12-hex id in a session file name (`<time>_<id>.jsonl`)."""
    stem = os.path.basename(file).removesuffix(".jsonl")
    return stem.rsplit("_", 1)[-1]


def find_session(
    ref: str,
    root: Path | None = None,
    cwd: str | None = None,
    *,
    folders: list[Path] | None = None,
    by_name: bool = True,
) -> SessionInfo:
    """Resolve a path, a unique prefix of a session id / file-name id / file name, or a session name.

    Looks under `<root>/sessions` (or in `folders`, e.g. the trash). When a prefix matches several
    sessions and `cwd` is given, a single match from that cwd wins. Names are looked up (in the
    index) only when no id or file name matches, and only when `by_name`.
    """
    ref = ref.strip()
    if not ref:
        raise SessionNotFound("empty session reference")
    candidate = Path(ref).expanduser()
    if "/" in ref or os.sep in ref or ref.endswith(".jsonl"):
        if candidate.is_file():
            info = read_info(candidate)
            if info is None:
                raise SessionNotFound(f"{candidate} is not a session file (no session header)")
            return info
        if "/" in ref or os.sep in ref:
            raise SessionNotFound(f"no session file at {candidate}")
    needle = ref.lower().removesuffix(".jsonl")
    infos = (
        list_sessions(root, include_empty=True)
        if folders is None
        else list_sessions_in(folders, include_empty=True)
    )
    matches = [
        info
        for info in infos
        if info.session_id.lower().startswith(needle)
        or file_id(info.file).lower().startswith(needle)
        or os.path.basename(info.file).lower().startswith(needle)
    ]
    if not matches and by_name:
        matches = sessions_named(ref, root, folders)
    where = sessions_root(root) if folders is None else ", ".join(str(f) for f in folders) or "nowhere"
    if not matches:
        raise SessionNotFound(f"no session matches {ref!r} under {where}")
    if len(matches) > 1 and cwd is not None:
        local = [m for m in matches if same_cwd(m.cwd, cwd)]
        if len(local) == 1:
            return local[0]
    if len(matches) > 1:
        raise AmbiguousSession(ref, matches)
    return matches[0]


def sessions_named(
    name: str, root: Path | None = None, folders: list[Path] | None = None
) -> list[SessionInfo]:
    """Sessions whose name (the last `session_info`) is `name`, ignoring case; from the index."""
    from kit_py.catalog.index import Index, IndexedSession, with_index

    def read(index: Index) -> list[IndexedSession]:
        index.refresh(folders)
        return index.files(folders)

    wanted = name.casefold()
    named = [s.file for s in with_index(root, read) if s.name is not None and s.name.casefold() == wanted]
    return [info for info in map(read_info, named) if info is not None]
