"""Day-one failures: one clear line on stderr, a distinct exit code, no traceback, nothing lost."""

from __future__ import annotations

import json
import socket

import pytest

from tests.conftest import MODEL, session_files
from tests.test_llm_errors import StallingProvider

NOISE = ("Traceback", "Provider List", "LiteLLM", "Give Feedback", "litellm.")


def assert_clean_error(result, code: int, *needles: str) -> None:
    assert result.returncode == code, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("kit: ")
    for needle in needles:
        assert needle in lines[0]
    for noise in NOISE:
        assert noise not in result.stderr + result.stdout


def test_missing_api_key_names_the_env_var(run_kit):
    result = run_kit("-m", "anthropic/claude-sonnet-4-5", "hi", provider_flags=False)
    assert_clean_error(result, 3, "ANTHROPIC_API_KEY")
    assert result.stdout == ""


def test_unknown_model_is_rejected_before_any_request(run_kit):
    result = run_kit("-m", "no-such-provider-model-xyz", "hi", provider_flags=False)
    assert_clean_error(result, 5, "no-such-provider-model-xyz")


def test_connection_refused(run_kit):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = run_kit(
        "-m", "openai/x", "--api-base", f"http://127.0.0.1:{port}/v1", "hi", provider_flags=False
    )
    assert_clean_error(result, 6, "cannot connect")


@pytest.mark.parametrize(
    ("status", "code", "needle"),
    [(401, 4, "401"), (403, 4, "403"), (404, 5, "404"), (422, 8, "(422): Scripted error 422.")],
)
def test_http_errors_map_to_distinct_exit_codes(run_kit, provider, kit_env, status, code, needle):
    provider.error(status)
    result = run_kit("hi")
    assert_clean_error(result, code, needle)
    assert len(provider.chat_requests) == 1, "client errors are not retried"
    entries = [json.loads(line) for line in session_files(kit_env)[0].read_text().splitlines()]
    user, answer = entries[-2:]
    assert user["parts"][0]["data"]["text"] == "hi", "the prompt is kept"
    assert answer["role"] == "assistant" and answer["stop_reason"] == "error" and needle in answer["error"]


def test_a_failed_turn_is_kept_but_never_replayed(run_kit, provider, kit_env):
    provider.reply("first answer")
    assert run_kit("first").returncode == 0
    provider.error(500, times=4)
    assert run_kit("-c", "second, which fails").returncode == 8
    provider.reply("third answer")
    assert run_kit("-c", "third").returncode == 0
    assert [(m["role"], m["content"]) for m in provider.last_messages()] == [
        ("user", "first"),
        ("assistant", "first answer"),
        ("user", "second, which fails"),
        ("user", "third"),
    ]


def test_rate_limit_is_retried_after_the_servers_retry_after_then_succeeds(run_kit, provider):
    provider.error(429, retry_after=0.3, times=2)  # the backoff alone would wait 0.05 s, then 0.1 s
    provider.reply("finally")
    result = run_kit("hi")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "finally\n"
    assert result.stderr.count("retrying in 0.3s") == 2, result.stderr
    assert len(provider.chat_requests) == 3


def test_persistent_rate_limit_and_server_errors_fail_after_retries(run_kit, provider):
    provider.error(429, retry_after=0.05, times=4)
    assert_clean_error_after_retries(run_kit("hi"), 7, "429")
    provider.error(503, times=4)
    assert_clean_error_after_retries(run_kit("hi"), 8, "503")
    assert len(provider.chat_requests) == 8


def assert_clean_error_after_retries(result, code: int, needle: str) -> None:
    assert result.returncode == code, result.stderr
    *retries, last = result.stderr.strip().splitlines()
    assert len(retries) == 3 and all("retrying" in r for r in retries)
    assert last.startswith("kit: error:") and needle in last
    assert "Traceback" not in result.stderr


def test_timeout(run_kit, provider):
    provider.hang(10)
    result = run_kit("--timeout", "1", "hi")
    assert_clean_error(result, 9, "timed out")


def test_dropped_stream_keeps_what_arrived_and_marks_it_incomplete(run_kit, provider, kit_env):
    provider.reply("The first half of an answer that never", chunk_size=6, drop_after=4)
    result = run_kit("hi")
    assert result.returncode == 10, result.stderr
    assert result.stdout.startswith("The first half")
    assert "the connection dropped mid-answer (incomplete): peer closed connection" in result.stderr
    assert "with 500" not in result.stderr
    entries = [json.loads(line) for line in session_files(kit_env)[0].read_text().splitlines()]
    assert entries[-1]["role"] == "assistant" and entries[-1]["stop_reason"] == "error"
    assert entries[-1]["parts"][0]["data"]["text"] == result.stdout.rstrip("\n")


def test_cleanly_truncated_stream_is_detected_although_litellm_raises_nothing(run_kit, provider):
    provider.reply("abcdefghijklmnop", chunk_size=4, truncate_after=3)
    result = run_kit("--json", "hi")
    assert result.returncode == 10
    report = json.loads(result.stdout)
    assert report["stop_reason"] == "error"
    assert "incomplete" in report["error"]


def test_bad_flag_and_bad_thinking_level_are_usage_errors(run_kit):
    assert run_kit("--no-such-flag", "hi").returncode == 2
    result = run_kit("--thinking-level", "extreme", "hi")
    assert_clean_error(result, 2, "extreme")


def test_debug_shows_litellm_details(run_kit, provider):
    provider.error(401)
    result = run_kit("--debug", "hi")
    assert result.returncode == 4
    assert len(result.stderr.splitlines()) > 1


def test_stalled_stream_times_out_and_keeps_the_partial_answer(run_kit, kit_env):
    with StallingProvider(stall_at=3) as slow:
        slow.reply("The first half of an answer", chunk_size=6)
        result = run_kit(
            "-m", MODEL, "--api-base", slow.base_url, "--timeout", "2", "hi", provider_flags=False
        )
    assert result.returncode == 9, result.stderr
    assert result.stdout.startswith("The first ha")
    assert (
        "the provider stopped sending for 2 s mid-answer (partial answer kept in the session)"
        in result.stderr
    )
    assert "with 500" not in result.stderr
    entries = [json.loads(line) for line in session_files(kit_env)[0].read_text().splitlines()]
    assert entries[-1]["parts"][0]["data"]["text"] == "The first ha"


def test_undecodable_prompt_bytes_are_sent_once_as_replacement_characters(run_kit_process, provider, kit_env):
    provider.reply("bien")
    result = run_kit_process("caf\udce9")  # argv bytes b"caf\xe9" (latin-1), not valid UTF-8
    assert provider.last_messages() == [{"role": "user", "content": "caf\ufffd"}]
    assert len(provider.chat_requests) == 1, result.stderr
    assert (result.returncode, result.stdout, result.stderr) == (0, "bien\n", "")
    entries = [json.loads(line) for line in session_files(kit_env)[0].read_text().splitlines()]
    assert entries[-2]["parts"][0]["data"]["text"] == "caf\ufffd", "the prompt is stored, not lost"
