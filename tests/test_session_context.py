"""Context building (docs/session-format.md, context) and the SessionManager's tree operations."""

from __future__ import annotations

from pathlib import Path

import orjson

from kit_py.session import (
    SessionManager,
    Tree,
    branch_summary,
    build_context,
    compaction,
    message,
    message_text,
    model_change,
    reasoning_part,
    text_part,
    tool_call_part,
    tool_result_part,
)
from kit_py.session.context import kept_segment


def user(text: str) -> dict:
    return message("user", [text_part(text)])


def assistant(text: str, **extra: object) -> dict:
    return message("assistant", [text_part(text)], **extra)


def texts(m: SessionManager, leaf: str | None = None) -> list[str]:
    return [message_text(x) for x in m.build_context(leaf).messages]


def test_plain_path_only_follows_the_current_branch(tmp_path: Path) -> None:
    m = SessionManager.create(tmp_path, "/w")
    q = m.append(user("q"))
    m.append(assistant("answer 1"))
    m.branch(q["id"])
    m.append(assistant("answer 2"))
    assert texts(m) == ["q", "answer 2"]
    assert [c["id"] for c in m.children(q["id"])] == [e["id"] for e in m.entries[1:]]


def test_kept_segment_is_in_path_order_and_abandoned_branch_does_not_leak(tmp_path: Path) -> None:
    m = SessionManager.create(tmp_path, "/w")
    m.append(model_change("openai", "gpt-4o", "low"))
    m.append(user("old 1"))
    m.append(assistant("old 2"))
    keep = m.append(user("keep 1"))
    side = m.append(assistant("abandoned"))  # later replaced on another branch
    m.branch(keep["id"])
    m.append(assistant("keep 2"))
    m.append(user("keep 3"))
    assert side["id"] not in {e["id"] for e in m.path_entries()}
    comp = m.append(compaction("S1", keep["id"], 1000, 100, 2, ["a.py"], []))
    after = m.append(assistant("after"))
    ctx = m.build_context()
    assert texts(m)[1:] == ["keep 1", "keep 2", "keep 3", "after"]
    assert texts(m)[0].startswith("The conversation history before this point was compacted")
    assert "<summary>\nS1\n</summary>" in texts(m)[0]
    assert "id" not in ctx.messages[0] and ctx.messages[0]["role"] == "user"
    assert ctx.compaction is comp
    assert ctx.entry_ids[0] == comp["id"] and ctx.entry_ids[-1] == after["id"]
    assert (ctx.provider, ctx.model, ctx.thinking_level) == ("openai", "gpt-4o", "low")
    assert m.current_model() == ("openai", "gpt-4o", "low")


def test_last_compaction_wins_and_summary_is_emitted_once(tmp_path: Path) -> None:
    m = SessionManager.create(tmp_path, "/w")
    a = m.append(user("a"))
    m.append(compaction("first", a["id"], 1, 1, 0, [], []))
    b = m.append(user("b"))
    m.append(compaction("second", a["id"], 1, 1, 0, [], []))  # its kept segment spans the first one
    m.append(user("c"))
    out = texts(m)
    assert sum("<summary>" in t for t in out) == 1 and "second" in out[0]
    assert out[1:] == ["a", "b", "c"]
    assert b["id"] in m.build_context().entry_ids


def test_branch_summary_becomes_a_marked_user_message(tmp_path: Path) -> None:
    m = SessionManager.create(tmp_path, "/w")
    root = m.append(user("start"))
    tried = m.append(assistant("tried X"))
    m.branch(root["id"])
    m.append(branch_summary(tried["id"], "X did not work"))
    m.append(user("try Y"))
    ctx = m.build_context()
    assert texts(m) == ["start", "[Branch context: X did not work]", "try Y"]
    assert ctx.messages[1]["role"] == "user" and "id" not in ctx.messages[1]


