"""SessionManager: the one object that owns a session's tree and where its entries go.

Branching is only a leaf move; every change is an appended entry, so the file (or any other
`EntryLog`: a store's table, a list) is a log of the whole tree and nothing already written is
ever rewritten or read back.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from kit_py.session import format as fmt
from kit_py.session.context import Context, build_context, current_model
from kit_py.session.log import EntryLog
from kit_py.session.store import SessionFile, gc_paused, load_lines
from kit_py.session.tree import Tree

Entry = dict[str, Any]


class SessionManager:
    """One session: its header, tree, current leaf and (unless in-memory) the log its appends go to.

    `log` is where appended entries are persisted: a `SessionFile` (the JSONL file), a store's log,
    or None for a session that lives only in memory.
    """

    def __init__(
        self, header: Entry, tree: Tree, log: EntryLog | None, warnings: list[str] | None = None
    ) -> None:
        if isinstance(log, (str, os.PathLike)):
            raise TypeError("SessionManager takes an EntryLog, not a path: use SessionFile(path) or open()")
        self._header = header
        self._tree = tree
        self._log = log
        self.warnings: list[str] = warnings or []

    # --- construction -----------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        sessions_dir: Path | None,
        cwd: str,
        *,
        parent_session: str | None = None,
        parent_session_id: str | None = None,
    ) -> SessionManager:
        """A new session; its file appears with the first append. `sessions_dir=None`: memory only."""
        header = fmt.header(cwd, parent_session=parent_session, parent_session_id=parent_session_id)
        log = SessionFile(Path(sessions_dir) / fmt.session_file_name()) if sessions_dir is not None else None
        return cls(header, Tree(), log)

    @classmethod
    def open(cls, path: Path) -> SessionManager:
        """Load a file tolerantly: unreadable lines are skipped and described in `.warnings`."""
        path = Path(path)
        with gc_paused():
            loaded = load_lines(path)
            tree, tree_warnings = Tree.load(loaded.entries, loaded.linenos)
        header = loaded.header
        if header is None:  # a fresh header keeps the file valid if an empty file gets its first entry
            header = fmt.header("")
        return cls(header, tree, SessionFile(path), loaded.warnings + tree_warnings)

    @classmethod
    def from_entries(
        cls, header: Entry, entries: list[Entry], log: EntryLog | None, leaf_id: str | None = None
    ) -> SessionManager:
        """A session over entries already loaded (in log order) whose later appends go to `log`.

        The tree is built tolerantly, as for a file (problems land in `.warnings`, numbered by
        position from 1). The leaf is `leaf_id` when it names an entry, else the one a reader of the
        log sees (the last entry; a trailing `kit:leaf` marker points at its parent).
        """
        with gc_paused():
            tree, warnings = Tree.load(entries, list(range(1, len(entries) + 1)))
        if leaf_id is not None and leaf_id in tree.by_id:
            tree.leaf_id = leaf_id
        return cls(header, tree, log, warnings)

    # --- properties -------------------------------------------------------------------------------

    @property
    def path(self) -> Path | None:
        """The JSONL file the session is appended to, or None (in memory, or a non-file log)."""
        return self._log.path if self._log is not None else None

    @property
    def log(self) -> EntryLog | None:
        """Where appends are persisted (None: nowhere, the session lives in memory)."""
        return self._log

    @property
    def session_id(self) -> str:
        return str(self._header.get("id", ""))

    @property
    def header(self) -> Entry:
        return self._header

    @property
    def cwd(self) -> str:
        return str(self._header.get("cwd", ""))

    @property
    def leaf_id(self) -> str | None:
        return self._tree.leaf_id

    @property
    def name(self) -> str | None:
        return self._tree.name

    @property
    def entries(self) -> list[Entry]:
        """All tree entries in file order (read-only view; do not mutate)."""
        return self._tree.entries

    @property
    def labels(self) -> dict[str, str]:
        return dict(self._tree.labels)

    @property
    def tree(self) -> Tree:
        return self._tree

    @property
    def in_memory(self) -> bool:
        """True when the session has no file (it may still be persisted by a non-file log)."""
        return self.path is None

    # --- writing ----------------------------------------------------------------------------------

    def _prepare(self, entry: Entry, parent_id: str | None) -> Entry:
        etype = entry.get("type")
        if etype not in fmt.ENTRY_TYPES:
            raise ValueError(f"cannot write entry type {etype!r}; allowed: {sorted(fmt.ENTRY_TYPES)}")
        eid = entry.get("id") or fmt.new_entry_id()
        if eid in self._tree.by_id:
            raise ValueError(f"entry id {eid} already exists in this session")
        out: Entry = {"type": etype, "id": eid}
        if parent_id is not None:
            out["parent_id"] = parent_id
        out["timestamp"] = entry.get("timestamp") or fmt.now_timestamp()
        if etype == "extension_data" and not isinstance(entry.get("data", ""), str):
            raise TypeError("extension_data.data must be a str (JSON text)")
        for key, value in entry.items():
            if key not in out and key != "parent_id" and value is not None:
                out[key] = value
        return out

    def append(self, entry: Entry) -> Entry:
        """Append one entry as a child of the leaf; returns the stored dict (now the leaf)."""
        return self.append_many([entry])[0]

    def append_many(self, entries: list[Entry]) -> list[Entry]:
        """Append a chain (e.g. an assistant message and its tool message) in ONE write."""
        prepared: list[Entry] = []
        lines: list[bytes] = []
        parent = self._tree.leaf_id
        seen: set[str] = set()
        for entry in entries:
            out, line = fmt.encode_entry(self._prepare(entry, parent))
            if out["id"] in seen:
                raise ValueError(f"entry id {out['id']} appears twice in one append")
            seen.add(out["id"])
            prepared.append(out)
            lines.append(line + b"\n")
            parent = out["id"]
        self._write(prepared, lines)
        for out in prepared:
            self._tree.add(out)
        return prepared

    def _write(self, entries: list[Entry], lines: list[bytes]) -> None:
        if self._log is not None and entries:
            self._log.append(self._header, entries, b"".join(lines))

    def sync(self) -> None:
        """Make the appends durable (fsync the file); call once per completed turn."""
        if self._log is not None:
            self._log.sync()

    def close(self) -> None:
        if self._log is not None:
            self._log.close()

    def __enter__(self) -> SessionManager:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- tree -------------------------------------------------------------------------------------

    def get(self, entry_id: str) -> Entry | None:
        return self._tree.by_id.get(entry_id)

    def children(self, entry_id: str) -> list[Entry]:
        return [self._tree.by_id[c] for c in self._tree.children(entry_id)]

    def path_entries(self, leaf: str | None = None) -> list[Entry]:
        """Root -> leaf entries (`path` is the file location, hence the longer name)."""
        return self._tree.path(leaf)

    def branch(self, entry_id: str) -> None:
        """Move the leaf in memory; the next append makes the branch real."""
        self._tree.branch(entry_id)

    def move_leaf(self, entry_id: str, data: str = "") -> Entry:
        """Move the leaf and persist it (a `kit:leaf` marker whose parent is `entry_id`)."""
        self._tree.branch(entry_id)
        marker = self.append(fmt.extension_data(fmt.LEAF_EXT_TYPE, data))
        self._tree.leaf_id = entry_id
        return marker

    def set_label(self, entry_id: str, text: str) -> Entry:
        """Label an entry ("" clears). Appended on the current path like any entry."""
        if entry_id not in self._tree.by_id:
            raise KeyError(f"no entry with id {entry_id!r}")
        return self.append(fmt.label(entry_id, text))

    def set_name(self, text: str) -> Entry:
        return self.append(fmt.session_info(text))

    # --- context ----------------------------------------------------------------------------------

    def build_context(self, leaf: str | None = None) -> Context:
        return build_context(self._tree, leaf)

    def current_model(self) -> tuple[str, str, str | None] | None:
        """(provider, model_id, thinking_level) from the last model_change on the path."""
        return current_model(self._tree)

    def fork(self, entry_id: str, sessions_dir: Path | None) -> SessionManager:
        """A new session file (in memory when `sessions_dir` is None) holding the path root..entry_id
        (ids kept), linked to this one by `parent_session` / `parent_session_id`."""
        child = SessionManager.create(
            sessions_dir,
            self.cwd,
            parent_session=str(self.path) if self.path is not None else None,
            parent_session_id=self.session_id or None,
        )
        self.copy_path_into(entry_id, child)
        return child

    def copy_path_into(self, entry_id: str, target: SessionManager) -> None:
        """Append the path root..entry_id (ids and timestamps kept) to the empty session `target`.

        Forking at a `kit:leaf` marker forks at the node it points to (a trailing marker would
        otherwise move the new file's leaf on reopen).
        """
        path = self._tree.path(entry_id)
        while len(path) > 1 and fmt.is_leaf_marker(path[-1]):
            path.pop()
        copied: list[Entry] = []
        parent: str | None = None
        for entry in path:
            copy = dict(entry)
            if parent is None:
                copy.pop("parent_id", None)  # a repaired orphan becomes a clean root
            else:
                copy["parent_id"] = parent
            copied.append(copy)
            parent = copy["id"]
        target._write(copied, [fmt.dumps(copy) + b"\n" for copy in copied])
        for copy in copied:
            target._tree.add(copy)
