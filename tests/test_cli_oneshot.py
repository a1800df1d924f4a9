"""Print mode against the scripted provider: in-process (`run_kit`) for what the CLI decides, the real
`kit` executable for what only a process shows (console script, signals, pipes, flushing, --json bytes)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import MODEL, kit_command, session_files


def spawn_kit(kit_env, provider, workdir, *args: str) -> subprocess.Popen[bytes]:
    """`kit` running in the background against the scripted provider, its output piped to the test."""
    return subprocess.Popen(
        [*kit_command(), "-m", MODEL, "--api-base", provider.base_url, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=kit_env,
        cwd=workdir,
    )


def test_answer_streams_to_stdout_as_plain_text_and_is_saved(run_kit, provider, kit_env, workdir):
    provider.reply("JSONL is one JSON value per line.")
    result = run_kit("explain JSONL in one line")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "JSONL is one JSON value per line.\n"
    assert result.stderr == ""
    assert provider.last_messages() == [{"role": "user", "content": "explain JSONL in one line"}]
    files = session_files(kit_env)
    assert len(files) == 1
    assert files[0].parent.name == str(workdir).strip("/").replace("/", "--")
    lines = [json.loads(line) for line in files[0].read_text().splitlines()]
    assert [e["type"] for e in lines] == ["session", "model_change", "message", "message"]
    assert lines[0]["cwd"] == str(workdir)
    assert lines[3]["parts"][0]["data"]["text"] == "JSONL is one JSON value per line."


def test_print_flag_and_python_m_and_words_without_quotes(run_kit_process, provider, kit_env, workdir):
    provider.reply("one")
    provider.reply("two")
    assert run_kit_process("-p", "say", "one").stdout == "one\n"  # the installed console script
    assert provider.last_messages()[-1]["content"] == "say one"
    module = subprocess.run(
        [os.sys.executable, "-m", "kit_py", "-m", MODEL, "--api-base", provider.base_url, "hi"],
        capture_output=True,
        text=True,
        env=kit_env,
        cwd=workdir,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    assert module.returncode == 0 and module.stdout == "two\n"


def test_plain_output_is_flushed_as_it_arrives(kit_env, provider, workdir):
    provider.reply("first-part " + "x" * 40 + " last-part", chunk_size=10, delay=0.2)
    proc = spawn_kit(kit_env, provider, workdir, "go")
    first = proc.stdout.read(10)
    assert first == b"first-part"
    assert proc.poll() is None, "the first words must arrive while the answer is still streaming"
    rest = proc.stdout.read()
    assert proc.wait(timeout=30) == 0
    assert rest.endswith(b"last-part\n")


def test_piped_stdin_is_a_delimited_block_after_the_prompt(run_kit_process, provider):
    provider.reply("looks fine")
    result = run_kit_process("review this", input="diff --git a/x b/x\n+new line\n")
    assert result.returncode == 0, result.stderr
    assert provider.last_messages()[-1]["content"] == (
        "review this\n\n<stdin>\ndiff --git a/x b/x\n+new line\n</stdin>"
    )


def test_stdin_alone_or_dash_is_the_prompt_and_no_stdin_ignores_it(run_kit, provider):
    provider.reply("a")
    provider.reply("b")
    provider.reply("c")
    assert run_kit(input="hi from a pipe\n").returncode == 0
    assert provider.last_messages()[-1]["content"] == "hi from a pipe"
    assert run_kit("-", input="dash prompt\n").returncode == 0
    assert provider.last_messages()[-1]["content"] == "dash prompt"
    assert run_kit("--no-stdin", "only this", input="ignored\n").returncode == 0
    assert provider.last_messages()[-1]["content"] == "only this"


def test_empty_prompt_is_a_usage_error(run_kit, provider):
    result = run_kit(input="")
    assert result.returncode == 2
    assert "empty prompt" in result.stderr
    assert provider.chat_requests == []


def test_json_reports_text_usage_and_stored_messages(run_kit_process, provider, kit_env):
    provider.reply("hello there", usage={"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15})
    result = run_kit_process("--json", "hi")  # bytes on stdout.buffer, then os._exit: nothing lost
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["text"] == "hello there"
    assert report["model"] == MODEL
    assert report["stop_reason"] == "stop"
    assert report["usage"]["input_tokens"] == 12
    assert report["usage"]["output_tokens"] == 3
    assert report["usage"]["total_tokens"] == 15
    stored = [json.loads(line) for line in session_files(kit_env)[0].read_text().splitlines()]
    assert report["session_id"] == stored[0]["id"]
    assert report["messages"] == [e for e in stored if e["type"] == "message"]


def test_quiet_prints_only_the_final_text(run_kit, provider):
    provider.reply("just this")
    result = run_kit("-q", "hi")
    assert (result.returncode, result.stdout, result.stderr) == (0, "just this\n", "")


def test_request_options_reach_the_provider(run_kit, provider, workdir):
    (workdir / "sys.txt").write_text("You are terse.")
    provider.reply("ok")
    provider.reply("ok")
    assert (
        run_kit("--system-prompt", "Be brief.", "--max-tokens", "50", "--temperature", "0.3", "q").returncode
        == 0
    )
    body = provider.chat_requests[-1]["body"]
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert body["max_tokens"] == 50
    assert body["temperature"] == 0.3
    assert run_kit("--system-prompt", "@sys.txt", "q").returncode == 0
    assert provider.last_messages()[0] == {"role": "system", "content": "You are terse."}


def test_env_vars_mirror_model_and_api_base(run_kit, provider):
    provider.reply("via env")
    result = run_kit("hi", provider_flags=False, env={"KIT_MODEL": MODEL, "KIT_API_BASE": provider.base_url})
    assert result.returncode == 0, result.stderr
    assert result.stdout == "via env\n"
    assert provider.chat_requests[-1]["body"]["model"] == "scripted"


def test_version_and_help(run_kit_process):
    version = run_kit_process("--version", provider_flags=False)  # the fast path, before typer
    assert version.returncode == 0 and version.stdout.startswith("kit ")
    help_ = run_kit_process("--help", provider_flags=False)
    assert help_.returncode == 0
    for flag in ("--model", "--api-base", "--json", "--continue", "--no-session", "--thinking-level"):
        assert flag in help_.stdout


def test_ctrl_c_while_streaming_exits_130_and_keeps_the_partial_answer(kit_env, provider, workdir):
    provider.reply("partial answer that goes on and on " * 5, chunk_size=5, delay=0.2)
    proc = spawn_kit(kit_env, provider, workdir, "go")
    assert proc.stdout.read(7) == b"partial"
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert b"Traceback" not in err
    assert b"interrupted" in err
    entries = [json.loads(line) for line in session_files(kit_env)[0].read_text().splitlines()]
    assistant = entries[-1]
    assert assistant["role"] == "assistant" and assistant["stop_reason"] == "aborted"
    assert assistant["parts"][0]["data"]["text"].startswith("partial")


def test_interrupted_answer_is_not_replayed_on_continue(run_kit, provider, kit_env):
    provider.reply("cut off", truncate_after=2)
    assert run_kit("first").returncode == 10
    provider.reply("fine")
    assert run_kit("-c", "second").returncode == 0
    sent = provider.last_messages()
    assert [m["role"] for m in sent] == ["user", "user"]
    assert Path(session_files(kit_env)[0]).exists()


def test_sigterm_while_streaming_saves_the_partial_answer(kit_env, provider, workdir):
    provider.reply("partial answer that goes on and on " * 5, chunk_size=5, delay=0.2)
    proc = spawn_kit(kit_env, provider, workdir, "go")
    assert proc.stdout.read(7) == b"partial"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 128 + signal.SIGTERM
    assert b"Traceback" not in err
    entries = [json.loads(line) for line in session_files(kit_env)[0].read_text().splitlines()]
    assert entries[-2]["parts"][0]["data"]["text"] == "go"
    assert entries[-1]["stop_reason"] == "aborted"
    assert entries[-1]["parts"][0]["data"]["text"].startswith("partial")


def test_a_reader_that_leaves_early_does_not_cost_the_answer(kit_env, provider, workdir):
    answer = "".join(f"line {i}\n" for i in range(3000))
    provider.reply(answer, chunk_size=400)
    kit = spawn_kit(kit_env, provider, workdir, "long")
    head = subprocess.run(["head", "-n", "2"], stdin=kit.stdout, capture_output=True, timeout=30)
    kit.stdout.close()
    err = kit.stderr.read()
    assert kit.wait(timeout=30) == 0, err
    assert head.stdout == b"line 0\nline 1\n"
    assert err == b""
    saved = [json.loads(line) for line in session_files(kit_env)[0].read_text().splitlines()][-1]
    assert saved["stop_reason"] == "stop" and saved["parts"][0]["data"]["text"] == answer




def process_state() -> tuple[object, ...]:
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    return os.getcwd(), handlers, sys.stdin, sys.stdout, sys.stderr


def test_a_run_leaves_the_test_process_as_it_was(run_kit, provider, workdir):
    """In-process runs (the default `run_kit`) must not leak state into the next run or test.

    Only what litellm sets in the environment for itself stays, as it would in a process that lives on.
    """
    provider.reply("fine")
    before, env_before = process_state(), dict(os.environ)
    result = run_kit("hi", env={"KIT_EXTRA_FOR_THIS_RUN": "1"}, cwd=workdir)
    assert (result.returncode, result.stdout) == (0, "fine\n"), result.stderr
    assert process_state() == before
    assert {key: value for key, value in os.environ.items() if key in env_before} == env_before
    assert "KIT_EXTRA_FOR_THIS_RUN" not in os.environ
