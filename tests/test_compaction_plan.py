"""Compaction planning: budgets, estimates, cut points, split turns, file tracking and prompts."""

from __future__ import annotations

import itertools
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from kit_py.compaction.plan import (
    IMAGE_TOKENS,
    Budget,
    CompactionPlan,
    collect_file_ops,
    compute_budget,
    estimate_context_tokens,
    estimate_tokens,
    estimate_tokens_after,
    plan_compaction,
    should_compact,
)
from kit_py.compaction.prompts import (
    combine_summaries,
    finalize_summary,
    serialize_for_summary,
    summary_requests,
)

SECTIONS = [
    "## Goal",
    "## Constraints & Preferences",
    "## Progress",
    "### Done",
    "### In Progress",
    "### Blocked",
    "## Key Decisions",
    "## Next Steps",
    "## Critical Context",
]


class Conv:
    """Builds a linear path of wire-format entries with sequential ids."""

    def __init__(self) -> None:
        self.entries: list[dict] = []
        self._ids = itertools.count(1)
        self._calls = itertools.count(1)

    def _add(self, entry: dict) -> dict:
        entry["id"] = f"{next(self._ids):016x}"
        entry["timestamp"] = "2026-01-01T00:00:00Z"
        if self.entries:
            entry["parent_id"] = self.entries[-1]["id"]
        self.entries.append(entry)
        return entry

    def msg(self, role: str, *parts: dict, **extra: object) -> dict:
        return self._add({"type": "message", "role": role, "parts": list(parts), **extra})

    def user(self, text: str) -> dict:
        return self.msg("user", text_part(text))

    def assistant(self, text: str, **extra: object) -> dict:
        return self.msg("assistant", text_part(text), **extra)

    def step(self, calls: list[tuple[str, dict]], output: str = "ok", is_error: bool = False) -> list[dict]:
        """One assistant step with tool calls followed by the tool message holding all results."""
        ids = [f"call_{next(self._calls)}" for _ in calls]
        assistant = self.msg(
            "assistant",
            *[
                {
                    "type": "tool_call",
                    "data": {"id": cid, "name": name, "input": json.dumps(args), "finished": True},
                }
                for cid, (name, args) in zip(ids, calls, strict=True)
            ],
        )
        tool = self.msg(
            "tool",
            *[
                {
                    "type": "tool_result",
                    "data": {"tool_call_id": cid, "name": name, "content": output, "is_error": is_error},
                }
                for cid, (name, _) in zip(ids, calls, strict=True)
            ],
        )
        return [assistant, tool]

    def compaction(self, summary: str, first_kept: str, **extra: object) -> dict:
        return self._add(
            {
                "type": "compaction",
                "summary": summary,
                "first_kept_entry_id": first_kept,
                "tokens_before": 0,
                "tokens_after": 0,
                "messages_removed": 0,
                "read_files": [],
                "modified_files": [],
                **extra,
            }
        )


def text_part(text: str) -> dict:
    return {"type": "text", "data": {"text": text}}


def budget(keep_recent: int) -> Budget:
    return Budget(
        context_window=100_000, reserve=1000, keep_recent=keep_recent, threshold=99_000, window_known=True
    )


def turns(conv: Conv, count: int, size: int, tag: str = "") -> list[dict]:
    """`count` plain turns of ~size tokens each (user + assistant); returns the user messages."""
    users = []
    for i in range(count):
        users.append(conv.user(f"{tag}q{i} " + "u" * (size * 2)))
        conv.assistant(f"a{i} " + "a" * (size * 2))
    return users


# ---------------------------------------------------------------------------- budgets


def test_budget_from_known_window_and_max_output():
    b = compute_budget(200_000, 64_000)
    assert (b.reserve, b.keep_recent, b.threshold, b.window_known) == (
        16384,
        (200_000 - 16384) // 4,
        200_000 - 16384,
        True,
    )
    small_output = compute_budget(128_000, 4096)
    assert small_output.reserve == 4096
    assert small_output.keep_recent == (128_000 - 4096) // 4
    assert small_output.threshold == 128_000 - 4096


def test_budget_unknown_window_uses_fallback_and_20000_keep_recent():
    b = compute_budget(None, None)
    assert b.window_known is False
    assert b.context_window == 128_000
    assert b.reserve == 16384
    assert b.keep_recent == 20_000
    assert b.threshold == 128_000 - 16384
    assert compute_budget(0, 0).keep_recent == 20_000


