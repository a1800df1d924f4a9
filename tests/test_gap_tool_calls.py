"""A tool call's life in the session file, through the real CLI: its arguments stay JSON text on disk and
in every later request, and a reply cut off after its tool call leaves no call without a result."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kit_py.engine.approval import ToolSetup
from kit_py.engine.tool_calls import execute_tool_call
from kit_py.tools import select_tools
from tests.conftest import session_files

ARGUMENTS = '{"path": "notes.txt"}'  # exactly what the model streams (the provider sends it as text)


def entries(kit_env: dict[str, str]) -> list[dict[str, Any]]:
    (path,) = session_files(kit_env)
    return [json.loads(line) for line in path.read_text().splitlines()[1:]]


def stored_calls(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [p["data"] for e in lines for p in e.get("parts", []) if p["type"] == "tool_call"]


def sent_calls(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [call for m in messages for call in m.get("tool_calls") or []]


def test_tool_call_arguments_stay_json_text_in_the_file_and_in_every_later_request(
    run_kit, kit_env, provider, workdir
):
    (workdir / "notes.txt").write_text("alpha\n")
    provider.reply("Reading.", tool_calls=[{"id": "call_r", "name": "read", "arguments": ARGUMENTS}])
    provider.reply("Done.")
    first = run_kit("read my notes")
    assert first.returncode == 0, first.stderr

    (call,) = stored_calls(entries(kit_env))
    assert call == {"id": "call_r", "name": "read", "input": ARGUMENTS, "finished": True}
    offered = [t["function"]["name"] for t in provider.chat_requests[0]["body"]["tools"]]
    assert sorted(offered) == ["bash", "edit", "grep", "ls", "read", "write"]

    # The step after the tool ran sends the call back with its arguments as a string (OpenAI's shape).
    (sent,) = sent_calls(provider.last_messages())
    assert sent["function"] == {"name": "read", "arguments": ARGUMENTS}
    (result,) = [m for m in provider.last_messages() if m["role"] == "tool"]
    assert result["tool_call_id"] == "call_r" and "alpha" in result["content"]

    # A later turn rebuilt from the file sends the same text.
    provider.reply("Still here.")
    again = run_kit("-c", "and now?")
    assert again.returncode == 0, again.stderr
    (resent,) = sent_calls(provider.last_messages())
    assert resent["id"] == "call_r" and resent["function"] == {"name": "read", "arguments": ARGUMENTS}


@pytest.mark.parametrize("cut", ["dropped", "ended"], ids=["connection-dropped", "stream-ended-early"])
def test_a_reply_cut_off_after_its_tool_call_keeps_its_text_and_no_call_without_a_result(
    run_kit, kit_env, provider, workdir, cut
):
    # Chunks: role, text, tool call head, its arguments, finish. Cut before the finish chunk.
    call = {"id": "call_cut", "name": "write", "arguments": {"path": "made.txt", "content": "x"}}
    options = {"drop_after": 4} if cut == "dropped" else {"truncate_after": 4}
    provider.reply("Let me write it.", tool_calls=[call], chunk_size=1000, **options)
    broken = run_kit("write a file")
    assert broken.returncode != 0 and "incomplete" in broken.stderr
    assert not (workdir / "made.txt").exists(), "a call from a broken reply never runs"

    lines = entries(kit_env)
    assert stored_calls(lines) == [], "the broken step's call would have no result in the file"
    answer = lines[-1]
    assert answer["role"] == "assistant" and answer["stop_reason"] == "error" and "error" in answer
    assert [p["data"]["text"] for p in answer["parts"]] == ["Let me write it."]

    provider.reply("Fine.")
    resumed = run_kit("-c", "try again")
    assert resumed.returncode == 0, resumed.stderr
    sent = provider.last_messages()
    assert sent_calls(sent) == [] and all(m["role"] != "tool" for m in sent)
    assert [m["content"] for m in sent] == ["write a file", "try again"], "a failed answer is not replayed"


def test_a_call_to_an_unknown_tool_tells_the_model_which_tools_it_has(tmp_path):
    offered = ToolSetup(tools=select_tools(["read", "ls"]), cwd=tmp_path)
    content, is_error, details = execute_tool_call("fly", "{}", offered, "c1")
    assert is_error and content == "Error: unknown tool 'fly'; available tools: read, ls"
    assert details == {"duration_ms": 0, "cwd": str(tmp_path)}
    content, is_error, _ = execute_tool_call("fly", "{}", ToolSetup(tools=[], cwd=tmp_path), "c2")
    assert is_error and content == "Error: unknown tool 'fly'; available tools: none"
