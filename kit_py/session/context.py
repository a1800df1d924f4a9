"""The LLM context for a leaf (docs/session-format.md): summary, kept segment, then the path after it.

Pure: reads a `Tree`, does no I/O and never raises on file data; what it had to leave out is described
in `Context.warnings`. Messages are the entry dicts themselves when they are sent as stored (treat them
as read-only); a message sent changed (malformed parts left out, an interrupted answer marked) is a
shallow copy, and synthesized messages (compaction summary, branch context) have no id.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kit_py.session.format import PART_REQUIRED, ROLES, SYSTEM_PROMPT_TYPE, message_text, text_part
from kit_py.session.tree import Tree

Entry = dict[str, Any]
Warn = Callable[[str], None]

SUMMARY_PREFIX = "The conversation history before this point was compacted into the following summary:\n\n"
FAILED_STOP_REASONS = ("aborted", "error")  # a tuple: `in` never raises on an unhashable file value
"""`stop_reason`s of assistant answers whose usage is not trusted. An `error` answer is never replayed;
an `aborted` one (interrupted by the user) is replayed as its text plus `INTERRUPTED_MARKER`."""
INTERRUPTED_MARKER = "[interrupted by the user]"
MAX_WARNINGS = 20


@dataclass
class Context:
    messages: list[Entry] = field(default_factory=list)
    entry_ids: list[str] = field(default_factory=list)  # the entry behind each message, same order
    provider: str | None = None
    model: str | None = None
    thinking_level: str | None = None
    compaction: Entry | None = None
    warnings: list[str] = field(default_factory=list)
    """What was left out or guessed at because of the file's data, each once (for a notice); after
    `MAX_WARNINGS` a last line counts the others."""
    _seen: set[str] = field(default_factory=set, repr=False, compare=False)

    def warn(self, text: str) -> None:
        if text in self._seen:
            return
        self._seen.add(text)
        more = len(self._seen) - MAX_WARNINGS
        if more <= 0:
            self.warnings.append(text)
            return
        if more > 1:
            self.warnings.pop()
        self.warnings.append(f"... and {more} more problem{'s' if more > 1 else ''} of this session's data")


def summary_message(summary: str) -> Entry:
    text = f"{SUMMARY_PREFIX}<summary>\n{summary}\n</summary>"
    return {"type": "message", "role": "user", "parts": [text_part(text)]}


def branch_summary_message(summary: str) -> Entry:
    return {"type": "message", "role": "user", "parts": [text_part(f"[Branch context: {summary}]")]}


def part_problem(part: Any) -> str | None:
    """Why a message part cannot be sent (None when it can), as "a ... part ..."."""
    if not isinstance(part, dict):
        return f"a part that is not an object ({_kind(part)})"
    ptype = part.get("type")
    if not isinstance(ptype, str) or ptype not in PART_REQUIRED:
        return f"a part of unknown type {ptype!r}"
    fields = PART_REQUIRED[ptype]
    article = "an" if ptype[0] in "aeiou" else "a"
    data = part.get("data")
    if not isinstance(data, dict):
        return f"{article} {ptype} part whose data is {_kind(data)}"
    for key in fields:
        if not isinstance(data.get(key), str):
            return f"{article} {ptype} part without a string {key!r}"
    return None


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


# --- kept segments -----------------------------------------------------------------------------------


def kept_segment(tree: Tree, comp: Entry, warn: Warn | None = None) -> list[Entry]:
    """The entries the compaction `comp` keeps verbatim, from its `first_kept_entry_id` on (path order).

    With a parent (kit_py): the path from `first_kept_entry_id` up to `comp`. Without one (Go kit): the
    part of the context of the entry written just before `comp` in file order, from that entry on
    (docs/session-format.md). Context building and compaction planning both use it.
    """
    parent = tree.parent_of(comp["id"]) if comp.get("id") in tree.by_id else None
    before = tree.path(parent) if parent is not None else []
    return _kept_segment(tree, comp, before, warn or (lambda text: None))


def _kept_segment(tree: Tree, comp: Entry, before: list[Entry], warn: Warn) -> list[Entry]:
    """`kept_segment` with the path above `comp` given (empty for a root).

    The kept segment of a root compaction is defined through the context of an earlier entry, whose
    own last compaction may be a root compaction too (Go kit after `/compact` twice): that chain is
    followed down iteratively, then the contexts are built back up.
    """
    chain: list[tuple[Entry, list[Entry], int]] = []  # (compaction, the path it looks into, its compaction)
    seen: set[int] = set()
    while True:
        seen.add(id(comp))
        first = comp.get("first_kept_entry_id")
        if not first:  # Go kit writes "" when it keeps nothing
            kept: list[Entry] = []
            break
        if not isinstance(first, str):
            warn(f"compaction {comp.get('id')}: first_kept_entry_id is not an id; nothing before it is kept")
            kept = []
            break
        if before:
            found = _from_entry(before, first)
            if found is not None:
                kept = found
                break
        previous = _written_before(tree, comp) if not before else before[-1]
        looked_into = tree.path(previous["id"]) if previous is not None else []
        at = _last_compaction(looked_into)
        if at < 0:
            kept = _from_entry(looked_into, first) or _fallback(tree, comp, first, warn)
            break
        inner = looked_into[at]
        if id(inner) in seen:  # only a damaged file can loop
            kept = _fallback(tree, comp, first, warn)
            break
        chain.append((comp, looked_into, at))
        comp, before = inner, looked_into[:at]
    while chain:
        comp, looked_into, at = chain.pop()
        context = [looked_into[at], *kept, *looked_into[at + 1 :]]
        first = comp["first_kept_entry_id"]
        kept = _from_entry(context, first) or _fallback(tree, comp, first, warn)
    return kept


def _from_entry(entries: list[Entry], entry_id: str) -> list[Entry] | None:
    for i, entry in enumerate(entries):
        if entry.get("id") == entry_id:
            return entries[i:]
    return None


def _last_compaction(path: list[Entry]) -> int:
    for i in range(len(path) - 1, -1, -1):
        if path[i].get("type") == "compaction":
            return i
    return -1


def _written_before(tree: Tree, entry: Entry) -> Entry | None:
    """The tree entry written just before `entry` (the leaf when Go kit appended a root compaction)."""
    if entry.get("id") not in tree.by_id:
        return None
    entries = tree.entries
    for i in range(tree.index_of(entry["id"]) - 1, -1, -1):
        if entries[i].get("type") != SYSTEM_PROMPT_TYPE:  # not part of the tree
            return entries[i]
    return None


def _fallback(tree: Tree, comp: Entry, first_kept: str, warn: Warn) -> list[Entry]:
    """The ancestor chain through `first_kept`, ending at the last entry written before `comp` that
    descends from it, from `first_kept` on: for files whose compaction does not match what was written
    before it."""
    if first_kept not in tree.by_id:
        warn(
            f"compaction {comp.get('id')}: its first kept entry {first_kept} is missing; "
            "nothing before it is kept"
        )
        return []
    descendants = {first_kept}
    stack = [first_kept]
    while stack:
        for child in tree.children(stack.pop()):
            if child not in descendants:
                descendants.add(child)
                stack.append(child)
    entries = tree.entries
    end = tree.index_of(comp["id"]) if comp.get("id") in tree.by_id else len(entries)
    kept: list[Entry] = []
    for i in range(end - 1, -1, -1):
        eid = entries[i]["id"]
        if eid in descendants:
            kept = _from_entry(tree.path(eid), first_kept) or []
            break
    what = "kept its chain instead" if kept else "kept nothing"
    warn(
        f"compaction {comp.get('id')}: its first kept entry {first_kept} is not in the context "
        f"before it; {what}"
    )
    return kept


# --- model and system prompt -------------------------------------------------------------------------


def current_model(tree: Tree, leaf: str | None = None) -> tuple[str, str, str | None] | None:
    """(provider, model_id, thinking_level) of the last model_change on the effective path."""
    found, _system = _settings(tree, tree.path(leaf))
    if found is None:
        return None
    return (str(found.get("provider", "")), str(found.get("model_id", "")), found.get("thinking_level"))


def system_prompt(tree: Tree, leaf: str | None = None) -> str | None:
    """The system prompt requests send for this path (what `build_context` puts first), without
    building the whole context: the last `system` message on it, else Go kit's `system_prompt` entry."""
    path = tree.path(leaf)
    _change, system = _settings(tree, path)
    if system is not None:
        return message_text(system)
    prompt = _system_prompt_entry(tree) if path else None
    return str(prompt["content"]) if prompt is not None else None


