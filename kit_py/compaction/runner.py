"""Running a compaction: plan (plan.py), summarize (prompts.py, kit_py.llm), append ONE `compaction` entry.

Faces call `compact_session` for `/compact [focus]`; the turn loop (kit_py.engine) calls it before a turn
whose context would pass the threshold (`settings.auto_compact`) and after a provider context-overflow
error. Nothing is deleted: the entry is appended as a child of the current leaf and context building
(session-format.md) replaces the old messages with its summary. Until the summary arrives nothing is
written, so a failure or Ctrl-C leaves the session exactly as it was.

The context window comes from litellm's model info; the `context_window` setting (config key in
`~/.kit.yml` / `./.kit.yml`) overrides it, e.g. for local models litellm does not know.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kit_py import errors, llm
from kit_py.compaction import plan as planner
from kit_py.compaction import prompts
from kit_py.config import Settings
from kit_py.session import format as fmt
from kit_py.session.context import kept_segment

if TYPE_CHECKING:
    from kit_py.session import SessionManager

ProgressCallback = Callable[[str], None]

# pi's share of the reserve the summary may use: leaves room for the request framing.
SUMMARY_OUTPUT_SHARE = 0.8


@dataclass
class CompactionOutcome:
    """What one compaction did; `entry` is the appended `compaction` entry as stored."""

    summary: str
    messages_removed: int
    tokens_before: int
    tokens_after: int
    entry: dict[str, Any]

    def describe(self) -> str:
        """The one line faces show: "compacted: N messages -> summary, T1 -> T2 tokens"."""
        return (
            f"compacted: {self.messages_removed} messages -> summary, "
            f"{self.tokens_before} -> {self.tokens_after} tokens"
        )


class CompactionCancelled(KeyboardInterrupt):
    """Ctrl-C while the summary was requested: nothing was appended.

    A KeyboardInterrupt, so every existing Ctrl-C handler still stops; `message` says what happened.
    """

    message = "compaction cancelled; nothing was compacted"

    def __init__(self) -> None:
        super().__init__(self.message)


def budget_for(settings: Settings) -> planner.Budget:
    """The model's budget (session-format.md); `settings.context_window` beats litellm's model info."""
    window, max_output = llm.model_limits(settings.model)
    if settings.context_window:
        window = settings.context_window
    return planner.compute_budget(window, max_output)


def context_tokens(session: SessionManager, pending: list[dict[str, Any]], overhead: int = 0) -> int:
    """Estimated tokens of the next request: the session's context plus `pending` messages, plus
    `overhead` (the tool definitions) when no reported usage already covers it.

    Provider usage recorded on a kept message describes the context BEFORE the last compaction, so
    the compaction entry is placed after the kept segment: only usage reported after it counts.
    """
    ctx = session.build_context()
    messages: list[dict[str, Any]] = list(ctx.messages)
    if ctx.compaction is not None:
        comp_id = ctx.compaction["id"]
        path_ids = [e["id"] for e in session.path_entries()]
        later = set(path_ids[path_ids.index(comp_id) + 1 :]) if comp_id in path_ids else set()
        pairs = list(zip(ctx.messages, ctx.entry_ids, strict=True))
        kept = [m for m, eid in pairs if eid != comp_id and eid not in later]
        after = [m for m, eid in pairs if eid in later]
        messages = [*kept, ctx.compaction, *after]
    return planner.estimate_context_tokens(messages + pending, overhead=overhead)


def over_threshold(session: SessionManager, settings: Settings, pending: list[dict[str, Any]]) -> bool:
    """Auto-compaction test: would the next request leave less than the reserve for the answer?"""
    return planner.should_compact(context_tokens(session, pending), budget_for(settings))


def without_images(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Copies of `messages` without image parts (the overflow retry leaves attachments out)."""
    out = []
    for message in messages:
        parts = message.get("parts") or []
        if any(p.get("type") == "image" for p in parts):
            message = {**message, "parts": [p for p in parts if p.get("type") != "image"]}
        out.append(message)
    return out


