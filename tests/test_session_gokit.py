"""Interoperability with Go kit v3 files (hand-written fixtures) and the shape of what we write."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import orjson

from kit_py.session import ENTRY_TYPES, SessionManager, message_text
from kit_py.session import format as fmt

FIXTURES = Path(__file__).parent / "fixtures" / "gokit"
MAIN = FIXTURES / "2026-03-01T10-00-00-000Z_a1b2c3d4e5f6.jsonl"
DOUBLE = FIXTURES / "2026-03-02T09-30-15-042Z_0123456789ab.jsonl"


def eid(n: int) -> str:
    return f"a{n:015x}"


def test_go_kit_file_loads_cleanly_with_its_tree() -> None:
    m = SessionManager.open(MAIN)
    assert m.warnings == []
    assert m.session_id == "0f1e2d3c4b5a69788796a5b4c3d2e1f0" and m.cwd == "/home/u/proj"
    assert len(m.entries) == 20
    assert [c["id"] for c in m.children(eid(5))] == [eid(6), eid(9)]  # the branch, in file order
    assert m.tree.roots() == [eid(1), eid(13)]  # Go kit writes the compaction as a root
    assert m.leaf_id == eid(14)  # the trailing kit:leaf points at its parent
    assert m.labels == {eid(14): "tests"}  # the label on entry 5 was cleared later
    assert m.name == "Fix main.go bug"


def test_go_kit_root_compaction_keeps_the_segment_in_path_order() -> None:
    m = SessionManager.open(MAIN)
    ctx = m.build_context()
    assert ctx.compaction is not None and ctx.compaction["id"] == eid(13)
    assert ctx.entry_ids == [eid(13), eid(8), eid(10), eid(14)]
    out = [message_text(x) for x in ctx.messages]
    assert "approach B works" in out[0] and out[0].startswith("The conversation history")
    assert out[1:] == ["Try approach B instead", "Approach B works.", "Now add tests"]
    assert "Approach A done" not in str(ctx.messages)  # the abandoned branch stays out
    assert ctx.messages[1]["parts"][1] == {
        "type": "image",
        "data": {"data": "iVBORw0KGgo=", "media_type": "image/png"},
    }
    assert (ctx.provider, ctx.model) == ("anthropic", "claude-sonnet-4-5")  # found behind the root compaction


def test_pre_compaction_part_types_are_all_readable() -> None:
    m = SessionManager.open(MAIN)
    ctx = m.build_context(eid(5))
    parts = [p["type"] for msg in ctx.messages for p in msg["parts"]]
    assert parts == ["text", "reasoning", "text", "tool_call", "tool_result", "text"]
    result = ctx.messages[2]["parts"][0]["data"]
    assert result["content"].startswith("package main") and "x < 3 && y > 2" in result["content"]
    branch = [message_text(x) for x in m.build_context(eid(8)).messages]
    assert "[Branch context: Approach A compiled but its tests failed.]" in branch


def test_successive_go_kit_root_compactions() -> None:
    m = SessionManager.open(DOUBLE)
    assert m.warnings == [] and m.header["parent_session_id"] == "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
    ctx = m.build_context()
    texts = [message_text(x) for x in ctx.messages]
    assert ctx.messages[0]["role"] == "system" and texts[0] == "You are terse."  # outlives both compactions
    assert texts[2:] == ["second question", "second answer", "third question"]
    assert "First and second round." in texts[1]
    assert m.current_model() == ("openai", "gpt-4o", None)  # two root compactions back


def test_appending_to_a_go_kit_file_keeps_its_bytes_and_format(tmp_path: Path) -> None:
    path = tmp_path / MAIN.name
    shutil.copy(MAIN, path)
    original = path.read_bytes()
    m = SessionManager.open(path)
    new = m.append(fmt.message("user", [fmt.text_part("from kit_py")]))
    assert path.read_bytes().startswith(original)
    assert new["parent_id"] == eid(14)
    assert [message_text(x) for x in SessionManager.open(path).build_context().messages][-2:] == [
        "Now add tests",
        "from kit_py",
    ]


def test_files_we_write_use_only_go_kit_types_and_shapes(tmp_path: Path) -> None:
    m = SessionManager.create(tmp_path, "/home/u/proj")
    m.append(fmt.model_change("openai", "gpt-4o", "medium"))
    q = m.append(fmt.message("user", [fmt.text_part("q"), fmt.image_part("AA==", "image/png")]))
    m.append_many(
        [
            fmt.message(
                "assistant",
                [fmt.reasoning_part("t", "sig"), fmt.tool_call_part("c", "ls", "{}")],
                model="gpt-4o",
                provider="openai",
                stop_reason="tool_use",
                usage={"input_tokens": 1, "output_tokens": 2},
            ),
            fmt.message("tool", [fmt.tool_result_part("c", "ls", "a\nb", False)]),
        ]
    )
    m.append(fmt.compaction("s", q["id"], 10, 5, 1, [], []))
    m.append(fmt.branch_summary(q["id"], "b"))
    m.set_label(q["id"], "l")
    m.set_name("n")
    m.move_leaf(q["id"], '{"why":"test"}')
    assert m.path is not None
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z_[0-9a-f]{12}\.jsonl", m.path.name)
    raw = m.path.read_bytes()
    assert raw.endswith(b"\n") and b"null" not in raw
    lines = raw.split(b"\n")[:-1]
    header = orjson.loads(lines[0])
    assert list(header) == ["type", "version", "id", "timestamp", "cwd"]
    assert re.fullmatch(r"[0-9a-f]{32}", header["id"])
    entries = [orjson.loads(x) for x in lines[1:]]
    assert {e["type"] for e in entries} == ENTRY_TYPES
    for e in entries:
        assert list(e)[:2] == ["type", "id"] and re.fullmatch(r"[0-9a-f]{16}", e["id"])
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z", e["timestamp"])
    assert "parent_id" not in entries[0] and all("parent_id" in e for e in entries[1:])
    assert all(b" " not in x.split(b'"text"')[0] for x in lines)  # compact, one line each
