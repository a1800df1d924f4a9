"""Context building (docs/session-format.md, context) and the SessionManager's tree operations."""

from __future__ import annotations

from pathlib import Path

import orjson

from kit_py.session import (
    SessionManager,
    branch_summary,
    compaction,
    message,
    message_text,
    model_change,
    text_part,
    tool_call_part,
    tool_result_part,
)


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


def test_aborted_and_failed_turns_are_not_replayed_with_their_tool_results(tmp_path: Path) -> None:
    m = SessionManager.create(tmp_path, "/w")
    m.append(user("go"))
    m.append_many(
        [
            message(
                "assistant", [text_part("half"), tool_call_part("c1", "bash", "{}")], stop_reason="aborted"
            ),
            message("tool", [tool_result_part("c1", "bash", "interrupted", True)]),
        ]
    )
    m.append(assistant("boom", stop_reason="error"))
    m.append(user("again"))
    m.append_many(
        [
            message("assistant", [tool_call_part("c2", "read", '{"path":"a"}')], stop_reason="tool_use"),
            message("tool", [tool_result_part("c2", "read", "content")]),
        ]
    )
    ctx = m.build_context()
    roles = [x["role"] for x in ctx.messages]
    assert roles == ["user", "user", "assistant", "tool"]
    assert "half" not in str(ctx.messages) and "boom" not in str(ctx.messages)
    assert len(ctx.entry_ids) == len(ctx.messages)


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
