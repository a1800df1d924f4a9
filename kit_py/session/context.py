"""The LLM context for a leaf (docs/session-format.md): summary, kept segment, then the path after it.

Pure: reads a `Tree`, does no I/O. Messages are the entry dicts themselves (no copies, treat
them as read-only); synthesized messages (compaction summary, branch context) have no id.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kit_py.session.format import text_part
from kit_py.session.tree import Tree

Entry = dict[str, Any]

SUMMARY_PREFIX = "The conversation history before this point was compacted into the following summary:\n\n"
FAILED_STOP_REASONS = frozenset({"aborted", "error"})
"""`stop_reason`s of assistant answers that are never replayed and whose usage is not trusted."""


@dataclass
class Context:
    messages: list[Entry] = field(default_factory=list)
    entry_ids: list[str] = field(default_factory=list)  # the entry behind each message, same order
    provider: str | None = None
    model: str | None = None
    thinking_level: str | None = None
    compaction: Entry | None = None


def summary_message(summary: str) -> Entry:
    text = f"{SUMMARY_PREFIX}<summary>\n{summary}\n</summary>"
    return {"type": "message", "role": "user", "parts": [text_part(text)]}


def branch_summary_message(summary: str) -> Entry:
    return {"type": "message", "role": "user", "parts": [text_part(f"[Branch context: {summary}]")]}


def pre_compaction_chain(tree: Tree, comp: Entry, path_before: list[Entry]) -> list[Entry]:
    """The path the compaction `comp` summarised, ending just before it (root -> that entry).

    `path_before` is the part of the leaf's path above `comp`. kit_py compactions have a parent, so
    that is simply the answer. Go kit writes them as roots (empty `path_before`): then it is the
    chain ending at the last entry before the compaction in file order that descends from
    `first_kept_entry_id` (docs/session-format.md), or [] when that entry is missing. Context building and
    compaction planning (the kept segment of a root compaction) both use it.
    """
    if path_before:
        return path_before
    first_kept = comp.get("first_kept_entry_id")
    if not isinstance(first_kept, str) or first_kept not in tree.by_id:
        return []
    descendants = {first_kept}
    stack = [first_kept]
    while stack:
        for child in tree.children(stack.pop()):
            if child not in descendants:
                descendants.add(child)
                stack.append(child)
    entries = tree.entries
    for i in range(tree.index_of(comp["id"]) - 1, -1, -1):
        eid = entries[i]["id"]
        if eid in descendants:
            return tree.path(eid)
    return []


def current_model(tree: Tree, leaf: str | None = None) -> tuple[str, str, str | None] | None:
    """(provider, model_id, thinking_level) of the last model_change on the effective path."""
    path = tree.path(leaf)
    found = _last_on_path(tree, path, _is_model_change)
    if found is None:
        return None
    return (str(found.get("provider", "")), str(found.get("model_id", "")), found.get("thinking_level"))


def _last_on_path(tree: Tree, path: list[Entry], wanted: Callable[[Entry], bool]) -> Entry | None:
    """The last entry on the path that is `wanted`, looking behind Go kit's root compactions if needed
    (what a compaction summarized is still searched: model changes and system prompts outlive it)."""
    seen: set[str] = set()
    while True:
        for entry in reversed(path):
            if wanted(entry):
                return entry
        if not path or path[0].get("type") != "compaction" or path[0]["id"] in seen:
            return None
        seen.add(path[0]["id"])
        path = pre_compaction_chain(tree, path[0], [])


def _is_model_change(entry: Entry) -> bool:
    return entry.get("type") == "model_change"


def _is_system_message(entry: Entry) -> bool:
    return entry.get("type") == "message" and entry.get("role") == "system"


def system_first(messages: list[Entry]) -> list[Entry]:
    """The latest system message first and no other (docs/session-format.md): a later one replaces
    the earlier."""
    systems = [m for m in messages if m.get("role") == "system"]
    if not systems:
        return messages
    return [systems[-1], *(m for m in messages if m.get("role") != "system")]


def _kept_segment(chain: list[Entry], first_kept: Any) -> list[Entry]:
    for i, entry in enumerate(chain):
        if entry["id"] == first_kept:
            return chain[i:]
    return []


def build_context(tree: Tree, leaf: str | None = None) -> Context:
    """Messages to send for the path ending at `leaf` (default: the tree's leaf)."""
    ctx = Context()
    path = tree.path(leaf)
    comp_index = -1
    for i in range(len(path) - 1, -1, -1):
        if path[i].get("type") == "compaction":
            comp_index = i
            break
    if comp_index < 0:
        replay = path
    else:
        comp = path[comp_index]
        ctx.compaction = comp
        chain = pre_compaction_chain(tree, comp, path[:comp_index])
        kept = _kept_segment(chain, comp.get("first_kept_entry_id"))
        replay = path[comp_index : comp_index + 1] + kept + path[comp_index + 1 :]

    change = _last_on_path(tree, path, _is_model_change)
    if change is not None:
        ctx.provider = change.get("provider")
        ctx.model = change.get("model_id")
        ctx.thinking_level = change.get("thinking_level")

    system = _last_on_path(tree, path, _is_system_message)
    if system is not None:
        _emit(ctx, system, system)
    dropped_calls: set[str] = set()
    for entry in replay:
        etype = entry.get("type")
        if etype == "compaction":
            if entry is ctx.compaction:  # an older compaction inside the kept segment adds nothing
                _emit(ctx, summary_message(str(entry.get("summary", ""))), entry)
        elif etype == "branch_summary":
            _emit(ctx, branch_summary_message(str(entry.get("summary", ""))), entry)
        elif etype == "message":
            role = entry.get("role")
            if role == "system":  # only the latest one is sent, first (above)
                continue
            if role == "assistant" and entry.get("stop_reason") in FAILED_STOP_REASONS:
                dropped_calls.update(_tool_call_ids(entry))
                continue
            if role == "tool" and dropped_calls:
                entry = _without_results(entry, dropped_calls)
                if not entry["parts"]:
                    continue
            _emit(ctx, entry, entry)
    return ctx


def _emit(ctx: Context, message: Entry, source: Entry) -> None:
    ctx.messages.append(message)
    ctx.entry_ids.append(source["id"])


def _parts(entry: Entry) -> list[Entry]:
    parts = entry.get("parts")
    return [p for p in parts if isinstance(p, dict)] if isinstance(parts, list) else []


def _tool_call_ids(entry: Entry) -> list[str]:
    return [
        p["data"]["id"]
        for p in _parts(entry)
        if p.get("type") == "tool_call" and isinstance(p.get("data"), dict) and "id" in p["data"]
    ]


def _without_results(entry: Entry, dropped: set[str]) -> Entry:
    """A shallow copy of a tool message without the results of calls that were not replayed."""
    parts = _parts(entry)
    keep = [
        p
        for p in parts
        if not (
            p.get("type") == "tool_result"
            and isinstance(p.get("data"), dict)
            and p["data"].get("tool_call_id") in dropped
        )
    ]
    if len(keep) == len(parts):
        return entry
    return {**entry, "parts": keep}
