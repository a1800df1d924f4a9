"""pi sessions (format versions 1, 2 and 3) imported through `kit import`: the tree, the exact context
of the next turn as the provider receives it, and the usage totals. The files are hand-written from
pi's format (DESIGN.md §6, pi-mono's session-manager.ts and messages.ts), one for each version,
together holding every entry type and message role pi writes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kit_py.llm.types import usage_totals
from kit_py.session import SessionManager
from kit_py.session.context import SUMMARY_PREFIX

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
T = "2026-02-01T10:00:{:02d}.000Z"


def usage(inp: int, out: int, read: int = 0, write: int = 0, cost: float = 0.0) -> dict[str, Any]:
    return {
        "input": inp,
        "output": out,
        "cacheRead": read,
        "cacheWrite": write,
        "totalTokens": inp + out + read + write,
        "cost": {"input": 0, "output": 0, "cacheRead": 0, "cacheWrite": 0, "total": cost},
    }


def msg(n: int, eid: str, parent: str | None, message: dict[str, Any]) -> dict[str, Any]:
    return {"type": "message", "id": eid, "parentId": parent, "timestamp": T.format(n), "message": message}


def entry(n: int, kind: str, eid: str, parent: str | None, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "id": eid, "parentId": parent, "timestamp": T.format(n), **fields}


def assistant(
    content: list[dict[str, Any]], stop: str, use: dict[str, Any], model: str = "claude-sonnet-4-5"
):
    return {
        "role": "assistant",
        "content": content,
        "api": "anthropic-messages",
        "provider": "anthropic",
        "model": model,
        "usage": use,
        "stopReason": stop,
        "timestamp": 1,
    }


# Version 3: every entry type, a branch, a compaction, labels set and cleared, `!` and `!!` commands.
V3 = [
    {
        "type": "session",
        "version": 3,
        "id": "5b0c1f4e-2a9d-4c1b-8e3f-7d6a5b4c3d2e",
        "timestamp": T.format(0),
        "cwd": "/home/pi/proj",
        "parentSession": "/home/pi/.pi/agent/sessions/--proj--/old.jsonl",
    },
    entry(1, "model_change", "10000001", None, provider="anthropic", modelId="claude-sonnet-4-5"),
    entry(2, "thinking_level_change", "10000002", "10000001", thinkingLevel="high"),
    msg(3, "10000003", "10000002", {"role": "user", "content": "List the files", "timestamp": 1}),
    msg(
        4,
        "10000004",
        "10000003",
        assistant(
            [
                {"type": "thinking", "thinking": "I should look.", "thinkingSignature": "sig-1"},
                {"type": "text", "text": "Let me look."},
                {"type": "toolCall", "id": "call_1", "name": "bash", "arguments": {"command": "ls"}},
                {"type": "toolCall", "id": "call_2", "name": "read", "arguments": {"path": "README.md"}},
            ],
            "toolUse",
            usage(100, 20, read=50, write=10, cost=0.01),
        ),
    ),
    msg(
        5,
        "10000005",
        "10000004",
        {
            "role": "toolResult",
            "toolCallId": "call_1",
            "toolName": "bash",
            "content": [{"type": "text", "text": "README.md\nmain.py"}],
            "isError": False,
            "details": {"exitCode": 0},
            "timestamp": 1,
        },
    ),
    msg(
        6,
        "10000006",
        "10000005",
        {
            "role": "toolResult",
            "toolCallId": "call_2",
            "toolName": "read",
            "content": [
                {"type": "text", "text": "# Demo"},
                {"type": "image", "data": PNG, "mimeType": "image/png"},
            ],
            "isError": False,
            "timestamp": 1,
        },
    ),
    msg(
        7,
        "10000007",
        "10000006",
        assistant([{"type": "text", "text": "Two files."}], "stop", usage(200, 10, cost=0.02)),
    ),
    entry(8, "label", "10000008", "10000007", targetId="10000003", label="start"),
    # the abandoned branch: a branch summary, then a failed answer
    entry(9, "branch_summary", "10000009", "10000007", fromId="1000000d", summary="Tried renaming first."),
    msg(
        10,
        "1000000a",
        "10000009",
        {"role": "user", "content": [{"type": "text", "text": "Rename it"}], "timestamp": 1},
    ),
    msg(11, "1000000b", "1000000a", {**assistant([], "error", usage(5, 0)), "errorMessage": "overloaded"}),
    entry(12, "label", "1000000c", "1000000b", targetId="1000000b", label="failed"),
    # the main branch goes on from the label on entry 8
    entry(13, "session_info", "1000000d", "10000008", name="Pi session"),
    entry(14, "custom", "1000000e", "1000000d", customType="my-ext", data={"count": 1}),
    entry(
        15,
        "custom_message",
        "1000000f",
        "1000000e",
        customType="note",
        content="Remember the tests",
        display=True,
    ),
    msg(
        16,
        "10000010",
        "1000000f",
        {
            "role": "bashExecution",
            "command": "git status",
            "output": "clean",
            "exitCode": 1,
            "cancelled": False,
            "truncated": False,
            "timestamp": 1,
        },
    ),
    msg(
        17,
        "10000011",
        "10000010",
        {
            "role": "bashExecution",
            "command": "ls -a",
            "output": ".git",
            "exitCode": 0,
            "cancelled": False,
            "truncated": False,
            "excludeFromContext": True,
            "timestamp": 1,
        },
    ),
    entry(
        18,
        "compaction",
        "10000012",
        "10000011",
        summary="Earlier: listed the files.",
        firstKeptEntryId="10000007",
        tokensBefore=5000,
        details={"readFiles": ["README.md"], "modifiedFiles": ["main.py"]},
    ),
    msg(19, "10000013", "10000012", {"role": "user", "content": "What next?", "timestamp": 1}),
    msg(
        20,
        "10000014",
        "10000013",
        assistant(
            [{"type": "text", "text": "Write tests."}],
            "stop",
            usage(300, 30, read=100, cost=0.03),
            model="claude-opus-4-5",
        ),
    ),
    {
        "type": "label",
        "id": "10000015",
        "parentId": "10000014",
        "timestamp": T.format(21),
        "targetId": "10000003",
    },
]

# Version 2: `hookMessage` (v3's `custom`), tool results in context, no compaction.
V2 = [
    {
        "type": "session",
        "version": 2,
        "id": "2a2a2a2a-0000-4000-8000-000000000002",
        "timestamp": T.format(0),
        "cwd": "/home/pi/v2",
    },
    entry(1, "model_change", "20000001", None, provider="openai", modelId="gpt-4o"),
    msg(2, "20000002", "20000001", {"role": "user", "content": "Run the tests", "timestamp": 1}),
    msg(
        3,
        "20000003",
        "20000002",
        {
            "role": "assistant",
            "content": [
                {"type": "toolCall", "id": "call_9", "name": "bash", "arguments": {"command": "pytest"}}
            ],
            "api": "openai-completions",
            "provider": "openai",
            "model": "gpt-4o",
            "usage": {
                "input": 40,
                "output": 5,
                "cacheRead": 0,
                "cacheWrite": 0,
                "totalTokens": 45,
                "cost": {"total": 0.001},
            },
            "stopReason": "toolUse",
            "timestamp": 1,
        },
    ),
    msg(
        4,
        "20000004",
        "20000003",
        {
            "role": "toolResult",
            "toolCallId": "call_9",
            "toolName": "bash",
            "content": [{"type": "text", "text": "1 failed"}],
            "isError": True,
            "timestamp": 1,
        },
    ),
    msg(
        5,
        "20000005",
        "20000004",
        {
            "role": "hookMessage",
            "customType": "reminder",
            "content": [{"type": "text", "text": "Tests must pass."}],
            "display": False,
            "timestamp": 1,
        },
    ),
    msg(
        6,
        "20000006",
        "20000005",
        {
            "role": "assistant",
            "content": [{"type": "text", "text": "One test fails."}],
            "api": "openai-completions",
            "provider": "openai",
            "model": "gpt-4o",
            "usage": {
                "input": 60,
                "output": 6,
                "cacheRead": 20,
                "cacheWrite": 0,
                "totalTokens": 86,
                "cost": {"total": 0.002},
            },
            "stopReason": "stop",
            "timestamp": 1,
        },
    ),
]

# Version 1: no version, no ids (a chain in file order), the model in the header, a compaction that
# names its first kept entry by its index in the file (the header is index 0).
V1 = [
    {
        "type": "session",
        "id": "11111111-0000-4000-8000-000000000001",
        "timestamp": T.format(0),
        "cwd": "/home/pi/v1",
        "provider": "anthropic",
        "modelId": "claude-sonnet-4-5",
        "thinkingLevel": "off",
    },
    {"type": "message", "timestamp": T.format(1), "message": {"role": "user", "content": "first question"}},
    {
        "type": "message",
        "timestamp": T.format(2),
        "message": assistant([{"type": "text", "text": "first answer"}], "stop", usage(10, 2, cost=0.001)),
    },
    {"type": "message", "timestamp": T.format(3), "message": {"role": "user", "content": "second question"}},
    {
        "type": "message",
        "timestamp": T.format(4),
        "message": assistant([{"type": "text", "text": "second answer"}], "stop", usage(20, 3, cost=0.002)),
    },
    {
        "type": "compaction",
        "timestamp": T.format(5),
        "summary": "The user asked two questions.",
        "firstKeptEntryIndex": 3,
        "tokensBefore": 900,
    },
    {"type": "thinking_level_change", "timestamp": T.format(6), "thinkingLevel": "medium"},
    {"type": "model_change", "timestamp": T.format(7), "provider": "openai", "modelId": "gpt-4o"},
    {"type": "message", "timestamp": T.format(8), "message": {"role": "user", "content": "third question"}},
]


def write_jsonl(path: Path, lines: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def imported(run_kit, source: Path) -> tuple[dict[str, Any], SessionManager]:
    result = run_kit("import", str(source), "--json", provider_flags=False)
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    return info, SessionManager.open(Path(info["path"]))


def sent(provider) -> list[dict[str, Any]]:
    """The messages of the last request after kit's own system prompt (the imported files have none)."""
    messages = provider.last_messages()
    assert all(m["role"] != "system" for m in messages[1:])
    return messages[1:] if messages and messages[0]["role"] == "system" else messages


