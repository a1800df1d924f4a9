"""Tools end to end: `kit` runs scripted tool calls, shows them, asks in safe mode, records all.

Most runs are in-process (`run_kit`); Ctrl-C, a missing controlling terminal and the /dev/tty
questions need the real executable.
"""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import signal
import subprocess
import time
from typing import Any

import pexpect

from tests.conftest import MODEL, kit_command, session_files

ALL_TOOLS = {"read", "write", "edit", "bash", "ls", "grep"}


def entries(kit_env: dict[str, str]) -> list[dict[str, Any]]:
    (path,) = session_files(kit_env)
    return [json.loads(line) for line in path.read_text().splitlines()]


def results_by_id(lines: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        p["data"]["tool_call_id"]: p["data"] for e in lines if e.get("role") == "tool" for p in e["parts"]
    }


def approvals(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [json.loads(e["data"]) for e in lines if e.get("ext_type") == "kit:approval"]


def assert_every_call_answered_by_the_next_message(lines: list[dict[str, Any]]) -> None:
    """docs/session-format.md (wire format): a step with calls has exactly one child, a tool message
    holding all its results."""
    by_id = {e["id"]: e for e in lines if "id" in e and e["type"] != "session"}
    for entry in by_id.values():
        calls = [p["data"]["id"] for p in entry.get("parts", []) if p["type"] == "tool_call"]
        if not calls:
            continue
        children = [e for e in by_id.values() if e.get("parent_id") == entry["id"]]
        assert len(children) == 1 and children[0]["role"] == "tool", entry
        assert [p["data"]["tool_call_id"] for p in children[0]["parts"]] == calls


def tool_names(body: dict[str, Any]) -> list[str]:
    return [t["function"]["name"] for t in body["tools"]]


def run_detached(kit_env, provider, workdir, *args: str) -> subprocess.CompletedProcess[str]:
    """`kit` in a new session: no controlling terminal, so nobody can answer an approval question."""
    return subprocess.run(
        [*kit_command(), "-m", MODEL, "--api-base", provider.base_url, *args],
        capture_output=True,
        text=True,
        env=kit_env,
        cwd=workdir,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        timeout=60,
    )


def test_every_tool_succeeds_and_fails_visibly_across_a_multi_step_turn(run_kit, kit_env, provider, workdir):
    (workdir / "notes.txt").write_text("alpha\nbeta\n")
    (workdir / "src").mkdir()
    (workdir / "src" / "code.py").write_text("def f():\n    return 1\n")
    provider.reply(
        "Looking.",
        tool_calls=[
            {"id": "read_ok", "name": "read", "arguments": {"path": "notes.txt"}},
            {"id": "read_bad", "name": "read", "arguments": {"path": "missing.txt"}},
            {"id": "ls_ok", "name": "ls", "arguments": {"path": "src"}},
            {"id": "ls_bad", "name": "ls", "arguments": {"path": "nope"}},
            {"id": "grep_ok", "name": "grep", "arguments": {"pattern": "return", "path": "src"}},
            {"id": "grep_bad", "name": "grep", "arguments": {"pattern": "x", "path": "nope"}},
        ],
    )
    provider.reply(
        tool_calls=[
            {"id": "write_ok", "name": "write", "arguments": {"path": "out/new.txt", "content": "fresh\n"}},
            {"id": "write_bad", "name": "write", "arguments": {"path": "src", "content": "x"}},
            {
                "id": "edit_ok",
                "name": "edit",
                "arguments": {"path": "notes.txt", "old_text": "alpha", "new_text": "ALPHA"},
            },
            {
                "id": "edit_bad",
                "name": "edit",
                "arguments": {"path": "notes.txt", "old_text": "zzz", "new_text": "y"},
            },
            {"id": "bash_ok", "name": "bash", "arguments": {"command": "pwd"}},
            {"id": "bash_bad", "name": "bash", "arguments": {"command": "echo from-bash; exit 3"}},
        ]
    )
    provider.reply("All done.")
    result = run_kit("tidy up")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Looking.\nAll done.\n"  # tool activity never reaches stdout
    for shown in (
        "⚙ read notes.txt",
        '⚙ grep "return" in src',
        "⚙ bash $ echo from-bash; exit 3",
        "[exit 3",
        "+fresh",
        "-alpha",
        "+ALPHA",
    ):
        assert shown in result.stderr

    requests = provider.chat_requests
    assert len(requests) == 3
    assert all(set(tool_names(r["body"])) == ALL_TOOLS for r in requests)
    sent = {m["tool_call_id"]: m["content"] for m in requests[1]["body"]["messages"] if m["role"] == "tool"}
    assert "alpha" in sent["read_ok"] and "def f" not in sent["ls_ok"] and "code.py" in sent["ls_ok"]
    assert "return 1" in sent["grep_ok"]

    lines = entries(kit_env)
    assert_every_call_answered_by_the_next_message(lines)
    results = results_by_id(lines)
    assert {k for k, v in results.items() if v["is_error"]} == {
        "read_bad",
        "ls_bad",
        "grep_bad",
        "write_bad",
        "edit_bad",
        "bash_bad",
    }
    assert "not found" in results["edit_bad"]["content"]
    assert all(isinstance(r["duration_ms"], int) and r["cwd"] == str(workdir) for r in results.values())
    assert results["write_ok"]["diff"].startswith("--- /dev/null\n+++ b/out/new.txt")
    assert "-alpha\n+ALPHA" in results["edit_ok"]["diff"]
    assert (results["bash_ok"]["exit_code"], results["bash_bad"]["exit_code"]) == (0, 3)
    assert results["bash_ok"]["content"].strip() == str(workdir)
    assert (workdir / "out" / "new.txt").read_text() == "fresh\n"
    assert (workdir / "notes.txt").read_text() == "ALPHA\nbeta\n"


def test_max_steps_stops_cleanly_and_tool_flags_shape_the_request(run_kit, provider, kit_env, workdir):
    provider.reply(tool_calls=[{"id": "c1", "name": "ls", "arguments": {}}])
    provider.reply(tool_calls=[{"id": "c2", "name": "write", "arguments": {"path": "x", "content": "no"}}])
    provider.reply("left for the next turn")
    first = run_kit("--tools", "read, ls", "--max-steps", "2", "--json", "look around")
    assert first.returncode == 0, first.stderr
    assert "stopped after 2 steps" in first.stderr
    assert json.loads(first.stdout)["stop_reason"] == "max_steps"
    assert [tool_names(r["body"]) for r in provider.chat_requests] == [["read", "ls"], ["read", "ls"]]
    lines = entries(kit_env)
    assert lines[-1]["role"] == "tool"
    not_offered = results_by_id(lines)["c2"]
    assert not_offered["is_error"] and "unknown tool 'write'" in not_offered["content"]
    assert not (workdir / "x").exists()

    second = run_kit("-c", "--no-tools", "go on")
    assert second.returncode == 0, second.stderr
    body = provider.chat_requests[-1]["body"]
    assert "tools" not in body
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "tool", "assistant", "tool", "user"]
    assert_every_call_answered_by_the_next_message(entries(kit_env))

    bad = run_kit("--tools", "read,fly", "hi")
    assert bad.returncode == 2
    assert bad.stderr.count("\n") == 1 and "fly" in bad.stderr and "read, write, edit" in bad.stderr
    assert len(provider.chat_requests) == 3