def _settings(tree: Tree, path: list[Entry]) -> tuple[Entry | None, Entry | None]:
    """The last `model_change` and the last `system` message on the path, looking behind Go kit's root
    compactions if needed (what a compaction summarized is still searched: model changes and system
    prompts outlive it). Behind a root compaction lies the path of the entry written just before it."""
    change: Entry | None = None
    system: Entry | None = None
    seen: set[str] = set()
    while True:
        for entry in reversed(path):
            etype = entry.get("type")
            if etype == "model_change":
                change = change or entry
            elif etype == "message" and system is None and entry.get("role") == "system":
                system = entry
            else:
                continue
            if change is not None and system is not None:
                return change, system
        if not path or path[0].get("type") != "compaction" or path[0]["id"] in seen:
            return change, system
        seen.add(path[0]["id"])
        previous = _written_before(tree, path[0])
        path = tree.path(previous["id"]) if previous is not None else []


_prompt_seen: weakref.WeakKeyDictionary[Tree, tuple[int, Entry | None]] = weakref.WeakKeyDictionary()


def _system_prompt_entry(tree: Tree) -> Entry | None:
    """The last Go kit `system_prompt` entry with text (it has no parent: it is on no path).

    Entries are only ever appended to a tree, so each is looked at once per tree."""
    seen, found = _prompt_seen.get(tree, (0, None))
    entries = tree.entries
    for i in range(seen, len(entries)):
        entry = entries[i]
        if (
            entry.get("type") == SYSTEM_PROMPT_TYPE
            and isinstance(entry.get("content"), str)
            and entry["content"]
        ):
            found = entry
    _prompt_seen[tree] = (len(entries), found)
    return found