def test_failed_turns_are_not_replayed_and_interrupted_ones_are_marked(tmp_path: Path) -> None:
    m = SessionManager.create(tmp_path, "/w")
    m.append(user("go"))
    m.append_many(
        [
            message(
                "assistant",
                [reasoning_part("hmm", "sig"), text_part("half"), tool_call_part("c1", "bash", "{}")],
                stop_reason="aborted",
            ),
            message("tool", [tool_result_part("c1", "bash", "interrupted", True)]),
        ]
    )
    m.append(assistant("boom", stop_reason="error"))
    m.append(message("assistant", [tool_call_part("c3", "ls", "{}")], stop_reason="aborted"))  # no text
    m.append(message("tool", [tool_result_part("c3", "ls", "interrupted", True)]))
    m.append(user("continue"))
    m.append_many(
        [
            message("assistant", [tool_call_part("c2", "read", '{"path":"a"}')], stop_reason="tool_use"),
            message("tool", [tool_result_part("c2", "read", "content")]),
        ]
    )
    ctx = m.build_context()
    assert [x["role"] for x in ctx.messages] == ["user", "assistant", "user", "assistant", "tool"]
    interrupted = ctx.messages[1]
    assert interrupted["parts"] == [text_part("half\n\n[interrupted by the user]")]  # no reasoning, no call
    assert interrupted["stop_reason"] == "aborted" and interrupted is not m.entries[1]
    assert [message_text(x) for x in ctx.messages] == [
        "go",
        "half\n\n[interrupted by the user]",
        "continue",
        "",
        "",
    ]
    calls = [p["data"].get("id", p["data"].get("tool_call_id")) for x in ctx.messages for p in x["parts"]]
    assert [c for c in calls if c is not None] == ["c2", "c2"]  # c1 and c3 are gone with their results
    assert len(ctx.entry_ids) == len(ctx.messages) and ctx.entry_ids[1] == m.entries[1]["id"]
    assert ctx.warnings == []


def test_unanswered_calls_and_unasked_results_are_left_out(tmp_path: Path) -> None:
    m = SessionManager.create(tmp_path, "/w")
    m.append(user("q"))
    call = m.append(
        message(
            "assistant",
            [text_part("two calls"), tool_call_part("c1", "ls", "{}"), tool_call_part("c2", "ls", "{}")],
        )
    )
    m.append(message("tool", [tool_result_part("c2", "ls", "b"), tool_result_part("c9", "ls", "stray")]))
    m.append(user("next"))
    stray = m.append(message("tool", [tool_result_part("c2", "ls", "again")]))  # nothing asked for it
    m.append(message("assistant", [tool_call_part("c4", "ls", "{}")]))  # still running: no warning
    ctx = m.build_context()
    assert [x["role"] for x in ctx.messages] == ["user", "assistant", "tool", "user", "assistant"]
    assert ctx.messages[1]["parts"] == [text_part("two calls"), tool_call_part("c2", "ls", "{}")]
    assert ctx.messages[2]["parts"] == [tool_result_part("c2", "ls", "b")]
    assert ctx.messages[4]["parts"] == []
    assert ctx.warnings == [
        f"entry {m.entries[2]['id']}: a result for tool call c9, which is not right before it, is not sent",
        f"entry {call['id']}: tool call(s) c1 have no result; not sent",
        f"entry {stray['id']}: a result for tool call c2, which is not right before it, is not sent",
    ]
    assert m.entries[1]["parts"][1]["data"]["id"] == "c1"  # the stored entry is untouched


def load(entries: list[dict]) -> Tree:
    """A tree of entries as they are (loading a file cleans malformed parts first; context building
    must cope without that too)."""
    tree = Tree()
    for entry in entries:
        tree.add(entry)
    return tree


def eid(n: int) -> str:
    return f"c{n:015x}"


def raw(n: int, parent: int | None, **fields: object) -> dict:
    entry: dict = {"type": "message", "id": eid(n), "timestamp": "2026-03-01T10:00:00Z", **fields}
    if parent is not None:
        entry["parent_id"] = eid(parent)
    return entry


def said(n: int, parent: int | None, role: str, text: str) -> dict:
    return raw(n, parent, role=role, parts=[text_part(text)])


def root_compaction(n: int, first_kept: object, summary: str = "S") -> dict:
    return {
        "type": "compaction",
        "id": eid(n),
        "timestamp": "2026-03-01T10:00:00Z",
        "summary": summary,
        "first_kept_entry_id": first_kept,
        "tokens_before": 10,
        "tokens_after": 5,
        "messages_removed": 1,
    }


def test_three_root_compactions_keep_every_delta_in_path_order() -> None:
    tree = load(
        [
            said(1, None, "user", "q1"),
            said(2, 1, "assistant", "a1"),
            said(3, 2, "user", "q2"),
            said(4, 3, "assistant", "a2"),
            root_compaction(5, eid(3), "S1"),
            said(6, 5, "user", "q3"),
            said(7, 6, "assistant", "a3"),
            said(8, 6, "assistant", "a3 on a branch"),  # written last: the leaf when S2 was made
            root_compaction(9, eid(3), "S2"),
            said(10, 9, "user", "q4"),
            said(11, 10, "assistant", "a4"),
            root_compaction(12, eid(6), "S3"),
            said(13, 12, "user", "q5"),
        ]
    )
    ctx = build_context(tree)
    assert ctx.entry_ids == [eid(12), eid(6), eid(8), eid(10), eid(11), eid(13)]
    assert "<summary>\nS3\n</summary>" in message_text(ctx.messages[0])
    assert [message_text(x) for x in ctx.messages[1:]] == ["q3", "a3 on a branch", "q4", "a4", "q5"]
    assert [e["id"] for e in kept_segment(tree, tree.by_id[eid(9)])] == [eid(3), eid(4), eid(6), eid(8)]
    assert [e["id"] for e in build_context(tree, eid(10)).messages[1:] if "id" in e] == [
        eid(3),
        eid(4),
        eid(6),
        eid(8),
        eid(10),
    ]
    assert ctx.warnings == []


