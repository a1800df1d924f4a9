"""MCP servers in the REPL, in a real pty: /servers and /tools, safe mode asking only before the MCP
tools that do not declare themselves read-only, and no server outliving a killed kit."""

from __future__ import annotations

import json
import signal
import time

import yaml

from tests.conftest import session_files
from tests.mcp_support import pids, server_entry, wait_gone
from tests.test_repl_pty import ENTER, Terminal


def test_repl_lists_servers_and_tools_asks_for_state_changing_mcp_tools_and_leaves_no_server_behind(
    kit_env, workdir, provider, tmp_path
):
    pidfile, notes = tmp_path / "pids", tmp_path / "notes"
    env = {**kit_env, "MCP_TEST_PIDFILE": str(pidfile), "MCP_TEST_NOTES": str(notes)}
    config = {"mcp_servers": {"files": server_entry(), "broken": server_entry("--fail")}}
    (workdir / ".kit.yml").write_text(yaml.safe_dump(config))
    provider.reply(
        "Reading, then writing.",
        tool_calls=[
            {"id": "r1", "name": "files__echo", "arguments": {"text": "look"}},
            {"id": "w1", "name": "files__write_note", "arguments": {"text": "remember the milk"}},
        ],
    )
    provider.reply("Noted.")
    provider.reply("Waiting.", tool_calls=[{"id": "s1", "name": "files__slow", "arguments": {"seconds": 60}}])
    term = Terminal.kit(provider, env, workdir, "--safe")
    term.ready()

    term.send("/tools" + ENTER)
    listing = term.expect("tools; safe mode on")
    rows = {
        line.split()[0]: line for line in listing.splitlines() if line.strip().startswith(("files__", "bash"))
    }
    assert "asks" in rows["files__write_note"] and "asks" in rows["bash"]
    assert "asks" not in rows["files__echo"] and "Return the text unchanged." in rows["files__echo"]
    assert "MCP server broken is failed: its tools are not offered" in listing
    term.ready()

    term.send("/servers" + ENTER)
    listing = term.ready()
    assert "files" in listing and "ready in" in listing and "6 tools" in listing
    assert "broken" in listing and "failed" in listing and "cannot open the database" in listing

    term.send("note this" + ENTER)
    shown = term.expect("Allow files__write_note? [y]es / [n]o / [a]lways for files__write_note: ")
    assert "echo: look" in shown  # the read-only tool ran without a question
    assert "files__write_note needs approval (safe mode)" in shown
    assert "MCP server 'files', tool 'write_note'" in shown and '"text": "remember the milk"' in shown
    term.send("y" + ENTER)
    term.expect("Noted.")
    term.ready()
    assert notes.read_text() == "remember the milk\n"

    # Killed (SIGKILL: nothing in kit runs) while the server is busy and deaf to end of input: the
    # watchdog stops it all the same.
    term.send("wait for it" + ENTER)
    deadline = time.monotonic() + 20
    while "slow started" not in notes.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    term.child.kill(signal.SIGKILL)
    term.wait_exit()
    started = pids(pidfile)
    assert len(started) == 2 and wait_gone(started) == []
    (path,) = session_files(kit_env)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    asked = [json.loads(e["data"]) for e in lines if e.get("ext_type") == "kit:approval"]
    assert [(a["tool"], a["answer"], a["action"]) for a in asked] == [
        ("files__write_note", "approved", "ran")
    ]