# --- the context -------------------------------------------------------------------------------------


def build_context(tree: Tree, leaf: str | None = None) -> Context:
    """Messages to send for the path ending at `leaf` (default: the tree's leaf)."""
    ctx = Context()
    path = tree.path(leaf)
    at = _last_compaction(path)
    if at < 0:
        replay = path
    else:
        comp = path[at]
        ctx.compaction = comp
        replay = [comp, *_kept_segment(tree, comp, path[:at], ctx.warn), *path[at + 1 :]]

    change, system = _settings(tree, path)
    if change is not None:
        ctx.provider = change.get("provider")
        ctx.model = change.get("model_id")
        ctx.thinking_level = change.get("thinking_level")
    if system is not None:
        message = _clean(system, ctx.warn)
        if message is not None:
            _emit(ctx, message, system)
    elif path:
        prompt = _system_prompt_entry(tree)
        if prompt is not None:
            _emit(ctx, {"type": "message", "role": "system", "parts": [text_part(prompt["content"])]}, prompt)
    _replay(ctx, replay)
    return ctx


def _replay(ctx: Context, replay: list[Entry]) -> None:
    """Turn the replayed entries into messages: failed answers out, interrupted ones marked, and every
    tool result right after the call it answers (a call without a result, or the reverse, is a 400)."""
    messages, entry_ids, warn = ctx.messages, ctx.entry_ids, ctx.warn
    dropped: set[str] = set()  # calls of answers that are not replayed: their results go silently
    waiting: dict[str, None] = {}  # calls of the last assistant message still waiting for a result
    waiting_at = -1  # index of that message in `messages`

    def close(report: bool) -> None:
        """Take the calls that got no result out of the assistant message that made them."""
        message = messages[waiting_at]
        if report:
            warn(f"entry {message.get('id')}: tool call(s) {', '.join(waiting)} have no result; not sent")
        parts = [p for p in message["parts"] if not (p["type"] == "tool_call" and p["data"]["id"] in waiting)]
        messages[waiting_at] = {**message, "parts": parts}
        waiting.clear()

    for entry in replay:
        etype = entry.get("type")
        if etype == "message":
            role = entry.get("role")
            if role == "system":  # only the latest one is sent, first (build_context)
                continue
            if not isinstance(role, str) or role not in ROLES:
                warn(f"entry {entry.get('id')}: a message with the unknown role {role!r} is not sent")
                continue
            message = _clean(entry, warn)
            if message is None:
                continue
            if role == "tool":
                message = _answered(message, waiting, dropped, warn)
                if message is None:
                    continue
            else:
                if waiting:
                    close(True)
                if role == "assistant":
                    stop = entry.get("stop_reason")
                    calls = [p["data"]["id"] for p in message["parts"] if p["type"] == "tool_call"]
                    if stop in FAILED_STOP_REASONS:
                        dropped.update(calls)
                        message = _interrupted(message) if stop == "aborted" else None
                        if message is None:
                            continue
                    elif calls:
                        waiting.update(dict.fromkeys(calls))
                        waiting_at = len(messages)
        elif etype == "compaction" or etype == "branch_summary":
            summary = entry.get("summary")
            if etype == "compaction":
                if entry is not ctx.compaction:  # an older compaction inside the kept segment adds nothing
                    continue
                message = summary_message(summary if isinstance(summary, str) else "")
            elif isinstance(summary, str) and summary:
                message = branch_summary_message(summary)
            else:
                continue
            if waiting:
                close(True)
        else:
            continue
        messages.append(message)
        entry_ids.append(entry["id"])
    if waiting:
        close(False)  # calls at the very end are still running (or are repaired on the next turn)


