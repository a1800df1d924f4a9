"""Numbers about a session for the status line, /session and /usage: tokens and cost.

Pure functions over entry dicts; the REPL caches their results per leaf so the toolbar stays cheap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kit_py.llm import Usage

Entry = dict[str, Any]


@dataclass
class UsageTotals(Usage):
    """Usage summed over a session, with how many messages and answers it took."""

    messages: int = 0
    answers: int = 0


def usage_totals(entries: list[Entry]) -> UsageTotals:
    """Sum the usage of every assistant message in the session (all branches: it is what was paid)."""
    totals = UsageTotals()
    for entry in entries:
        if entry.get("type") != "message":
            continue
        totals.messages += 1
        if entry.get("role") != "assistant":
            continue
        totals.answers += 1
        usage = entry.get("usage")
        if isinstance(usage, dict):
            totals.add(Usage.from_dict(usage))
    return totals


def last_answer_usage(entries: list[Entry]) -> Usage | None:
    """The usage of the latest answer that reported input tokens (any branch: the latest request)."""
    for entry in reversed(entries):
        if entry.get("type") == "message" and entry.get("role") == "assistant":
            usage = entry.get("usage")
            if isinstance(usage, dict) and int(usage.get("input_tokens") or 0) > 0:
                return Usage.from_dict(usage)
    return None


def cached_percent(usage: Usage | None) -> int | None:
    """Cache reads as a share of input tokens, in percent (input tokens count the cached ones too);
    None when nothing was read from the cache."""
    if usage is None or usage.input_tokens <= 0 or usage.cache_read_tokens <= 0:
        return None
    return round(100 * min(usage.cache_read_tokens, usage.input_tokens) / usage.input_tokens)


def human_tokens(count: int) -> str:
    """1234 -> '1.2k', 2500000 -> '2.5M'."""
    if count >= 1_000_000:
        return f"{count / 1_000_000:.1f}M"
    if count >= 1000:
        return f"{count / 1000:.1f}k"
    return str(count)


def format_cost(cost: float | None) -> str:
    """Dollars with sensible precision; 'n/a' when the provider's price is unknown."""
    if cost is None:
        return "n/a"
    return f"${cost:.4f}" if cost < 1 else f"${cost:.2f}"
