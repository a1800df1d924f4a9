"""Compaction end to end through the `kit` CLI: what `kit -c` sends after compactions,
auto-compaction from the config file, overflow recovery, Ctrl-C, and a Go kit file's root compaction.

Sessions are set up with SessionManager; the turn under test runs the CLI (in-process via `run_kit`,
the real executable for Ctrl-C).
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
from pathlib import Path

from kit_py.compaction import runner as compactor
from kit_py.session import SessionManager
from tests.conftest import MODEL, kit_command
from tests.test_compaction_engine import FIXTURE, build_tool_session, new_session, settings_for, summary_text


def new_lines(path: Path, before: bytes) -> list[dict]:
    after = path.read_bytes()
    assert after.startswith(before), "existing lines must never change"
    return [json.loads(line) for line in after[len(before) :].splitlines()]


def test_continue_after_two_compactions_sends_system_summary_kept_and_later(run_kit, provider, workdir):
    session, b, _ = build_tool_session(workdir)
    settings = settings_for(provider)
    provider.reply("SUMMARY ONE")
    assert compactor.compact_session(session, settings) is not None
    b.user("Summarize the state")
    b.assistant("All good.")
    provider.reply("SUMMARY TWO")
    second = compactor.compact_session(session, settings)
    assert second is not None
    b.user("Any risks?")
    b.step("read", {"path": "RISKS.md"}, "none known")
    b.assistant("None known.")
    provider.reply("Ship it.")

    result = run_kit("-c", "--system-prompt", "Be brief.", "what next?")

    assert result.returncode == 0, result.stderr
    assert result.stdout == "Ship it.\n" and result.stderr == ""
    assert provider.last_messages() == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": summary_text(second.summary)},
        {"role": "user", "content": "Summarize the state"},
        {"role": "assistant", "content": "All good."},
        {"role": "user", "content": "Any risks?"},
        {
            "role": "assistant",
            "tool_calls": [
                {
                    "id": "call_4",
                    "type": "function",
                    "function": {"name": "read", "arguments": '{"path": "RISKS.md"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_4", "content": "none known"},
        {"role": "assistant", "content": "None known."},
        {"role": "user", "content": "what next?"},
    ]
    entries = SessionManager.open(session.path).entries  # the whole history stays in the file
    assert sum(e["type"] == "compaction" for e in entries) == 2
    assert sum(e["type"] == "message" for e in entries) == 12 + 2 + 4 + 2 + 1  # and the system prompt


def test_auto_compaction_from_the_config_files_at_the_threshold(run_kit, provider, workdir, kit_env):
    session, b = new_session(workdir)
    for i in range(4):
        b.user(f"q{i} " + "u" * 2400)
        b.assistant(f"a{i} " + "a" * 2400)
    assert session.path is not None
    # window 8000 -> reserve 4000: compaction fires above 4000 tokens and keeps about 2000
    with (Path(kit_env["HOME"]) / ".kit.yml").open("a") as config:
        config.write("auto_compact: yes\ncontext_window: 8000\n")
    (workdir / ".kit.yml").write_text("auto_compact: false\n")  # the project file wins
    provider.reply("first answer")
    assert run_kit("-c", "first").returncode == 0
    [request] = provider.chat_requests
    assert request["body"]["stream"] and len(request["body"]["messages"]) == 9  # above it, but switched off
    usage = SessionManager.open(session.path).entries[-1]["usage"]
    tokens_before = usage["input_tokens"] + usage["output_tokens"]  # what the provider reported last
    assert tokens_before > 4000
    before = session.path.read_bytes()

    (workdir / ".kit.yml").unlink()  # now ~/.kit.yml switches it on
    provider.reply("## Goal\nAnswer the q-series.")
    provider.reply("second answer")
    result = run_kit("-c", "second")

    assert result.returncode == 0, result.stderr
    assert result.stdout == "second answer\n"
    summary_request, chat = provider.chat_requests[1:]
    assert not summary_request["body"].get("stream") and summary_request["body"]["max_tokens"] == 3200
    assert summary_request["body"]["messages"][1]["content"].startswith(
        "<conversation>\n[User]: q0 " + "u" * 2400 + "\n\n[Assistant]: a0 "
    )
    added = new_lines(session.path, before)
    assert [(e["type"], e.get("role")) for e in added] == [
        ("message", "user"),  # the prompt is on disk before any request, the summary's included
        ("compaction", None),
        ("message", "assistant"),
    ]
    comp = added[1]
    assert comp["messages_removed"] == 4
    assert comp["tokens_before"] == tokens_before + 2  # and the prompt "second", on disk before it
    assert result.stderr == (
        f"kit: compacted: 4 messages -> summary, {comp['tokens_before']} -> {comp['tokens_after']} tokens\n"
    )
    assert chat["body"]["messages"] == [
        {"role": "user", "content": summary_text("## Goal\nAnswer the q-series.")},
        {"role": "user", "content": "q2 " + "u" * 2400},
        {"role": "assistant", "content": "a2 " + "a" * 2400},
        {"role": "user", "content": "q3 " + "u" * 2400},
        {"role": "assistant", "content": "a3 " + "a" * 2400},
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "first answer"},
        {"role": "user", "content": "second"},
    ]


def test_overflow_compacts_and_retries_once_then_a_second_overflow_is_an_error(run_kit, provider, workdir):
    session, b = new_session(workdir)
    b.user("first question")
    b.assistant("first answer")
    b.user("second question")
    b.assistant("second answer")
    assert session.path is not None
    before = session.path.read_bytes()
    provider.context_overflow()
    provider.reply("SUMMARY")
    provider.reply("fits now")

    result = run_kit("-c", "third question")

    assert result.returncode == 0, result.stderr
    assert result.stdout == "fits now\n"
    comp = new_lines(session.path, before)[1]
    assert (
        result.stderr == f"kit: compacted: 2 messages -> summary, {comp['tokens_before']} -> "
        f"{comp['tokens_after']} tokens\n"
    )
    assert provider.last_messages() == [
        {"role": "user", "content": summary_text("SUMMARY")},
        {"role": "user", "content": "second question"},
        {"role": "assistant", "content": "second answer"},
        {"role": "user", "content": "third question"},
    ]

    before = session.path.read_bytes()
    provider.context_overflow(8192, 9000)
    provider.reply("SUMMARY 2")
    provider.context_overflow(8192, 8500)
    failed = run_kit("-c", "x" * 40_000)

    assert failed.returncode == 11 and failed.stdout == ""
    assert failed.stderr.splitlines()[-1] == (
        "kit: error: context too long for openai/scripted: This model's maximum context length is 8192 "
        "tokens. However, your messages resulted in 8500 tokens. Please reduce the length of the messages. "
        "— still too long after compacting the history: shorten the message or use a model with a larger "
        "context window"
    )
    written = new_lines(session.path, before)
    assert [e["type"] for e in written] == ["message", "compaction", "message"]
    assert written[0]["role"] == "user", "the prompt is kept"
    assert written[2]["role"] == "assistant" and written[2]["stop_reason"] == "error"
    assert len(provider.chat_requests) == 3 + 3


def test_ctrl_c_during_auto_compaction_compacts_nothing_and_keeps_the_prompt(kit_env, provider, workdir):
    session, b = new_session(workdir)
    for i in range(4):
        b.user(f"q{i} " + "u" * 2400)
        b.assistant(f"a{i} " + "a" * 2400)
    assert session.path is not None
    before = session.path.read_bytes()
    provider.hang(30)
    (workdir / ".kit.yml").write_text("context_window: 8000\n")
    proc = subprocess.Popen(
        [*kit_command(), "-m", MODEL, "--api-base", provider.base_url, "--auto-compact", "-c", "next"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=kit_env,
        cwd=workdir,
    )
    deadline = time.monotonic() + 30
    while not provider.chat_requests and time.monotonic() < deadline:
        time.sleep(0.05)
    assert provider.chat_requests, "the summary request never arrived"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert err.strip().splitlines()[-1] == (
        "kit: compaction cancelled; nothing was compacted (your prompt is kept in the session)"
    )
    assert out == ""
    after = session.path.read_bytes()
    assert after.startswith(before)
    added = [json.loads(line) for line in after[len(before) :].splitlines()]
    assert [(e["type"], e.get("role")) for e in added] == [("message", "user")]
    assert added[0]["parts"][0]["data"]["text"] == "next"


def test_go_kit_file_with_a_root_compaction_continues(run_kit, provider, tmp_path):
    path = tmp_path / FIXTURE.name
    shutil.copy(FIXTURE, path)
    before = path.read_bytes()
    provider.reply("Use read_config everywhere.")

    result = run_kit("-s", str(path), "next")

    assert result.returncode == 0, result.stderr
    assert provider.last_messages() == [
        {"role": "user", "content": summary_text("Go summary: the user asked about the project layout.")},
        {"role": "user", "content": "Where is the config loaded?"},
        {
            "role": "assistant",
            "tool_calls": [
                {
                    "id": "call_go1",
                    "type": "function",
                    "function": {"name": "read", "arguments": '{"path":"src/app.py"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_go1", "content": "#" * 10000},
        {"role": "assistant", "content": "In src/app.py, load_config()."},
        {"role": "user", "content": "Rename it to read_config"},
        {"role": "assistant", "content": "Renamed."},
        {"role": "user", "content": "next"},
    ]
    added = new_lines(path, before)
    assert [e["type"] for e in added] == ["model_change", "message", "message"]
    assert added[0]["parent_id"] == "c000000000000009"
