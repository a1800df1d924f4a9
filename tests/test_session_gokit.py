"""Interoperability with Go kit v3 files (hand-written fixtures) and the shape of what we write."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import orjson

from kit_py import llm
from kit_py.session import ENTRY_TYPES, SessionManager, message_text
from kit_py.session import format as fmt
from kit_py.session.context import SUMMARY_PREFIX, kept_segment

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


DELTA = FIXTURES / "2026-03-04T09-00-00-000Z_d1e2a0000001.jsonl"
SHARE = FIXTURES / "2026-03-05T09-00-00-000Z_e5a7e0000001.jsonl"
DAMAGED = FIXTURES / "2026-03-06T09-00-00-000Z_f0a1ed000001.jsonl"


def did(n: int) -> str:
    return f"d{n:015x}"


def test_second_root_compaction_keeps_the_delta_written_after_the_first() -> None:
    """Go kit after /compact twice: the second compaction keeps from q2, which lies in the first one's
    kept segment; the delta exchange written between the two must stay (and the abandoned answer out)."""
    m = SessionManager.open(DELTA)
    assert m.warnings == [] and m.tree.roots() == [did(1), did(7), did(10)]
    ctx = m.build_context()
    assert ctx.compaction is not None and ctx.compaction["id"] == did(10) and ctx.warnings == []
    assert ctx.entry_ids == [did(10), did(4), did(6), did(8), did(9), did(11)]
    assert [e["id"] for e in kept_segment(m.tree, m.tree.by_id[did(10)])] == [did(4), did(6), did(8), did(9)]
    assert llm.to_llm_messages(ctx.messages, "anthropic/claude-sonnet-4-5") == [
        {
            "role": "user",
            "content": summary_text("S2: parse() reads the config; validate() checks it."),
        },
        {"role": "user", "content": "q2: and validate()?"},
        {"role": "assistant", "content": "a2: it checks the schema."},
        {"role": "user", "content": "delta question: where is it called?"},
        {"role": "assistant", "content": "delta answer: from main()."},
        {"role": "user", "content": "q3: add a test"},
    ]
    assert m.current_model() == ("anthropic", "claude-sonnet-4-5", None)  # two root compactions back
    first = [message_text(x) for x in m.build_context(did(9)).messages]  # before the second compaction
    assert first[1:] == [
        "q2: and validate()?",
        "a2: it checks the schema.",
        *[
            "delta question: where is it called?",
            "delta answer: from main().",
        ],
    ]


def summary_text(summary: str) -> str:
    return f"{SUMMARY_PREFIX}<summary>\n{summary}\n</summary>"


SHARE_SENT = [
    {"role": "system", "content": "You are kit, a coding agent."},
    {"role": "user", "content": "Look at\nthe failing test"},
    {
        "role": "assistant",
        "content": "Running the tests.",
        "tool_calls": [
            {
                "id": "toolu_e1",
                "type": "function",
                "function": {"name": "bash", "arguments": '{"command":"go test ./..."}'},
            }
        ],
        "thinking_blocks": [
            {"type": "thinking", "thinking": "Run the tests first.", "signature": "c2lnLTE="}
        ],
    },
    {"role": "tool", "tool_call_id": "toolu_e1", "content": "FAIL: TestAdd"},
    # the reasoning-only answer is left out: an empty assistant message is rejected
    {"role": "user", "content": "and?"},
    {"role": "assistant", "content": "TestAdd expects 3.\nadd() returns 2."},  # unsigned reasoning: out
    {"role": "user", "content": "Fix it"},
]


def test_share_export_system_prompt_reasoning_and_text_parts_for_anthropic() -> None:
    m = SessionManager.open(SHARE)
    assert m.warnings == [] and m.leaf_id == "e000000000000008"
    ctx = m.build_context()
    assert ctx.entry_ids[0] == "e0000000000000ff" and ctx.warnings == []
    warnings: list[str] = []
    assert llm.to_llm_messages(ctx.messages, "anthropic/claude-sonnet-4-5", warnings=warnings) == SHARE_SENT
    assert warnings == []


def test_share_export_for_a_provider_without_thinking_blocks() -> None:
    ctx = SessionManager.open(SHARE).build_context()
    sent = llm.to_llm_messages(ctx.messages, "openai/gpt-4o")
    expected = [{k: v for k, v in x.items() if k != "thinking_blocks"} for x in SHARE_SENT]
    assert sent == expected


def test_damaged_go_kit_file_is_sent_without_what_cannot_be_read() -> None:
    m = SessionManager.open(DAMAGED)
    ctx = m.build_context()
    assert llm.to_llm_messages(ctx.messages, "openai/gpt-4o") == [
        {"role": "user", "content": "hello"},
        {"role": "user", "content": "second"},
        {
            "role": "assistant",
            "content": "calling",
            "tool_calls": [
                # the loader turns the object `input` into JSON text, so the call keeps its result
                {
                    "id": "call_f1",
                    "type": "function",
                    "function": {"name": "read", "arguments": '{"path":"a"}'},
                },
                {"id": "call_f2", "type": "function", "function": {"name": "ls", "arguments": "{}"}},
            ],
        },
        {"role": "tool", "tool_call_id": "call_f1", "content": "A"},
        {"role": "tool", "tool_call_id": "call_f2", "content": "a.txt"},
        {"role": "assistant", "content": "done"},
        {"role": "user", "content": "thanks"},
    ]
    assert ctx.warnings == [
        "entry f000000000000004: a message with the unknown role 'developer' is not sent",
        "entry f000000000000005: a text part without a string 'text' is skipped",
        "entry f000000000000005: an image part without a string 'media_type' is skipped",
        "entry f000000000000005: a part of unknown type 'video' is skipped",
        "entry f000000000000007: a tool_result part without a string 'content' is skipped",
    ]
    assert m.warnings  # the loader reports, by line, the parts it could not read at all


def test_compacting_after_two_root_compactions_summarizes_the_delta_too(kit_env, tmp_path, provider) -> None:
    from kit_py.compaction import runner
    from kit_py.config import Settings

    path = tmp_path / DELTA.name
    shutil.copy(DELTA, path)
    session = SessionManager.open(path)
    provider.reply("S3")
    outcome = runner.compact_session(session, Settings(model="openai/scripted", api_base=provider.base_url))
    assert outcome is not None and outcome.entry["first_kept_entry_id"] == did(11)
    [request] = [str(r["body"]["messages"]) for r in provider.chat_requests]
    assert "S2: parse() reads the config" in request  # the previous summary is updated
    for said in ("q2: and validate()?", "a2: it checks the schema.", "delta question", "delta answer"):
        assert said in request
    assert [message_text(x) for x in SessionManager.open(path).build_context().messages] == [
        summary_text(outcome.summary),
        "q3: add a test",
    ]
