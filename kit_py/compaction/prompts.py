"""Summary prompts: the transcript the summarizer reads, the requests sent, and the summary text kept.

Pure like plan.py, whose `CompactionPlan` it turns into chat requests (session-format.md): a sectioned
summary (Goal, Constraints & Preferences, Progress, Key Decisions, Next Steps, Critical Context),
updated incrementally from the previous one, plus a turn-prefix summary when the cut splits a turn.
Tool results go into the transcript truncated to TOOL_OUTPUT_LIMIT characters.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from kit_py.compaction.plan import CompactionPlan

TOOL_OUTPUT_LIMIT = 2000


# --------------------------------------------------------------------------------------------------
# Serialization for the summarizer


def _truncate(text: str, limit: int = TOOL_OUTPUT_LIMIT) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}\n[... {len(text) - limit} more characters truncated]"


def _format_call(call: dict) -> str:
    """`name(key=value, ...)`; long arguments (file contents for write) are truncated like outputs."""
    raw = call.get("input") or ""
    try:
        args = json.loads(raw) if raw else {}
    except (TypeError, ValueError):
        args = raw
    if isinstance(args, dict):
        shown = ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in args.items())
    else:
        shown = str(args)
    return f"{call.get('name', '?')}({_truncate(shown)})"


_ROLE_LABELS = {"user": "User", "assistant": "Assistant", "system": "System"}


def _serialize_one(entry: dict) -> list[str]:
    if entry.get("type") == "branch_summary":
        return [f"[Branch summary]: {entry.get('summary', '')}"]
    if entry.get("type") != "message":
        return []
    label = _ROLE_LABELS.get(entry.get("role", ""), "Tool")
    lines = []
    for part in entry.get("parts") or ():
        data = part.get("data") or {}
        ptype = part.get("type")
        if ptype == "text" and data.get("text"):
            lines.append(f"[{label}]: {data['text']}")
        elif ptype == "reasoning" and data.get("thinking"):
            lines.append(f"[{label} thinking]: {data['thinking']}")
        elif ptype == "tool_call":
            lines.append(f"[{label} tool call]: {_format_call(data)}")
        elif ptype == "tool_result":
            error = " (error)" if data.get("is_error") else ""
            content = data["content"] if isinstance(data.get("content"), str) else ""
            lines.append(f"[Tool result {data.get('name', '?')}{error}]: {_truncate(content)}")
        elif ptype == "image":
            lines.append(f"[{label} image: {data.get('media_type', 'unknown type')}]")
    return lines


def serialize_for_summary(messages: list[dict]) -> str:
    """Readable transcript of entries for the summarizer, tool results included but truncated.

    A transcript (rather than replayed chat turns) keeps the summarizer from continuing the
    conversation. Tool outputs and tool-call arguments are cut at TOOL_OUTPUT_LIMIT characters.
    """
    return "\n\n".join(line for entry in messages for line in _serialize_one(entry))


# --------------------------------------------------------------------------------------------------
# Prompts

SUMMARY_SYSTEM_PROMPT = (
    "You are a context summarization assistant. You read a transcript of a conversation between a "
    "user and an AI coding assistant and write a structured summary that another instance of the "
    "assistant will use to continue the work without seeing the original messages. Do not continue "
    "the conversation, do not answer questions in it and do not call tools: output only the summary."
)

SUMMARY_FORMAT = """## Goal
[What the user wants to accomplish; several items if the session covers several tasks.]

## Constraints & Preferences
- [Requirements, constraints and preferences the user stated, or "(none)"]

## Progress
### Done
- [x] [Completed work]

### In Progress
- [ ] [Work under way]

### Blocked
- [Open problems preventing progress, or "(none)"]

## Key Decisions
- **[Decision]**: [Short rationale]

## Next Steps
1. [What should happen next, in order]

## Critical Context
- [Data, examples, references, exact values needed to continue, or "(none)"]"""

_CLOSING = (
    "Keep every section concise. Preserve exact file paths, function and variable names, commands "
    "and error messages."
)

_NEW_INSTRUCTIONS = (
    "The text in <conversation> is a conversation to summarize. Write a structured checkpoint "
    "summary of it using exactly this format, with these section headers:"
)

_UPDATE_INSTRUCTIONS = """The text in <conversation> is NEW conversation that happened after the summary in \
<previous-summary>. Update that summary with it:
- keep all information of the previous summary that is still relevant;
- add the new goals, constraints, progress, decisions and context;
- move items from "In Progress" to "Done" when they were completed, and drop blockers that were resolved;
- rewrite "Next Steps" for the current state.

