"""The scripted provider, driven through litellm's real OpenAI client.

These tests also pin down what litellm 1.106 does with each server behaviour, because kit_py's
llm.py relies on it (exception classes, where usage and reasoning appear, dropped streams).
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.provider import ScriptedProvider

# The `provider` fixture; conftest.py imports it too once it exists, which is harmless.
pytest_plugins = ("tests.provider_fixture",)

os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
import litellm  # noqa: E402 - the env var above must be set first

litellm.suppress_debug_info = True

MESSAGES = [{"role": "user", "content": "hi"}]
READ_TOOL = {
    "type": "function",
    "function": {
        "name": "read",
        "description": "read a file",
        "parameters": {"type": "object", "properties": {"path": {"type": "string"}}},
    },
}


def call(server: ScriptedProvider, stream: bool, **extra: Any) -> Any:
    return litellm.completion(
        model="openai/test-model",
        api_base=server.base_url,
        api_key="sk-test",
        messages=extra.pop("messages", MESSAGES),
        stream=stream,
        num_retries=0,
        max_retries=0,
        **extra,
    )


def test_streamed_text_assembles_in_pieces(provider: ScriptedProvider) -> None:
    provider.reply("Hello there, streaming world!", chunk_size=5)
    chunks = list(call(provider, True))
    pieces = [c.choices[0].delta.content for c in chunks if c.choices[0].delta.content]
    assert "".join(pieces) == "Hello there, streaming world!"
    assert len(pieces) == 6
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_reasoning_arrives_as_reasoning_content_before_text(provider: ScriptedProvider) -> None:
    provider.reply("answer", reasoning="let me think", chunk_size=4)
    kinds = []
    reasoning = ""
    for chunk in call(provider, True):
        delta = chunk.choices[0].delta
        if getattr(delta, "reasoning_content", None):
            reasoning += delta.reasoning_content
            kinds.append("r")
        if delta.content:
            kinds.append("t")
    assert reasoning == "let me think"
    assert kinds == ["r", "r", "r", "t", "t"]


def test_tool_call_deltas_assemble_into_name_and_arguments(provider: ScriptedProvider) -> None:
    provider.reply(
        tool_calls=[
            {"id": "call_1", "name": "read", "arguments": {"path": "notes/a.txt"}},
            {"id": "call_2", "name": "read", "arguments": '{"path": "b"}'},
        ],
        chunk_size=3,
    )
    chunks = list(call(provider, True, tools=[READ_TOOL]))
    calls: dict[int, dict[str, str]] = {}
    for chunk in chunks:
        for tc in chunk.choices[0].delta.tool_calls or []:
            slot = calls.setdefault(tc.index, {"id": "", "name": "", "arguments": ""})
            slot["id"] += tc.id or ""
            slot["name"] += tc.function.name or ""
            slot["arguments"] += tc.function.arguments or ""
    assert calls == {
        0: {"id": "call_1", "name": "read", "arguments": '{"path": "notes/a.txt"}'},
        1: {"id": "call_2", "name": "read", "arguments": '{"path": "b"}'},
    }
    assert chunks[-1].choices[0].finish_reason == "tool_calls"
    assert provider.last_messages() == MESSAGES
    assert provider.requests[-1]["body"]["tools"] == [READ_TOOL]


def test_stream_usage_is_on_a_last_chunk_after_finish_when_requested(provider: ScriptedProvider) -> None:
    provider.reply("hi", usage={"prompt_tokens": 120, "completion_tokens": 30})
    chunks = list(call(provider, True, stream_options={"include_usage": True}))
    assert [c.choices[0].finish_reason for c in chunks[-2:]] == ["stop", None]
    usage = chunks[-1].usage
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (120, 30, 150)
    assert all(getattr(c, "usage", None) is None for c in chunks[:-1])


def test_usage_details_pass_through_to_litellm(provider: ScriptedProvider) -> None:
    provider.reply(
        "hi",
        usage={
            "prompt_tokens": 100,
            "completion_tokens": 20,
            "prompt_tokens_details": {"cached_tokens": 64},
            "completion_tokens_details": {"reasoning_tokens": 12},
        },
    )
    usage = list(call(provider, True, stream_options={"include_usage": True}))[-1].usage
    assert usage.prompt_tokens_details.cached_tokens == 64
    assert usage.completion_tokens_details.reasoning_tokens == 12


def test_stream_without_include_usage_gets_no_usage_chunk(provider: ScriptedProvider) -> None:
    provider.reply("hi", usage={"prompt_tokens": 120, "completion_tokens": 30})
    chunks = list(call(provider, True))
    assert all(getattr(c, "usage", None) is None for c in chunks)
    assert "stream_options" not in provider.requests[-1]["body"]


def test_non_stream_reply_carries_text_reasoning_tools_and_usage(provider: ScriptedProvider) -> None:
    provider.reply(
        "Full answer",
        reasoning="hmm",
        tool_calls=[{"name": "read", "arguments": {"path": "y"}}],
        usage={"prompt_tokens": 5, "completion_tokens": 2},
    )
    response = call(provider, False, tools=[READ_TOOL])
    message = response.choices[0].message
    assert message.content == "Full answer"
    assert message.reasoning_content == "hmm"
    assert message.tool_calls[0].id == "call_1"
    assert message.tool_calls[0].function.name == "read"
    assert message.tool_calls[0].function.arguments == '{"path": "y"}'
    assert response.choices[0].finish_reason == "tool_calls"
    assert (response.usage.prompt_tokens, response.usage.total_tokens) == (5, 7)


def test_empty_script_serves_default_text_and_records_requests(provider: ScriptedProvider) -> None:
    provider.default_text = "fallback"
    first = call(provider, False, messages=[{"role": "user", "content": "one"}])
    second = call(provider, False, messages=[{"role": "user", "content": "two"}])
    assert first.choices[0].message.content == "fallback"
    assert second.choices[0].message.content == "fallback"
    assert [r["body"]["messages"][0]["content"] for r in provider.requests] == ["one", "two"]
    request = provider.requests[-1]
    assert request["path"] == "/v1/chat/completions"
    assert request["method"] == "POST"
    assert request["headers"]["authorization"] == "Bearer sk-test"
    assert request["body"]["model"] == "test-model"
    assert provider.last_messages() == [{"role": "user", "content": "two"}]


def test_script_is_consumed_in_order(provider: ScriptedProvider) -> None:
    provider.reply("first")
    provider.error(500, "boom")
    provider.reply("third")
    assert call(provider, False).choices[0].message.content == "first"
    with pytest.raises(litellm.InternalServerError):
        call(provider, False)
    assert call(provider, False).choices[0].message.content == "third"
    assert provider.pending == 0


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (401, None, litellm.AuthenticationError),
        (404, "model_not_found", litellm.NotFoundError),
        (429, None, litellm.RateLimitError),
        (500, None, litellm.InternalServerError),
        (502, None, litellm.BadGatewayError),
        (503, None, litellm.ServiceUnavailableError),
        (400, "invalid_value", litellm.BadRequestError),
    ],
)
def test_error_status_maps_to_litellm_exception(
    provider: ScriptedProvider, stream: bool, status: int, code: str | None, expected: type
) -> None:
    provider.error(status, f"scripted {status}", code=code)
    with pytest.raises(expected) as info:
        call(provider, stream)
    assert getattr(info.value, "status_code", None) == status
    assert f"scripted {status}" in str(info.value)


def test_invalid_request_error_type_makes_any_status_a_bad_request(provider: ScriptedProvider) -> None:
    # litellm maps by text before status: llm.py should branch on status_code, not only on class.
    provider.error(401, "key revoked", type="invalid_request_error")
    with pytest.raises(litellm.BadRequestError) as info:
        call(provider, False)
    assert info.value.status_code == 401  # the real status survives on the exception
    provider.error(401, "Incorrect API key provided: sk-x", type="invalid_request_error")
    with pytest.raises(litellm.AuthenticationError):
        call(provider, False)


def test_403_is_a_generic_api_error_not_permission_denied(provider: ScriptedProvider) -> None:
    provider.error(403, "forbidden region")
    with pytest.raises(litellm.APIError) as info:
        call(provider, True)
    assert type(info.value) is litellm.APIError
    assert info.value.status_code == 403


def test_rate_limit_sends_retry_after_header(provider: ScriptedProvider) -> None:
    provider.error(429, "slow down", retry_after=7)
    with pytest.raises(litellm.RateLimitError) as info:
        call(provider, False)
    error: Any = info.value
    assert error.litellm_response_headers["retry-after"] == "7"
    assert error.body["message"] == "slow down"


@pytest.mark.parametrize("stream", [False, True])
def test_context_overflow_is_context_window_exceeded(provider: ScriptedProvider, stream: bool) -> None:
    provider.context_overflow(max_tokens=4096)
    with pytest.raises(litellm.ContextWindowExceededError) as info:
        call(provider, stream)
    assert "maximum context length is 4096" in str(info.value)
    assert isinstance(info.value, litellm.BadRequestError)


def test_error_times_repeats_the_error(provider: ScriptedProvider) -> None:
    provider.error(503, "busy", times=2)
    for _ in range(2):
        with pytest.raises(litellm.ServiceUnavailableError):
            call(provider, False)
    assert call(provider, False).choices[0].message.content == "ok"


@pytest.mark.parametrize("stream", [False, True])
def test_hang_makes_client_timeout(provider: ScriptedProvider, stream: bool) -> None:
    provider.hang(5)
    start = time.monotonic()
    with pytest.raises(litellm.Timeout):
        call(provider, stream, timeout=0.5)
    assert time.monotonic() - start < 3


def test_hang_then_close_without_response_is_internal_server_error(provider: ScriptedProvider) -> None:
    provider.hang(0.2)
    with pytest.raises(litellm.InternalServerError) as info:
        call(provider, True, timeout=5)
    assert "Connection error" in str(info.value)


def test_async_client_streams_and_sees_drops_the_same_way(provider: ScriptedProvider) -> None:
    async def collect(**extra: Any) -> list[str]:
        stream = await litellm.acompletion(
            model="openai/test-model",
            api_base=provider.base_url,
            api_key="x",
            messages=MESSAGES,
            stream=True,
            num_retries=0,
            max_retries=0,
            **extra,
        )
        return [c.choices[0].delta.content or "" async for c in stream]

    provider.reply("async hello", chunk_size=3)
    assert "".join(asyncio.run(collect())) == "async hello"
    provider.reply("Hello world, this is long", chunk_size=4, drop_after=3)
    with pytest.raises(litellm.exceptions.MidStreamFallbackError):
        asyncio.run(collect())


def test_first_delay_within_timeout_still_answers(provider: ScriptedProvider) -> None:
    provider.reply("late but fine", first_delay=0.3)
    start = time.monotonic()
    chunks = list(call(provider, True, timeout=5))
    assert time.monotonic() - start >= 0.3
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "late but fine"


def test_dropped_stream_raises_mid_stream_after_partial_text(provider: ScriptedProvider) -> None:
    provider.reply("Hello world, this is long", chunk_size=4, drop_after=3)
    received = []
    with pytest.raises(litellm.exceptions.MidStreamFallbackError) as info:
        for chunk in call(provider, True, stream_options={"include_usage": True}):
            received.append(chunk.choices[0].delta.content)
    assert received == ["", "Hell", "o wo"]
    assert isinstance(info.value, litellm.ServiceUnavailableError)
    assert "incomplete chunked read" in str(info.value)


def test_truncated_stream_ends_silently_with_invented_stop(provider: ScriptedProvider) -> None:
    provider.reply("Hello world, this is long", chunk_size=4, truncate_after=3)
    stream = call(provider, True)
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == "Hello wo"
    # litellm makes up finish_reason "stop"; only the wrapper remembers none arrived.
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert stream.received_finish_reason is None
    provider.reply("complete")
    finished = call(provider, True)
    list(finished)
    assert finished.received_finish_reason == "stop"


def test_stop_does_not_wait_for_hanging_or_idle_connections() -> None:
    server = ScriptedProvider().start()
    server.hang(30)
    host, port = server.base_url.split("//")[1].split("/")[0].split(":")
    idle = socket.create_connection((host, int(port)))
    result: list[Any] = []

    def hanging_request() -> None:
        try:
            req = urllib.request.Request(
                server.base_url + "/chat/completions", data=b'{"messages": []}', method="POST"
            )
            urllib.request.urlopen(req, timeout=20)
        except Exception as exc:  # noqa: BLE001 - the connection is cut on purpose
            result.append(exc)

    thread = threading.Thread(target=hanging_request)
    thread.start()
    while not server.requests:
        time.sleep(0.01)
    start = time.monotonic()
    server.stop()
    assert time.monotonic() - start < 1.5
    thread.join(5)
    assert not thread.is_alive()
    assert result
    idle.close()


def test_path_without_v1_prefix_is_accepted(provider: ScriptedProvider) -> None:
    provider.reply("short path")
    response = litellm.completion(
        model="openai/m",
        api_base=provider.base_url.removesuffix("/v1"),
        api_key="x",
        messages=MESSAGES,
        num_retries=0,
        max_retries=0,
    )
    assert response.choices[0].message.content == "short path"
    assert provider.requests[-1]["path"] == "/chat/completions"


def test_standalone_server_streams_requested_token_count() -> None:
    script = Path(__file__).with_name("provider.py")
    command = [sys.executable, str(script), "--port", "0", "--stream-tokens", "2000"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            base_url = proc.stdout.readline().strip()
            assert base_url.startswith("http://127.0.0.1:")
            stream = litellm.completion(
                model="openai/bench",
                api_base=base_url,
                api_key="x",
                messages=MESSAGES,
                stream=True,
                num_retries=0,
                max_retries=0,
            )
            text = "".join(c.choices[0].delta.content or "" for c in stream)
        finally:
            proc.terminate()
        assert proc.wait(5) == 0  # SIGTERM is a clean shutdown
    assert text.startswith("\n## Section 1")
    assert "```python" in text
    assert 1800 <= len(text.split()) <= 2600
