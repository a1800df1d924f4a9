"""MCP servers through the Python API: `Agent(mcp_servers=...)` with the same entries as `.kit.yml`."""

from __future__ import annotations

import pytest

from kit_py import Agent
from tests.api_support import api_fixture  # noqa: F401  (fixture `api`)
from tests.mcp_support import (
    pids,
    server_command,
    server_entry,
    wait_gone,
)


def test_agent_calls_mcp_tools_and_asks_only_before_state_changing_ones(
    api, tmp_path, monkeypatch, http_mcp_url
):
    pidfile, notes = tmp_path / "pids", tmp_path / "notes"
    monkeypatch.setenv("MCP_TEST_PIDFILE", str(pidfile))
    monkeypatch.setenv("MCP_TEST_NOTES", str(notes))
    api.reply(
        "Working.",
        tool_calls=[
            {"id": "a", "name": "web__add", "arguments": {"a": 1, "b": 2}},
            {"id": "n", "name": "files__write_note", "arguments": {"text": "from the API"}},
            {"id": "m", "name": "files__write_note", "arguments": {"text": "refused"}},
        ],
    )
    api.reply("Done.")
    asked = []

    def approve(action):
        asked.append(action)
        return action.arguments["text"] != "refused"

    servers = {"files": server_entry(), "web": http_mcp_url, "broken": server_command("--fail")}
    with Agent(mcp_servers=servers, safe_mode=True, approve=approve) as agent:
        events = list(agent.session().stream("go"))
        started = pids(pidfile)
        assert len(started) == 2 and len(wait_gone(started, seconds=0)) == 1  # files is up, broken is not

    result = events[-1].result
    assert result.text == "Done."
    assert [a.tool for a in asked] == ["files__write_note", "files__write_note"]  # web__add is read-only
    assert "MCP server 'files', tool 'write_note'" in asked[0].preview
    assert [(a.tool, a.approved) for a in result.approvals] == [
        ("files__write_note", True),
        ("files__write_note", False),
    ]
    assert notes.read_text() == "from the API\n"
    results = {e.call_id: e for e in events if e.type == "tool_result"}
    assert results["a"].text == "3" and not results["a"].is_error
    assert results["m"].is_error and "denied" in results["m"].text
    assert any(e.type == "notice" and "MCP server 'broken' failed to start" in e.text for e in events)
    assert wait_gone(started) == []  # leaving the `with` stopped the servers


def test_agent_refuses_bad_mcp_server_entries_at_once(api):
    with pytest.raises(ValueError, match=r"mcp_servers\['files'\]: needs either `command`"):
        Agent(mcp_servers={"files": {"env": {"A": "1"}}})
    with pytest.raises(ValueError, match="server name 'a b' must be"):
        Agent(mcp_servers={"a b": "cat"})
