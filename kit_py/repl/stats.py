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