def pad(pi_id: str) -> str:
    return pi_id + "00000000"


def test_a_v3_file_becomes_the_same_tree_with_every_entry_type(run_kit, provider, tmp_path, workdir):
    source = write_jsonl(tmp_path / "pi-v3.jsonl", V3)
    before = source.read_bytes()
    info, session = imported(run_kit, source)
    assert source.read_bytes() == before, "the source is never edited"
    assert info["format"] == "pi" and info["warnings"] == [] and info["source"] == str(source)
    assert Path(info["path"]).parent.name == str(workdir).replace("/", "--").lstrip("-")
    header = session.header
    assert header["cwd"] == str(workdir) and header["version"] == 3 and len(header["id"]) == 32
    assert header["imported_from"] == {
        "path": str(source),
        "format": "pi",
        "version": 3,
        "session_id": "5b0c1f4e-2a9d-4c1b-8e3f-7d6a5b4c3d2e",
        "cwd": "/home/pi/proj",
    }

    by_id = {e["id"]: e for e in session.entries}
    # ids padded to kit's 16 hex, parents kept: the branch and the leaf are pi's
    assert session.leaf_id == pad("10000015")
    assert [c["id"] for c in session.children(pad("10000007"))] == [pad("10000008"), pad("10000009")]
    assert session.tree.parent_of(pad("1000000d")) == pad("10000008")
    # two results of one step: ONE tool message, as kit writes it; the image stays with it
    assert pad("10000006") not in by_id
    tool = by_id[pad("10000005")]
    assert [(p["type"], p["data"].get("tool_call_id")) for p in tool["parts"]] == [
        ("tool_result", "call_1"),
        ("tool_result", "call_2"),
        ("image", None),
    ]
    assert tool["parts"][0]["data"] == {
        "tool_call_id": "call_1",
        "name": "bash",
        "content": "README.md\nmain.py",
        "is_error": False,
        "details": {"exitCode": 0},
    }
    assert session.tree.parent_of(pad("10000007")) == pad("10000005")
    call = by_id[pad("10000004")]
    assert call["parts"][0] == {
        "type": "reasoning",
        "data": {"thinking": "I should look.", "signature": "sig-1"},
    }
    assert call["parts"][2]["data"] == {
        "id": "call_1",
        "name": "bash",
        "input": '{"command":"ls"}',
        "finished": True,
    }
    assert call["stop_reason"] == "tool_use" and call["provider"] == "anthropic"
    assert call["usage"] == {
        "input_tokens": 160,
        "output_tokens": 20,
        "cache_read_tokens": 50,
        "cache_creation_tokens": 10,
        "cost_usd": 0.01,
    }
    failed = by_id[pad("1000000b")]
    assert failed["stop_reason"] == "error" and failed["error"] == "overloaded"
    # model and thinking changes: kit model_change entries carrying both
    changes = [e for e in session.entries if e["type"] == "model_change"]
    assert [(e["provider"], e["model_id"], e.get("thinking_level")) for e in changes] == [
        ("anthropic", "claude-sonnet-4-5", None),
        ("anthropic", "claude-sonnet-4-5", "high"),
        ("anthropic", "claude-opus-4-5", "high"),  # the last answer came from another model
    ]
    assert session.tree.parent_of(pad("10000014")) == changes[-1]["id"]
    assert session.current_model() == ("anthropic", "claude-opus-4-5", "high")
    # labels (the one on the first prompt cleared by a label entry without `label`), the name
    assert session.labels == {pad("1000000b"): "failed"} and session.name == "Pi session"
    assert by_id[pad("10000009")]["from_id"] == pad("1000000d")
    comp = by_id[pad("10000012")]
    assert {
        k: comp[k]
        for k in ("first_kept_entry_id", "tokens_before", "messages_removed", "read_files", "modified_files")
    } == {
        "first_kept_entry_id": pad("10000007"),
        "tokens_before": 5000,
        "messages_removed": 3,
        "read_files": ["README.md"],
        "modified_files": ["main.py"],
    }
    assert comp["tokens_after"] > 0
    ext = by_id[pad("1000000e")]
    assert (ext["type"], ext["ext_type"], json.loads(ext["data"])) == (
        "extension_data",
        "pi:my-ext",
        {"count": 1},
    )
    hidden = by_id[pad("10000011")]
    assert hidden["type"] == "extension_data" and json.loads(hidden["data"])["command"] == "ls -a"

    totals = usage_totals(session.entries)
    assert (
        totals.input_tokens,
        totals.output_tokens,
        totals.cache_read_tokens,
        totals.cache_creation_tokens,
    ) == (160 + 200 + 5 + 400, 20 + 10 + 0 + 30, 150, 10)
    assert totals.cost_usd == pytest.approx(0.06) and totals.answers == 4

    provider.reply("Tests next.")
    result = run_kit("-s", info["session_id"][:12], "Go on")
    assert result.returncode == 0, result.stderr
    assert sent(provider) == [
        {"role": "user", "content": f"{SUMMARY_PREFIX}<summary>\nEarlier: listed the files.\n</summary>"},
        {"role": "assistant", "content": "Two files."},
        {"role": "user", "content": "Remember the tests"},
        {"role": "user", "content": "Ran `git status`\n```\nclean\n```\n\nCommand exited with code 1"},
        {"role": "user", "content": "What next?"},
        {"role": "assistant", "content": "Write tests."},
        {"role": "user", "content": "Go on"},
    ]


