"""Branch summaries: what leaving a branch abandons, and the summary of it that the new branch keeps.

When the user moves to another point of the tree (`/tree`), the part of the old branch that the new
position does not share can be summarized into a `branch_summary` entry appended at the new position;
context building then sends it as `[Branch context: ...]`, so what was tried there is not lost.

Planning is pure (`abandoned_entries`, `branch_summary_request`); `summarize_branch` asks the model,
with the same transcript, system prompt, budget and file tracking as a compaction (prompts.py,
plan.py, runner.py), and writes nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kit_py import errors
from kit_py.compaction import plan as planner
from kit_py.compaction import prompts
from kit_py.compaction.runner import _summarize, budget_for

if TYPE_CHECKING:
    from kit_py.config import Settings
    from kit_py.session import Tree

Entry = dict[str, Any]

PREAMBLE = (
    "The user explored a different conversation branch before returning here.\n"
    "Summary of that exploration:\n\n"
)

BRANCH_SUMMARY_FORMAT = """## Goal
[What the user was trying to accomplish in this branch]

## Constraints & Preferences
- [Requirements and preferences stated, or "(none)"]

## Progress
### Done
- [x] [Completed work]

### In Progress
- [ ] [Work started but not finished]

### Blocked
- [Problems that stopped progress, or "(none)"]

## Key Decisions
- **[Decision]**: [Short rationale]

## Next Steps
1. [What should happen next to continue this work]"""

_INSTRUCTIONS = (
    "The text in <conversation> is a branch of a conversation that the user is leaving to continue "
    "from an earlier point. Summarize it so the work and findings of this branch are not lost, using "
    "exactly this format:"
)
_SUMMARIZED_TYPES = frozenset({"message", "branch_summary"})
PROMPT_TOKENS = 1000
"""Room left in the summarizer's window for the request's own words around the transcript."""


class BranchSummaryCancelled(KeyboardInterrupt):
    """Ctrl-C while the summary was requested: nothing was written and the leaf did not move.

    A KeyboardInterrupt, so every existing Ctrl-C handler still stops; `message` says what happened.
    """

    message = "summary cancelled; you stayed where you were"

    def __init__(self) -> None:
        super().__init__(self.message)


def abandoned_entries(tree: Tree, old_leaf: str | None, new_leaf: str | None) -> list[Entry]:
    """The entries on the path to `old_leaf` that the path to `new_leaf` does not share, oldest first.

    The walk from the old leaf stops at the deepest common ancestor, and at a `compaction` (what lies
    before it is summarized already). Empty when the new position continues the old one (it is
    `old_leaf` or descends from it) or there was no old position.
    """
    if old_leaf is None or old_leaf not in tree.by_id:
        return []
    shared = {e["id"] for e in tree.path(new_leaf)} if new_leaf is not None else set()
    out: list[Entry] = []
    node: str | None = old_leaf
    while node is not None and node not in shared:
        entry = tree.by_id[node]
        if entry.get("type") == "compaction":
            break
        out.append(entry)
        node = tree.parent_of(node)
    out.reverse()
    return out


def summarized(entries: list[Entry]) -> list[Entry]:
    """The entries of `entries` that a summary reads (messages and earlier branch summaries)."""
    return [e for e in entries if e.get("type") in _SUMMARIZED_TYPES]


def fitting(entries: list[Entry], budget_tokens: int) -> list[Entry]:
    """The newest `entries` whose estimated tokens fit `budget_tokens` (a branch longer than the
    summarizer's window keeps its end: where it was going matters most)."""
    kept: list[Entry] = []
    total = 0
    for entry in reversed(entries):
        tokens = planner.estimate_tokens(entry)
        if kept and total + tokens > budget_tokens:
            break
        kept.append(entry)
        total += tokens
    kept.reverse()
    return kept


def branch_summary_request(entries: list[Entry], instructions: str | None = None) -> list[dict[str, Any]]:
    """The chat request asking for the summary of an abandoned branch. `instructions` (the user's
    own words) replace the default format, so "just list the files it changed" is honoured."""
    transcript = prompts.serialize_for_summary(entries)
    asked = instructions.strip() if instructions and instructions.strip() else None
    task = asked or f"{_INSTRUCTIONS}\n\n{BRANCH_SUMMARY_FORMAT}\n\n{prompts._CLOSING}"
    text = f"<conversation>\n{transcript}\n</conversation>\n\n{task}"
    return [{"role": "system", "content": prompts.SUMMARY_SYSTEM_PROMPT}, {"role": "user", "content": text}]


def summarize_branch(entries: list[Entry], settings: Settings, instructions: str | None = None) -> str | None:
    """The `branch_summary` text for the abandoned `entries` (None when they hold no message), with
    the files their tool calls read and modified appended. Writes nothing.

    Raises BranchSummaryCancelled on Ctrl-C and KitError when the model fails or answers nothing.
    """
    readable = summarized(entries)
    if not any(e.get("type") == "message" for e in readable):
        return None
    budget = budget_for(settings)
    shown = fitting(readable, max(1, budget.threshold - PROMPT_TOKENS))
    try:
        text = _summarize(branch_summary_request(shown, instructions), settings, budget)
    except KeyboardInterrupt:
        raise BranchSummaryCancelled() from None
    if not text.strip():
        raise errors.AgentError("the model returned an empty summary")
    read, modified = planner.collect_file_ops(readable, None)
    return prompts.finalize_summary(PREAMBLE + text.strip(), read, modified)
