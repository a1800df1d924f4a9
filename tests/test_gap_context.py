"""Context building (session/context.py) cases found by mutation testing: Go kit root compactions whose
first kept entry is elsewhere or first in the file, and damaged answers."""

from __future__ import annotations

from kit_py.session import build_context, message_text, tool_result_part
from kit_py.session.context import kept_segment
from tests.test_session_context import eid, load, root_compaction, said


def test_a_root_compaction_falls_back_to_the_last_entry_written_under_its_first_kept_entry() -> None:
    entries = [
        said(1, None, "user", "q1"),
        said(2, 1, "assistant", "a1"),
        said(3, 2, "user", "follow-up to a1"),  # written under a1, before the compaction
        said(4, 1, "assistant", "other answer"),  # the leaf when the compaction was made
        root_compaction(5, eid(2)),
        said(6, 5, "user", "q2"),
        said(7, 3, "assistant", "written under a1 after the compaction"),  # not in what it kept
    ]
    ctx = build_context(load(entries), eid(6))
    assert [message_text(x) for x in ctx.messages[1:]] == ["a1", "follow-up to a1", "q2"]
    assert ctx.warnings == [
        f"compaction {eid(5)}: its first kept entry {eid(2)} is not in the context before it; "
        "kept its chain instead"
    ]


def test_kept_segment_reports_its_fallback_to_the_caller_or_keeps_quiet_without_one() -> None:
    entries = [
        said(1, None, "user", "q1"),
        said(2, 1, "assistant", "a1"),
        said(3, 1, "assistant", "other answer"),
        root_compaction(4, eid(2)),
    ]
    tree = load(entries)
    heard: list[str] = []
    assert [e["id"] for e in kept_segment(tree, entries[3], heard.append)] == [eid(2)]
    assert heard == [
        f"compaction {eid(4)}: its first kept entry {eid(2)} is not in the context before it; "
        "kept its chain instead"
    ]
    assert [e["id"] for e in kept_segment(tree, entries[3])] == [eid(2)]  # compaction, export: no warn


def test_a_root_compaction_right_after_the_first_entry_keeps_it() -> None:
    entries = [said(1, None, "user", "q1"), root_compaction(2, eid(1)), said(3, 2, "user", "q2")]
    ctx = build_context(load(entries))
    assert [message_text(x) for x in ctx.messages[1:]] == ["q1", "q2"] and ctx.warnings == []


def test_a_tool_result_part_inside_an_answer_is_not_taken_for_a_call() -> None:
    answer = said(2, 1, "assistant", "done")
    answer["parts"].append(tool_result_part("call_9", "read", "stray result"))
    ctx = build_context(load([said(1, None, "user", "q"), answer, said(3, 2, "user", "thanks")]))
    assert [message_text(x) for x in ctx.messages] == ["q", "done", "thanks"]