Output the complete merged summary using exactly this format, with these section headers:"""

TURN_PREFIX_FORMAT = """## Original Request
[What the user asked for in this turn]

## Early Progress
- [Steps taken and results obtained in this part of the turn]

## Context for Suffix
- [What is needed to understand the rest of the turn that follows]"""

_TURN_PREFIX_INSTRUCTIONS = (
    "The text in <conversation> is the FIRST PART of a single turn that was too long to keep whole; "
    "the rest of the turn is kept verbatim after your summary. Summarize this first part so the "
    "kept remainder makes sense, using exactly this format:"
)

_FILE_LIST_RE = re.compile(r"\n*<(read-files|modified-files)>.*?</\1>", re.DOTALL)


def _strip_file_lists(summary: str) -> str:
    """Drop the file lists finalize_summary appended: they are re-derived, not re-summarized."""
    return _FILE_LIST_RE.sub("", summary).strip()


def _focus_line(focus: str | None) -> str:
    return f"\n\nFocus especially on: {focus.strip()}" if focus and focus.strip() else ""


def build_summary_request(
    transcript: str, previous_summary: str | None = None, focus: str | None = None
) -> list[dict]:
    """Chat messages asking for the sectioned summary; with `previous_summary`, an incremental update."""
    text = f"<conversation>\n{transcript}\n</conversation>\n\n"
    if previous_summary:
        text += f"<previous-summary>\n{_strip_file_lists(previous_summary)}\n</previous-summary>\n\n"
        text += _UPDATE_INSTRUCTIONS
    else:
        text += _NEW_INSTRUCTIONS
    text += f"\n\n{SUMMARY_FORMAT}\n\n{_CLOSING}{_focus_line(focus)}"
    return [{"role": "system", "content": SUMMARY_SYSTEM_PROMPT}, {"role": "user", "content": text}]


def build_turn_prefix_request(transcript: str, focus: str | None = None) -> list[dict]:
    """Chat messages asking to summarize the part of a split turn that precedes the cut."""
    text = (
        f"<conversation>\n{transcript}\n</conversation>\n\n{_TURN_PREFIX_INSTRUCTIONS}\n\n"
        f"{TURN_PREFIX_FORMAT}\n\n{_CLOSING}{_focus_line(focus)}"
    )
    return [{"role": "system", "content": SUMMARY_SYSTEM_PROMPT}, {"role": "user", "content": text}]


@dataclass(frozen=True)
class SummaryRequests:
    """The LLM calls one plan needs; None where that part has nothing to summarize."""

    history: list[dict] | None
    turn_prefix: list[dict] | None


def summary_requests(plan: CompactionPlan, focus: str | None = None) -> SummaryRequests:
    """Requests for a plan: the (updated) history summary and, for a split turn, the turn prefix.

    With no history before a split turn, no history request is made and combine_summaries reuses
    the previous summary unchanged.
    """
    history = None
    if plan.messages_to_summarize:
        history = build_summary_request(
            serialize_for_summary(plan.messages_to_summarize), plan.previous_summary, focus
        )
    prefix = None
    if plan.turn_prefix_messages:
        prefix = build_turn_prefix_request(serialize_for_summary(plan.turn_prefix_messages), focus)
    return SummaryRequests(history, prefix)


def combine_summaries(
    plan: CompactionPlan, history_summary: str | None, turn_prefix_summary: str | None
) -> str:
    """One summary text from the answers to summary_requests (history first, then the turn prefix)."""
    history = (history_summary or "").strip()
    if not history and plan.previous_summary:
        history = _strip_file_lists(plan.previous_summary)
    prefix = (turn_prefix_summary or "").strip()
    if not prefix:
        return history
    part = f"**Turn context (the kept turn began earlier):**\n\n{prefix}"
    return f"{history}\n\n---\n\n{part}" if history else part


def finalize_summary(summary_text: str, read_files: list[str], modified_files: list[str]) -> str:
    """Append the cumulative file lists so they survive into the next context and compaction."""
    text = _strip_file_lists(summary_text)
    if read_files:
        text += "\n\n<read-files>\n" + "\n".join(read_files) + "\n</read-files>"
    if modified_files:
        text += "\n\n<modified-files>\n" + "\n".join(modified_files) + "\n</modified-files>"
    return text
