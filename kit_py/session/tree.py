"""In-memory index of one session's entries: parents, children, leaf, labels, name.

Entries stay the dicts read from the file. Links are kept as file positions in a compact
array (walking 100k parents then stays in cache instead of chasing dicts), and broken links
found on load (missing parents, cycles) are repaired only here, never in the entries or file.
"""

from __future__ import annotations

from array import array
from typing import Any

from kit_py.session.format import ENTRY_TYPES, SYSTEM_PROMPT_TYPE, clean_parts, is_leaf_marker, parts_ok

Entry = dict[str, Any]
_METADATA_TYPES = frozenset({"label", "session_info"})
NO_PARENT = -1


class Tree:
    """Entries by id in file order, with the effective parent/children links and the current leaf."""

    def __init__(self) -> None:
        self.entries: list[Entry] = []  # tree nodes, file order
        self.by_id: dict[str, Entry] = {}
        self._pos: dict[str, int] = {}  # id -> index in `entries`
        self._parent = array("q")  # index of the effective parent, NO_PARENT for roots
        self._children: dict[str, list[str]] | None = None  # built on first use: open stays cheap
        self.labels: dict[str, str] = {}
        self.name: str | None = None
        self.leaf_id: str | None = None
        # Go kit's `system_prompt` entry (line 2 of its `/share` exports; the last one read). It stays in
        # `entries` as a parentless entry, as Go kit indexes it, but is never the leaf on open: nothing
        # is appended under it. Context building sends it when the path has no `system` message.
        self.system_prompt_entry: Entry | None = None

    # --- building ---------------------------------------------------------------------------------

    def add(self, entry: Entry) -> None:
        """Index a new entry whose parent (if any) is already indexed; it becomes the leaf."""
        pid = entry.get("parent_id")
        self._add_node(entry, self._pos[pid] if pid is not None else NO_PARENT)
        self.leaf_id = entry["id"]

    def _add_node(self, entry: Entry, parent: int) -> None:
        eid = entry["id"]
        self._parent.append(parent)
        self._pos[eid] = len(self.entries)
        self.by_id[eid] = entry
        self.entries.append(entry)
        if parent != NO_PARENT and self._children is not None:
            self._children.setdefault(self.entries[parent]["id"], []).append(eid)
        self._note_metadata(entry)

    def extend(self, entries: list[Entry], linenos: list[int]) -> tuple[list[Entry], list[str]]:
        """Index entries another writer appended to the file (read under the append lock), tolerantly
        as on load; the leaf does not move. Returns the entries indexed and what was skipped."""
        added: list[Entry] = []
        warnings: list[str] = []
        for entry, lineno in zip(entries, linenos, strict=True):
            etype = entry.get("type")
            eid = entry.get("id")
            if eid.__class__ is not str or not eid:
                warnings.append(f"line {lineno}: entry without an id ignored")
                continue
            if eid in self._pos:
                warnings.append(f"line {lineno}: duplicate id {eid} ignored")
                continue
            pid = entry.get("parent_id")
            if etype not in ENTRY_TYPES:
                if etype == SYSTEM_PROMPT_TYPE:
                    self.system_prompt_entry = entry
                    pid = None  # Go kit's type has no parent field
                else:
                    warnings.append(f"line {lineno}: unknown entry type {etype!r} kept but not interpreted")
            elif etype == "message" and not parts_ok(entry.get("parts")):
                entry = _cleaned(entry, lineno, warnings)
            parent = NO_PARENT
            if pid is not None:
                found = self._pos.get(pid) if pid.__class__ is str else None
                if found is None:
                    warnings.append(f"line {lineno}: parent {pid} not found; entry kept as a root")
                else:
                    parent = found
            self._add_node(entry, parent)
            added.append(entry)
        return added, warnings

    def _note_metadata(self, entry: Entry) -> None:
        t = entry.get("type")
        if t == "label":
            target, text = entry.get("target_id"), entry.get("label")
            if isinstance(target, str):
                if isinstance(text, str) and text:
                    self.labels[target] = text
                else:
                    self.labels.pop(target, None)
        elif t == "session_info" and isinstance(entry.get("name"), str):
            self.name = entry["name"]

    @classmethod
    def load(cls, entries: list[Entry], linenos: list[int]) -> tuple[Tree, list[str]]:
        """Index entries read from a file, tolerating duplicates, orphans, cycles and unknown types."""
        tree = cls()
        warnings: list[str] = []
        by_id, pos, parents = tree.by_id, tree._pos, tree._parent
        kept: list[Entry] = tree.entries
        kept_lines: list[int] = []
        forward: list[tuple[int, int]] = []  # (index, line) whose parent is not seen yet
        note = tree._note_metadata
        ok = parts_ok
        for entry, lineno in zip(entries, linenos, strict=True):
            eid = entry.get("id")
            if eid.__class__ is not str or not eid:
                warnings.append(f"line {lineno}: entry without an id ignored")
                continue
            if eid in by_id:
                first = kept_lines[pos[eid]]
                warnings.append(f"line {lineno}: duplicate id {eid} ignored (first seen on line {first})")
                continue
            etype = entry.get("type")
            pid = entry.get("parent_id")
            if etype not in ENTRY_TYPES:
                if etype == SYSTEM_PROMPT_TYPE:  # Go kit's /share line 2: parentless, never a parent
                    tree.system_prompt_entry = entry
                    pid = None
                else:
                    warnings.append(f"line {lineno}: unknown entry type {etype!r} kept but not interpreted")
            elif etype == "message" and not ok(entry.get("parts")):
                entry = _cleaned(entry, lineno, warnings)
            index = len(kept)
            if pid is None:
                parents.append(NO_PARENT)
            else:
                parent = pos.get(pid) if pid.__class__ is str else None
                if parent is None:
                    forward.append((index, lineno))
                    parents.append(NO_PARENT)
                else:
                    parents.append(parent)
            by_id[eid] = entry
            pos[eid] = index
            kept.append(entry)
            kept_lines.append(lineno)
            if etype in _METADATA_TYPES:
                note(entry)
        for index, lineno in forward:
            tree._resolve_forward(index, lineno, warnings)
        tree.leaf_id = tree.default_leaf()
        return tree, warnings

    def _resolve_forward(self, index: int, line: int, warnings: list[str]) -> None:
        """Keep a parent that appears later in the file, unless it is missing or makes a cycle."""
        eid = self.entries[index]["id"]
        pid = self.entries[index].get("parent_id")
        parent = self._pos.get(pid) if isinstance(pid, str) else None
        if parent is None:
            warnings.append(f"line {line}: parent {pid} not found; entry kept as a root")
        elif self._reaches(parent, index):
            warnings.append(f"line {line}: parent link {eid} -> {pid} forms a cycle; kept as a root")
        else:
            self._parent[index] = parent
            warnings.append(f"line {line}: parent {pid} appears later in the file; attached anyway")

    def _reaches(self, start: int, target: int) -> bool:
        """True if walking up the effective parents from `start` meets `target`."""
        node = start
        for _ in range(len(self.entries) + 1):
            if node == NO_PARENT:
                return False
            if node == target:
                return True
            node = self._parent[node]
        return True  # longer than the tree: already a loop

    def default_leaf(self) -> str | None:
        """Last entry in file order; a trailing `kit:leaf` marker points at its parent instead, and a
        `system_prompt` entry is passed over (nothing is appended under it)."""
        i = len(self.entries) - 1
        while i >= 0 and self.entries[i].get("type") == SYSTEM_PROMPT_TYPE:
            i -= 1
        if i < 0:
            return None
        last = self.entries[i]
        if is_leaf_marker(last) and self._parent[i] != NO_PARENT:
            return str(self.entries[self._parent[i]]["id"])
        return str(last["id"])

    # --- queries ----------------------------------------------------------------------------------

    def parent_of(self, entry_id: str) -> str | None:
        parent = self._parent[self._pos[entry_id]]
        return None if parent == NO_PARENT else str(self.entries[parent]["id"])

    def children(self, entry_id: str) -> list[str]:
        """Child ids in file order."""
        if self._children is None:
            index: dict[str, list[str]] = {}
            entries = self.entries
            for i, parent in enumerate(self._parent):
                if parent != NO_PARENT:
                    index.setdefault(entries[parent]["id"], []).append(entries[i]["id"])
            self._children = index
        return list(self._children.get(entry_id, ()))

    def roots(self) -> list[str]:
        return [self.entries[i]["id"] for i, parent in enumerate(self._parent) if parent == NO_PARENT]

    def path(self, leaf: str | None = None) -> list[Entry]:
        """Entries from the root down to `leaf` (default: the current leaf)."""
        node = self.leaf_id if leaf is None else leaf
        if node is None:
            return []
        if node not in self._pos:
            raise KeyError(f"no entry with id {node!r}")
        entries, parents = self.entries, self._parent
        out: list[Entry] = []
        i = self._pos[node]
        while i != NO_PARENT:
            out.append(entries[i])
            i = parents[i]
        out.reverse()
        return out

    def branch(self, entry_id: str) -> None:
        """Move the leaf (in memory only); the next append continues from `entry_id`."""
        if entry_id not in self.by_id:
            raise KeyError(f"no entry with id {entry_id!r}")
        self.leaf_id = entry_id

    def index_of(self, entry_id: str) -> int:
        """Position in file order."""
        return self._pos[entry_id]


def _cleaned(entry: Entry, lineno: int, warnings: list[str]) -> Entry:
    """A copy of a message entry with only the parts kit can read (the file is never rewritten, and
    the caller's dict, which may be a store's, is left as it was); every other field is kept."""
    parts, notes = clean_parts(entry.get("parts"))
    warnings.extend(f"line {lineno}: {note}" for note in notes)
    return {**entry, "parts": parts}
