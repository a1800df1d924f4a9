"""`kit` with no provider key, end to end against the real local model: one-shot, piped stdin, -c,
--json usage, a fork, an export, and the server's life (it ends with kit, even a SIGKILLed kit)."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import kit_command, session_files
from tests.local.conftest import alive, children_of, is_local_server, session_lines

pytestmark = pytest.mark.local_model


def user_texts(lines: list[dict]) -> list[str]:
    return [
        "".join(p["data"]["text"] for p in e["parts"] if p["type"] == "text")
        for e in lines
        if e.get("role") == "user"
    ]


def test_with_no_key_and_no_model_kit_answers_from_the_local_model_and_says_why(
    run_kit, short_answers, kit_env
):
    result = run_kit("Say hello.", provider_flags=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
    said = [line for line in result.stderr.splitlines() if "using the local model" in line]
    assert len(said) == 1 and "local/smollm2" in said[0] and "ANTHROPIC_API_KEY" in said[0], result.stderr
    assert "offered no tools" in result.stderr  # the built-in tools are set up, and not offered to it
    [path] = session_files(kit_env)
    lines = session_lines(path)
    change = [e for e in lines if e.get("type") == "model_change"][-1]
    assert (change["provider"], change["model_id"]) == ("local", "smollm2")  # a resume finds it again
    answer = [e for e in lines if e.get("role") == "assistant"][-1]
    assert (answer["provider"], answer["model"]) == ("local", "smollm2")
    assert not [p for p in answer["parts"] if p["type"] == "tool_call"]
    assert answer["usage"]["input_tokens"] > 0 and answer["usage"]["output_tokens"] > 0


def test_piped_stdin_is_the_prompt(run_kit, short_answers, kit_env):
    result = run_kit(input="Name one colour.\n", provider_flags=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
    [path] = session_files(kit_env)
    assert user_texts(session_lines(path)) == ["Name one colour."]


def test_continue_sends_the_first_turn_with_the_second_and_json_reports_usage(
    run_kit, short_answers, kit_env
):
    first = json.loads(run_kit("--json", "My name is Ada.", provider_flags=False).stdout)
    second = json.loads(run_kit("-c", "--json", "What is my name?", provider_flags=False).stdout)
    assert first["model"] == second["model"] == "local/smollm2"
    assert second["session_id"] == first["session_id"]
    for report in (first, second):
        usage = report["usage"]
        assert usage["input_tokens"] > 0 and usage["output_tokens"] > 0
        assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
        assert report["text"] and report["stop_reason"] in ("stop", "length")
    # The second request carried the first question and answer: its prompt holds at least their tokens.
    assert second["usage"]["input_tokens"] > first["usage"]["input_tokens"] + first["usage"]["output_tokens"]
    [path] = session_files(kit_env)
    lines = session_lines(path)
    assert user_texts(lines) == ["My name is Ada.", "What is my name?"]
    by_id = {e["id"]: e for e in lines if "id" in e}
    second_prompt = [e for e in lines if e.get("role") == "user"][1]
    ancestors, parent = [], second_prompt.get("parent_id")
    while parent:
        ancestors.append(by_id[parent])
        parent = by_id[parent].get("parent_id")
    assert [e.get("role") for e in ancestors if e.get("type") == "message"][:2] == ["assistant", "user"]


def test_a_fork_continues_a_copy_and_an_export_writes_it_down(run_kit, short_answers, kit_env, workdir):
    first = json.loads(run_kit("--json", "Pick a number.", provider_flags=False).stdout)
    forked = run_kit("--fork", first["session_id"], "--json", "Pick another one.", provider_flags=False)
    assert forked.returncode == 0, forked.stderr
    fork_id = json.loads(forked.stdout)["session_id"]
    assert fork_id != first["session_id"]
    by_session = {session_lines(p)[0]["id"]: session_lines(p) for p in session_files(kit_env)}
    assert user_texts(by_session[first["session_id"]]) == ["Pick a number."]  # the original is untouched
    assert user_texts(by_session[fork_id]) == ["Pick a number.", "Pick another one."]

    exported = run_kit("export", fork_id, "talk.md", provider_flags=False)
    assert exported.returncode == 0, exported.stderr
    text = (workdir / "talk.md").read_text()
    assert "Pick a number." in text and "Pick another one." in text
    assert json.loads(forked.stdout)["text"].strip()[:40] in text


def test_the_server_stays_up_between_runs_in_one_process(run_kit, short_answers):
    import os

    for prompt in ("One.", "Two."):
        assert run_kit(prompt, provider_flags=False).returncode == 0
    servers = [pid for pid in children_of(os.getpid()) if is_local_server(pid)]
    assert len(servers) == 1, servers


def _kit_process(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*kit_command(), *args],
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _server_of(kit: subprocess.Popen[str], timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        servers = [pid for pid in children_of(kit.pid) if is_local_server(pid)]
        if servers:
            return servers[0]
        assert kit.poll() is None, kit.communicate()
        time.sleep(0.02)
    raise AssertionError("kit started no local model server")


def _gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.05)
    return False


def test_the_server_ends_when_kit_ends(short_answers, workdir):
    kit = _kit_process(["Say hello."], short_answers, workdir)
    server = _server_of(kit)
    out, err = kit.communicate(timeout=120)
    assert kit.returncode == 0, err
    assert out.strip()
    assert _gone_within(server, 5)


def test_a_sigkilled_kit_leaves_no_server_behind(short_answers, kit_env, workdir):
    config = Path(kit_env["HOME"]) / ".kit.yml"
    config.write_text(config.read_text().replace("max_tokens: 24", "max_tokens: 1000"))
    kit = _kit_process(["Write a long story about a lighthouse."], kit_env, workdir)
    server = _server_of(kit)
    deadline = time.monotonic() + 60
    while not session_files(kit_env) and time.monotonic() < deadline:  # the prompt is written: asking
        time.sleep(0.05)
    time.sleep(0.5)
    kit.send_signal(signal.SIGKILL)
    kit.communicate()
    assert _gone_within(server, 5), "the local model server outlived a SIGKILLed kit"


def test_a_gguf_file_the_server_cannot_load_is_one_clear_error(run_kit, short_answers, workdir, tmp_path):
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\0" * 64)
    (workdir / ".kit.yml").write_text(f"local_models:\n  broken: {broken}\n")
    result = run_kit("-m", "local/broken", "hi", provider_flags=False)
    assert result.returncode == 6, result.stderr
    [error] = [line for line in result.stderr.splitlines() if line.startswith("kit: error:")]
    assert "the local model server stopped while starting" in error and str(broken) in error
    assert "Traceback" not in result.stderr