def test_a_v3_branch_sends_its_tool_results_and_its_branch_summary(run_kit, provider, tmp_path):
    info, session = imported(run_kit, write_jsonl(tmp_path / "pi.jsonl", V3))
    session.move_leaf(pad("1000000b"))  # what /tree does: continue on the abandoned branch
    session.close()
    provider.reply("Renamed.")
    assert run_kit("-s", info["session_id"][:12], "again").returncode == 0
    assert sent(provider) == [
        {"role": "user", "content": "List the files"},
        {
            "role": "assistant",
            "content": "Let me look.",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "bash", "arguments": '{"command":"ls"}'},
                },
                {
                    "id": "call_2",
                    "type": "function",
                    "function": {"name": "read", "arguments": '{"path":"README.md"}'},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "README.md\nmain.py"},
        {"role": "tool", "tool_call_id": "call_2", "content": "# Demo"},
        {"role": "assistant", "content": "Two files."},
        {"role": "user", "content": "[Branch context: Tried renaming first.]"},
        {"role": "user", "content": "Rename it"},
        {"role": "user", "content": "again"},
    ], "the failed answer is never replayed"


def test_a_v2_file_keeps_its_tool_step_and_hook_messages(run_kit, provider, tmp_path):
    info, session = imported(run_kit, write_jsonl(tmp_path / "pi-v2.jsonl", V2))
    assert info["warnings"] == [] and session.header["imported_from"]["version"] == 2
    hook = session.get(pad("20000005"))
    assert hook["role"] == "user" and hook["custom_type"] == "reminder" and hook["display"] is False
    totals = usage_totals(session.entries)
    assert (totals.input_tokens, totals.output_tokens, totals.cost_usd) == (40 + 80, 11, pytest.approx(0.003))
    provider.reply("Fixing it.")
    assert run_kit("-s", info["session_id"][:12], "fix it").returncode == 0
    assert sent(provider) == [
        {"role": "user", "content": "Run the tests"},
        {
            "role": "assistant",
            "tool_calls": [
                {
                    "id": "call_9",
                    "type": "function",
                    "function": {"name": "bash", "arguments": '{"command":"pytest"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_9", "content": "1 failed"},
        {"role": "user", "content": "Tests must pass."},
        {"role": "assistant", "content": "One test fails."},
        {"role": "user", "content": "fix it"},
    ]


def test_a_v1_file_becomes_a_chain_with_its_header_model_and_indexed_compaction(run_kit, provider, tmp_path):
    info, session = imported(run_kit, write_jsonl(tmp_path / "pi-v1.jsonl", V1))
    entries = session.entries
    assert [e["type"] for e in entries] == [
        "model_change",
        "message",
        "message",
        "message",
        "message",
        "compaction",
        "model_change",
        "model_change",
        "message",
    ]
    assert all(session.tree.parent_of(b["id"]) == a["id"] for a, b in zip(entries, entries[1:], strict=False))
    assert entries[0]["model_id"] == "claude-sonnet-4-5" and entries[0]["thinking_level"] == "off"
    assert entries[5]["first_kept_entry_id"] == entries[3]["id"], "index 3 of the file: the second question"
    assert entries[5]["messages_removed"] == 2
    assert session.current_model() == ("openai", "gpt-4o", "medium")
    provider.reply("fourth")
    assert run_kit("-s", info["session_id"][:12], "next").returncode == 0
    assert sent(provider) == [
        {"role": "user", "content": f"{SUMMARY_PREFIX}<summary>\nThe user asked two questions.\n</summary>"},
        {"role": "user", "content": "second question"},
        {"role": "assistant", "content": "second answer"},
        {"role": "user", "content": "third question"},
        {"role": "user", "content": "next"},
    ]
    assert usage_totals(session.entries).cost_usd == pytest.approx(0.003)


@pytest.mark.parametrize(
    ("lines", "error"),
    [
        ([json.dumps(V3[0]), json.dumps(V3[1]), "{not json", json.dumps(V3[2])], "line 3: not valid JSON"),
        ([json.dumps(V3[0]), json.dumps({**V3[1], "id": None})], "line 2: entry without an `id`"),
        ([json.dumps({**V3[0], "version": 4}), json.dumps(V3[1])], "line 1: pi session format version 4"),
        ([json.dumps(V3[0]), json.dumps(V3[1]), json.dumps(V3[1])], "line 3: duplicate entry id '10000001'"),
        ([json.dumps(V3[0]), json.dumps({**V3[3], "message": "hi"})], "line 2: a message entry without"),
        ([json.dumps(V3[1])], "line 1: no session header"),
    ],
    ids=["json", "no-id", "version", "duplicate", "no-message", "no-header"],
)
def test_a_broken_pi_file_is_refused_naming_the_line(run_kit, tmp_path, kit_env, lines, error):
    source = tmp_path / "broken.jsonl"
    source.write_text("\n".join(lines) + "\n")
    result = run_kit("import", str(source), provider_flags=False)
    assert result.returncode == 12
    assert (
        result.stderr.startswith("kit: error: ") and error in result.stderr and result.stderr.count("\n") == 1
    )
    assert not list((Path(kit_env["KIT_HOME"])).rglob("*.jsonl")), "nothing is left behind"


def test_opening_a_pi_file_points_to_kit_import(run_kit, tmp_path):
    source = write_jsonl(tmp_path / "pi.jsonl", V3)
    result = run_kit("-s", str(source), "hello")
    assert result.returncode == 12
    assert f"run `kit import {source}` to bring it in as a new kit session" in result.stderr


def test_an_entry_whose_parent_is_missing_is_kept_as_a_root_with_a_warning(run_kit, tmp_path):
    lines = [V2[0], {**V2[2], "parentId": "ffffffff"}, V2[3]]
    info, session = imported(run_kit, write_jsonl(tmp_path / "orphan.jsonl", lines))
    warning = "line 2: parent ffffffff not found earlier in the file; the entry is kept as a root"
    assert info["warnings"] == [warning]
    assert session.tree.roots() == [pad("20000002")]
    assert [e["type"] for e in session.path_entries()] == ["message", "model_change", "message"]
