"""SIGKILL at random moments while answers stream and tools run: every prompt that reached the
model is in the session file, every line parses, and the next run answers any call a kill left
without a result before it asks anything."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from kit_py.session import SessionManager, message_text
from tests.conftest import REPO, session_files

KILLS = 32


def test_sigkill_during_streams_and_tool_steps_never_loses_a_prompt(kit_env, workdir, provider, run_kit):
    provider.reply("warm")
    words = " ".join(f"w{i}" for i in range(60))
    for n in range(KILLS * 3):  # more than enough: a killed run leaves its later replies queued
        if n % 3 == 2:
            call = {"id": f"call_{n}", "name": "bash", "arguments": {"command": "sleep 0.4; echo slept"}}
            provider.reply(tool_calls=[call])
        else:
            provider.reply(words, chunk_size=6, delay=0.02)
    runner = subprocess.run(
        [sys.executable, str(REPO / "tests" / "kill_loop_runner.py"), provider.base_url, str(KILLS), "7"],
        env=kit_env,
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert runner.returncode == 0, runner.stderr[-3000:]
    outcomes = runner.stdout.split()
    killed = runner.stdout.count("killed")
    asked = {
        m["content"]
        for request in provider.chat_requests
        for m in request["body"].get("messages", [])
        if m.get("role") == "user" and isinstance(m.get("content"), str)
    }
    reached = {f"prompt {n}" for n in range(KILLS)} & asked
    assert killed >= 30, outcomes
    assert len(reached) >= 28, "the kills landed while the model or a tool was working"

    [path] = session_files(kit_env)
    for lineno, line in enumerate(path.read_bytes().splitlines(), 1):
        json.loads(line)  # every line parses: Go kit would refuse the file otherwise
        assert line, lineno
    stored = {message_text(e) for e in SessionManager.open(path).entries if e.get("role") == "user"}
    assert reached <= stored, f"prompts lost: {sorted(reached - stored)}"

    provider.reply("all good")
    final = run_kit("-c", "final check")
    assert final.returncode == 0, final.stderr
    sent = provider.last_messages()
    answered = {m["tool_call_id"] for m in sent if m["role"] == "tool"}
    called = {c["id"] for m in sent if m["role"] == "assistant" for c in m.get("tool_calls") or []}
    assert called <= answered, "a call without its result would be rejected by the provider"
    assert SessionManager.open(path).warnings == []
    assert Path(path).stat().st_mode & 0o777 == 0o600
