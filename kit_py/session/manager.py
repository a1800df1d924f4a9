"""SessionManager: the one object that owns a session's tree and where its entries go.

Branching is only a leaf move; every change is an appended entry, so the file (or any other
`EntryLog`: a store's table, a list) is a log of the whole tree and nothing already written is
ever rewritten or read back.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from kit_py.errors import ForeignSessionError
from kit_py.session import chain
from kit_py.session import format as fmt
from kit_py.session.context import Context, build_context, current_model
from kit_py.session.log import EntryLog
from kit_py.session.store import LoadResult, SessionFile, SharedLog, gc_paused, load_lines
from kit_py.session.tree import Tree

Entry = dict[str, Any]


class SessionManager:
    """One session: its header, tree, current leaf and (unless in-memory) the log its appends go to.

    `log` is where appended entries are persisted: a `SessionFile` (the JSONL file), a store's log,
    or None for a session that lives only in memory.

    `warnings` lists what the load skipped or repaired (line-numbered) and, after it, every notice an
    append produced (a torn last line moved to a sidecar, another process writing to the file);
    `take_notices()` returns the notices not taken yet, so a face says each once.
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
        self._notices: list[str] = []
        self._warned_branch = False

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
        log = None
        if sessions_dir is not None:
            log = SessionFile(Path(sessions_dir) / fmt.session_file_name(), known_size=0)
        return cls(header, Tree(), log)

    @classmethod
    def open(cls, path: Path) -> SessionManager:
        """Load a file tolerantly: unreadable lines are skipped and described in `.warnings`.

        Raises ForeignSessionError for a session of another format (a pi file): kit never appends to
        one. A file with entries but no header opens (read-only in effect: appending raises).
        """
        path = Path(path)
        with gc_paused():
            loaded = load_lines(path)
            foreign = fmt.foreign_format(loaded.header, loaded.entries)
            if foreign is not None:
                raise ForeignSessionError(
                    f"{path} is a {foreign} session, not a kit session; kit never writes to it: run "
                    f"`kit import {path}` to bring it in as a new kit session"
                )
            tree, tree_warnings = Tree.load(loaded.entries, loaded.linenos)
        header = loaded.header
        warnings = loaded.warnings
        if header is None:  # a fresh header keeps the file valid if an empty file gets its first entry
            header = fmt.header("")
        elif header.get("version") != fmt.VERSION:
            warnings.append(
                f"session format version {header.get('version')!r}: kit reads and writes version "
                f"{fmt.VERSION}; reading it as version {fmt.VERSION}"
            )
        log = SessionFile(
            path,
            known_size=loaded.end,
            known_lines=loaded.lines,
            open_line=loaded.open_line,
            has_header=True if loaded.header is not None else (False if loaded.entries else None),
        )
        return cls(header, tree, log, warnings + tree_warnings)

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
    def state_hash(self) -> str | None:
        """The integrity chain's hash of the last entry written (kit_py/session/chain.py); None when
        that entry carries none (written by Go kit) or the session is empty."""
        return chain.state_hash(self._tree.entries)

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
    def system_prompt_entry(self) -> Entry | None:
        """Go kit's `system_prompt` entry when the file has one (a `/share` export), else None."""
        return self._tree.system_prompt_entry

    # --- notices ----------------------------------------------------------------------------------

    def take_notices(self) -> list[str]:
        """Notices from appends not taken yet (each is also in `warnings`): say them once."""
        notices, self._notices = self._notices, []
        return notices

    def _notice(self, text: str) -> None:
        self.warnings.append(text)
        self._notices.append(text)

    def _collect_notices(self) -> None:
        notices = getattr(self._log, "notices", None)
        if isinstance(notices, list) and notices:
            for text in notices:
                self._notice(str(text))
            notices.clear()

    def check_writable(self) -> None:
        """Prove, without writing an entry, that the next append can be persisted; else raise
        `SessionWriteError` (the path, why, and `--no-session`). In-memory sessions always can."""
        check = getattr(self._log, "check_writable", None)
        if callable(check):
            check()

    @property
    def in_memory(self) -> bool:
        """True when the session has no file (it may still be persisted by a non-file log)."""
        return self.path is None

    # --- writing ----------------------------------------------------------------------------------

    def _prepare(self, entry: Entry, parent_id: str | None) -> Entry:
        """The entry as it will be written (id, parent, timestamp filled in), validated so Go kit can
        read it: ValueError (TypeError for a non-string `extension_data.data`) says what is wrong."""
        etype = entry.get("type")
        if etype not in fmt.ENTRY_TYPES:
            raise ValueError(f"cannot write entry type {etype!r}; allowed: {sorted(fmt.ENTRY_TYPES)}")
        eid = entry.get("id")
        if eid is None:
            eid = fmt.new_entry_id()
        elif eid in self._tree.by_id:
            raise ValueError(f"entry id {eid} already exists in this session")
        out: Entry = {"type": etype, "id": eid}
        if parent_id is not None:
            out["parent_id"] = parent_id
        timestamp = entry.get("timestamp")
        out["timestamp"] = fmt.now_timestamp() if timestamp is None else fmt.check_timestamp(timestamp)
        for key, value in entry.items():
            if key not in out and key != "parent_id" and value is not None:
                out[key] = value
        fmt.validate_entry(out)
        return out

    def _prepare_chain(self, entries: list[Entry], parent: str | None) -> tuple[list[Entry], list[bytes]]:
        prepared: list[Entry] = []
        lines: list[bytes] = []
        seen: set[str] = set()
        parent_entry = self._tree.by_id.get(parent) if parent is not None else None
        for entry in entries:
            out, line = chain.sealed_line(self._prepare(entry, parent), parent_entry)
            if out["id"] in seen:
                raise ValueError(f"entry id {out['id']} appears twice in one append")
            seen.add(out["id"])
            prepared.append(out)
            lines.append(line + b"\n")
            parent, parent_entry = out["id"], out
        return prepared, lines

    def append(self, entry: Entry) -> Entry:
        """Append one entry as a child of the leaf; returns the stored dict (now the leaf)."""
        return self.append_many([entry])[0]

    def append_many(self, entries: list[Entry]) -> list[Entry]:
        """Append a chain (e.g. an assistant message and its tool message) in ONE write.

        Entries are validated first (ValueError: nothing is written). When another process appended
        to the file since this one read it, its entries are read under the lock and join the tree;
        if they extend this branch, a chain that starts a turn continues after them (an assistant or
        tool message stays with the message it answers); otherwise this chain starts a new branch,
        which is said once in `warnings` / `take_notices()`. A failed write (disk full, read-only
        storage) raises SessionWriteError and leaves the file and the tree as they were.
        """
        return self._append_chain(entries, follow=True)

    def _append_chain(self, entries: list[Entry], *, follow: bool) -> list[Entry]:
        parent = self._tree.leaf_id
        prepared, lines = self._prepare_chain(entries, parent)
        if not prepared:
            return prepared

        def rebase(others: LoadResult) -> tuple[list[Entry], bytes]:
            nonlocal prepared, lines
            added, warnings = self._tree.extend(others.entries, others.linenos)
            for text in others.warnings + warnings:
                self._notice(text)
            if not added:
                return prepared, b"".join(lines)
            target = self._continuation(parent, added) if follow and _starts_turn(prepared[0]) else parent
            if target != parent:
                prepared, lines = self._prepare_chain(prepared, target)  # ids and timestamps kept
            elif not self._warned_branch:
                self._warned_branch = True
                self._notice("another kit process is writing to this session: this turn starts a new branch")
            return prepared, b"".join(lines)

        self._write(prepared, lines, rebase)
        for out in prepared:
            self._tree.add(out)
        return prepared

    def _continuation(self, parent: str | None, added: list[Entry]) -> str | None:
        """Where another writer's new entries leave the branch that ends at `parent`: the last of them
        that descends from it (a `kit:leaf` marker stands for the node it points at), else `parent`."""
        tree = self._tree
        last: Entry | None = None
        branch = {parent} if parent is not None else None
        for entry in added:
            up = tree.parent_of(entry["id"])
            if branch is None or up in branch:
                if branch is not None:
                    branch.add(entry["id"])
                last = entry
        if last is None:
            return parent
        if fmt.is_leaf_marker(last):
            return tree.parent_of(last["id"]) or parent
        return str(last["id"])

    def _write(self, entries: list[Entry], lines: list[bytes], rebase: Any = None) -> None:
        if self._log is None or not entries:
            return
        try:
            if rebase is not None and isinstance(self._log, SharedLog):
                self._log.append(self._header, entries, b"".join(lines), rebase)
            else:
                self._log.append(self._header, entries, b"".join(lines))
        finally:
            self._collect_notices()

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
        marker = self._append_chain([fmt.extension_data(fmt.LEAF_EXT_TYPE, data)], follow=False)[0]
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
        otherwise move the new file's leaf on reopen). Entries of types kit_py does not write (Go kit's
        `system_prompt`, unknown types) are left out: Go kit refuses a file with an unknown type.
        """
        path = [e for e in self._tree.path(entry_id) if e.get("type") in fmt.ENTRY_TYPES]
        while len(path) > 1 and fmt.is_leaf_marker(path[-1]):
            path.pop()
        copied: list[Entry] = []
        lines: list[bytes] = []
        parent: Entry | None = None
        for entry in path:
            copy = dict(entry)
            if parent is None:
                copy.pop("parent_id", None)  # a repaired orphan becomes a clean root
            else:
                copy["parent_id"] = parent["id"]
            if chain.HASH_KEY in copy:  # resealed: the same hash unless a repair above changed the entry
                copy, line = chain.sealed_line(copy, parent)
            else:  # written by Go kit: copied as it is, unchained
                line = fmt.dumps(copy)
            copied.append(copy)
            lines.append(line + b"\n")
            parent = copy
        target._write(copied, lines)
        for copy in copied:
            target._tree.add(copy)


def _starts_turn(entry: Entry) -> bool:
    """Whether a chain may move after another writer's entries: not an answer (assistant or tool
    message, which must follow what it answers) and not a leaf move (its parent was chosen)."""
    if entry.get("type") == "message":
        return entry.get("role") not in ("assistant", "tool")
    return not fmt.is_leaf_marker(entry)