def test_budget_small_window_keeps_positive_threshold_and_min_keep_recent():
    b = compute_budget(8000, None)
    assert b.threshold > 0
    assert b.keep_recent == 2000
    assert should_compact(b.threshold + 1, b)
    assert not should_compact(b.threshold, b)
    tiny = compute_budget(2000, None)
    assert tiny.keep_recent <= tiny.threshold // 2, "what is kept must fit well under the threshold"


# ---------------------------------------------------------------------------- estimates


def test_estimate_counts_bytes_over_four_for_every_part_kind():
    conv = Conv()
    user = conv.msg(
        "user",
        text_part("é" * 10),
        {"type": "image", "data": {"data": "A" * 100_000, "media_type": "image/png"}},
    )
    assert estimate_tokens(user) == 5 + IMAGE_TOKENS  # 20 UTF-8 bytes; the image is not its base64 size
    assistant = conv.msg(
        "assistant",
        {"type": "reasoning", "data": {"thinking": "t" * 40}},
        {"type": "tool_call", "data": {"id": "c", "name": "read", "input": '{"path":"a"}', "finished": True}},
    )
    assert estimate_tokens(assistant) == (40 + 4 + 12 + 3) // 4
    tool = conv.msg(
        "tool",
        {
            "type": "tool_result",
            "data": {"tool_call_id": "c", "name": "read", "content": "x" * 401, "is_error": False},
        },
    )
    assert estimate_tokens(tool) == 101


def test_context_estimate_without_usage_sums_estimates():
    conv = Conv()
    conv.user("u" * 400)
    conv.assistant("a" * 800)
    assert estimate_context_tokens(conv.entries) == 300


def test_context_estimate_uses_last_reported_usage_plus_trailing_estimates():
    conv = Conv()
    conv.user("u" * 400)
    conv.assistant("a" * 40, usage={"input_tokens": 900, "output_tokens": 10})
    conv.user("u" * 4000)
    conv.assistant("a" * 40, usage={"input_tokens": 5000, "output_tokens": 100})
    conv.msg(
        "tool",
        {
            "type": "tool_result",
            "data": {"tool_call_id": "c", "name": "ls", "content": "x" * 400, "is_error": False},
        },
    )
    assert estimate_context_tokens(conv.entries) == 5100 + 100
    # an aborted reply has no trustworthy usage: the previous one covers up to itself
    conv.assistant("a" * 40, usage={"input_tokens": 1, "output_tokens": 1}, stop_reason="aborted")
    assert estimate_context_tokens(conv.entries) == 5100 + 100 + 10
    assert (
        estimate_context_tokens(conv.entries, last_usage={"input_tokens": 7000, "output_tokens": 0})
        == 7000 + 110
    )


def test_usage_from_before_a_compaction_is_ignored():
    conv = Conv()
    first = conv.user("u" * 400)
    conv.assistant("a" * 400, usage={"input_tokens": 90_000, "output_tokens": 100})
    conv.compaction("s" * 400, first["id"])
    conv.user("u" * 400)
    assert estimate_context_tokens(conv.entries) == 400


# ---------------------------------------------------------------------------- cut point


def test_plan_keeps_whole_recent_turns_and_summarizes_the_rest():
    conv = Conv()
    users = turns(conv, 6, 1000)
    plan = plan_compaction(conv.entries, budget(2500))
    assert plan is not None
    # each turn is ~1000 tokens: walking back crosses 2500 inside turn 4, which fits, so it is kept whole
    assert plan.first_kept_entry_id == users[3]["id"]
    assert not plan.is_split_turn and plan.turn_prefix_messages == []
    assert [m["id"] for m in plan.messages_to_summarize] == [e["id"] for e in conv.entries[:6]]
    assert plan.messages_removed == 6
    assert plan.tokens_before == estimate_context_tokens(conv.entries)
    assert plan.kept_messages == conv.entries[6:]


def test_nothing_to_summarize_returns_none_unless_forced():
    conv = Conv()
    users = turns(conv, 3, 10)
    assert plan_compaction(conv.entries, budget(20_000)) is None
    forced = plan_compaction(conv.entries, budget(20_000), force=True)
    assert forced is not None
    assert forced.first_kept_entry_id == users[-1]["id"]
    assert forced.messages_removed == 4


def test_force_on_a_single_turn_keeps_its_last_step():
    conv = Conv()
    conv.user("fix it")
    conv.step([("read", {"path": "a.py"})])
    last = conv.assistant("done")
    plan = plan_compaction(conv.entries, budget(20_000), force=True)
    assert plan is not None
    assert plan.first_kept_entry_id == last["id"]
    assert plan.is_split_turn
    assert [m["role"] for m in plan.turn_prefix_messages] == ["user", "assistant", "tool"]
    assert plan.messages_to_summarize == []

    lone = Conv()
    lone.user("hi")
    assert plan_compaction(lone.entries, budget(20_000), force=True) is None


