"""In-memory index of one session's entries: parents, children, leaf, labels, name.

Entries stay the dicts read from the file. Broken links found on load (missing parents,
cycles) are repaired only in this index, never in the entries or the file.
"""

from __future__ import annotations

from typing import Any

from kit_py.session.format import ENTRY_TYPES, is_leaf_marker

Entry = dict[str, Any]
_METADATA_TYPES = frozenset({"label", "session_info"})


class Tree:
    """Entries by id in file order, with the effective parent/children links and the current leaf."""

    def __init__(self) -> None:
        self.entries: list[Entry] = []  # tree nodes, file order
        self.by_id: dict[str, Entry] = {}
        self._children: dict[str, list[str]] | None = None  # built on first use: open stays cheap
        self._parent_override: dict[str, str | None] = {}  # ids whose stored parent_id is unusable
        self.labels: dict[str, str] = {}
        self.name: str | None = None
        self.leaf_id: str | None = None

    # --- building ---------------------------------------------------------------------------------

    def add(self, entry: Entry) -> None:
        """Index a new entry whose parent (if any) is already indexed; it becomes the leaf."""
        eid = entry["id"]
        self.by_id[eid] = entry
        self.entries.append(entry)
        pid = entry.get("parent_id")
        if pid is not None and self._children is not None:
            self._children.setdefault(pid, []).append(eid)
        self._note_metadata(entry)
        self.leaf_id = eid

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
        by_id = tree.by_id
        kept: list[Entry] = tree.entries
        kept_lines: list[int] = []
        forward: list[tuple[str, int]] = []  # parent not seen yet: resolved after the pass
        note = tree._note_metadata
        for entry, lineno in zip(entries, linenos, strict=True):
            eid = entry.get("id")
            if eid.__class__ is not str or not eid:
                warnings.append(f"line {lineno}: entry without an id ignored")
                continue
            if eid in by_id:
                first = kept_lines[kept.index(by_id[eid])]
                warnings.append(f"line {lineno}: duplicate id {eid} ignored (first seen on line {first})")
                continue
            etype = entry.get("type")
            if etype not in ENTRY_TYPES:
                warnings.append(f"line {lineno}: unknown entry type {etype!r} kept but not interpreted")
            by_id[eid] = entry
            kept.append(entry)
            kept_lines.append(lineno)
            pid = entry.get("parent_id")
            if pid is not None and (pid.__class__ is not str or pid not in by_id or pid == eid):
                forward.append((eid, lineno))
            if etype in _METADATA_TYPES:
                note(entry)
        for eid, lineno in forward:
            tree._resolve_forward(eid, lineno, warnings)
        tree.leaf_id = tree.default_leaf()
        return tree, warnings

    def _resolve_forward(self, eid: str, line: int, warnings: list[str]) -> None:
        """Keep a parent that appears later in the file, unless it is missing or makes a cycle."""
        pid = self.by_id[eid].get("parent_id")
        if not isinstance(pid, str) or pid not in self.by_id:
            self._parent_override[eid] = None
            warnings.append(f"line {line}: parent {pid} not found; entry kept as a root")
        elif self._reaches(pid, eid):
            self._parent_override[eid] = None
            warnings.append(f"line {line}: parent link {eid} -> {pid} forms a cycle; kept as a root")
        else:
            warnings.append(f"line {line}: parent {pid} appears later in the file; attached anyway")

    def _reaches(self, start: str, target: str) -> bool:
        """True if walking up the effective parents from `start` meets `target` (or loops)."""
        seen: set[str] = set()
        node: str | None = start
        while node is not None:
            if node == target or node in seen:
                return True
            seen.add(node)
            node = self.parent_of(node)
        return False

    def default_leaf(self) -> str | None:
        """Last entry in file order; a trailing `kit:leaf` marker points at its parent instead."""
        if not self.entries:
            return None
        last = self.entries[-1]
        if is_leaf_marker(last):
            parent = self.parent_of(last["id"])
            if parent is not None:
                return parent
        return str(last["id"])

    # --- queries ----------------------------------------------------------------------------------

    def parent_of(self, entry_id: str) -> str | None:
        if entry_id in self._parent_override:
            return self._parent_override[entry_id]
        pid = self.by_id[entry_id].get("parent_id")
        if pid is not None and pid not in self.by_id:
            return None  # appended orphan (only possible through a foreign writer)
        return pid

    def children(self, entry_id: str) -> list[str]:
        """Child ids in file order."""
        if self._children is None:
            index: dict[str, list[str]] = {}
            for entry in self.entries:
                pid = self.parent_of(entry["id"])
                if pid is not None:
                    index.setdefault(pid, []).append(entry["id"])
            self._children = index
        return list(self._children.get(entry_id, ()))

    def roots(self) -> list[str]:
        return [e["id"] for e in self.entries if self.parent_of(e["id"]) is None]

    def path(self, leaf: str | None = None) -> list[Entry]:
        """Entries from the root down to `leaf` (default: the current leaf)."""
        node = self.leaf_id if leaf is None else leaf
        if node is not None and node not in self.by_id:
            raise KeyError(f"no entry with id {node!r}")
        out: list[Entry] = []
        while node is not None:
            out.append(self.by_id[node])
            node = self.parent_of(node)
        out.reverse()
        return out

    def branch(self, entry_id: str) -> None:
        """Move the leaf (in memory only); the next append continues from `entry_id`."""
        if entry_id not in self.by_id:
            raise KeyError(f"no entry with id {entry_id!r}")
        self.leaf_id = entry_id

    def is_ancestor(self, ancestor: str, entry_id: str) -> bool:
        """True if `ancestor` is `entry_id` or lies on its path to the root."""
        node: str | None = entry_id
        while node is not None:
            if node == ancestor:
                return True
            node = self.parent_of(node)
        return False

    def index_of(self, entry_id: str) -> int:
        """Position in file order (a linear scan from the end: recent entries are found fast)."""
        target = self.by_id[entry_id]
        for i in range(len(self.entries) - 1, -1, -1):
            if self.entries[i] is target:
                return i
        raise KeyError(entry_id)
