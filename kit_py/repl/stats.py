"""Numbers about a session for the status line, /session and /usage: tokens and cost.

Pure functions over entry dicts; the REPL caches their results per leaf so the toolbar stays cheap.
"""

from __future__ import annotations

from typing import Any

from kit_py.llm import Usage
from kit_py.llm.types import UsageTotals, format_cost, usage_totals

__all__ = [
    "UsageTotals",
    "cached_percent",
    "fit_segments",
    "format_cost",
    "human_tokens",
    "last_answer_usage",
    "session_cost",
    "usage_totals",
]

Entry = dict[str, Any]


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
    """1234 -> '1.2k', 200000 -> '200k', 2500000 -> '2.5M'."""
    if count >= 1_000_000:
        return f"{count / 1_000_000:.1f}".removesuffix(".0") + "M"
    if count >= 1000:
        return f"{count / 1000:.1f}".removesuffix(".0") + "k"
    return str(count)


def session_cost(totals: UsageTotals) -> str:
    """What the session cost so far: `$0` before any answer, `n/a` when the provider's price is
    unknown (the status line and /usage say the same)."""
    return "$0" if totals.answers == 0 else format_cost(totals.cost_usd)


def fit_segments(
    segments: list[tuple[str, str]], width: int, drop_order: tuple[str, ...]
) -> list[tuple[str, str]]:
    """Named status-line segments that fit in `width` columns: whole segments are dropped in
    `drop_order` (never cut mid-number); the first segment is shortened with … as a last resort."""
    kept = list(segments)
    for name in drop_order:
        if sum(len(text) for _, text in kept) <= width:
            break
        kept = [(n, t) for n, t in kept if n != name]
    overflow = sum(len(text) for _, text in kept) - width
    if overflow > 0 and kept:
        name, text = kept[0]
        kept[0] = (name, text[: max(1, len(text) - overflow - 1)] + "…")
    return kept