def test_oversized_turn_is_split_at_an_assistant_message():
    conv = Conv()
    turns(conv, 2, 500)
    request = conv.user("refactor everything")
    for i in range(10):
        conv.step([("read", {"path": f"f{i}.py"})], output="x" * 4000)  # ~1000 tokens per step
    conv.assistant("finished")
    plan = plan_compaction(conv.entries, budget(2500))
    assert plan is not None
    assert plan.is_split_turn
    kept_first = plan.kept_messages[0]
    assert kept_first["role"] == "assistant" and kept_first["id"] == plan.first_kept_entry_id
    assert plan.turn_prefix_messages[0] is request
    assert [m["role"] for m in plan.messages_to_summarize] == ["user", "assistant"] * 2
    assert plan.messages_removed == len(plan.messages_to_summarize) + len(plan.turn_prefix_messages)
    # the walk crosses 2500 inside a step; the cut moves forward to the next assistant message
    kept_tokens = sum(estimate_tokens(m) for m in plan.kept_messages)
    assert 2500 - 1100 < kept_tokens < 2500

    requests = summary_requests(plan, focus=None)
    assert requests.history is not None and requests.turn_prefix is not None
    assert "refactor everything" in requests.turn_prefix[1]["content"]
    assert "refactor everything" not in requests.history[1]["content"]
    combined = combine_summaries(plan, "HISTORY", "PREFIX")
    assert combined.index("HISTORY") < combined.index("PREFIX")


def test_second_compaction_starts_at_previous_kept_point_and_updates_previous_summary():
    conv = Conv()
    users = turns(conv, 4, 1000)
    previous = conv.compaction(
        "## Goal\nbuild the parser\n\n<read-files>\nold.py\n</read-files>", users[2]["id"]
    )
    later = turns(conv, 4, 1000, tag="new-")
    plan = plan_compaction(conv.entries, budget(2500))
    assert plan is not None
    assert plan.previous_compaction is previous
    assert plan.messages_to_summarize[0] is users[2]
    assert all(m["type"] == "message" for m in plan.messages_to_summarize)
    assert plan.first_kept_entry_id == later[1]["id"]
    assert plan.messages_removed == 2 * 2 + 2  # the two turns the first compaction kept + one new turn
    summaries = sum(estimate_tokens(m) for m in plan.messages_to_summarize + plan.kept_messages)
    assert plan.tokens_before == summaries + estimate_tokens(previous)

    request = summary_requests(plan).history
    assert request is not None
    body = request[1]["content"]
    assert "<previous-summary>\n## Goal\nbuild the parser\n</previous-summary>" in body
    assert "old.py" not in body  # file lists are re-derived, not fed back to the summarizer
    assert "[User]: q0 " not in body and "[User]: q2 " in body and "[User]: new-q0 " in body
    assert "[User]: new-q1 " not in body


def test_root_compaction_from_go_kit_starts_after_it():
    conv = Conv()
    root = conv.compaction("earlier work", "0000000000000099")  # kept segment is off this path
    assert "parent_id" not in root
    users = turns(conv, 4, 1000)
    plan = plan_compaction(conv.entries, budget(2500))
    assert plan is not None
    assert plan.previous_summary == "earlier work"
    assert plan.messages_to_summarize[0] is users[0]


# ---------------------------------------------------------------------------- property: tool pairing

sizes = st.integers(min_value=0, max_value=6000)
step_st = st.tuples(st.integers(min_value=0, max_value=3), sizes)  # (tool calls, bytes); 0 calls = text reply
turn_st = st.tuples(sizes, st.lists(step_st, min_size=0, max_size=6), st.booleans())