def compact_session(
    session: SessionManager,
    settings: Settings,
    *,
    focus: str | None = None,
    force: bool = True,
    on_progress: ProgressCallback | None = None,
) -> CompactionOutcome | None:
    """Summarize the older part of the current path and append one `compaction` entry.

    `force` (the `/compact` command, overflow recovery) compacts even when the context fits the
    budget; otherwise only what exceeds `keep_recent` goes. `focus` is extra guidance for the
    summarizer. `on_progress` gets a short line before each model request (for a spinner).
    Returns None when there is nothing to compact (an empty or one-message conversation).
    Raises CompactionCancelled on Ctrl-C and KitError when the summary request fails; in both
    cases nothing was written.
    """
    budget = budget_for(settings)
    path = session.path_entries()
    plan = planner.plan_compaction(_planning_path(session, path), budget, force=force)
    if plan is not None:
        plan = _cut_on_path(plan, {e["id"] for e in path})
    if plan is None:
        return None
    requests = prompts.summary_requests(plan, focus)
    notify = on_progress or (lambda text: None)
    try:
        history = None
        if requests.history is not None:
            notify(f"summarizing {len(plan.messages_to_summarize)} messages")
            history = _summarize(requests.history, settings, budget)
        prefix = None
        if requests.turn_prefix is not None:
            notify(f"summarizing the start of a long turn ({len(plan.turn_prefix_messages)} messages)")
            prefix = _summarize(requests.turn_prefix, settings, budget)
    except KeyboardInterrupt:
        raise CompactionCancelled() from None
    for asked, answer in ((requests.history, history), (requests.turn_prefix, prefix)):
        if asked is not None and not (answer or "").strip():
            raise errors.AgentError("the model returned an empty summary; nothing was compacted")
    text = prompts.combine_summaries(plan, history, prefix)
    read, modified = planner.collect_file_ops(plan.summarized_messages, plan.previous_compaction)
    summary = prompts.finalize_summary(text, read, modified)
    tokens_after = planner.estimate_tokens_after(plan, summary)
    if tokens_after >= plan.tokens_before:  # a summary longer than what it replaces helps nobody
        raise errors.AgentError(
            f"the summary would not shrink the conversation ({plan.tokens_before} -> {tokens_after} "
            "tokens); nothing was compacted"
        )
    entry = session.append(
        fmt.compaction(
            summary=summary,
            first_kept_entry_id=plan.first_kept_entry_id,
            tokens_before=plan.tokens_before,
            tokens_after=tokens_after,
            messages_removed=plan.messages_removed,
            read_files=read,
            modified_files=modified,
        )
    )
    session.sync()
    return CompactionOutcome(summary, plan.messages_removed, plan.tokens_before, tokens_after, entry)


def _summarize(messages: list[dict[str, Any]], settings: Settings, budget: planner.Budget) -> str:
    max_tokens = max(256, math.floor(budget.reserve * SUMMARY_OUTPUT_SHARE))
    if settings.compaction_model:  # the reserve is the chat model's; the summarizer may allow less
        _window, summarizer_output = llm.model_limits(settings.compaction_model)
        max_tokens = min(max_tokens, summarizer_output or max_tokens)
    request = llm.LLMRequest(
        model=settings.compaction_model or settings.model,
        messages=messages,
        api_base=settings.api_base,
        api_key=settings.api_key,
        max_tokens=max_tokens,
        timeout=settings.timeout,
        max_retries=settings.max_retries,
    )
    text, _usage = llm.complete_text(request)
    return text


def _planning_path(session: SessionManager, path: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The path, preceded by the kept segment of a Go kit ROOT compaction (not on the path itself)."""
    if not path or path[0].get("type") != "compaction" or path[0].get("parent_id"):
        return path
    return kept_segment(session.tree, path[0]) + path


def _cut_on_path(plan: planner.CompactionPlan, on_path: set[str]) -> planner.CompactionPlan | None:
    """Keep the cut on the leaf's own path.

    Our entry has a parent, so its kept segment is looked up on its path (session-format.md). A cut inside
    the kept segment of a Go kit root compaction (which lies off that path) moves to the first turn
    after it: the rest of that segment is summarized too.
    """
    if plan.first_kept_entry_id in on_path:
        return plan
    kept = plan.kept_messages
    start = next(
        (i for i, m in enumerate(kept) if m["id"] in on_path and planner.is_turn_start(m)),
        None,
    )
    if start is None:
        return None
    history = plan.messages_to_summarize + plan.turn_prefix_messages + kept[:start]
    return dataclasses.replace(
        plan,
        first_kept_entry_id=kept[start]["id"],
        messages_to_summarize=history,
        turn_prefix_messages=[],
        kept_messages=kept[start:],
        messages_removed=len(history),
        is_split_turn=False,
    )