def test_a_root_compaction_whose_first_kept_entry_is_elsewhere_falls_back_with_a_warning() -> None:
    entries = [
        said(1, None, "user", "q1"),
        said(2, 1, "assistant", "a1"),
        said(3, 1, "assistant", "other answer"),  # the leaf when the compaction was made
        root_compaction(4, eid(2)),
        said(5, 4, "user", "q2"),
    ]
    ctx = build_context(load(entries))
    assert [message_text(x) for x in ctx.messages[1:]] == ["a1", "q2"]  # a1's own chain, from a1 on
    assert ctx.warnings == [
        f"compaction {eid(4)}: its first kept entry {eid(2)} is not in the context before it; "
        "kept its chain instead"
    ]
    entries[3] = root_compaction(4, "0123456789abcdef")
    ctx = build_context(load(entries))
    assert [message_text(x) for x in ctx.messages[1:]] == ["q2"]
    assert ctx.warnings == [
        f"compaction {eid(4)}: its first kept entry 0123456789abcdef is missing; nothing before it is kept"
    ]
    entries[3] = root_compaction(4, "")  # Go kit: a cut before everything keeps nothing
    ctx = build_context(load(entries))
    assert [message_text(x) for x in ctx.messages[1:]] == ["q2"] and ctx.warnings == []


def test_damaged_links_between_compactions_do_not_loop() -> None:
    tree, _warnings = Tree.load(
        [
            said(1, 4, "user", "x"),  # its parent comes later in the file
            root_compaction(2, eid(1), "R"),
            said(3, 2, "user", "y"),
            {**root_compaction(4, eid(1), "X"), "parent_id": eid(3)},
        ],
        [2, 3, 4, 5],
    )
    ctx = build_context(tree, eid(1))
    assert ctx.compaction is tree.by_id[eid(4)]
    assert ctx.warnings and all(w.startswith("compaction ") for w in ctx.warnings)


def test_go_kit_system_prompt_entry_is_the_prompt_when_the_path_has_none() -> None:
    prompt = {
        "type": "system_prompt",
        "id": eid(99),
        "timestamp": "2026-03-01T10:00:00Z",
        "content": "Be brief.",
        "model": "claude-sonnet-4-5",
        "provider": "anthropic",
    }
    tree = load([prompt, said(1, None, "user", "hi"), said(2, 1, "assistant", "hello")])
    ctx = build_context(tree)
    assert ctx.messages[0] == message("system", [text_part("Be brief.")]) and ctx.entry_ids[0] == eid(99)
    assert [x["role"] for x in ctx.messages] == ["system", "user", "assistant"]
    tree = load([prompt, said(1, None, "system", "Stored prompt."), said(2, 1, "user", "hi")])
    assert [message_text(x) for x in build_context(tree).messages] == ["Stored prompt.", "hi"]
    tree = load([{**prompt, "content": ""}, said(1, None, "user", "hi")])
    assert [x["role"] for x in build_context(tree).messages] == ["user"]


