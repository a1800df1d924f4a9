"""The rows `/tree` shows for a session tree: which entries a filter keeps, how the tree is drawn, search
and folding. Pure (no terminal library), so it is tested in-process and the navigator
(kit_py/repl/tree_view.py) only draws the rows it is given.

Drawing rules: depth first; a chain of single children stays at one indentation and only a branch
point indents its children (with `├─` / `└─` connectors), the branch holding the current position
first. A filter hides entries without breaking the drawing: a kept entry hangs under its nearest
kept ancestor, so "user messages only" draws a tree of prompts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from kit_py.compaction.branch import PREAMBLE
from kit_py.session.format import LEAF_EXT_TYPE, message_text, parse_timestamp, typed_text

if TYPE_CHECKING:
    from kit_py.session import Tree

Entry = dict[str, Any]

FILTERS = ("default", "no-tools", "user", "labelled", "all")
FILTER_TITLES = {
    "default": "default (bookkeeping hidden)",
    "no-tools": "no tool results",
    "user": "user messages only",
    "labelled": "labelled only",
    "all": "everything",
}
BOOKKEEPING = frozenset({"label", "session_info", "extension_data", "model_change"})
FAILED = frozenset({"error", "aborted"})
TEXT_CHARS = 300
SEARCHED_CHARS = 2000
"""How much of a message search looks at (the start of a long paste is what one remembers)."""
LEAF_REASONS = {"discarded": " (a failed turn stepped back from)", "clear": " (started over)"}


@dataclass(frozen=True)
class Row:
    """One line of the navigator. `prefix` is the drawing (gutters and connector); `here` marks the
    current position, `on_path` the entries of the current branch; `folded` counts the rows hidden
    under a folded row; `foldable` says whether it has rows under it at all. What the entry says
    (`kind`, `text`) is worked out when a row is drawn: only a screenful ever is."""

    entry_id: str
    prefix: str
    on_path: bool
    here: bool
    folded: int
    foldable: bool
    model: TreeModel = field(repr=False, compare=False)

    @property
    def kind(self) -> str:
        return self.model.describe(self.entry_id)[0]

    @property
    def text(self) -> str:
        return self.model.describe(self.entry_id)[1]

    @property
    def label(self) -> str | None:
        return self.model.labels.get(self.entry_id)

    @property
    def timestamp(self) -> str:
        return str(self.model.tree.by_id[self.entry_id].get("timestamp", ""))


class TreeModel:
    """One session tree as the navigator sees it; `rows` answers for a filter, folds and a search."""

    def __init__(self, tree: Tree, leaf: str | None) -> None:
        self.tree = tree
        self.leaf = leaf
        self.labels = dict(tree.labels)
        self.on_path = {e["id"] for e in tree.path(leaf)} if leaf is not None else set()
        self._calls = _tool_calls(tree.entries)
        self._forests: dict[str, tuple[dict[str | None, list[str]], str | None]] = {}
        self._texts: dict[str, tuple[str, str]] = {}
        self._haystacks: dict[str, str] = {}

    # --- what each entry looks like ---------------------------------------------------------------

    def describe(self, entry_id: str) -> tuple[str, str]:
        """(kind, one-line text) of an entry, as a row shows it."""
        found = self._texts.get(entry_id)
        if found is None:
            found = _describe(self.tree.by_id[entry_id], self._calls, self.labels)
            self._texts[entry_id] = found
        return found

    def kept(self, entry: Entry, name: str) -> bool:
        """Whether the filter `name` shows `entry`. The current leaf is always shown when it is a
        message, so the position stays visible."""
        etype = entry.get("type")
        role = entry.get("role")
        if name == "all":
            return True
        if name == "user":
            return etype == "message" and role == "user"
        if name == "labelled":
            return entry["id"] in self.labels
        if etype not in ("message", "compaction", "branch_summary"):
            return False  # bookkeeping, and types kit does not know
        if entry["id"] == self.leaf:
            return True
        if name == "no-tools" and role == "tool":
            return False
        return not (role == "assistant" and _only_tool_calls(entry))

    # --- the drawing --------------------------------------------------------------------------------

    def _forest(self, name: str) -> tuple[dict[str | None, list[str]], str | None]:
        """Kept entries by their nearest kept ancestor (None: a root), each branch holding the current
        position first; and the kept entry that stands for the current position."""
        cached = self._forests.get(name)
        if cached is not None:
            return cached
        tree = self.tree
        children: dict[str | None, list[str]] = {}
        here: str | None = None
        stack: list[tuple[str, str | None]] = [(r, None) for r in reversed(tree.roots())]
        while stack:
            node, above = stack.pop()
            entry = tree.by_id[node]
            holder = above
            if self.kept(entry, name):
                children.setdefault(above, []).append(node)
                holder = node
            if node == self.leaf:
                here = holder
            for child in reversed(tree.children(node)):
                stack.append((child, holder))
        for kids in children.values():
            if len(kids) > 1:
                kids.sort(key=lambda k: k not in self.on_path)  # stable: file order otherwise
        self._forests[name] = (children, here)
        return children, here

    def rows(
        self, name: str = "default", folded: set[str] | frozenset[str] = frozenset(), query: str = ""
    ) -> list[Row]:
        """The rows of filter `name`, depth first. Rows under a folded entry are left out (it counts
        them); a `query` keeps the rows whose text or label holds every word of it, folds ignored."""
        children, here = self._forest(name)
        words = query.casefold().split()
        on_path = self.on_path
        out: list[Row] = []
        roots = children.get(None, [])
        stack: list[tuple[str, str, str]] = []
        for i in range(len(roots) - 1, -1, -1):
            if len(roots) > 1:
                last = i == len(roots) - 1
                stack.append((roots[i], "└─ " if last else "├─ ", "   " if last else "│  "))
            else:
                stack.append((roots[i], "", ""))
        while stack:
            node, prefix, lead = stack.pop()
            kids = children.get(node, [])
            fold = node in folded and not words and bool(kids)
            if not words or self._matches(node, words):
                folds = _count(children, node) if fold else 0
                out.append(Row(node, prefix, node in on_path, node == here, folds, bool(kids), self))
            if fold:
                continue
            if len(kids) == 1:
                stack.append((kids[0], lead, lead))
            else:
                for i in range(len(kids) - 1, -1, -1):
                    last = i == len(kids) - 1
                    stack.append(
                        (kids[i], lead + ("└─ " if last else "├─ "), lead + ("   " if last else "│  "))
                    )
        return out

    def _matches(self, entry_id: str, words: list[str]) -> bool:
        haystack = self._haystacks.get(entry_id)
        if haystack is None:
            entry = self.tree.by_id[entry_id]
            said = typed_text(entry)[:SEARCHED_CHARS] if entry.get("type") == "message" else ""
            kind, text = self.describe(entry_id) if not said else (str(entry.get("role")), said)
            haystack = f"{kind} {text} {self.labels.get(entry_id, '')}".casefold()
            self._haystacks[entry_id] = haystack
        return all(w in haystack for w in words)


def _count(children: dict[str | None, list[str]], node: str) -> int:
    """How many kept entries hang under `node`, at any depth."""
    total = 0
    stack = list(children.get(node, []))
    while stack:
        total += 1
        stack.extend(children.get(stack.pop(), []))
    return total


def branch_point_above(rows: list[Row], index: int) -> int:
    """The branch point `rows[index]` hangs from: the nearest row above with a shorter drawing
    (`index` itself when there is none), where ← goes from a row that cannot fold."""
    own = len(rows[index].prefix)
    for i in range(index - 1, -1, -1):
        if len(rows[i].prefix) < own:
            return i
    return index


# --- how entries read ---------------------------------------------------------------------------------


def _tool_calls(entries: list[Entry]) -> dict[str, tuple[str, str]]:
    """Tool call id -> (tool name, the argument worth showing), for naming tool results."""
    calls: dict[str, tuple[str, str]] = {}
    for entry in entries:
        if entry.get("type") != "message" or entry.get("role") != "assistant":
            continue
        for part in _parts(entry, "tool_call"):
            data = part["data"]
            calls[str(data.get("id"))] = (str(data.get("name", "?")), _argument(data.get("input")))
    return calls


def _parts(entry: Entry, ptype: str) -> list[Entry]:
    """The well-formed parts of type `ptype` (an object with object `data`) of a message."""
    parts = entry.get("parts")
    if not isinstance(parts, list):
        return []
    return [
        p for p in parts if isinstance(p, dict) and p.get("type") == ptype and isinstance(p.get("data"), dict)
    ]


def _argument(raw: Any) -> str:
    """The argument of a tool call a reader recognizes it by: a path, a command, a pattern."""
    try:
        args = json.loads(raw) if isinstance(raw, str) and raw else {}
    except ValueError:
        return ""
    if not isinstance(args, dict):
        return ""
    for key in ("path", "command", "pattern", "file_path", "url", "query"):
        if isinstance(args.get(key), str):
            return _line(args[key], 60)
    return ""


def _only_tool_calls(entry: Entry) -> bool:
    """An assistant step that only called tools (its results row names them), unless it failed."""
    if entry.get("stop_reason") in FAILED:
        return False
    calls = False
    for part in entry.get("parts") or ():
        data = part.get("data") if isinstance(part, dict) else None
        if not isinstance(data, dict):
            continue
        if part.get("type") == "tool_call":
            calls = True
        elif part.get("type") == "text" and str(data.get("text", "")).strip():
            return False
    return calls


def _line(text: str, limit: int = TEXT_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _describe(entry: Entry, calls: dict[str, tuple[str, str]], labels: dict[str, str]) -> tuple[str, str]:
    etype = entry.get("type")
    if etype == "message":
        return _describe_message(entry, calls)
    if etype == "compaction":
        removed = entry.get("messages_removed")
        count = removed if isinstance(removed, int) else "?"
        before = entry.get("tokens_before")
        tokens = f", {before // 1000}k tokens before" if isinstance(before, int) and before >= 1000 else ""
        return "compaction", f"[compaction: {count} messages summarized{tokens}]"
    if etype == "branch_summary":
        summary = str(entry.get("summary", "")).removeprefix(PREAMBLE)
        return "branch_summary", "[branch summary] " + _line(summary)
    if etype == "label":
        text = entry.get("label")
        return "label", f"[label: {text}]" if isinstance(text, str) and text else "[label cleared]"
    if etype == "session_info":
        return "session_info", f"[named: {entry.get('name', '')}]"
    if etype == "model_change":
        level = entry.get("thinking_level")
        thinking = f" · thinking {level}" if isinstance(level, str) and level else ""
        provider = entry.get("provider")
        model = f"{provider}/{entry.get('model_id')}" if provider else str(entry.get("model_id", "?"))
        return "model_change", f"[model: {model}{thinking}]"
    if etype == "extension_data":
        if entry.get("ext_type") == LEAF_EXT_TYPE:
            return "leaf", f"[moved here{LEAF_REASONS.get(str(entry.get('data')), '')}]"
        return "extension", f"[{entry.get('ext_type', 'extension')}]"
    return "other", f"[{etype}]"


def _describe_message(entry: Entry, calls: dict[str, tuple[str, str]]) -> tuple[str, str]:
    role = str(entry.get("role", "?"))
    if role == "user":
        return "user", "user: " + _line(typed_text(entry))
    if role == "tool":
        named = []
        for part in _parts(entry, "tool_result"):
            data = part["data"]
            name, arg = calls.get(str(data.get("tool_call_id")), (str(data.get("name", "?")), ""))
            failed = " (failed)" if data.get("is_error") else ""
            named.append(f"{name} {arg}".strip() + failed)
        return "tool", "tool: " + _line(", ".join(named) or "(no results)")
    text = _line(message_text(entry))
    if role == "assistant":
        stop = entry.get("stop_reason")
        if stop == "error":
            return "assistant", "assistant: (failed) " + _line(str(entry.get("error") or text or ""))
        if stop == "aborted":
            return "assistant", "assistant: (interrupted) " + text
        if not text:
            names = [calls.get(str(p["data"].get("id")), ("?", ""))[0] for p in _parts(entry, "tool_call")]
            return "assistant", "assistant: " + (f"(calls {', '.join(names)})" if names else "(no text)")
        return "assistant", "assistant: " + text
    return role, f"{role}: {text}"


def when(timestamp: str, now: datetime) -> str:
    """A row's time, short: "14:02" today, "Mar 03 14:02" this year, "2024-03-03" before; local time."""
    try:
        moment = parse_timestamp(timestamp).astimezone(now.tzinfo)
    except (ValueError, TypeError):
        return ""
    if moment.date() == now.date():
        return moment.strftime("%H:%M")
    if moment.year == now.year:
        return moment.strftime("%b %d %H:%M")
    return moment.strftime("%Y-%m-%d")
