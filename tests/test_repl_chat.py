"""Chatting in the REPL through a real pseudo-terminal: answers, multi-line input, Ctrl-C, errors, resume."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import session_files
from tests.test_repl_pty import ALT_ENTER, CTRL_C, CTRL_D, CTRL_J, CTRL_R, ENTER, PROMPT, UP, Terminal

ANSWER = "# Release notes\n\nThe parser is **much faster** now.\n\n```python\nprint('fast')\n```\n"


def _entries(kit_env):
    files = session_files(kit_env)
    assert len(files) == 1
    return [json.loads(line) for line in files[0].read_text().splitlines()[1:]]


def test_chat_multiline_paste_interrupt_error_then_resume_and_history(kit_env, workdir, provider):
    provider.reply(ANSWER)
    term = Terminal.kit(provider, kit_env, workdir)
    term.line("what changed?")
    shown = term.expect("print('fast')")
    assert "Release notes" in shown and "The parser is much faster now." in shown
    assert "**" not in shown and "#" not in shown  # rendered markdown, not the raw text

    # Reasoning streams dimmed and is collapsed to one line once the answer starts.
    provider.reply("the answer is 42", reasoning="first I consider the question carefully", first_delay=1.0)
    term.line("think first")
    term.expect("openai/scripted is working…")  # a spinner while the model has not answered yet
    assert "thought for 6 words" in term.expect("the answer is 42")
    term.ready()
    assert "is working" not in term.screen()  # the spinner leaves no trace

    # Alt+Enter and Ctrl-J insert newlines; Enter sends the whole block.
    provider.reply("got three lines")
    term.send("line one" + ALT_ENTER + "line two" + CTRL_J + "line three" + ENTER)
    term.expect("got three lines")
    assert provider.last_messages()[-1] == {"role": "user", "content": "line one\nline two\nline three"}

    # A bracketed paste keeps its newlines and is not sent until Enter.
    provider.reply("pasted ok")
    term.expect(PROMPT)
    requests_before = len(provider.chat_requests)
    pasted = "\n".join(f"pasted line {i}: " + "x" * 60 for i in range(300))  # ~23 KB
    term.send("\x1b[200~" + pasted + "\x1b[201~")
    term.settle(0.5)
    assert len(provider.chat_requests) == requests_before
    term.send(ENTER)
    term.expect("pasted ok", timeout=30)
    assert provider.last_messages()[-1]["content"] == pasted

    # Ctrl-C while streaming stops the answer, keeps the partial text and returns to the prompt.
    provider.reply("partial-start " + "word " * 400 + "never-shown", chunk_size=6, delay=0.05)
    term.line("tell me a long story")
    term.expect("partial-start")
    term.send(CTRL_C)
    term.expect("interrupted")
    term.ready()
    assert term.screen().count("partial-start") == 1  # the live region was replaced, not left behind
    aborted = [e for e in _entries(kit_env) if e.get("role") == "assistant"][-1]
    assert aborted["stop_reason"] == "aborted"
    assert aborted["parts"][0]["data"]["text"].startswith("partial-start")
    assert "never-shown" not in aborted["parts"][0]["data"]["text"]

    # A provider error prints one line and puts the typed prompt back, ready to send again; the failed
    # attempt stays in the file on a side branch (prompt + an error answer), never sent again.
    provider.error(401)
    before = len(_entries(kit_env))
    term.send("keep this text" + ENTER)
    term.expect("Incorrect API key")
    assert "partial answer" not in term.expect("your prompt is back")  # no answer text arrived
    term.expect(PROMPT)
    term.expect("keep this text")
    failed_user, failed_answer = [e for e in _entries(kit_env)[before:] if e["type"] == "message"]
    assert failed_user["parts"][0]["data"]["text"] == "keep this text"
    assert failed_answer["stop_reason"] == "error"
    provider.reply("second try worked")
    term.send(ENTER)
    term.expect("second try worked")
    sent = provider.last_messages()
    assert sent[-1] == {"role": "user", "content": "keep this text"}
    assert [m["content"] for m in sent].count("keep this text") == 1, "the failed attempt is not replayed"
    term.ready()

    # A stream that breaks off mid-answer: the partial answer stays in the file on a side branch,
    # the prompt comes back, and sending it again continues from before the failed attempt.
    provider.reply("cut-off " * 20, chunk_size=8, drop_after=4)
    term.send("flaky question" + ENTER)
    said = " ".join(term.expect("your prompt is back").split())  # the line may wrap
    assert "the partial answer stays in the session file" in said
    term.expect("flaky question")
    broken = [e for e in _entries(kit_env) if e.get("role") == "assistant"][-1]
    assert broken["stop_reason"] == "error" and broken["parts"][0]["data"]["text"].startswith("cut-off")
    provider.reply("steady answer")
    term.send(ENTER)
    term.expect("steady answer")
    sent = provider.last_messages()
    assert [m["content"] for m in sent].count("flaky question") == 1
    term.ready()
    term.send(CTRL_D)
    assert term.wait_exit() == 0

    # Resume: the old conversation is drawn as rendered markdown, interrupted answers are marked,
    # and the input history (Up arrow) holds what was typed in the previous run.
    provider.reply("resumed answer")
    again = Terminal.kit(provider, kit_env, workdir, "-c")
    history = again.ready()
    assert "resumed" in history
    assert "The parser is much faster now." in history and "**much faster**" not in history
    assert "❯ what changed?" in history and "interrupted" in history
    assert '"type"' not in history  # never raw JSON
    again.send(UP)
    again.settle()
    again.send(UP)  # the screen is redrawn by diffs, so the recalled text is checked where it is sent
    again.settle()
    again.send(ENTER)
    again.expect("resumed answer")
    sent = provider.last_messages()
    assert sent[-1] == {"role": "user", "content": "keep this text"}  # newest first: flaky, keep, ...
    assert {"role": "user", "content": "what changed?"} in sent  # the resumed context went along
    history_file = Path(kit_env["KIT_CONFIG_DIR"]) / "data" / "history"
    assert history_file.stat().st_mode & 0o777 == 0o600  # what you typed is private
    again.ready()
    provider.reply("found by search")
    for keys in (CTRL_R, "three", ENTER):  # Ctrl-R searches the history; Enter takes the match
        again.send(keys)
        again.settle(0.3)
    again.send(ENTER)
    again.expect("found by search")
    assert provider.last_messages()[-1]["content"] == "line one\nline two\nline three"
    again.line("/quit")
    assert again.wait_exit() == 0


def test_status_line_shows_context_share_of_a_known_window_and_cost(kit_env, workdir, provider):
    provider.reply("short answer", usage={"prompt_tokens": 12800, "completion_tokens": 20})
    term = Terminal(["-m", "openai/gpt-4o", "--api-base", provider.base_url], kit_env, workdir)
    term.line("how full is it?")
    term.expect("short answer")
    term.ready()
    term.settle(0.3)
    status = term.screen().splitlines()[-1]
    assert status.startswith(" openai/gpt-4o · thinking off · ctx 10% of 128k · $0.0")

    # Enter typed while an answer streams sends the typed-ahead line once the prompt is back.
    provider.reply("slow-start " + "word " * 40 + "slow-end", chunk_size=10, delay=0.05)
    term.send("stream slowly" + ENTER)
    term.expect("slow-start")
    term.send("/usage" + ENTER)
    term.expect("slow-end")
    assert "input tokens:" in term.expect("output tokens:", timeout=5)
    term.send(CTRL_D)
    assert term.wait_exit() == 0


def test_tool_calls_show_one_line_headers_and_safe_mode_asks_in_the_repl(kit_env, workdir, provider):
    write = {"id": "call_1", "name": "write", "arguments": {"path": "notes.txt", "content": "hello\n"}}
    provider.reply(tool_calls=[write])
    provider.reply("the file is written")
    term = Terminal.kit(provider, kit_env, workdir, "--safe")
    term.line("create notes.txt")
    term.expect("write needs approval (safe mode)")
    term.expect("Allow write? [y]es / [n]o / [a]lways for write:")
    assert not (workdir / "notes.txt").exists()
    term.send("y" + ENTER)
    term.expect("the file is written")
    term.ready()
    screen = term.screen()
    assert "⚙ write notes.txt (1 line)" in screen and "+hello" in screen
    assert (workdir / "notes.txt").read_text() == "hello\n"
    tool_message = provider.last_messages()[-1]
    assert tool_message["role"] == "tool" and tool_message["tool_call_id"] == "call_1"
    approvals = [e for e in _entries(kit_env) if e.get("ext_type") == "kit:approval"]
    assert len(approvals) == 1 and json.loads(approvals[0]["data"])["answer"] == "approved"
    term.send(CTRL_D)
    assert term.wait_exit() == 0


def test_safe_command_turns_approval_on_for_this_session(kit_env, workdir, provider):
    write = {"id": "call_1", "name": "write", "arguments": {"path": "a.txt", "content": "a\n"}}
    provider.reply(tool_calls=[write])
    provider.reply("done")
    term = Terminal.kit(provider, kit_env, workdir)
    term.line("/safe on")
    term.expect("safe mode on")
    term.line("write a.txt")
    term.expect("Allow write? [y]es / [n]o / [a]lways for write:")
    term.send("n" + ENTER)
    term.expect("done")
    assert not (workdir / "a.txt").exists()
    term.line("/safe off")
    term.expect("safe mode off")
    term.send(CTRL_D)
    assert term.wait_exit() == 0