def test_malformed_messages_and_parts_are_skipped_with_warnings() -> None:
    tree = load(
        [
            raw(1, None, role="user", parts=[{"type": "text", "data": None}, text_part("hello")]),
            raw(2, 1, role="assistant", parts="hello"),
            raw(3, 2, role="developer", parts=[text_part("be nice")]),
            raw(4, 3, role=["user"], parts=[text_part("unhashable role")]),
            raw(
                5,
                4,
                role="user",
                parts=[
                    "a string",
                    42,
                    {"type": "text"},
                    {"type": "text", "data": {}},
                    {"type": ["text"], "data": {"text": "unhashable type"}},
                    {"type": "video", "data": {"url": "x"}},
                    {"type": "finish", "data": {"reason": "end_turn"}},
                    text_part("second"),
                ],
            ),
            raw(6, 5, role="assistant", parts=[text_part("ok")], stop_reason=["aborted"]),
            raw(7, 6, role="user"),  # no parts at all
        ]
    )
    ctx = build_context(tree)
    assert ctx.entry_ids == [eid(1), eid(5), eid(6)]
    assert [message_text(x) for x in ctx.messages] == ["hello", "second", "ok"]
    assert ctx.messages[1]["parts"] == [
        {"type": "finish", "data": {"reason": "end_turn"}},
        text_part("second"),
    ]
    assert ctx.warnings == [
        f"entry {eid(1)}: a text part whose data is null is skipped",
        f"entry {eid(2)}: a message whose parts are not a list is not sent",
        f"entry {eid(3)}: a message with the unknown role 'developer' is not sent",
        f"entry {eid(4)}: a message with the unknown role ['user'] is not sent",
        f"entry {eid(5)}: a part that is not an object (str) is skipped",
        f"entry {eid(5)}: a part that is not an object (int) is skipped",
        f"entry {eid(5)}: a text part whose data is null is skipped",
        f"entry {eid(5)}: a text part without a string 'text' is skipped",
        f"entry {eid(5)}: a part of unknown type ['text'] is skipped",
        f"entry {eid(5)}: a part of unknown type 'video' is skipped",
        f"entry {eid(7)}: a message whose parts are not a list is not sent",
    ]
    assert tree.by_id[eid(1)]["parts"][0] == {"type": "text", "data": None}  # the entry is untouched


def test_warnings_are_counted_beyond_the_first_twenty() -> None:
    entries = [raw(1, None, role="user", parts=[text_part("q")])]
    entries += [raw(n, n - 1, role="robot", parts=[]) for n in range(2, 32)]
    ctx = build_context(load(entries))
    assert len(ctx.warnings) == 21 and ctx.warnings[-1] == "... and 10 more problems of this session's data"
    assert [message_text(x) for x in ctx.messages] == ["q"]


def test_move_leaf_is_persisted_and_next_append_continues_there(tmp_path: Path) -> None:
    m = SessionManager.create(tmp_path, "/w")
    q = m.append(user("q"))
    m.append(assistant("a1"))
    marker = m.move_leaf(q["id"])
    assert marker["parent_id"] == q["id"] and marker["data"] == "" and m.leaf_id == q["id"]
    assert m.path is not None
    assert SessionManager.open(m.path).leaf_id == q["id"]
    nxt = m.append(assistant("a2"))
    assert nxt["parent_id"] == q["id"]
    assert SessionManager.open(m.path).leaf_id == nxt["id"]


def test_labels_and_name_last_wins_and_empty_label_clears(tmp_path: Path) -> None:
    m = SessionManager.create(tmp_path, "/w")
    a = m.append(user("a"))
    b = m.append(user("b"))
    m.set_label(a["id"], "start")
    m.set_label(b["id"], "mid")
    m.set_label(a["id"], "")
    m.set_name("first name")
    m.set_name("final name")
    assert m.labels == {b["id"]: "mid"} and m.name == "final name"
    assert m.path is not None
    again = SessionManager.open(m.path)
    assert again.labels == {b["id"]: "mid"} and again.name == "final name"
    assert texts(again) == ["a", "b"]


def test_fork_copies_the_path_with_ids_and_links_back(tmp_path: Path) -> None:
    m = SessionManager.create(tmp_path / "a", "/w")
    q = m.append(user("q"))
    m.append(assistant("no"))
    m.branch(q["id"])
    yes = m.append(assistant("yes"))
    m.append(user("later"))
    fork = m.fork(yes["id"], tmp_path / "b")
    assert fork.path is not None and fork.path.parent == tmp_path / "b" and fork.path != m.path
    assert fork.header["parent_session"] == str(m.path)
    assert fork.header["parent_session_id"] == m.session_id
    assert fork.session_id != m.session_id and fork.cwd == "/w"
    assert [e["id"] for e in fork.entries] == [q["id"], yes["id"]]
    reopened = SessionManager.open(fork.path)
    assert texts(reopened) == ["q", "yes"] and reopened.leaf_id == yes["id"]
    header = orjson.loads(fork.path.read_bytes().splitlines()[0])
    assert header["type"] == "session" and header["version"] == 3


def test_fork_to_memory_writes_nothing(tmp_path: Path) -> None:
    m = SessionManager.create(tmp_path / "a", "/w")
    q = m.append(user("q"))
    fork = m.fork(q["id"], None)
    fork.append(user("more"))
    assert fork.path is None and sorted(p.name for p in tmp_path.iterdir()) == ["a"]
    assert texts(fork) == ["q", "more"]


def test_empty_session_has_empty_context(tmp_path: Path) -> None:
    m = SessionManager.create(tmp_path, "/w")
    ctx = m.build_context()
    assert ctx.messages == [] and ctx.model is None and m.current_model() is None and m.leaf_id is None
