"""Compaction planning: token estimates, budgets, cut points and file tracking.

Everything here is pure: it works on session entries in their wire form (plain dicts, session-format.md)
and returns plain data. prompts.py turns a plan into summary requests; runner.py sends them through
kit_py.llm and appends the resulting `compaction` entry; nothing is deleted (session-format.md).

Flow (runner.compact_session)::

    budget = compute_budget(window, max_output)
    if should_compact(estimate_context_tokens(context), budget):
        plan = plan_compaction(path, budget)
        requests = prompts.summary_requests(plan, focus)          # 1 or 2 chat requests
        summary = prompts.combine_summaries(plan, history_text, prefix_text)
        read, modified = collect_file_ops(plan.summarized_messages, plan.previous_compaction)
        summary = prompts.finalize_summary(summary, read, modified)
        entry = format.compaction(summary, plan.first_kept_entry_id, plan.tokens_before,
                                  estimate_tokens_after(plan, summary), plan.messages_removed, read, modified)
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from kit_py.session.context import FAILED_STOP_REASONS

# Providers bill images by pixel size, not by encoded bytes: Anthropic charges about w*h/750 tokens
# (images are downscaled to ~1.15 MP, so at most ~1600), OpenAI's high-detail tiles come to 765-1105
# for common sizes. bytes/4 of the base64 data would count a 500 KB screenshot as ~170k tokens and
# trigger absurd compactions, so an image counts as a fixed typical cost instead.
IMAGE_TOKENS = 1200

# Used when the model's context window is unknown: the common size of current hosted models, so an
# unknown model still gets auto-compaction rather than none (a provider overflow error still triggers
# compact-then-retry for smaller ones).
FALLBACK_CONTEXT_WINDOW = 128_000
DEFAULT_RESERVE = 16_384
UNKNOWN_WINDOW_KEEP_RECENT = 20_000
MIN_KEEP_RECENT = 2_000

_READ_TOOLS = frozenset({"read", "grep", "ls"})
_MODIFY_TOOLS = frozenset({"write", "edit"})


# --------------------------------------------------------------------------------------------------
# Token estimates


def _nbytes(text: Any) -> int:
    return len(text.encode("utf-8", "surrogatepass")) if isinstance(text, str) else 0


def estimate_tokens(message: dict) -> int:
    """Estimate one context entry's tokens as UTF-8 bytes/4 (rounded up); images count IMAGE_TOKENS.

    Accepts `message` entries and the entries that stand in for messages in the context:
    `compaction` and `branch_summary` (their summary text). Anything else counts 0.
    """
    kind = message.get("type")
    if kind in ("compaction", "branch_summary"):
        return math.ceil(_nbytes(message.get("summary")) / 4)
    if kind != "message":
        return 0
    nbytes = 0
    images = 0
    for part in message.get("parts") or ():
        data = part.get("data") or {}
        ptype = part.get("type")
        if ptype == "text":
            nbytes += _nbytes(data.get("text"))
        elif ptype == "reasoning":
            nbytes += _nbytes(data.get("thinking"))
        elif ptype == "tool_call":
            nbytes += _nbytes(data.get("name")) + _nbytes(data.get("input"))
        elif ptype == "tool_result":
            nbytes += _nbytes(data.get("content"))
        elif ptype == "image":
            images += 1
    return math.ceil(nbytes / 4) + images * IMAGE_TOKENS


def _usage_tokens(usage: Any) -> int:
    """input + output of a kit_py usage dict; input_tokens is the whole prompt, cached part included."""
    if not isinstance(usage, dict):
        return 0
    total = 0
    for key in ("input_tokens", "output_tokens"):
        value = usage.get(key)
        if isinstance(value, int | float):
            total += int(value)
    return total


def _is_assistant(entry: dict) -> bool:
    return entry.get("type") == "message" and entry.get("role") == "assistant"


def estimate_context_tokens(messages: list[dict], last_usage: dict | None = None, overhead: int = 0) -> int:
    """Tokens the context occupies, preferring what the provider reported (pi's approach).

    `overhead` is what every request carries besides the messages (the tool definitions): counted
    when estimating, and already inside a reported usage.

    The last assistant message that did not fail covers everything up to and including itself with
    its `usage` (input + output); entries after it are estimated. `last_usage`, when given, is used
    as that message's usage (for callers whose dicts lack the field). Usage recorded before a
    `compaction` entry in `messages` described the pre-compaction context, so it is ignored then
    and everything is estimated.
    """
    anchor = None
    for i in range(len(messages) - 1, -1, -1):
        entry = messages[i]
        if entry.get("type") == "compaction":
            break
        if _is_assistant(entry) and entry.get("stop_reason") not in FAILED_STOP_REASONS:
            anchor = i
            break
    if anchor is None:
        return overhead + sum(estimate_tokens(m) for m in messages)
    reported = _usage_tokens(last_usage if last_usage is not None else messages[anchor].get("usage"))
    if reported <= 0:
        return overhead + sum(estimate_tokens(m) for m in messages)
    return reported + sum(estimate_tokens(m) for m in messages[anchor + 1 :])


# --------------------------------------------------------------------------------------------------
# Budgets


@dataclass(frozen=True)
class Budget:
    """Token budget of one model: compact above `threshold`, keep about `keep_recent` verbatim."""

    context_window: int
    reserve: int
    keep_recent: int
    threshold: int
    window_known: bool


def compute_budget(context_window: int | None, max_output: int | None) -> Budget:
    """Budget (docs/session-format.md): reserve = min(16384, max output),
    keep_recent = max(2000, (window - reserve) / 4).

    Unknown window: FALLBACK_CONTEXT_WINDOW is assumed and keep_recent is 20000. On tiny windows the
    reserve is capped at half the window so the threshold stays positive (otherwise every turn would
    try to compact), and keep_recent at half the threshold (otherwise the 2000-token floor keeps more
    than fits and compaction can never bring the context under the threshold).
    """
    known = bool(context_window and context_window > 0)
    window = context_window if known and context_window else FALLBACK_CONTEXT_WINDOW
    reserve = min(DEFAULT_RESERVE, max_output if max_output and max_output > 0 else DEFAULT_RESERVE)
    reserve = min(reserve, window // 2)
    keep_recent = max(MIN_KEEP_RECENT, (window - reserve) // 4) if known else UNKNOWN_WINDOW_KEEP_RECENT
    keep_recent = min(keep_recent, (window - reserve) // 2)
    return Budget(window, reserve, keep_recent, window - reserve, known)


def should_compact(context_tokens: int, budget: Budget) -> bool:
    """Auto-compaction fires once the context leaves less than `reserve` tokens for the reply."""
    return context_tokens > budget.threshold


# --------------------------------------------------------------------------------------------------
# Cut point


@dataclass
class CompactionPlan:
    """What one compaction removes and keeps.

    `messages_to_summarize` is the history before the cut's turn; when the cut splits a turn,
    `turn_prefix_messages` is the part of that turn before the cut, summarized separately so the
    kept suffix still has its request and early steps (pi's split-turn scheme).
    """

    first_kept_entry_id: str
    messages_to_summarize: list[dict]
    turn_prefix_messages: list[dict]
    kept_messages: list[dict]
    messages_removed: int
    tokens_before: int
    previous_compaction: dict | None = None
    previous_summary: str | None = None
    is_split_turn: bool = False

    @property
    def summarized_messages(self) -> list[dict]:
        """Every message leaving the context, in path order (for file tracking)."""
        return self.messages_to_summarize + self.turn_prefix_messages


def _is_context_item(entry: dict) -> bool:
    """Entries that become LLM messages (session-format.md): messages and branch summaries. The system
    prompt is not one of them here: it is sent first on every request, never summarized away."""
    if entry.get("type") == "message":
        return entry.get("role") != "system"
    return entry.get("type") == "branch_summary"


def is_turn_start(entry: dict) -> bool:
    """A turn begins at a user message or a branch summary (cuts that keep whole turns land here)."""
    return entry.get("type") == "branch_summary" or entry.get("role") == "user"


def _is_cut_point(entry: dict) -> bool:
    """A tool message must stay right after its assistant tool-call message: it never starts the kept part."""
    return entry.get("role") != "tool"


def _find_index(entries: list[dict], entry_id: Any) -> int | None:
    if not entry_id:
        return None
    for i, entry in enumerate(entries):
        if entry.get("id") == entry_id:
            return i
    return None


def _range_start(path_entries: list[dict], previous: dict | None) -> int:
    """Index where the current context's messages begin: the previous compaction's kept start.

    For compactions written without a parent (Go kit), the kept segment is not on the leaf's path;
    then the range starts right after the compaction unless the caller put the kept segment in
    `path_entries` itself.
    """
    if previous is None:
        return 0
    kept = _find_index(path_entries, previous.get("first_kept_entry_id"))
    if kept is not None:
        return kept
    at = _find_index(path_entries, previous.get("id"))
    if at is None:
        at = next((i for i, e in enumerate(path_entries) if e is previous), None)
    return at + 1 if at is not None else 0


def _budget_cut(items: list[dict], keep_recent: int) -> int | None:
    """Cut index keeping about `keep_recent` tokens, or None when everything fits.

    Walk back from the end until `keep_recent` is reached at item i. If the turn holding i fits
    within keep_recent on its own, keep it whole (cut at its user message: the kept part grows to
    at most 2 x keep_recent, well under the threshold). Otherwise the turn is oversized: cut at the
    first non-tool message at or after i (an assistant message splits the turn; keeping a little less
    than keep_recent beats keeping a huge tool result), or failing that the last one before i.
    """
    sizes = [estimate_tokens(e) for e in items]
    total = 0
    crossing = None
    for i in range(len(items) - 1, -1, -1):
        total += sizes[i]
        if total >= keep_recent:
            crossing = i
            break
    if crossing is None:
        return None
    turn_start = next((j for j in range(crossing, -1, -1) if is_turn_start(items[j])), None)
    if turn_start is not None:
        turn_end = next((j for j in range(crossing + 1, len(items)) if is_turn_start(items[j])), len(items))
        if sum(sizes[turn_start:turn_end]) <= keep_recent:
            return turn_start
    later = next((j for j in range(crossing, len(items)) if _is_cut_point(items[j])), None)
    if later is not None:
        return later
    return next((j for j in range(crossing - 1, -1, -1) if _is_cut_point(items[j])), None)


def _forced_cut(items: list[dict]) -> int | None:
    """Cut for `/compact` when everything fits: keep the last turn; a lone turn keeps its last step.

    A prompt not answered yet (the one a context overflow is being recovered for: it is written
    before the request) is not a turn of its own: the last answered turn is kept with it."""
    starts = [j for j in range(1, len(items)) if is_turn_start(items[j])]
    if len(starts) > 1 and starts[-1] == len(items) - 1 and items[-1].get("role") == "user":
        return starts[-2]
    if starts:
        return starts[-1]
    points = [j for j in range(1, len(items)) if _is_cut_point(items[j])]
    return points[-1] if points else None


def plan_compaction(
    path_entries: list[dict],
    budget: Budget,
    previous_compaction: dict | None = None,
    *,
    force: bool = False,
) -> CompactionPlan | None:
    """Choose what to summarize so about `budget.keep_recent` tokens stay verbatim.

    `path_entries` is the leaf's path (root -> leaf, wire dicts). `previous_compaction` defaults to
    the last compaction on the path; the messages considered start at its `first_kept_entry_id`,
    because everything before that is already in its summary. The cut lands on a user message (whole
    turns kept) or, for a turn larger than keep_recent, on an assistant message inside it; never on
    a tool message. `force` (the `/compact` command) compacts even when everything fits: it keeps
    the last turn, or with a single turn its last assistant step; a lone message cannot be compacted.
    Returns None when there is nothing to summarize.
    """
    if previous_compaction is None:
        previous_compaction = next((e for e in reversed(path_entries) if e.get("type") == "compaction"), None)
    start = _range_start(path_entries, previous_compaction)
    tail = path_entries[start:]
    items = [e for e in tail if _is_context_item(e)]

    cut = _budget_cut(items, budget.keep_recent)
    if (cut is None or cut == 0) and force:
        cut = _forced_cut(items)
    if cut is None or cut == 0:
        return None

    turn_start = next((j for j in range(cut, -1, -1) if is_turn_start(items[j])), None)
    split = turn_start is not None and turn_start != cut
    history_end = turn_start if split and turn_start is not None else cut
    history, prefix = items[:history_end], items[history_end:cut]

    context = [e for e in tail if _is_context_item(e) or e is previous_compaction]
    if previous_compaction is not None and not any(e is previous_compaction for e in tail):
        context.insert(0, previous_compaction)
    previous_summary = previous_compaction.get("summary") if previous_compaction else None
    return CompactionPlan(
        first_kept_entry_id=items[cut]["id"],
        messages_to_summarize=history,
        turn_prefix_messages=prefix,
        kept_messages=items[cut:],
        messages_removed=len(history) + len(prefix),
        tokens_before=estimate_context_tokens(context),
        previous_compaction=previous_compaction,
        previous_summary=previous_summary if isinstance(previous_summary, str) else None,
        is_split_turn=split,
    )


def estimate_tokens_after(plan: CompactionPlan, summary: str) -> int:
    """Estimated context right after compaction: the new summary plus the kept messages."""
    return math.ceil(_nbytes(summary) / 4) + sum(estimate_tokens(m) for m in plan.kept_messages)


# --------------------------------------------------------------------------------------------------
# File tracking


def _tool_calls(message: dict) -> list[dict]:
    if message.get("type") != "message":
        return []
    return [p.get("data") or {} for p in message.get("parts") or () if p.get("type") == "tool_call"]


def _failed_call_ids(messages: list[dict]) -> set[str]:
    failed: set[str] = set()
    for message in messages:
        for part in message.get("parts") or ():
            data = part.get("data") or {}
            if part.get("type") == "tool_result" and data.get("is_error"):
                failed.add(str(data.get("tool_call_id")))
    return failed


def _call_path(call: dict) -> str | None:
    try:
        args = json.loads(call.get("input") or "{}")
    except (TypeError, ValueError):
        return None
    path = args.get("path") if isinstance(args, dict) else None
    return path if isinstance(path, str) and path else None


def collect_file_ops(messages: list[dict], previous: dict | None) -> tuple[list[str], list[str]]:
    """Files read and modified by tool calls, cumulative with the previous compaction's lists.

    read/grep/ls read their `path`; write/edit modify it. Calls whose result is an error changed
    nothing and are skipped. A modified file is listed only as modified (pi semantics). Sorted.
    """
    read: set[str] = set()
    modified: set[str] = set()
    if previous:
        read.update(p for p in previous.get("read_files") or () if isinstance(p, str))
        modified.update(p for p in previous.get("modified_files") or () if isinstance(p, str))
    failed = _failed_call_ids(messages)
    for message in messages:
        for call in _tool_calls(message):
            name, path = call.get("name"), _call_path(call)
            if path is None or call.get("id") in failed:
                continue
            if name in _MODIFY_TOOLS:
                modified.add(path)
            elif name in _READ_TOOLS:
                read.add(path)
    return sorted(read - modified), sorted(modified)
