"""Compaction planning (compaction/plan.py) cases found by mutation testing."""

from __future__ import annotations

from kit_py.compaction.plan import CompactionPlan, estimate_tokens, estimate_tokens_after, plan_compaction
from tests.test_compaction_plan import Conv, budget, text_part


def test_a_forced_compaction_with_one_answered_turn_and_a_waiting_prompt_summarizes_that_turn() -> None:
    """Overflow recovery: the prompt is written before the request that overflowed."""
    conv = Conv()
    conv.user("first question")
    conv.assistant("first answer")
    waiting = conv.user("a prompt too long for the window")
    plan = plan_compaction(conv.entries, budget(20_000), force=True)
    assert plan is not None and plan.first_kept_entry_id == waiting["id"]
    assert [m["role"] for m in plan.messages_to_summarize] == ["user", "assistant"]


def test_a_forced_compaction_keeps_the_last_answered_turn_with_a_waiting_prompt() -> None:
    conv = Conv()
    conv.user("first question")
    conv.assistant("first answer")
    second = conv.user("second question")
    conv.assistant("second answer")
    conv.user("a prompt too long for the window")
    plan = plan_compaction(conv.entries, budget(20_000), force=True)
    assert plan is not None and plan.first_kept_entry_id == second["id"]
    assert plan.messages_removed == 2


def ten_token_turns(count: int) -> tuple[Conv, list[dict]]:
    """Turns whose user and assistant messages are exactly 10 tokens each (40 bytes)."""
    conv = Conv()
    users = []
    for i in range(count):
        users.append(conv.user(f"q{i}".ljust(40, ".")))
        conv.assistant(f"a{i}".ljust(40, "."))
    return conv, users


def test_the_cut_keeps_exactly_keep_recent_tokens_when_whole_turns_add_up_to_it() -> None:
    conv, users = ten_token_turns(2)
    plan = plan_compaction(conv.entries, budget(20))
    assert plan is not None and plan.first_kept_entry_id == users[1]["id"]


def test_a_turn_that_fits_in_keep_recent_is_kept_whole_even_when_the_cut_falls_inside_it() -> None:
    conv, _users = ten_token_turns(2)
    assert plan_compaction(conv.entries, budget(25)) is None  # only the first turn's answer would go


def test_an_oversized_first_turn_is_split_at_its_answer() -> None:
    conv = Conv()
    conv.user("q".ljust(40, "."))
    answer = conv.assistant("a".ljust(120, "."))  # 30 tokens: the first turn alone is over 20
    conv.user("next".ljust(20, "."))
    conv.assistant("ok".ljust(20, "."))
    plan = plan_compaction(conv.entries, budget(20))
    assert plan is not None and plan.first_kept_entry_id == answer["id"] and plan.is_split_turn


def test_an_image_counts_1200_tokens_and_the_summary_adds_to_the_kept_messages() -> None:
    image = {"type": "image", "data": {"data": "AAAA", "media_type": "image/png"}}
    message = {"type": "message", "role": "user", "parts": [text_part("abcd"), image]}
    assert estimate_tokens(message) == 1 + 1200
    plan = CompactionPlan("00000000000000aa", [], [], [message], 1, 10)
    assert estimate_tokens_after(plan, "wxyz") == 1 + 1201
