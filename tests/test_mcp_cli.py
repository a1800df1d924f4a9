"""MCP servers through `kit`: configured in .kit.yml or with --mcp, started in parallel, their tools
called and recorded like built-in ones; servers that fail, hang or die are reported and withdrawn."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import session_files
from tests.mcp_support import (
    SERVER_TOOLS,
    pids,
    server_command,
    server_entry,
    wait_gone,
)

BUILTINS = ["read", "write", "edit", "bash", "ls", "grep"]


def offered(request: dict[str, Any]) -> list[str]:
    return [t["function"]["name"] for t in request["body"].get("tools") or []]


def tool_results(lines: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        p["data"]["tool_call_id"]: p["data"] for e in lines if e.get("role") == "tool" for p in e["parts"]
    }


def recorded(kit_env: dict[str, str]) -> list[dict[str, Any]]:
    (path,) = session_files(kit_env)
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_configured_servers_start_together_and_their_tools_run_and_are_recorded(
    run_kit, provider, kit_env, workdir, tmp_path, http_mcp_url
):
    pidfile, notes = tmp_path / "pids", tmp_path / "notes"
    env = {"MCP_TEST_PIDFILE": str(pidfile), "MCP_TEST_NOTES": str(notes)}
    config = {
        "mcp_servers": {
            "files": server_entry(),
            "web": {"url": http_mcp_url, "timeout": 1.5},
            "broken": server_entry("--fail"),
            "stuck": server_entry("--hang", startup_timeout=1),
            "secret": {
                "url": "https://mcp.example/mcp",
                "headers": {"Authorization": "Bearer ${KIT_NO_TOKEN}"},
            },
        }
    }
    (workdir / ".kit.yml").write_text(yaml.safe_dump(config))
    provider.reply(
        "Using the servers.",
        tool_calls=[
            {"id": "c_echo", "name": "files__echo", "arguments": {"text": "hi there"}},
            {"id": "c_add", "name": "web__add", "arguments": {"a": 2, "b": "40"}},
            {"id": "c_fail", "name": "files__fail", "arguments": {"message": "disk on fire"}},
            {"id": "c_slow", "name": "web__slow", "arguments": {"seconds": 20}},
        ],
    )
    provider.reply("All done.")

    result = run_kit("--json", "use the tools", env=env)

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["text"] == "All done."
    # The broken and the hung server are reported on stderr, once each; the chat goes on without them.
    assert result.stderr.count("MCP server 'broken' failed to start") == 1
    assert "cannot open the database /nonexistent/db" in result.stderr
    assert "MCP server 'stuck' failed to start: did not start within 1 s" in result.stderr
    assert (
        "MCP server 'secret' failed to start: environment variable KIT_NO_TOKEN is not set" in result.stderr
    )
    first, second = provider.chat_requests
    assert offered(first) == BUILTINS + [f"files__{t}" for t in SERVER_TOOLS] + [
        f"web__{t}" for t in SERVER_TOOLS
    ]
    add_schema = next(t for t in first["body"]["tools"] if t["function"]["name"] == "web__add")["function"]
    assert add_schema["description"] == "Add two whole numbers."
    assert add_schema["parameters"]["required"] == ["a", "b"]
    # The results reach the model and the session file, each naming its server.
    results = tool_results(recorded(kit_env))
    assert results["c_echo"]["content"] == "echo: hi there" and not results["c_echo"]["is_error"]
    assert (results["c_echo"]["server"], results["c_echo"]["mcp_tool"]) == ("files", "echo")
    assert results["c_add"]["content"] == "42" and results["c_add"]["server"] == "web"
    assert results["c_fail"]["is_error"] and "disk on fire" in results["c_fail"]["content"]
    assert results["c_slow"]["is_error"] and results["c_slow"]["timed_out"]
    assert "slow did not finish within 1.5 s (MCP server 'web')" in results["c_slow"]["content"]
    sent = {m.get("tool_call_id"): m["content"] for m in second["body"]["messages"] if m["role"] == "tool"}
    assert sent["c_add"] == "42" and "disk on fire" in sent["c_fail"]
    json_results = [p["data"] for m in report["messages"] if m["role"] == "tool" for p in m["parts"]]
    assert {r["server"] for r in json_results} == {"files", "web"}
    # Every stdio server kit started (the good, the broken, the hung one) is gone when kit is.
    started = pids(pidfile)
    assert len(started) == 3
    assert wait_gone(started) == []


def test_a_server_that_dies_mid_turn_is_reported_and_its_tools_withdrawn(
    run_kit, provider, kit_env, tmp_path
):
    pidfile = tmp_path / "pids"
    provider.reply("Crashing it.", tool_calls=[{"id": "c1", "name": "dying__crash", "arguments": {}}])
    provider.reply(
        "Trying again.", tool_calls=[{"id": "c2", "name": "dying__echo", "arguments": {"text": "x"}}]
    )
    provider.reply("It is gone; carrying on.")
    flags = ["--mcp", f"dying={server_command()}", "--tools", "read"]  # --tools picks built-ins only

    result = run_kit(*flags, "crash it", env={"MCP_TEST_PIDFILE": str(pidfile)})

    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith("It is gone; carrying on.\n")
    assert "MCP server 'dying' stopped (the connection closed); its 6 tool(s) are withdrawn" in result.stderr
    first, second, third = provider.chat_requests
    assert offered(first) == ["read"] + [f"dying__{t}" for t in SERVER_TOOLS]
    assert offered(second) == ["read"] and offered(third) == ["read"]
    results = tool_results(recorded(kit_env))
    assert results["c1"]["is_error"] and results["c1"]["server"] == "dying"
    assert "stopped during the call" in results["c1"]["content"]
    assert results["c2"]["is_error"] and "unknown tool 'dying__echo'" in results["c2"]["content"]
    assert wait_gone(pids(pidfile)) == []


def test_no_tools_starts_no_mcp_server(run_kit, provider, kit_env, tmp_path):
    pidfile = tmp_path / "pids"
    (Path(kit_env["HOME"]) / ".kit.yml").write_text(
        yaml.safe_dump({"mcp_servers": {"files": server_entry()}})
    )
    result = run_kit("--no-tools", "hi", env={"MCP_TEST_PIDFILE": str(pidfile)})
    assert result.returncode == 0, result.stderr
    assert offered(provider.chat_requests[-1]) == [] and not pidfile.exists()


def test_bad_mcp_settings_are_one_line_usage_errors_that_say_where(run_kit, provider, kit_env, workdir):
    (workdir / ".kit.yml").write_text(yaml.safe_dump({"mcp_servers": {"files": {"args": ["x"]}}}))
    result = run_kit("hi")
    assert result.returncode == 2
    assert result.stderr == (
        "kit: error: ./.kit.yml: mcp_servers.files: needs either `command` (a program to run) "
        "or `url` (a streamable HTTP endpoint)\n"
    )
    (workdir / ".kit.yml").write_text(
        yaml.safe_dump({"mcpServers": {"web": {"url": "ftp://x", "timeout": 0}}})
    )
    result = run_kit("hi")
    assert result.returncode == 2 and "./.kit.yml: mcp_servers.web: url must start with http" in result.stderr
    (workdir / ".kit.yml").unlink()
    for flags, message in [
        (["--mcp", "files"], "--mcp: expected NAME=COMMAND"),
        (["--mcp", "my files=cat"], "--mcp: server name 'my files' must be 1-40 letters"),
        (["--mcp", "x='unclosed"], "cannot be split into words"),
        (["--mcp", "x=cat", "--no-tools"], "--mcp and --no-tools contradict each other"),
    ]:
        result = run_kit(*flags, "hi")
        assert result.returncode == 2, flags
        assert len(result.stderr.splitlines()) == 1 and message in result.stderr, result.stderr
    assert provider.chat_requests == [] and session_files(kit_env) == []