def test_a_file_name_that_is_not_utf8_does_not_break_the_turn(run_kit, provider, kit_env, workdir):
    (workdir / "plain.txt").write_text("")
    with open(os.path.join(os.fsencode(workdir), b"n\xe9.txt"), "wb"):
        pass
    provider.reply(tool_calls=[{"id": "c1", "name": "ls", "arguments": {}}])
    provider.reply("done")
    result = run_kit("list files")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "done\n"
    listing = results_by_id(entries(kit_env))["c1"]
    assert listing["content"] == "n\ufffd.txt\nplain.txt" and not listing["is_error"]
    sent = [m for m in provider.last_messages() if m["role"] == "tool"]
    assert sent[0]["content"] == "n\ufffd.txt\nplain.txt"


def test_ctrl_c_during_a_slow_command_leaves_every_call_with_a_result(kit_env, provider, workdir, tmp_path):
    temp = tmp_path / "tmp"
    temp.mkdir()
    kit_env = {**kit_env, "TMPDIR": str(temp)}
    provider.reply(
        tool_calls=[
            {"id": "slow", "name": "bash", "arguments": {"command": "echo $$ > pid; echo started; sleep 30"}},
            {"id": "later", "name": "read", "arguments": {"path": "pid"}},
        ]
    )
    proc = subprocess.Popen(
        [*kit_command(), "-m", MODEL, "--api-base", provider.base_url, "run it"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=kit_env,
        cwd=workdir,
    )
    deadline = time.monotonic() + 30
    while not (workdir / "pid").exists() or not (workdir / "pid").read_text().strip():
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert b"Traceback" not in err
    lines = entries(kit_env)
    assert_every_call_answered_by_the_next_message(lines)
    results = results_by_id(lines)
    slow = results["slow"]
    assert slow["is_error"] and slow["content"].startswith("started\n[interrupted by the user")
    assert slow["aborted"] is True and slow["cwd"] == str(workdir) and isinstance(slow["exit_code"], int)
    assert 0 < slow["duration_ms"] < 30_000
    assert list(temp.glob("kit-bash-*")) == [], "the command's output file must not be left behind"
    assert results["later"]["content"] == "interrupted by the user before this tool ran"
    try:
        os.kill(int((workdir / "pid").read_text()), 0)
        still_running = True
    except ProcessLookupError:
        still_running = False
    assert not still_running, "the command's process group must be stopped"


def test_without_a_terminal_safe_mode_and_outside_paths_refuse(kit_env, provider, workdir, tmp_path):
    (workdir / ".kit.yml").write_text("safe_mode: true\n")
    (workdir / "inside.txt").write_text("visible\n")
    (tmp_path / "outside.txt").write_text("private\n")
    (workdir / "link.txt").symlink_to(tmp_path / "outside.txt")
    provider.reply(
        tool_calls=[
            {"id": "w", "name": "write", "arguments": {"path": "new.txt", "content": "x"}},
            {"id": "b", "name": "bash", "arguments": {"command": "touch bashed"}},
            {"id": "r_in", "name": "read", "arguments": {"path": "inside.txt"}},
            {"id": "r_out", "name": "read", "arguments": {"path": "../outside.txt"}},
            {"id": "r_link", "name": "read", "arguments": {"path": "link.txt"}},
        ]
    )
    provider.reply("Understood.")
    result = run_detached(kit_env, provider, workdir, "-p", "change things")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Understood.\n"
    assert not (workdir / "new.txt").exists() and not (workdir / "bashed").exists()
    lines = entries(kit_env)
    results = results_by_id(lines)
    assert not results["r_in"]["is_error"] and "visible" in results["r_in"]["content"]
    for refused in ("w", "b", "r_out", "r_link"):
        assert results[refused]["is_error"] and "no terminal" in results[refused]["content"]
        assert "private" not in results[refused]["content"]
    recorded = approvals(lines)
    assert [(a["tool_call_id"], a["answer"], a["action"]) for a in recorded] == [
        ("w", "refused", "not run"),
        ("b", "refused", "not run"),
        ("r_out", "refused", "not run"),
        ("r_link", "refused", "not run"),
    ]
    assert recorded[0]["reason"] == "safe mode" and "outside" in recorded[3]["reason"]
    # The step is assistant -> tool -> approvals; the next answer continues after the approvals.
    types = [(e["type"], e.get("role") or e.get("ext_type")) for e in lines[-7:]]
    step = [("message", "assistant"), ("message", "tool")] + [("extension_data", "kit:approval")] * 4
    assert types == step + [("message", "assistant")]
    assert lines[-1]["parent_id"] == lines[-2]["id"]
    assert [m["role"] for m in provider.last_messages()] == ["user", "assistant"] + ["tool"] * 5


def test_safe_mode_in_a_terminal_asks_and_honours_yes_no_always(kit_env, provider, workdir, tmp_path):
    (tmp_path / "secret.txt").write_text("outside text\n")
    provider.reply(
        tool_calls=[
            {"id": "w", "name": "write", "arguments": {"path": "a.txt", "content": "one\n"}},
            {"id": "b", "name": "bash", "arguments": {"command": "touch bashed"}},
        ]
    )
    provider.reply(
        tool_calls=[
            {"id": "e1", "name": "edit", "arguments": {"path": "a.txt", "old_text": "one", "new_text": "two"}}
        ]
    )
    provider.reply(
        tool_calls=[
            {
                "id": "e2",
                "name": "edit",
                "arguments": {"path": "a.txt", "old_text": "two", "new_text": "three"},
            },
            {"id": "r", "name": "read", "arguments": {"path": "../secret.txt"}},
        ]
    )
    late = {"id": "late", "name": "bash", "arguments": {"command": "touch late"}}
    provider.reply("Last one.", tool_calls=[late])
    cmd = [*kit_command(), "-m", MODEL, "--api-base", provider.base_url, "--safe", "edit a.txt"]
    colors = {k: v for k, v in kit_env.items() if k != "NO_COLOR"}
    child = pexpect.spawn(
        cmd[0], cmd[1:], env=colors, cwd=str(workdir), encoding="utf-8", timeout=30, dimensions=(40, 120)
    )
    screen = io.StringIO()
    child.logfile_read = screen
    child.expect("write needs approval \\(safe mode\\)")
    child.expect("\\+one")
    child.expect_exact("Allow write? [y]es / [n]o / [a]lways for write: ")
    child.sendline("y")
    child.expect_exact("$ touch bashed")
    child.expect_exact("Allow bash?")
    child.sendline("n")
    child.expect_exact("+two")
    child.expect_exact("Allow edit?")
    child.sendline("a")
    child.expect("read needs approval \\(path outside working directory")
    child.sendline("y")
    child.expect("Last one")
    child.expect_exact("Allow bash?")
    child.sendintr()  # Ctrl-C at the question ends the run; the file stays complete
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    assert screen.getvalue().count("Allow edit?") == 1  # "always": the second edit ran without asking
    assert "\x1b[1mkit: write needs approval" in screen.getvalue()  # the question stands out
    # a colored diff, drawn by the same renderer as the REPL's (green additions, red removals)
    assert re.search(r"\x1b\[(\d;)?32m\+three", screen.getvalue())
    assert re.search(r"\x1b\[(\d;)?31m-two", screen.getvalue())
    assert (workdir / "a.txt").read_text() == "three\n" and not (workdir / "bashed").exists()

    lines = entries(kit_env)
    assert_every_call_answered_by_the_next_message(lines)
    recorded = approvals(lines)
    assert [(a["tool_call_id"], a["answer"], a["action"]) for a in recorded] == [
        ("w", "approved", "ran"),
        ("b", "denied", "not run"),
        ("e1", "always", "ran"),
        ("r", "approved", "ran"),
        ("late", "interrupted", "not run"),
    ]
    assert "+one" in recorded[0]["preview"] and recorded[1]["preview"] == "$ touch bashed"
    results = results_by_id(lines)
    assert results["b"]["is_error"] and "denied" in results["b"]["content"]
    assert results["w"]["approval"] == "approved" and "+one" in results["w"]["diff"]
    assert "-two\n+three" in results["e2"]["diff"] and "approval" not in results["e2"]
    assert "outside text" in results["r"]["content"]
    assert results["late"]["is_error"] and not (workdir / "late").exists()
    assert lines[-1]["ext_type"] == "kit:approval" and lines[-2]["role"] == "tool"


def test_the_question_reaches_the_terminal_when_stdin_and_stdout_are_piped(kit_env, provider, workdir):
    provider.reply(
        "Saved.", tool_calls=[{"id": "w", "name": "write", "arguments": {"path": "a.txt", "content": "1"}}]
    )
    provider.reply("Done.")
    kit = " ".join(
        shlex.quote(a) for a in [*kit_command(), "-m", MODEL, "--api-base", provider.base_url, "--safe"]
    )
    child = pexpect.spawn(
        "bash",
        ["-c", f"echo 'save it' | {kit} > answer.txt"],
        env=kit_env,
        cwd=str(workdir),
        encoding="utf-8",
        timeout=30,
    )
    child.expect_exact("Allow write?")
    child.sendline("y")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert (workdir / "answer.txt").read_text() == "Saved.\nDone.\n"  # stdout holds only the answer
    assert (workdir / "a.txt").read_text() == "1"
    assert provider.chat_requests[0]["body"]["messages"][-1]["content"] == "save it"