@settings(max_examples=300, deadline=None)
@given(st.lists(turn_st, min_size=1, max_size=8), st.integers(min_value=50, max_value=6000), st.booleans())
def test_cut_never_separates_tool_results_from_their_calls(conv_turns, keep_recent, force):
    conv = Conv()
    for user_bytes, steps, branch_summary in conv_turns:
        if branch_summary:
            conv._add({"type": "branch_summary", "from_id": "0" * 16, "summary": "b" * user_bytes})
        else:
            conv.user("u" * user_bytes)
        conv._add({"type": "model_change", "provider": "p", "model_id": "m"})
        for calls, nbytes in steps:
            if calls:
                conv.step([("read", {"path": "x"})] * calls, output="o" * nbytes)
            else:
                conv.assistant("a" * nbytes)
    items = [e for e in conv.entries if e["type"] in ("message", "branch_summary")]

    plan = plan_compaction(conv.entries, budget(keep_recent), force=force)
    if plan is None:
        assert not force or len(items) == 1
        return
    kept = plan.kept_messages
    assert kept[0]["id"] == plan.first_kept_entry_id
    assert kept[0].get("role") != "tool"
    assert plan.summarized_messages + kept == items
    assert plan.messages_removed == len(plan.summarized_messages) > 0
    kept_calls = {p["data"]["id"] for m in kept for p in m.get("parts", ()) if p["type"] == "tool_call"}
    for message in kept:
        if message.get("role") == "tool":
            assert {p["data"]["tool_call_id"] for p in message["parts"]} <= kept_calls
    if plan.is_split_turn:
        assert plan.turn_prefix_messages[0] in plan.summarized_messages
        assert plan.turn_prefix_messages[0].get("role", "user") == "user"
        assert kept[0]["role"] == "assistant"
    else:
        assert plan.turn_prefix_messages == []


# ---------------------------------------------------------------------------- file tracking


def test_file_ops_are_cumulative_and_modified_files_are_not_listed_as_read():
    conv = Conv()
    conv.user("go")
    conv.step(
        [("edit", {"path": "b.py"}), ("read", {"path": "d.py"}), ("grep", {"pattern": "x", "path": "src/"})]
    )
    conv.step([("ls", {}), ("read", {"path": "d.py"})])
    conv.step([("write", {"path": "never.py", "content": "x"})], output="permission denied", is_error=True)
    conv.step([("write", {"path": "new.py", "content": "x"})])
    previous = {"type": "compaction", "read_files": ["a.py", "b.py"], "modified_files": ["c.py"]}
    read, modified = collect_file_ops(conv.entries, previous)
    assert read == ["a.py", "d.py", "src/"]
    assert modified == ["b.py", "c.py", "new.py"]
    assert collect_file_ops([], None) == ([], [])


def test_finalize_summary_appends_file_lists_once():
    text = finalize_summary("## Goal\nx", ["a.py", "d.py"], ["b.py"])
    expected = (
        "## Goal\nx\n\n<read-files>\na.py\nd.py\n</read-files>\n\n<modified-files>\nb.py\n</modified-files>"
    )
    assert text == expected
    assert finalize_summary(text, ["a.py"], []) == "## Goal\nx\n\n<read-files>\na.py\n</read-files>"
    assert finalize_summary("s", [], []) == "s"


# ---------------------------------------------------------------------------- serialization and prompts


def test_serialization_includes_truncated_tool_results():
    conv = Conv()
    conv.user("show me big.txt")
    conv.msg(
        "assistant",
        {"type": "reasoning", "data": {"thinking": "it is big"}},
        text_part("reading it"),
        {
            "type": "tool_call",
            "data": {"id": "c1", "name": "read", "input": '{"path": "big.txt"}', "finished": True},
        },
    )
    conv.msg(
        "tool",
        {
            "type": "tool_result",
            "data": {
                "tool_call_id": "c1",
                "name": "read",
                "content": "x" * 1990 + "y" * 3010,
                "is_error": False,
            },
        },
    )
    text = serialize_for_summary(conv.entries)
    assert "[User]: show me big.txt" in text
    assert "[Assistant thinking]: it is big" in text
    assert "[Assistant]: reading it" in text
    assert '[Assistant tool call]: read(path="big.txt")' in text
    assert "[Tool result read]: " + "x" * 1990 + "y" * 10 + "\n[... 3000 more characters truncated]" in text
    assert "y" * 11 not in text


def test_summary_request_has_exact_sections_and_focus():
    plan = CompactionPlan(
        "id", [{"type": "message", "role": "user", "parts": [text_part("hello")]}], [], [], 1, 10
    )
    request = summary_requests(plan, focus="the database migration").history
    assert request is not None
    assert [m["role"] for m in request] == ["system", "user"]
    body = request[1]["content"]
    positions = [body.index(header + "\n") for header in SECTIONS]
    assert positions == sorted(positions)
    assert "Focus especially on: the database migration" in body
    assert "[User]: hello" in body
    assert "previous-summary" not in body


def test_tokens_after_counts_the_summary_and_the_kept_messages():
    plan = CompactionPlan(
        "00000000000000aa",
        [],
        [],
        [{"type": "message", "role": "user", "parts": [text_part("k" * 40)]}],
        7,
        12345,
    )
    assert estimate_tokens_after(plan, "S" * 400) == 100 + 10