def _answered(message: Entry, waiting: dict[str, None], dropped: set[str], warn: Warn) -> Entry | None:
    """The tool message with only results of the waiting calls (each answered once)."""
    parts = message["parts"]
    keep = []
    for part in parts:
        if part["type"] != "tool_result":
            continue
        call = part["data"]["tool_call_id"]
        if call in waiting:
            del waiting[call]
            keep.append(part)
        elif call not in dropped:
            warn(
                f"entry {message.get('id')}: a result for tool call {call}, which is not right before it, "
                "is not sent"
            )
    if not keep:
        return None
    return message if len(keep) == len(parts) else {**message, "parts": keep}


def _emit(ctx: Context, message: Entry, source: Entry) -> None:
    ctx.messages.append(message)
    ctx.entry_ids.append(source["id"])


def _clean(entry: Entry, warn: Warn) -> Entry | None:
    """The message with only parts that can be sent (the entry itself when all can), or None when its
    `parts` is not a list."""
    parts = entry.get("parts")
    if not isinstance(parts, list):
        warn(f"entry {entry.get('id')}: a message whose parts are not a list is not sent")
        return None
    for part in parts:
        if part_problem(part) is not None:
            break
    else:
        return entry
    kept = []
    for part in parts:
        problem = part_problem(part)
        if problem is None:
            kept.append(part)
        else:
            warn(f"entry {entry.get('id')}: {problem} is skipped")
    return {**entry, "parts": kept}


def _interrupted(message: Entry) -> Entry | None:
    """An answer the user interrupted, as its text marked as interrupted (reasoning and unfinished tool
    calls left out), so "continue" works; None when it has no text."""
    texts = [p["data"]["text"] for p in message["parts"] if p["type"] == "text" and p["data"]["text"]]
    if not texts:
        return None
    text = "\n".join(texts) + f"\n\n{INTERRUPTED_MARKER}"
    return {**message, "parts": [text_part(text)]}
